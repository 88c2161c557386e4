"""Model-structure features for dataset rows through zoo twins, and leave-one-benchmark-out errors.

Public results (MLPerf Tiny, ...) give a latency and an energy per inference for a board and a
benchmark, but no FLOPs, sizes or per-layer table, so no cost model can be fitted on them as they
are. Where the benchmark's model has a *zoo twin* (the same architecture in
:mod:`workbench.measure.zoo`), :func:`with_zoo_features` attaches the twin's counted features to
the rows; then :func:`~workbench.costmodels.features.training_data`,
:func:`~workbench.costmodels.workflow.fit_from_rows` and every estimator work on them as on
profiler rows, per board (``device_name``) or per device class (``mcu``).

The name mapping of a dataset lives in its importer (``ZOO_TWINS`` of
:mod:`workbench.datasets.mlperf_tiny`); :func:`dataset_twins` returns it.

With four distinct models per board (MLPerf Tiny), a per-board fit is a curve through four points:
:func:`evaluate_benchmark_out` gives its leave-one-benchmark-out error, the honest estimate of
how far a projection onto that board may be off for a fifth model.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl

from workbench.errors import ParameterError, SchemaError, UnknownNameError
from workbench.store import LAYER_SHAPE_COLUMNS


def _int_or_none(v):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else int(v)

TWIN_FEATURES = ("flops", "params", "weight_bytes", "activation_bytes")
"""Schema columns :func:`with_zoo_features` fills from the twin (units as in :mod:`workbench.schema`)."""

MISSING = ("keep", "drop", "raise")


def dataset_twins(kind: str) -> dict[str, str]:
    """The ``ZOO_TWINS`` mapping of a dataset importer (``"mlperf-tiny"`` → its model → zoo name).

    Raises
    ------
    UnknownNameError
        Unknown dataset kind, or a kind whose importer defines no twins.
    """
    import importlib

    from workbench import datasets

    if kind not in datasets.KINDS:
        raise UnknownNameError("dataset kind", kind, datasets.KINDS)
    twins = getattr(importlib.import_module(datasets.KINDS[kind]), "ZOO_TWINS", None)
    if not twins:
        with_twins = [k for k, m in datasets.KINDS.items()
                      if getattr(importlib.import_module(m), "ZOO_TWINS", None)]
        raise UnknownNameError("dataset kind with zoo twins", kind, with_twins,
                               "only these importers define ZOO_TWINS")
    return dict(twins)


def twin_features(zoo_names) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counted features of zoo models, computed once per name (batch size 1, fp32).

    Returns the frame of :func:`~workbench.costmodels.workflow.zoo_features` (index: zoo name) and
    its per-layer table (``measurement_id`` = zoo name).

    Raises
    ------
    UnknownNameError
        A name that is not a zoo model (the message suggests close matches).
    """
    from workbench.costmodels.workflow import zoo_features
    from workbench.measure import zoo

    names = sorted(set(zoo_names))
    for n in names:
        zoo.resolve(n)  # UnknownNameError with close matches, before building anything
    return zoo_features(names, batch_size=1, dtype="fp32")


