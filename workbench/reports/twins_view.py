"""Notebook 02, the same workloads across the continuum: MLPerf Tiny's benchmark models on the boards
that ran them, beside their zoo twins profiled on this machine.

:func:`tiny_twin_boards` keeps the closed-division results of the benchmarks that have zoo twins
(``BENCHMARK_TWINS`` of :mod:`workbench.datasets.mlperf_tiny`), one row per twin × board;
:func:`twin_points` and :func:`twin_summary` put them beside the own runs (latency and energy per
inference, with how each number was obtained); :func:`twins_note` says what is compared and how far
to trust it, :func:`energy_window_busy_share` how much of an own energy window the model computed.
"""

from __future__ import annotations

import polars as pl

from workbench.datasets.mlperf_tiny import BENCHMARK_TWINS
from workbench.datasets.public import PublicData
from workbench.reports.data import SHARED_DATA_ENV
from workbench.reports.sections import percent
from workbench.reports.theme import device_labels

BASIS_SUBMITTER = "measured: MLPerf Tiny submitter"
BASIS_HERE = "measured: this machine"
BASIS_SENSOR = "measured: sensor on this machine"
BASIS_ESTIMATE = "estimate: TDP x load (not a sensor)"
ENERGY_BASIS = {
    "rapl": BASIS_SENSOR, "nvml": BASIS_SENSOR, "external-meter": BASIS_SENSOR,
    "tdp-estimate": BASIS_ESTIMATE, "replay": "replayed power trace", "predicted": "predicted by a cost model",
}
"""``energy_method`` of own runs → how the energy figure was obtained, as shown in tables and legends."""

BASIS_STATE = {BASIS_SUBMITTER: "imported", BASIS_HERE: "measured", BASIS_SENSOR: "measured",
               BASIS_ESTIMATE: "estimated", "replayed power trace": "measured", "predicted by a cost model": "predicted"}
"""How obtained (``basis``) → provenance state (:mod:`workbench.reports.provenance`)."""


def _state(basis: pl.Expr) -> pl.Expr:
    return basis.replace_strict(BASIS_STATE, default=None, return_dtype=pl.String)

Q_LATENCY = "latency per inference [ms]"
Q_ENERGY = "energy per inference [J]"
"""The two quantities of the continuum comparison (``quantity`` of :func:`twin_points`)."""


def tiny_twin_boards(tiny: pl.DataFrame, models=None) -> pl.DataFrame:
    """MLPerf Tiny closed-division results of the benchmark models that have zoo twins, one row per twin × board.

    The twins come from :data:`workbench.datasets.mlperf_tiny.BENCHMARK_TWINS` (benchmark code → zoo
    model with the reference architecture: ResNet-8, MobileNetV1 0.25× VWW, DS-CNN KWS, FC
    autoencoder). The closed division requires the reference model (Banbury et al., "MLPerf Tiny
    Benchmark", NeurIPS Datasets and Benchmarks 2021), run quantized (mostly int8 TFLite Micro);
    open-division rows may change the model and are left out.

    A board's figure is the median over its submissions of that benchmark (several rounds,
    frameworks or clocks); ``submissions`` and ``energy_submissions`` count them.

    Parameters
    ----------
    tiny : polars.DataFrame or None
        MLPerf Tiny rows (``datasets.load("mlperf-tiny", ...)``); None gives an empty table.
    models : list of str, optional
        Keep only these zoo twins (default: all of :data:`BENCHMARK_TWINS`).

    Returns
    -------
    polars.DataFrame
        ``zoo_model, benchmark, mlperf_model, device_name, device_class, submissions, rounds,
        latency_ms`` (median latency per inference [ms]), ``latency_ms_min, latency_ms_max``
        (over submissions), ``energy_submissions, energy_j`` (median energy per inference [J],
        null without an energy run), ``power_w`` (median power of the energy runs [W]),
        ``energy_method`` (``dataset``) and ``basis``.
    """
    cols = {"zoo_model": pl.String, "benchmark": pl.String, "mlperf_model": pl.String, "device_name": pl.String,
            "device_class": pl.String, "submissions": pl.Int64, "rounds": pl.String, "latency_ms": pl.Float64,
            "latency_ms_min": pl.Float64, "latency_ms_max": pl.Float64, "energy_submissions": pl.Int64,
            "energy_j": pl.Float64, "power_w": pl.Float64, "energy_method": pl.String, "basis": pl.String}
    if tiny is None:
        return pl.DataFrame(schema=cols)
    keep = list(BENCHMARK_TWINS.values()) if models is None else [m for m in models if m in BENCHMARK_TWINS.values()]
    bench = pl.col("config_json").str.json_path_match("$.benchmark")
    division = pl.col("config_json").str.json_path_match("$.division")
    rows = (tiny.with_columns(bench.alias("benchmark"), division.alias("division"))
                .filter((pl.col("division") == "closed") & pl.col("benchmark").is_in(list(BENCHMARK_TWINS)))
                .with_columns(pl.col("benchmark").replace_strict(BENCHMARK_TWINS).alias("zoo_model"))
                .filter(pl.col("zoo_model").is_in(keep))
                .with_columns(pl.when(pl.col("energy_scope") == "inference").then(pl.col("energy_j")).alias("e")))
    keys = ["zoo_model", "benchmark", "device_name", "device_class"]
    out = (rows.group_by(keys)
               .agg(pl.col("model").unique().sort().str.join(", ").alias("mlperf_model"),
                    pl.len().alias("submissions"),
                    pl.col("source").str.replace("mlperf-tiny ", "").unique().sort().str.join(", ").alias("rounds"),
                    pl.col("latency_ms_mean").median().alias("latency_ms"),
                    pl.col("latency_ms_mean").min().alias("latency_ms_min"),
                    pl.col("latency_ms_mean").max().alias("latency_ms_max"),
                    pl.col("e").is_not_null().sum().cast(pl.Int64).alias("energy_submissions"),
                    pl.col("e").median().alias("energy_j"),
                    pl.when(pl.col("e").is_not_null()).then(pl.col("power_w")).median().alias("power_w"))
               .with_columns(pl.lit("dataset").alias("energy_method"), pl.lit(BASIS_SUBMITTER).alias("basis"),
                             pl.col("submissions").cast(pl.Int64)))
    return device_labels(out.select(list(cols)).cast(cols), "device_name").sort("zoo_model", "device_class", "device_name")


