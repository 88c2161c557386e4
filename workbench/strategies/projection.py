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

The variants' units (one per static row, one per path of a dynamic row) come from
:mod:`.variant_features`; catalog devices with no measurements at all get roofline lower bounds
instead (:mod:`.roofline`).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import numpy as np
import polars as pl

from workbench import schema
from workbench.costmodels.persistence import library_versions
from workbench.errors import ParameterError
from workbench.store import new_run_id
from workbench.strategies.pricing import cost_model_device, cost_model_kind, load_cost_models, predict_units
from workbench.strategies.variant_features import (
    Plan,
    ProjectionFeatureError,
    is_dynamic,
    variant_config,
    variant_units,
)

PROJECTED_COLUMNS = {"latency_ms": "latency_ms_p50", "energy_j": "energy_j", "memory_peak_bytes": "memory_peak_bytes"}
"""Cost-model target → the schema column a projected row holds it in (per forward call of
``batch_size`` samples for latency and memory, per inference for energy)."""

COPIED_COLUMNS = ("model", "model_family", "task", "strategy", "scenario", "input_shape", "batch_size", "dtype",
                  "params", "flops", "weight_bytes", "activation_bytes", "accuracy")
"""Columns a projected row copies from the measured variant."""

__all__ = ["COPIED_COLUMNS", "PROJECTED_COLUMNS", "ProjectionFeatureError", "project"]
"""``ProjectionFeatureError`` is defined with the units (:mod:`.variant_features`) and is the error
:func:`project` raises for a missing feature, so it is importable from here too."""


# ------------------------------------------------------------------------------------------ projection steps

def _measured_rows(rows) -> pl.DataFrame:
    """The validated measured rows to project (predicted rows are never re-projected)."""
    df = schema.validate(schema.as_polars(rows)).filter(~pl.col("source").str.starts_with("predicted:"))
    if df.height == 0:
        raise ParameterError("no measured rows to project (empty, or only predicted rows). "
                             "Fix: pass the rows of a strategy run (StrategyResult.rows).")
    return df


def _models_by_device(models, *, device_name: str | None,
                      device_class: str | None) -> dict[tuple[str, str], dict[str, tuple[str, object]]]:
    """Cost models grouped by the device they describe: ``{(name, class): {target: (label, model)}}``."""
    groups: dict[tuple[str, str], dict[str, tuple[str, object]]] = {}
    for label, saved in models:
        dev = cost_model_device(saved, device_name=device_name, device_class=device_class)
        g = groups.setdefault(dev, {})
        if saved.target in g:
            raise ParameterError(f"two cost models predict {saved.target!r} on {dev[0]!r} ({g[saved.target][0]} and "
                                 f"{label}). Fix: pass one model per target and device.")
        g[saved.target] = (label, saved)
    return groups


def _rows_at_batch_sizes(df: pl.DataFrame, by_target: dict, batch_sizes, device_name: str) -> pl.DataFrame:
    """The variants at the batch sizes to project for one device (see :func:`project`'s ``batch_sizes``)."""
    if batch_sizes == "trained":
        trained = [set(s.metadata.get("batch_sizes") or []) for _, s in by_target.values()]
        trained = [t for t in trained if t]
        if not trained:
            return df
        allowed = set.intersection(*trained)
        keep = df.filter(pl.col("batch_size").is_in(sorted(allowed)))
        if keep.height == 0:
            raise ParameterError(
                f"no variant has a batch size the cost model(s) of {device_name!r} were fitted on "
                f"({sorted(allowed)}); "
                f"the variants have {sorted(set(df['batch_size'].to_list()))}. Fix: measure at batch size "
                f"{min(allowed)} (`--batch-size {min(allowed)}`), or pass batch_sizes=None to extrapolate.")
        return keep
    if batch_sizes is None:
        return df
    keep = df.filter(pl.col("batch_size").is_in([int(b) for b in batch_sizes]))
    if keep.height == 0:
        raise ParameterError(f"no variant has batch size in {list(batch_sizes)}.")
    return keep


def _expectations(plan: Plan, unit_ids, pred: np.ndarray, lo: np.ndarray | None, hi: np.ndarray | None) -> list:
    """Per variant: ``(value, lower, upper, per-path predictions or None)``, each the weighted sum over its units."""
    idx = {u: i for i, u in enumerate(unit_ids)}
    out = []
    for _, ids, w in plan:
        wv = np.asarray(w, float)
        sel = np.asarray([idx[u] for u in ids])[wv > 0]  # paths no sample takes add nothing (0 · ∞ too)
        wv = wv[wv > 0]
        out.append((float(wv @ pred[sel]),
                    float(wv @ lo[sel]) if lo is not None else None,
                    float(wv @ hi[sel]) if hi is not None else None,
                    [float(v) for v in pred[[idx[u] for u in ids]]] if len(ids) > 1 else None))
    return out


