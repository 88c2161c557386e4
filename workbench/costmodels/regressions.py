"""Cost models that regress ``log y`` on ``log1p`` of the features: a power law and tree ensembles.

Latencies span five orders of magnitude and the metrics that matter (MAPE, share within ±10 %)
are relative, so both models fit the logarithm of the target: their errors are relative errors.
Neither knows about layers beyond the per-layer-type columns of the feature frame; for that see
:mod:`~workbench.costmodels.layer_models`.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted

from workbench.checks import check_number
from workbench.costmodels.base import CostModel, _check_y, _frame
from workbench.costmodels.ensembles import _export_ensemble, _predict_ensemble
from workbench.errors import UnknownNameError


class LogLinearCostModel(CostModel):
    """Power law fitted in log space: ``log y = intercept_ + Σ coef_i · log(1 + x_i)``.

    Ridge regression on ``log1p`` of the features (counts of layer types may be 0) and ``log`` of
    the target, so coefficients are elasticities and errors are relative.

    Parameters
    ----------
    features : list of str, optional
        Columns to use (default: all columns of X at fit time).
    alpha : float
        Ridge penalty on the standardised log features (0 = ordinary least squares). A penalty, not
        a coverage: prediction intervals are :class:`~workbench.costmodels.intervals.ConformalCostModel`'s.
    """

    def __init__(self, features=None, alpha: float = 1e-3):
        self.features = features
        self.alpha = alpha

    def fit(self, X, y):
        """Fit the power law by ridge regression in log space.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            Non-negative features (sizes [B], counts, FLOPs): ``features``, or every column by default.
        y : array, shape (n_rows,)
            Target per forward call [target unit, e.g. ms], finite and > 0.

        Returns
        -------
        self : LogLinearCostModel

        Raises
        ------
        ParameterError
            ``alpha`` not a number ≥ 0, a target ≤ 0, a negative feature, or a column of ``features``
            missing from X.
        """
        y = _check_y(y)
        check_number(self.alpha, "alpha", minimum=0, fix="give the ridge penalty, e.g. alpha=1e-3 (0: least squares).")
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
        """Predicted target, ``exp(intercept_ + log1p(X) · coef_)``.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            Features with the columns the model was fitted on (in that order for an array).

        Returns
        -------
        numpy array, shape (n_rows,)
            Prediction [target unit], > 0.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        FeatureMismatchError
            X lacks a fitted column or (without ``features``) holds one the model was not fitted on.
        ValueError
            An array with another number of columns than the model was fitted on.
        """
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
        """Fit the ensemble on ``log1p(X)`` and ``log y``; keep its trees as plain arrays (``trees_``).

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            Non-negative features (sizes [B], counts, FLOPs): ``features``, or every column by default.
        y : array, shape (n_rows,)
            Target per forward call [target unit, e.g. ms], finite and > 0.

        Returns
        -------
        self : TreeCostModel

        Raises
        ------
        UnknownNameError
            ``kind`` is not "gbm" or "rf".
        ParameterError
            A target ≤ 0, a negative feature, or a column of ``features`` missing from X.
        """
        y = _check_y(y)
        if self.kind not in ("gbm", "rf"):
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
        """Predicted target, ``exp`` of the ensemble's prediction on ``log1p(X)``.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            Features with the columns the model was fitted on (in that order for an array).

        Returns
        -------
        numpy array, shape (n_rows,)
            Prediction [target unit], > 0, within the range of the training targets.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        FeatureMismatchError
            X lacks a fitted column or (without ``features``) holds one the model was not fitted on.
        ValueError
            An array with another number of columns than the model was fitted on.
        """
        check_is_fitted(self, "trees_")
        a = self._select(X, None, fitting=False)
        return np.exp(_predict_ensemble(self.trees_, np.log1p(np.maximum(a, 0))))
