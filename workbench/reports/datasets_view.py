"""Tables of notebook 02 (public measurements beside own runs).

Four views, each a polars frame sorted on its key columns (the same inputs give the same CSV):

1. **Provenance** (:func:`provenance_table`): for the own profiler runs a report reads, for rows
   imported into the run store and for every public dataset read from the datasets folder: rows,
   models, devices, device classes and how each energy figure was obtained (``energy_method``).
2. **The same workloads across the continuum** (:func:`tiny_twin_boards`, :func:`twin_points`,
   :func:`twin_summary`): MLPerf Tiny's four closed-division benchmark models on the boards that
   ran them (latency and energy per inference measured by the submitters) beside their zoo twins
   profiled on this machine (``BENCHMARK_TWINS`` of :mod:`workbench.datasets.mlperf_tiny`).
3. **Cloud and edge accelerators** (:func:`accelerator_energy`, :func:`inference_performance`,
   :func:`benchmark_latency`): MLPerf Inference and ML.ENERGY per device class and device, energy
   per sample, token, request or image, the MLPerf scenario kept.
4. **nn-Meter** (:func:`nn_meter_summary`, :func:`nn_meter_histogram`, :func:`nn_meter_ratios`):
   latency distributions of ~26k CNNs on four mobile/edge devices and cross-device ratios.

The public datasets are read with :func:`workbench.datasets.load` from the folder that
:func:`workbench.reports.data.find_datasets_dir` finds (``../shared/data`` beside the checkout, or
``$WORKBENCH_SHARED_DATA``); :func:`load_public_data` records which files it read and which
datasets it skipped and why, so that a report on a fresh clone says what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.datasets.mlperf_tiny import BENCHMARK_TWINS
from workbench.errors import ImportFormatError, ParameterError, UnknownNameError

DATASET_FOLDERS = {
    "mlperf-tiny": "mlperf-tiny",
    "mlperf-inference": "mlperf-inference",
    "ml-energy": "ml-energy-leaderboard",
    "nn-meter": "nn-meter-model-latency",
    "codecarbon": "codecarbon",
}
"""Dataset kind (:data:`workbench.datasets.KINDS`) → its sub-folder of the datasets folder."""

DATASET_LABELS = {
    "profiler": "own runs (profiler)",
    "mlperf-tiny": "MLPerf Tiny",
    "mlperf-inference": "MLPerf Inference",
    "ml-energy": "ML.ENERGY",
    "nn-meter": "nn-Meter",
    "codecarbon": "codecarbon emissions.csv",
}

BASIS_SUBMITTER = "measured: MLPerf Tiny submitter"
BASIS_HERE = "measured: this machine"
BASIS_SENSOR = "measured: sensor on this machine"
BASIS_ESTIMATE = "estimate: TDP x load (not a sensor)"
ENERGY_BASIS = {
    "rapl": BASIS_SENSOR, "nvml": BASIS_SENSOR, "external-meter": BASIS_SENSOR,
    "tdp-estimate": BASIS_ESTIMATE, "replay": "replayed power trace", "predicted": "predicted by a cost model",
}
"""``energy_method`` of own runs → how the energy figure was obtained, as shown in tables and legends."""

Q_LATENCY = "latency per inference [ms]"
Q_ENERGY = "energy per inference [J]"
"""The two quantities of the continuum comparison (``quantity`` of :func:`twin_points`)."""


# ------------------------------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class PublicData:
    """The public datasets one report read, the files behind them and what was skipped."""

    data_dir: Path | None
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    """Dataset kind → validated measurement rows (:func:`workbench.datasets.load`)."""
    files: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    """Dataset kind → the files read (record them in the report's manifest)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Dataset kind → why it was not read."""

    def has(self, kind: str) -> bool:
        """Whether dataset ``kind`` was read and has rows."""
        return kind in self.frames and self.frames[kind].height > 0

    def all_files(self) -> list[Path]:
        """Every file read, in dataset order."""
        return [f for k in self.files for f in self.files[k]]


def load_public_data(data_dir, kinds=tuple(DATASET_FOLDERS)) -> PublicData:
    """Read the public datasets found in ``data_dir`` (each from its sub-folder, :data:`DATASET_FOLDERS`).

    A dataset whose folder or files are absent is skipped with its reason; a file that is present but
    malformed raises (a broken dataset is an error, not a silent gap).

    Parameters
    ----------
    data_dir : str or Path or None
        The datasets folder (:func:`workbench.reports.data.find_datasets_dir`); None skips every dataset.
    kinds : sequence of str
        Dataset kinds to read (keys of :data:`DATASET_FOLDERS`).

    Returns
    -------
    PublicData

    Raises
    ------
    UnknownNameError
        A kind that is not in :data:`DATASET_FOLDERS`.
    ImportFormatError
        A dataset file with missing columns or malformed rows.
    """
    from workbench import datasets

    kinds = list(kinds)
    for k in kinds:
        if k not in DATASET_FOLDERS:
            raise UnknownNameError("dataset kind", k, DATASET_FOLDERS)
    data_dir = Path(data_dir) if data_dir is not None else None
    frames, files, skipped = {}, {}, {}
    for kind in kinds:
        if data_dir is None:
            skipped[kind] = "no datasets folder"
            continue
        folder = data_dir / DATASET_FOLDERS[kind]
        if not folder.is_dir():
            skipped[kind] = f"no folder {DATASET_FOLDERS[kind]}/ in {data_dir}"
            continue
        try:
            found = datasets.files_for(kind, folder)
        except ImportFormatError:
            mod = datasets._module(kind)
            skipped[kind] = f"{DATASET_FOLDERS[kind]}/ holds none of {', '.join(mod.FILE_NAMES)}"
            continue
        frames[kind] = datasets.load(kind, folder)
        files[kind] = tuple(found)
    return PublicData(data_dir, frames, files, skipped)


def datasets_note(data: PublicData) -> str:
    """Markdown: which public datasets were read (files, rows) and which were skipped, and how to enable them."""
    from workbench.reports.data import SHARED_DATA_ENV

    parts = []
    if data.frames:
        read = "; ".join(f"{DATASET_LABELS[k]} ({data.frames[k].height:,} rows from "
                         f"{', '.join(f'`{p.name}`' for p in data.files[k])})" for k in data.frames)
        parts.append(f"Public datasets read from `{data.data_dir}`: {read}. Each file is recorded with its "
                     "SHA-256 in the report's manifest.")
    if data.skipped:
        sk = "; ".join(f"{DATASET_LABELS[k]}: {why}" for k, why in data.skipped.items())
        parts.append(f"**Skipped**: {sk}. Fix: set the parameter `datasets_dir` (or the environment variable "
                     f"`{SHARED_DATA_ENV}`) to the folder holding the public datasets (the project's "
                     "`../shared/data`: `mlperf-tiny/`, `mlperf-inference/`, `ml-energy-leaderboard/`, "
                     "`nn-meter-model-latency/`); users' codecarbon logs are read from `codecarbon/emissions.csv` "
                     "there, or imported into the run store with `workbench import codecarbon emissions.csv`.")
    return " ".join(parts)


def section_note(data: PublicData, kinds, what: str) -> str:
    """Markdown for a section that needs datasets ``kinds``: the datasets it reads (with rows) when any
    was read, else what was skipped (``what``: the section's content) and how to enable it."""
    kinds = list(kinds)
    if any(data.has(k) for k in kinds):
        return "Read from " + "; ".join(
            f"{DATASET_LABELS[k]} ({data.frames[k].height:,} rows)" if data.has(k) else
            f"not {DATASET_LABELS[k]} ({data.skipped.get(k, 'no rows')})" for k in kinds) + "."
    why = "; ".join(f"{DATASET_LABELS[k]}: {data.skipped.get(k, 'no rows')}" for k in kinds)
    return (f"**Skipped: {what}.** Not available here ({why}). Set `datasets_dir` (or "
            "`$WORKBENCH_SHARED_DATA`) to the folder holding the public datasets to show it.")


def store_imports(store) -> pl.DataFrame:
    """Rows imported into the run store from datasets (neither profiler runs nor predictions)."""
    from workbench.store import Store

    store = store if isinstance(store, Store) else Store(Path(store))
    return store.read(filters=(pl.col("source") != "profiler") & ~pl.col("source").str.starts_with("predicted"))


# ------------------------------------------------------------------------------------------ 1. provenance
def _provenance_rows(df: pl.DataFrame, origin: str, dataset: str, files: str) -> pl.DataFrame:
    return (df.group_by("source")
              .agg(pl.len().alias("rows"), pl.col("model").n_unique().alias("models"),
                   pl.col("device_name").n_unique().alias("devices"),
                   pl.col("device_class").unique().sort().str.join(", ").alias("device_classes"),
                   pl.col("energy_scope").drop_nulls().value_counts(sort=False).alias("_scopes"))
              .with_columns(pl.lit(origin).alias("origin"), pl.lit(dataset).alias("dataset"),
                            pl.lit(files).alias("files")))


def provenance_table(own: pl.DataFrame, data: PublicData, imported: pl.DataFrame | None = None) -> pl.DataFrame:
    """Where every row of the report comes from and how its energy figure was obtained.

    Parameters
    ----------
    own : polars.DataFrame
        The own profiler runs the report reads (:func:`workbench.reports.data.ensure_runs`).
    data : PublicData
        The public datasets read (:func:`load_public_data`).
    imported : polars.DataFrame, optional
        Rows imported into the run store (:func:`store_imports`).

    Returns
    -------
    polars.DataFrame
        One row per origin × dataset × source (dataset version): ``origin, dataset, source, files,
        rows, models, devices, device_classes, energy_scopes`` and one column ``energy_<method>``
        per energy method present (rows obtained that way [rows]; method names as in
        :data:`workbench.schema.ENERGY_METHODS`, ``-`` written ``_``).
    """
    parts = []
    if own.height:
        parts.append((own, "run store", "profiler", ""))
    if imported is not None and imported.height:
        parts.append((imported, "run store (imported)", "imported", ""))
    for kind, df in data.frames.items():
        if df.height:
            parts.append((df, "datasets folder", kind, ", ".join(p.name for p in data.files.get(kind, ()))))
    keys = ["origin", "dataset", "source"]
    if not parts:
        return pl.DataFrame(schema={k: pl.String for k in keys})
    summary = pl.concat([_provenance_rows(df, o, d, f) for df, o, d, f in parts], how="vertical")
    counts = pl.concat([df.select("source", "energy_method").with_columns(pl.lit(o).alias("origin"),
                                                                          pl.lit(d).alias("dataset"))
                        for df, o, d, _ in parts], how="vertical")
    methods = sorted(counts["energy_method"].unique().to_list())
    wide = (counts.group_by([*keys, "energy_method"]).len()
                  .with_columns(("energy_" + pl.col("energy_method").str.replace_all("-", "_")).alias("m"))
                  .pivot(on="m", index=keys, values="len", aggregate_function="sum"))
    mcols = [f"energy_{m.replace('-', '_')}" for m in methods]
    scopes = [", ".join(f"{s['energy_scope']}: {s['count']}" for s in sorted(v, key=lambda s: s["energy_scope"]))
              for v in summary["_scopes"].to_list()]
    summary = summary.drop("_scopes").with_columns(pl.Series("energy_scopes", scopes, dtype=pl.String))
    out = summary.join(wide, on=keys, how="left").with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in mcols])
    return out.select([*keys, "files", "rows", "models", "devices", "device_classes", "energy_scopes",
                       *mcols]).sort(keys)


