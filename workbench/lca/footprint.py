"""Footprint of a scenario: its Brightway database, the LCA, and the per-device breakdown.

A resolved scenario becomes a small Brightway database (name ``workbench-scenario-<host>-<pid>-<random>``,
content: :mod:`workbench.lca.scenario_db`), linked to the foreground (:mod:`workbench.lca.inventory`).

The database is written only after the scenario validated, and deleted after the calculation
unless ``keep=True``, on every path: an exception, a full disk (:class:`~workbench.errors.StoreError`)
or an interrupt while it is written or used deletes it too, and one left behind by a killed process
is deleted before the next one is written (:func:`workbench.lca.database.sweep_stale_scenarios`).
Every figure is computed by ``bw2calc.LCA`` and characterised by Brightway.

Brightway (``bw2data``, ``bw2calc``, ``bw_processing``, ``stats_arrays``) is imported inside the functions
that use it: importing ``bw2data`` fixes its data directory, which :func:`workbench.lca.project.activate`
chooses first.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace

import polars as pl

from workbench.checks import check_int
from workbench.errors import ParameterError
from workbench.lca import database, inventory, matrices, project
from workbench.lca.database import SCENARIO_DB_PREFIX, write_database
from workbench.lca.engine import characterised_flows, make_lca, score
from workbench.lca.resolution import ResolvedScenario, resolve
from workbench.lca.scenario import Scenario, load_scenario, parse_scenario
from workbench.lca.scenario_db import check_amounts, scenario_data
from workbench.lca.uncertainty import monte_carlo as run_monte_carlo

__all__ = ["SCENARIO_DB_PREFIX", "ScenarioModel", "as_resolved", "compute", "footprint", "footprint_dict",
           "scenario_data", "write_scenario"]


@dataclass
class ScenarioModel:
    """A scenario written to the Brightway project, with the float64 datapackages to compute it.

    Use as a context manager: the scenario database is deleted on exit, also when the block raises;
    with ``keep`` and a block that succeeded it is marked as kept instead (never swept).
    """

    resolved: ResolvedScenario
    db_name: str
    ids: dict
    packages: list
    keep: bool = False

    def node_id(self, code: str) -> int:
        return self.ids[(self.db_name, code)]

    def close(self, *, failed: bool = False) -> None:
        """Delete the scenario database (keep it, marked as kept, when ``keep`` and not ``failed``)."""
        import bw2data as bd

        if self.keep and not failed and self.db_name in bd.databases:
            database.mark_kept(bd, self.db_name)
        else:
            database.drop_database(bd, self.db_name)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(failed=exc_type is not None)


def write_scenario(rs: ResolvedScenario, *, keep: bool = False, db_name: str | None = None,
                   foreground_inputs=None) -> ScenarioModel:
    """Write a resolved scenario into the current Brightway project and prepare its datapackages.

    Scenario databases left behind by processes that are gone are deleted first
    (:func:`workbench.lca.database.sweep_stale_scenarios`). If anything fails (or is interrupted)
    once the write began, the new database is deleted before the error propagates.

    Returns
    -------
    ScenarioModel
        Use it as a context manager, so that the database is deleted after use.

    Raises
    ------
    ScenarioError
        An amount Brightway cannot store (:func:`check_amounts`); nothing is written.
    StoreError
        The project's disk is full, or it is read-only or locked; nothing is kept.
    """
    import bw2data as bd

    fg_package, fg_ids = inventory.foreground_package(foreground_inputs)
    codes = {code for (_, code) in fg_ids}
    name = db_name or database.new_scenario_name()
    try:
        data = scenario_data(rs, name, inventory.co2_flow_key(bd), codes)
        check_amounts(data, rs)
    except BaseException:
        database.release(name)  # nothing was written under it
        raise
    db_name = name
    database.sweep_stale_scenarios(bd)
    try:
        write_database(db_name, data)
        bd.databases[db_name]["workbench_scenario"] = rs.name
        bd.databases.flush()
        ids = dict(fg_ids)
        ids.update(matrices.node_ids(bd, db_name))
        package = matrices.datapackage(data, ids, db_name)
        biosphere = bd.Database("biosphere3").datapackage()
    except BaseException:
        database.drop_database(bd, db_name)
        raise
    return ScenarioModel(rs, db_name, ids, [biosphere, fg_package, package], keep=keep)


def compute(model: ScenarioModel, method: tuple) -> dict:
    """Deterministic footprint of a written scenario: totals, per device, per network, other categories.

    Returns
    -------
    dict
        Keys ``energy_kwh``, ``operational_kgco2e``, ``embodied_kgco2e``, ``network_kgco2e``,
        ``total_kgco2e`` (all in the unit of ``method``; kg CO2-eq for climate methods), ``method``,
        ``method_unit``, ``devices`` (list of dicts), ``network`` (list of dicts), ``categories``.
    """
    import bw2data as bd

    rs = model.resolved
    top = model.node_id("scenario")
    lca = make_lca({top: 1.0}, method, model.packages)
    lca.lci(factorize=True)
    lca.lcia()
    total = float(lca.score)
    devices, nets = [], []
    for i, d in enumerate(rs.devices):
        op = score(lca, {model.node_id(f"dc|{i}"): d.count * d.energy_kwh}) if d.energy_kwh > 0 else 0.0
        use = score(lca, {model.node_id(f"use|{i}"): 1.0})
        devices.append({
            "name": d.name, "count": d.count, "energy_method": d.energy_method,
            "energy_kwh": d.facility_energy_kwh_group, "it_energy_kwh": d.energy_kwh_group, "pue": d.pue,
            "hours": d.hours, "operational_kgco2e": op, "embodied_kgco2e": use - op,
            "embodied_share": d.embodied_share, "embodied_included": d.embodied_included,
            "embodied_kgco2e_per_device": d.embodied_kgco2e, "embodied_source": d.embodied_source,
            "lifetime_years": d.lifetime_years, "utilization": d.utilization, "total_kgco2e": use,
        })
    for j, n in enumerate(rs.network):
        s = score(lca, {model.node_id(f"network|{j}"): n.gigabytes}) if n.gigabytes > 0 else 0.0
        nets.append({"technology": n.technology, "gigabytes": n.gigabytes, "kwh_per_gb": n.kwh_per_gb,
                     "energy_kwh": n.energy_kwh, "kgco2e": s, "source": n.source})
    categories = {}
    for m in project.REPORTED_METHODS:
        if m == tuple(method) or m not in bd.methods:
            continue
        with warnings.catch_warnings():
            # expected for categories that characterise none of the flows in this inventory: they are
            # left out just below, so bw2calc's warning would only be noise
            warnings.filterwarnings("ignore", message="All values in characterization matrix are zero")
            lca.switch_method(m)
            lca.lci(demand={top: 1.0})
            lca.lcia()
        if characterised_flows(lca):
            categories[" | ".join(m)] = {"score": float(lca.score), "unit": bd.methods[m].get("unit", "")}
    return {
        "scenario": rs.name, "functional_unit": rs.functional_unit, "country": rs.country,
        "carbon_intensity_g_per_kwh": rs.carbon_intensity_g_per_kwh, "intensity_source": rs.intensity_source,
        "energy_kwh": rs.energy_kwh,
        "operational_kgco2e": sum(d["operational_kgco2e"] for d in devices),
        "embodied_kgco2e": sum(d["embodied_kgco2e"] for d in devices),
        "network_kgco2e": sum(n["kgco2e"] for n in nets),
        "total_kgco2e": total, "method": " | ".join(method), "method_unit": bd.methods[tuple(method)].get("unit", ""),
        "devices": devices, "network": nets, "categories": categories,
    }


def footprint_dict(scenario, *, method=None, lca_dir=None, keep: bool = False, monte_carlo: int = 0,
                   seed: int | None = None, foreground_inputs=None, allow_implausible: bool = False,
                   progress=None) -> dict:
    """Footprint of a scenario as a JSON-ready dict (the CLI's ``--format json``).

    Parameters
    ----------
    scenario : path, TOML text, dict, Scenario or ResolvedScenario
    method : tuple or "A | B | C" string, optional
        LCIA method; default the scenario's ``method`` or IPCC 2021 GWP100.
    lca_dir : path-like, optional
        Brightway data directory (see :func:`workbench.lca.project.data_dir`).
    keep : bool
        Keep the scenario database in the project (to inspect it, e.g. in Activity Browser).
    monte_carlo : int
        Number of Monte Carlo iterations (0: none); adds ``monte_carlo`` percentiles.
    seed : int, optional
        Seed of the Monte Carlo draws.
    foreground_inputs : workbench.lca.inventory.ForegroundInputs, optional
        Build the foreground from these numbers instead of the catalog.
    allow_implausible : bool
        Accept values beyond their plausibility bounds (:mod:`workbench.lca.bounds`), as
        ``allow_implausible = true`` in the scenario does.
    progress : callable, optional
        Wraps the Monte Carlo draws (see :func:`workbench.lca.uncertainty.monte_carlo`); ``None``: no bar.

    Returns
    -------
    dict
        See :func:`compute` (scores in the unit of ``method``; kg CO2-eq for climate-change
        methods), plus ``monte_carlo`` (see :func:`workbench.lca.uncertainty.monte_carlo`) and
        ``database`` (with ``keep``).

    Raises
    ------
    ScenarioError, ScenarioFormatError, UnknownNameError
        A bad scenario (raised before anything is written to the Brightway project);
        :class:`~workbench.lca.scenario.ImplausibleValueError` for a value beyond its plausibility bound.
    ParameterError
        ``monte_carlo`` is not an integer >= 0 (or is 1: Monte Carlo needs 2 draws), or ``seed`` is
        not an integer >= 0.
    StoreError
        The Brightway project cannot be written (full disk, read-only); nothing is kept.
    """
    rs = as_resolved(scenario, allow_implausible=allow_implausible)  # input errors: before Brightway is touched
    method = project.parse_method(method if method is not None else rs.method)
    monte_carlo = check_int(monte_carlo, "monte_carlo", minimum=0,
                            fix="give a number of Monte Carlo iterations >= 2, or 0 for none.")
    if monte_carlo:
        check_int(monte_carlo, "iterations", minimum=2,
                  fix="Monte Carlo needs at least 2 iterations to give a spread, e.g. iterations=1000.")
    if seed is not None:
        check_int(seed, "seed", minimum=0, fix="give a whole number >= 0, e.g. --seed 0.")
    project.open_project(lca_dir, foreground_inputs=foreground_inputs)
    method = project.check_method(method)
    with write_scenario(rs, keep=keep, foreground_inputs=foreground_inputs) as model:
        out = compute(model, method)
        if monte_carlo:
            out["monte_carlo"] = run_monte_carlo(model, method, iterations=monte_carlo, seed=seed,
                                                 progress=progress)
        if keep:
            out["database"] = model.db_name
    return out


def as_resolved(scenario, *, allow_implausible: bool = False) -> ResolvedScenario:
    """Accept a path, TOML text, dict, :class:`Scenario` or :class:`ResolvedScenario`.

    A string is a path when it is one line without ``=`` or ends in ``.toml`` (a scenario in TOML
    has several lines with ``key = value``), else TOML text. ``allow_implausible`` lifts the
    plausibility bounds (:mod:`workbench.lca.bounds`) for a scenario not resolved yet.
    """
    allow = bool(allow_implausible)
    if isinstance(scenario, ResolvedScenario):
        return scenario
    if isinstance(scenario, Scenario):
        return resolve(replace(scenario, allow_implausible=True) if allow else scenario)
    if isinstance(scenario, dict):
        return resolve(parse_scenario(scenario, allow_implausible=allow))
    if isinstance(scenario, os.PathLike) or (isinstance(scenario, str) and "\n" not in scenario
                                             and (scenario.endswith(".toml") or "=" not in scenario)):
        return resolve(load_scenario(scenario, allow_implausible=allow))
    if isinstance(scenario, str):
        return resolve(parse_scenario(scenario, allow_implausible=allow))
    raise ParameterError(f"cannot read a scenario from {type(scenario).__name__}; give a .toml path, TOML text "
                         "or a dict")


def footprint(scenario, *, method=None, lca_dir=None, keep: bool = False, allow_implausible: bool = False):
    """Footprint of a scenario as a polars frame: one row per component (device groups, network).

    Columns: ``scenario``, ``component`` ("device" | "network"), ``name``, ``energy_kwh``,
    ``operational_kgco2e``, ``embodied_kgco2e``, ``network_kgco2e``, ``total_kgco2e``, ``method``.
    The totals of the scenario are the column sums (to floating-point rounding).

    Examples
    --------
    >>> from workbench.lca import footprint                               # doctest: +SKIP
    >>> footprint("data/scenarios/bloom_176b.toml")["total_kgco2e"].sum()  # doctest: +SKIP
    """
    out = footprint_dict(scenario, method=method, lca_dir=lca_dir, keep=keep, allow_implausible=allow_implausible)
    rows = [{"scenario": out["scenario"], "component": "device", "name": d["name"], "energy_kwh": d["energy_kwh"],
             "operational_kgco2e": d["operational_kgco2e"], "embodied_kgco2e": d["embodied_kgco2e"],
             "network_kgco2e": 0.0, "total_kgco2e": d["total_kgco2e"], "method": out["method"]}
            for d in out["devices"]]
    rows += [{"scenario": out["scenario"], "component": "network", "name": n["technology"],
              "energy_kwh": n["energy_kwh"], "operational_kgco2e": 0.0, "embodied_kgco2e": 0.0,
              "network_kgco2e": n["kgco2e"], "total_kgco2e": n["kgco2e"], "method": out["method"]}
             for n in out["network"]]
    return pl.DataFrame(rows, schema={"scenario": pl.String, "component": pl.String, "name": pl.String,
                                      "energy_kwh": pl.Float64, "operational_kgco2e": pl.Float64,
                                      "embodied_kgco2e": pl.Float64, "network_kgco2e": pl.Float64,
                                      "total_kgco2e": pl.Float64, "method": pl.String})
