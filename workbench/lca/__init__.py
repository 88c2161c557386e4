"""Life-cycle assessment with Brightway 2.5: offline project, foreground inventory, scenarios,
footprints, Monte Carlo and vectorised sweeps.

Importing this package imports neither Brightway nor the catalog; each function does so when
called, after pointing Brightway at the workbench data directory (see :mod:`workbench.lca.project`).

Main entry points::

    from workbench.lca import footprint, footprint_dict, load_scenario, setup_project
    footprint("data/scenarios/bloom_176b.toml")          # polars frame, one row per component
    footprint_dict("data/scenarios/bloom_176b.toml", monte_carlo=500, seed=0)
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "footprint": "workbench.lca.footprint",
    "footprint_dict": "workbench.lca.footprint",
    "load_scenario": "workbench.lca.scenario",
    "parse_scenario": "workbench.lca.scenario",
    "resolve": "workbench.lca.resolution",
    "embodied_share": "workbench.lca.resolution",
    "ScenarioError": "workbench.lca.scenario",
    "ScenarioFormatError": "workbench.lca.scenario",
    "ImplausibleValueError": "workbench.lca.scenario",
    "BOUNDS": "workbench.lca.bounds",
    "setup_project": "workbench.lca.project",
    "open_project": "workbench.lca.project",
    "data_dir": "workbench.lca.project",
    "DEFAULT_METHOD": "workbench.lca.project",
    "UnitImpacts": "workbench.lca.sweep",
    "evaluate": "workbench.lca.sweep",
    "evaluate_resolved": "workbench.lca.sweep",
    "sweep": "workbench.lca.sweep",
    "monte_carlo": "workbench.lca.uncertainty",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    """Import the module of an exported name on first access (so that ``import workbench.lca`` stays cheap)."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'workbench.lca' has no attribute {name!r}")
