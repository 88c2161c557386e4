"""Cut ``deu_ci_2020-06-01.csv`` (six hours from 2020-06-01 00:00) out of the Vessim German 2020 series.

    python tests/federated/data/make_signal.py ../shared/data/vessim-carbon-signal/ger_ci_2020.csv

Source: Vessim (Wiesner et al.), ``ger_ci_2020.csv`` in ../shared/data/vessim-carbon-signal (see its
PROVENANCE.md and LICENSE); the cut keeps the rows unchanged.
"""

import sys
from pathlib import Path

src = Path(sys.argv[1])
lines = src.read_text().splitlines()
keep = [lines[0]] + [ln for ln in lines[1:] if ln.startswith("2020-06-01 0") and ln[11:13] < "06"]
(Path(__file__).parent / "deu_ci_2020-06-01.csv").write_text("\n".join(keep) + "\n")
