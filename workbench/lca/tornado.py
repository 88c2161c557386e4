"""One-at-a-time sensitivity (tornado) of per-request footprints (:mod:`workbench.lca.per_request`): each factor
moves alone from the low to the high end of its range, the others at their central values.

The ranges are the 5th and 95th percentiles of the distributions the Monte Carlo draws (grid intensity, PUE,
lifetime, network energy per GB; :data:`workbench.lca.per_request.RANGES`), or stated factors (utilisation,
energy per inference); :data:`RANGE_SOURCES` says which, row by row.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from workbench.lca.inventory import Z_95, lognormal_sigma
from workbench.lca.per_request import (
    RANGES,
    cells,
    check_common,
    check_inputs,
    evaluate_cells,
    triangular_quantile,
    unit_impacts_for,
)
from workbench.lca.sweep import UnitImpacts

FACTORS = ("grid intensity", "PUE", "lifetime", "utilisation", "energy per inference", "network energy")
"""The factors of the one-at-a-time sensitivity, in the order of :func:`sensitivity`'s rows."""

RANGE_SOURCES = {
    "grid intensity": "lognormal, relative sd {grid_rel_sd:g} (workbench.lca.scenario.DEFAULT_UNCERTAINTY), "
                      "5th–95th percentile",
    "PUE": "triangular, mode ± {pue_halfwidth:g} (workbench.lca.scenario.DEFAULT_UNCERTAINTY), 5th–95th "
           "percentile; none outside data centres",
    "lifetime": "lognormal around the catalog lifetime, relative sd {lifetime_rel_sd:g} "
                "(workbench.lca.scenario.DEFAULT_UNCERTAINTY), 5th–95th percentile",
    "utilisation": "stated: ÷{utilization_factor:g} and ×{utilization_factor:g}, capped at 1",
    "energy per inference": "stated: ÷{energy_factor:g} and ×{energy_factor:g} (lognormal 5th–95th percentile)",
    "network energy": "lognormal around the catalog kWh/GB of the access network, relative sd {network_rel_sd:g} "
                      "(workbench.lca.scenario.DEFAULT_UNCERTAINTY), 5th–95th percentile; none outside data centres",
}
"""Where each factor's low and high values come from (formatted with :data:`RANGES`)."""


def factor_ranges(c: dict) -> dict:
    """Low and high value of each factor of :data:`FACTORS` per cell: ``{factor: (key, low, high, unit)}``."""
    z = Z_95
    sg, sl, sn = (lognormal_sigma(RANGES[k]) for k in ("grid_rel_sd", "lifetime_rel_sd", "network_rel_sd"))
    h = RANGES["pue_halfwidth"]
    pue_lo = triangular_quantile(0.05, np.maximum(1.0, c["pue"] - h), c["pue"], c["pue"] + h)
    pue_hi = triangular_quantile(0.95, np.maximum(1.0, c["pue"] - h), c["pue"], c["pue"] + h)
    uf, ef = RANGES["utilization_factor"], RANGES["energy_factor"]
    return {
        "grid intensity": ("g", c["g"] * math.exp(-z * sg), c["g"] * math.exp(z * sg), "kg CO2-eq/kWh"),
        "PUE": ("pue", np.where(c["in_dc"], pue_lo, 1.0), np.where(c["in_dc"], pue_hi, 1.0), "1"),
        "lifetime": ("lifetime_years", c["lifetime_years"] * math.exp(-z * sl),
                     c["lifetime_years"] * math.exp(z * sl), "years"),
        "utilisation": ("utilization", c["utilization"] / uf, np.minimum(1.0, c["utilization"] * uf), "1"),
        "energy per inference": ("energy_j", c["energy_j"] / ef, c["energy_j"] * ef, "J"),
        "network energy": ("kwh_per_gb", c["kwh_per_gb"] * math.exp(-z * sn), c["kwh_per_gb"] * math.exp(z * sn),
                           "kWh/GB"),
    }


def sensitivity(frame, countries, *, requests: float = 1000.0, utilization: float = 0.5,
                request_bytes: float = 4096.0, client_network: str = "4g",
                datacentre_pue: str | float = "hyperscale", unit: UnitImpacts | None = None, lca_dir=None,
                method=None) -> pl.DataFrame:
    """One-at-a-time sensitivity (tornado) of the total per row and country to each factor of :data:`FACTORS`.

    Each factor moves alone from its low to its high value (:func:`factor_ranges`; sources in
    :data:`RANGE_SOURCES`), the others at their central values. Parameters as :func:`workbench.lca.per_request.per_request_footprints`.

    Returns
    -------
    polars.DataFrame
        Tidy, one row per input row × country × factor: ``model``, ``variant``, ``device``, ``catalog_device``,
        ``device_class``, ``country``, ``factor``, ``value_unit``, ``value_low``, ``value_central``,
        ``value_high`` (in ``value_unit``; grid intensity in g CO2-eq/kWh), ``total_kgco2e`` (central),
        ``total_at_low_kgco2e``, ``total_at_high_kgco2e``, ``swing_kgco2e`` (|high − low|), ``range_source``;
        other input columns ending in ``provenance`` are kept. Footprints per ``requests`` requests.

    Raises
    ------
    ParameterError, UnknownNameError
        As :func:`workbench.lca.per_request.per_request_footprints`.
    """
    df = check_inputs(frame)
    check_common(countries, requests, utilization, request_bytes)
    unit = unit_impacts_for(unit, countries, df, lca_dir, method)
    c = cells(df, countries, unit, requests=requests, utilization=utilization, request_bytes=request_bytes,
              client_network=client_network, datacentre_pue=datacentre_pue)
    central = evaluate_cells(c)["total_kgco2e"]
    keep = [k for k in ("model", "variant", "device", "catalog_device") if k in df.columns]
    keep += [k for k in df.columns if k.endswith("provenance") and k not in keep]
    base = df[c["row"].tolist()].select(keep).with_columns(
        pl.Series("device_class", c["device_class"].tolist(), dtype=pl.String),
        pl.Series("country", c["country"].tolist(), dtype=pl.String))
    parts = []
    for factor, (key, low, high, vunit) in factor_ranges(c).items():
        at_low = evaluate_cells(c, **{key: low})["total_kgco2e"]
        at_high = evaluate_cells(c, **{key: high})["total_kgco2e"]
        scale = 1e3 if key == "g" else 1.0
        shown_unit = "g CO2-eq/kWh" if key == "g" else vunit
        n = len(central)
        parts.append(base.with_columns(
            pl.lit(factor).alias("factor"), pl.lit(shown_unit).alias("value_unit"),
            pl.Series("value_low", np.broadcast_to(low, (n,)) * scale),
            pl.Series("value_central", np.broadcast_to(np.asarray(c[key], dtype=np.float64), (n,)) * scale),
            pl.Series("value_high", np.broadcast_to(high, (n,)) * scale),
            pl.Series("total_kgco2e", central), pl.Series("total_at_low_kgco2e", at_low),
            pl.Series("total_at_high_kgco2e", at_high),
            pl.Series("swing_kgco2e", np.abs(at_high - at_low)),
            pl.lit(RANGE_SOURCES[factor].format(**RANGES)).alias("range_source")))
    return pl.concat(parts)
