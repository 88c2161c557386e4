"""Cost-model estimators (scikit-learn API): baselines, log-space regressions, per-layer additive model.

Every estimator takes ``X`` as a pandas DataFrame of features (:func:`workbench.costmodels.features.
feature_frame`) or a 2-D array whose columns are the ones named in ``features``; ``y`` is the target
in its unit (``latency_ms``: ms per forward call). ``__init__`` only stores arguments, parameters are
checked in ``fit``, learned attributes end in ``_``, and ``predict`` before ``fit`` raises
``sklearn.exceptions.NotFittedError``, so pipelines, ``clone`` and cross-validation work.

All models except the baselines work in log space or minimise *relative* error: latencies span five
orders of magnitude, and the metrics that matter (MAPE, share within ±10 %) are relative.

References
----------
Per-layer additive latency: Kang et al., "Neurosurgeon", ASPLOS 2017 (per-layer-type regression
models summed over a network); Zhang et al., "nn-Meter", MobiSys 2021 (kernel-level predictors
summed over the kernels of a model). Roofline: Williams, Waterman, Patterson, CACM 52(4), 2009.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import nnls
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from workbench.errors import ParameterError, WorkbenchError
from workbench.store import LAYER_SHAPE_COLUMNS


def fit_intercept_scale(layer_sum_ms, y_ms) -> tuple[float, float]:
    """Non-negative ``(intercept, scale)`` of ``y ≈ intercept + scale · layer_sum``, least squares on
    relative error: how :class:`LayerwiseCostModel` turns a sum of per-layer times into a network's."""
    s, y = np.asarray(layer_sum_ms, float), np.asarray(y_ms, float)
    A = np.column_stack([np.ones_like(s), s]) / y[:, None]
    norm = A.max(0)
    w, _ = nnls(A / norm, np.ones_like(s))
    return float(w[0] / norm[0]), float(w[1] / norm[1])


def operator_fit_params(estimator, groups) -> dict:
    """``{"operator_rows": mask}`` for an estimator whose ``fit`` takes it, else ``{}``.

    ``groups`` are the rows' model families; the mask marks the operator-benchmark rows
    (:data:`workbench.schema.OPERATOR_FAMILY`). Empty when there are none or ``groups`` is None.
    """
    import inspect

    from workbench.schema import OPERATOR_FAMILY

    if groups is None or "operator_rows" not in inspect.signature(estimator.fit).parameters:
        return {}
    mask = np.asarray(groups) == OPERATOR_FAMILY
    return {"operator_rows": mask} if mask.any() else {}


class FeatureMismatchError(WorkbenchError, ValueError):
    """The features given to ``predict`` are not the ones the cost model was fitted on."""

    def __init__(self, missing, unknown, model: str):
        self.missing, self.unknown = list(missing), list(unknown)
        parts = []
        if self.missing:
            parts.append(f"missing feature(s) {self.missing[:8]}")
        if self.unknown:
            parts.append(f"unknown feature(s) {self.unknown[:8]} it was not fitted on")
        super().__init__(
            f"{model}: {' and '.join(parts)}. Fix: build X with the same feature_frame() call as for "
            "fitting (the model file lists its features), or refit the model on these features."
        )


def _frame(X, features=None) -> pd.DataFrame:
    """X as a DataFrame; an array gets the names in ``features`` (or x0, x1, ...).

    Arrays go through ``sklearn.utils.check_array`` (dense, 2-D, finite: its standard messages).
    """
    from sklearn.utils.validation import check_array

    if isinstance(X, pd.DataFrame):
        num = X.select_dtypes("number")
        if num.shape[1] and not np.isfinite(num.to_numpy(dtype=float)).all():
            bad = [c for c in num.columns if not np.isfinite(num[c].to_numpy(dtype=float)).all()][:5]
            raise ParameterError(f"features {bad} hold NaN or infinite values. Fix: fill or drop those rows.")
        return X
    a = check_array(X, dtype=float, ensure_all_finite=True)
    names = list(features) if features is not None and len(features) == a.shape[1] else [
        f"x{i}" for i in range(a.shape[1])]
    return pd.DataFrame(a, columns=names)


