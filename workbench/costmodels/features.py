"""Features for cost models, built from measurement rows (:mod:`workbench.schema`) and the per-layer table.

A feature frame is a pandas DataFrame with one row per measurement and numeric columns only:

- base columns :data:`BASE_FEATURES`: ``flops`` [FLOP per inference], ``params`` [parameters],
  ``weight_bytes`` [B], ``activation_bytes`` [B per inference], ``batch_size`` [samples per call],
  ``dtype_bytes`` [B per element of the model's dtype];
- per-layer-type columns, when a per-layer table is given: ``count__<Type>`` (number of executed
  layers of that type), ``flops__<Type>`` [FLOP per forward call] and ``bytes__<Type>`` [B of layer
  outputs per forward call], i.e. per-inference figures × ``batch_size``;
- device columns, when asked for: ``peak_flops_per_s`` [FLOP/s] and ``memory_bandwidth_bytes_per_s``
  [B/s] of the row's device, from the device catalog (:mod:`workbench.catalog.devices`).

Targets are named by quantity (:data:`TARGETS`): ``latency_ms`` reads the median latency column
``latency_ms_p50`` (per forward call of ``batch_size`` samples), or, with the label ``auto`` (the default)
or ``normalised`` (:data:`LATENCY_LABELS`), the latency robust to other processes ``latency_ms_norm`` where
a row has it (profiler rows since issue 21; ``latency_method`` says how it was obtained).
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd
import polars as pl

from workbench.catalog.devices import get_device
from workbench.checks import check_int
from workbench.errors import ParameterError, SchemaError, UnknownNameError
from workbench.schema import DEVICE_CLASSES, as_polars
from workbench.store import LAYER_SHAPE_COLUMNS

TARGETS = {
    "latency_ms": "latency_ms_p50",
    "energy_j": "energy_j",
    "memory_peak_bytes": "memory_peak_bytes",
}
"""Cost-model targets → the schema column they are read from (units in the names)."""

LATENCY_LABELS = {
    "auto": "latency_ms_norm where a row has it, else the raw latency_ms_p50 (or latency_ms_mean)",
    "normalised": "latency_ms_norm only: rows without it are left out",
    "raw": "latency_ms_p50 (or latency_ms_mean) only: the wall-clock median as measured",
}
"""Which milliseconds a latency cost model learns (``training_data(label=...)``)."""

BASE_FEATURES = ("flops", "params", "weight_bytes", "activation_bytes", "batch_size", "dtype_bytes")
"""Features every schema row provides (see the module docstring for units)."""

DEVICE_FEATURES = ("peak_flops_per_s", "memory_bandwidth_bytes_per_s")

LAYER_KINDS = ("count", "flops", "bytes")
"""Per-layer-type feature kinds: ``<kind>__<LayerType>`` columns."""

DTYPE_BYTES = {"fp64": 8, "fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "fp8": 1, "int8": 1, "uint8": 1, "int4": 0.5}
"""Bytes per element of each numeric type."""

_GROUP_KEYS = ("model", "device_name", "batch_size", "dtype", "strategy")


def target_column(target: str) -> str:
    """The schema column of a cost-model target (``latency_ms`` → ``latency_ms_p50``)."""
    if target not in TARGETS:
        raise UnknownNameError("cost-model target", target, TARGETS, "targets are " + ", ".join(TARGETS))
    return TARGETS[target]


def layer_type_features(layers, batch_size: pd.Series | None = None) -> pd.DataFrame:
    """Per-layer-type counts, FLOPs and output bytes per ``measurement_id`` (index).

    Parameters
    ----------
    layers : polars or pandas DataFrame
        Per-layer table (:data:`workbench.store.LAYER_SCHEMA`): ``measurement_id``, ``layer_type``,
        ``flops`` [FLOP per inference], ``output_bytes`` [B per inference].
    batch_size : pandas Series, optional
        Samples per call indexed by ``measurement_id``; FLOPs and bytes are multiplied by it.
    """
    lay = as_polars(layers)
    if lay.height == 0:
        return pd.DataFrame(index=pd.Index([], name="measurement_id"))
    agg = (
        lay.group_by("measurement_id", "layer_type")
        .agg(pl.len().cast(pl.Float64).alias("count"), pl.col("flops").sum().alias("flops"),
             pl.col("output_bytes").sum().cast(pl.Float64).alias("bytes"))
        .to_pandas()
    )
    wide = agg.pivot_table(index="measurement_id", columns="layer_type", values=list(LAYER_KINDS),
                           aggfunc="sum", fill_value=0.0)
    wide.columns = [f"{kind}__{typ}" for kind, typ in wide.columns]
    wide = wide.astype(float)
    if batch_size is not None:
        b = batch_size.reindex(wide.index).astype(float).to_numpy()[:, None]
        per_call = [c for c in wide.columns if not c.startswith("count__")]
        wide[per_call] = wide[per_call].to_numpy() * b
    return wide[sorted(wide.columns)]


def feature_frame(rows, layers=None, *, device_features: bool = False) -> pd.DataFrame:
    """Numeric features of measurement rows (one output row per input row, same order).

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Measurement rows with at least ``measurement_id`` and the base columns' sources
        (``flops``, ``params``, ``weight_bytes``, ``activation_bytes``, ``batch_size``, ``dtype``).
    layers : polars or pandas DataFrame, optional
        Per-layer table; adds ``count__/flops__/bytes__<Type>`` columns (0 where a row has none).
    device_features : bool
        Add :data:`DEVICE_FEATURES` from the device catalog for each row's ``device_name`` (peak
        FLOP/s for the row's ``dtype``).

    Raises
    ------
    SchemaError
        If a needed column is missing or a base feature is null.
    """
    df = as_polars(rows)
    need = ["measurement_id", "flops", "params", "weight_bytes", "activation_bytes", "batch_size", "dtype"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise SchemaError(f"cost-model features need column(s) {missing}; the rows have {df.columns}.")
    unknown_dtype = sorted(set(df["dtype"].drop_nulls().to_list()) - set(DTYPE_BYTES) - {""})  # "": not given
    if unknown_dtype:
        raise UnknownNameError("dtype", unknown_dtype[0], DTYPE_BYTES)
    out = pd.DataFrame({
        "flops": df["flops"].cast(pl.Float64).to_numpy(),
        "params": df["params"].cast(pl.Float64).to_numpy(),
        "weight_bytes": df["weight_bytes"].cast(pl.Float64).to_numpy(),
        "activation_bytes": df["activation_bytes"].cast(pl.Float64).to_numpy(),
        "batch_size": df["batch_size"].cast(pl.Float64).to_numpy(),
        "dtype_bytes": [float(DTYPE_BYTES.get(d, 4)) if d else 4.0 for d in df["dtype"].to_list()],
    }, index=pd.Index(df["measurement_id"].to_list(), name="measurement_id"))
    bad = out[list(BASE_FEATURES)].isna().any(axis=1)
    if bool(bad.any()):
        raise SchemaError(
            f"rows {list(out.index[bad][:3])} lack a base feature ({', '.join(BASE_FEATURES)}). "
            "Fix: profile them with `workbench profile` or drop them before fitting."
        )
    if layers is not None:
        lt = layer_type_features(layers, out["batch_size"])
        out = out.join(lt, how="left").fillna(0.0)
    if device_features:
        cols = {c: [] for c in DEVICE_FEATURES}
        for name, dt in zip(df["device_name"].to_list(), df["dtype"].to_list(), strict=True):
            for c, v in catalog_device_features(name, dt).items():
                cols[c].append(v)
        for c, v in cols.items():
            out[c] = v
    return out


def catalog_device_features(device_name: str, dtype: str | None = "fp32") -> dict[str, float]:
    """Peak FLOP/s (for ``dtype``) and memory bandwidth of a catalog device.

    Raises
    ------
    UnknownNameError
        If the device is not in the catalog (the catalog error lists close matches).
    ParameterError
        If the catalog has no peak figure for the dtype.
    """
    dev = get_device(device_name)
    key = dtype or "fp32"
    peak = dev.peak_flops_per_s.get(key)
    if peak is None:
        raise ParameterError(
            f"device {device_name!r} has no peak FLOP/s for {key!r} in the catalog "
            f"(it has {sorted(dev.peak_flops_per_s)}). Fix: add it with load_user_devices() or pick another dtype."
        )
    return {"peak_flops_per_s": float(peak), "memory_bandwidth_bytes_per_s": float(dev.memory_bandwidth_bytes_per_s)}


def latency_label(rows, label: str = "auto") -> pl.DataFrame:
    """``rows`` with ``latency_ms_p50`` replaced by the latency label asked for and ``latency_label`` saying
    per row which milliseconds it holds (``latency_method`` of a normalised row, ``raw`` otherwise).

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Measurement rows; frames without the normalised columns read as raw.
    label : str
        One of :data:`LATENCY_LABELS`.

    Raises
    ------
    UnknownNameError
        An unknown label.
    """
    if label not in LATENCY_LABELS:
        raise UnknownNameError("latency label", label, LATENCY_LABELS)
    df = as_polars(rows)
    raw = pl.col("latency_ms_p50")
    if "latency_ms_mean" in df.columns:  # datasets that publish one figure per row (MLPerf Tiny) keep it there
        raw = pl.coalesce("latency_ms_p50", "latency_ms_mean")
    norm = pl.col("latency_ms_norm") if "latency_ms_norm" in df.columns else pl.lit(None, dtype=pl.Float64)
    method = pl.col("latency_method") if "latency_method" in df.columns else pl.lit(None, dtype=pl.String)
    has = norm.is_not_null()
    value = {"auto": pl.when(has).then(norm).otherwise(raw), "normalised": norm, "raw": raw}[label]
    kind = pl.when(has & (pl.lit(label) != "raw")).then(method).otherwise(pl.lit("raw"))
    return df.with_columns(value.alias("latency_ms_p50"), kind.alias("latency_label"))


def latency_label_note(metadata: dict) -> str | None:
    """Which milliseconds a saved latency model predicts, in one sentence (``None`` for other targets).

    Parameters
    ----------
    metadata : dict
        A saved cost model's metadata (``target`` and, since issue 21, ``latency_label``: training rows
        per kind of milliseconds).
    """
    if metadata.get("target") != "latency_ms":
        return None
    counts = metadata.get("latency_label")
    if not counts:
        return ("latency_ms is raw milliseconds (wall-clock medians as measured; the model file predates "
                "normalised labels)")
    kinds = ", ".join(f"{k}: {v} row(s)" for k, v in sorted(counts.items()))
    if set(counts) == {"raw"}:
        return f"latency_ms is raw milliseconds (wall-clock medians as measured; {kinds})"
    mixed = " and raw" if "raw" in counts else ""
    return (f"latency_ms is normalised{mixed} milliseconds: the host's undisturbed speed, robust to other "
            f"processes (training labels {kinds}; see `workbench schema`, latency_method)")


def training_data(rows, layers=None, *, target: str = "latency_ms", device_class: str | None = None,
                  device_name: str | None = None, aggregate: str = "min", label: str = "auto"):
    """Features, target and identity columns for fitting, from store rows.

    The ``latency_ms`` target reads the ``label`` of :data:`LATENCY_LABELS` (default ``auto``: the
    normalised ``latency_ms_norm`` where a row has it, else ``latency_ms_p50``; rows without either,
    datasets that publish one latency figure such as MLPerf Tiny's median over windows of each window's
    mean, use ``latency_ms_mean``); ``meta["latency_label"]`` says which per row. Rows need ``flops``:
    dataset rows get them from a zoo twin
    (:func:`workbench.costmodels.twins.with_zoo_features`).

    Repeated measurements of one configuration (same model, device, batch size, dtype, strategy)
    become one training row: the measurement with the minimum target for ``aggregate="min"``
    (contention from other processes only ever adds latency; its per-layer breakdown is used) or
    the median for ``"median"``.

    Returns
    -------
    X : pandas DataFrame
        :func:`feature_frame` of the kept rows.
    y : numpy array
        Target values [unit of the target].
    meta : pandas DataFrame
        ``model``, ``model_family``, ``device_name``, ``device_class``, ``measurement_id`` per row.

    Raises
    ------
    UnknownNameError
        Unknown target or device class.
    ParameterError
        No rows match (the message lists what the store holds).
    """
    col = target_column(target)
    df = as_polars(rows)
    if target == "latency_ms" and col in df.columns:
        df = latency_label(df, label)
    if device_class is not None:
        if device_class not in DEVICE_CLASSES:
            raise UnknownNameError("device class", device_class, DEVICE_CLASSES)
        df = df.filter(pl.col("device_class") == device_class)
    if device_name is not None:
        df = df.filter(pl.col("device_name") == device_name)
    df = df.filter(pl.col(col).is_not_null() & pl.col("flops").is_not_null())
    if target == "energy_j":
        df = df.filter(pl.col("energy_scope") == "inference")
    if df.height == 0:
        have = as_polars(rows).group_by("device_class").len().sort("device_class").rows()
        raise ParameterError(
            f"no rows with {col!r} for device_class={device_class!r}, device_name={device_name!r}; "
            f"the rows hold (device_class, count) {have}. Fix: profile or import measurements first."
        )
    if aggregate not in ("min", "median"):
        raise ParameterError(f"aggregate must be 'min' or 'median', got {aggregate!r}.")
    keys = [k for k in _GROUP_KEYS if k in df.columns]
    df = df.with_columns(pl.col(c).fill_null("") for c in keys if df.schema[c] == pl.String)
    if aggregate == "min":  # the least-disturbed run: its row (and per-layer breakdown) represents the group
        rep = df.sort(col, "measurement_id").group_by(keys, maintain_order=True).agg(pl.all().first()).sort(keys)
    else:
        rep = df.sort("measurement_id").group_by(keys, maintain_order=True).agg(
            pl.all().exclude(col).first(), pl.col(col).median()).sort(keys)
    X = feature_frame(rep, layers)
    y = rep[col].cast(pl.Float64).to_numpy()
    meta = rep.select([c for c in ("measurement_id", "model", "model_family", "device_name", "device_class",
                                   "latency_label") if c in rep.columns]).to_pandas()
    return X, y, meta


def training_layers(rows, layers, *, aggregate: str = "min"):
    """The per-layer table to fit on: each layer's latency over the repeats of its configuration.

    :func:`training_data` makes the repeated measurements of one configuration (same model,
    device, batch size, dtype, strategy) one training row. Their per-layer breakdowns are repeats
    too: here every measurement's ``latency_ms`` of a layer (same ``layer_index`` and
    ``layer_type``) becomes the minimum (``aggregate="min"``: contention only ever adds time, the
    rule :func:`training_data` applies to the whole network) or the median over the
    configuration's measurements. Layers of measurements not in ``rows`` are dropped. Nothing in
    the store changes: the new table is returned (polars).

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Measurement rows (``measurement_id`` and the configuration columns).
    layers : polars or pandas DataFrame or None
        Their per-layer table (:data:`workbench.store.LAYER_SCHEMA`); None gives None.
    aggregate : str
        ``"min"`` or ``"median"``, as in :func:`training_data`.
    """
    if layers is None:
        return None
    if aggregate not in ("min", "median"):
        raise ParameterError(f"aggregate must be 'min' or 'median', got {aggregate!r}.")
    df = as_polars(rows)
    lay = as_polars(layers)
    if lay.height == 0 or "latency_ms" not in lay.columns:
        return lay
    keys = [k for k in _GROUP_KEYS if k in df.columns]
    conf = df.select("measurement_id", *keys).with_columns(
        pl.col(c).fill_null("") for c in keys if df.schema[c] == pl.String)
    per = [*keys, "layer_index", "layer_type"]
    lay = lay.join(conf, on="measurement_id", how="inner")
    stat = pl.col("latency_ms").min() if aggregate == "min" else pl.col("latency_ms").median()
    agg = lay.group_by(per).agg(stat.alias("_agg"))
    return (lay.join(agg, on=per, how="left", nulls_equal=True)
            .with_columns(pl.col("_agg").alias("latency_ms")).drop(*keys, "_agg"))


def data_hash(X: pd.DataFrame, y) -> str:
    """SHA-256 of the training data (feature names, values and target), for a model file's metadata."""
    h = hashlib.sha256()
    h.update(json.dumps(list(map(str, X.columns))).encode())
    h.update(np.ascontiguousarray(X.to_numpy(dtype=float)).tobytes())
    h.update(np.ascontiguousarray(np.asarray(y, dtype=float)).tobytes())
    return h.hexdigest()


