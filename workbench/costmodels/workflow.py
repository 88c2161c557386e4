"""Orchestration of the cost models: fit from a store, predict zoo models, evaluate family-out.

These are the functions behind ``workbench fit``, ``workbench predict`` and ``workbench evaluate``.
"""

from __future__ import annotations

import pandas as pd
import polars as pl

from workbench.costmodels.estimators import (
    FlopsProportionalCostModel,
    LayerAdditiveCostModel,
    LayerwiseCostModel,
    LogLinearCostModel,
    ResidualBoostedCostModel,
    RooflineCostModel,
    TreeCostModel,
    operator_fit_params,
)
from workbench.costmodels.features import BASE_FEATURES, data_hash, training_data, training_layers
from workbench.costmodels.intervals import ConformalCostModel
from workbench.costmodels.kinds import DEFAULT_KIND, KINDS, default_kind  # noqa: F401  (re-exported)
from workbench.costmodels.persistence import SavedCostModel, save
from workbench.costmodels.validation import leave_one_group_out, summarize
from workbench.errors import ParameterError, UnknownNameError
from workbench.store import LAYER_SCHEMA, LAYER_SHAPE_COLUMNS, with_layer_columns


def make_estimator(kind: str = DEFAULT_KIND, *, interval: float | None = 0.9, random_state: int = 0):
    """A fresh (unfitted) cost model of ``kind``, wrapped for ``interval`` prediction intervals.

    Parameters
    ----------
    kind : str
        A key of :data:`KINDS`.
    interval : float or None
        Nominal coverage of the conformal intervals (0.9 → 90 %); None for point predictions only.
    """
    if kind not in KINDS:
        raise UnknownNameError("cost-model kind", kind, KINDS)
    base_cols = [c for c in BASE_FEATURES if c not in ("batch_size", "dtype_bytes")]
    est = {
        "flops": lambda: FlopsProportionalCostModel(),
        "roofline": lambda: RooflineCostModel(),
        "loglinear": lambda: LogLinearCostModel(features=base_cols),
        "loglinear-flops": lambda: LogLinearCostModel(features=["flops"]),
        "loglinear-layers": lambda: LogLinearCostModel(alpha=1.0),
        "gbm": lambda: TreeCostModel("gbm", random_state=random_state),
        "rf": lambda: TreeCostModel("rf", n_estimators=200, max_depth=None, random_state=random_state),
        "additive": lambda: LayerAdditiveCostModel(),
        "additive+gbm": lambda: ResidualBoostedCostModel(LayerAdditiveCostModel(), random_state=random_state),
        "layerwise": lambda: LayerwiseCostModel(random_state=random_state),
    }[kind]()
    if interval is None:
        return est
    if not (0 < interval < 1):
        raise ParameterError(f"interval must be a coverage in (0, 1), e.g. 0.9; got {interval!r}.")
    return ConformalCostModel(est, alpha=round(1 - interval, 10))


def needs_layers(est) -> bool:
    """Whether ``fit``/``predict`` of ``est`` need the per-layer table (``layers=``)."""
    inner = getattr(est, "estimator", None)
    return isinstance(est, LayerwiseCostModel) or (inner is not None and needs_layers(inner))


def fit_from_store(store, *, target: str = "latency_ms", device_class: str | None = None,
                   device_name: str | None = None, kind: str | None = None, interval: float | None = 0.9,
                   family_out_calibration: bool = True, zoo_twins: dict[str, str] | None = None) -> SavedCostModel:
    """Fit a cost model on the measurements of a store.

    Parameters
    ----------
    store : workbench.store.Store or path
    target : str
        ``latency_ms``, ``energy_j`` or ``memory_peak_bytes``.
    device_class, device_name : str, optional
        Which rows to fit on.
    kind : str, optional
        See :data:`KINDS`; default :func:`~workbench.costmodels.kinds.default_kind` of the target.
    interval : float or None
        Conformal interval coverage (calibrated family-out when ``family_out_calibration``).
    zoo_twins : dict, optional
        Dataset model name → zoo model: imported rows without FLOPs get their zoo twin's features
        first (:func:`workbench.costmodels.twins.with_zoo_features`), e.g. MLPerf Tiny rows.

    Returns
    -------
    SavedCostModel
        The fitted estimator with metadata (target, device class, features, training-data hash).
    """
    from workbench.store import Store

    store = Store(store) if not isinstance(store, Store) else store
    rows, layers = read_training_tables(store)
    saved = fit_from_rows(rows, layers, target=target, device_class=device_class,
                          device_name=device_name, kind=kind, interval=interval,
                          family_out_calibration=family_out_calibration, zoo_twins=zoo_twins)
    saved.metadata["store"] = str(store.path)
    return saved