def _check_y(y) -> np.ndarray:
    from sklearn.utils.validation import column_or_1d

    if y is None:
        raise ValueError("requires y to be passed, but the target y is None (cost models are supervised).")
    y = column_or_1d(y, warn=True)
    if np.iscomplexobj(y):
        raise ValueError("Complex data not supported: targets must be real and > 0.")
    y = np.asarray(y, dtype=float)
    if y.size == 0:
        raise ParameterError("cannot fit a cost model on zero rows.")
    if not np.all(np.isfinite(y)) or np.any(y <= 0):
        bad = y[~np.isfinite(y) | (y <= 0)][:3]
        raise ParameterError(
            f"targets must be finite and > 0 (latency, energy and memory are positive), got {bad.tolist()}. "
            "Fix: drop rows with zero or missing measurements."
        )
    return y


class CostModel(RegressorMixin, BaseEstimator):
    """Base of the workbench's cost models: feature selection by name and the unknown-feature check."""

    def _select(self, X, names, *, fitting: bool) -> np.ndarray:
        if not fitting and not isinstance(X, pd.DataFrame):
            X = np.asarray(X)
        if not fitting and not isinstance(X, pd.DataFrame) and X.ndim == 2 and X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        df = _frame(X, getattr(self, "feature_names_in_", None) if not fitting else names)
        if fitting:
            missing = [c for c in names if c not in df.columns]
            if missing:
                raise ParameterError(
                    f"{type(self).__name__} needs feature column(s) {missing}; X has {list(df.columns)}. "
                    "Fix: build X with workbench.costmodels.feature_frame(rows, layers)."
                )
            a = df[list(names)].to_numpy(dtype=float)
            if np.any(a < 0):
                bad = [c for c in names if (df[c].to_numpy(dtype=float) < 0).any()][:5]
                raise ParameterError(f"Negative values in data passed to {type(self).__name__}: features {bad} "
                                     "are sizes, counts or FLOPs and must be >= 0.")
            return a
        extra = [] if getattr(self, "features", None) is not None else [
            c for c in df.columns if c not in self.feature_names_in_]
        missing = [c for c in self.feature_names_in_ if c not in df.columns]
        if missing or extra:
            raise FeatureMismatchError(missing, extra, type(self).__name__)
        return df[list(self.feature_names_in_)].to_numpy(dtype=float)

    def _fit_names(self, X) -> list[str]:
        df = _frame(X, getattr(self, "features", None))
        return list(df.columns)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        tags.input_tags.positive_only = True  # sizes, counts and FLOPs
        return tags


# -------------------------------------------------------------------------------------------- baselines
class FlopsProportionalCostModel(CostModel):
    """Baseline: the target is proportional to FLOPs per forward call, ``y = coef_ · flops · batch_size``.

    ``coef_`` [target unit per FLOP] is the geometric mean of ``y / (flops · batch_size)`` (the
    least-squares fit in log space), so it minimises relative rather than absolute error.
    Rows without FLOPs (0) are ignored when fitting and predicted as 0.
    """

    def fit(self, X, y):
        y = _check_y(y)
        self.feature_names_in_ = self._fit_names(X)
        df = _frame(X, self.feature_names_in_)
        cols = ["flops"] + (["batch_size"] if "batch_size" in df.columns else [])
        a = self._select(df, cols, fitting=True)
        work = a[:, 0] * (a[:, 1] if a.shape[1] > 1 else 1.0)
        ok = work > 0
        if not ok.any():
            raise ParameterError("FlopsProportionalCostModel needs rows with flops > 0.")
        self.coef_ = float(np.exp(np.mean(np.log(y[ok]) - np.log(work[ok]))))
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict(self, X):
        check_is_fitted(self, "coef_")
        df = _frame(X, self.feature_names_in_)
        self._select(df, None, fitting=False)
        work = df["flops"].to_numpy(float) * (df["batch_size"].to_numpy(float) if "batch_size" in df else 1.0)
        return self.coef_ * work


