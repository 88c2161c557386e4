"""Prediction intervals for cost models by (cross-)conformal prediction in log space.

:class:`ConformalCostModel` wraps any cost model. At ``fit`` it computes out-of-fold *log ratios*
``|log y − log ŷ|`` with K-fold cross-fitting (by group, e.g. model family, when ``groups`` are
given, so the residuals are those of families the inner model has not seen), and keeps their
``⌈(n+1)(1−α)⌉/n`` empirical quantile ``q_``. The interval of a prediction ŷ is
``[ŷ·e^(−q_), ŷ·e^(+q_)]``: multiplicative, as errors of latency models are relative.

Coverage is guaranteed (≥ 1−α) only when the new rows are exchangeable with the calibration
rows; for a new model family it holds to the extent that families are exchangeable with each
other, which is why the calibration residuals are computed family-out. The benchmark reports the
empirical coverage on held-out families.

References
----------
Vovk, Gammerman, Shafer, *Algorithmic Learning in a Random World*, 2005 (conformal prediction);
Barber et al., "Predictive inference with the jackknife+", Ann. Statist. 49(1), 2021 (cross-
conformal / CV+).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import GroupKFold, KFold
from sklearn.utils.validation import check_is_fitted

from workbench.costmodels.base import _check_y, _frame, operator_fit_params
from workbench.errors import ParameterError
from workbench.schema import OPERATOR_FAMILY


def conformal_quantile(scores, alpha: float) -> float:
    """The ``⌈(n+1)(1−α)⌉``-th smallest score (∞ when n is too small for the level)."""
    s = np.sort(np.asarray(scores, dtype=float))
    n = s.size
    k = int(np.ceil((n + 1) * (1 - alpha)))
    return float("inf") if k > n else float(s[k - 1])


class ConformalCostModel(RegressorMixin, BaseEstimator):
    """A cost model with conformal prediction intervals.

    Parameters
    ----------
    estimator : cost model
        Any regressor predicting positive values (a :mod:`workbench.costmodels.estimators` model).
    alpha : float
        Miscoverage: 0.1 gives 90 % intervals.
    cv : int
        Folds for the out-of-fold residuals (at most the number of groups when ``groups`` are given;
        with a single group, folds are drawn over rows).
    random_state : int
        Shuffling of the folds when no groups are given.

    Attributes
    ----------
    estimator_ : fitted clone of ``estimator`` on all rows.
    q_ : float
        Half-width of the interval in log space (interval factor ``e^q_``).
    oof_log_ratio_ : numpy array
        Out-of-fold ``log(ŷ / y)`` of the training rows (except ``train_only`` rows).
    """

    def __init__(self, estimator=None, alpha: float = 0.1, cv: int = 5, random_state: int = 0):
        self.estimator = estimator
        self.alpha = alpha
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y, groups=None, train_only=None, **fit_params):
        """Fit; ``fit_params`` (e.g. ``layers=`` for LayerwiseCostModel) go to every inner fit.

        ``train_only`` (array of bool) marks rows that are in every cross-fitting fold's training
        set and never give a calibration residual (an operator benchmark: the intervals are for
        model families, and these rows are not one). By default, rows whose group is
        :data:`workbench.schema.OPERATOR_FAMILY`. Rows of that group are also passed as
        ``operator_rows`` to an estimator whose ``fit`` takes it (:class:`LayerwiseCostModel`).
        """
        from workbench.costmodels.estimators import LogLinearCostModel

        y = _check_y(y)
        if not (0 < self.alpha < 1):
            raise ParameterError(f"alpha must be in (0, 1) (0.1 gives 90 % intervals), got {self.alpha!r}.")
        if not isinstance(self.cv, (int, np.integer)) or self.cv < 2:
            raise ParameterError(f"cv must be an integer >= 2, got {self.cv!r}.")
        base = self.estimator if self.estimator is not None else LogLinearCostModel()
        X = _frame(X)
        if train_only is None and groups is not None:
            train_only = np.asarray(groups) == OPERATOR_FAMILY
            train_only = train_only if 0 < train_only.sum() < len(y) else None
        always = np.zeros(len(y), bool) if train_only is None else np.asarray(train_only, bool)
        if always.shape != y.shape or always.all():
            raise ParameterError(f"train_only must mark some, not all, of the {y.size} rows (got {always.size} "
                                 f"entries, {int(always.sum())} set).")
        cal = np.flatnonzero(~always)
        fixed = np.flatnonzero(always)
        families = None if groups is None else np.asarray(groups)
        if groups is not None:
            groups = np.asarray(groups)[cal]
            if len(np.unique(groups)) < 2:
                groups = None  # one group: nothing to hold out, residuals come from K-fold over rows
        if groups is not None:
            splits = GroupKFold(n_splits=min(self.cv, len(np.unique(groups)))).split(cal, groups=groups)
        else:
            splits = KFold(n_splits=min(self.cv, cal.size), shuffle=True, random_state=self.random_state).split(cal)
        oof = np.empty(cal.size)
        for tr, te in splits:
            train = np.concatenate([cal[tr], fixed])
            ops = operator_fit_params(base, None if families is None else families[train])
            m = clone(base).fit(X.iloc[train], y[train], **ops, **fit_params)
            oof[te] = m.predict(X.iloc[cal[te]], **fit_params)
        oof = np.maximum(oof, 1e-300)
        self.oof_log_ratio_ = np.log(oof / y[cal])
        self.q_ = conformal_quantile(np.abs(self.oof_log_ratio_), self.alpha)
        self.estimator_ = clone(base).fit(X, y, **operator_fit_params(base, families), **fit_params)
        self.feature_names_in_ = list(X.columns)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict(self, X, **predict_params):
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X, **predict_params)

    def predict_interval(self, X, **predict_params):
        """Lower and upper bounds of the ``1 − alpha`` prediction interval [target unit]."""
        p = self.predict(X, **predict_params)
        return p * np.exp(-self.q_), p * np.exp(self.q_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags
