"""Projection of measured strategy variants onto other devices through saved cost models.

A variant measured here (a compressed model, an early-exit network at a threshold, a cascade)
carries its counted features (FLOPs, parameters, bytes, per-layer table). :func:`project` feeds
them to cost models fitted elsewhere (``workbench fit ... --out FILE``: on another machine's
store, or on public results with zoo twins, :mod:`workbench.costmodels.twins`) and returns one
schema row per variant and device: same model, strategy, accuracy, params and FLOPs; the device
of the cost model's training data; the predicted latency, energy or memory with
``source = "predicted:<kind>"`` and ``energy_method``/``memory_method = "predicted"``; and the
interval of each prediction in ``config_json["projection"]``. These rows go to the store beside
the measured ones and validate against :mod:`workbench.schema`.

Dynamic variants (early exit, cascades) take a different path per sample. Their rows record
each fixed path's features (``config_json["path_features"]``) and the exit rates measured on the
test split, and the projection is the expectation over paths,
``Σ_k rate_k · ŷ(path_k)`` — the same rule as ``expected_latency_ms_from_paths`` on this CPU. The
bounds of a conformal interval are ``ŷ·e^{±q}``, so the expectation's bounds are ``Σ_k rate_k ·
lower_k`` and ``Σ_k rate_k · upper_k``.

:func:`roofline_bounds` gives, for catalog devices with no measurements at all (phones, Jetson
modules, data-centre GPUs), the roofline *lower bound* ``max(FLOPs / peak, bytes / bandwidth)``
from the catalog's peak figures (Williams, Waterman, Patterson, CACM 52(4), 2009). It is a bound
that real kernels do not reach on models this small, not a prediction of measured latency, and
it is never written to the store.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import polars as pl

from workbench.errors import ParameterError, SchemaError, WorkbenchError
from workbench.store import LAYER_SCHEMA, LAYER_SHAPE_COLUMNS, with_layer_columns

PROJECTED_COLUMNS = {"latency_ms": "latency_ms_p50", "energy_j": "energy_j", "memory_peak_bytes": "memory_peak_bytes"}
"""Cost-model target → the schema column a projected row holds it in (per forward call of
``batch_size`` samples for latency and memory, per inference for energy)."""

COPIED_COLUMNS = ("model", "model_family", "task", "strategy", "scenario", "input_shape", "batch_size", "dtype",
                  "params", "flops", "weight_bytes", "activation_bytes", "accuracy")
"""Columns a projected row copies from the measured variant."""

_BASE = ("flops", "params", "weight_bytes", "activation_bytes")


class ProjectionFeatureError(WorkbenchError, ValueError):
    """A variant lacks a feature the cost model needs."""


# ------------------------------------------------------------------------------------------ cost models
def load_cost_models(cost_models, *, check_versions: bool = True) -> list[tuple[str, object]]:
    """Normalise cost models to ``[(label, SavedCostModel)]``.

    Parameters
    ----------
    cost_models : path, SavedCostModel, list of them, or dict target → path/SavedCostModel
        Model files written by ``workbench fit`` (or :func:`workbench.costmodels.save`). With a
        dict, each model must predict its key (else :class:`~workbench.costmodels.TargetMismatchError`).
    check_versions : bool
        Refuse files written with other numpy/scikit-learn/workbench minor versions.

    Raises
    ------
    CostModelFileError, TargetMismatchError, VersionMismatchError
        From :func:`workbench.costmodels.load`.
    ParameterError
        No cost model given.
    """
    from workbench.costmodels.persistence import SavedCostModel, load

    if isinstance(cost_models, dict):
        items = [(t, m) for t, m in cost_models.items()]
    elif isinstance(cost_models, (list, tuple)):
        items = [(None, m) for m in cost_models]
    else:
        items = [(None, cost_models)]
    if not items:
        raise ParameterError("no cost model given. Fix: pass a model file from `workbench fit ... --out FILE`.")
    out = []
    for target, m in items:
        if isinstance(m, SavedCostModel):
            m.check_target(target)
            out.append(("<in memory>", m))
        elif isinstance(m, (str, os.PathLike)):
            out.append((str(m), load(m, target=target, check_versions=check_versions)))
        else:
            raise ParameterError(f"a cost model must be a model file path or a SavedCostModel, got "
                                 f"{type(m).__name__}. Fix: pass the file written by `workbench fit --out FILE`.")
    return out


def cost_model_device(saved, *, device_name: str | None = None, device_class: str | None = None) -> tuple[str, str]:
    """The device (name, class) a cost model describes: that of its training data.

    ``device_name``: the file's ``device_name``, else its single training device, else
    ``"<class> class (<n> devices)"`` for a model fitted across a device class. Explicit
    arguments override the file.

    Raises
    ------
    ParameterError
        The file names no device class and the device is not in the catalog.
    """
    from workbench.schema import DEVICE_CLASSES

    md = saved.metadata
    devices = list(md.get("devices") or [])
    classes = list(md.get("device_classes") or [])
    cls = device_class or md.get("device_class") or (classes[0] if len(classes) == 1 else None)
    name = device_name or md.get("device_name") or (devices[0] if len(devices) == 1 else None)
    if cls is None and name is not None:
        from workbench.catalog.devices import get_device
        from workbench.errors import UnknownNameError

        try:
            cls = get_device(name).device_class
        except UnknownNameError:
            cls = None
    if cls is None:
        raise ParameterError(
            f"the cost model (kind {md.get('kind')!r}, devices {devices[:5]}) names no device class. "
            "Fix: refit it with `workbench fit --device-class ...`, or pass device_class= (CLI: fit per device class).")
    if cls not in DEVICE_CLASSES:
        from workbench.errors import UnknownNameError

        raise UnknownNameError("device class", cls, DEVICE_CLASSES)
    if name is None:
        name = f"{cls} class ({len(devices)} devices)" if devices else f"{cls} class"
    return name, cls


def _inner(est):
    return getattr(est, "estimator_", est)


def _model_info(est) -> tuple[list[str], list[str], bool, bool]:
    """(column names the model was fitted on, base columns it reads, uses per-layer columns, prices unseen types)."""
    from workbench.costmodels.estimators import (
        FlopsProportionalCostModel,
        LayerAdditiveCostModel,
        LayerwiseCostModel,
        LogLinearCostModel,
        ResidualBoostedCostModel,
        RooflineCostModel,
        TreeCostModel,
    )

    inner = _inner(est)
    names = list(getattr(inner, "feature_names_in_", []))
    if isinstance(inner, FlopsProportionalCostModel):
        return names, ["flops"], False, False
    if isinstance(inner, RooflineCostModel):
        need = ["flops", "weight_bytes", "activation_bytes"]
        need += [n for n in ("peak_flops_per_s", "memory_bandwidth_bytes_per_s") if getattr(inner, n) is None]
        return names, need, False, False
    if isinstance(inner, (LogLinearCostModel, TreeCostModel)):
        used = list(inner.features) if inner.features is not None else names
        return names, [c for c in used if "__" not in c], any("__" in c for c in used), False
    if isinstance(inner, LayerwiseCostModel):
        return names, [], True, True
    if isinstance(inner, (LayerAdditiveCostModel, ResidualBoostedCostModel)):
        base = [c for c in names if "__" not in c] if isinstance(inner, ResidualBoostedCostModel) else []
        return names, base, True, True
    return names, [c for c in names if "__" not in c], any("__" in c for c in names), False


# ------------------------------------------------------------------------------------------ features
def _config(text) -> dict:
    if not text:
        return {}
    try:
        c = json.loads(text)
    except ValueError:
        return {}
    return c if isinstance(c, dict) else {}


def _is_dynamic(cfg: dict) -> bool:
    return "exit_rates" in cfg and "cumulative_flops" in cfg


_LAYER_COLS = {c: t for c, t in LAYER_SCHEMA.items() if c != "layer_name"}
"""The per-layer columns a priced unit carries (the store's, less the layer name)."""


def _units(rows: pl.DataFrame, layers) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[str, list[str], list[float]]]]:
    """Feature frame (NaN where a row lacks a base feature) of every unit to price, its per-layer
    table, and per variant ``(measurement_id, unit ids, weights)``: a static row is one unit of
    weight 1, a dynamic row one unit per path weighted by its exit rate."""
    from workbench.costmodels.features import DTYPE_BYTES, feature_frame

    unit_rows, unit_layers, plan = [], [], []
    lay = None
    if layers is not None:
        lay = layers if isinstance(layers, pl.DataFrame) else pl.from_pandas(layers)
    static_ids = []
    for r in rows.iter_rows(named=True):
        cfg = _config(r.get("config_json"))
        mid = r["measurement_id"]
        if not _is_dynamic(cfg):
            unit_rows.append({"measurement_id": mid, **{c: r.get(c) for c in _BASE},
                              "batch_size": r.get("batch_size") or 1, "dtype": r.get("dtype")})
            static_ids.append(mid)
            plan.append((mid, [mid], [1.0]))
            continue
        paths = cfg.get("path_features")
        if not paths:
            raise ProjectionFeatureError(
                f"variant {r['model']!r} / {r['strategy']!r} (measurement {mid}) is a dynamic model whose row has no "
                "per-path features (config_json['path_features']): it was measured by an older workbench. "
                "Fix: re-run it (`workbench cascade ...`) so that each exit path's features are recorded.")
        rates = [float(v) for v in cfg["exit_rates"]]
        if len(rates) != len(paths):
            raise SchemaError(f"measurement {mid}: {len(rates)} exit rates but {len(paths)} path feature sets.")
        ids = []
        for k, p in enumerate(paths):
            uid = f"{mid}#path{k}"
            ids.append(uid)
            unit_rows.append({"measurement_id": uid, **{c: p.get(c) for c in _BASE}, "batch_size": 1,
                              "dtype": r.get("dtype")})
            # [type, flops, params, output_bytes, *shapes]; rows from before shapes were recorded have 4
            unit_layers += [{"measurement_id": uid, "layer_index": i, "layer_type": t, "flops": float(f),
                             "params": int(pa), "output_bytes": int(ob), "latency_ms": None,
                             **dict(zip(LAYER_SHAPE_COLUMNS, shape))}
                            for i, (t, f, pa, ob, *shape) in enumerate(p.get("layers", []))]
        plan.append((mid, ids, rates))
    units = pl.DataFrame(unit_rows, schema={"measurement_id": pl.String, "flops": pl.Float64, "params": pl.Float64,
                                            "weight_bytes": pl.Float64, "activation_bytes": pl.Float64,
                                            "batch_size": pl.Int64, "dtype": pl.String})
    null_mask = units.select([pl.col(c).is_null() for c in _BASE]).to_pandas()
    filled = units.with_columns([pl.col(c).fill_null(0.0) for c in _BASE])
    unknown = sorted(set(filled["dtype"].drop_nulls().to_list()) - set(DTYPE_BYTES) - {""})
    if unknown:
        from workbench.errors import UnknownNameError

        raise UnknownNameError("dtype", unknown[0], DTYPE_BYTES)
    table_parts = []
    if lay is not None and lay.height and static_ids:
        table_parts.append(with_layer_columns(lay).filter(pl.col("measurement_id").is_in(static_ids))
                           .select([pl.col(c).cast(t) for c, t in _LAYER_COLS.items()]))
    if unit_layers:
        table_parts.append(pl.DataFrame(unit_layers, schema=_LAYER_COLS))
    table = pl.concat([t.cast(table_parts[0].schema) for t in table_parts]) if table_parts else None
    X = feature_frame(filled, table if table is not None and table.height else None)
    for i, c in enumerate(_BASE):
        X.loc[null_mask.iloc[:, i].to_numpy(), c] = np.nan
    layer_pdf = table.to_pandas() if table is not None else pd.DataFrame(columns=list(_LAYER_COLS))
    return X, layer_pdf, plan


