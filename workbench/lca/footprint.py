"""Footprint of a scenario: its Brightway database, the LCA, and the per-device breakdown.

A resolved scenario becomes a small Brightway database (name ``workbench-scenario-<random>``),
linked to the foreground (:mod:`workbench.lca.inventory`):

``scenario``  "<name>" [functional unit]
    ← 1 ``use|i`` per device group, ← ``gigabytes`` of ``network|j`` per transfer
``use|i``  "use of <count> × <device>" [unit]
    ← ``count × energy_kwh`` of ``dc|i`` (IT electricity; uncertain: power),
    ← ``count × embodied_share`` of the device's manufacturing (foreground node when the embodied
      figure is the catalog's, else a scenario node; uncertain: lifetime)
``dc|i``  "data-centre electricity, PUE <pue>" [kilowatt hour at the IT equipment]
    ← ``pue`` kWh of ``grid`` (uncertain: PUE, triangular)
``network|j``  "network transfer, <technology>" [gigabyte]
    ← ``kwh_per_gb`` of ``grid`` (uncertain: network energy)
``grid``  "electricity supply, <country>" [kilowatt hour]
    ← 1 kWh of the foreground market for the country (uncertain: a lognormal factor of median 1
      standing for the uncertainty of the grid intensity), or, with an explicit intensity, emits
      ``intensity / 1000`` kg CO2-eq itself.

The database is written only after the scenario validated, and deleted after the calculation
unless ``keep=True``. Every figure is computed by ``bw2calc.LCA`` and characterised by Brightway.

Brightway (``bw2data``, ``bw2calc``, ``bw_processing``, ``stats_arrays``) is imported inside the functions
that use it: importing ``bw2data`` fixes its data directory, which :func:`workbench.lca.project.activate`
chooses first.
"""

from __future__ import annotations

import contextlib
import math
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench.checks import check_int
from workbench.errors import ParameterError, WorkbenchError
from workbench.lca import inventory, matrices, project
from workbench.lca.database import write_database
from workbench.lca.engine import characterised_flows, make_lca, score
from workbench.lca.inventory import FOREGROUND
from workbench.lca.resolution import ResolvedScenario, resolve
from workbench.lca.scenario import Scenario, load_scenario, parse_scenario
from workbench.lca.uncertainty import monte_carlo as run_monte_carlo

SCENARIO_DB_PREFIX = "workbench-scenario-"


def _lognormal_sigma(rel_sd: float) -> float:
    """σ of the log for a lognormal with coefficient of variation ``rel_sd``."""
    return math.sqrt(math.log1p(rel_sd**2))


def _unc_lognormal(amount: float, rel_sd: float) -> dict:
    if amount <= 0 or rel_sd <= 0:
        return {}
    return inventory.lognormal(amount, _lognormal_sigma(rel_sd))


def _unc_pue(pue: float, halfwidth: float) -> dict:
    from stats_arrays import TriangularUncertainty  # Brightway's distributions: loaded on first use

    if halfwidth <= 0:
        return {}
    lo, hi = max(1.0, pue - halfwidth), pue + halfwidth
    if lo >= pue:  # PUE 1 with halfwidth: triangular needs min < mode; use [1, 1 + h] with mode 1
        lo = 1.0
    return {"uncertainty type": TriangularUncertainty.id, "loc": pue, "minimum": lo, "maximum": hi}


def scenario_data(rs: ResolvedScenario, db_name: str, co2_key, foreground_codes: set[str]) -> dict:
    """The scenario's Brightway database as a ``{(db, code): dataset}`` dict (pure)."""
    unc = rs.uncertainty
    key = lambda code: (db_name, code)  # noqa: E731
    data = {}
    top = {"name": rs.name, "unit": rs.functional_unit, "location": rs.country or "GLO", "type": "process",
           "reference product": rs.functional_unit,
           "exchanges": [{"input": key("scenario"), "amount": 1.0, "type": "production"}]}
    grid = {"name": f"electricity supply, {rs.country or 'explicit intensity'}", "unit": "kilowatt hour",
            "location": rs.country or "GLO", "type": "process", "reference product": "electricity",
            "carbon_intensity_g_per_kwh": rs.carbon_intensity_g_per_kwh, "comment": rs.intensity_source,
            "exchanges": [{"input": key("grid"), "amount": 1.0, "type": "production"}]}
    if rs.explicit_intensity:
        amount = rs.carbon_intensity_g_per_kwh / 1000.0
        grid["exchanges"].append({"input": co2_key, "amount": amount, "type": "biosphere",
                                  **_unc_lognormal(amount, unc["grid_rel_sd"])})
    else:
        market = f"electricity|grid|{rs.country}"
        if market not in foreground_codes:
            raise WorkbenchError(f"the foreground has no grid market for {rs.country}; refresh it with "
                                 "`workbench lca-setup` (the catalog changed?)")
        grid["exchanges"].append({"input": (FOREGROUND, market), "amount": 1.0, "type": "technosphere",
                                  **_unc_lognormal(1.0, unc["grid_rel_sd"])})
    data[key("grid")] = grid
    for i, d in enumerate(rs.devices):
        use = {"name": f"use of {d.count:g} × {d.name}", "unit": "unit", "location": rs.country or "GLO",
               "type": "process", "reference product": f"use of {d.name}",
               "exchanges": [{"input": key(f"use|{i}"), "amount": 1.0, "type": "production"}]}
        e_group = d.count * d.energy_kwh
        if e_group > 0:
            use["exchanges"].append({"input": key(f"dc|{i}"), "amount": e_group, "type": "technosphere",
                                     **_unc_lognormal(e_group, unc["power_rel_sd"])})
        data[key(f"dc|{i}")] = {
            "name": f"data-centre electricity, PUE {d.pue:g}", "unit": "kilowatt hour",
            "location": rs.country or "GLO", "type": "process", "reference product": "electricity, at IT equipment",
            "comment": f"PUE source: {d.pue_source}",
            "exchanges": [{"input": key(f"dc|{i}"), "amount": 1.0, "type": "production"},
                          {"input": key("grid"), "amount": d.pue, "type": "technosphere",
                           **_unc_pue(d.pue, unc["pue_halfwidth"])}]}
        share = d.count * d.embodied_share
        if share > 0 and d.embodied_kgco2e > 0:
            fg_code = f"manufacturing|{d.name}"
            if d.embodied_source == "catalog" and fg_code in foreground_codes:
                mkey = (FOREGROUND, fg_code)
            else:
                mkey = key(f"manufacturing|{i}")
                sigma = None
                if d.embodied_kgco2e_low and d.embodied_kgco2e_high and d.embodied_kgco2e_high > d.embodied_kgco2e_low:
                    sigma = inventory.lognormal_sigma_from_range(d.embodied_kgco2e_low, d.embodied_kgco2e_high)
                else:
                    sigma = _lognormal_sigma(unc["embodied_rel_sd"])
                data[mkey] = inventory.manufacturing_dataset(mkey, d.name, d.embodied_kgco2e, co2_key, sigma=sigma,
                                                             source=d.embodied_source)
            use["exchanges"].append({"input": mkey, "amount": share, "type": "technosphere",
                                     **_unc_lognormal(share, unc["lifetime_rel_sd"])})
        data[key(f"use|{i}")] = use
        top["exchanges"].append({"input": key(f"use|{i}"), "amount": 1.0, "type": "technosphere"})
    for j, n in enumerate(rs.network):
        data[key(f"network|{j}")] = {
            "name": f"network transfer, {n.technology}", "unit": "gigabyte", "location": rs.country or "GLO",
            "type": "process", "reference product": "data transfer", "comment": f"Energy per GB: {n.source}",
            "exchanges": [{"input": key(f"network|{j}"), "amount": 1.0, "type": "production"},
                          {"input": key("grid"), "amount": n.kwh_per_gb, "type": "technosphere",
                           **_unc_lognormal(n.kwh_per_gb, unc["network_rel_sd"])}]}
        if n.gigabytes > 0:
            top["exchanges"].append({"input": key(f"network|{j}"), "amount": n.gigabytes, "type": "technosphere"})
    data[key("scenario")] = top
    return data