def _own_points(own: pl.DataFrame) -> pl.DataFrame:
    """Own runs as per-inference latency [ms] and energy [J] per model × dtype × device."""
    e_ok = (pl.col("energy_scope") == "inference") & (pl.col("energy_method") != "none")
    return own.select(
        pl.col("model").alias("zoo_model"), "dtype", "device_name", "device_class",
        (pl.col("latency_ms_p50") / pl.col("batch_size")).alias("latency_ms"),
        pl.when(e_ok).then(pl.col("energy_j")).alias("energy_j"), "energy_method")


def _platform_own(device_class: pl.Expr, dtype: pl.Expr) -> pl.Expr:
    return pl.format("own runs · {} · {}", device_class, dtype)


def twin_points(boards: pl.DataFrame, own: pl.DataFrame) -> pl.DataFrame:
    """Long table of every point of the continuum figure: one row per zoo model × device × quantity.

    Parameters
    ----------
    boards : polars.DataFrame
        :func:`tiny_twin_boards` (may be empty).
    own : polars.DataFrame
        Own profiler runs (:func:`workbench.reports.data.ensure_runs`), batch size 1.

    Returns
    -------
    polars.DataFrame
        ``zoo_model, platform, device_name, quantity`` (``latency per inference [ms]`` or
        ``energy per inference [J]``), ``value``, ``basis`` (measured by a submitter, measured on
        this machine, or a TDP estimate).
    """
    schema = {"zoo_model": pl.String, "platform": pl.String, "device_name": pl.String, "quantity": pl.String,
              "value": pl.Float64, "basis": pl.String}
    frames = []
    if boards.height:
        b = boards.with_columns(pl.format("MLPerf Tiny · {}", "device_class").alias("platform"))
        frames += [b.select("zoo_model", "platform", "device_name", pl.lit(Q_LATENCY).alias("quantity"),
                            pl.col("latency_ms").alias("value"), pl.lit(BASIS_SUBMITTER).alias("basis")),
                   b.select("zoo_model", "platform", "device_name", pl.lit(Q_ENERGY).alias("quantity"),
                            pl.col("energy_j").alias("value"), pl.lit(BASIS_SUBMITTER).alias("basis"))]
    if own.height:
        o = _own_points(own).with_columns(_platform_own(pl.col("device_class"), pl.col("dtype")).alias("platform"))
        frames += [o.select("zoo_model", "platform", "device_name", pl.lit(Q_LATENCY).alias("quantity"),
                            pl.col("latency_ms").alias("value"), pl.lit(BASIS_HERE).alias("basis")),
                   o.select("zoo_model", "platform", "device_name", pl.lit(Q_ENERGY).alias("quantity"),
                            pl.col("energy_j").alias("value"),
                            pl.col("energy_method").replace_strict(ENERGY_BASIS, default="other").alias("basis"))]
    if not frames:
        return pl.DataFrame(schema=schema)
    rank = pl.col("quantity").replace_strict({Q_LATENCY: 0, Q_ENERGY: 1}, return_dtype=pl.Int8)
    return (pl.concat(frames, how="vertical").cast(schema).filter(pl.col("value").is_not_null())
              .with_columns(_state(pl.col("basis")).alias("provenance"))
              .sort("zoo_model", rank, "platform", "device_name"))


