"""Footprint per request: energy per inference of a model on a device, to kg CO2-eq per ``requests`` requests.

Each input row is one model variant on one device: its energy per inference ``e`` [J] and the device time one
inference occupies ``t`` [s] (whatever produced them: a meter, a TDP estimate, a cost model, a roofline bound;
the row says which in ``energy_provenance``), and the catalog device whose embodied footprint, lifetime and
class apply. For ``R`` requests in country ``c``:

.. math::

    E = R\\,e / 3.6\\times10^6 \\;[\\mathrm{kWh}], \\qquad
    \\mathrm{operational} = E\\,\\mathrm{PUE}\\,g_c, \\qquad
    \\mathrm{embodied} = \\frac{R\\,t/3600}{L \\cdot 8760 \\cdot u}\\,M_d, \\qquad
    \\mathrm{network} = \\frac{R\\,b}{10^9}\\,k_\\mathrm{tech}\\,g_c

with the grid's unit impact ``g_c`` [kg CO2-eq/kWh] and the device's manufacturing impact ``M_d``
[kg CO2-eq/device] characterised by Brightway (:class:`workbench.lca.sweep.UnitImpacts`, one ``bw2calc.LCA``),
the device's catalog lifetime ``L`` [years], utilisation ``u`` (busy share of its life), ``b`` bytes per
request and answer and ``k_tech`` [kWh/GB] of the access network (catalog). Devices of the data-centre classes
(:data:`DATACENTRE_CLASSES`) sit behind a PUE and receive every request over the network; the others
answer where the request arises (PUE 1, no transfer). The linear combination is
:func:`workbench.lca.sweep.evaluate`; ``tests/lca/test_per_request.py`` checks that it equals the full
Brightway scenario (``energy_per_inference_j`` × ``inferences``, ``hours``) to 1e-9.

Uncertainty (:data:`RANGES`): each input factor has a distribution whose 5th and 95th percentiles are the
low and high values of the one-at-a-time sensitivity (:func:`workbench.lca.tornado.sensitivity`), and which the Monte Carlo
(:func:`per_request_footprints` with ``monte_carlo`` >= 2) draws jointly, with a fixed seed:

- grid intensity: lognormal, relative sd ``grid_rel_sd`` (0.15), the scenario default of
  :data:`workbench.lca.scenario.DEFAULT_UNCERTAINTY` (our assumption: annual averages vs hourly reality);
- PUE (data-centre classes only): triangular, mode ± ``pue_halfwidth`` (0.10, same source);
- lifetime: lognormal, relative sd ``lifetime_rel_sd`` (0.20, same source), around the catalog lifetime;
- embodied footprint: lognormal from the catalog's low–high range (its 5th–95th percentiles), else
  ``embodied_rel_sd`` (0.30, same source); drawn in the Monte Carlo, not a tornado factor;
- network energy per GB: lognormal, ``network_rel_sd`` (0.50, same source);
- energy per inference: lognormal with its 95th percentile at ``energy_factor`` (2) times the central value
  and its 5th at the central value divided by it (our stated assumption: a TDP estimate or a roofline bound
  is off by a factor, not by a percentage);
- utilisation: not drawn (a choice of the deployment, not an uncertainty); the sensitivity moves it by
  ``utilization_factor`` (2) down and up, capped at 1.

These are the distributions Brightway's Monte Carlo (:mod:`workbench.lca.uncertainty`) draws for the
equivalent scenario (:func:`scenario_of`, with the energy spread as its ``power_rel_sd``), drawn here with numpy
so that hundreds of rows × countries take milliseconds instead of a Brightway solve per draw;
``tests/lca/test_per_request.py`` checks that their percentiles agree within sampling error.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from workbench.catalog import devices as catalog
from workbench.catalog import network
from workbench.catalog import pue as cat_pue
from workbench.checks import check_int, check_number
from workbench.errors import ParameterError, UnknownNameError
from workbench.lca.inventory import Z_95, lognormal_sigma, lognormal_sigma_from_range
from workbench.lca.scenario import DEFAULT_UNCERTAINTY
from workbench.lca.sweep import UnitImpacts, evaluate
from workbench.schema import as_polars
from workbench.units import J_PER_KWH

DATACENTRE_CLASSES = ("server-cpu", "cloud-gpu")
"""Device classes that serve from a data centre (PUE and network transfer apply)."""

COMPONENTS = ("operational_kgco2e", "embodied_kgco2e", "network_kgco2e")

INPUT_COLUMNS = ("model", "variant", "device", "catalog_device", "energy_j", "latency_s")
"""Required columns of the input frame (see :func:`per_request_footprints`)."""

RANGES = {
    **{k: DEFAULT_UNCERTAINTY[k] for k in ("grid_rel_sd", "pue_halfwidth", "lifetime_rel_sd", "embodied_rel_sd",
                                           "network_rel_sd")},
    "energy_factor": 2.0,
    "utilization_factor": 2.0,
}
"""Spreads of the inputs (see the module docstring for each one's meaning and source)."""

def triangular_quantile(p: float, low, mode, high):
    """``p``-quantile of a triangular distribution (numpy arrays; ``low == high`` gives ``mode``)."""
    low, mode, high = (np.asarray(v, dtype=np.float64) for v in (low, mode, high))
    width = high - low
    safe = np.where(width > 0, width, 1.0)
    f_mode = np.where(width > 0, (mode - low) / safe, 0.5)
    left = low + np.sqrt(p * width * (mode - low))
    right = high - np.sqrt((1 - p) * width * (high - mode))
    return np.where(width > 0, np.where(p < f_mode, left, right), mode)


def check_inputs(frame) -> pl.DataFrame:
    """The input rows, validated: the columns of :data:`INPUT_COLUMNS`, finite energies and times >= 0.

    Raises
    ------
    ParameterError
        A missing column, no rows, or an energy or time that is negative, NaN or infinite (naming the row).
    UnknownNameError
        A ``catalog_device`` not in the catalog.
    """
    df = as_polars(frame)
    missing = [c for c in INPUT_COLUMNS if c not in df.columns]
    if missing:
        raise ParameterError(f"per-request inputs lack columns {missing}; required: {', '.join(INPUT_COLUMNS)} "
                             "(energy_j: energy per inference [J]; latency_s: device time per inference [s]). "
                             "Fix: add them.")
    if df.height == 0:
        raise ParameterError("per-request inputs have no rows. Fix: give at least one model on one device.")
    df = df.with_columns(pl.col("energy_j", "latency_s").cast(pl.Float64))
    for col, unit in (("energy_j", "J per inference"), ("latency_s", "s per inference")):
        for r in df.iter_rows(named=True):
            v = r[col]
            if v is None or not math.isfinite(v) or v < 0:
                raise ParameterError(
                    f"{col} = {v!r} for {r['model']} ({r['variant']}) on {r['device']}: it must be a finite number "
                    f">= 0 [{unit}]. Fix: correct or drop that row (a missing energy figure cannot be priced).")
    for name in df["catalog_device"].unique().to_list():
        dev = catalog.get_device(name)  # UnknownNameError with close matches
        if dev.embodied_kgco2e is None or dev.lifetime_years is None:
            raise ParameterError(f"catalog device {name!r} lacks an embodied footprint or a lifetime. Fix: choose "
                                 "another catalog device for these rows, or add the figures in a user device file.")
    return df


def _datacentre_pue(datacentre_pue) -> float:
    if isinstance(datacentre_pue, str):
        return float(cat_pue.pue(datacentre_pue))
    return check_number(datacentre_pue, "datacentre_pue", minimum=1.0,
                        fix="give a PUE >= 1 or a catalog PUE kind such as 'hyperscale'.")


def cells(df: pl.DataFrame, countries, unit: UnitImpacts, *, requests: float, utilization: float,
          request_bytes: float, client_network: str, datacentre_pue) -> dict:
    """Every row × country as arrays of the formula's inputs (central values)."""
    if client_network not in network.TECHNOLOGIES:
        raise UnknownNameError("network technology", client_network, network.TECHNOLOGIES)
    pue_dc = _datacentre_pue(datacentre_pue)
    countries = list(countries)
    n_rows, n_c = df.height, len(countries)
    rep = lambda a: np.repeat(np.asarray(a), n_c)  # noqa: E731 - row-major: each row, then its countries
    devs = {d: catalog.get_device(d) for d in df["catalog_device"].unique().to_list()}
    cat = df["catalog_device"].to_list()
    cls = [devs[d].device_class for d in cat]
    in_dc = np.array([c in DATACENTRE_CLASSES for c in cls])
    low = [devs[d].embodied_kgco2e_low for d in cat]
    high = [devs[d].embodied_kgco2e_high for d in cat]
    default_sigma = lognormal_sigma(RANGES["embodied_rel_sd"])
    emb_sigma = np.array([lognormal_sigma_from_range(lo, hi) if lo and hi and hi > lo and not math.isnan(lo)
                          and not math.isnan(hi) else default_sigma for lo, hi in zip(low, high, strict=True)])
    return {
        "row": rep(np.arange(n_rows)), "country": np.tile(np.asarray(countries, dtype=object), n_rows),
        "device_class": rep(np.asarray(cls, dtype=object)), "in_dc": rep(in_dc),
        "g": np.tile(unit.grid_kgco2e_per_kwh[unit.country_index(countries)], n_rows),
        "manuf": rep(unit.manufacturing_kgco2e[unit.device_index(cat)]), "emb_sigma": rep(emb_sigma),
        "energy_j": rep(df["energy_j"].to_numpy()), "latency_s": rep(df["latency_s"].to_numpy()),
        "lifetime_years": rep(np.array([float(devs[d].lifetime_years) for d in cat])),
        "pue": rep(np.where(in_dc, pue_dc, 1.0)), "utilization": np.full(n_rows * n_c, float(utilization)),
        "gigabytes": rep(np.where(in_dc, requests * request_bytes / 1e9, 0.0)),
        "kwh_per_gb": np.full(n_rows * n_c, float(network.energy_kwh_per_gb(client_network))),
        "requests": float(requests),
    }


def evaluate_cells(c: dict, **override) -> dict:
    """:func:`evaluate` on the cells, with some inputs replaced (the sensitivity and the Monte Carlo)."""
    v = {**c, **override}
    r = c["requests"]
    return evaluate(grid_kgco2e_per_kwh=v["g"], energy_kwh=r * v["energy_j"] / J_PER_KWH, pue=v["pue"],
                    manufacturing_kgco2e=v["manuf"], hours=r * v["latency_s"] / 3600.0,
                    lifetime_years=v["lifetime_years"], utilization=v["utilization"], gigabytes=v["gigabytes"],
                    kwh_per_gb=v["kwh_per_gb"])


def check_common(countries, requests, utilization, request_bytes) -> None:
    """Check the arguments every per-request function takes (raises :class:`ParameterError` naming the fix)."""
    if not countries:
        raise ParameterError("give at least one country (ISO3, e.g. ['FRA', 'POL']).")
    check_number(requests, "requests", minimum=0, exclusive=True, fix="give the requests priced, e.g. 1000.")
    check_number(utilization, "utilization", minimum=0, maximum=1, exclusive=False,
                 fix="give the busy share of the device's life, in (0, 1], e.g. 0.5.")
    if utilization <= 0:
        raise ParameterError(f"utilization must be > 0, got {utilization!r}. Fix: give a share in (0, 1], e.g. 0.5.")
    check_number(request_bytes, "request_bytes", minimum=0, fix="give the bytes of a request and its answer.")


def unit_impacts_for(unit, countries, df, lca_dir, method) -> UnitImpacts:
    """``unit`` if given, else Brightway's unit impacts of ``countries``' grids and the rows' catalog devices."""
    if unit is None:
        unit = UnitImpacts.from_project(sorted(set(countries)), sorted(set(df["catalog_device"].to_list())),
                                        lca_dir=lca_dir, method=method)
    return unit


def per_request_footprints(frame, countries, *, requests: float = 1000.0, utilization: float = 0.5,
                           request_bytes: float = 4096.0, client_network: str = "4g",
                           datacentre_pue: str | float = "hyperscale", monte_carlo: int = 200, seed: int = 0,
                           unit: UnitImpacts | None = None, lca_dir=None, method=None) -> pl.DataFrame:
    """Footprint of ``requests`` requests per input row and country (formula in the module docstring).

    Parameters
    ----------
    frame : polars.DataFrame or pandas.DataFrame
        One row per model variant on a device: ``model``, ``variant``, ``device`` (label), ``catalog_device``
        (catalog name whose class, embodied footprint and lifetime apply), ``energy_j`` [J per inference],
        ``latency_s`` [s of device time per inference]; other columns (e.g. ``energy_provenance``) are kept.
    countries : list of str
        ISO3 codes of the grids.
    requests : float
        Requests priced, the functional unit [1].
    utilization : float
        Busy share of the device's lifetime, in (0, 1] (embodied amortisation) [1].
    request_bytes : float
        Bytes of a request and its answer over the network (data-centre classes) [B].
    client_network : str
        Access technology (``workbench.catalog.network.TECHNOLOGIES``).
    datacentre_pue : str or float
        PUE of the data-centre classes: a catalog kind or a number >= 1 [1].
    monte_carlo : int
        Monte Carlo draws for the 5th/50th/95th percentiles (0: none; else >= 2).
    seed : int
        Seed of the draws (same seed, same percentiles).
    unit : UnitImpacts, optional
        Brightway unit impacts covering ``countries`` and the catalog devices (default: computed now).
    lca_dir : path, optional
        Brightway data directory (see :func:`workbench.lca.project.data_dir`).
    method : tuple, optional
        LCIA method (default IPCC 2021 GWP100).

    Returns
    -------
    polars.DataFrame
        The input columns, then ``device_class``, ``country``, ``requests``, ``carbon_intensity_g_per_kwh``,
        ``pue``, ``energy_kwh`` (grid electricity, network included), ``operational_kgco2e``,
        ``embodied_kgco2e``, ``network_kgco2e``, ``total_kgco2e``, ``embodied_share`` [1],
        ``total_kgco2e_p5/p50/p95`` (nulls without Monte Carlo) and ``method``; one row per input row ×
        country, in input order then country order. Footprints are per ``requests`` requests [kg CO2-eq].

    Raises
    ------
    ParameterError
        Bad inputs (see :func:`check_inputs`) or parameters.
    UnknownNameError
        An unknown country, catalog device, network technology or PUE kind.

    Examples
    --------
    >>> import polars as pl                                                              # doctest: +SKIP
    >>> rows = pl.DataFrame({"model": ["m"], "variant": ["fp32"], "device": ["a100"],
    ...                      "catalog_device": ["a100-sxm4-40gb"], "energy_j": [1.0], "latency_s": [0.01]})
    >>> per_request_footprints(rows, ["FRA"], monte_carlo=0)["total_kgco2e"]            # doctest: +SKIP
    """
    df = check_inputs(frame)
    check_common(countries, requests, utilization, request_bytes)
    monte_carlo = check_int(monte_carlo, "monte_carlo", minimum=0,
                            fix="give a number of Monte Carlo draws >= 2, or 0 for none.")
    if monte_carlo == 1:
        raise ParameterError("monte_carlo must be 0 or >= 2, got 1: percentiles need draws. Fix: e.g. 200.")
    check_int(seed, "seed", minimum=0, fix="give a whole number >= 0.")
    unit = unit_impacts_for(unit, countries, df, lca_dir, method)
    c = cells(df, countries, unit, requests=requests, utilization=utilization, request_bytes=request_bytes,
              client_network=client_network, datacentre_pue=datacentre_pue)
    out = evaluate_cells(c)
    n = len(c["row"])
    pcts = {p: np.full(n, np.nan) for p in (5, 50, 95)}
    if monte_carlo:
        pcts = dict(zip((5, 50, 95), np.percentile(monte_carlo_totals(c, monte_carlo, seed), [5, 50, 95], axis=0),
                        strict=True))
    total = out["total_kgco2e"]
    base = df[c["row"].tolist()]
    cols = {
        "device_class": pl.Series(c["device_class"].tolist(), dtype=pl.String),
        "country": pl.Series(c["country"].tolist(), dtype=pl.String),
        "requests": np.full(n, float(requests)),
        "carbon_intensity_g_per_kwh": c["g"] * 1e3, "pue": c["pue"], "energy_kwh": out["energy_kwh"],
        **{k: out[k] for k in COMPONENTS}, "total_kgco2e": total,
        "embodied_share": np.divide(out["embodied_kgco2e"], total, out=np.zeros(n), where=total > 0),
        "total_kgco2e_p5": pcts[5], "total_kgco2e_p50": pcts[50], "total_kgco2e_p95": pcts[95],
    }
    res = base.with_columns(**{k: (v if isinstance(v, pl.Series) else pl.Series(k, np.asarray(v, dtype=np.float64)))
                               for k, v in cols.items()})
    if not monte_carlo:
        res = res.with_columns(pl.col("total_kgco2e_p5", "total_kgco2e_p50", "total_kgco2e_p95").fill_nan(None))
    return res.with_columns(pl.lit(" | ".join(unit.method)).alias("method"))


def monte_carlo_totals(c: dict, iterations: int, seed: int) -> np.ndarray:
    """Monte Carlo draws of the total [kg CO2-eq], shape ``(iterations, cells)`` (distributions: :data:`RANGES`)."""
    rng = np.random.default_rng(seed)
    shape = (iterations, len(c["row"]))
    lognormal = lambda sigma: rng.lognormal(0.0, sigma, size=shape)  # noqa: E731 - median 1
    g = c["g"] * lognormal(lognormal_sigma(RANGES["grid_rel_sd"]))
    energy = c["energy_j"] * lognormal(math.log(RANGES["energy_factor"]) / Z_95)
    h = RANGES["pue_halfwidth"]
    lo, hi = np.maximum(1.0, c["pue"] - h), c["pue"] + h
    pue = np.where(c["in_dc"], rng.triangular(np.where(c["in_dc"], lo, 0.0), np.where(c["in_dc"], c["pue"], 0.5),
                                              np.where(c["in_dc"], hi, 1.0), size=shape), 1.0)
    # the share is 1 / lifetime: lognormal with the same sigma (as workbench.lca.scenario_db draws it)
    life = c["lifetime_years"] / lognormal(lognormal_sigma(RANGES["lifetime_rel_sd"]))
    manuf = c["manuf"] * rng.lognormal(0.0, c["emb_sigma"], size=shape)
    kwh_per_gb = c["kwh_per_gb"] * lognormal(lognormal_sigma(RANGES["network_rel_sd"]))
    return evaluate_cells(c, g=g, energy_j=energy, pue=pue, lifetime_years=life, manuf=manuf,
                          kwh_per_gb=kwh_per_gb)["total_kgco2e"]


def scenario_of(row: dict, country: str, *, requests: float = 1000.0, utilization: float = 0.5,
                request_bytes: float = 4096.0, client_network: str = "4g",
                datacentre_pue: str | float = "hyperscale") -> dict:
    """The :mod:`workbench.lca.scenario` dict of one input row in one country: what Brightway computes in full
    (``energy_per_inference_j`` × ``inferences``, ``hours`` of device time), for checking the vectorised path."""
    dev = catalog.get_device(row["catalog_device"])
    in_dc = dev.device_class in DATACENTRE_CLASSES
    sc = {"name": f"{row['model']} ({row['variant']}) on {row['device']} in {country}",
          "functional_unit": f"{requests:g} requests", "location": {"country": country},
          "devices": [{"name": dev.name, "energy_per_inference_j": float(row["energy_j"]),
                       "inferences": float(requests), "hours": float(requests * row["latency_s"] / 3600.0),
                       "pue": datacentre_pue if in_dc else 1.0, "utilization": float(utilization)}]}
    if in_dc:
        sc["network"] = [{"gigabytes": requests * request_bytes / 1e9, "technology": client_network}]
    return sc


__all__ = ["COMPONENTS", "DATACENTRE_CLASSES", "INPUT_COLUMNS", "RANGES",
           "check_common", "check_inputs", "cells", "evaluate_cells", "monte_carlo_totals",
           "per_request_footprints", "scenario_of", "triangular_quantile", "unit_impacts_for"]