class RooflineCostModel(CostModel):
    """Baseline: roofline time ``max(FLOPs / peak, bytes / bandwidth)`` scaled by a fitted factor.

    ``flops · batch_size`` FLOPs at ``peak_flops_per_s`` against ``weight_bytes + activation_bytes ·
    batch_size`` bytes moved at ``memory_bandwidth_bytes_per_s``; the result in ms is multiplied by
    ``scale_`` (geometric mean of measured / roofline time; 1 would be a device at its peaks).

    Parameters
    ----------
    peak_flops_per_s : float, optional
        Peak [FLOP/s]; when None, X must hold a ``peak_flops_per_s`` column (catalog features).
    memory_bandwidth_bytes_per_s : float, optional
        Memory bandwidth [B/s]; when None, X must hold ``memory_bandwidth_bytes_per_s``.
    fit_scale : bool
        Fit ``scale_``; otherwise ``scale_ = 1`` (the pure roofline bound, a lower bound on latency).
    """

    def __init__(self, peak_flops_per_s: float | None = None, memory_bandwidth_bytes_per_s: float | None = None,
                 fit_scale: bool = True):
        self.peak_flops_per_s = peak_flops_per_s
        self.memory_bandwidth_bytes_per_s = memory_bandwidth_bytes_per_s
        self.fit_scale = fit_scale

    def _bound_ms(self, df: pd.DataFrame) -> np.ndarray:
        b = df["batch_size"].to_numpy(float) if "batch_size" in df else 1.0
        peak = self.peak_flops_per_s if self.peak_flops_per_s is not None else df["peak_flops_per_s"].to_numpy(float)
        bw = (self.memory_bandwidth_bytes_per_s if self.memory_bandwidth_bytes_per_s is not None
              else df["memory_bandwidth_bytes_per_s"].to_numpy(float))
        compute_s = df["flops"].to_numpy(float) * b / peak
        memory_s = (df["weight_bytes"].to_numpy(float) + df["activation_bytes"].to_numpy(float) * b) / bw
        return np.maximum(compute_s, memory_s) * 1e3

    def fit(self, X, y):
        y = _check_y(y)
        for name in ("peak_flops_per_s", "memory_bandwidth_bytes_per_s"):
            v = getattr(self, name)
            if v is not None and not (np.isfinite(v) and v > 0):
                raise ParameterError(f"{name} must be a positive number, got {v!r}.")
        self.feature_names_in_ = self._fit_names(X)
        df = _frame(X, self.feature_names_in_)
        need = ["flops", "weight_bytes", "activation_bytes"]
        need += [n for n in ("peak_flops_per_s", "memory_bandwidth_bytes_per_s") if getattr(self, n) is None]
        self._select(df, need, fitting=True)
        bound = self._bound_ms(df)
        ok = bound > 0
        self.scale_ = float(np.exp(np.mean(np.log(y[ok]) - np.log(bound[ok])))) if self.fit_scale else 1.0
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict(self, X):
        check_is_fitted(self, "scale_")
        df = _frame(X, self.feature_names_in_)
        self._select(df, None, fitting=False)
        return self.scale_ * self._bound_ms(df)


