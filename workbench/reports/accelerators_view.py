"""Notebook 02, cloud and edge accelerators: energy, latency and throughput per device from MLPerf Inference and ML.ENERGY.

:func:`accelerator_energy` gives energy per sample, token, request, image or video by device (the
MLPerf scenario kept), :func:`energy_series` one unit of it for a figure; :func:`inference_performance`
gives MLPerf Inference latency and throughput per accelerator by device class,
:func:`benchmark_latency` one benchmark's latency per device.
"""

from __future__ import annotations

import polars as pl

from workbench.datasets.public import PublicData
from workbench.errors import UnknownNameError
from workbench.reports.theme import device_labels

SHORT_SOURCES = (("ml-energy leaderboard ", "ML.ENERGY "), ("mlperf-inference ", "MLPerf Inf. "))
"""Dataset names shortened in figure legends (the tables keep the full ``source``)."""


def _short(source: pl.Expr) -> pl.Expr:
    for long, short in SHORT_SOURCES:
        source = source.str.replace(long, short, literal=True)
    return source.str.replace(r" \((\d{4})\)$", "")


def _ml_energy_unit(task: pl.Expr) -> pl.Expr:
    return (pl.when(task.str.contains("video")).then(pl.lit("video"))
              .when(task.str.contains("image")).then(pl.lit("image")).otherwise(pl.lit("sample")))


def accelerator_energy(data: PublicData) -> pl.DataFrame:
    """Energy per sample, token, request, image or video by device, from MLPerf Inference and ML.ENERGY.

    MLPerf Inference rows are those submitted with power: whole-system wall power (all nodes and
    accelerators) divided by throughput. ML.ENERGY rows are GPU energy measured with Zeus over all
    GPUs of a configuration; its LLM rows give energy per request and, from the same run, energy per
    output token (``config_json``), listed as separate ``energy_per = token`` rows.

    Returns
    -------
    polars.DataFrame
        One row per dataset × source × device class × device × task × scenario × unit:
        ``results``, ``models``, ``energy_j_median``, ``energy_j_min``, ``energy_j_max`` [J per
        ``energy_per``], ``power_w_median`` [W, where published] and ``scope`` (what the energy
        covers). ``scenario`` is MLPerf's (Offline, Server, SingleStream, ...), empty for ML.ENERGY.
    """
    frames = []
    if data.has("mlperf-inference"):
        mi = data.frames["mlperf-inference"].filter((pl.col("energy_method") == "dataset")
                                                    & pl.col("energy_j").is_not_null())
        frames.append(mi.select(
            pl.lit("MLPerf Inference").alias("dataset"), "source", "device_class",
            pl.coalesce("accelerator", "device_name").alias("device"), "task", "scenario", "model",
            pl.col("energy_scope").replace_strict({"inference": "sample", "token": "token"}, default=None)
              .alias("energy_per"),
            "energy_j", "power_w", pl.lit("whole system, wall power").alias("scope")))
    if data.has("ml-energy"):
        me = data.frames["ml-energy"].filter(pl.col("energy_j").is_not_null())
        base = me.select(pl.lit("ML.ENERGY").alias("dataset"), "source", "device_class",
                         pl.coalesce("accelerator", "device_name").alias("device"), "task",
                         pl.lit(None, dtype=pl.String).alias("scenario"), "model",
                         pl.when(pl.col("energy_scope") == "request").then(pl.lit("request"))
                           .otherwise(_ml_energy_unit(pl.col("task"))).alias("energy_per"),
                         "energy_j", "power_w", pl.lit("GPUs only (Zeus)").alias("scope"))
        token = (me.filter(pl.col("energy_scope") == "request")
                   .with_columns(pl.col("config_json").str.json_path_match("$.energy_per_token_j").cast(pl.Float64)
                                 .alias("ept"))
                   .filter(pl.col("ept").is_not_null())
                   .select(pl.lit("ML.ENERGY").alias("dataset"), "source", "device_class",
                           pl.coalesce("accelerator", "device_name").alias("device"), "task",
                           pl.lit(None, dtype=pl.String).alias("scenario"), "model",
                           pl.lit("token").alias("energy_per"),
                           pl.col("ept").alias("energy_j"), "power_w", pl.lit("GPUs only (Zeus)").alias("scope")))
        frames += [base, token]
    keys = ["dataset", "source", "device_class", "device", "task", "scenario", "energy_per"]
    cols = [*keys, "results", "models", "energy_j_median", "energy_j_min", "energy_j_max", "power_w_median", "scope"]
    if not frames:
        return pl.DataFrame(schema={c: (pl.UInt32 if c in ("results", "models") else
                                        pl.Float64 if c.startswith(("energy_j", "power")) else pl.String)
                                  for c in cols})
    rows = device_labels(pl.concat(frames, how="vertical_relaxed"), "device")
    return (rows.group_by(keys)
                .agg(pl.len().alias("results"), pl.col("model").n_unique().alias("models"),
                     pl.col("energy_j").median().alias("energy_j_median"),
                     pl.col("energy_j").min().alias("energy_j_min"),
                     pl.col("energy_j").max().alias("energy_j_max"), pl.col("power_w").median().alias("power_w_median"),
                     pl.col("scope").first())
                .select(cols).with_columns(pl.lit("imported").alias("provenance")).sort(keys, nulls_last=True))