def twin_summary(boards: pl.DataFrame, own: pl.DataFrame, *, reference_dtype: str = "fp32") -> pl.DataFrame:
    """Median and range across devices of each zoo model's latency and energy per inference, per platform.

    Platforms are the MLPerf Tiny device classes (``MLPerf Tiny · mcu`` ...) and the own runs per
    device class and numeric format (``own runs · server-cpu · fp32``). Ratios compare each
    platform's median with the own runs of ``reference_dtype`` on this device class.

    Returns
    -------
    polars.DataFrame
        ``zoo_model, platform, devices, latency_ms_median, latency_ms_min, latency_ms_max,
        latency_x_own`` (median ÷ own median [1]), ``energy_devices, energy_j_median, energy_j_min,
        energy_j_max, energy_x_own, latency_basis, energy_basis`` and the provenance states of both
        (``latency_provenance``, ``energy_provenance``).
    """
    pts = twin_points(boards, own)
    keys = ["zoo_model", "platform"]
    cols = [*keys, "devices", "latency_ms_median", "latency_ms_min", "latency_ms_max", "latency_x_own",
            "energy_devices", "energy_j_median", "energy_j_min", "energy_j_max", "energy_x_own", "latency_basis",
            "energy_basis", "latency_provenance", "energy_provenance"]
    if pts.height == 0:
        return pl.DataFrame(schema={c: (pl.String if c in (*keys, "latency_basis", "energy_basis", "latency_provenance",
                                                           "energy_provenance") else
                                        pl.Int64 if c.endswith("devices") else pl.Float64) for c in cols})

    def agg(q: str, prefix: str) -> pl.DataFrame:
        return (pts.filter(pl.col("quantity") == q).group_by(keys)
                   .agg(pl.col("device_name").n_unique().cast(pl.Int64).alias(f"{prefix}devices"),
                        pl.col("value").median().alias(f"{prefix}median"), pl.col("value").min().alias(f"{prefix}min"),
                        pl.col("value").max().alias(f"{prefix}max"),
                        pl.col("basis").unique().sort().str.join("; ").alias(f"{prefix}basis")))

    lat = agg(Q_LATENCY, "lat_")
    en = agg(Q_ENERGY, "en_")
    t = lat.join(en, on=keys, how="full", coalesce=True)
    is_ref = pl.col("platform").str.starts_with("own runs") & pl.col("platform").str.ends_with(f"· {reference_dtype}")
    ref = (t.filter(is_ref)
            .group_by("zoo_model").agg(pl.col("lat_median").first().alias("_lref"),
                                       pl.col("en_median").first().alias("_eref")))
    t = t.join(ref, on="zoo_model", how="left")
    return t.select(
        *keys, pl.col("lat_devices").fill_null(0).alias("devices"),
        pl.col("lat_median").alias("latency_ms_median"), pl.col("lat_min").alias("latency_ms_min"),
        pl.col("lat_max").alias("latency_ms_max"), (pl.col("lat_median") / pl.col("_lref")).alias("latency_x_own"),
        pl.col("en_devices").fill_null(0).alias("energy_devices"), pl.col("en_median").alias("energy_j_median"),
        pl.col("en_min").alias("energy_j_min"), pl.col("en_max").alias("energy_j_max"),
        (pl.col("en_median") / pl.col("_eref")).alias("energy_x_own"),
        pl.col("lat_basis").alias("latency_basis"), pl.col("en_basis").alias("energy_basis"),
        _state(pl.col("lat_basis")).alias("latency_provenance"), _state(pl.col("en_basis")).alias("energy_provenance"),
    ).sort(keys)


