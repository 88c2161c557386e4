"""The LCA engine: a ``bw2calc.LCA`` over the workbench's float64 datapackages, and its scores.

:mod:`workbench.lca.footprint` (deterministic footprint), :mod:`workbench.lca.uncertainty` (Monte
Carlo) and :mod:`workbench.lca.sweep` (unit impacts) all build their LCA here and score demands
with :func:`score`, so they agree on how a calculation is set up. This module imports no other
module of :mod:`workbench.lca`.

Brightway (``bw2calc``, ``bw2data``) is imported inside the functions: importing it points
Brightway at a data directory, which only :func:`workbench.lca.project.activate` may choose.
"""

from __future__ import annotations

import warnings

import numpy as np


def make_lca(demand: dict, method: tuple, packages: list, **kwargs):
    """A ``bw2calc.LCA`` over the given datapackages plus the method's characterisation datapackage.

    Parameters
    ----------
    demand : dict
        ``{node id: amount}`` [unit of each node's reference product], the demand the LCA is
        created with (later demands are given to :func:`score`).
    method : tuple of str
        LCIA method, installed in the current project (see :func:`workbench.lca.project.check_method`).
    packages : list of bw_processing.Datapackage
        Technosphere and biosphere datapackages (e.g. biosphere3's, the foreground's, a scenario's;
        see :mod:`workbench.lca.matrices`).
    **kwargs
        Passed to ``bw2calc.LCA`` (e.g. ``use_distributions=True, seed_override=seed``).

    Returns
    -------
    bw2calc.LCA
        Not yet computed: call ``lci()`` and ``lcia()`` (or :func:`score`).
    """
    import bw2calc as bc
    import bw2data as bd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lca = bc.LCA(demand, data_objs=list(packages) + [bd.Method(tuple(method)).datapackage()], **kwargs)
    return lca


def score(lca, demand: dict) -> float:
    """Characterised score of ``demand`` with the LCA's current matrices (reuses its factorisation).

    Parameters
    ----------
    lca : bw2calc.LCA
        An LCA from :func:`make_lca` (in a Monte Carlo, after ``next(lca)``: the current draw).
    demand : dict
        ``{node id: amount}`` [unit of each node's reference product].

    Returns
    -------
    float
        The score [unit of the LCA's method; kg CO2-eq for climate-change methods].
    """
    lca.lci(demand=demand)
    lca.lcia()
    return float(lca.score)


def characterised_flows(lca) -> bool:
    """Whether the LCA's method characterises any flow its inventory emits.

    Parameters
    ----------
    lca : bw2calc.LCA
        After ``lci()`` and ``lcia()``.

    Returns
    -------
    bool
        False when every flow with a non-zero inventory has a zero characterisation factor (the
        score is then 0 by construction, not by compensation).
    """
    cf = np.asarray(lca.characterization_matrix.diagonal())
    inv = np.asarray(lca.inventory.sum(axis=1)).ravel()
    return bool(np.any((cf != 0) & (inv != 0)))
