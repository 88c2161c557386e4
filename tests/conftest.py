"""Shared test fixtures: data paths, a seed overridable by environment, a temporary store, and the Brightway
project (built once per test session: lca, placement and federated tests share it)."""

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


@pytest.fixture(scope="session")
def lca_dir(tmp_path_factory):
    """A Brightway project in a temporary directory, built once per session (IPCC methods only, a few seconds;
    the foreground from the real catalog)."""
    from workbench.lca.project import setup_project

    path = tmp_path_factory.mktemp("brightway")
    setup_project(path, method_set="ipcc")
    return path


@pytest.fixture
def bw(lca_dir):
    """``bw2data`` pointed at the session project (and the project made current)."""
    from workbench.lca.project import open_project

    return open_project(lca_dir)
