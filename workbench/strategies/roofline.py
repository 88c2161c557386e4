"""Roofline lower bounds of measured variants on catalog devices that have no measurements at all.

For phones, Jetson modules and data-centre GPUs the catalog has peak FLOP/s per dtype and memory
bandwidth but no measured model, so no cost model can be fitted; the roofline *lower bound*
``max(FLOPs / peak, bytes / bandwidth)`` (Williams, Waterman, Patterson, CACM 52(4), 2009) is
what the hardware allows. Real kernels do not reach it on models this small: it is a bound, not a
prediction of measured latency, and it is never written to the store. Dynamic variants get the
exit-rate weighted bound of their paths (:mod:`.variant_features`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

from workbench import schema
from workbench.catalog.devices import get_device
from workbench.strategies.variant_features import is_dynamic, variant_config, variant_units

KIND = "roofline lower bound (catalog peaks)"
"""The ``kind`` of every bound row."""


def _missing_figure(dev, dtype: str) -> str | None:
    """Why the catalog cannot bound ``dtype`` on ``dev`` (no peak for the dtype, no bandwidth), or None."""
    if dev.peak_flops_per_s.get(dtype) is None:
        return f"no {dtype} peak in the catalog (it has {sorted(dev.peak_flops_per_s)})"
    if dev.memory_bandwidth_bytes_per_s is None:
        return "no memory bandwidth in the catalog"
    return None


def _bound_ms(units: pd.DataFrame, weights, batch, peak: float, bandwidth: float) -> tuple[float, float, float]:
    """Weighted compute time, memory time and roofline bound of a variant's units [ms per call]."""
    c_ms = units["flops"].to_numpy(float) * batch / peak * 1e3
    m_ms = (units["weight_bytes"].to_numpy(float) + units["activation_bytes"].to_numpy(float) * batch) / bandwidth * 1e3
    wv = np.asarray(weights, float)
    return float(wv @ c_ms), float(wv @ m_ms), float(wv @ np.maximum(c_ms, m_ms))


def _bound_row(dev, r: dict, units: pd.DataFrame, weights) -> dict:
    """The bound of variant ``r`` on ``dev`` (NaN, with the reason in ``note``, where the catalog lacks a figure)."""
    dtype = r.get("dtype") or "fp32"
    peak, bw = dev.peak_flops_per_s.get(dtype), dev.memory_bandwidth_bytes_per_s
    note = _missing_figure(dev, dtype)
    comp = mem = bound = np.nan
    if note is None:
        batch = units["batch_size"].to_numpy(float) if not is_dynamic(variant_config(r.get("config_json"))) else 1.0
        comp, mem, bound = _bound_ms(units, weights, batch, peak, bw)
    return {"model": r["model"], "strategy": r["strategy"], "dtype": dtype, "batch_size": r["batch_size"],
            "device_name": dev.name, "device_class": dev.device_class, "peak_flops_per_s": peak,
            "memory_bandwidth_bytes_per_s": bw, "compute_ms": comp, "memory_ms": mem, "roofline_bound_ms": bound,
            "limited_by": None if note else ("compute" if comp >= mem else "memory"), "kind": KIND, "note": note}


def roofline_bounds(rows, devices, *, layers=None) -> pd.DataFrame:
    """Roofline lower bound of each variant's latency on catalog devices (not a prediction).

    ``bound_ms = max(flops · batch / peak, (weight_bytes + activation_bytes · batch) / bandwidth)``
    per forward call, with the peak FLOP/s for the variant's ``dtype`` and the memory bandwidth
    from :mod:`workbench.catalog.devices` (cited there). Dynamic variants: the exit-rate weighted
    bound of their paths. Real latency is higher (kernel launch and framework overheads dominate
    models this small); use it to rank devices by what their hardware allows, never as a latency.

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Measured variant rows (predicted rows are skipped).
    devices : str or list of str
        Catalog device names or aliases (``workbench devices``).
    layers : DataFrame, optional
        Unused by the bound; accepted for symmetry with :func:`workbench.strategies.projection.project`.

    Returns
    -------
    pandas.DataFrame
        One row per device × variant: ``model``, ``strategy``, ``dtype``, ``batch_size``,
        ``device_name``, ``device_class``, ``peak_flops_per_s`` [FLOP/s],
        ``memory_bandwidth_bytes_per_s`` [B/s], ``compute_ms`` [ms], ``memory_ms`` [ms],
        ``roofline_bound_ms`` [ms per call], ``limited_by``, ``kind`` (:data:`KIND`), ``note``
        (why a bound is missing).

    Raises
    ------
    UnknownNameError
        A device not in the catalog.
    SchemaError
        Rows that are not a DataFrame of the measurement schema.
    """
    if isinstance(devices, str):
        devices = [devices]
    devs = [get_device(d) for d in devices]
    df = schema.validate(schema.as_polars(rows)).filter(~pl.col("source").str.starts_with("predicted:"))
    X, _, plan = variant_units(df, None)
    return pd.DataFrame([_bound_row(dev, r, X.loc[ids], w)
                         for dev in devs
                         for (_, ids, w), r in zip(plan, df.iter_rows(named=True), strict=True)])
