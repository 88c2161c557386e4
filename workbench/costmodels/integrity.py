"""What a cost model read from a file must hold before anyone predicts with it.

A model file (:mod:`~workbench.costmodels.persistence`) is JSON that anyone can edit, truncate or
damage. :func:`check_learned_state` checks every learned attribute of a rebuilt estimator against
what ``fit`` produces (present, of the right type and shape, finite, within its sign); and
:func:`self_check` predicts one representative feature row and asks for a finite, positive
answer, which also catches a combination of valid-looking numbers whose predictions overflow (an
intercept of 1e308 in log space). Both raise :class:`StateError` with the reason; ``load`` turns it
into a :class:`~workbench.costmodels.persistence.CostModelFileError` naming the file.

Tree ensembles are checked node by node: children point forward (sklearn stores nodes in depth-first
order, a child after its parent), so a tampered tree cannot send the prediction loop in a circle.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from workbench.costmodels.factory import needs_layers
from workbench.costmodels.fewshot import FewShotCalibrator
from workbench.costmodels.regressions import LogLinearCostModel, TreeCostModel
from workbench.store import LAYER_SHAPE_COLUMNS

REQUIRED = {
    "FlopsProportionalCostModel": ("coef_",), "RooflineCostModel": ("scale_",),
    "LogLinearCostModel": ("coef_", "intercept_", "mean_", "scale_"), "TreeCostModel": ("trees_",),
    "LayerAdditiveCostModel": ("coef_", "intercept_", "layer_types_"),
    "LayerwiseCostModel": ("layer_model_", "intercept_", "scale_", "layer_types_"),
    "ResidualBoostedCostModel": ("base_", "correction_"), "ConformalCostModel": ("estimator_", "q_"),
    "FewShotCalibrator": ("coef_", "intercept_", "devices_", "source_", "fill_offset_", "categories_"),
}
"""Class name → the learned attributes its ``predict`` reads (besides ``feature_names_in_``, ``n_features_in_``)."""


class StateError(ValueError):
    """A learned attribute, or the self-check prediction, is not what ``fit`` would produce (the reason)."""


def _real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _number(est, name: str, *, minimum: float | None = None, positive: bool = False, inf: bool = False) -> float:
    v = getattr(est, name)
    if not _real(v):
        raise StateError(f"{type(est).__name__}.{name} is {type(v).__name__} {v!r:.40}, not a number")
    v = float(v)
    if np.isnan(v) or (np.isinf(v) and not (inf and v > 0)):
        raise StateError(f"{type(est).__name__}.{name} is {v!r}, not a finite number")
    if (positive and not v > 0) or (minimum is not None and v < minimum):
        bound = "> 0" if positive else f">= {minimum:g}"
        raise StateError(f"{type(est).__name__}.{name} is {v!r}; fit always gives a value {bound}")
    return v


def _vector(est, name: str, length: int | None) -> np.ndarray:
    v = getattr(est, name)
    if not isinstance(v, np.ndarray) or v.dtype.kind not in "iuf":
        raise StateError(f"{type(est).__name__}.{name} is {type(v).__name__}, not an array of numbers")
    if v.ndim != 1 or (length is not None and v.shape[0] != length):
        want = f"({length},)" if length is not None else "one dimension"
        raise StateError(f"{type(est).__name__}.{name} has shape {v.shape}, expected {want} (one entry per feature)")
    if not np.isfinite(v).all():
        raise StateError(f"{type(est).__name__}.{name} holds NaN or infinite values")
    return v


def _names(est, name: str) -> list[str]:
    v = getattr(est, name)
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise StateError(f"{type(est).__name__}.{name} is {type(v).__name__} {v!r:.40}, not a list of names")
    return v


def check_ensemble(state, width: int, owner: str) -> None:
    """Raise :class:`StateError` unless ``state`` is an exported tree ensemble over ``width`` design columns.

    Parameters
    ----------
    state : object
        What :func:`~workbench.costmodels.ensembles._export_ensemble` returns: ``kind``, ``init``,
        ``learning_rate`` and ``trees`` (node lists ``left``, ``right``, ``feature``, ``threshold``,
        ``value``).
    width : int
        Columns of the design the trees split on.
    owner : str
        ``Class.attribute`` for the message.
    """
    if not isinstance(state, dict) or set(state) != {"kind", "init", "learning_rate", "trees"}:
        keys = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise StateError(f"{owner} is not a tree ensemble (got {keys})")
    if state["kind"] not in ("gbm", "rf"):
        raise StateError(f"{owner} has kind {state['kind']!r}, not 'gbm' or 'rf'")
    for k in ("init", "learning_rate"):
        if not _real(state[k]) or not np.isfinite(state[k]):
            raise StateError(f"{owner}['{k}'] is {state[k]!r:.40}, not a finite number")
    trees = state["trees"]
    if not isinstance(trees, list) or not trees:
        raise StateError(f"{owner} holds no trees")
    for i, t in enumerate(trees):
        where = f"{owner} tree {i}"
        if not isinstance(t, dict) or set(t) != {"left", "right", "feature", "threshold", "value"}:
            raise StateError(f"{where} is not a node table")
        try:
            left, right, feat = (np.asarray(t[k], dtype=np.int64) for k in ("left", "right", "feature"))
            thr, val = (np.asarray(t[k], dtype=np.float64) for k in ("threshold", "value"))
        except (TypeError, ValueError, OverflowError):
            raise StateError(f"{where} holds a node entry that is not a number") from None
        n = left.size
        if n == 0 or any(a.shape != (n,) for a in (right, feat, thr, val)):
            raise StateError(f"{where} has node lists of different lengths or none")
        if any(not all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in t[k])
               for k in ("left", "right", "feature")):
            raise StateError(f"{where} holds a child or feature index that is not an integer")
        leaf = left == -1
        idx = np.arange(n)
        inner = ~leaf
        if not np.array_equal(leaf, right == -1) or (left[inner] <= idx[inner]).any() \
                or (right[inner] <= idx[inner]).any() or (left[inner] >= n).any() or (right[inner] >= n).any():
            raise StateError(f"{where} has a child index that does not point forward to a node of the tree")
        if ((feat[inner] < 0) | (feat[inner] >= width)).any():
            raise StateError(f"{where} splits on a feature index outside 0..{width - 1}")
        if not np.isfinite(thr[inner]).all() or not np.isfinite(val).all():
            raise StateError(f"{where} holds a NaN or infinite threshold or value")


def _layerwise_width(est) -> int:
    shape = getattr(est, "shape_columns_", [])  # files saved before shapes were recorded have none
    depthwise = 1 if {"groups", "in_channels"} <= set(shape) else 0
    return 3 + len(shape) + depthwise + len(est.layer_types_)


def _nested(est, name: str, classes: tuple[type, ...] | None = None):
    v = getattr(est, name)
    if type(v).__name__ not in REQUIRED or (classes is not None and not isinstance(v, classes)):
        raise StateError(f"{type(est).__name__}.{name} is {type(v).__name__}, not a fitted cost model")
    check_learned_state(v)
    return v


def check_learned_state(est) -> None:
    """Raise :class:`StateError` unless every learned attribute of ``est`` is what ``fit`` produces.

    Parameters
    ----------
    est : estimator
        A registered cost model rebuilt from a file (its wrapped estimators are checked too).

    Raises
    ------
    StateError
        The first learned attribute that is missing, of the wrong type or shape, not finite, or of
        the wrong sign (a coefficient ``fit`` keeps ≥ 0).
    """
    name = type(est).__name__
    if name not in REQUIRED:
        raise StateError(f"{name} is not a cost model a file may hold")
    missing = [a for a in (*REQUIRED[name], "feature_names_in_", "n_features_in_") if not hasattr(est, a)]
    if missing:
        raise StateError(f"{name} lacks the learned attribute(s) {missing}")
    features = _names(est, "feature_names_in_")
    n = est.n_features_in_
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n != len(features):
        raise StateError(f"{name}.n_features_in_ is {n!r}, but feature_names_in_ names {len(features)} features")
    if name == "FlopsProportionalCostModel":
        _number(est, "coef_", positive=True)
    elif name == "RooflineCostModel":
        _number(est, "scale_", positive=True)
    elif name == "LogLinearCostModel":
        for a in ("coef_", "mean_", "scale_"):
            _vector(est, a, n)
        _number(est, "intercept_")
    elif name == "TreeCostModel":
        check_ensemble(est.trees_, n, f"{name}.trees_")
    elif name == "LayerAdditiveCostModel":
        types = _names(est, "layer_types_")
        coef = est.coef_
        if not isinstance(coef, dict) or not set(coef) <= {*types, "*"} or not set(types) <= set(coef):
            raise StateError(f"{name}.coef_ must map each of layer_types_ {types[:5]} (and '*') to 3 coefficients")
        for t, abc in coef.items():
            if not isinstance(abc, tuple) or len(abc) != 3 or not all(_real(x) and np.isfinite(x) and x >= 0
                                                                      for x in abc):
                raise StateError(f"{name}.coef_[{t!r}] is {abc!r:.60}, not 3 finite coefficients >= 0")
        _number(est, "intercept_", minimum=0)
    elif name == "LayerwiseCostModel":
        _names(est, "layer_types_")
        shape = _names(est, "shape_columns_") if hasattr(est, "shape_columns_") else []
        if shape and shape != list(LAYER_SHAPE_COLUMNS):
            raise StateError(f"{name}.shape_columns_ is {shape}, not [] or {list(LAYER_SHAPE_COLUMNS)}")
        _number(est, "intercept_", minimum=0)
        _number(est, "scale_", minimum=0)
        check_ensemble(est.layer_model_, _layerwise_width(est), f"{name}.layer_model_")
    elif name == "ResidualBoostedCostModel":
        _nested(est, "base_")
        _nested(est, "correction_", (TreeCostModel,))
    elif name == "ConformalCostModel":
        _nested(est, "estimator_")
        _number(est, "q_", minimum=0, inf=True)  # inf: too few calibration rows for the coverage (documented)
    elif name == "FewShotCalibrator":
        devices = _names(est, "devices_")
        cats = _names(est, "categories_")
        if not devices or est.source_ not in devices:
            raise StateError(f"{name}.source_ {est.source_!r:.40} is not one of devices_ {devices[:5]}")
        off = est.fill_offset_
        if not isinstance(off, list) or len(off) != len(devices) or not all(_real(x) and np.isfinite(x) for x in off):
            raise StateError(f"{name}.fill_offset_ must hold one finite number per device ({len(devices)})")
        _vector(est, "coef_", len(devices) + (len(cats) if est.arch_column is not None else 0))
        _number(est, "intercept_")


TYPICAL = {"flops": 1e8, "params": 1e6, "weight_bytes": 4e6, "activation_bytes": 1e6, "batch_size": 1.0,
           "dtype_bytes": 4.0, "peak_flops_per_s": 1e12, "memory_bandwidth_bytes_per_s": 1e11}
"""Feature values of the self-check row [units of :mod:`~workbench.costmodels.features`]: a mid-sized network."""

TYPICAL_PER_TYPE = {"count": 1.0, "flops": 1e6, "bytes": 1e4}


def _representative(est) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A one-row feature frame (index ``"self-check"``) and its per-layer table for :func:`self_check`."""
    row = {}
    for c in est.feature_names_in_:
        kind = c.split("__", 1)[0] if "__" in c else None
        row[c] = TYPICAL_PER_TYPE.get(kind, 1.0) if kind else TYPICAL.get(c, 1.0)
    chain = [est]  # the estimator and those it wraps
    while (nxt := getattr(chain[-1], "estimator_", None) or getattr(chain[-1], "base_", None)) is not None:
        chain.append(nxt)
    for inner in chain:  # a power law is checked at the centre of its training data
        if isinstance(inner, LogLinearCostModel):
            row.update(dict(zip(inner.feature_names_in_, np.expm1(inner.mean_).tolist(), strict=True)))
        if isinstance(inner, FewShotCalibrator):
            row.update({d: 1.0 for d in inner.devices_})
            if inner.arch_column is not None:
                row[inner.arch_column] = inner.categories_[0] if inner.categories_ else "?"
            if "model_family" in row:
                row["model_family"] = "?"
    X = pd.DataFrame([row], index=pd.Index(["self-check"], name="measurement_id"))
    types = next((m.layer_types_ for m in chain if getattr(m, "layer_types_", None)), [])
    shape = {"input_bytes": 10_000, "kernel_area": 9, "stride": 1, "groups": 1, "in_channels": 16, "out_channels": 16}
    layers = pd.DataFrame([{"measurement_id": "self-check", "layer_index": i, "layer_type": t, "flops": 1e6,
                            "params": 10_000, "output_bytes": 10_000, **shape} for i, t in enumerate(types or ["Linear"])])
    return X, layers


def self_check(est) -> float:
    """Predict one representative row with ``est``; return the prediction, or raise :class:`StateError`.

    The row is a mid-sized network (:data:`TYPICAL`; a log-linear model's own training centre),
    with one layer of each layer type the model knows for the layer-based models.

    Raises
    ------
    StateError
        The prediction fails, or is not finite and > 0.
    """
    X, layers = _representative(est)
    kw = {"layers": layers} if needs_layers(est) else {}
    try:
        with np.errstate(all="ignore"):
            p = np.asarray(est.predict(X, **kw), dtype=float)
    except Exception as exc:  # noqa: BLE001 - any failure means the stored numbers do not form a model
        raise StateError(f"predicting a representative row fails ({type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0][:120]})") from None
    if p.shape != (1,) or not np.isfinite(p[0]) or not p[0] > 0:
        raise StateError(f"a representative row is predicted as {p.tolist()}, not one finite value > 0 "
                         "(the stored coefficients make every prediction unusable)")
    return float(p[0])