# --------------------------------------------------------------------------------- log-space regressions
class LogLinearCostModel(CostModel):
    """Power law fitted in log space: ``log y = intercept_ + Σ coef_i · log(1 + x_i)``.

    Ridge regression on ``log1p`` of the features (counts of layer types may be 0) and ``log`` of
    the target, so coefficients are elasticities and errors are relative.

    Parameters
    ----------
    features : list of str, optional
        Columns to use (default: all columns of X at fit time).
    alpha : float
        Ridge penalty on the standardised log features (0 = ordinary least squares).
    """

    def __init__(self, features=None, alpha: float = 1e-3):
        self.features = features
        self.alpha = alpha

    def fit(self, X, y):
        from sklearn.linear_model import Ridge

        y = _check_y(y)
        if not (np.isfinite(self.alpha) and self.alpha >= 0):
            raise ParameterError(f"alpha must be >= 0, got {self.alpha!r}.")
        names = list(self.features) if self.features is not None else self._fit_names(X)
        a = self._select(_frame(X, names), names, fitting=True)
        self.feature_names_in_ = names
        L = np.log1p(a)
        self.mean_, self.scale_ = L.mean(0), L.std(0)
        self.scale_[self.scale_ == 0] = 1.0
        r = Ridge(alpha=self.alpha).fit((L - self.mean_) / self.scale_, np.log(y))
        self.coef_ = r.coef_ / self.scale_
        self.intercept_ = float(r.intercept_ - np.sum(self.coef_ * self.mean_))
        self.n_features_in_ = len(names)
        return self

    def predict(self, X):
        check_is_fitted(self, "coef_")
        a = self._select(X, None, fitting=False)
        return np.exp(self.intercept_ + np.log1p(np.maximum(a, 0)) @ self.coef_)


class TreeCostModel(CostModel):
    """Gradient-boosted trees or a random forest on ``log1p`` features, predicting ``log y``.

    Parameters
    ----------
    kind : {"gbm", "rf"}
        ``sklearn.ensemble.GradientBoostingRegressor`` or ``RandomForestRegressor``.
    n_estimators, max_depth, learning_rate, min_samples_leaf, random_state
        Passed to the ensemble (``learning_rate`` only to "gbm").
    features : list of str, optional
        Columns to use (default: all).

    Notes
    -----
    Trees cannot extrapolate beyond the targets they saw: use the log-linear or additive models
    for models larger than anything in the training data.
    """

    def __init__(self, kind: str = "gbm", n_estimators: int = 300, max_depth: int = 3, learning_rate: float = 0.05,
                 min_samples_leaf: int = 3, random_state: int = 0, features=None):
        self.kind = kind
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state
        self.features = features

    def fit(self, X, y):
        from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

        y = _check_y(y)
        if self.kind not in ("gbm", "rf"):
            from workbench.errors import UnknownNameError

            raise UnknownNameError("tree kind", self.kind, ("gbm", "rf"))
        names = list(self.features) if self.features is not None else self._fit_names(X)
        a = self._select(_frame(X, names), names, fitting=True)
        self.feature_names_in_ = names
        if self.kind == "gbm":
            est = GradientBoostingRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                            learning_rate=self.learning_rate,
                                            min_samples_leaf=self.min_samples_leaf, random_state=self.random_state)
        else:
            est = RandomForestRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                        min_samples_leaf=self.min_samples_leaf, random_state=self.random_state,
                                        n_jobs=1)
        est.fit(np.log1p(np.maximum(a, 0)), np.log(y))
        self.trees_ = _export_ensemble(est)
        self.n_features_in_ = len(names)
        return self

    def predict(self, X):
        check_is_fitted(self, "trees_")
        a = self._select(X, None, fitting=False)
        return np.exp(_predict_ensemble(self.trees_, np.log1p(np.maximum(a, 0))))


def _export_ensemble(est) -> dict:
    """Plain arrays of a fitted sklearn tree ensemble (so it persists as JSON without pickles)."""
    from sklearn.ensemble import GradientBoostingRegressor

    def tree(t):
        tr = t.tree_
        return {"left": tr.children_left.tolist(), "right": tr.children_right.tolist(),
                "feature": tr.feature.tolist(), "threshold": tr.threshold.tolist(),
                "value": tr.value[:, 0, 0].tolist()}

    if isinstance(est, GradientBoostingRegressor):
        return {"kind": "gbm", "init": float(est.init_.constant_.ravel()[0]), "learning_rate": est.learning_rate,
                "trees": [tree(t) for t in est.estimators_[:, 0]]}
    return {"kind": "rf", "init": 0.0, "learning_rate": 1.0 / len(est.estimators_),
            "trees": [tree(t) for t in est.estimators_]}


