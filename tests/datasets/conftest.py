"""Session-scoped access to ../shared/data, so each real dataset is parsed once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("WORKBENCH_SHARED_DATA",
                             Path(__file__).resolve().parents[2].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Like the root ``shared_data`` fixture, but session-scoped (skips where the data is absent)."""
    if not SHARED.is_dir():
        pytest.skip(f"public datasets not found at {SHARED} (set WORKBENCH_SHARED_DATA)")
    return SHARED
