"""A federated run's ledger as ``workbench footprint`` scenarios, and their Brightway footprint.

The mapping follows :mod:`workbench.placement.footprint`: an lca scenario has one grid, so an
experiment becomes one scenario per grid (each client country, and the server's; with carbon-intensity
series, each country × intensity value, written as an explicit ``carbon_intensity_g_per_kwh``), and its
footprint is the sum of theirs. In the scenario of country c:

- one ``[[devices]]`` group per catalog device of the clients in c (count 1): ``hours`` = their summed
  busy time [h] and ``power_w`` = summed device energy (predicted compute + radio) ÷ hours, so that the
  engine computes energy = power × hours and the embodied share = embodied × hours ÷ (lifetime × 8760 ×
  utilisation 1), which is the ledger's ``embodied_g``; ``embodied_kgco2e`` and ``lifetime_years`` are
  written from the catalog;
- one ``[[network]]`` entry per access technology: ``gigabytes`` = bytes down + up and the catalog
  ``kwh_per_gb`` (charged at the client's grid, without PUE);
- the server's scenario: its catalog device with the run's PUE and the measured server energy.

:func:`experiment_footprint` computes each scenario with :func:`workbench.lca.footprint_dict` (a Brightway
database and ``bw2calc.LCA``, what ``workbench footprint`` prints) and sums them; the tests check that
the sum equals the ledger's totals to 1e-9 relative.
"""

from __future__ import annotations

import math

import polars as pl

from workbench import lca
from workbench.catalog import grid
from workbench.errors import ParameterError
from workbench.units import J_PER_KWH

SECONDS_PER_HOUR = 3600.0


def _location(country: str, ci: float) -> dict:
    """The catalog country where its grid market emits exactly ``ci``, else the explicit intensity (country as label)."""
    if grid.carbon_intensity_g_per_kwh(country) == ci:
        return {"country": country}
    return {"carbon_intensity_g_per_kwh": float(ci), "country": country}


def _device_group(name: str, energy_j: float, busy_s: float, embodied_kgco2e: float, lifetime_years: float,
                  pue: float, note: str) -> dict:
    hours = busy_s / SECONDS_PER_HOUR
    energy_kwh = energy_j / J_PER_KWH
    dev = {"name": name, "count": 1, "pue": float(pue), "note": note}
    if hours > 0:
        dev.update(power_w=energy_kwh * 1000.0 / hours, hours=hours, embodied_kgco2e=float(embodied_kgco2e),
                   lifetime_years=float(lifetime_years), utilization=1.0)
    else:
        dev.update(energy_kwh=energy_kwh, embodied_kgco2e=0.0)
    return dev


def experiment_scenarios(ledger: pl.DataFrame, experiment: str | None = None) -> list[dict]:
    """One scenario dict per grid of an experiment's ledger (see the module docstring).

    Parameters
    ----------
    ledger : polars.DataFrame
        A ledger (:func:`workbench.federated.ledger.ledger_frame`).
    experiment : str, optional
        Which experiment (default: the only one).

    Returns
    -------
    list of dict
        Scenario tables as ``tomllib`` would read them (:func:`workbench.lca.parse_scenario` accepts them).

    Raises
    ------
    ParameterError
        ``experiment`` missing from the ledger, or None with several experiments.
    """
    exps = ledger["experiment"].unique().sort().to_list()
    if experiment is None:
        if len(exps) != 1:
            raise ParameterError(f"the ledger holds experiments {exps}. Fix: name one.")
        experiment = exps[0]
    if experiment not in exps:
        raise ParameterError(f"experiment {experiment!r} is not in the ledger ({exps}).")
    led = ledger.filter(pl.col("experiment") == experiment)
    label = led["strategy"][0]
    out = []
    for (country, ci), part in led.group_by(["country", "carbon_intensity_g_per_kwh"], maintain_order=True):
        data = {"name": f"{label}: {country} at {ci:.6g} g/kWh",
                "functional_unit": f"federated run {experiment} ({label})",
                "location": _location(country, ci), "allow_implausible": True}
        devices = []
        for (dname, role), g in part.group_by(["device_name", "role"], maintain_order=True):
            pue = float(g["pue"][0])
            devices.append(_device_group(dname, math.fsum(g["device_energy_j"].to_list()),
                                         math.fsum(g["busy_s"].to_list()), g["embodied_kgco2e"][0],
                                         g["lifetime_years"][0], pue, f"{role} rows of the ledger"))
        data["devices"] = devices
        nets = part.filter(pl.col("network").is_not_null())
        if nets.height:
            data["network"] = [{"gigabytes": math.fsum((g["bytes_down"] + g["bytes_up"]).to_list()) / 1e9,
                                "technology": tech.split("-")[0], "kwh_per_gb": float(g["kwh_per_gb"][0]),
                                "note": f"{tech} links of the clients"}
                               for (tech,), g in nets.group_by(["network"], maintain_order=True)]
        out.append(data)
    return out


ENGINES = ("brightway", "sweep")


def experiment_footprint(ledger: pl.DataFrame, experiment: str | None = None, *, engine: str = "brightway",
                         lca_dir=None, method=None) -> dict:
    """Brightway footprint of an experiment's ledger: the sum over its per-grid scenarios.

    Parameters
    ----------
    ledger : polars.DataFrame
    experiment : str, optional
        As :func:`experiment_scenarios`.
    engine : {"brightway", "sweep"}
        ``"brightway"``: :func:`workbench.lca.footprint_dict` per scenario (what ``workbench footprint``
        prints); ``"sweep"``: :func:`workbench.lca.evaluate` on the resolved scenarios (no Brightway; the
        same linear model, as :func:`workbench.placement.footprint.placement_footprint` offers).
    lca_dir : path-like, optional
        Brightway data directory (:func:`workbench.lca.footprint_dict`).
    method : tuple or str, optional
        LCIA method (default IPCC 2021 GWP100; scores in kg CO2-eq).

    Returns
    -------
    dict
        ``operational_g``, ``network_g``, ``embodied_g``, ``total_g`` [g CO2e] summed over the scenarios,
        ``scenarios`` (per scenario: name and its four figures [g]) and ``method``.
    """
    if engine not in ENGINES:
        raise ParameterError(f"engine = {engine!r} is not a footprint engine. Fix: give one of {', '.join(ENGINES)}.")
    rows, method_name = [], "lca.sweep.evaluate (kg CO2-eq)"
    for data in experiment_scenarios(ledger, experiment):
        if engine == "sweep":
            res = lca.evaluate_resolved(lca.resolve(lca.parse_scenario(data)))
        else:
            res = lca.footprint_dict(data, method=method, lca_dir=lca_dir)
            method_name = res["method"]
        rows.append({"name": data["name"], **{f"{k}_g": res[f"{k}_kgco2e"] * 1e3
                                              for k in ("operational", "network", "embodied", "total")}})
    tot = {f"{k}_g": math.fsum(r[f"{k}_g"] for r in rows) for k in ("operational", "network", "embodied", "total")}
    return {**tot, "scenarios": rows, "method": method_name}


__all__ = ["ENGINES", "experiment_footprint", "experiment_scenarios"]
