"""Tables the report notebooks share: profiled runs summarised, split into deterministic model
features and measured resource use, scenarios side by side, per-layer shares.

Every function returns a polars frame sorted on its key columns, so that the same input rows give
the same CSV on every render.
"""

from __future__ import annotations

import json

import polars as pl

from workbench.errors import ParameterError, UnknownNameError
from workbench.reports.data import latest_runs
from workbench.reports.provenance import ENERGY_METHOD_STATE
from workbench.schema import ENERGY_METHODS

TOP_LAYER_TYPES = 7
"""Layer types shown by name in the shares figure; the rest are summed as ``other`` (eight colours in all)."""

SUMMARY_COLUMNS = [
    "model", "model_family", "task", "dtype", "batch_size", "threads", "params", "flops", "weight_bytes",
    "latency_ms_p50", "latency_ms_p95", "latency_cv", "throughput_per_s", "memory_peak_bytes",
    "energy_j", "power_w", "energy_method", "device_name", "device_class",
]

FEATURE_COLUMNS = ["model", "model_family", "task", "dtype", "input_shape", "params", "flops", "weight_bytes",
                   "activation_bytes"]
"""Properties of a model that do not depend on a measurement (counted from its definition)."""

MEASURED_COLUMNS = ["model", "dtype", "batch_size", "device_name", "device_class", "threads", "repeats",
                    "latency_ms_p50", "latency_ms_p95", "latency_cv", "throughput_per_s", "memory_peak_bytes",
                    "memory_method", "energy_j", "power_w", "energy_method", "run_id"]
"""Quantities measured on a device: they change from one measurement to the next."""


def summary_table(df: pl.DataFrame) -> pl.DataFrame:
    """One row per model × dtype × batch size × device (latest measurement), sorted by latency."""
    return latest_runs(df).select(SUMMARY_COLUMNS).sort("latency_ms_p50", "model", "dtype", "batch_size")


def model_features(runs: pl.DataFrame) -> pl.DataFrame:
    """Model features (params, FLOPs per inference, weight and activation bytes) per model × dtype.

    These are counted from the model definitions, so they are identical on every measurement and
    every machine; this table is reproducible even when the runs are measured afresh.
    """
    return runs.select(FEATURE_COLUMNS).unique(["model", "dtype"], keep="first", maintain_order=True).sort(
        "model", "dtype")


def energy_provenance(method: pl.Expr) -> pl.Expr:
    """``energy_method`` → provenance state of the energy figure (null for ``none``)."""
    return method.replace_strict(ENERGY_METHOD_STATE, default=None, return_dtype=pl.String)


def measured_resources(runs: pl.DataFrame) -> pl.DataFrame:
    """Measured latency, throughput, memory and energy per model × dtype × batch size × device, with
    the provenance of latency/memory (``measured``) and of energy (by its ``energy_method``)."""
    return (runs.select(MEASURED_COLUMNS)
                .with_columns(pl.lit("measured").alias("latency_provenance"),
                              energy_provenance(pl.col("energy_method")).alias("energy_provenance"))
                .sort("model", "dtype", "batch_size", "device_name"))


def energy_details(runs: pl.DataFrame) -> pl.DataFrame:
    """How each energy figure was obtained: meter, window length [s] and calls, from ``config_json``."""
    rows = []
    for r in runs.select("model", "dtype", "batch_size", "device_name", "energy_method", "config_json").iter_rows(
            named=True):
        e = json.loads(r["config_json"] or "{}").get("energy", {})
        detail = "; ".join(f"{k} = {v}" for k, v in sorted(e.items()) if k not in ("window_s", "calls")
                           and not isinstance(v, (dict, list)))
        rows.append({**{k: r[k] for k in ("model", "dtype", "batch_size", "device_name", "energy_method")},
                     "energy_provenance": ENERGY_METHOD_STATE.get(r["energy_method"]),
                     "window_s": e.get("window_s"), "calls": e.get("calls"), "meter_detail": detail or "—"})
    schema = {"model": pl.String, "dtype": pl.String, "batch_size": pl.Int64, "device_name": pl.String,
              "energy_method": pl.String, "energy_provenance": pl.String, "window_s": pl.Float64, "calls": pl.Int64,
              "meter_detail": pl.String}
    return pl.DataFrame(rows, schema=schema).sort("model", "dtype", "batch_size", "device_name")


def compare_scenarios(table: pl.DataFrame, scenario: str, metrics: list[str], *, keys=("model",),
                      baseline: str | None = None) -> pl.DataFrame:
    """Put scenarios side by side: one row per key × metric, one column per scenario, and the ratio
    of each scenario to the baseline.

    Parameters
    ----------
    table : polars.DataFrame
        One row per key × scenario.
    scenario : str
        Column naming the scenario of each row.
    metrics : list of str
        Numeric columns to compare (their units stay those of the column names).
    keys : tuple of str
        Columns identifying what is compared (default ``model``).
    baseline : str, optional
        Scenario the ratios refer to (default: the first in sorted order).

    Returns
    -------
    polars.DataFrame
        Columns ``*keys, metric, <scenario A>, <scenario B>, ..., ratio_<B>_to_<A> ...``.
    """
    names = sorted(table[scenario].unique().to_list())
    if len(names) < 2:
        raise ParameterError(f"comparing scenarios needs at least two values of {scenario!r}, got {names}.")
    baseline = baseline or names[0]
    if baseline not in names:
        raise UnknownNameError("baseline scenario", baseline, names)
    long = table.unpivot(index=[*keys, scenario], on=metrics, variable_name="metric", value_name="value")
    wide = long.pivot(on=scenario, index=[*keys, "metric"], values="value", aggregate_function="first")
    others = [n for n in names if n != baseline]
    wide = wide.with_columns([(pl.col(n) / pl.col(baseline)).alias(f"ratio_{n}_to_{baseline}") for n in others])
    return wide.select([*keys, "metric", baseline, *others, *[f"ratio_{n}_to_{baseline}" for n in others]]).sort(
        [*keys, "metric"])