def fit_from_rows(rows, layers=None, *, target: str = "latency_ms", device_class: str | None = None,
                  device_name: str | None = None, kind: str | None = None, interval: float | None = 0.9,
                  family_out_calibration: bool = True, zoo_twins: dict[str, str] | None = None,
                  aggregate: str = "min") -> SavedCostModel:
    """Fit a cost model on measurement rows (a store's, or a dataset's with twin features).

    Parameters as :func:`fit_from_store`; ``rows`` and ``layers`` are the measurement rows and
    their per-layer table, ``aggregate`` as in :func:`~workbench.costmodels.features.training_data`.
    The metadata records the training rows' devices, batch sizes and sources, so that a projection
    (:mod:`workbench.strategies.projection`) can say which device its rows describe.
    """
    import polars as pl

    if zoo_twins:
        from workbench.costmodels.twins import with_zoo_features

        rows, twin_layers = with_zoo_features(rows, zoo_twins)
        if twin_layers.height:
            lay = layers if layers is None or isinstance(layers, pl.DataFrame) else pl.from_pandas(layers)
            layers = twin_layers if lay is None or lay.height == 0 else pl.concat(
                [lay, twin_layers.select(lay.columns).cast(lay.schema)], how="vertical")
    X, y, meta = training_data(rows, layers, target=target, device_class=device_class, device_name=device_name,
                               aggregate=aggregate)
    layers = training_layers(rows, layers, aggregate=aggregate)
    kind = kind or default_kind(target)
    est = make_estimator(kind, interval=interval)
    if kind == "layerwise" and target != "latency_ms":
        raise ParameterError(f"kind 'layerwise' predicts latency only (the per-layer table has no {target}). "
                             "Fix: choose another --kind, e.g. additive or loglinear-layers.")
    kw = {"layers": layers} if needs_layers(est) else {}
    groups = meta["model_family"].fillna("").to_numpy() if "model_family" in meta else None
    if isinstance(est, ConformalCostModel) and family_out_calibration and groups is not None \
            and len(set(groups)) >= 2:
        est.fit(X, y, groups=groups, **kw)
    else:
        est.fit(X, y, **operator_fit_params(est, groups), **kw)
    kept = meta["measurement_id"].tolist() if "measurement_id" in meta else []
    src = rows if isinstance(rows, pl.DataFrame) else pl.from_pandas(rows)
    used = src.filter(pl.col("measurement_id").is_in(kept)) if kept else src.head(0)
    md = {"device_class": device_class, "device_name": device_name, "kind": kind, "interval": interval,
          "training_data_sha256": data_hash(X, y), "n_train": int(len(y)),
          "families": sorted(set(meta.get("model_family", pd.Series(dtype=str)).dropna())),
          "devices": sorted(set(meta.get("device_name", pd.Series(dtype=str)).dropna())),
          "device_classes": sorted(set(meta.get("device_class", pd.Series(dtype=str)).dropna())),
          "batch_sizes": sorted({int(b) for b in X["batch_size"]}) if "batch_size" in X else [],
          "sources": sorted(set(used["source"].drop_nulls().to_list())) if used.height else [],
          "models": sorted(set(meta.get("model", pd.Series(dtype=str)).dropna())),
          "zoo_twins": dict(zoo_twins) if zoo_twins else None, "aggregate": aggregate,
          "features_from_zoo_twins": bool(used.height) and bool(
              used["config_json"].fill_null("").str.contains('"zoo_twin"', literal=True).any())}
    return SavedCostModel(est, {"target": target, "features": list(X.columns), **md})


def save_fitted(saved: SavedCostModel, path) -> None:
    """Write a :class:`SavedCostModel` from :func:`fit_from_store` to ``path``."""
    meta = {k: v for k, v in saved.metadata.items() if k not in ("target", "features")}
    save(saved.estimator, path, target=saved.target, metadata=meta)


def zoo_features(names: list[str], *, batch_size: int = 1, dtype: str = "fp32") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature frame of zoo models computed without timing anything (FLOPs, sizes, per-layer types and shapes).

    Returns the frame (index: model name) and the per-layer table of the models (``measurement_id``
    = model name; FLOPs and bytes per inference, no latency) for layer-based models and spans.
    """
    from workbench.costmodels.features import DTYPE_BYTES, layer_type_features
    from workbench.measure import features as mf
    from workbench.measure import zoo

    if dtype not in DTYPE_BYTES:
        raise UnknownNameError("dtype", dtype, DTYPE_BYTES)
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ParameterError(f"batch size must be a positive integer, got {batch_size!r}.")
    rows, layer_rows = [], []
    for name in names:
        spec = zoo.resolve(name)
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


def read_training_tables(store) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A store's rows and per-layer table for fitting: zoo runs stored before the profiler recorded
    layer shapes get them from their definitions (:func:`with_layer_shapes`), so one older run does
    not make a whole store fit without shapes. The store itself is not changed."""
    rows, layers = store.read(), store.read_layers()
    if layers.height and layers["input_bytes"].null_count():
        layers = with_layer_shapes(rows, layers)
    return rows, layers


