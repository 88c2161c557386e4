"""Summary of profiled runs: a table per model and a latency-versus-FLOPs figure."""

from __future__ import annotations

import polars as pl

SUMMARY_COLUMNS = [
    "model", "model_family", "task", "dtype", "batch_size", "threads", "params", "flops", "weight_bytes",
    "latency_ms_p50", "latency_ms_p95", "latency_cv", "throughput_per_s", "memory_peak_bytes",
    "energy_j", "power_w", "energy_method", "device_name", "device_class",
]


def summary_table(df: pl.DataFrame) -> pl.DataFrame:
    """One row per model × dtype × batch size × device (latest measurement), sorted by latency."""
    latest = df.sort("timestamp_utc").group_by(["model", "dtype", "batch_size", "device_name"]).last()
    return latest.select(SUMMARY_COLUMNS).sort("latency_ms_p50", "model")


def latency_vs_flops_chart(table: pl.DataFrame):
    """Log–log scatter of median latency against FLOPs per inference, coloured by family."""
    import altair as alt

    data = table.select("model", "model_family", "flops", "latency_ms_p50", "energy_j", "dtype").to_pandas()
    return (
        alt.Chart(data, title="Measured latency vs FLOPs on this CPU")
        .mark_point(filled=True, size=70)
        .encode(
            x=alt.X("flops:Q", scale=alt.Scale(type="log"), title="forward FLOPs per inference"),
            y=alt.Y("latency_ms_p50:Q", scale=alt.Scale(type="log"), title="median latency [ms]"),
            color=alt.Color("model_family:N", title="family"),
            shape=alt.Shape("dtype:N"),
            tooltip=["model", "flops", "latency_ms_p50", "energy_j", "dtype"],
        )
        .properties(width=420, height=300)
    )
