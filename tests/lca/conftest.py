"""Brightway project for the LCA tests: built once per test session in a temporary directory.

IPCC methods only (a few seconds); the foreground comes from the real catalog.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def lca_dir(tmp_path_factory):
    from workbench.lca.project import setup_project

    path = tmp_path_factory.mktemp("brightway")
    setup_project(path, method_set="ipcc")
    return path


@pytest.fixture
def bw(lca_dir):
    """``bw2data`` pointed at the session project (and the project made current)."""
    from workbench.lca.project import open_project

    return open_project(lca_dir)