_ARCH = re.compile(r"[_-]\d+$")


def architecture_of(model_name: str) -> str:
    """Architecture part of a dataset model id: ``resnet18_12`` → ``resnet18`` (nn-Meter ids)."""
    return _ARCH.sub("", model_name)


def zoo_features(names: list, *, batch_size: int = 1, dtype: str = "fp32") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature frame of zoo models computed without timing anything (FLOPs, sizes, per-layer types and shapes).

    ``names`` holds zoo names or model specs with ``name``, ``build()`` and ``example_input()`` (a
    :class:`~workbench.measure.user_module.UserModelSpec`: the user's own model, by its counted features).
    Returns the frame (index: model name) and the per-layer table of the models (``measurement_id``
    = model name; FLOPs and bytes per inference, no latency) for layer-based models and spans.
    """
    from workbench.measure import features as mf  # imports torch
    from workbench.measure import zoo  # imports torch

    if dtype not in DTYPE_BYTES:
        raise UnknownNameError("dtype", dtype, DTYPE_BYTES)
    batch_size = check_int(batch_size, "batch_size")
    rows, layer_rows = [], []
    for item in names:
        spec = item if hasattr(item, "build") else zoo.resolve(item)
        name = spec.name if hasattr(item, "build") else item
        model = spec.build()
        x = spec.example_input(1)
        recs = mf.layer_breakdown(model, x, repeats=1)
        rows.append({"model": name, "flops": float(mf.count_flops(model, x)), "params": mf.count_params(model),
                     "weight_bytes": mf.weight_bytes(model), "activation_bytes": sum(r.output_bytes for r in recs),
                     "batch_size": batch_size, "dtype_bytes": float(DTYPE_BYTES[dtype])})
        layer_rows.append([{"measurement_id": name, "layer_index": r.index, "layer_type": r.type,
                            "flops": r.flops, "params": r.params, "output_bytes": r.output_bytes,
                            **{k: getattr(r, k) for k in LAYER_SHAPE_COLUMNS}}
                           for r in recs])
    X = pd.DataFrame(rows).set_index("model")
    flat = pd.DataFrame([r for lr in layer_rows for r in lr])
    lt = layer_type_features(flat, pd.Series(batch_size, index=X.index))
    X = X.join(lt, how="left").fillna(0.0)
    X.index.name = "model"
    return X, flat


def align_features(X: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """Columns of ``X`` reordered to a model's ``features``; per-layer-type columns it lacks become 0.

    Layer types the model never saw stay in the frame (the additive model prices them with its
    type-independent terms; other models raise FeatureMismatchError naming them).
    """
    out = X.copy()
    for c in features:
        if c not in out.columns and "__" in c:
            out[c] = 0.0
    extra = [c for c in out.columns if c not in features]
    return out[[c for c in features if c in out.columns] + extra]
