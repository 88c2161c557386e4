"""Notebook 03, this CPU: cost-model accuracy on families never seen, and zoo models predicted without running.

:func:`evaluate_own_cpu` scores cost models leave-one-family-out with conformal intervals on the
training runs profiled on this machine (:func:`workbench.costmodels.training.training_runs`);
:func:`own_cpu_note` says what the figures are and how far to trust them. The zoo models predicted
from counted features (:func:`workbench.costmodels.prediction.predict_zoo`) get
:func:`prediction_note`. :func:`family_out_tables` is the shared core with the cloud-GPU section
(:mod:`workbench.reports.cloud_gpu_view`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl

from workbench.checks import check_interval
from workbench.costmodels.features import training_data, training_layers
from workbench.costmodels.prediction import inside_interval
from workbench.costmodels.training import TARGET, TrainingRuns, check_training_kinds
from workbench.costmodels.validation import evaluate_family_out
from workbench.errors import ParameterError
from workbench.reports.sections import WITHIN10_TOLERANCE, listed, metric_frame, num, percent
from workbench.schema import LATENCY_METHODS, OPERATOR_FAMILY


@dataclass(frozen=True)
class OwnCpuEvaluation:
    """Leave-one-family-out evaluation of cost models on this machine's runs."""

    runs: TrainingRuns
    X: pd.DataFrame
    y: np.ndarray
    meta: pd.DataFrame
    kinds: tuple[str, ...]
    interval: float
    """Nominal coverage of the conformal intervals [1]."""
    predictions: pl.DataFrame
    """One row per kind × variant: measured and predicted latency [ms], interval, ratio, inside."""
    metrics: pl.DataFrame
    """Per kind, overall (``model_family == "all"``) and per held-out family."""


def family_out_tables(rows: pl.DataFrame, layers: pl.DataFrame, kinds: list[str], interval: float):
    """``(X, y, meta, predictions, metrics)`` of leave-one-family-out latency models on store rows
    (the shared core of :func:`evaluate_own_cpu` and :func:`workbench.reports.cloud_gpu_view.cloud_gpu_section`).

    Raises
    ------
    ParameterError
        The rows hold fewer than 2 model families.
    """
    X, y, meta = training_data(rows, layers, target=TARGET)
    layers = training_layers(rows, layers)
    fams = sorted(set(meta["model_family"]) - {OPERATOR_FAMILY})
    if len(fams) < 2:
        raise ParameterError(f"leave-one-family-out needs runs of at least 2 families, got {fams}. "
                             "Fix: profile variants of more families.")
    with np.errstate(over="ignore", invalid="ignore"):  # open-ended intervals (q = inf with few rows)
        # held-out families fitted in parallel, one per core: the same figures, in about half the time on 2 cores
        pred, m = evaluate_family_out(X, y, meta, kinds=kinds, interval=interval, layers=layers, n_jobs=-1)
    p = pl.DataFrame({
        "kind": pred["kind"].to_list(), "model": pred["model"].to_list(),
        "model_family": pred["model_family"].to_list(),
        "latency_ms": pred["y_true"].to_numpy(float), "predicted_latency_ms": pred["y_pred"].to_numpy(float),
        "lower_latency_ms": pred["lower"].to_numpy(float), "upper_latency_ms": pred["upper"].to_numpy(float),
    }).with_columns(
        (pl.col("predicted_latency_ms") / pl.col("latency_ms")).alias("predicted_over_measured"),
        pl.Series("inside_interval", inside_interval(pred["y_true"], pred["lower"], pred["upper"])),
    ).sort("kind", "model")
    m = m[m["device_class"] == "all"] if "device_class" in m else m
    return X, y, meta, p, metric_frame(m, ["kind", "model_family"])


def evaluate_own_cpu(runs: TrainingRuns, *, kinds=("flops", "additive", "layerwise"),
                     interval: float = 0.9) -> OwnCpuEvaluation:
    """Leave-one-family-out accuracy and conformal-interval coverage of cost-model ``kinds`` on ``runs``.

    Repeated runs of a model become one training row, the fastest (least disturbed,
    :func:`workbench.costmodels.training_data`); each family is predicted by models fitted on the
    others (:func:`workbench.costmodels.validation.evaluate_family_out`), with conformal
    intervals of coverage ``interval`` calibrated family-out within the training families.

    Parameters
    ----------
    runs : TrainingRuns
        Training runs on this machine (:func:`workbench.costmodels.training.training_runs`).
    kinds : list of str
        Cost-model kinds (:data:`workbench.costmodels.kinds.KINDS`, roofline excepted).
    interval : float
        Nominal coverage of the intervals [1] (0.9: 90 % intervals).

    Returns
    -------
    OwnCpuEvaluation
        ``predictions`` columns: ``kind``, ``model``, ``model_family``, ``latency_ms`` (measured),
        ``predicted_latency_ms``, ``lower_latency_ms``, ``upper_latency_ms`` [ms],
        ``predicted_over_measured`` [1], ``inside_interval``; ``metrics`` columns: ``kind``,
        ``model_family``, ``n``, ``mape`` [1], ``within10`` [1], ``rmse`` [ms], ``coverage`` [1],
        ``median_interval_factor`` [1] (the interval is [ŷ/f, ŷ·f]).

    Raises
    ------
    ParameterError
        No runs, fewer than 2 families, a bad ``interval`` or a kind that cannot be fitted here.
    UnknownNameError
        An unknown kind.
    """
    kinds = check_training_kinds(kinds)
    interval = check_interval(interval)
    if runs.rows.height == 0:
        raise ParameterError("no runs to evaluate. Fix: profile the training variants (measure='missing').")
    X, y, meta, p, m = family_out_tables(runs.rows, runs.layers, kinds, interval)
    return OwnCpuEvaluation(runs, X, y, meta, tuple(kinds), interval, p, m)