def energy_window_busy_share(own: pl.DataFrame) -> pl.DataFrame:
    """How much of each own run's energy window the model was computing [1].

    The profiler divides the energy of a window of back-to-back calls by the calls it made; the
    share is ``calls × median latency ÷ window length``. Well below 1, the window spent its time
    (and energy) elsewhere (meter start-up, other processes), and the energy per inference is
    overstated by about its inverse.

    Returns
    -------
    polars.DataFrame
        ``model, dtype, device_name, calls, window_s, busy_share``, rows with an energy window only.
    """
    e = pl.col("config_json")
    return (own.select("model", "dtype", "device_name", "latency_ms_p50",
                       e.str.json_path_match("$.energy.calls").cast(pl.Int64).alias("calls"),
                       e.str.json_path_match("$.energy.window_s").cast(pl.Float64).alias("window_s"))
               .filter(pl.col("calls").is_not_null() & (pl.col("window_s") > 0))
               .with_columns((pl.col("calls") * pl.col("latency_ms_p50") / 1000 / pl.col("window_s"))
                             .alias("busy_share"))
               .drop("latency_ms_p50").sort("model", "dtype", "device_name"))


def twins_note(models, own: pl.DataFrame, data: PublicData) -> str:
    """Markdown: which models have MLPerf Tiny twins, what is compared, and how each number was obtained."""
    models = list(models)
    twins = [m for m in models if m in BENCHMARK_TWINS.values()]
    others = [m for m in models if m not in BENCHMARK_TWINS.values()]
    methods = sorted(set(own["energy_method"].to_list())) if own.height else []
    parts = []
    if others:
        parts.append(f"{', '.join(f'`{m}`' for m in others)} {'has' if len(others) == 1 else 'have'} no MLPerf Tiny "
                     "twin and appear(s) with own runs only.")
    if not twins:
        parts.append("None of `models` is an MLPerf Tiny twin (`" + "`, `".join(BENCHMARK_TWINS.values()) + "`).")
    if data.has("mlperf-tiny"):
        parts.append("MLPerf Tiny figures are the closed-division results (reference models, mostly int8 TFLite "
                     "Micro), measured by the submitters: latency per inference from the performance run, energy "
                     "per inference from the energy run through the EEMBC energy monitor (sometimes at another "
                     "clock). Each board's point is the median over its submissions.")
    else:
        parts.append("**MLPerf Tiny was not read** (" + data.skipped.get("mlperf-tiny", "no rows") + "), so only "
                     f"the own runs are shown: set `datasets_dir` (or `${SHARED_DATA_ENV}`) to the public "
                     "datasets to put the microcontroller boards beside them.")
    if "tdp-estimate" in methods:
        parts.append("Own energy figures are **TDP estimates** (codecarbon scales the CPU's rated power by its "
                     "load; this machine has no power sensor): they are not measurements and are shown with their "
                     "own marker.")
    if own.height and "config_json" in own.columns:
        share = energy_window_busy_share(own)

        def listed(t: pl.DataFrame) -> str:
            return ", ".join(f"`{r['model']}` {r['dtype']} ({r['calls']} calls in {r['window_s']:.2f} s: "
                             f"{r['busy_share']:.1%} of the window at the median latency)"
                             for r in t.iter_rows(named=True))

        from workbench.measure.profiler import CONTENDED_BUSY_SHARE  # imports torch

        idle = share.filter(pl.col("busy_share") < CONTENDED_BUSY_SHARE)
        if idle.height:
            parts.append(f"**Caution**: in the energy window of {listed(idle)} the model computed less than "
                         f"{percent(CONTENDED_BUSY_SHARE)} of the time, so its energy per inference is overstated "
                         "by about the inverse of that share (the window's energy went elsewhere: meter start-up, other processes). Measure again "
                         "(`measure = \"always\"`) to replace such runs.")
        over = share.filter(pl.col("busy_share") > 2)
        if over.height:
            parts.append(f"**Caution**: {listed(over)} ran more calls in its energy window than its median latency "
                         "allows: that latency was measured under heavier load than the window (a shared machine); "
                         "latency and energy per inference of these runs disagree.")
    if methods == ["none"]:
        parts.append("The own runs have no energy figure (meter `none`).")
    return " ".join(parts)
