"""Pricing a variant's units with saved cost models: load the files, name each model's device, build
the design matrix a model was fitted on, predict with interval bounds.

The units come from :mod:`.variant_features`; :mod:`.projection` turns the prices into schema rows.
A model reads what it was fitted on: base features (FLOPs, bytes), per-layer-type columns, or the
per-layer table itself; :func:`predict_units` builds that and names what a variant lacks, and the
fix, when it cannot (:class:`~workbench.strategies.variant_features.ProjectionFeatureError`).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from workbench.catalog.devices import get_device
from workbench.costmodels.estimators import (
    FlopsProportionalCostModel,
    LayerAdditiveCostModel,
    LayerwiseCostModel,
    LogLinearCostModel,
    ResidualBoostedCostModel,
    RooflineCostModel,
    TreeCostModel,
)
from workbench.costmodels.factory import needs_layers
from workbench.costmodels.features import align_features
from workbench.costmodels.persistence import SavedCostModel, load
from workbench.errors import ParameterError, UnknownNameError
from workbench.schema import DEVICE_CLASSES
from workbench.strategies.variant_features import BASE_FEATURES, ProjectionFeatureError


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
    md = saved.metadata
    devices = list(md.get("devices") or [])
    classes = list(md.get("device_classes") or [])
    cls = device_class or md.get("device_class") or (classes[0] if len(classes) == 1 else None)
    name = device_name or md.get("device_name") or (devices[0] if len(devices) == 1 else None)
    if cls is None and name is not None:
        try:
            cls = get_device(name).device_class
        except UnknownNameError:
            cls = None
    if cls is None:
        raise ParameterError(
            f"the cost model (kind {md.get('kind')!r}, devices {devices[:5]}) names no device class. "
            "Fix: refit it with `workbench fit --device-class ...`, or pass device_class= (CLI: fit per device class).")
    if cls not in DEVICE_CLASSES:
        raise UnknownNameError("device class", cls, DEVICE_CLASSES)
    if name is None:
        name = f"{cls} class ({len(devices)} devices)" if devices else f"{cls} class"
    return name, cls


def _inner(est):
    """The fitted estimator inside a conformal wrapper (or ``est`` itself)."""
    return getattr(est, "estimator_", est)


def cost_model_kind(saved) -> str:
    """A cost model's kind, for ``source = "predicted:<kind>"``.

    Parameters
    ----------
    saved : SavedCostModel
        The cost model.

    Returns
    -------
    str
        The kind its file records (``flops``, ``additive``, ...), else its estimator's class name.
    """
    return saved.metadata.get("kind") or type(_inner(saved.estimator)).__name__


def _model_info(est) -> tuple[list[str], list[str], bool, bool]:
    """(column names the model was fitted on, base columns it reads, uses per-layer columns, prices unseen types)."""
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
               if any(k in BASE_FEATURES for k in lacking) else "")
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


def predict_units(saved, X, layer_pdf, label, who) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Predictions of one cost model for every unit, and their interval bounds.

    Parameters
    ----------
    saved : SavedCostModel
        The cost model.
    X : pandas.DataFrame
        Feature frame of the units (:func:`~workbench.strategies.variant_features.variant_units`).
    layer_pdf : pandas.DataFrame
        Their per-layer rows.
    label : str
        The model's name in messages (its file).
    who : dict
        Measurement id → ``"model/strategy"`` of each variant, for messages.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray or None, numpy.ndarray or None)
        Predictions per unit in the model's target unit, and lower and upper bounds (None for a
        model without intervals).

    Raises
    ------
    ProjectionFeatureError
        A unit lacks a feature the model reads (the message names it, the variant and the fix).
    """
    D = _design(X, layer_pdf, saved.estimator, label, who)
    kw = {"layers": layer_pdf} if needs_layers(saved.estimator) else {}
    pred = np.asarray(saved.predict(D, **kw), dtype=float)
    if hasattr(saved.estimator, "predict_interval"):
        lo, hi = saved.predict_interval(D, **kw)
        return pred, np.asarray(lo, float), np.asarray(hi, float)
    return pred, None, None