def own_cpu_note(ev: OwnCpuEvaluation) -> str:
    """Markdown: what the own-CPU figures are, how they were obtained and how far to trust them."""
    from workbench.measure import zoo  # imports torch

    rows = ev.runs.rows
    repeats = sorted(set(int(r) for r in rows["repeats"].drop_nulls().to_list()))
    ops = (ev.meta["model_family"] == OPERATOR_FAMILY).to_numpy()
    y = ev.y[~ops]
    blocks = (f" plus {int(ops.sum())} operator-benchmark blocks (`workbench.measure.kernels`: conv, linear, GRU "
              "and attention layers at sizes from a generic prior), on which every fold trains and which are "
              "never scored") if ops.any() else ""
    overall = ev.metrics.filter(pl.col("model_family") == "all").sort("mape")
    best = overall.row(0, named=True)
    widest = overall.sort("median_interval_factor", descending=True, nulls_last=True).row(0, named=True)
    cov, tol = percent(ev.interval), percent(WITHIN10_TOLERANCE)
    load = ""
    if hasattr(os, "getloadavg"):
        load = f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores when this was rendered)"
    methods = sorted(set(rows["latency_method"].drop_nulls().to_list()) - {"wall"}) \
        if "latency_method" in rows.columns else []
    calls = f"{', '.join(map(str, repeats))} timed calls"
    label = (f"each latency is normalised from {calls} ({'; '.join(f'`{m}`: {LATENCY_METHODS[m]}' for m in methods)})"
             if methods else f"each latency is the median of {calls}")
    lines = [
        f"**Training set:** {len(y)} zoo grid variants of {ev.meta.loc[~ops, 'model_family'].nunique()} "
        f"families{blocks}, measured on *{ev.runs.device_name}* (this machine) in {listed(rows, 'dtype')} at batch "
        f"size {listed(rows, 'batch_size')} with {ev.runs.threads} intra-op thread(s); {label}, and of repeated runs of a variant the "
        "fastest is kept. "
        f"Measured latencies span {y.min():.3g}–{y.max():.3g} ms. {len(ev.runs.profiled)} network(s) were "
        "profiled for this render; the others came from the run store.",
        "",
        "**What the metrics mean:** every variant is predicted by a cost model fitted on the *other* families "
        "(leave-one-family-out), so the figures say how well the model prices a family it has never seen. "
        f"MAPE is the mean of |predicted − measured| / measured; *within ±{tol}* is the share of predictions "
        f"within {tol} of the measurement (nn-Meter's metric); *coverage* is the share of measurements inside "
        f"their {cov} conformal interval (calibrated on held-out families; nominal {cov}, guaranteed only "
        "as far as families are exchangeable with one another); the interval is [ŷ/f, ŷ·f] with f the "
        "*median interval factor*.",
        "",
        f"**Here:** the lowest MAPE is {best['kind']}'s ({num(best['mape'], '.2f')}, within ±{tol}: "
        f"{num(best['within10'], '.0%')}, coverage {num(best['coverage'], '.0%')}, median factor ×/÷ "
        f"{num(best['median_interval_factor'], '.3g')}). With a handful of variants per family these figures are "
        f"rough; `benchmarks/costmodel_accuracy.py` scores all {len(zoo.grid_names())} grid variants "
        "(docs/costmodels.md).",
        "",
        f"**Wide intervals** (here up to a median factor of ×/÷ {num(widest['median_interval_factor'], '.3g')}, "
        f"{widest['kind']}) are the honest result of calibrating on held-out families: the calibration includes "
        "families a kind cannot price (layer types such as GRU's recurrent layers and ViT's attention that no other "
        "family has), so an interval meant to cover a new family must be wide"
        + (". The operator blocks narrow them for the layerwise kind, which learns those layers from them."
           if ops.any() else "; operator-benchmark blocks (`operator_blocks`) narrow them for the layerwise kind."),
        "",
        "**Noise:** these are timings on a machine shared with other processes" + load + ". A variant's "
        "median latency can move by several per cent from one run to the next, and more for tiny models "
        f"dominated by per-call overhead, which bounds any ±{tol} figure; every table and figure of this section "
        "states its provenance: *measured* latencies and *predicted* cost-model answers (`fresh` in the manifest).",
    ]
    return "\n".join(lines)


def prediction_note(table: pl.DataFrame, ev: OwnCpuEvaluation, kind: str) -> str:
    """Markdown on the prediction table (:func:`workbench.costmodels.prediction.predict_zoo`): the model,
    its interval and how many checks the store allows."""
    rows = ev.runs.rows
    checked = table.filter(pl.col("measured_latency_ms").is_not_null())
    held = checked.filter(~pl.col("in_training"))
    ops = int((ev.meta["model_family"] == OPERATOR_FAMILY).sum())
    fitted = f"{len(ev.y) - ops} training variants" + (f" and {ops} operator blocks" if ops else "")
    txt = (f"Predicted by the *{kind}* cost model fitted on all {fitted}, with {percent(ev.interval)} "
           f"conformal intervals; the models were not run for this, their features are counted from the model "
           f"definitions. {checked.height} of {table.height} have a stored run with the same settings "
           f"({ev.runs.threads} thread(s), {listed(rows, 'dtype')}, batch size {listed(rows, 'batch_size')}) to "
           "compare with")
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
