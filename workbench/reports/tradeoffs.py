"""Tables of the compression and cascade notebook, split into what is counted and what is measured.

:func:`workbench.strategies.compression_experiments.run_compression` and
:func:`workbench.strategies.staged_experiments.run_cascade` train on digits with fixed seeds and
measure every variant. Accuracy, parameters, weight bytes and (expected) FLOPs follow from the
seeded training and the test split, so they are reproducible; latency, memory and energy are measured
and live in their own tables.
"""

from __future__ import annotations

import polars as pl

COUNTED = ["model", "strategy", "dtype", "accuracy", "params", "weight_bytes", "flops"]
MEASURED = ["model", "strategy", "dtype", "batch_size", "latency_ms_p50", "latency_ms_p95", "memory_peak_bytes",
            "energy_j", "energy_method"]


def variants_counted(rows: pl.DataFrame) -> pl.DataFrame:
    """Accuracy [1], parameters, weight bytes [B] and FLOPs per inference of each variant (batch 1 rows)."""
    return rows.select(COUNTED).unique(["model", "strategy", "dtype"], keep="first", maintain_order=True).sort(
        "model", "strategy", "dtype")


def variants_measured(rows: pl.DataFrame) -> pl.DataFrame:
    """Measured latency [ms], peak memory [B] and energy [J] of each variant."""
    return rows.select(MEASURED).sort("model", "strategy", "dtype", "batch_size")


def sweep_counted(sweep: pl.DataFrame) -> pl.DataFrame:
    """Threshold sweep on the test split: accuracy, expected FLOPs, share answered by each stage, Pareto flag."""
    cols = [c for c in ("criterion", "threshold", "accuracy", "expected_flops", "pareto") if c in sweep.columns]
    out = sweep.select(cols)
    if "exit_rates" in sweep.columns:
        n = int(sweep["exit_rates"].list.len().max())
        out = out.with_columns([sweep["exit_rates"].list.get(i).alias(f"exit_rate_{i}") for i in range(n)])
    return out.sort("threshold")


def sweep_measured(sweep: pl.DataFrame) -> pl.DataFrame:
    """Threshold sweep: measured median latency [ms] and the latency expected from exit rates [ms]."""
    cols = [c for c in ("threshold", "latency_ms_p50", "expected_latency_ms", "pareto_latency") if c in sweep.columns]
    return sweep.select(cols).sort("threshold")


def summary_table(summary: dict, keys: list[str] | None = None) -> pl.DataFrame:
    """A strategy run's headline figures (scalars only) as a two-column table ``figure, value``."""
    items = [(k, float(v)) for k, v in summary.items()
             if (keys is None or k in keys) and isinstance(v, (int, float)) and not isinstance(v, bool)]
    return pl.DataFrame(items, schema={"figure": pl.String, "value": pl.Float64}, orient="row").sort("figure")