def _predict_ensemble(state: dict, A: np.ndarray) -> np.ndarray:
    out = np.full(A.shape[0], state["init"], dtype=float)
    for t in state["trees"]:
        left, right = np.asarray(t["left"]), np.asarray(t["right"])
        feat, thr, val = np.asarray(t["feature"]), np.asarray(t["threshold"]), np.asarray(t["value"])
        node = np.zeros(A.shape[0], dtype=int)
        active = left[node] != -1
        while active.any():
            idx = np.nonzero(active)[0]
            n = node[idx]
            go_left = A[idx, feat[n]] <= thr[n]
            node[idx] = np.where(go_left, left[n], right[n])
            active = left[node] != -1
        out += state["learning_rate"] * val[node]
    return out


# ------------------------------------------------------------------------------------- per-layer additive
class LayerAdditiveCostModel(CostModel):
    """Sum of per-layer-type linear costs (Neurosurgeon / nn-Meter style); predicts any span of layers.

    The cost of one layer of type *T* in a forward call is
    ``a_T + b_T · flops + c_T · bytes`` plus a type-independent part ``a + b · flops + c · bytes``
    (which also prices layer types never seen in training), and a network adds ``intercept_`` once
    (framework overhead of a call). Summed over the layers of a network this is linear in the
    per-type columns ``count__T``, ``flops__T``, ``bytes__T`` of the feature frame, so the
    coefficients are fitted on whole-network measurements by non-negative least squares on
    *relative* error (each row divided by its target). Every coefficient is ≥ 0, so every layer
    costs ≥ 0 and :meth:`predict_layers` gives a per-layer breakdown for partitioning.

    Parameters
    ----------
    generic : bool
        Include the type-independent terms (recommended: they price unseen layer types).
    intercept : bool
        Include the per-call constant ``intercept_`` [target unit].

    Attributes
    ----------
    layer_types_ : list of str
        Layer types seen in training.
    coef_ : dict
        ``{type or "*": (a [unit per layer], b [unit per FLOP], c [unit per B])}``.
    """

    def __init__(self, generic: bool = True, intercept: bool = True):
        self.generic = generic
        self.intercept = intercept

    @staticmethod
    def _types(columns) -> list[str]:
        return sorted({c.split("__", 1)[1] for c in columns if c.startswith("count__")})

    def _design(self, df: pd.DataFrame, types: list[str]) -> np.ndarray:
        cols = []
        for t in types:
            for kind in ("count", "flops", "bytes"):
                name = f"{kind}__{t}"
                cols.append(df[name].to_numpy(float) if name in df else np.zeros(len(df)))
        all_types = self._types(df.columns)
        if self.generic:
            for kind in ("count", "flops", "bytes"):
                cols.append(sum((df[f"{kind}__{t}"].to_numpy(float) for t in all_types), np.zeros(len(df))))
        if self.intercept:
            cols.append(np.ones(len(df)))
        return np.column_stack(cols)

    def fit(self, X, y):
        y = _check_y(y)
        df = _frame(X)
        types = self._types(df.columns)
        if not types:
            raise ParameterError(
                "LayerAdditiveCostModel needs per-layer-type columns (count__<Type>, flops__<Type>, bytes__<Type>). "
                "Fix: build X with feature_frame(rows, layers=store.read_layers())."
            )
        self.feature_names_in_ = list(df.columns)
        A = self._design(df, types)
        # scale columns so NNLS is well conditioned; rows by 1/y for relative error
        col_scale = np.where(A.max(0) > 0, A.max(0), 1.0)
        As = A / col_scale / y[:, None]
        w, _ = nnls(As, np.ones_like(y), maxiter=50 * As.shape[1])
        w = w / col_scale
        self.layer_types_ = types
        k = 3 * len(types)
        self.coef_ = {t: tuple(float(v) for v in w[3 * i:3 * i + 3]) for i, t in enumerate(types)}
        if self.generic:
            self.coef_["*"] = tuple(float(v) for v in w[k:k + 3])
        self.intercept_ = float(w[-1]) if self.intercept else 0.0
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def _layer_cost(self, layer_type: str, flops, out_bytes) -> np.ndarray:
        a, b, c = self.coef_.get(layer_type, (0.0, 0.0, 0.0))
        g = self.coef_.get("*", (0.0, 0.0, 0.0))
        return (a + g[0]) + (b + g[1]) * np.asarray(flops, float) + (c + g[2]) * np.asarray(out_bytes, float)

    def predict(self, X):
        check_is_fitted(self, "coef_")
        df = _frame(X, self.feature_names_in_)
        types = self._types(df.columns)
        unknown = [c for c in df.columns if "__" in c and c.split("__", 1)[0] not in ("count", "flops", "bytes")]
        if unknown:
            raise FeatureMismatchError([], unknown, type(self).__name__)
        total = np.full(len(df), self.intercept_)
        for t in types:
            n = df[f"count__{t}"].to_numpy(float)
            f = df.get(f"flops__{t}", pd.Series(0.0, index=df.index)).to_numpy(float)
            by = df.get(f"bytes__{t}", pd.Series(0.0, index=df.index)).to_numpy(float)
            a, b, c = self.coef_.get(t, (0.0, 0.0, 0.0))
            g = self.coef_.get("*", (0.0, 0.0, 0.0))
            total += (a + g[0]) * n + (b + g[1]) * f + (c + g[2]) * by
        return total

    def predict_layers(self, layers, batch_size: int = 1) -> np.ndarray:
        """Predicted cost of each layer of one network [target unit], in the given order.

        Parameters
        ----------
        layers : DataFrame
            Per-layer rows of one network (``layer_type``, ``flops`` [FLOP per inference],
            ``output_bytes`` [B per inference]), e.g. from ``Store.read_layers()`` or
            :func:`workbench.measure.features.layer_breakdown`.
        batch_size : int
            Samples per forward call.
        """
        check_is_fitted(self, "coef_")
        lay = layers.to_pandas() if hasattr(layers, "to_pandas") and not isinstance(layers, pd.DataFrame) else layers
        out = np.empty(len(lay))
        for i, (t, f, by) in enumerate(zip(lay["layer_type"], lay["flops"], lay["output_bytes"])):
            out[i] = self._layer_cost(t, f * batch_size, by * batch_size)
        return out

    def predict_span(self, layers, start: int = 0, stop: int | None = None, batch_size: int = 1) -> float:
        """Predicted cost of layers ``start:stop`` run as one call (a prefix or suffix for partitioning).

        The per-call ``intercept_`` is added once, as each partition is one call on its device.
        """
        per = self.predict_layers(layers, batch_size)
        return float(per[start:stop].sum() + self.intercept_)