def _design(X: pd.DataFrame, layer_pdf: pd.DataFrame, est, label: str, who: dict[str, str]) -> pd.DataFrame:
    """The columns ``est`` was fitted on, from the units' features; clear errors for what is missing."""
    names, needed, uses_layers, prices_unseen = _model_info(est)
    lacking = {}
    for c in needed:
        if c not in X.columns:
            lacking[c] = list(X.index)
        elif X[c].isna().any():
            lacking[c] = list(X.index[X[c].isna()])
    if lacking:
        c, ids = next(iter(lacking.items()))
        variants = sorted({who[i.split("#")[0]] for i in ids})[:3]
        have = "flops, params, weight_bytes, activation_bytes, batch_size, dtype_bytes and per-layer-type columns"
        raise ProjectionFeatureError(
            f"cost model {label} ({type(_inner(est)).__name__}) needs feature(s) {sorted(lacking)}, which variant(s) "
            f"{variants} lack (feature {c!r}). A projection computes {have} from the variant rows. Fix: "
            + ("re-measure the variants with this workbench (the profiler records every base feature), or "
               if any(k in _BASE for k in lacking) else "")
            + "refit the cost model on features a variant has, e.g. `workbench fit --kind flops` or "
              "`--kind loglinear-flops`.")
    if uses_layers:
        have_layers = set(layer_pdf["measurement_id"]) if len(layer_pdf) else set()
        bare = [i for i in X.index if i not in have_layers]
        if bare:
            variants = sorted({who[i.split("#")[0]] for i in bare})[:3]
            raise ProjectionFeatureError(
                f"cost model {label} ({type(_inner(est)).__name__}) prices per-layer features, but variant(s) "
                f"{variants} have no per-layer rows. Fix: pass layers= (StrategyResult.layers, or "
                "Store.read_layers()) with the rows, or use a cost model on base features "
                "(--kind flops, loglinear-flops).")
    if prices_unseen:
        from workbench.costmodels.features import align_features

        D = align_features(X, names)
        return D.drop(columns=[c for c in D.columns if "__" not in c and c not in names])
    unseen = [c for c in X.columns if "__" in c and c not in names and bool((X[c] != 0).any())]
    if uses_layers and unseen:
        types = sorted({c.split("__", 1)[1] for c in unseen})
        raise ProjectionFeatureError(
            f"cost model {label} ({type(_inner(est)).__name__}) was fitted on networks without layer type(s) "
            f"{types[:6]} that the variants execute, and cannot price them. Fix: use a kind that prices unseen "
            "layer types (additive) or one on base features (flops, loglinear, loglinear-flops).")
    D = X.reindex(columns=names, fill_value=0.0)
    return D.fillna(0.0)  # only columns the model does not read can still be NaN here


