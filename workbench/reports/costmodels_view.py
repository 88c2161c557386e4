"""Tables of notebook 03 (cost models): how well cost fitted on devices we own predicts others.

Three views, each built from :mod:`workbench.costmodels` (nothing is re-fitted differently here):

1. **Own CPU** (device class of this machine, ``server-cpu`` here): a training set of zoo grid
   variants profiled on this machine (:func:`training_variants`, :func:`own_runs`), scored
   leave-one-family-out with conformal intervals (:func:`evaluate_own_cpu`), and used to predict
   models from counted features alone (:func:`predict_models`).
2. **Other device classes from public datasets**: MLPerf Tiny boards (``mcu``,
   ``edge-accelerator``), energy per inference leave-one-board-out
   (:func:`board_energy_section`, model in :mod:`workbench.costmodels.boards`) and a new model on
   a known board leave-one-benchmark-out (:func:`benchmark_out_section`); nn-Meter phones
   and VPU, few-shot calibration of a new device from k measurements (:func:`fewshot_section`);
   the cloud GPU from the project's own committed measurements on an H200, scored like the own
   CPU (:func:`cloud_gpu_section`).
3. One table across device classes (:func:`device_class_summary`).

The public datasets folder comes from :func:`workbench.reports.data.find_datasets_dir`
(``datasets_dir``, ``$WORKBENCH_SHARED_DATA`` or ``../shared/data`` beside the checkout); without
it the dataset sections report what they skipped and how to enable them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from workbench.errors import ParameterError, UnknownNameError
from workbench.reports.data import SHARED_DATA_ENV
from workbench.schema import OPERATOR_FAMILY

MLPERF_TINY_DIR = "mlperf-tiny"
NN_METER_DIR = "nn-meter-model-latency"
"""Sub-folders of the datasets folder read by notebook 03."""

TARGET = "latency_ms"
"""The own-CPU cost models predict median latency per call (``latency_ms_p50``) [ms]."""


# ------------------------------------------------------------------------------------------ inputs
def training_variants(variants_per_family: int, *, families=None, seed: int = 0) -> list[str]:
    """Zoo grid variants drawn at random (fixed ``seed``) from each family's width × depth × resolution grid.

    Parameters
    ----------
    variants_per_family : int
        Variants per family (all of a family's grid when it has fewer).
    families : list of str, optional
        Zoo families (default: all, :data:`workbench.measure.zoo.FAMILIES`).
    seed : int
        Seed of the draw; the same seed gives the same variants.

    Returns
    -------
    list of str
        Variant names, families in zoo order, each family's variants in grid order.
    """
    from workbench.measure import zoo

    if isinstance(variants_per_family, bool) or not isinstance(variants_per_family, int) or variants_per_family < 1:
        raise ParameterError(f"variants_per_family must be an integer >= 1, got {variants_per_family!r}. "
                             "Fix: e.g. 5 (a leave-one-family-out evaluation needs a few per family).")
    fams = list(families) if families is not None else list(zoo.FAMILIES)
    for f in fams:
        if f not in zoo.FAMILIES:
            raise UnknownNameError("zoo family", f, zoo.FAMILIES)
    rng = np.random.default_rng(seed)
    out = []
    for f in fams:
        names = zoo.grid_names([f])
        pick = np.sort(rng.choice(len(names), size=min(variants_per_family, len(names)), replace=False))
        out += [names[i] for i in pick]
    return out


@dataclass(frozen=True)
class OwnRuns:
    """Profiler rows of one configuration family on this machine: fp32, batch size 1, one thread count."""

    rows: pl.DataFrame
    """Every matching run (repeated measurements of a model included) [schema columns]."""
    layers: pl.DataFrame
    """Per-layer rows of those runs (``Store.read_layers()``; zoo runs stored before layer shapes were
    recorded get them from the model definitions, :func:`workbench.costmodels.training.with_layer_shapes`)."""
    device_name: str
    threads: int
    """Intra-op threads of the runs."""
    profiled: tuple[str, ...] = ()
    """Models profiled by this call (empty when the store held them all)."""


def _read_own(store, models, device_name: str, threads: int) -> pl.DataFrame:
    return store.read(filters=(pl.col("source") == "profiler") & (pl.col("device_name") == device_name)
                      & (pl.col("dtype") == "fp32") & (pl.col("batch_size") == 1)
                      & (pl.col("threads") == threads) & pl.col("model").is_in(list(models)))


def _threads(threads) -> int:
    import torch

    if threads is None:
        return int(torch.get_num_threads())
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ParameterError(f"threads must be a positive integer or None (torch's default), got {threads!r}.")
    return threads


def own_runs(store, models, *, threads: int | None = None, repeats: int = 20, warmup: int = 3,
             measure: str = "missing", progress: bool = False, operator_blocks: int = 0,
             operator_seed: int = 0) -> OwnRuns:
    """Runs of ``models`` on this machine (fp32, batch size 1, ``threads``), profiling what the store lacks.

    A model counts as present only when the store holds a run of it with the same thread count, so a
    cost model never mixes thread counts. Unlike :func:`workbench.reports.data.ensure_runs` (the latest
    run per configuration), every matching run is returned: the cost models pick the lowest of
    repeated measurements. Profiling goes through :func:`~workbench.reports.data.ensure_runs` with no energy
    meter (latency is the target; this machine's energy would be a TDP estimate, i.e. latency again)
    and stores the per-layer breakdown the layer-based cost models need.

    Parameters
    ----------
    store : Store or path
    models : list of str
        Zoo names.
    threads : int or None
        Intra-op threads [1]; None: torch's default on this machine (what notebooks 00 and 01 use).
    repeats, warmup : int
        Timed and untimed forward calls per model [calls].
    measure : {"missing", "never", "always"}
        Profile the models without a matching run / none (raise if any lacks one) / all again.
    operator_blocks, operator_seed : int
        Also this many operator-benchmark blocks (:func:`workbench.measure.kernels.kernel_nets`,
        family :data:`workbench.schema.OPERATOR_FAMILY`; 0: none), profiled the same way. The cost
        models train on them and never score them, so a held-out family's operators (a GRU, an
        attention layer) are known even when its architecture is not.

    Raises
    ------
    ParameterError
        ``measure="never"`` and a model has no matching run (the message names them), or bad arguments.
    """
    from workbench.measure import kernels, profiler, zoo
    from workbench.reports.data import MEASURE_MODES, ensure_runs
    from workbench.store import Store

    if measure not in MEASURE_MODES:
        raise UnknownNameError("measure mode", measure, MEASURE_MODES)
    models = list(dict.fromkeys(models))
    if not models:
        raise ParameterError("no model given. Fix: name at least one zoo model (see `workbench models`).")
    for m in models:
        zoo.resolve(m)
    if isinstance(operator_blocks, bool) or not isinstance(operator_blocks, int) or operator_blocks < 0:
        raise ParameterError(f"operator_blocks must be an integer >= 0, got {operator_blocks!r}.")
    nets = {n.name: n for n in kernels.kernel_nets(operator_blocks, seed=operator_seed)} if operator_blocks else {}
    n_threads = _threads(threads)
    store = store if isinstance(store, Store) else Store(Path(store))
    device = profiler.device_info()["device_name"]
    have = _read_own(store, models + list(nets), device, n_threads)
    present = set(have["model"].to_list())
    todo = models if measure == "always" else [m for m in models if m not in present]
    todo_ops = list(nets) if measure == "always" else [m for m in nets if m not in present]
    if (todo or todo_ops) and measure == "never":
        todo = todo + todo_ops
        shown = ", ".join(todo[:5]) + (" ..." if len(todo) > 5 else "")
        raise ParameterError(f"the store {store.path} has no fp32 batch-1 run with {n_threads} thread(s) on "
                             f"{device} of {shown} and measure='never'. Fix: measure='missing'.")
    if todo:
        ensure_runs(store, todo, dtypes=("fp32",), batch_sizes=(1,), repeats=repeats, warmup=warmup,
                    meter="none", energy_window_s=0.0, threads=n_threads, measure="always", progress=progress)
    if todo_ops:
        kernels.profile_kernels([nets[m] for m in todo_ops], repeats=repeats, warmup=warmup, threads=n_threads,
                                store=store)
    if todo or todo_ops:
        have = _read_own(store, models + list(nets), device, n_threads)
    ids = have["measurement_id"].to_list()
    layers = store.read_layers()
    if layers.height:
        layers = layers.filter(pl.col("measurement_id").is_in(ids))
        if layers["input_bytes"].null_count():  # runs stored before layer shapes were recorded
            from workbench.costmodels.training import with_layer_shapes

            layers = with_layer_shapes(have, layers)
    return OwnRuns(have.sort("model", "measurement_id"), layers, device, n_threads, tuple(todo + todo_ops))


# ------------------------------------------------------------------------------------------ own CPU
@dataclass(frozen=True)
class OwnCpuEvaluation:
    """Leave-one-family-out evaluation of cost models on this machine's runs."""

    runs: OwnRuns
    X: pd.DataFrame
    y: np.ndarray
    meta: pd.DataFrame
    kinds: tuple[str, ...]
    alpha: float
    predictions: pl.DataFrame
    """One row per kind × variant: measured and predicted latency [ms], interval, ratio, inside."""
    metrics: pl.DataFrame
    """Per kind, overall (``model_family == "all"``) and per held-out family."""


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not (0 < alpha < 1):
        raise ParameterError(f"alpha must be a miscoverage in (0, 1) (0.1 gives 90 % intervals), got {alpha!r}.")
    return float(alpha)


def _check_kinds(kinds) -> list[str]:
    from workbench.costmodels.kinds import KINDS

    kinds = list(dict.fromkeys(kinds))
    if not kinds:
        raise ParameterError("no cost-model kind given. Fix: e.g. ['flops', 'additive', 'layerwise'] "
                             f"(of {list(KINDS)}).")
    for k in kinds:
        if k not in KINDS:
            raise UnknownNameError("cost-model kind", k, KINDS)
        if k == "roofline":
            raise ParameterError("kind 'roofline' needs this CPU's peak FLOP/s and bandwidth, which the device "
                                 "catalog does not hold for the machine profiling now. Fix: drop 'roofline' "
                                 "(benchmarks/costmodel_accuracy.py measures the peaks and scores it).")
    return kinds


def _inside(y, lower, upper) -> np.ndarray:
    """Whether each ``y`` lies in [lower, upper]; a NaN bound (0 × ∞ of an open interval) counts as outside,
    as in :func:`workbench.costmodels.validation.metrics`, so rows and coverage agree."""
    y, lo, hi = (np.asarray(a, float) for a in (y, lower, upper))
    return (y >= lo) & (y <= hi)


def _metric_frame(m: pd.DataFrame, key: list[str]) -> pl.DataFrame:
    cols = {"n": "n", "mape": "mape", "within10": "within10", "rmse": "rmse", "coverage": "coverage",
            "median_width_factor": "median_interval_factor"}
    out = m[key + [c for c in cols if c in m.columns]].rename(columns=cols)
    return pl.from_pandas(out.reset_index(drop=True))


def _family_out(rows: pl.DataFrame, layers: pl.DataFrame, kinds: list[str], alpha: float):
    """``(X, y, meta, predictions, metrics)`` of leave-one-family-out latency models on store rows
    (the shared core of :func:`evaluate_own_cpu` and :func:`cloud_gpu_section`)."""
    from workbench.costmodels.features import training_data, training_layers
    from workbench.costmodels.validation import evaluate_family_out

    X, y, meta = training_data(rows, layers, target=TARGET)
    layers = training_layers(rows, layers)
    fams = sorted(set(meta["model_family"]) - {OPERATOR_FAMILY})
    if len(fams) < 2:
        raise ParameterError(f"leave-one-family-out needs runs of at least 2 families, got {fams}. "
                             "Fix: profile variants of more families.")
    with np.errstate(over="ignore", invalid="ignore"):  # open-ended intervals (q = inf with few rows)
        # held-out families fitted in parallel, one per core: the same figures, in about half the time on 2 cores
        pred, m = evaluate_family_out(X, y, meta, kinds=kinds, interval=round(1 - alpha, 10), layers=layers,
                                      n_jobs=-1)
    p = pl.DataFrame({
        "kind": pred["kind"].to_list(), "model": pred["model"].to_list(),
        "model_family": pred["model_family"].to_list(),
        "latency_ms": pred["y_true"].to_numpy(float), "predicted_latency_ms": pred["y_pred"].to_numpy(float),
        "lower_latency_ms": pred["lower"].to_numpy(float), "upper_latency_ms": pred["upper"].to_numpy(float),
    }).with_columns(
        (pl.col("predicted_latency_ms") / pl.col("latency_ms")).alias("predicted_over_measured"),
        pl.Series("inside_interval", _inside(pred["y_true"], pred["lower"], pred["upper"])),
    ).sort("kind", "model")
    m = m[m["device_class"] == "all"] if "device_class" in m else m
    return X, y, meta, p, _metric_frame(m, ["kind", "model_family"])


def evaluate_own_cpu(runs: OwnRuns, *, kinds=("flops", "additive", "layerwise"),
                     alpha: float = 0.1) -> OwnCpuEvaluation:
    """Leave-one-family-out accuracy and conformal-interval coverage of cost-model ``kinds`` on ``runs``.

    Repeated runs of a model become one training row, the fastest (least disturbed,
    :func:`workbench.costmodels.training_data`); each family is predicted by models fitted on the
    others (:func:`workbench.costmodels.validation.evaluate_family_out`), with ``1 − alpha`` conformal
    intervals calibrated family-out within the training families.

    Parameters
    ----------
    runs : OwnRuns
    kinds : list of str
        Cost-model kinds (:data:`workbench.costmodels.kinds.KINDS`, roofline excepted).
    alpha : float
        Miscoverage of the intervals (0.1: 90 % intervals).

    Returns
    -------
    OwnCpuEvaluation
        ``predictions`` columns: ``kind``, ``model``, ``model_family``, ``latency_ms`` (measured),
        ``predicted_latency_ms``, ``lower_latency_ms``, ``upper_latency_ms``,
        ``predicted_over_measured`` [1], ``inside_interval``; ``metrics`` columns: ``kind``,
        ``model_family``, ``n``, ``mape`` [1], ``within10`` [1], ``rmse`` [ms], ``coverage`` [1],
        ``median_interval_factor`` [1] (the interval is [ŷ/f, ŷ·f]).
    """
    kinds = _check_kinds(kinds)
    alpha = _check_alpha(alpha)
    if runs.rows.height == 0:
        raise ParameterError("no runs to evaluate. Fix: profile the training variants (measure='missing').")
    X, y, meta, p, m = _family_out(runs.rows, runs.layers, kinds, alpha)
    return OwnCpuEvaluation(runs, X, y, meta, tuple(kinds), alpha, p, m)


def _num(v, spec: str) -> str:
    """``v`` formatted with ``spec``; "n/a" for a missing or NaN figure ("∞" for an open interval)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float) and math.isinf(v):
        return "∞"
    return format(v, spec)


def own_cpu_note(ev: OwnCpuEvaluation) -> str:
    """Markdown: what the own-CPU figures are, how they were obtained and how far to trust them."""
    rows = ev.runs.rows
    repeats = sorted(set(int(r) for r in rows["repeats"].drop_nulls().to_list()))
    ops = (ev.meta["model_family"] == OPERATOR_FAMILY).to_numpy()
    y = ev.y[~ops]
    blocks = (f" plus {int(ops.sum())} operator-benchmark blocks (`workbench.measure.kernels`: conv, linear, GRU "
              "and attention layers at sizes from a generic prior), on which every fold trains and which are "
              "never scored") if ops.any() else ""
    overall = ev.metrics.filter(pl.col("model_family") == "all").sort("mape")
    best = overall.row(0, named=True)
    cov = round(100 * (1 - ev.alpha))
    load = ""
    if hasattr(os, "getloadavg"):
        load = f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores when this was rendered)"
    lines = [
        f"**Training set:** {len(y)} zoo grid variants of {ev.meta.loc[~ops, 'model_family'].nunique()} "
        f"families{blocks}, measured on *{ev.runs.device_name}* (this machine) in fp32 at batch size 1 with {ev.runs.threads} "
        f"intra-op thread(s); each latency is the median of {', '.join(map(str, repeats))} timed calls, and of "
        f"repeated runs of a variant the fastest is kept. Measured latencies span "
        f"{y.min():.3g}–{y.max():.3g} ms. {len(ev.runs.profiled)} network(s) were profiled for this "
        "render; the others came from the run store.",
        "",
        "**What the metrics mean:** every variant is predicted by a cost model fitted on the *other* families "
        "(leave-one-family-out), so the figures say how well the model prices a family it has never seen. "
        "MAPE is the mean of |predicted − measured| / measured; *within ±10 %* is the share of predictions "
        "within 10 % of the measurement (nn-Meter's metric); *coverage* is the share of measurements inside "
        f"their {cov} % conformal interval (calibrated on held-out families; nominal {cov} %, guaranteed only "
        "as far as families are exchangeable with one another); the interval is [ŷ/f, ŷ·f] with f the "
        "*median interval factor*.",
        "",
        f"**Here:** the lowest MAPE is {best['kind']}'s ({_num(best['mape'], '.2f')}, within ±10 %: "
        f"{_num(best['within10'], '.0%')}, coverage {_num(best['coverage'], '.0%')}, median factor ×/÷ "
        f"{_num(best['median_interval_factor'], '.3g')}). With a handful of variants per family these figures are "
        "rough; `benchmarks/costmodel_accuracy.py` scores all 465 grid variants (docs/costmodels.md).",
        "",
        "**Wide intervals** (a median factor of tens or more) are the honest result of calibrating on held-out "
        "families: the calibration includes families a kind cannot price (GRU's recurrent layers and ViT's "
        "attention exist in one family only), so an interval meant to cover a new family must be wide"
        + (". The operator blocks narrow them for the layerwise kind, which learns those layers from them."
           if ops.any() else "; operator-benchmark blocks (`operator_blocks`) narrow them for the layerwise kind."),
        "",
        "**Noise:** these are timings on a machine shared with other processes" + load + ". A variant's "
        "median latency can move by several per cent from one run to the next, and more for tiny models "
        "dominated by per-call overhead, which bounds any ±10 % figure; every table and figure of this section "
        "is marked *measured* in the manifest.",
    ]
    return "\n".join(lines)


def _architecture(spec) -> tuple:
    return spec.family, float(spec.width), int(spec.depth), int(spec.resolution)


_BASE_ONLY_KINDS = ("flops", "roofline", "loglinear")
"""Kinds whose prediction uses FLOPs and sizes only (no per-layer-type column)."""


def _predict(est, X, layers):
    from workbench.costmodels.factory import needs_layers

    kw = {"layers": layers} if needs_layers(est) else {}
    with np.errstate(over="ignore", invalid="ignore"):  # open-ended intervals (q = inf with few rows)
        lo, hi = est.predict_interval(X, **kw)
    return np.asarray(est.predict(X, **kw), float), np.asarray(lo, float), np.asarray(hi, float)


def predict_models(ev: OwnCpuEvaluation, models, store, *, kind: str = "layerwise") -> pl.DataFrame:
    """Latency of zoo ``models`` on this machine predicted from counted features, next to stored measurements.

    The cost model of ``kind`` is fitted on every training row of ``ev`` (all families, intervals
    calibrated family-out); the models are *not* profiled: their FLOPs, sizes and per-layer
    breakdown are counted (:func:`workbench.costmodels.features.zoo_features`).

    Parameters
    ----------
    ev : OwnCpuEvaluation
    models : list of str or None
        Zoo names; None: the zoo's default models (:func:`workbench.measure.zoo.default_names`).
    store : Store or path
        Read (never written) for measurements of the models with the training runs' settings.
    kind : str
        Cost-model kind.

    Returns
    -------
    polars.DataFrame
        ``model``, ``model_family``, ``flops`` [FLOP per inference], ``predicted_latency_ms``,
        ``lower_latency_ms``, ``upper_latency_ms`` (interval of coverage 1 − ``ev.alpha``),
        ``measured_latency_ms`` (fastest stored run with the same device, dtype, batch size and
        threads; null if none), ``runs`` (stored runs), ``predicted_over_measured``, ``inside_interval``
        ``in_training`` (the same architecture — family, width, depth, resolution — is a
        training variant, so the prediction is not out of sample) and ``unseen_layer_types`` (layer
        types of the model that no training variant has; kinds that cannot price them leave the
        prediction null, the additive kinds price them with their type-independent terms).
    """
    from workbench.costmodels.estimators import FeatureMismatchError
    from workbench.costmodels.factory import make_estimator, needs_layers
    from workbench.costmodels.features import align_features, zoo_features
    from workbench.measure import zoo
    from workbench.store import Store

    _check_kinds([kind])
    models = list(dict.fromkeys(models if models is not None else zoo.default_names()))
    if not models:
        raise ParameterError("no model to predict. Fix: name zoo models (see `workbench models`).")
    specs = {m: zoo.resolve(m) for m in models}
    est = make_estimator(kind, interval=round(1 - ev.alpha, 10))
    kw = {"layers": ev.runs.layers} if needs_layers(est) else {}
    est.fit(ev.X, ev.y, groups=ev.meta["model_family"].to_numpy(), **kw)
    cols = list(ev.X.columns)
    Xz, lz = zoo_features(models)
    Xz = align_features(Xz, cols)
    unseen = {m: sorted(c.split("__", 1)[1] for c in Xz.columns
                        if c.startswith("count__") and c not in cols and Xz.loc[m, c] > 0) for m in models}
    if kind in _BASE_ONLY_KINDS:  # they use FLOPs and sizes only: per-layer columns are irrelevant
        Xz = Xz[cols]
    pred, lo, hi = (np.full(len(models), np.nan) for _ in range(3))
    try:
        pred, lo, hi = _predict(est, Xz, lz)
    except FeatureMismatchError:  # this kind cannot price layer types it never saw: only the others
        ok = [m for m in models if not unseen[m]]
        if ok:
            idx = [models.index(m) for m in ok]
            pred[idx], lo[idx], hi[idx] = _predict(est, Xz.loc[ok, cols], lz[lz["measurement_id"].isin(ok)])
    store = store if isinstance(store, Store) else Store(Path(store))
    stored = _read_own(store, models, ev.runs.device_name, ev.runs.threads)
    meas = {m: (float(v), int(n)) for m, v, n in
            stored.group_by("model").agg(pl.col("latency_ms_p50").min(), pl.len()).iter_rows()}
    trained = {_architecture(zoo.resolve(m))
               for m, f in zip(ev.meta["model"], ev.meta["model_family"]) if f != OPERATOR_FAMILY}
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
    inside = pl.Series("inside_interval", _inside(measured, lo, hi))
    return out.with_columns(
        (pl.col("predicted_latency_ms") / pl.col("measured_latency_ms")).alias("predicted_over_measured"),
        pl.when(pl.col("measured_latency_ms").is_not_null()).then(inside).otherwise(None).alias("inside_interval"),
    ).select("model", "model_family", "flops", "predicted_latency_ms", "lower_latency_ms", "upper_latency_ms",
             "measured_latency_ms", "runs", "predicted_over_measured", "inside_interval", "in_training",
             "unseen_layer_types").sort("model")


def prediction_note(table: pl.DataFrame, ev: OwnCpuEvaluation, kind: str) -> str:
    """Markdown on the prediction table: the model, its interval and how many checks the store allows."""
    cov = round(100 * (1 - ev.alpha))
    checked = table.filter(pl.col("measured_latency_ms").is_not_null())
    held = checked.filter(~pl.col("in_training"))
    ops = int((ev.meta["model_family"] == OPERATOR_FAMILY).sum())
    fitted = f"{len(ev.y) - ops} training variants" + (f" and {ops} operator blocks" if ops else "")
    txt = (f"Predicted by the *{kind}* cost model fitted on all {fitted}, with {cov} % "
           f"conformal intervals; the models were not run for this, their features are counted from the model "
           f"definitions. {checked.height} of {table.height} have a stored run with the same settings "
           f"({ev.runs.threads} thread(s), fp32, batch size 1) to compare with")
    if checked.height:
        txt += (f"; {held.height} of them are out of sample (architecture not in the training set), and of those "
                f"{held['inside_interval'].sum()} lie inside their interval")
    blind = table.filter(pl.col("unseen_layer_types") != "")
    if blind.height:
        txt += (f". {blind.height} model(s) have layer types no training variant has "
                f"({', '.join(sorted(set(', '.join(blind['unseen_layer_types'].to_list()).split(', '))))}): "
                "their predictions are extrapolations, or null where the kind cannot price them")
    txt += (". Only runs with the same settings count as a check: notebooks 00 and 01 profile with torch's default "
            "thread count, so their runs match only when `threads` is that count. `in_training` marks "
            "architectures the cost model was fitted on (a comparison there is not a test).")
    return txt


# ------------------------------------------------------------------------------------------ datasets
@dataclass(frozen=True)
class DatasetSection:
    """One dataset-based section: its tables, the files it read, or why it was skipped."""

    available: bool
    note: str
    files: tuple[Path, ...] = ()
    predictions: pl.DataFrame | None = None
    metrics: pl.DataFrame | None = None
    extra: dict = field(default_factory=dict)


def _skipped(what: str, folder: str, data_dir: Path | None) -> DatasetSection:
    where = (f"`{data_dir}` has no `{folder}/` folder" if data_dir is not None
             else f"no public datasets folder was found (parameter `datasets_dir`, ${SHARED_DATA_ENV}, "
                  "or `../shared/data` beside the checkout)")
    return DatasetSection(False, f"**Skipped: {what}** — {where}. To enable it, set the notebook parameter "
                                 f"`datasets_dir` (or the environment variable `{SHARED_DATA_ENV}`) to the folder "
                                 f"holding `{folder}/` (the project's `../shared/data`).")


def _load_public(data_dir: Path | None, folder_name: str, kind: str):
    """``(rows, files)`` of one public dataset under ``data_dir``, or None when its folder is absent."""
    from workbench import datasets

    if data_dir is None or not (Path(data_dir) / folder_name).is_dir():
        return None
    folder = Path(data_dir) / folder_name
    return datasets.load(kind, folder), tuple(datasets.files_for(kind, folder))


def board_energy_section(data_dir: Path | None, *, alpha: float = 0.1) -> DatasetSection:
    """MLPerf Tiny boards: energy per inference predicted leave-one-board-out, with conformal intervals.

    Uses :func:`workbench.costmodels.boards.evaluate_board_out` (board features vs latency only).

    Returns
    -------
    DatasetSection
        ``predictions``: ``kind``, ``device_class``, ``device_name``, ``model``, ``energy_j``
        (published), ``predicted_energy_j``, ``lower_energy_j``, ``upper_energy_j`` [J],
        ``predicted_over_measured``, ``inside_interval``; ``metrics``: per kind overall / per device
        class / per board (``n``, ``mape``, ``within10``, ``rmse`` [J], ``coverage``,
        ``median_interval_factor``).
    """
    from workbench.costmodels.boards import evaluate_board_out

    alpha = _check_alpha(alpha)
    what = "MLPerf Tiny boards (mcu, edge-accelerator), energy per inference leave-one-board-out"
    got = _load_public(data_dir, MLPERF_TINY_DIR, "mlperf-tiny")
    if got is None:
        return _skipped(what, MLPERF_TINY_DIR, data_dir)
    rows, files = got
    pred, m = evaluate_board_out(rows, interval=round(1 - alpha, 10))
    p = pl.DataFrame({
        "kind": pred["kind"].to_list(), "device_class": pred["device_class"].to_list(),
        "device_name": pred["device_name"].to_list(), "model": pred["model"].to_list(),
        "energy_j": pred["y_true"].to_numpy(float), "predicted_energy_j": pred["y_pred"].to_numpy(float),
        "lower_energy_j": pred["lower"].to_numpy(float), "upper_energy_j": pred["upper"].to_numpy(float),
    }).with_columns(
        (pl.col("predicted_energy_j") / pl.col("energy_j")).alias("predicted_over_measured"),
        pl.Series("inside_interval", _inside(pred["y_true"], pred["lower"], pred["upper"])),
    ).sort("kind", "device_class", "device_name", "model", "energy_j")
    metrics = _metric_frame(m, ["kind", "device_class", "device_name"])
    overall = metrics.filter(pl.col("device_name") == "all", pl.col("device_class") == "all")
    mp = dict(zip(overall["kind"].to_list(), overall["mape"].to_list()))
    source = sorted(set(rows["source"].to_list()))
    cov = round(100 * (1 - alpha))
    note = (f"Published MLPerf Tiny results ({', '.join(source[:1])} … {source[-1]}): {p.height // len(mp)} rows "
            f"with a measured energy per inference on {p['device_name'].n_unique()} boards. Each board's rows are "
            "predicted by a power law fitted on the *other* boards (leave-one-board-out), from the board's latency "
            "on the benchmark, clock, catalog maximum power and an accelerator flag (`board-features`), or from "
            f"latency alone (`latency-only`), with {cov} % conformal intervals calibrated board-out. MAPE: "
            + ", ".join(f"{k} {v:.2f}" for k, v in sorted(mp.items())) + ". Board power spans more than two "
            "orders of magnitude and ten boards are too few to learn it from clocks and catalog figures: energy "
            "per inference on a new board needs one measurement or a datasheet power figure of that board.")
    return DatasetSection(True, note, files, p, metrics)


def benchmark_out_section(data_dir: Path | None, *, targets=("latency_ms", "energy_j"),
                          kinds=("flops", "loglinear-flops")) -> DatasetSection:
    """MLPerf Tiny microcontrollers: a model never measured on a *known* board, leave-one-benchmark-out.

    The benchmarks' models get their zoo twins' counted features
    (:func:`workbench.costmodels.twins.with_zoo_features`); on every ``mcu`` board with at least
    three of them, each benchmark is predicted by a per-board cost model fitted on the board's
    other benchmarks (:func:`workbench.costmodels.validation.evaluate_benchmark_out`). No intervals:
    with four models per board a 90 % conformal interval would need nine calibration rows.

    Returns
    -------
    DatasetSection
        ``predictions``: ``target``, ``kind``, ``device_name``, ``model``, ``measured``,
        ``predicted`` [ms or J, see ``target``], ``predicted_over_measured``; ``metrics``: per
        target and kind overall (``device_name == "all"``) and per board: ``n``, ``mape``,
        ``median_ape``, ``within10`` [1].
    """
    from workbench.costmodels.twins import dataset_twins, with_zoo_features
    from workbench.costmodels.validation import evaluate_benchmark_out

    what = "MLPerf Tiny microcontrollers, a new model on a known board (leave-one-benchmark-out)"
    kinds = _check_kinds(kinds)
    got = _load_public(data_dir, MLPERF_TINY_DIR, "mlperf-tiny")
    if got is None:
        return _skipped(what, MLPERF_TINY_DIR, data_dir)
    rows, layers = with_zoo_features(got[0], dataset_twins("mlperf-tiny"))
    files = got[1]
    preds, tables = [], []
    for target in targets:
        pred, m = evaluate_benchmark_out(rows, layers, target=target, kinds=kinds)
        preds.append(pl.DataFrame({
            "target": target, "kind": pred["kind"].to_list(), "device_name": pred["device_name"].to_list(),
            "model": pred["model"].to_list(), "measured": pred["y_true"].to_numpy(float),
            "predicted": pred["y_pred"].to_numpy(float)}))
        tables.append(pl.from_pandas(m[["kind", "device_name", "n", "mape", "median_ape", "within10"]]
                                     .reset_index(drop=True)).with_columns(pl.lit(target).alias("target")))
    p = pl.concat(preds).with_columns((pl.col("predicted") / pl.col("measured")).alias("predicted_over_measured")
                                      ).sort("target", "kind", "device_name", "model", "measured")
    metrics = pl.concat(tables).select("target", "kind", "device_name", "n", "mape", "median_ape", "within10")
    overall = metrics.filter(pl.col("device_name") == "all").sort("target", "kind")
    note = ("The four MLPerf Tiny reference models have zoo twins (the same architectures, counted by "
            "`workbench.measure`); on each microcontroller with at least three of them, each model is predicted "
            "from the board's results on the others: a one- or two-coefficient law in FLOPs "
            "(`flops`, `loglinear-flops`). Median error of a model the board never ran: "
            + "; ".join(f"{r['target']} {r['kind']} {r['median_ape']:.0%} over {r['n']} predictions"
                        for r in overall.iter_rows(named=True))
            + ". No intervals here: four models per board cannot calibrate a 90 % interval (it needs nine). "
            "The twins' FLOPs are those of the fp32 architecture while most submissions run int8.")
    return DatasetSection(True, note, files, p, metrics)


def fewshot_section(data_dir: Path | None, *, ks=(10, 30, 100), seeds: int = 3, seed: int = 0) -> DatasetSection:
    """nn-Meter phones and VPU: a new device calibrated from k measured models (few-shot), per target device.

    For each device in turn as the *new* device, the three others are the known devices;
    :func:`workbench.costmodels.evaluate_fewshot` draws k models measured on the target (``seeds``
    draws, seeds ``seed … seed+seeds−1``), fits :class:`~workbench.costmodels.FewShotCalibrator`
    on them and scores every other model measured there.

    Parameters
    ----------
    ks : list of int
        Target-device measurements used for calibration [models].
    seeds : int
        Random draws of the k models per (device, k).
    seed : int
        First seed.

    Returns
    -------
    DatasetSection
        ``metrics``: ``target_device``, ``device_class``, ``processor``, ``known_devices``, ``k``,
        ``draws``, ``n_eval`` (models scored per draw), ``within10`` (mean over draws),
        ``within10_min``, ``within10_max``, ``mape`` (mean over draws) [1].
    """
    from workbench.costmodels.fewshot import ARCH_COLUMN, evaluate_fewshot, wide_latencies

    ks = list(ks)
    if not ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 2 for k in ks):
        raise ParameterError("fewshot_k must be a list of integers >= 2 (models measured on the new device), "
                             f"got {ks!r}.")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ParameterError(f"fewshot_seeds must be an integer >= 1 (random draws per k), got {seeds!r}.")
    what = "nn-Meter phones and VPU, few-shot calibration of a new device"
    got = _load_public(data_dir, NN_METER_DIR, "nn-meter")
    if got is None:
        return _skipped(what, NN_METER_DIR, data_dir)
    rows, files = got
    wide = wide_latencies(rows, value="latency_ms_mean")
    devices = [c for c in wide.columns if c not in (ARCH_COLUMN, "model_family")]
    info = {d: (c, a or cpu) for d, c, a, cpu in rows.group_by("device_name").agg(
        pl.col("device_class").first(), pl.col("accelerator").first(), pl.col("cpu_model").first()).iter_rows()}
    out = []
    for target in devices:
        known = [d for d in devices if d != target]
        for k in sorted(set(ks)):
            r = evaluate_fewshot(wide, target, known, k=k, seeds=range(seed, seed + seeds))
            w = np.asarray(r["within10_per_seed"], float)
            out.append({"target_device": target, "device_class": info[target][0], "processor": info[target][1],
                        "known_devices": ", ".join(known), "k": k, "draws": seeds, "n_eval": r["n_eval"],
                        "within10": r["within10"], "within10_min": float(w.min()), "within10_max": float(w.max()),
                        "mape": r["mape"]})
    table = pl.DataFrame(out).sort("target_device", "k")
    best = table.filter(pl.col("k") == max(ks))
    note = (f"nn-Meter's latencies of {wide.shape[0]:,} CNNs on {len(devices)} devices ({rows['source'][0]}). "
            "For each device as the *new* device, k of its models are 'measured' (drawn at random, "
            f"{seeds} draws with fixed seeds) and a log-linear map from the other devices' latencies of the same "
            "model (plus its architecture) is fitted on them alone; every other model measured there is scored. "
            f"At k = {max(ks)}: " + ", ".join(f"{r['target_device']} {r['within10']:.0%} within ±10 %"
                                                for r in best.iter_rows(named=True))
            + ". The VPU's latency is the hardest to transfer: it is not a function of the phones' latencies "
            "and the architecture name (docs/costmodels.md).")
    return DatasetSection(True, note, files, None, table)


# ------------------------------------------------------------------------------------------ summary
def cloud_gpu_section(path, models=None, *, kinds=("flops", "additive", "layerwise"),
                      alpha: float = 0.1) -> DatasetSection:
    """Cloud GPU from the project's own measurements (``data/measurements/cloud-gpu-h200``): the same
    leave-one-family-out latency evaluation as on this CPU, on rows measured on a lent NVIDIA H200.

    Parameters
    ----------
    path : path
        A measurement store of GPU runs (its ``README.md`` says how they were taken).
    models : list of str, optional
        Only these zoo variants (e.g. this CPU's training draw, so the two sections compare the
        same networks); default all the store holds.
    kinds, alpha
        As for :func:`evaluate_own_cpu`.

    Returns
    -------
    DatasetSection
        ``predictions`` and ``metrics`` with the columns of :class:`OwnCpuEvaluation`'s;
        ``extra``: ``device_name``, ``device_class``, ``repeat_within10`` (share of the variants
        measured twice whose two latencies agree within ±10 %, the ceiling of any model's
        ``within10``) and ``repeat_n``.
    """
    from workbench.store import Store

    kinds = _check_kinds(kinds)
    alpha = _check_alpha(alpha)
    what = "cloud GPU, the project's own measurements"
    path = Path(path)
    store = Store(path)
    if not path.is_dir() or not store.files():
        return DatasetSection(False, f"**Skipped: {what}** — `{path}` holds no measurement store. Fix: set "
                                     "the notebook parameter `gpu_measurements` to the repository's "
                                     "`data/measurements/cloud-gpu-h200` (relative to `notebooks/`).")
    rows, layers = store.read(), store.read_layers()
    if models is not None:
        rows = rows.filter(pl.col("model").is_in(list(models)))
        if rows.height == 0:
            raise ParameterError(f"none of the {len(models)} requested variants is in {path}. Fix: pass zoo grid "
                                 "variants (workbench models --all) or models=None for all.")
        layers = layers.filter(pl.col("measurement_id").is_in(rows["measurement_id"].implode()))
    _, y, meta, p, m = _family_out(rows, layers, kinds, alpha)
    lat = pl.col("latency_ms_p50")
    twice = rows.group_by("model").agg(lat.min().alias("lo"), lat.max().alias("hi"), pl.len().alias("n"))
    twice = twice.filter(pl.col("n") >= 2)
    agree = float((twice["hi"] / twice["lo"] < 1.1).mean()) if twice.height else float("nan")
    def listed(col: str) -> str:
        return ", ".join(sorted({str(v) for v in rows[col].to_list()}))

    device = listed("device_name")
    dates = ", ".join(sorted({t.date().isoformat() for t in rows["timestamp_utc"].to_list()}))
    best = m.filter(pl.col("model_family") == "all").sort("mape").row(0, named=True)
    cov = round(100 * (1 - alpha))
    note = (f"**{len(y)} zoo grid variants of {meta['model_family'].nunique()} families measured on *{device}*** "
            f"(device class {listed('device_class')}; {dates}), batch size 1, fp32, energy method "
            f"{listed('energy_method')} (`{path.name}/README.md` says how they were taken). Each family is "
            f"predicted by models fitted on the others, with {cov} % conformal intervals, as on this CPU. The lowest "
            f"MAPE is {best['kind']}'s ({_num(best['mape'], '.2f')}, within ±10 %: {_num(best['within10'], '.0%')}, "
            f"coverage {_num(best['coverage'], '.0%')}). At batch size 1 these networks keep the GPU nearly idle: "
            "latency follows the number and kind of kernels launched far more than FLOPs. Of the "
            f"{twice.height} variants measured twice, {_num(agree, '.0%')} agree within ±10 %: no model can be "
            "judged more precisely than that. These rows are measurements, but not of this machine.")
    return DatasetSection(True, note, tuple(sorted(store.files())), p, m,
                          {"device_name": device, "device_class": rows["device_class"][0],
                           "repeat_within10": agree, "repeat_n": twice.height})


def device_class_summary(ev: OwnCpuEvaluation, boards: DatasetSection, fewshot: DatasetSection,
                         benchmark_out: DatasetSection | None = None,
                         cloud_gpu: DatasetSection | None = None) -> pl.DataFrame:
    """One row per device class × setting: what is predicted, how it was evaluated, and how well.

    Columns: ``device_class``, ``devices``, ``quantity``, ``evaluation``, ``model``, ``n``, ``mape``,
    ``within10``, ``coverage`` (null without intervals), ``median_interval_factor``.
    """
    from workbench.measure import profiler

    own_class = profiler.device_info()["device_class"]
    rows = []
    for r in ev.metrics.filter(pl.col("model_family") == "all").iter_rows(named=True):
        rows.append({"device_class": own_class, "devices": ev.runs.device_name, "quantity": "latency_ms",
                     "evaluation": "leave-one-family-out", "model": r["kind"], "n": r["n"], "mape": r["mape"],
                     "within10": r["within10"], "coverage": r["coverage"],
                     "median_interval_factor": r["median_interval_factor"]})
    if cloud_gpu is not None and cloud_gpu.available:
        for r in cloud_gpu.metrics.filter(pl.col("model_family") == "all").iter_rows(named=True):
            rows.append({"device_class": cloud_gpu.extra["device_class"], "devices": cloud_gpu.extra["device_name"],
                         "quantity": "latency_ms", "evaluation": "leave-one-family-out", "model": r["kind"],
                         "n": r["n"], "mape": r["mape"], "within10": r["within10"], "coverage": r["coverage"],
                         "median_interval_factor": r["median_interval_factor"]})
    if boards.available:
        per_class = boards.metrics.filter(pl.col("device_name") == "all", pl.col("device_class") != "all")
        for r in per_class.iter_rows(named=True):
            n_boards = boards.predictions.filter(pl.col("device_class") == r["device_class"])["device_name"].n_unique()
            rows.append({"device_class": r["device_class"], "devices": f"{n_boards} MLPerf Tiny boards",
                         "quantity": "energy_j", "evaluation": "leave-one-board-out", "model": r["kind"],
                         "n": r["n"], "mape": r["mape"], "within10": r["within10"], "coverage": r["coverage"],
                         "median_interval_factor": r["median_interval_factor"]})
    if benchmark_out is not None and benchmark_out.available:
        for r in benchmark_out.metrics.filter(pl.col("device_name") == "all").iter_rows(named=True):
            n_boards = benchmark_out.predictions.filter(pl.col("target") == r["target"])["device_name"].n_unique()
            rows.append({"device_class": "mcu", "devices": f"{n_boards} MLPerf Tiny boards", "quantity": r["target"],
                         "evaluation": "leave-one-benchmark-out", "model": r["kind"], "n": r["n"], "mape": r["mape"],
                         "within10": r["within10"], "coverage": None, "median_interval_factor": None})
    if fewshot.available:
        t = fewshot.metrics
        for r in t.filter(pl.col("k") == t["k"].max()).iter_rows(named=True):
            rows.append({"device_class": r["device_class"], "devices": r["target_device"], "quantity": "latency_ms",
                         "evaluation": f"few-shot k={r['k']}", "model": "fewshot", "n": r["n_eval"],
                         "mape": r["mape"], "within10": r["within10"], "coverage": None,
                         "median_interval_factor": None})
    return pl.DataFrame(rows, schema_overrides={"coverage": pl.Float64, "median_interval_factor": pl.Float64,
                                                "n": pl.Int64})