@dataclass
class ScenarioModel:
    """A scenario written to the Brightway project, with the float64 datapackages to compute it.

    Use as a context manager: the scenario database is deleted on exit unless ``keep``.
    """

    resolved: ResolvedScenario
    db_name: str
    ids: dict
    packages: list
    keep: bool = False

    def node_id(self, code: str) -> int:
        return self.ids[(self.db_name, code)]

    def close(self) -> None:
        import bw2data as bd

        if not self.keep and self.db_name in bd.databases:
            del bd.databases[self.db_name]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_scenario(rs: ResolvedScenario, *, keep: bool = False, db_name: str | None = None,
                   foreground_inputs=None) -> ScenarioModel:
    """Write a resolved scenario into the current Brightway project and prepare its datapackages."""
    import bw2data as bd

    fg_package, fg_ids = inventory.foreground_package(foreground_inputs)
    db_name = db_name or f"{SCENARIO_DB_PREFIX}{uuid.uuid4().hex[:10]}"
    codes = {code for (_, code) in fg_ids}
    data = scenario_data(rs, db_name, inventory.co2_flow_key(bd), codes)
    try:
        write_database(db_name, data)
    except BaseException:
        with contextlib.suppress(Exception):
            del bd.databases[db_name]
        raise
    bd.databases[db_name]["workbench_scenario"] = rs.name
    bd.databases.flush()
    ids = dict(fg_ids)
    ids.update(matrices.node_ids(bd, db_name))
    package = matrices.datapackage(data, ids, db_name)
    biosphere = bd.Database("biosphere3").datapackage()
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
                   seed: int | None = None, foreground_inputs=None) -> dict:
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

    Returns
    -------
    dict
        See :func:`compute` (scores in the unit of ``method``; kg CO2-eq for climate-change
        methods), plus ``monte_carlo`` (see :func:`workbench.lca.uncertainty.monte_carlo`) and
        ``database`` (with ``keep``).

    Raises
    ------
    ScenarioError, ScenarioFormatError, UnknownNameError
        A bad scenario (raised before anything is written to the Brightway project).
    ParameterError
        ``monte_carlo`` is not an integer >= 0 (or is 1: Monte Carlo needs 2 draws).
    """
    rs = as_resolved(scenario)  # every input error is raised here, before Brightway is touched
    method = project.parse_method(method if method is not None else rs.method)
    monte_carlo = check_int(monte_carlo, "monte_carlo", minimum=0,
                            fix="give a number of Monte Carlo iterations >= 2, or 0 for none.")
    project.open_project(lca_dir, foreground_inputs=foreground_inputs)
    method = project.check_method(method)
    with write_scenario(rs, keep=keep, foreground_inputs=foreground_inputs) as model:
        out = compute(model, method)
        if monte_carlo:
            out["monte_carlo"] = run_monte_carlo(model, method, iterations=monte_carlo, seed=seed)
        if keep:
            out["database"] = model.db_name
    return out


def as_resolved(scenario) -> ResolvedScenario:
    """Accept a path, TOML text, dict, :class:`Scenario` or :class:`ResolvedScenario`."""
    if isinstance(scenario, ResolvedScenario):
        return scenario
    if isinstance(scenario, Scenario):
        return resolve(scenario)
    if isinstance(scenario, dict):
        return resolve(parse_scenario(scenario))
    if isinstance(scenario, Path) or (isinstance(scenario, str) and "\n" not in scenario
                                      and scenario.endswith(".toml")):
        return resolve(load_scenario(scenario))
    if isinstance(scenario, str):
        return resolve(parse_scenario(scenario))
    raise ParameterError(f"cannot read a scenario from {type(scenario).__name__}; give a .toml path, TOML text "
                         "or a dict")


def footprint(scenario, *, method=None, lca_dir=None, keep: bool = False):
    """Footprint of a scenario as a polars frame: one row per component (device groups, network).

    Columns: ``scenario``, ``component`` ("device" | "network"), ``name``, ``energy_kwh``,
    ``operational_kgco2e``, ``embodied_kgco2e``, ``network_kgco2e``, ``total_kgco2e``, ``method``.
    The totals of the scenario are the column sums (to floating-point rounding).

    Examples
    --------
    >>> from workbench.lca import footprint                               # doctest: +SKIP
    >>> footprint("data/scenarios/bloom_176b.toml")["total_kgco2e"].sum()  # doctest: +SKIP
    """
    out = footprint_dict(scenario, method=method, lca_dir=lca_dir, keep=keep)
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
