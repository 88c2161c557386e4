"""Energy per inference on a board you do not own, from published results of other boards.

Public benchmark results of small boards (MLPerf Tiny) hold, per board and benchmark, a latency
and an energy per inference but no model-structure features (FLOPs, per-layer tables). The cost
model here predicts ``energy_j`` from what is known about a board *before* measuring its energy:
its latency on the benchmark [ms], its clock [MHz] (from the system description), its catalog
maximum power [W] (:mod:`workbench.catalog.devices`, cited there) and whether it has an
accelerator. It is a power law fitted in log space
(:class:`~workbench.costmodels.regressions.LogLinearCostModel`): energy = power × time, with the
power a power law of the clock and the catalog power. The features were fixed before looking at
held-out boards; one-hot core types and tasks were left out because, with about ten boards, most
core types occur on one board only.

:func:`evaluate_board_out` scores it leave-one-board-out (every row of a board predicted by a
model fitted on the other boards), next to a latency-only power law as the reference.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import polars as pl

from workbench.catalog.devices import get_device
from workbench.checks import check_interval
from workbench.costmodels.intervals import ConformalCostModel
from workbench.costmodels.regressions import LogLinearCostModel
from workbench.costmodels.validation import leave_one_group_out, summarize
from workbench.errors import ParameterError, UnknownNameError
from workbench.schema import as_polars

BOARD_FEATURES = ("latency_ms", "cpu_mhz", "has_accelerator", "catalog_max_power_w")
"""Features of :func:`board_energy_data`: latency [ms], clock [MHz], accelerator flag [0/1], catalog max
power [W]."""

BOARD_KINDS = {
    "board-features": BOARD_FEATURES,
    "latency-only": ("latency_ms",),
}
"""Kinds of :func:`evaluate_board_out` → the features each uses."""

_MHZ = re.compile(r"([0-9.]+)\s*([MG])hz", re.I)


def clock_mhz(text) -> float:
    """Clock frequency [MHz] parsed from a description such as ``"336 MHZ"`` or ``"Cortex-A72 @ 1.5Ghz"``;
    NaN when none is given."""
    m = _MHZ.search(str(text or ""))
    if not m:
        return float("nan")
    return float(m.group(1)) * (1000.0 if m.group(2).upper() == "G" else 1.0)


def catalog_max_power_w(device_name: str) -> float:
    """Maximum power [W] of a catalog device (:mod:`workbench.catalog.devices`); NaN when the device is
    not in the catalog or has no figure."""
    try:
        p = get_device(device_name).max_power_w
    except UnknownNameError:
        return float("nan")
    return float(p) if p is not None else float("nan")


def board_energy_data(rows) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Features, energy per inference and identity of board rows (e.g. ``datasets.load("mlperf-tiny")``).

    Keeps rows with ``energy_scope == "inference"``, an ``energy_j`` and a latency
    (``latency_ms_p50``, else ``latency_ms_mean``). The clock comes from ``config_json``'s
    ``processor_frequency``, else from ``cpu_model``; a missing clock is filled with the median
    clock of the rows, a board missing from the catalog gets the median catalog power of the rows.

    Returns
    -------
    X : pandas DataFrame
        :data:`BOARD_FEATURES` per row.
    y : numpy array
        Energy per inference [J].
    meta : pandas DataFrame
        ``measurement_id``, ``model``, ``device_name``, ``device_class``, ``source`` per row.

    Raises
    ------
    ParameterError
        When fewer than 10 rows carry an energy per inference, or rows lack a needed column.
    """
    df = as_polars(rows)
    need = ["energy_j", "energy_scope", "device_name", "device_class", "model", "measurement_id"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ParameterError(f"board rows need column(s) {missing}; they have {df.columns}. "
                             "Fix: load them with workbench.datasets.load('mlperf-tiny', path).")
    lat_cols = [c for c in ("latency_ms_p50", "latency_ms_mean") if c in df.columns]
    if not lat_cols:
        raise ParameterError("board rows need latency_ms_p50 or latency_ms_mean.")
    lat = pl.coalesce(*lat_cols)
    df = (df.filter((pl.col("energy_scope") == "inference") & pl.col("energy_j").is_not_null() & lat.is_not_null())
            .with_columns(lat.alias("latency_ms")).sort("measurement_id"))
    if df.height < 10:
        raise ParameterError(f"only {df.height} rows carry an energy per inference and a latency; a board-out "
                             "evaluation needs at least 10 (MLPerf Tiny has about 110).")
    pdf = df.to_pandas()
    cfg = [json.loads(c) if isinstance(c, str) and c else {} for c in pdf.get("config_json", [None] * len(pdf))]
    cpu = pdf["cpu_model"] if "cpu_model" in pdf else pd.Series([None] * len(pdf))
    freq = pd.Series([clock_mhz(c.get("processor_frequency") or m) for c, m in zip(cfg, cpu, strict=True)])
    X = pd.DataFrame({"latency_ms": pdf["latency_ms"].to_numpy(float)})
    X["cpu_mhz"] = freq.fillna(freq.median()).fillna(0.0).to_numpy()
    acc = pdf["accelerator"] if "accelerator" in pdf else pd.Series([None] * len(pdf))
    X["has_accelerator"] = acc.notna().astype(float).to_numpy()
    power = pd.Series([catalog_max_power_w(d) for d in pdf["device_name"]])
    X["catalog_max_power_w"] = power.fillna(power.median()).fillna(0.0).to_numpy()
    X.index = pd.Index(pdf["measurement_id"].to_list(), name="measurement_id")
    meta = pdf[[c for c in ("measurement_id", "model", "device_name", "device_class", "source")
                if c in pdf.columns]].reset_index(drop=True)
    return X, pdf["energy_j"].to_numpy(float), meta


def evaluate_board_out(rows, *, kinds=tuple(BOARD_KINDS), interval: float | None = 0.9,
                       ridge_alpha: float = 1e-2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-board-out predictions and metrics of energy per inference.

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Board measurement rows (see :func:`board_energy_data`).
    kinds : list of str
        Keys of :data:`BOARD_KINDS`.
    interval : float or None
        Coverage of conformal intervals (calibrated board-out on the training boards); None for
        point predictions only (the point predictions are the same either way).
    ridge_alpha : float
        Ridge penalty of the log-space power law.

    Returns
    -------
    (predictions, metrics)
        ``predictions``: one row per (kind, row) with ``y_true``, ``y_pred`` [J] (and ``lower``,
        ``upper``) and the identity columns; ``metrics``: per kind overall (``device_class ==
        device_name == "all"``), per device class and per board (``n``, ``mape``, ``rmse`` [J],
        ``within10``, with intervals ``coverage`` and ``median_width_factor``).

    Raises
    ------
    UnknownNameError
        A kind that is not a key of :data:`BOARD_KINDS`.
    ParameterError
        ``interval`` not in (0, 1), or rows :func:`board_energy_data` refuses.
    """
    if interval is not None:
        interval = check_interval(interval)
    for k in kinds:
        if k not in BOARD_KINDS:
            raise UnknownNameError("board cost-model kind", k, BOARD_KINDS)
    X, y, meta = board_energy_data(rows)
    boards = meta["device_name"].to_numpy()
    preds, tables = [], []
    for kind in kinds:
        est = LogLinearCostModel(features=list(BOARD_KINDS[kind]), alpha=ridge_alpha)
        if interval is not None:
            est = ConformalCostModel(est, interval=interval)
        p = leave_one_group_out(est, X, y, boards, meta=meta).assign(kind=kind)
        preds.append(p)
        tables.append(summarize(p).assign(kind=kind, device_class="all", device_name="all"))
        tables.append(summarize(p, by="device_class").assign(kind=kind, device_name="all"))
        tables.append(summarize(p, by=["device_class", "device_name"]).assign(kind=kind))
    m = pd.concat(tables, ignore_index=True)
    key = ["kind", "device_class", "device_name"]
    return pd.concat(preds, ignore_index=True), m[key + [c for c in m.columns if c not in key]]
