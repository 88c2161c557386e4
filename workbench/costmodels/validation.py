"""Validation of cost models: metrics and leave-one-family-out cross-validation.

Metrics (all on the original scale of the target):

- ``mape``: mean absolute percentage error, ``mean(|ŷ − y| / y)`` as a fraction (0.1 = 10 %);
- ``rmse``: root mean squared error [target unit];
- ``within10``: share of predictions within ±10 % of the measurement, ``mean(|ŷ − y| / y ≤ 0.1)``
  (the accuracy metric of nn-Meter, Zhang et al., MobiSys 2021, Sec. 6);
- ``coverage``: share of measurements inside their prediction interval (when intervals exist).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from workbench.costmodels.estimators import fit_intercept_scale, operator_fit_params
from workbench.errors import ParameterError


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error as a fraction [1]."""
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    return float(np.mean(np.abs(p - y) / y))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error [unit of y]."""
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    return float(np.sqrt(np.mean((p - y) ** 2)))


def within(y_true, y_pred, tol: float = 0.10) -> float:
    """Share of predictions within ±``tol`` (relative) of the truth [1]."""
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    return float(np.mean(np.abs(p - y) / y <= tol + 1e-12))


def metrics(y_true, y_pred, lower=None, upper=None) -> dict:
    """``n``, ``mape``, ``rmse``, ``within10`` and (with bounds) ``coverage`` and ``median_width_factor``."""
    out = {"n": int(np.size(y_true)), "mape": mape(y_true, y_pred), "rmse": rmse(y_true, y_pred),
           "within10": within(y_true, y_pred, 0.10)}
    if lower is not None and upper is not None:
        y = np.asarray(y_true, float)
        out["coverage"] = float(np.mean((y >= lower) & (y <= upper)))
        out["median_width_factor"] = float(np.median(np.sqrt(np.asarray(upper) / np.asarray(lower))))
    return out


def leave_one_group_out(estimator, X, y, groups, *, meta: pd.DataFrame | None = None,
                        pass_groups: bool = True, fit_params: dict | None = None,
                        train_only=None, n_jobs: int | None = None) -> pd.DataFrame:
    """Predict every row with a clone of ``estimator`` fitted on the other groups (families).

    Parameters
    ----------
    estimator : cost model
        Cloned and fitted once per held-out group. A :class:`ConformalCostModel` gets the remaining
        groups for its family-out calibration and contributes ``lower``/``upper`` columns.
    X : DataFrame
    y : array [target unit]
    groups : array
        Group of each row (model family for leave-one-family-out).
    meta : DataFrame, optional
        Identity columns (model, device) copied into the result.
    fit_params : dict, optional
        Extra keyword arguments of ``fit`` and ``predict`` (``layers=`` for LayerwiseCostModel).
    train_only : array of bool, optional
        Rows that are in every training set and never predicted (e.g. an operator benchmark whose
        networks are not a family under test). Rows whose group is the operator family are passed as
        ``operator_rows`` to an estimator whose ``fit`` takes it (:func:`operator_fit_params`).
    n_jobs : int, optional
        Held-out groups fitted in parallel (joblib; ``-1``: one per core). The folds are independent
        and each estimator has a fixed random state, so the result does not depend on it.

    Returns
    -------
    DataFrame with ``group``, ``y_true``, ``y_pred`` (and ``lower``, ``upper``) per predicted row.
    """
    groups = np.asarray(groups)
    y = np.asarray(y, float)
    always = np.zeros(len(y), bool) if train_only is None else np.asarray(train_only, bool)
    if always.shape != y.shape:
        raise ParameterError(f"train_only has {always.size} entries for {y.size} rows.")
    uniq = np.unique(groups[~always])
    if len(uniq) < 2:
        raise ParameterError(f"leave-one-group-out needs at least 2 groups, got {uniq.tolist()}.")
    X = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    pred = np.empty_like(y)
    lo = np.full_like(y, np.nan)
    hi = np.full_like(y, np.nan)
    kw = fit_params or {}

    def fold(g):
        te = (groups == g) & ~always
        m = clone(estimator)
        if pass_groups and hasattr(m, "predict_interval"):
            extra = {"train_only": always[~te]} if always.any() else {}
            m.fit(X[~te], y[~te], groups=groups[~te], **extra, **kw)
        else:
            m.fit(X[~te], y[~te], **operator_fit_params(m, groups[~te]), **kw)
        bounds = m.predict_interval(X[te], **kw) if hasattr(m, "predict_interval") else None
        return te, m.predict(X[te], **kw), bounds

    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0):
        raise ParameterError(f"n_jobs must be a non-zero integer (-1: one per core) or None, got {n_jobs!r}.")
    if n_jobs in (None, 1):
        folds = [fold(g) for g in uniq]
    else:
        from joblib import Parallel, delayed

        folds = Parallel(n_jobs=n_jobs)(delayed(fold)(g) for g in uniq)
    for te, p, bounds in folds:
        pred[te] = p
        if bounds is not None:
            lo[te], hi[te] = bounds
    out = pd.DataFrame({"group": groups, "y_true": y, "y_pred": pred})
    if not np.all(np.isnan(lo)):
        out["lower"], out["upper"] = lo, hi
    if meta is not None:
        out = pd.concat([meta.reset_index(drop=True), out], axis=1)
    return out[~always].reset_index(drop=True)


def layer_sum_family_out(y, layer_sum_ms, groups, *, operator_rows=None) -> pd.DataFrame:
    """Each network's latency predicted family-out from the sum of its *measured* per-layer times.

    The intercept and scale are fitted as in :class:`~workbench.costmodels.estimators.LayerwiseCostModel`
    (:func:`~workbench.costmodels.estimators.fit_intercept_scale`) on the networks of the other
    groups. This is the ceiling of a per-layer additive model on these measurements: a per-layer
    regressor that predicted every layer's measured time exactly would score this, so it tells how
    far the measurements are additive (the premise of per-layer models and of DNN partitioning).

    Parameters
    ----------
    y : array [ms]
        Measured latency of each network (one forward call).
    layer_sum_ms : array [ms]
        Sum of the measured per-layer latencies of the same call (the profiler's breakdown).
    groups : array
        Model family of each row.
    operator_rows : array of bool, optional
        Operator-benchmark rows: neither fitted on nor predicted.

    Returns
    -------
    DataFrame with ``group``, ``y_true``, ``y_pred`` per network row (input order).
    """
    y, s, groups = np.asarray(y, float), np.asarray(layer_sum_ms, float), np.asarray(groups)
    ops = np.zeros(len(y), bool) if operator_rows is None else np.asarray(operator_rows, bool)
    if not (y.shape == s.shape == groups.shape == ops.shape):
        raise ParameterError(f"y, layer_sum_ms, groups and operator_rows need one entry per row, got "
                             f"{y.size}, {s.size}, {groups.size} and {ops.size}.")
    bad = ~(np.isfinite(y) & (y > 0) & np.isfinite(s) & (s >= 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParameterError(f"row {i}: latency {float(y[i])} ms and layer sum {float(s[i])} ms; both must be "
                             "finite, the latency > 0 and the sum >= 0. Fix: drop rows without a per-layer breakdown.")
    uniq = np.unique(groups[~ops])
    if len(uniq) < 2:
        raise ParameterError(f"leave-one-group-out needs at least 2 groups, got {uniq.tolist()}.")
    pred = np.full(len(y), np.nan)
    for g in uniq:
        train = (groups != g) & ~ops
        a, b = fit_intercept_scale(s[train], y[train])
        test = groups == g
        pred[test] = a + b * s[test]
    keep = ~ops
    return pd.DataFrame({"group": groups[keep], "y_true": y[keep], "y_pred": pred[keep]})


def summarize(pred: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Metrics of a prediction frame (from :func:`leave_one_group_out`), overall or per ``by`` column(s)."""

    def one(d: pd.DataFrame) -> dict:
        if "lower" in d:
            return metrics(d["y_true"], d["y_pred"], d["lower"], d["upper"])
        return metrics(d["y_true"], d["y_pred"])

    if by is None:
        return pd.DataFrame([one(pred)])
    rows = []
    for key, d in pred.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip([by] if isinstance(by, str) else by, key)), **one(d)})
    return pd.DataFrame(rows)
