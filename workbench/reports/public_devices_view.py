"""Notebook 03, device classes we do not own: cost-model accuracy from public measurements.

Three sections, each read through :func:`workbench.datasets.public.load_public_data` and skipped
with a note saying how to enable it when the dataset is absent:

- :func:`board_energy_section`: MLPerf Tiny boards (``mcu``, ``edge-accelerator``), energy per
  inference of a board never measured, leave-one-board-out
  (:func:`workbench.costmodels.boards.evaluate_board_out`);
- :func:`benchmark_out_section`: a model never run on a known microcontroller, leave-one-benchmark-out
  on the benchmarks' zoo twins (:func:`workbench.costmodels.validation.evaluate_benchmark_out`);
- :func:`fewshot_section`: nn-Meter phones and VPU, a new device calibrated from k measured models
  (:func:`workbench.costmodels.fewshot.evaluate_fewshot`).

These do not depend on this machine: the same datasets give the same tables (fixed seeds).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from workbench.checks import check_int, check_interval
from workbench.costmodels.boards import evaluate_board_out
from workbench.costmodels.fewshot import ARCH_COLUMN, evaluate_fewshot, wide_latencies
from workbench.costmodels.intervals import calibration_rows_needed
from workbench.costmodels.prediction import inside_interval
from workbench.costmodels.training import check_training_kinds
from workbench.costmodels.twins import dataset_twins, with_zoo_features
from workbench.costmodels.validation import evaluate_benchmark_out
from workbench.datasets.public import load_public_data
from workbench.errors import ParameterError
from workbench.reports.sections import (
    WITHIN10_TOLERANCE,
    DatasetSection,
    metric_frame,
    percent,
    skipped_section,
    spelled,
)
from workbench.reports.theme import device_labels


def board_energy_section(data_dir: Path | None, *, interval: float = 0.9) -> DatasetSection:
    """MLPerf Tiny boards: energy per inference predicted leave-one-board-out, with conformal intervals.

    Uses :func:`workbench.costmodels.boards.evaluate_board_out` (board features vs latency only).

    Parameters
    ----------
    data_dir : Path or None
        The public datasets folder (:func:`workbench.reports.data.find_datasets_dir`).
    interval : float
        Nominal coverage of the conformal intervals [1] (0.9: 90 % intervals).

    Returns
    -------
    DatasetSection
        ``predictions``: ``kind``, ``device_class``, ``device_name``, ``model``, ``energy_j``
        (published), ``predicted_energy_j``, ``lower_energy_j``, ``upper_energy_j`` [J],
        ``predicted_over_measured``, ``inside_interval``; ``metrics``: per kind overall / per device
        class / per board (``n``, ``mape``, ``within10``, ``rmse`` [J], ``coverage``,
        ``median_interval_factor``).

    Raises
    ------
    ParameterError
        A bad ``interval``.
    """
    interval = check_interval(interval)
    what = "MLPerf Tiny boards (mcu, edge-accelerator), energy per inference leave-one-board-out"
    data = load_public_data(data_dir, ["mlperf-tiny"])
    if not data.has("mlperf-tiny"):
        return skipped_section(what, "mlperf-tiny", data)
    rows, files = data.frames["mlperf-tiny"], data.files["mlperf-tiny"]
    pred, m = evaluate_board_out(rows, interval=interval)
    p = pl.DataFrame({
        "kind": pred["kind"].to_list(), "device_class": pred["device_class"].to_list(),
        "device_name": pred["device_name"].to_list(), "model": pred["model"].to_list(),
        "energy_j": pred["y_true"].to_numpy(float), "predicted_energy_j": pred["y_pred"].to_numpy(float),
        "lower_energy_j": pred["lower"].to_numpy(float), "upper_energy_j": pred["upper"].to_numpy(float),
    }).with_columns(
        (pl.col("predicted_energy_j") / pl.col("energy_j")).alias("predicted_over_measured"),
        pl.Series("inside_interval", inside_interval(pred["y_true"], pred["lower"], pred["upper"])),
    ).sort("kind", "device_class", "device_name", "model", "energy_j")
    metrics = metric_frame(m, ["kind", "device_class", "device_name"])
    overall = metrics.filter(pl.col("device_name") == "all", pl.col("device_class") == "all")
    mp = dict(zip(overall["kind"].to_list(), overall["mape"].to_list(), strict=True))
    source = sorted(set(rows["source"].to_list()))
    boards = p["device_name"].n_unique()
    # board power [W]: the median published power of each board's energy runs, then the span across boards
    power = (rows.filter((pl.col("energy_scope") == "inference") & (pl.col("power_w") > 0)
                         & pl.col("device_name").is_in(p["device_name"].unique().implode()))
                 .group_by("device_name").agg(pl.col("power_w").median())["power_w"])
    decades = math.floor(math.log10(power.max() / power.min())) if power.len() > 1 else 0
    span = (f"spans more than {spelled(decades)} orders of magnitude" if decades >= 2 else
            f"spans more than {spelled(decades)} order of magnitude" if decades == 1 else "varies")
    note = (f"Published MLPerf Tiny results ({', '.join(source[:1])} … {source[-1]}): {p.height // len(mp)} rows "
            f"with a measured energy per inference on {boards} boards. Each board's rows are "
            "predicted by a power law fitted on the *other* boards (leave-one-board-out), from the board's latency "
            "on the benchmark, clock, catalog maximum power and an accelerator flag (`board-features`), or from "
            f"latency alone (`latency-only`), with {percent(interval)} conformal intervals calibrated board-out. "
            "MAPE: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(mp.items())) + f". Board power {span} "
            f"and {spelled(boards)} boards are too few to learn it from clocks and catalog figures: energy "
            "per inference on a new board needs a measurement or a datasheet power figure of that board.")
    return DatasetSection(True, note, files, device_labels(p, "device_name"), device_labels(metrics, "device_name"))


def benchmark_out_section(data_dir: Path | None, *, targets=("latency_ms", "energy_j"),
                          kinds=("flops", "loglinear-flops"), min_models: int = 3,
                          interval: float = 0.9) -> DatasetSection:
    """MLPerf Tiny microcontrollers: a model never measured on a *known* board, leave-one-benchmark-out.

    The benchmarks' models get their zoo twins' counted features
    (:func:`workbench.costmodels.twins.with_zoo_features`); on every ``mcu`` board with at least
    ``min_models`` of them, each benchmark is predicted by a per-board cost model fitted on the board's
    other benchmarks (:func:`workbench.costmodels.validation.evaluate_benchmark_out`). No intervals:
    with a handful of models per board a conformal interval of coverage ``interval`` cannot be
    calibrated (:func:`workbench.costmodels.intervals.calibration_rows_needed`); the note says how many rows it would need.

    Parameters
    ----------
    data_dir : Path or None
        The public datasets folder (:func:`workbench.reports.data.find_datasets_dir`).
    targets : list of str
        ``latency_ms`` and/or ``energy_j``.
    kinds : list of str
        Cost-model kinds fitted per board.
    min_models : int
        Boards with fewer distinct models [models] are skipped (at least 3: two to fit, one held out).
    interval : float
        The report's interval coverage [1], for the note's statement of why there are none here.

    Returns
    -------
    DatasetSection
        ``predictions``: ``target``, ``kind``, ``device_name``, ``model``, ``measured``,
        ``predicted`` [ms or J, see ``target``], ``predicted_over_measured``; ``metrics``: per
        target and kind overall (``device_name == "all"``) and per board: ``n``, ``mape``,
        ``median_ape``, ``within10`` [1].

    Raises
    ------
    ParameterError
        Bad ``min_models``, ``interval`` or kinds.
    UnknownNameError
        An unknown kind.
    """
    what = "MLPerf Tiny microcontrollers, a new model on a known board (leave-one-benchmark-out)"
    kinds = check_training_kinds(kinds)
    min_models = check_int(min_models, "min_models", minimum=3, fix="3 or more (two to fit, one held out).")
    interval = check_interval(interval)
    data = load_public_data(data_dir, ["mlperf-tiny"])
    if not data.has("mlperf-tiny"):
        return skipped_section(what, "mlperf-tiny", data)
    twins = dataset_twins("mlperf-tiny")
    rows, layers = with_zoo_features(data.frames["mlperf-tiny"], twins)
    files = data.files["mlperf-tiny"]
    preds, tables = [], []
    for target in targets:
        pred, m = evaluate_benchmark_out(rows, layers, target=target, kinds=kinds, min_models=min_models)
        preds.append(pl.DataFrame({
            "target": target, "kind": pred["kind"].to_list(), "device_name": pred["device_name"].to_list(),
            "model": pred["model"].to_list(), "measured": pred["y_true"].to_numpy(float),
            "predicted": pred["y_pred"].to_numpy(float)}))
        tables.append(pl.from_pandas(m[["kind", "device_name", "n", "mape", "median_ape", "within10"]]
                                     .reset_index(drop=True)).with_columns(pl.lit(target).alias("target")))
    p = pl.concat(preds).with_columns((pl.col("predicted") / pl.col("measured")).alias("predicted_over_measured")
                                      ).sort("target", "kind", "device_name", "model", "measured")
    metrics = device_labels(pl.concat(tables).select("target", "kind", "device_name", "n", "mape", "median_ape",
                                                      "within10"), "device_name")
    p = device_labels(p, "device_name")
    note = benchmark_out_note(p, metrics, twins=twins, kinds=kinds, min_models=min_models, interval=interval)
    # the reference models by their zoo twin's name, as every other page names them (ds-cnn is dscnn-kws)
    p = p.with_columns(pl.col("model").alias("model_as_published"), pl.col("model").replace(twins))
    return DatasetSection(True, note, files, p, metrics)


def benchmark_out_note(predictions: pl.DataFrame, metrics: pl.DataFrame, *, twins: dict[str, str], kinds,
                       min_models: int, interval: float) -> str:
    """Markdown on :func:`benchmark_out_section`'s tables: which twins, how each model was predicted, the
    median errors, and why there are no intervals, every count taken from the tables and the arguments.

    Parameters
    ----------
    predictions, metrics : polars.DataFrame
        The section's tables (``target``, ``device_name``, ``model`` ...; ``device_name == "all"`` rows
        of ``metrics`` are the overall figures).
    twins : dict
        Dataset model → zoo twin (:func:`workbench.costmodels.twins.dataset_twins`).
    kinds : list of str
        The cost-model kinds fitted.
    min_models : int
        Fewest models a board needed [models].
    interval : float
        The report's interval coverage [1].
    """
    overall = metrics.filter(pl.col("device_name") == "all").sort("target", "kind")
    n_twins = len({twins[m] for m in predictions["model"].unique().to_list() if m in twins})
    per_board = predictions.group_by("target", "device_name").agg(pl.col("model").n_unique())["model"].max()
    return (f"The {spelled(n_twins)} MLPerf Tiny reference models have zoo twins (the same architectures, counted "
            f"by `workbench.measure`); on each microcontroller with at least {spelled(min_models)} of them, each "
            "model is predicted from the board's results on the others by a per-board law in FLOPs ("
            + ", ".join(f"`{k}`" for k in kinds) + "). Median error of a model the board never ran: "
            + "; ".join(f"{r['target']} {r['kind']} {r['median_ape']:.0%} over {r['n']} predictions"
                        for r in overall.iter_rows(named=True))
            + f". No intervals here: {spelled(per_board)} models per board cannot calibrate a {percent(interval)} "
            f"interval (it needs {spelled(calibration_rows_needed(interval))}). "
            "The twins' FLOPs are those of the fp32 architecture while most submissions run int8.")


def fewshot_section(data_dir: Path | None, *, ks=(10, 30, 100), seeds: int = 3, seed: int = 0) -> DatasetSection:
    """nn-Meter phones and VPU: a new device calibrated from k measured models (few-shot), per target device.

    For each device in turn as the *new* device, the others are the known devices;
    :func:`workbench.costmodels.evaluate_fewshot` draws k models measured on the target (``seeds``
    draws, seeds ``seed … seed+seeds−1``), fits :class:`~workbench.costmodels.FewShotCalibrator`
    on them and scores every other model measured there.

    Parameters
    ----------
    data_dir : Path or None
        The public datasets folder (:func:`workbench.reports.data.find_datasets_dir`).
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

    Raises
    ------
    ParameterError
        A k below 2 or ``seeds`` below 1.
    """
    ks = list(ks)
    fix_k = "a list of integers >= 2 (models measured on the new device)."
    if not ks:
        raise ParameterError(f"fewshot_k must be {fix_k[:-1]}, got {ks!r}.")
    ks = [check_int(k, "fewshot_k", minimum=2, fix=fix_k) for k in ks]
    seeds = check_int(seeds, "fewshot_seeds", fix="an integer >= 1 (random draws per k).")
    what = "nn-Meter phones and VPU, few-shot calibration of a new device"
    data = load_public_data(data_dir, ["nn-meter"])
    if not data.has("nn-meter"):
        return skipped_section(what, "nn-meter", data)
    rows, files = data.frames["nn-meter"], data.files["nn-meter"]
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
    table = device_labels(pl.DataFrame(out), "target_device", "known_devices").sort("target_device", "k")
    best = table.filter(pl.col("k") == max(ks))
    hardest = best.sort("within10", "target_device").row(0, named=True)
    tol = percent(WITHIN10_TOLERANCE)
    note = (f"nn-Meter's latencies of {wide.shape[0]:,} CNNs on {len(devices)} devices ({rows['source'][0]}). "
            "For each device as the *new* device, k of its models are 'measured' (drawn at random, "
            f"{seeds} draws with fixed seeds) and a log-linear map from the other devices' latencies of the same "
            "model (plus its architecture) is fitted on them alone; every other model measured there is scored. "
            f"At k = {max(ks)}: " + ", ".join(f"{r['target_device']} {r['within10']:.0%} within ±{tol}"
                                                for r in best.iter_rows(named=True))
            + f". The hardest latency to transfer is {hardest['target_device']}'s ({hardest['processor']}): it is "
            "the least a function of the other devices' latencies and the architecture name (docs/costmodels.md).")
    return DatasetSection(True, note, files, None, table)


def pooled_factor_interval(predictions: pl.DataFrame, coverage: float = 0.9) -> pl.DataFrame:
    """``predictions`` of :func:`benchmark_out_section` with a ``lower``–``upper`` interval per row: the
    prediction divided and multiplied by the ``coverage`` quantile of the factor errors
    ``max(p/m, m/p)`` of every *other* prediction of the same target and kind (all boards pooled,
    the row itself left out), since one board's few models cannot calibrate an interval of its own.

    Returns
    -------
    polars.DataFrame
        The rows with ``lower``, ``upper`` (units of ``target``) and ``interval_factor`` [1].
    """
    import numpy as np

    out = []
    for _, g in predictions.group_by("target", "kind", maintain_order=True):
        f = np.maximum(g["predicted"] / g["measured"], g["measured"] / g["predicted"]).to_numpy()
        q = [float(np.quantile(np.delete(f, i), coverage)) if len(f) > 1 else float("nan") for i in range(len(f))]
        out.append(g.with_columns(pl.Series("interval_factor", q)).with_columns(
            (pl.col("predicted") / pl.col("interval_factor")).alias("lower"),
            (pl.col("predicted") * pl.col("interval_factor")).alias("upper")))
    return pl.concat(out).sort("target", "kind", "device_name", "model", "measured") if out else predictions