def with_layer_shapes(rows, layers) -> pl.DataFrame:
    """Fill missing per-layer shapes (input bytes, kernel, stride, groups, channels) of zoo models.

    Per-layer tables written before the profiler recorded shapes have them null. Shapes are static
    (they follow from the model definition), so for rows whose ``model`` is a zoo model they are
    computed from the definition and joined on layer index and type, where the stored breakdown has
    as many layers as the definition. Other rows (dataset models, compressed variants whose layers
    differ) are left as they are. Nothing in the store is changed: the filled table is returned.

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Measurement rows with ``measurement_id`` and ``model``.
    layers : polars or pandas DataFrame
        Their per-layer table (:data:`workbench.store.LAYER_SCHEMA`).
    """
    from workbench.errors import WorkbenchError
    from workbench.measure import zoo
    shape_cols = list(LAYER_SHAPE_COLUMNS)
    lay = layers if isinstance(layers, pl.DataFrame) else pl.from_pandas(layers)
    lay = with_layer_columns(lay)
    lacking = lay.filter(pl.col("input_bytes").is_null())["measurement_id"].unique().to_list()
    r = rows if isinstance(rows, pl.DataFrame) else pl.from_pandas(rows)
    models = dict(r.filter(pl.col("measurement_id").is_in(lacking)).select("measurement_id", "model").iter_rows())

    def is_zoo(name) -> bool:
        try:
            return bool(name) and zoo.resolve(name) is not None
        except WorkbenchError:
            return False

    known = sorted({m for m in models.values() if is_zoo(m)})
    if not known:
        return lay.select(list(LAYER_SCHEMA))
    _, shapes = zoo_features(known)
    static = (pl.from_pandas(shapes[["measurement_id", "layer_index", "layer_type", *shape_cols]])
              .rename({"measurement_id": "model"})
              .with_columns(pl.col(c).cast(LAYER_SCHEMA[c]) for c in ["layer_index", *shape_cols]))
    counts = dict(static.group_by("model").len().iter_rows())
    stored = dict(lay.filter(pl.col("measurement_id").is_in(list(models))).group_by("measurement_id").len().iter_rows())
    same = [(mid, m) for mid, m in models.items() if m in counts and stored.get(mid) == counts[m]]
    ids = pl.DataFrame(same, schema={"measurement_id": pl.String, "model": pl.String}, orient="row")
    fill = ids.join(static, on="model").drop("model")
    out = lay.join(fill, on=["measurement_id", "layer_index", "layer_type"], how="left", suffix="__zoo")
    out = out.with_columns(pl.coalesce(c, f"{c}__zoo").alias(c) for c in shape_cols)
    return out.select(list(LAYER_SCHEMA))


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


def evaluate_family_out(X: pd.DataFrame, y, meta: pd.DataFrame, kinds=("flops", "loglinear", "additive"),
                        interval: float | None = 0.9, layers=None,
                        train_only=None, n_jobs: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-family-out predictions and metrics of several kinds of cost model.

    ``layers`` (the per-layer table) is needed for the ``layerwise`` kind. ``train_only`` marks
    rows that are in every training set and never evaluated; by default the operator-benchmark
    rows (``model_family`` :data:`workbench.schema.OPERATOR_FAMILY`, :mod:`workbench.measure.kernels`).
    ``n_jobs`` fits the held-out families in parallel (:func:`leave_one_group_out`; same result).

    Returns
    -------
    (predictions, metrics)
        ``predictions``: one row per (kind, measurement) with y_true, y_pred (and bounds);
        ``metrics``: per kind overall (``device_class == model_family == "all"``), per device
        class (when there are several) and per family.
    """
    from workbench.schema import OPERATOR_FAMILY

    groups = meta["model_family"].fillna("?").to_numpy()
    if train_only is None and 0 < (groups == OPERATOR_FAMILY).sum() < len(groups):
        train_only = groups == OPERATOR_FAMILY
    preds, tables = [], []
    for kind in kinds:
        est = make_estimator(kind, interval=interval)
        kw = {"layers": layers} if needs_layers(est) else None
        p = leave_one_group_out(est, X, y, groups, meta=meta, fit_params=kw, train_only=train_only, n_jobs=n_jobs)
        p = p.assign(kind=kind)
        preds.append(p)
        tables.append(summarize(p).assign(kind=kind, device_class="all", model_family="all"))
        if "device_class" in p and p["device_class"].nunique() > 1:
            tables.append(summarize(p, by="device_class").assign(kind=kind, model_family="all"))
        tables.append(summarize(p, by="model_family").assign(kind=kind, device_class="all"))
    m = pd.concat(tables, ignore_index=True)
    key = ["kind", "device_class", "model_family"]
    cols = key + [c for c in m.columns if c not in key]
    return pd.concat(preds, ignore_index=True), m[cols]
