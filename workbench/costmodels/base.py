"""What every cost model shares: input checks, feature selection by name, and the feature-mismatch error.

:class:`CostModel` is the base class of the estimators in :mod:`~workbench.costmodels.baselines`,
:mod:`~workbench.costmodels.regressions` and :mod:`~workbench.costmodels.layer_models`;
``_frame`` and ``_check_y`` check ``X`` and ``y`` the same way for every estimator of the package
(the wrappers in :mod:`~workbench.costmodels.intervals` and :mod:`~workbench.costmodels.fewshot`
too). :func:`fit_intercept_scale` is the network-level fit of the per-layer models, and
:func:`operator_fit_params` passes operator-benchmark rows to an estimator that takes them.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
from scipy.optimize import nnls
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_array, column_or_1d

from workbench.errors import ParameterError, WorkbenchError
from workbench.schema import OPERATOR_FAMILY


def fit_intercept_scale(layer_sum_ms, y_ms) -> tuple[float, float]:
    """Non-negative ``(intercept, scale)`` of ``y ≈ intercept + scale · layer_sum``, least squares on
    relative error: how :class:`~workbench.costmodels.layer_models.LayerwiseCostModel` turns a sum of
    per-layer times into a network's.

    Parameters
    ----------
    layer_sum_ms : array [ms]
        Sum of the per-layer times of each network.
    y_ms : array [ms]
        Measured latency of each network, > 0.

    Returns
    -------
    (intercept [ms], scale [1])
    """
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
    """``y`` as a 1-D float array of finite, positive targets (sklearn's messages for shape and dtype)."""
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
