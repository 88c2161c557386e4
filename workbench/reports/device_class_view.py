"""Notebook 03, all sections in one table: cost-model accuracy per device class and setting.

:func:`device_class_summary` gathers the overall rows of the own-CPU evaluation
(:mod:`workbench.reports.own_cpu_view`), the cloud GPU (:mod:`workbench.reports.cloud_gpu_view`)
and the public-dataset sections (:mod:`workbench.reports.public_devices_view`).
"""

from __future__ import annotations

import polars as pl

from workbench.reports.own_cpu_view import OwnCpuEvaluation
from workbench.reports.sections import DatasetSection
from workbench.reports.theme import device_labels


def device_class_summary(ev: OwnCpuEvaluation, boards: DatasetSection, fewshot: DatasetSection,
                         benchmark_out: DatasetSection | None = None,
                         cloud_gpu: DatasetSection | None = None) -> pl.DataFrame:
    """One row per device class × setting: what is predicted, how it was evaluated, and how well.

    Parameters
    ----------
    ev : OwnCpuEvaluation
        This CPU (:func:`workbench.reports.own_cpu_view.evaluate_own_cpu`).
    boards, fewshot, benchmark_out : DatasetSection
        :mod:`workbench.reports.public_devices_view`'s sections (skipped ones add no rows).
    cloud_gpu : DatasetSection, optional
        :func:`workbench.reports.cloud_gpu_view.cloud_gpu_section`.

    Returns
    -------
    polars.DataFrame
        ``device_class``, ``devices``, ``quantity``, ``evaluation``, ``model``, ``n``, ``mape`` [1],
        ``within10`` [1], ``coverage`` [1] (null without intervals), ``median_interval_factor`` [1].
    """
    from workbench.measure import profiler  # imports torch

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
    return device_labels(pl.DataFrame(rows, schema_overrides={"coverage": pl.Float64, "median_interval_factor": pl.Float64,
                                                              "n": pl.Int64}), "devices")
