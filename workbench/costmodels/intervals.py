"""Prediction intervals for cost models by (cross-)conformal prediction in log space.

:class:`ConformalCostModel` wraps any cost model. At ``fit`` it computes out-of-fold *log ratios*
``|log y − log ŷ|`` with K-fold cross-fitting (by group, e.g. model family, when ``groups`` are
given, so the residuals are those of families the inner model has not seen), and keeps their
``⌈(n+1)·interval⌉/n`` empirical quantile ``q_``. The interval of a prediction ŷ is
``[ŷ·e^(−q_), ŷ·e^(+q_)]``: multiplicative, as errors of latency models are relative.

``interval`` is the nominal coverage (0.9: 90 % intervals), as everywhere in the workbench; the
textbook miscoverage α = 1 − ``interval`` appears only in :func:`conformal_quantile`.

Coverage is guaranteed (≥ ``interval``) only when the new rows are exchangeable with the calibration
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

from workbench.checks import check_int, check_interval
from workbench.costmodels.base import _check_y, _frame, operator_fit_params
from workbench.costmodels.regressions import LogLinearCostModel
from workbench.errors import ParameterError
from workbench.schema import OPERATOR_FAMILY


def _coverage_quantile(scores, coverage: float) -> float:
    """The ``⌈(n+1)·coverage⌉``-th smallest score (∞ when n is too small for the coverage).

    A product ``(n+1)·coverage`` within 1e-9 (relative) of an integer counts as that integer, so
    the float error of a decimal coverage (0.07 is 0.07000000000000000666...) cannot add a rank.
    """
    s = np.sort(np.asarray(scores, dtype=float))
    n = s.size
    v = (n + 1) * coverage
    k = int(round(v)) if abs(v - round(v)) <= 1e-9 * max(1.0, v) else int(np.ceil(v))
    return float("inf") if k > n else float(s[k - 1])


def calibration_rows_needed(interval: float) -> int:
    """The fewest calibration rows whose ``⌈(n+1)·interval⌉``-th smallest score exists (a finite interval).

    The rule of :func:`_coverage_quantile`, which :class:`ConformalCostModel` uses: 9 rows for 0.9.

    Raises
    ------
    ParameterError
        ``interval`` is not a fraction in (0, 1).
    """
    interval = check_interval(interval)
    n = 1
    while not np.isfinite(_coverage_quantile(np.zeros(n), interval)):
        n += 1
    return n


def conformal_quantile(scores, alpha: float) -> float:
    """The ``⌈(n+1)(1−α)⌉``-th smallest score (∞ when n is too small for the level).

    The textbook form, in the miscoverage ``alpha`` (0.1 for 90 % intervals);
    :class:`ConformalCostModel` takes the coverage ``interval`` instead.

    Parameters
    ----------
    scores : array
        Nonconformity scores of the calibration rows.
    alpha : float
        Miscoverage, in (0, 1).

    Returns
    -------
    float
        The quantile (in the unit of the scores), or ``inf``.
    """
    return _coverage_quantile(scores, 1 - alpha)


class ConformalCostModel(RegressorMixin, BaseEstimator):
    """A cost model with conformal prediction intervals.

    Parameters
    ----------
    estimator : cost model
        Any regressor predicting positive values (a :mod:`workbench.costmodels.estimators` model);
        default :class:`~workbench.costmodels.regressions.LogLinearCostModel`.
    interval : float
        Nominal coverage of the prediction intervals, in (0, 1): 0.9 gives 90 % intervals.
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
    calibration_ : str
        ``"family-out"`` (folds held out whole groups) or ``"rows"`` (K folds over rows: no groups,
        or a single one, so the coverage for a new group is not tested).
    """

    def __init__(self, estimator=None, interval: float = 0.9, cv: int = 5, random_state: int = 0):
        self.estimator = estimator
        self.interval = interval
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y, groups=None, train_only=None, progress=None, **fit_params):
        """Compute the out-of-fold calibration residuals and ``q_``, then fit the model on all rows.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            The features the inner estimator needs.
        y : array, shape (n_rows,)
            Target per forward call [target unit, e.g. ms], finite and > 0.
        groups : array, shape (n_rows,), optional
            Group of each row (model family): folds hold out whole groups, so the residuals are
            those of groups the inner model has not seen. With one group, folds are drawn over rows.
        train_only : array of bool, shape (n_rows,), optional
            Rows that are in every fold's training set and never give a calibration residual (an
            operator benchmark: the intervals are for model families, and these rows are not one).
            By default, rows whose group is :data:`workbench.schema.OPERATOR_FAMILY`. Rows of that
            group are also passed as ``operator_rows`` to an estimator whose ``fit`` takes it
            (:class:`~workbench.costmodels.layerwise.LayerwiseCostModel`).
        progress : callable, optional
            ``progress(iterable, total=, desc=)`` wrapping the cross-fitting folds, e.g. ``tqdm`` (the
            CLI's bar, :mod:`workbench.cli.progress`); it must yield the same items. ``None``: no bar.
        **fit_params
            Passed to every inner ``fit`` and ``predict`` (e.g. ``layers=`` for LayerwiseCostModel).

        Returns
        -------
        self : ConformalCostModel

        Raises
        ------
        ParameterError
            ``interval`` not in (0, 1), ``cv`` not an integer ≥ 2, a target ≤ 0, ``train_only``
            of the wrong length or marking every row, fewer than 2 calibration rows (rows not
            ``train_only``: a cross-fit needs 2 folds); and what the inner ``fit`` raises.
        """
        y = _check_y(y)
        interval = check_interval(self.interval)
        check_int(self.cv, "cv", minimum=2, fix="give the number of cross-fitting folds, e.g. cv=5.")
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
        if cal.size < 2:
            ops = f" ({fixed.size} operator-block rows train but never calibrate)" if fixed.size else ""
            raise ParameterError(
                f"conformal prediction intervals need at least 2 calibration rows (one per cross-fitting fold), "
                f"got {cal.size}{ops}. Fix: measure more models, or fit without intervals (interval=None; "
                "CLI: --interval 0).")
        families = None if groups is None else np.asarray(groups)
        if groups is not None:
            groups = np.asarray(groups)[cal]
            if len(np.unique(groups)) < 2:
                groups = None  # one group: nothing to hold out, residuals come from K-fold over rows
        self.calibration_ = "rows" if groups is None else "family-out"
        if groups is not None:
            splits = GroupKFold(n_splits=min(self.cv, len(np.unique(groups)))).split(cal, groups=groups)
        else:
            splits = KFold(n_splits=min(self.cv, cal.size), shuffle=True, random_state=self.random_state).split(cal)
        oof = np.empty(cal.size)
        if progress is not None:
            splits = progress(list(splits), desc="fit: calibration folds")
        for tr, te in splits:
            train = np.concatenate([cal[tr], fixed])
            ops = operator_fit_params(base, None if families is None else families[train])
            m = clone(base).fit(X.iloc[train], y[train], **ops, **fit_params)
            oof[te] = m.predict(X.iloc[cal[te]], **fit_params)
        oof = np.maximum(oof, 1e-300)
        self.oof_log_ratio_ = np.log(oof / y[cal])
        self.q_ = _coverage_quantile(np.abs(self.oof_log_ratio_), interval)
        self.estimator_ = clone(base).fit(X, y, **operator_fit_params(base, families), **fit_params)
        self.feature_names_in_ = list(X.columns)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict(self, X, **predict_params):
        """Point prediction of the inner estimator fitted on all rows.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            The features the inner estimator was fitted on.
        **predict_params
            Passed to the inner ``predict`` (e.g. ``layers=`` for LayerwiseCostModel).

        Returns
        -------
        numpy array, shape (n_rows,)
            Prediction [target unit].

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        FeatureMismatchError
            X lacks a fitted column or holds one the model was not fitted on.
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X, **predict_params)

    def predict_interval(self, X, **predict_params):
        """Bounds of the prediction interval of coverage ``interval``, ``[ŷ·e^(−q_), ŷ·e^(+q_)]``.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            The features the inner estimator was fitted on.
        **predict_params
            Passed to the inner ``predict`` (e.g. ``layers=`` for LayerwiseCostModel).

        Returns
        -------
        (lower, upper) : tuple of numpy arrays, shape (n_rows,)
            Bounds [target unit]; (0, inf) when there are too few calibration rows for the coverage.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        FeatureMismatchError
            X lacks a fitted column or holds one the model was not fitted on.
        """
        p = self.predict(X, **predict_params)
        return p * np.exp(-self.q_), p * np.exp(self.q_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags
