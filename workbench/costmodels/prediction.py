"""Latency of zoo models on this machine predicted from counted features, without running them.

:func:`predict_zoo` fits one cost model on every training run (:func:`workbench.costmodels.training.training_runs`)
and prices zoo models from their counted FLOPs, sizes and per-layer breakdown
(:func:`workbench.costmodels.features.zoo_features`), with conformal intervals; where the store
holds a run of a model with the training runs' settings, the measurement stands beside the
prediction. :func:`inside_interval` is the one rule for "the measurement lies in its interval".
"""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.checks import check_interval
from workbench.costmodels.estimators import FeatureMismatchError
from workbench.costmodels.factory import make_estimator, needs_layers
from workbench.costmodels.features import align_features, training_data, zoo_features
from workbench.costmodels.training import TARGET, TrainingRuns, check_training_kinds, read_runs
from workbench.errors import ParameterError
from workbench.schema import OPERATOR_FAMILY

BASE_ONLY_KINDS = ("flops", "roofline", "loglinear")
"""Kinds whose prediction uses FLOPs and sizes only (no per-layer-type column)."""


def inside_interval(y, lower, upper) -> np.ndarray:
    """Whether each ``y`` lies in [lower, upper]; a NaN bound (0 × ∞ of an open interval) counts as outside,
    as in :func:`workbench.costmodels.validation.metrics`, so rows and coverage agree.

    Parameters
    ----------
    y, lower, upper : array-like
        Measured values and interval bounds [same unit].

    Returns
    -------
    numpy.ndarray of bool
    """
    y, lo, hi = (np.asarray(a, float) for a in (y, lower, upper))
    return (y >= lo) & (y <= hi)


def _architecture(spec) -> tuple:
    return spec.family, float(spec.width), int(spec.depth), int(spec.resolution)


def _predict(est, X, layers):
    kw = {"layers": layers} if needs_layers(est) else {}
    with np.errstate(over="ignore", invalid="ignore"):  # open-ended intervals (q = inf with few rows)
        lo, hi = est.predict_interval(X, **kw)
    return np.asarray(est.predict(X, **kw), float), np.asarray(lo, float), np.asarray(hi, float)


def predict_zoo(runs: TrainingRuns, models, store, *, kind: str = "layerwise", interval: float = 0.9) -> pl.DataFrame:
    """Latency of zoo ``models`` on this machine predicted from counted features, next to stored measurements.

    The cost model of ``kind`` is fitted on every training row of ``runs`` (all families, intervals
    calibrated family-out); the models are *not* profiled: their FLOPs, sizes and per-layer
    breakdown are counted (:func:`workbench.costmodels.features.zoo_features`).

    Parameters
    ----------
    runs : TrainingRuns
        The training runs (:func:`workbench.costmodels.training.training_runs`).
    models : list of str or None
        Zoo names; None: the zoo's default models (:func:`workbench.measure.zoo.default_names`).
    store : Store or path
        Read (never written) for measurements of the models with the training runs' settings.
    kind : str
        Cost-model kind (:func:`workbench.costmodels.training.check_training_kinds`).
    interval : float
        Nominal coverage of the conformal intervals [1] (0.9: 90 % intervals).

    Returns
    -------
    polars.DataFrame
        ``model``, ``model_family``, ``flops`` [FLOP per inference], ``predicted_latency_ms``,
        ``lower_latency_ms``, ``upper_latency_ms`` [ms] (interval of coverage ``interval``),
        ``measured_latency_ms`` [ms] (fastest stored run with the same device, dtype, batch size and
        threads; null if none), ``runs`` (stored runs), ``predicted_over_measured`` [1], ``inside_interval``,
        ``in_training`` (the same architecture — family, width, depth, resolution — is a
        training variant, so the prediction is not out of sample) and ``unseen_layer_types`` (layer
        types of the model that no training variant has; kinds that cannot price them leave the
        prediction null, the additive kinds price them with their type-independent terms).

    Raises
    ------
    ParameterError
        No model, a bad ``interval`` or a kind that cannot be fitted on the training runs.
    UnknownNameError
        An unknown kind or zoo model.
    """
    from workbench.measure import zoo  # imports torch

    check_training_kinds([kind])
    interval = check_interval(interval)
    models = list(dict.fromkeys(models if models is not None else zoo.default_names()))
    if not models:
        raise ParameterError("no model to predict. Fix: name zoo models (see `workbench models`).")
    specs = {m: zoo.resolve(m) for m in models}
    X, y, meta = training_data(runs.rows, runs.layers, target=TARGET)
    est = make_estimator(kind, interval=interval)
    kw = {"layers": runs.layers} if needs_layers(est) else {}
    est.fit(X, y, groups=meta["model_family"].to_numpy(), **kw)
    cols = list(X.columns)
    Xz, lz = zoo_features(models)
    Xz = align_features(Xz, cols)
    unseen = {m: sorted(c.split("__", 1)[1] for c in Xz.columns
                        if c.startswith("count__") and c not in cols and Xz.loc[m, c] > 0) for m in models}
    if kind in BASE_ONLY_KINDS:  # they use FLOPs and sizes only: per-layer columns are irrelevant
        Xz = Xz[cols]
    pred, lo, hi = (np.full(len(models), np.nan) for _ in range(3))
    try:
        pred, lo, hi = _predict(est, Xz, lz)
    except FeatureMismatchError:  # this kind cannot price layer types it never saw: only the others
        ok = [m for m in models if not unseen[m]]
        if ok:
            idx = [models.index(m) for m in ok]
            pred[idx], lo[idx], hi[idx] = _predict(est, Xz.loc[ok, cols], lz[lz["measurement_id"].isin(ok)])
    stored = read_runs(store, models, runs.device_name, runs.threads)
    meas = {m: (float(v), int(n)) for m, v, n in
            stored.group_by("model").agg(pl.col("latency_ms_p50").min(), pl.len()).iter_rows()}
    trained = {_architecture(zoo.resolve(m))
               for m, f in zip(meta["model"], meta["model_family"], strict=True) if f != OPERATOR_FAMILY}
    out = pl.DataFrame({
        "model": models, "model_family": [specs[m].family for m in models],
        "flops": Xz.loc[models, "flops"].to_numpy(float),
        "predicted_latency_ms": pred, "lower_latency_ms": lo, "upper_latency_ms": hi,
        "measured_latency_ms": [meas.get(m, (None, 0))[0] for m in models],
        "runs": [meas.get(m, (None, 0))[1] for m in models],
        "in_training": [_architecture(specs[m]) in trained for m in models],
        "unseen_layer_types": [", ".join(unseen[m]) for m in models],
    }, schema_overrides={"measured_latency_ms": pl.Float64}).with_columns(
        pl.col("predicted_latency_ms", "lower_latency_ms", "upper_latency_ms").fill_nan(None))
    measured = out["measured_latency_ms"].to_numpy()
    inside = pl.Series("inside_interval", inside_interval(measured, lo, hi))
    return out.with_columns(
        (pl.col("predicted_latency_ms") / pl.col("measured_latency_ms")).alias("predicted_over_measured"),
        pl.when(pl.col("measured_latency_ms").is_not_null()).then(inside).otherwise(None).alias("inside_interval"),
    ).select("model", "model_family", "flops", "predicted_latency_ms", "lower_latency_ms", "upper_latency_ms",
             "measured_latency_ms", "runs", "predicted_over_measured", "inside_interval", "in_training",
             "unseen_layer_types").sort("model")