def _predict_variants(rows: pl.DataFrame, layers, by_target: dict, who: dict[str, str]) -> dict:
    """``{target: (label, model, expectations per variant)}`` for one device's cost models."""
    X, layer_pdf, plan = variant_units(rows, layers)
    out = {}
    for target, (label, saved) in by_target.items():
        pred, lo, hi = predict_units(saved, X, layer_pdf, label, who)
        out[target] = (label, saved, _expectations(plan, X.index, pred, lo, hi))
    return out


def _source(predictions: dict) -> str:
    """``predicted:<kind>+<kind>`` over the targets, in :data:`PROJECTED_COLUMNS` order, without repeats."""
    kinds = []
    for t in PROJECTED_COLUMNS:
        if t in predictions and cost_model_kind(predictions[t][1]) not in kinds:
            kinds.append(cost_model_kind(predictions[t][1]))
    return "predicted:" + "+".join(kinds)


def _projection_entry(label: str, saved, col: str, lo, hi, paths) -> dict:
    """``config_json["projection"][target]``: the cost model's provenance and the prediction's bounds."""
    md = saved.metadata
    entry = {"kind": cost_model_kind(saved), "cost_model": label,
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
    return entry


def _projected_row(r: dict, i: int, predictions: dict, *, source: str, device: tuple[str, str],
                   stamp: dict) -> dict:
    """The schema row of variant ``r`` (the ``i``-th) on one device: its identity, the predictions, provenance."""
    dname, dclass = device
    cfg = variant_config(r.get("config_json"))
    rec = {c: r.get(c) for c in COPIED_COLUMNS}
    rec.update(measurement_id=uuid.uuid4().hex, run_id=stamp["run_id"], timestamp_utc=stamp["timestamp_utc"],
               source=source, device_name=dname, device_class=dclass, energy_method="none",
               software_versions=stamp["software_versions"])
    proj = {}
    for target, (label, saved, agg) in predictions.items():
        value, lo, hi, paths = agg[i]
        col = PROJECTED_COLUMNS[target]
        if target == "memory_peak_bytes":
            rec[col], rec["memory_method"] = int(round(value)), "predicted"
        else:
            rec[col] = value
        if target == "energy_j":
            rec["energy_method"], rec["energy_scope"] = "predicted", "inference"
        proj[target] = _projection_entry(label, saved, col, lo, hi, paths)
    rec["config_json"] = json.dumps({
        "projection": proj,
        "projected_from": {"measurement_id": r["measurement_id"], "run_id": r["run_id"],
                           "device_name": r["device_name"], "device_class": r["device_class"],
                           "source": r["source"]},
        "accuracy_from": "measured with the variant on projected_from's device",
        "expectation_over_paths": is_dynamic(cfg),
        "variant_config": {k: v for k, v in cfg.items() if k != "path_features"},
    }, sort_keys=True, default=float)
    rec["notes"] = (f"predicted, not measured: {source[len('predicted:'):]} cost model(s) fitted on "
                    f"{dname} ({dclass})")
    return rec


def _finite(v):
    """``v`` as a float, or None where it is missing or infinite (an unbounded interval)."""
    return float(v) if v is not None and np.isfinite(v) else None


# ------------------------------------------------------------------------------------------ projection

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
    SchemaError
        ``rows`` that are not a polars or pandas DataFrame of the measurement schema.
    """
    if cost_models is None:
        raise ParameterError("no cost model given. Fix: pass cost_models= (a file from `workbench fit --out FILE`).")
    models = load_cost_models(cost_models, check_versions=check_versions)
    measured = _measured_rows(rows)
    devices = _models_by_device(models, device_name=device_name, device_class=device_class)
    stamp = {"run_id": run_id or new_run_id(), "timestamp_utc": datetime.now(timezone.utc),
             "software_versions": json.dumps(library_versions(), sort_keys=True)}
    who = {r["measurement_id"]: f"{r['model']}/{r['strategy']}" for r in measured.iter_rows(named=True)}
    out: list[dict] = []
    for device, by_target in devices.items():
        keep = _rows_at_batch_sizes(measured, by_target, batch_sizes, device[0])
        predictions = _predict_variants(keep, layers, by_target, who)
        source = _source(predictions)
        out += [_projected_row(r, i, predictions, source=source, device=device, stamp=stamp)
                for i, r in enumerate(keep.iter_rows(named=True))]
    return schema.from_records(out)
