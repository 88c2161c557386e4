"""Monte Carlo through Brightway's uncertainty machinery.

The scenario database carries stats_arrays distributions on its exchanges (see
:mod:`workbench.lca.footprint`): lognormal on the grid-intensity factor, on the IT energy (power),
on the embodied share (lifetime: if the lifetime is lognormal with σ, its reciprocal is lognormal
with the same σ) and on the network energy per GB; triangular on the PUE; lognormal on the
embodied emissions of a device (from the catalog's low–high range, else ``embodied_rel_sd``). All
lognormals have the deterministic value as their median, so the deterministic footprint is the
median of a product of independent draws when the PUE is symmetric. ``bw2calc.LCA`` with
``use_distributions=True`` draws every matrix; each ``next(lca)`` is one iteration.
"""

from __future__ import annotations

import numpy as np

from workbench.checks import check_int
from workbench.lca.engine import make_lca, score

PERCENTILES = (2.5, 5.0, 25.0, 50.0, 75.0, 95.0, 97.5)


def _summary(values: np.ndarray, percentiles) -> dict:
    out = {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if values.size > 1 else 0.0}
    for p, v in zip(percentiles, np.percentile(values, percentiles), strict=True):
        out[f"p{p:g}"] = float(v)
    return out


def monte_carlo(model, method: tuple, *, iterations: int = 1000, seed: int | None = None,
                percentiles=PERCENTILES, return_samples: bool = False, progress=None) -> dict:
    """Monte Carlo footprint of a written scenario (:class:`workbench.lca.footprint.ScenarioModel`).

    Parameters
    ----------
    model : ScenarioModel
        The scenario, written (:func:`workbench.lca.footprint.write_scenario`).
    method : tuple
        LCIA method.
    iterations : int
        Number of draws (>= 2).
    seed : int, optional
        Seed passed to bw2calc (``seed_override``), for reproducible draws.
    percentiles : sequence of float
        Percentiles to report [%].
    return_samples : bool
        Also return the draws (key ``samples``: dict of arrays).
    progress : callable, optional
        ``progress(iterable, total=, desc=)`` wrapping the draws, e.g. ``tqdm`` (the CLI's bar); it
        must yield the same items. ``None``: no bar.

    Returns
    -------
    dict
        ``iterations``, ``seed``, and for each of ``total_kgco2e``, ``operational_kgco2e``,
        ``embodied_kgco2e``, ``network_kgco2e`` a dict with ``mean``, ``sd`` and ``p<percentile>``
        [unit of ``method``; kg CO2-eq for climate-change methods].

    Raises
    ------
    ParameterError
        ``iterations`` is not an integer >= 2.
    """
    iterations = check_int(iterations, "iterations", minimum=2,
                           fix="Monte Carlo needs at least 2 iterations to give a spread, e.g. iterations=1000.")
    rs = model.resolved
    top = model.node_id("scenario")
    lca = make_lca({top: 1.0}, method, model.packages, use_distributions=True, seed_override=seed)
    lca.lci()
    lca.lcia()
    manuf = sorted({i for (db, code), i in model.ids.items() if code.startswith("manufacturing|")})
    network = {model.node_id(f"network|{j}"): n.gigabytes for j, n in enumerate(rs.network) if n.gigabytes > 0}
    draws = {k: np.empty(iterations) for k in ("total_kgco2e", "operational_kgco2e", "embodied_kgco2e",
                                               "network_kgco2e")}
    steps = range(iterations)
    for k in steps if progress is None else progress(steps, total=iterations, desc="Monte Carlo"):
        if k:
            next(lca)
        total = score(lca, {top: 1.0})
        supply = {m: float(lca.supply_array[lca.dicts.activity[m]]) for m in manuf if m in lca.dicts.activity}
        supply = {m: s for m, s in supply.items() if s != 0}
        embodied = score(lca, supply) if supply else 0.0
        net = score(lca, network) if network else 0.0
        draws["total_kgco2e"][k] = total
        draws["embodied_kgco2e"][k] = embodied
        draws["network_kgco2e"][k] = net
        draws["operational_kgco2e"][k] = total - embodied - net
        lca.lci(demand={top: 1.0})  # leave the object on the scenario demand for next()
    out = {"iterations": iterations, "seed": seed, "percentiles": list(percentiles)}
    for key, values in draws.items():
        out[key] = _summary(values, percentiles)
    if return_samples:
        out["samples"] = draws
    return out