def energy_series(table: pl.DataFrame, energy_per: str, *, task: str | None = None) -> pl.DataFrame:
    """Rows of :func:`accelerator_energy` for one unit (and task), with a ``series`` label per dataset,
    version and scenario and the ``scope`` of the energy (GPUs only or the whole system), for a figure."""
    t = table.filter(pl.col("energy_per") == energy_per)
    if task is not None:
        t = t.filter(pl.col("task") == task)
    return (t.group_by("dataset", "source", "scenario", "device_class", "device", "scope")
             .agg(pl.col("results").sum(), pl.col("energy_j_median").median(), pl.col("energy_j_min").min(),
                  pl.col("energy_j_max").max())
             .with_columns(pl.when(pl.col("scenario").is_null()).then(_short(pl.col("source")))
                             .otherwise(pl.format("{} {}", _short(pl.col("source")), "scenario")).alias("series"),
                           pl.lit("imported").alias("provenance"))
             .sort("device", "series"))


def _accelerators(cfg: pl.Expr) -> pl.Expr:
    nodes = cfg.str.json_path_match("$.nodes").cast(pl.Float64).fill_null(1.0)
    per = cfg.str.json_path_match("$.accelerators_per_node").cast(pl.Float64)
    return pl.when(per > 0).then(nodes * per).otherwise(nodes)


def inference_performance(mi: pl.DataFrame) -> pl.DataFrame:
    """MLPerf Inference latency and throughput per benchmark model × scenario × device class.

    Throughput is divided by the number of accelerators of the system (nodes × accelerators per
    node; CPU-only systems: per node), so that systems of different sizes compare.

    Returns
    -------
    polars.DataFrame
        ``model, task, scenario, device_class, results, devices, latency_ms_p90_median``
        (SingleStream, 90th percentile [ms]), ``latency_ms_p99_median`` (MultiStream, 99th
        percentile of 8-sample queries [ms]), ``samples_per_s_per_accelerator_median``,
        ``tokens_per_s_per_accelerator_median`` (LLM benchmarks) and ``results_with_power``.
    """
    n = _accelerators(pl.col("config_json"))
    tok = pl.col("config_json").str.json_path_match("$.tokens_per_s").cast(pl.Float64)
    keys = ["model", "task", "scenario", "device_class"]
    return (mi.with_columns((pl.col("throughput_per_s") / n).alias("spa"), (tok / n).alias("tpa"))
              .group_by(keys)
              .agg(pl.len().alias("results"), pl.col("device_name").n_unique().alias("devices"),
                   pl.col("latency_ms_p90").median().alias("latency_ms_p90_median"),
                   pl.col("latency_ms_p99").median().alias("latency_ms_p99_median"),
                   pl.col("spa").median().alias("samples_per_s_per_accelerator_median"),
                   pl.col("tpa").median().alias("tokens_per_s_per_accelerator_median"),
                   (pl.col("energy_method") == "dataset").sum().alias("results_with_power"))
              .sort(keys, nulls_last=True))


def benchmark_latency(mi: pl.DataFrame, model: str = "resnet50", scenario: str = "SingleStream") -> pl.DataFrame:
    """Latency of one MLPerf Inference benchmark in one latency scenario, per device (median and range over results).

    Parameters
    ----------
    model : str
        Benchmark model as published (``resnet50``, ``retinanet``, ``bert-99`` ...).
    scenario : {"SingleStream", "MultiStream"}
        SingleStream reports the 90th-percentile latency per sample, MultiStream the 99th
        percentile per 8-sample query.

    Returns
    -------
    polars.DataFrame
        ``model, scenario, device_class, device_name, results, latency_ms, latency_ms_min,
        latency_ms_max`` [ms], sorted by device class then latency.

    Raises
    ------
    UnknownNameError
        A model or scenario without latency results (the message lists those that have some).
    """
    col = {"SingleStream": "latency_ms_p90", "MultiStream": "latency_ms_p99"}
    if scenario not in col:
        raise UnknownNameError("latency scenario", scenario, col)
    rows = mi.filter((pl.col("scenario") == scenario) & pl.col(col[scenario]).is_not_null())
    if model not in set(rows["model"].to_list()):
        raise UnknownNameError(f"MLPerf Inference model with {scenario} results", model,
                               sorted(set(rows["model"].to_list())))
    grouped = (rows.filter(pl.col("model") == model)
               .group_by("model", "scenario", "device_class", "device_name")
               .agg(pl.len().alias("results"), pl.col(col[scenario]).median().alias("latency_ms"),
                    pl.col(col[scenario]).min().alias("latency_ms_min"),
                    pl.col(col[scenario]).max().alias("latency_ms_max")))
    return (device_labels(grouped, "device_name").with_columns(pl.lit("imported").alias("provenance"))
            .sort("device_class", "latency_ms", "device_name"))
