"""The scenario's Brightway database as a ``{(database, code): dataset}`` dict (pure: nothing is written).

A resolved scenario becomes a small Brightway database (name ``workbench-scenario-<host>-<pid>-<random>``),
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

Distributions (stats_arrays) on the exchanges are what :mod:`workbench.lca.uncertainty` draws.
:func:`check_amounts` refuses amounts Brightway cannot store before anything is written.
:mod:`workbench.lca.footprint` writes the database, computes and deletes it.
"""

from __future__ import annotations

import math

from workbench.errors import WorkbenchError
from workbench.lca import inventory
from workbench.lca.bounds import FLOAT32_MAX
from workbench.lca.inventory import FOREGROUND
from workbench.lca.resolution import ResolvedScenario
from workbench.lca.scenario import ScenarioError


def _unc_lognormal(amount: float, rel_sd: float) -> dict:
    if amount <= 0 or rel_sd <= 0:
        return {}
    return inventory.lognormal(amount, inventory.lognormal_sigma(rel_sd))


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
                    sigma = inventory.lognormal_sigma(unc["embodied_rel_sd"])
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


def check_amounts(data: dict, rs: ResolvedScenario) -> None:
    """Refuse amounts Brightway cannot store (not finite, or beyond float32), whatever the plausibility flag.

    Raises
    ------
    ScenarioError
        Naming the dataset, the amount and the limit.
    """
    for ds in data.values():
        for exc in ds["exchanges"]:
            amount = exc["amount"]
            if not (math.isfinite(amount) and abs(amount) <= FLOAT32_MAX):
                raise ScenarioError(
                    f"{rs.source}: the amount {amount!r} in {ds['name']!r} cannot be stored by Brightway, which "
                    f"keeps amounts as float32 (at most {FLOAT32_MAX:.3g}). Fix: correct the scenario's magnitudes.")
