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

from workbench import datasets, schema
from workbench.costmodels.features import zoo_features
from workbench.errors import ParameterError, UnknownNameError
from workbench.schema import as_polars
from workbench.store import LAYER_SCHEMA, LAYER_SHAPE_COLUMNS


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
    if kind not in datasets.KINDS:
        raise UnknownNameError("dataset kind", kind, datasets.KINDS)
    twins = getattr(datasets.importer_module(kind), "ZOO_TWINS", None)
    if not twins:
        with_twins = [k for k in datasets.KINDS if getattr(datasets.importer_module(k), "ZOO_TWINS", None)]
        raise UnknownNameError("dataset kind with zoo twins", kind, with_twins,
                               "only these importers define ZOO_TWINS")
    return dict(twins)


def twin_features(zoo_names) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counted features of zoo models, computed once per name (batch size 1, fp32).

    Returns the frame of :func:`~workbench.costmodels.features.zoo_features` (index: zoo name) and
    its per-layer table (``measurement_id`` = zoo name).

    Raises
    ------
    UnknownNameError
        A name that is not a zoo model (the message suggests close matches).
    """
    from workbench.measure import zoo  # imports torch

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
    if missing not in MISSING:
        raise UnknownNameError("missing-twin policy", missing, MISSING)
    df = schema.validate(as_polars(rows))
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