def _predict_units(saved, X, layer_pdf, label, who) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    from workbench.costmodels.factory import needs_layers

    D = _design(X, layer_pdf, saved.estimator, label, who)
    kw = {"layers": layer_pdf} if needs_layers(saved.estimator) else {}
    pred = np.asarray(saved.predict(D, **kw), dtype=float)
    if hasattr(saved.estimator, "predict_interval"):
        lo, hi = saved.predict_interval(D, **kw)
        return pred, np.asarray(lo, float), np.asarray(hi, float)
    return pred, None, None


# ------------------------------------------------------------------------------------------ projection
def _finite(v):
    return float(v) if v is not None and np.isfinite(v) else None


def project(rows, layers=None, cost_models=None, *, batch_sizes="trained", device_name: str | None = None,
            device_class: str | None = None, check_versions: bool = True, run_id: str | None = None) -> pl.DataFrame:
    """Predicted cost of measured variants on the devices of saved cost models, as schema rows.

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Measured variant rows (``StrategyResult.rows``, or ``Store.read()`` filtered to them). Rows
        whose ``source`` starts with ``predicted:`` are skipped (a projection is not re-projected).
    layers : DataFrame, optional
        Their per-layer table (``StrategyResult.layers``, ``Store.read_layers()``); needed by
        cost models on per-layer features.
    cost_models : path, SavedCostModel, list of them, or dict target → model
        See :func:`load_cost_models`. Models of the same device (name and class) are combined into
        one row per variant (e.g. a latency and an energy model of one board); two models of one
        device for the same target are an error.
    batch_sizes : "trained", None or list of int
        Variants to project by batch size: ``"trained"`` keeps the batch sizes every model of the
        device was fitted on (all when a file does not record them; MLPerf Tiny has batch 1 only),
        None keeps all, a list keeps those.
    device_name, device_class : str, optional
        Override the device the files name (:func:`cost_model_device`).
    check_versions : bool
        See :func:`workbench.costmodels.load`.
    run_id : str, optional
        Run id of the projected rows (default: a new one).

    Returns
    -------
    polars.DataFrame
        Validated schema rows, one per variant × device: the variant's identity, accuracy, params,
        FLOPs and bytes; ``device_name``/``device_class`` of the cost model; the predictions in
        ``latency_ms_p50`` [ms per call], ``energy_j`` [J per inference] (``energy_method =
        "predicted"``, ``energy_scope = "inference"``), ``memory_peak_bytes`` [B]
        (``memory_method = "predicted"``); ``source = "predicted:<kind>"``; ``config_json``
        with ``projection`` (per target: kind, file, training data hash and devices, interval
        coverage, ``lower``/``upper`` bounds, null where unbounded), ``projected_from`` (the
        measured row) and ``variant_config``.

    Raises
    ------
    ParameterError
        No rows to project, no cost model, two models of one device for one target.
    ProjectionFeatureError
        A variant lacks a feature a model needs (the message names it and the fix).
    TargetMismatchError, CostModelFileError, VersionMismatchError
        Bad model files (see :func:`load_cost_models`).
    """
    from workbench import schema
    from workbench.costmodels.persistence import library_versions
    from workbench.store import new_run_id

    if cost_models is None:
        raise ParameterError("no cost model given. Fix: pass cost_models= (a file from `workbench fit --out FILE`).")
    models = load_cost_models(cost_models, check_versions=check_versions)
    df = rows if isinstance(rows, pl.DataFrame) else pl.from_pandas(rows) if isinstance(rows, pd.DataFrame) else None
    if df is None:
        raise SchemaError(f"expected a polars or pandas DataFrame of measurement rows, got {type(rows).__name__}.")
    df = schema.validate(df).filter(~pl.col("source").str.starts_with("predicted:"))
    if df.height == 0:
        raise ParameterError("no measured rows to project (empty, or only predicted rows). "
                             "Fix: pass the rows of a strategy run (StrategyResult.rows).")
    groups: dict[tuple[str, str], dict[str, tuple[str, object]]] = {}
    for label, saved in models:
        dev = cost_model_device(saved, device_name=device_name, device_class=device_class)
        g = groups.setdefault(dev, {})
        if saved.target in g:
            raise ParameterError(f"two cost models predict {saved.target!r} on {dev[0]!r} ({g[saved.target][0]} and "
                                 f"{label}). Fix: pass one model per target and device.")
        g[saved.target] = (label, saved)
    run_id = run_id or new_run_id()
    now = datetime.now(timezone.utc)
    versions = json.dumps(library_versions(), sort_keys=True)
    out: list[dict] = []
    who = {r["measurement_id"]: f"{r['model']}/{r['strategy']}" for r in df.iter_rows(named=True)}
    for (dname, dclass), by_target in groups.items():
        keep = df
        if batch_sizes == "trained":
            trained = [set(s.metadata.get("batch_sizes") or []) for _, s in by_target.values()]
            trained = [t for t in trained if t]
            if trained:
                allowed = set.intersection(*trained)
                keep = df.filter(pl.col("batch_size").is_in(sorted(allowed)))
                if keep.height == 0:
                    raise ParameterError(
                        f"no variant has a batch size the cost model(s) of {dname!r} were fitted on "
                        f"({sorted(allowed)}); "
                        f"the variants have {sorted(set(df['batch_size'].to_list()))}. Fix: measure at batch size "
                        f"{min(allowed)} (`--batch-size {min(allowed)}`), or pass batch_sizes=None to extrapolate.")
        elif batch_sizes is not None:
            keep = df.filter(pl.col("batch_size").is_in([int(b) for b in batch_sizes]))
            if keep.height == 0:
                raise ParameterError(f"no variant has batch size in {list(batch_sizes)}.")
        X, layer_pdf, plan = _units(keep, layers)
        per_target = {}
        for target, (label, saved) in by_target.items():
            pred, lo, hi = _predict_units(saved, X, layer_pdf, label, who)
            idx = {u: i for i, u in enumerate(X.index)}
            agg = []
            for mid, ids, w in plan:
                wv = np.asarray(w, float)
                sel = np.asarray([idx[u] for u in ids])[wv > 0]  # paths no sample takes add nothing (0 · ∞ too)
                wv = wv[wv > 0]
                agg.append((float(wv @ pred[sel]),
                            float(wv @ lo[sel]) if lo is not None else None,
                            float(wv @ hi[sel]) if hi is not None else None,
                            [float(v) for v in pred[[idx[u] for u in ids]]] if len(ids) > 1 else None))
            per_target[target] = (label, saved, agg)
        kinds = []
        for t in PROJECTED_COLUMNS:
            if t in per_target:
                s = per_target[t][1]
                k = s.metadata.get("kind") or type(_inner(s.estimator)).__name__
                if k not in kinds:
                    kinds.append(k)
        source = "predicted:" + "+".join(kinds)
        for i, r in enumerate(keep.iter_rows(named=True)):
            cfg = _config(r.get("config_json"))
            rec = {c: r.get(c) for c in COPIED_COLUMNS}
            rec.update(measurement_id=uuid.uuid4().hex, run_id=run_id, timestamp_utc=now, source=source,
                       device_name=dname, device_class=dclass, energy_method="none", software_versions=versions)
            proj = {}
            for target, (label, saved, agg) in per_target.items():
                value, lo, hi, paths = agg[i]
                col = PROJECTED_COLUMNS[target]
                if target == "memory_peak_bytes":
                    rec[col], rec["memory_method"] = int(round(value)), "predicted"
                else:
                    rec[col] = value
                if target == "energy_j":
                    rec["energy_method"], rec["energy_scope"] = "predicted", "inference"
                md = saved.metadata
                entry = {"kind": md.get("kind") or type(_inner(saved.estimator)).__name__, "cost_model": label,
                         "column": col, "training_data_sha256": md.get("training_data_sha256"),
                         "n_train": md.get("n_train"), "trained_on_devices": md.get("devices"),
                         "trained_on_sources": md.get("sources"), "trained_on_models": md.get("models"),
                         "features_from_zoo_twins": bool(md.get("zoo_twins") or md.get("features_from_zoo_twins")),
                         "interval": md.get("interval")}
                if lo is not None:
                    entry.update(lower=_finite(lo), upper=_finite(hi),
                                 interval_unbounded=not (np.isfinite(lo) and np.isfinite(hi) and lo > 0))
                if paths is not None:
                    entry["path_predictions"] = paths
                proj[target] = entry
            variant_cfg = {k: v for k, v in cfg.items() if k != "path_features"}
            rec["config_json"] = json.dumps({
                "projection": proj,
                "projected_from": {"measurement_id": r["measurement_id"], "run_id": r["run_id"],
                                   "device_name": r["device_name"], "device_class": r["device_class"],
                                   "source": r["source"]},
                "accuracy_from": "measured with the variant on projected_from's device",
                "expectation_over_paths": _is_dynamic(cfg),
                "variant_config": variant_cfg,
            }, sort_keys=True, default=float)
            rec["notes"] = (f"predicted, not measured: {source[len('predicted:'):]} cost model(s) fitted on "
                            f"{dname} ({dclass})")
            out.append(rec)
    return schema.from_records(out)