class ResidualBoostedCostModel(RegressorMixin, BaseEstimator):
    """A cost model times a gradient-boosted correction: ``ŷ = base(x) · exp(g(x))``.

    ``g`` is fitted on the out-of-fold log ratio ``log(y / base(x))`` so it learns what the base
    model systematically misses (e.g. cache effects) rather than its in-sample noise.
    """

    def __init__(self, base=None, cv: int = 5, shrink: float = 1.0, random_state: int = 0):
        self.base = base
        self.cv = cv
        self.shrink = shrink
        self.random_state = random_state

    def fit(self, X, y):
        from sklearn.base import clone
        from sklearn.model_selection import KFold

        y = _check_y(y)
        X = _frame(X)
        base = self.base if self.base is not None else LayerAdditiveCostModel()
        oof = np.empty_like(y)
        for tr, te in KFold(min(self.cv, len(y)), shuffle=True, random_state=self.random_state).split(X):
            oof[te] = clone(base).fit(X.iloc[tr], y[tr]).predict(X.iloc[te])
        self.base_ = clone(base).fit(X, y)
        r = np.log(y) - np.log(np.maximum(oof, 1e-300))
        self.correction_ = TreeCostModel("gbm", n_estimators=200, max_depth=2, random_state=self.random_state).fit(
            X, np.exp(r))
        self.feature_names_in_ = list(X.columns)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict(self, X):
        check_is_fitted(self, "base_")
        return self.base_.predict(X) * self.correction_.predict(X) ** self.shrink


