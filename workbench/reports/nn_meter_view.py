"""Notebook 02, phones and a VPU: nn-Meter's latency distributions per device and cross-device ratios.

:func:`nn_meter_summary` gives each device's latency percentiles over its models,
:func:`nn_meter_histogram` the share of models per log-latency bin, :func:`nn_meter_ratios` a device's
latency divided by a reference device's for the same model, per device and per architecture family.
"""

from __future__ import annotations

import math

import polars as pl

from workbench.checks import check_int
from workbench.errors import UnknownNameError
from workbench.reports.theme import device_labels


def _framework(cfg: pl.Expr) -> pl.Expr:
    return cfg.str.json_path_match("$.framework")


def nn_meter_summary(nm: pl.DataFrame) -> pl.DataFrame:
    """Distribution of model latency per nn-Meter device: models, percentiles and spread.

    Returns
    -------
    polars.DataFrame
        ``device_name, device_class, processor, framework, dtype, models, latency_ms_min, latency_ms_p5,
        latency_ms_p25, latency_ms_median, latency_ms_p75, latency_ms_p95, latency_ms_max`` (of the
        models' mean latencies [ms]) and ``latency_cv_median`` (median run-to-run coefficient of
        variation [1]; null for the VPU, whose log has no spread).
    """
    lat = pl.col("latency_ms_mean")
    return (nm.with_columns(pl.coalesce("accelerator", pl.lit("CPU")).alias("processor"),
                            _framework(pl.col("config_json")).alias("framework"))
              .group_by("device_name", "device_class", "processor", "framework", "dtype")
              .agg(pl.col("model").n_unique().alias("models"), lat.min().alias("latency_ms_min"),
                   lat.quantile(0.05, "linear").alias("latency_ms_p5"),
                   lat.quantile(0.25, "linear").alias("latency_ms_p25"),
                   lat.median().alias("latency_ms_median"), lat.quantile(0.75, "linear").alias("latency_ms_p75"),
                   lat.quantile(0.95, "linear").alias("latency_ms_p95"), lat.max().alias("latency_ms_max"),
                   pl.col("latency_cv").median().alias("latency_cv_median"))
              .pipe(device_labels, "device_name")
              .sort("device_name"))


def nn_meter_histogram(nm: pl.DataFrame, *, bins_per_decade: int = 10) -> pl.DataFrame:
    """Share of each device's models per latency bin, bins equally wide in log10(latency).

    Returns
    -------
    polars.DataFrame
        ``device_name, latency_ms`` (geometric centre of the bin [ms]), ``latency_ms_low``,
        ``latency_ms_high`` (bin edges [ms]), ``models`` and ``share`` (of the device's models [1];
        the shares of a device sum to 1).
    """
    bins_per_decade = check_int(bins_per_decade, "bins_per_decade", fix="e.g. 10.")
    d = nm.filter(pl.col("latency_ms_mean") > 0)
    if d.height == 0:
        return pl.DataFrame(schema={"device_name": pl.String, "latency_ms": pl.Float64, "latency_ms_low": pl.Float64,
                                    "latency_ms_high": pl.Float64, "models": pl.UInt32, "share": pl.Float64})
    lo = math.floor(math.log10(d["latency_ms_mean"].min()) * bins_per_decade)
    b = d.select("device_name",
                 (pl.col("latency_ms_mean").log10() * bins_per_decade).floor().cast(pl.Int64).alias("bin"))
    h = b.group_by("device_name", "bin").len("models")
    h = h.with_columns((pl.col("models") / pl.col("models").sum().over("device_name")).alias("share"))
    k = pl.col("bin").cast(pl.Float64)
    return (h.filter(pl.col("bin") >= lo)
             .select("device_name", (10 ** ((k + 0.5) / bins_per_decade)).alias("latency_ms"),
                     (10 ** (k / bins_per_decade)).alias("latency_ms_low"),
                     (10 ** ((k + 1) / bins_per_decade)).alias("latency_ms_high"), "models", "share")
             .pipe(device_labels, "device_name")
             .sort("device_name", "latency_ms"))


def nn_meter_ratios(nm: pl.DataFrame, reference: str = "pixel-4") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cross-device latency ratios of the models measured on both ``reference`` and each other device.

    Returns
    -------
    by_device : polars.DataFrame
        ``device_name, reference, models, ratio_median, ratio_p5, ratio_p95`` (device latency ÷
        reference latency of the same model [1]) and ``spearman`` (rank correlation of the two
        devices' latencies [1]: how well the reference's ranking of models carries over).
    by_family : polars.DataFrame
        ``device_name, model_family, reference, models, ratio_median``: the speed-up differs by
        architecture family when a device favours some operators.

    Raises
    ------
    UnknownNameError
        ``reference`` is not an nn-Meter device.
    """
    devices = sorted(nm["device_name"].unique().to_list())
    if reference not in devices:
        raise UnknownNameError("nn-Meter device", reference, devices)
    ref = nm.filter(pl.col("device_name") == reference).select("model", pl.col("latency_ms_mean").alias("ref_ms"))
    pairs = (nm.filter(pl.col("device_name") != reference)
               .select("model", "model_family", "device_name", "latency_ms_mean")
               .join(ref, on="model", how="inner")
               .with_columns((pl.col("latency_ms_mean") / pl.col("ref_ms")).alias("ratio")))
    r = pl.col("ratio")
    by_device = (pairs.group_by("device_name")
                      .agg(pl.len().alias("models"), r.median().alias("ratio_median"),
                           r.quantile(0.05, "linear").alias("ratio_p5"), r.quantile(0.95, "linear").alias("ratio_p95"),
                           pl.corr("latency_ms_mean", "ref_ms", method="spearman").alias("spearman"))
                      .with_columns(pl.lit(reference).alias("reference"))
                      .select("device_name", "reference", "models", "ratio_median", "ratio_p5", "ratio_p95", "spearman")
                      .pipe(device_labels, "device_name", "reference")
                      .sort("device_name"))
    by_family = (pairs.group_by("device_name", "model_family")
                      .agg(pl.len().alias("models"), r.median().alias("ratio_median"))
                      .with_columns(pl.lit(reference).alias("reference"))
                      .select("device_name", "model_family", "reference", "models", "ratio_median")
                      .pipe(device_labels, "device_name", "reference")
                      .sort("device_name", "model_family"))
    return by_device, by_family
