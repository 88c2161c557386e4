"""Tables of the compression and cascade notebook, split into what is counted and what is measured.

:func:`workbench.strategies.compression_experiments.run_compression` and
:func:`workbench.strategies.staged_experiments.run_cascade` train on digits with fixed seeds and
measure every variant. Accuracy, parameters, weight bytes and (expected) FLOPs follow from the
seeded training and the test split, so they are reproducible; latency, memory and energy are measured
and live in their own tables.
"""

from __future__ import annotations

import json
import math

import polars as pl

WILSON_Z = 1.959963984540054
"""z of a two-sided 95 % interval (standard normal 97.5th percentile)."""

COUNTED = ["model", "strategy", "dtype", "accuracy", "params", "weight_bytes", "flops"]
MEASURED = ["model", "strategy", "dtype", "batch_size", "latency_ms_p50", "latency_ms_p95", "memory_peak_bytes",
            "energy_j", "energy_method"]


def wilson_interval(accuracy: float, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval of a proportion ``accuracy`` [1] observed on ``n`` samples.

    References
    ----------
    E. B. Wilson (1927), "Probable inference, the law of succession, and statistical inference",
    JASA 22(158), 209–212, eq. for the score interval.

    Examples
    --------
    >>> lo, hi = wilson_interval(0.9, 100)
    >>> round(lo, 4), round(hi, 4)
    (0.8256, 0.9448)
    """
    if not n or accuracy is None or math.isnan(accuracy):
        return float("nan"), float("nan")
    d = 1 + z * z / n
    centre = (accuracy + z * z / (2 * n)) / d
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def _find(doc, key):
    if isinstance(doc, dict):
        if key in doc:
            return doc[key]
        for v in doc.values():
            found = _find(v, key)
            if found is not None:
                return found
    return None


def scored_samples(rows: pl.DataFrame) -> int | None:
    """Samples of the test split the accuracies were scored on (``n_test`` in ``config_json``), None if absent."""
    for cfg in rows["config_json"].drop_nulls().to_list() if "config_json" in rows.columns else []:
        n = _find(json.loads(cfg), "n_test")
        if n:
            return int(n)
    return None


def with_wilson(table: pl.DataFrame, n: int | None, col: str = "accuracy") -> pl.DataFrame:
    """``table`` with ``accuracy_low`` / ``accuracy_high`` (95 % Wilson interval on ``n`` samples) and ``test_samples``."""
    lo, hi = zip(*[wilson_interval(a, n or 0) for a in table[col].to_list()], strict=True) if table.height else ((), ())
    return table.with_columns(pl.Series(f"{col}_low", list(lo), dtype=pl.Float64),
                              pl.Series(f"{col}_high", list(hi), dtype=pl.Float64),
                              pl.lit(n, dtype=pl.Int64).alias("test_samples"))


def variants_counted(rows: pl.DataFrame) -> pl.DataFrame:
    """Accuracy [1] with its 95 % Wilson interval, parameters, weight bytes [B] and FLOPs per inference of
    each variant (batch 1 rows). Accuracy is measured on the test split; sizes and FLOPs are counted."""
    t = rows.select(COUNTED).unique(["model", "strategy", "dtype"], keep="first", maintain_order=True).sort(
        "model", "strategy", "dtype")
    return with_wilson(t, scored_samples(rows)).with_columns(pl.lit("measured").alias("provenance"))


def variants_measured(rows: pl.DataFrame) -> pl.DataFrame:
    """Measured latency [ms] (median and 95th percentile of the repeats), peak memory [B] and energy [J] of
    each variant, with accuracy and its Wilson interval for the accuracy-vs-latency figure."""
    cols = [c for c in MEASURED if c in rows.columns]
    t = with_wilson(rows.select([*cols, "accuracy"]), scored_samples(rows))
    return t.with_columns(pl.lit("measured").alias("provenance")).sort("model", "strategy", "dtype", "batch_size")


def sweep_counted(sweep: pl.DataFrame, samples: int | None = None) -> pl.DataFrame:
    """Threshold sweep on the test split: accuracy (with its 95 % Wilson interval on ``samples`` test samples
    when given), expected FLOPs, share answered by each stage, Pareto flag."""
    cols = [c for c in ("criterion", "threshold", "accuracy", "expected_flops", "pareto") if c in sweep.columns]
    out = sweep.select(cols)
    if "exit_rates" in sweep.columns:
        n = int(sweep["exit_rates"].list.len().max())
        out = out.with_columns([sweep["exit_rates"].list.get(i).alias(f"exit_rate_{i}") for i in range(n)])
    out = with_wilson(out, samples) if samples else out
    return out.sort("threshold").with_columns(pl.lit("measured").alias("provenance"))


def sweep_measured(sweep: pl.DataFrame) -> pl.DataFrame:
    """Threshold sweep: measured median latency [ms] and the latency expected from exit rates [ms]."""
    cols = [c for c in ("threshold", "latency_ms_p50", "expected_latency_ms", "pareto_latency") if c in sweep.columns]
    return sweep.select(cols).sort("threshold")


def summary_table(summary: dict, keys: list[str] | None = None) -> pl.DataFrame:
    """A strategy run's headline figures (scalars only) as a two-column table ``figure, value``."""
    items = [(k, float(v)) for k, v in summary.items()
             if (keys is None or k in keys) and isinstance(v, (int, float)) and not isinstance(v, bool)]
    return pl.DataFrame(items, schema={"figure": pl.String, "value": pl.Float64}, orient="row").sort("figure")