def layer_type_shares(layers: pl.DataFrame, runs: pl.DataFrame) -> pl.DataFrame:
    """Share of FLOPs and of measured latency per layer type, per profiled configuration.

    Parameters
    ----------
    layers : polars.DataFrame
        Per-layer rows from :meth:`workbench.store.Store.read_layers`.
    runs : polars.DataFrame
        The runs whose layers to use (``measurement_id``, ``model``, ``dtype``, ``batch_size``).

    Returns
    -------
    polars.DataFrame
        ``model, dtype, batch_size, configuration, layer_type, layers, flops, flops_share, latency_ms, latency_share``;
        shares are fractions of the model's total [1]. Where FLOPs share and latency share differ, the
        FLOP count misjudges where the time goes.
    """
    ids = runs.select("measurement_id", "model", "dtype", "batch_size")
    lay = layers.join(ids, on="measurement_id", how="inner")
    keys = ["model", "dtype", "batch_size"]
    g = (lay.group_by([*keys, "layer_type"], maintain_order=True)
            .agg(pl.len().alias("layers"), pl.col("flops").sum(), pl.col("latency_ms").sum())
            .sort([*keys, "layer_type"]))
    return g.with_columns(
        pl.format("{} {} bs{}", "model", "dtype", "batch_size").alias("configuration"),
        (pl.col("flops") / pl.col("flops").sum().over(keys)).fill_nan(0.0).alias("flops_share"),
        (pl.col("latency_ms") / pl.col("latency_ms").sum().over(keys)).fill_nan(0.0).alias("latency_share"),
        pl.lit("measured").alias("provenance"),
    ).select([*keys, "configuration", "layer_type", "layers", "flops", "flops_share", "latency_ms", "latency_share",
              "provenance"])


def top_layer_types(shares: pl.DataFrame, top: int = TOP_LAYER_TYPES) -> pl.DataFrame:
    """:func:`layer_type_shares` with all but the ``top`` layer types of largest share (FLOPs or latency,
    in any configuration) summed as ``other``, so that a figure needs at most ``top + 1`` colours."""
    rank = (shares.group_by("layer_type").agg(pl.max_horizontal(pl.col("flops_share").max(),
                                                                pl.col("latency_share").max()).alias("s"))
                  .sort("s", "layer_type", descending=[True, False]))
    keep = set(rank["layer_type"].head(top).to_list())
    keys = ["model", "dtype", "batch_size", "configuration"]
    return (shares.with_columns(pl.when(pl.col("layer_type").is_in(list(keep))).then(pl.col("layer_type"))
                                  .otherwise(pl.lit("other")).alias("layer_type"))
                  .group_by([*keys, "layer_type", "provenance"])
                  .agg(pl.col("layers").sum(), pl.col("flops").sum(), pl.col("flops_share").sum(),
                       pl.col("latency_ms").sum(), pl.col("latency_share").sum())
                  .sort([*keys, "layer_type"]))


def layer_flops_note(shares: pl.DataFrame, runs: pl.DataFrame) -> str:
    """Why quantized configurations count fewer FLOPs per layer and why layer times need not add up to
    the end-to-end latency: computed from the shares and the runs."""
    per = shares.group_by("model", "dtype", "batch_size").agg(pl.col("flops").sum().alias("layer_flops"),
                                                               pl.col("latency_ms").sum().alias("layer_ms"))
    t = per.join(runs.select("model", "dtype", "batch_size", "flops", "latency_ms_p50"),
                 on=["model", "dtype", "batch_size"], how="inner")
    q = t.filter(pl.col("dtype") != "fp32")
    parts = []
    if q.height:
        lost = q.filter(pl.col("layer_flops") < 0.99 * pl.col("flops"))
        if lost.height:
            r = lost.sort(pl.col("layer_flops") / pl.col("flops"), "model").row(0, named=True)
            parts.append(f"The per-layer FLOP counter does not see quantized kernels: {r['model']} {r['dtype']} counts "
                         f"{r['layer_flops']:.3g} FLOPs over its layers against {r['flops']:.3g} for the fp32 graph, "
                         "so quantized Linear layers show 0 FLOPs.")
        r = q.sort(pl.col("layer_ms") / pl.col("latency_ms_p50"), "model").row(0, named=True)
        parts.append(f"Per-layer times of quantized configurations do not add up to their end-to-end latency "
                     f"({r['model']} {r['dtype']}: {r['layer_ms']:.3g} ms summed over layers vs "
                     f"{r['latency_ms_p50']:.3g} ms end to end): read their latency shares as relative only.")
    return " ".join(parts)


def energy_note(runs: pl.DataFrame) -> str:
    """One Markdown paragraph saying how the energy figures of ``runs`` were obtained."""
    counts = runs.group_by("energy_method").len().sort("energy_method")
    parts = [f"{n} row(s) `{m}`: {ENERGY_METHODS.get(m, 'unknown method')}" for m, n in counts.iter_rows()]
    note = "Energy figures: " + "; ".join(parts) + "."
    if "tdp-estimate" in counts["energy_method"].to_list():
        note += (" A TDP estimate is not a measurement: it scales the processor's rated power by its load, "
                 "so compare such figures with each other, not with sensor readings.")
    return note
