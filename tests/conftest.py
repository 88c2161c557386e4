"""Shared test fixtures: data paths, a seed overridable by environment, a temporary store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("WORKBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (CI has it); skip where a fresh clone lacks it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public datasets not found at {SHARED_DATA} (set WORKBENCH_SHARED_DATA); "
                    "these tests need ../shared/data beside the checkout")
    return SHARED_DATA


@pytest.fixture
def global_random_seed() -> int:
    """Seed for randomised tests; override with WORKBENCH_TEST_SEED (scikit-learn's idea)."""
    return int(os.environ.get("WORKBENCH_TEST_SEED", "0"))


@pytest.fixture
def tmp_store(tmp_path):
    from workbench.store import Store

    return Store(tmp_path / "runs")
