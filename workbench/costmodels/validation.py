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

from workbench.checks import check_int
from workbench.costmodels.base import fit_intercept_scale, operator_fit_params
from workbench.costmodels.factory import check_kind, make_estimator, needs_layers
from workbench.costmodels.features import training_data, training_layers
from workbench.errors import ParameterError
from workbench.execution import map_tasks
from workbench.schema import OPERATOR_FAMILY


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


def check_n_jobs(n_jobs) -> int | None:
    """``n_jobs`` if it is None or a non-zero integer (joblib's convention: -1 is one per core).

    Raises
    ------
    ParameterError
        Not None, not an integer, or 0.
    """
    if n_jobs is None:
        return None
    fix = "give the number of parallel fits (-1: one per core; 1 or None: none in parallel; CLI: --jobs)."
    n_jobs = check_int(n_jobs, "n_jobs", minimum=None, fix=fix)
    if n_jobs == 0:  # joblib's convention: a positive count, or -1, -2, ... for all cores, all but one, ...
        raise ParameterError(f"n_jobs must be a non-zero integer (-1: one per core) or None, got 0. Fix: {fix}")
    return n_jobs


def leave_one_group_out(estimator, X, y, groups, *, meta: pd.DataFrame | None = None,
                        pass_groups: bool = True, fit_params: dict | None = None,
                        train_only=None, n_jobs: int | None = None, backend: str | None = None,
                        address: str | None = None) -> pd.DataFrame:
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
    backend : {"serial", "processes", "ray"}, optional
        Where the folds run (:func:`workbench.execution.map_tasks`); default ``"serial"`` for ``n_jobs``
        None or 1, else ``"processes"`` (joblib, as before). ``"ray"`` with ``address`` runs them on a cluster.
    address : str, optional
        Ray head for ``backend="ray"``.

    Returns
    -------
    DataFrame with ``group``, ``y_true``, ``y_pred`` (and ``lower``, ``upper``) per predicted row.

    Raises
    ------
    ParameterError
        ``n_jobs`` not None or a non-zero integer, ``train_only`` of the wrong length, fewer
        than 2 groups to hold out, or (an estimator with intervals) a held-out group that leaves
        fewer than 2 rows to calibrate on.
    """
    n_jobs = check_n_jobs(n_jobs)
    groups = np.asarray(groups)
    y = np.asarray(y, float)
    always = np.zeros(len(y), bool) if train_only is None else np.asarray(train_only, bool)
    if always.shape != y.shape:
        raise ParameterError(f"train_only has {always.size} entries for {y.size} rows.")
    uniq = np.unique(groups[~always])
    if len(uniq) < 2:
        raise ParameterError(f"leave-one-group-out needs at least 2 groups, got {uniq.tolist()}. Fix: add rows of "
                             "another group (each group is predicted by a model fitted on the others).")
    if hasattr(estimator, "predict_interval"):
        left = {g: int(((groups != g) & ~always).sum()) for g in uniq}
        g, n = min(left.items(), key=lambda kv: kv[1])
        if n < 2:
            raise ParameterError(
                f"with prediction intervals every fold calibrates on the rows it trains on and needs at least 2; "
                f"holding out {str(g)!r} leaves {n}. Fix: measure more models of the other groups, or evaluate without "
                "intervals (interval=None; CLI: --interval 0).")
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

    backend = backend or ("serial" if n_jobs in (None, 1) else "processes")
    folds = map_tasks(fold, list(uniq), backend=backend, n_jobs=n_jobs, address=address)
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
        raise ParameterError(f"leave-one-group-out needs at least 2 groups, got {uniq.tolist()}. Fix: add networks "
                             "of another family.")
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
        rows.append({**dict(zip([by] if isinstance(by, str) else by, key, strict=True)), **one(d)})
    return pd.DataFrame(rows)


def evaluate_family_out(X: pd.DataFrame, y, meta: pd.DataFrame, kinds=("flops", "loglinear", "additive"),
                        interval: float | None = 0.9, layers=None,
                        train_only=None, n_jobs: int | None = None,
                        progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-family-out predictions and metrics of several kinds of cost model.

    ``layers`` (the per-layer table) is needed for the ``layerwise`` kind. ``train_only`` marks
    rows that are in every training set and never evaluated; by default the operator-benchmark
    rows (``model_family`` :data:`workbench.schema.OPERATOR_FAMILY`, :mod:`workbench.measure.kernels`).
    ``n_jobs`` fits the held-out families in parallel (:func:`leave_one_group_out`; same result).
    ``progress``, when given, wraps the kinds as they are evaluated (``progress(iterable, total=, desc=)``,
    e.g. the CLI's tqdm bar, :mod:`workbench.cli.progress`); the results do not depend on it.

    Returns
    -------
    (predictions, metrics)
        ``predictions``: one row per (kind, measurement) with y_true, y_pred (and bounds);
        ``metrics``: per kind overall (``device_class == model_family == "all"``), per device
        class (when there are several) and per family.

    Raises
    ------
    UnknownNameError
        An unknown kind.
    ParameterError
        ``interval`` not in (0, 1) or ``n_jobs`` 0; the rows hold fewer than 2 model families (besides
        operator blocks); a kind the rows cannot feed (:func:`~workbench.costmodels.factory.check_kind`);
        with intervals, a held-out family that leaves fewer than 2 rows to calibrate on.
    """
    n_jobs = check_n_jobs(n_jobs)
    groups = meta["model_family"].fillna("?").to_numpy()
    if train_only is None and 0 < (groups == OPERATOR_FAMILY).sum() < len(groups):
        train_only = groups == OPERATOR_FAMILY
    for kind in kinds:  # every kind is checked before the first is fitted
        make_estimator(kind, interval=interval)
        check_kind(kind, None, X)
    scored = groups if train_only is None else groups[~np.asarray(train_only, bool)]
    fams, counts = np.unique(scored, return_counts=True)
    if len(fams) < 2:
        held = ", ".join(f"{f!r} ({c} rows)" for f, c in zip(fams.tolist(), counts.tolist(), strict=True)) or "none"
        raise ParameterError(
            f"leave-one-family-out evaluation needs rows of at least 2 model families (each family is predicted by "
            f"models fitted on the others); the rows hold {len(fams)}: {held}. Fix: profile models of a second "
            "family (`workbench profile --model ...`), or select more rows (--device-class, --device-name).")
    preds, tables = [], []
    for kind in kinds if progress is None else progress(list(kinds), total=len(kinds), desc="evaluate"):
        est = make_estimator(kind, interval=interval)
        kw = {"layers": layers} if needs_layers(est) else None
        p = leave_one_group_out(est, X, y, groups, meta=meta, fit_params=kw, train_only=train_only, n_jobs=n_jobs)
        p = p.assign(kind=kind)
        preds.append(p)
        tables.append(summarize(p).assign(kind=kind, device_class="all", model_family="all"))
        if "device_class" in p and p["device_class"].nunique() > 1:
            tables.append(summarize(p, by="device_class").assign(kind=kind, model_family="all"))
        tables.append(summarize(p, by="model_family").assign(kind=kind, device_class="all"))
    m = pd.concat(tables, ignore_index=True)
    key = ["kind", "device_class", "model_family"]
    cols = key + [c for c in m.columns if c not in key]
    return pd.concat(preds, ignore_index=True), m[cols]


def evaluate_benchmark_out(rows, layers=None, *, target: str = "latency_ms", kinds=("flops", "loglinear-flops"),
                           device_class: str | None = "mcu", min_models: int = 3,
                           aggregate: str = "min") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-benchmark-out error of per-board cost models fitted on rows with twin features.

    For every board (``device_name``) of ``device_class`` with at least ``min_models`` distinct
    models carrying ``target``, each model is predicted by a cost model fitted on the board's other
    models (repeated results of one model on one board become one row, see ``aggregate``). This
    is the error to expect when projecting a model the board was never measured on.

    Parameters
    ----------
    rows : DataFrame
        Rows with twin features (:func:`with_zoo_features`).
    layers : DataFrame, optional
        Per-layer table (needed for layer-based kinds only).
    target : str
        ``latency_ms`` or ``energy_j`` (:data:`~workbench.costmodels.features.TARGETS`).
    kinds : list of str
        Cost-model kinds (:data:`~workbench.costmodels.kinds.KINDS`).
    device_class : str or None
        Boards of this class only (None: every board).
    min_models : int
        Boards with fewer distinct models are skipped (at least 3: 2 to fit, 1 to predict).
    aggregate : {"min", "median"}
        How repeated results of one model on one board become one training row.

    Returns
    -------
    (predictions, metrics)
        ``predictions``: ``kind``, ``device_name``, ``model``, ``y_true``, ``y_pred`` per held-out
        model; ``metrics``: per kind overall (``device_name == "all"``) and per board: ``n``,
        ``mape``, ``rmse`` [target unit], ``within10``, plus ``median_ape`` (median |ŷ−y|/y).

    Raises
    ------
    ParameterError
        ``min_models`` not an integer ≥ 3, or no board has ``min_models`` models with the target.
    """
    min_models = check_int(min_models, "min_models", minimum=3, fix="give 3 or more: two models to fit, one held out.")
    X, y, meta = training_data(rows, layers, target=target, device_class=device_class, aggregate=aggregate)
    layers = training_layers(rows, layers, aggregate=aggregate)
    meta = meta.assign(device_name=meta["device_name"].astype(str))
    counts = meta.groupby("device_name")["model"].nunique()
    boards = sorted(counts[counts >= min_models].index)
    if not boards:
        raise ParameterError(
            f"no board of class {device_class!r} has {min_models} distinct models with {target!r} and twin "
            f"features (models per board: {counts.to_dict()}). Fix: attach features with with_zoo_features() "
            "and check the rows carry the target.")
    preds = []
    for kind in kinds:
        for b in boards:
            sel = (meta["device_name"] == b).to_numpy()
            est = make_estimator(kind, interval=None)
            kw = {"layers": layers} if needs_layers(est) else None
            p = leave_one_group_out(est, X[sel], y[sel], meta.loc[sel, "model"].to_numpy(),
                                    meta=meta[sel], fit_params=kw)
            preds.append(p.assign(kind=kind))
    pred = pd.concat(preds, ignore_index=True)
    pred["ape"] = np.abs(pred["y_pred"] - pred["y_true"]) / pred["y_true"]
    tables = []
    for kind, d in pred.groupby("kind", sort=False):
        tables.append(summarize(d).assign(kind=kind, device_name="all", median_ape=float(d["ape"].median())))
        per = summarize(d, by="device_name").assign(kind=kind)
        per["median_ape"] = per["device_name"].map(d.groupby("device_name")["ape"].median())
        tables.append(per)
    m = pd.concat(tables, ignore_index=True)
    key = ["kind", "device_name"]
    return pred, m[key + [c for c in m.columns if c not in key]]