# ------------------------------------------------------------------------------------------ roofline
def roofline_bounds(rows, devices, *, layers=None) -> pd.DataFrame:
    """Roofline lower bound of each variant's latency on catalog devices (not a prediction).

    ``bound_ms = max(flops · batch / peak, (weight_bytes + activation_bytes · batch) / bandwidth)``
    per forward call, with the peak FLOP/s for the variant's ``dtype`` and the memory bandwidth
    from :mod:`workbench.catalog.devices` (cited there). Dynamic variants: the exit-rate weighted
    bound of their paths. Real latency is higher (kernel launch and framework overheads dominate
    models this small); use it to rank devices by what their hardware allows, never as a latency.

    Parameters
    ----------
    rows : DataFrame
        Measured variant rows.
    devices : list of str
        Catalog device names or aliases (``workbench devices``).
    layers : DataFrame, optional
        Unused by the bound; accepted for symmetry with :func:`project`.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``strategy``, ``dtype``, ``batch_size``, ``device_name``, ``device_class``,
        ``peak_flops_per_s`` [FLOP/s], ``memory_bandwidth_bytes_per_s`` [B/s], ``compute_ms``,
        ``memory_ms``, ``roofline_bound_ms`` [ms per call], ``limited_by``, ``kind``
        (``"roofline lower bound (catalog peaks)"``), ``note`` (why a bound is missing).

    Raises
    ------
    UnknownNameError
        A device not in the catalog.
    """
    from workbench import schema
    from workbench.catalog.devices import get_device

    if isinstance(devices, str):
        devices = [devices]
    devs = [get_device(d) for d in devices]
    df = rows if isinstance(rows, pl.DataFrame) else pl.from_pandas(rows)
    df = schema.validate(df).filter(~pl.col("source").str.starts_with("predicted:"))
    X, _, plan = _units(df, None)
    out = []
    for dev in devs:
        bw = dev.memory_bandwidth_bytes_per_s
        for (mid, ids, w), r in zip(plan, df.iter_rows(named=True)):
            dtype = r.get("dtype") or "fp32"
            peak = dev.peak_flops_per_s.get(dtype)
            note = None
            if peak is None:
                note = f"no {dtype} peak in the catalog (it has {sorted(dev.peak_flops_per_s)})"
            elif bw is None:
                note = "no memory bandwidth in the catalog"
            comp = mem = bound = np.nan
            if note is None:
                sub = X.loc[ids]
                b = sub["batch_size"].to_numpy(float) if not _is_dynamic(_config(r.get("config_json"))) else 1.0
                c_ms = sub["flops"].to_numpy(float) * b / peak * 1e3
                m_ms = (sub["weight_bytes"].to_numpy(float) + sub["activation_bytes"].to_numpy(float) * b) / bw * 1e3
                wv = np.asarray(w, float)
                comp, mem, bound = float(wv @ c_ms), float(wv @ m_ms), float(wv @ np.maximum(c_ms, m_ms))
            out.append({"model": r["model"], "strategy": r["strategy"], "dtype": dtype, "batch_size": r["batch_size"],
                        "device_name": dev.name, "device_class": dev.device_class, "peak_flops_per_s": peak,
                        "memory_bandwidth_bytes_per_s": bw, "compute_ms": comp, "memory_ms": mem,
                        "roofline_bound_ms": bound,
                        "limited_by": None if note else ("compute" if comp >= mem else "memory"),
                        "kind": "roofline lower bound (catalog peaks)", "note": note})
    return pd.DataFrame(out)
