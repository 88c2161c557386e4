"""Make the synthetic-data helper of the cost-model tests importable as ``_synthetic``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