class LayerwiseCostModel(CostModel):
    """Latency as the sum of per-layer predictions learned from per-layer measurements (nn-Meter style).

    A gradient-boosted regressor maps each layer's ``log1p`` FLOPs, parameters and output bytes (per
    forward call), its layer type (one-hot) and, when every training layer has them, its shape
    (:data:`LAYER_SHAPE_COLUMNS`: ``log1p`` input bytes, kernel area, stride, ``log1p`` groups and
    channels, a depthwise flag; ``shape_columns_`` says which were used) to the ``log`` of its
    measured latency (the profiler's per-layer breakdown, :data:`workbench.store.LAYER_SCHEMA`).
    Shapes tell a 3×3 depthwise convolution from a 1×1 pointwise one of the same FLOPs, which
    counts alone cannot. A network's latency is
    ``intercept_ + scale_ · Σ layer predictions``, both fitted by non-negative least squares on
    relative error over the training networks (the per-layer hook timings miss the work done
    outside leaf modules and add their own overhead). Latency only: the per-layer table has no
    energy or memory.

    ``fit`` and ``predict`` need the per-layer table as ``layers=`` with ``measurement_id`` equal
    to the index of ``X`` (:func:`~workbench.costmodels.features.feature_frame` indexes by it).
    ``fit(..., operator_rows=mask)`` marks rows that are operator-benchmark blocks
    (:mod:`workbench.measure.kernels`) rather than networks: their layers train the per-layer
    regressor, but ``intercept_`` and ``scale_`` describe a whole network's call and are fitted on
    the network rows alone. (On this project's CPU cache, 600 three-layer blocks otherwise outweigh
    465 networks in that fit and pull ``scale_`` to the blocks' ratio of call to layer-sum time.)

    Parameters
    ----------
    n_estimators, max_depth, learning_rate, random_state
        Of the per-layer ``GradientBoostingRegressor``.
    """

    def __init__(self, n_estimators: int = 300, max_depth: int = 4, learning_rate: float = 0.05,
                 random_state: int = 0):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.random_state = random_state

    @staticmethod
    def _layers(layers, index) -> pd.DataFrame:
        if layers is None:
            raise ParameterError(
                "LayerwiseCostModel needs the per-layer table: fit(X, y, layers=store.read_layers()) and "
                "predict(X, layers=...), with measurement_id matching X's index."
            )
        lay = layers.to_pandas() if not isinstance(layers, pd.DataFrame) else layers
        lay = lay[lay["measurement_id"].isin(set(index))]
        missing = set(index) - set(lay["measurement_id"])
        if missing:
            raise ParameterError(f"no per-layer rows for measurement(s) {sorted(missing)[:3]}; "
                                 "profile them with the per-layer breakdown (the profiler records it).")
        return lay

    def _layer_design(self, lay: pd.DataFrame, batch: np.ndarray) -> np.ndarray:
        cols = [np.log1p(lay["flops"].to_numpy(float) * batch), np.log1p(lay["params"].to_numpy(float)),
                np.log1p(lay["output_bytes"].to_numpy(float) * batch)]
        shape = getattr(self, "shape_columns_", [])  # files saved before shapes were recorded have none
        if shape:
            lacking = [c for c in shape if c not in lay]
            if lacking or lay["input_bytes"].isna().any():
                ids = [] if lacking or "measurement_id" not in lay else sorted(
                    set(lay.loc[lay["input_bytes"].isna(), "measurement_id"]))[:3]
                raise ParameterError(
                    f"this layerwise model was fitted on per-layer shapes {shape}; the per-layer rows "
                    + (f"lack column(s) {lacking}" if lacking else f"of measurement(s) {ids} have none")
                    + " (profiled before shapes were recorded). Fix: re-profile, fill them for zoo models "
                    "with workbench.costmodels.training.with_layer_shapes(rows, layers), or refit.")
            val = {c: pd.to_numeric(lay[c], errors="coerce").fillna(0.0).to_numpy(float) for c in shape}
            for c in shape:
                v = val[c] * batch if c == "input_bytes" else val[c]
                cols.append(v if c in ("kernel_area", "stride") else np.log1p(v))
            if "groups" in val and "in_channels" in val:
                cols.append(((val["groups"] > 1) & (val["groups"] == val["in_channels"])).astype(float))
        types = lay["layer_type"].to_numpy()
        cols += [(types == t).astype(float) for t in self.layer_types_]
        return np.column_stack(cols)

    def _sum_per_network(self, X: pd.DataFrame, lay: pd.DataFrame) -> np.ndarray:
        bmap = (X["batch_size"] if "batch_size" in X else pd.Series(1.0, index=X.index)).astype(float)
        batch = lay["measurement_id"].map(bmap).to_numpy(float)
        pred = np.exp(_predict_ensemble(self.layer_model_, self._layer_design(lay, batch)))
        sums = pd.Series(pred).groupby(lay["measurement_id"].to_numpy()).sum()
        return sums.reindex(X.index).to_numpy(float)

    def fit(self, X, y, layers=None, operator_rows=None):
        from sklearn.ensemble import GradientBoostingRegressor

        y = _check_y(y)
        X = _frame(X)
        nets = np.ones(len(y), bool) if operator_rows is None else ~np.asarray(operator_rows, bool)
        if nets.shape != y.shape or not nets.any():
            raise ParameterError(f"operator_rows must mark some, not all, of the {y.size} rows as operator blocks "
                                 f"(got {nets.size} entries, {int(nets.size - nets.sum())} set): the network-level "
                                 "intercept and scale need whole networks.")
        lay = self._layers(layers, X.index)
        if "latency_ms" not in lay or lay["latency_ms"].isna().all():
            raise ParameterError("the per-layer table has no latency_ms: LayerwiseCostModel predicts latency only.")
        lay = lay[lay["latency_ms"].notna()]
        self.layer_types_ = sorted(lay["layer_type"].unique())
        has_shapes = all(c in lay for c in LAYER_SHAPE_COLUMNS) and bool(lay["input_bytes"].notna().all())
        self.shape_columns_ = list(LAYER_SHAPE_COLUMNS) if has_shapes else []
        bmap = (X["batch_size"] if "batch_size" in X else pd.Series(1.0, index=X.index)).astype(float)
        batch = lay["measurement_id"].map(bmap).to_numpy(float)
        gbm = GradientBoostingRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                        learning_rate=self.learning_rate, random_state=self.random_state)
        gbm.fit(self._layer_design(lay, batch), np.log(np.maximum(lay["latency_ms"].to_numpy(float), 1e-6)))
        self.layer_model_ = _export_ensemble(gbm)
        self.intercept_, self.scale_ = fit_intercept_scale(self._sum_per_network(X, lay)[nets], y[nets])
        self.feature_names_in_ = list(X.columns)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict(self, X, layers=None):
        check_is_fitted(self, "layer_model_")
        X = _frame(X, self.feature_names_in_)
        return self.intercept_ + self.scale_ * self._sum_per_network(X, self._layers(layers, X.index))

    def predict_layers(self, layers, batch_size: int = 1) -> np.ndarray:
        """Predicted latency of each layer [ms] (× ``scale_``), in the given order."""
        check_is_fitted(self, "layer_model_")
        lay = layers.to_pandas() if not isinstance(layers, pd.DataFrame) else layers
        lay = lay.assign(params=lay["params"] if "params" in lay else 0)
        d = self._layer_design(lay, np.full(len(lay), float(batch_size)))
        return self.scale_ * np.exp(_predict_ensemble(self.layer_model_, d))

    def predict_span(self, layers, start: int = 0, stop: int | None = None, batch_size: int = 1) -> float:
        """Predicted latency of layers ``start:stop`` run as one call [ms] (``intercept_`` added once)."""
        return float(self.predict_layers(layers, batch_size)[start:stop].sum() + self.intercept_)