# ------------------------------------------------------------------------------------------ 2. twins
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
    return out.select(list(cols)).cast(cols).sort("zoo_model", "device_class", "device_name")


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
        energy_j_max, energy_x_own, latency_basis, energy_basis``.
    """
    pts = twin_points(boards, own)
    keys = ["zoo_model", "platform"]
    cols = [*keys, "devices", "latency_ms_median", "latency_ms_min", "latency_ms_max", "latency_x_own",
            "energy_devices", "energy_j_median", "energy_j_min", "energy_j_max", "energy_x_own", "latency_basis",
            "energy_basis"]
    if pts.height == 0:
        return pl.DataFrame(schema={c: (pl.String if c in (*keys, "latency_basis", "energy_basis") else
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
                     "the own runs are shown: set `datasets_dir` (or `$WORKBENCH_SHARED_DATA`) to the public "
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

        from workbench.measure.profiler import CONTENDED_BUSY_SHARE

        idle = share.filter(pl.col("busy_share") < CONTENDED_BUSY_SHARE)
        if idle.height:
            parts.append(f"**Caution**: in the energy window of {listed(idle)} the model computed less than half the "
                         "time, so its energy per inference is overstated by about the inverse of that share "
                         "(the window's energy went elsewhere: meter start-up, other processes). Measure again "
                         "(`measure = \"always\"`) to replace such runs.")
        over = share.filter(pl.col("busy_share") > 2)
        if over.height:
            parts.append(f"**Caution**: {listed(over)} ran more calls in its energy window than its median latency "
                         "allows: that latency was measured under heavier load than the window (a shared machine); "
                         "latency and energy per inference of these runs disagree.")
    if methods == ["none"]:
        parts.append("The own runs have no energy figure (meter `none`).")
    return " ".join(parts)


# ------------------------------------------------------------------------------------------ 3. accelerators
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
    rows = pl.concat(frames, how="vertical_relaxed")
    return (rows.group_by(keys)
                .agg(pl.len().alias("results"), pl.col("model").n_unique().alias("models"),
                     pl.col("energy_j").median().alias("energy_j_median"),
                     pl.col("energy_j").min().alias("energy_j_min"),
                     pl.col("energy_j").max().alias("energy_j_max"), pl.col("power_w").median().alias("power_w_median"),
                     pl.col("scope").first())
                .select(cols).sort(keys, nulls_last=True))


def energy_series(table: pl.DataFrame, energy_per: str, *, task: str | None = None) -> pl.DataFrame:
    """Rows of :func:`accelerator_energy` for one unit (and task), with a ``series`` label per dataset,
    version and scenario, for a figure."""
    t = table.filter(pl.col("energy_per") == energy_per)
    if task is not None:
        t = t.filter(pl.col("task") == task)
    return (t.group_by("dataset", "source", "scenario", "device_class", "device")
             .agg(pl.col("results").sum(), pl.col("energy_j_median").median(), pl.col("energy_j_min").min(),
                  pl.col("energy_j_max").max())
             .with_columns(pl.when(pl.col("scenario").is_null()).then(pl.col("source"))
                             .otherwise(pl.format("{} {}", "source", "scenario")).alias("series"))
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
    return (rows.filter(pl.col("model") == model)
                .group_by("model", "scenario", "device_class", "device_name")
                .agg(pl.len().alias("results"), pl.col(col[scenario]).median().alias("latency_ms"),
                     pl.col(col[scenario]).min().alias("latency_ms_min"),
                     pl.col(col[scenario]).max().alias("latency_ms_max"))
                .sort("device_class", "latency_ms", "device_name"))


# ------------------------------------------------------------------------------------------ 4. nn-Meter
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
    import math

    if isinstance(bins_per_decade, bool) or not isinstance(bins_per_decade, int) or bins_per_decade < 1:
        raise ParameterError(f"bins_per_decade must be a positive integer, got {bins_per_decade!r}.")
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
                      .sort("device_name"))
    by_family = (pairs.group_by("device_name", "model_family")
                      .agg(pl.len().alias("models"), r.median().alias("ratio_median"))
                      .with_columns(pl.lit(reference).alias("reference"))
                      .select("device_name", "model_family", "reference", "models", "ratio_median")
                      .sort("device_name", "model_family"))
    return by_device, by_family
