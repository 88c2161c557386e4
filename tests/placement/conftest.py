"""Fixtures of the placement tests: the LCA tests' Brightway project (IPCC methods, real catalog).

``lca_dir`` is the fixture of ``tests/lca/conftest.py``, registered here too so that placement tests can
compare with ``workbench footprint``; session-scoped, it is built once per directory that uses it.
"""

from __future__ import annotations

from tests.lca.conftest import lca_dir  # noqa: F401 - a fixture, used by name