def with_zoo_features(rows, twins: dict[str, str], *, missing: str = "keep",
                      overwrite: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Attach the zoo twin's counted features to dataset rows.

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Measurement rows (:mod:`workbench.schema`), e.g. ``datasets.load("mlperf-tiny", path)``.
    twins : dict
        ``model`` of a row → zoo model name (:func:`dataset_twins`, or your own mapping).
    missing : {"keep", "drop", "raise"}
        Rows whose ``model`` has no twin: kept unchanged (their features stay null, so fitting
        skips them), dropped, or an error naming them.
    overwrite : bool
        Replace features a row already has (default: only null ones are filled).

    Returns
    -------
    (rows, layers)
        ``rows``: the rows with ``flops`` [FLOP per inference], ``params``, ``weight_bytes`` [B]
        and ``activation_bytes`` [B per inference] of the twin, and ``config_json["zoo_twin"]``
        naming it (validated schema rows); ``layers``: the twin's per-layer table
        (:data:`workbench.store.LAYER_SCHEMA`, ``latency_ms`` null) under each row's
        ``measurement_id``, for the layer-based cost models.

    Raises
    ------
    UnknownNameError
        A twin that is not a zoo model.
    ParameterError
        Bad ``missing``; with ``missing="raise"``, rows without a twin.
    """
    from workbench import schema
    from workbench.store import LAYER_SCHEMA

    if missing not in MISSING:
        raise UnknownNameError("missing-twin policy", missing, MISSING)
    df = rows if isinstance(rows, pl.DataFrame) else pl.from_pandas(rows) if isinstance(rows, pd.DataFrame) else None
    if df is None:
        raise SchemaError(f"expected a polars or pandas DataFrame of measurement rows, got {type(rows).__name__}.")
    df = schema.validate(df)
    if not isinstance(twins, dict) or not twins:
        raise ParameterError("twins must be a non-empty dict of dataset model name → zoo model name, e.g. "
                             "workbench.datasets.mlperf_tiny.ZOO_TWINS.")
    has_twin = df["model"].is_in(list(twins))
    if missing == "raise" and not bool(has_twin.all()):
        lacking = sorted(set(df.filter(~has_twin)["model"].to_list()))
        raise ParameterError(f"rows of model(s) {lacking[:8]} have no zoo twin (the mapping has {sorted(twins)}). "
                             "Fix: add them to the mapping, or pass missing='keep' or 'drop'.")
    if missing == "drop":
        df = df.filter(has_twin)
    used = sorted({twins[m] for m in df["model"].to_list() if m in twins})
    if not used:
        return df, pl.DataFrame(schema=LAYER_SCHEMA)
    X, lay = twin_features(used)
    out, layer_rows = [], []
    for r in df.iter_rows(named=True):
        twin = twins.get(r["model"])
        if twin is None:
            out.append(r)
            continue
        f = X.loc[twin]
        counted = {"flops": float(f["flops"]), "params": int(f["params"]), "weight_bytes": int(f["weight_bytes"]),
                   "activation_bytes": int(f["activation_bytes"])}
        r = dict(r)
        filled = [k for k in counted if overwrite or r.get(k) is None]
        if not filled:  # e.g. a profiler row of the zoo model itself: nothing to attach
            out.append(r)
            continue
        for k in filled:
            r[k] = counted[k]
        cfg = json.loads(r["config_json"]) if r.get("config_json") else {}
        cfg["zoo_twin"] = twin
        cfg["features_from"] = ("zoo twin, counted by workbench.measure.features (fp32 architecture, "
                                "batch 1); not published with the dataset")
        r["config_json"] = json.dumps(cfg, sort_keys=True)
        out.append(r)
        for lr in lay[lay["measurement_id"] == twin].itertuples(index=False):
            layer_rows.append({"measurement_id": r["measurement_id"], "layer_index": int(lr.layer_index),
                               "layer_name": None, "layer_type": lr.layer_type, "flops": float(lr.flops),
                               "params": int(lr.params), "output_bytes": int(lr.output_bytes), "latency_ms": None,
                               **{k: _int_or_none(getattr(lr, k, None)) for k in LAYER_SHAPE_COLUMNS}})
    rows_out = schema.from_records(out)
    layers = pl.DataFrame(layer_rows, schema=LAYER_SCHEMA) if layer_rows else pl.DataFrame(schema=LAYER_SCHEMA)
    return rows_out, layers


def evaluate_benchmark_out(rows, layers=None, *, target: str = "latency_ms", kinds=("flops", "loglinear-flops"),
                           device_class: str | None = "mcu", min_models: int = 3,
                           aggregate: str = "min") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-benchmark-out error of per-board cost models fitted on rows with twin features.

    For every board (``device_name``) of ``device_class`` with at least ``min_models`` distinct
    models carrying ``target``, each model is predicted by a cost model fitted on the board's other
    models (repeated results of one model on one board become one row, see ``aggregate``). This
    is the error to expect when projecting a model the board was never measured on.

    Parameters
    ----------
    rows : DataFrame
        Rows with twin features (:func:`with_zoo_features`).
    layers : DataFrame, optional
        Per-layer table (needed for layer-based kinds only).
    target : str
        ``latency_ms`` or ``energy_j`` (:data:`~workbench.costmodels.features.TARGETS`).
    kinds : list of str
        Cost-model kinds (:data:`~workbench.costmodels.kinds.KINDS`).
    device_class : str or None
        Boards of this class only (None: every board).
    min_models : int
        Boards with fewer distinct models are skipped (at least 3: 2 to fit, 1 to predict).
    aggregate : {"min", "median"}
        How repeated results of one model on one board become one training row.

    Returns
    -------
    (predictions, metrics)
        ``predictions``: ``kind``, ``device_name``, ``model``, ``y_true``, ``y_pred`` per held-out
        model; ``metrics``: per kind overall (``device_name == "all"``) and per board: ``n``,
        ``mape``, ``rmse`` [target unit], ``within10``, plus ``median_ape`` (median |ŷ−y|/y).

    Raises
    ------
    ParameterError
        No board has ``min_models`` models with the target.
    """
    from workbench.costmodels.features import training_data, training_layers
    from workbench.costmodels.validation import leave_one_group_out, summarize
    from workbench.costmodels.workflow import make_estimator, needs_layers

    if min_models < 3:
        raise ParameterError(f"min_models must be >= 3 (two to fit, one held out), got {min_models!r}.")
    X, y, meta = training_data(rows, layers, target=target, device_class=device_class, aggregate=aggregate)
    layers = training_layers(rows, layers, aggregate=aggregate)
    meta = meta.assign(device_name=meta["device_name"].astype(str))
    counts = meta.groupby("device_name")["model"].nunique()
    boards = sorted(counts[counts >= min_models].index)
    if not boards:
        raise ParameterError(
            f"no board of class {device_class!r} has {min_models} distinct models with {target!r} and twin "
            f"features (models per board: {counts.to_dict()}). Fix: attach features with with_zoo_features() "
            "and check the rows carry the target.")
    preds = []
    for kind in kinds:
        for b in boards:
            sel = (meta["device_name"] == b).to_numpy()
            est = make_estimator(kind, interval=None)
            kw = {"layers": layers} if needs_layers(est) else None
            p = leave_one_group_out(est, X[sel], y[sel], meta.loc[sel, "model"].to_numpy(),
                                    meta=meta[sel], fit_params=kw)
            preds.append(p.assign(kind=kind))
    pred = pd.concat(preds, ignore_index=True)
    pred["ape"] = np.abs(pred["y_pred"] - pred["y_true"]) / pred["y_true"]
    tables = []
    for kind, d in pred.groupby("kind", sort=False):
        tables.append(summarize(d).assign(kind=kind, device_name="all", median_ape=float(d["ape"].median())))
        per = summarize(d, by="device_name").assign(kind=kind)
        per["median_ape"] = per["device_name"].map(d.groupby("device_name")["ape"].median())
        tables.append(per)
    m = pd.concat(tables, ignore_index=True)
    key = ["kind", "device_name"]
    return pred, m[key + [c for c in m.columns if c not in key]]
