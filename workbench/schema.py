"""The measurement schema: one tidy table that every part of the workbench reads and writes.

One row is one measurement of one model in one configuration on one device from one source
(a profiler run, a public dataset, a cost-model prediction). Units are in column names; the
glossary (:data:`COLUMNS`, printed by ``workbench schema``) gives name, dtype, unit and meaning.

Conventions
-----------
- *Per inference* means per input sample. ``flops``, ``activation_bytes`` and ``energy_j`` (when
  ``energy_scope == "inference"``) are per sample; ``latency_ms_*`` and ``memory_peak_bytes`` are
  per forward call of ``batch_size`` samples; ``throughput_per_s`` is samples per second.
- One FLOP is one floating-point multiply *or* add, so a multiply-accumulate is 2 FLOPs (the
  convention of ``torch.utils.flop_counter.FlopCounterMode``).
- Every number says how it was obtained: ``source`` (``profiler``, a dataset name and version, or
  ``predicted:<cost model>``), ``energy_method`` and ``memory_method``.

:func:`validate` accepts polars or pandas frames and returns the same kind it was given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import polars as pl

from workbench.bounds import PLAUSIBLE_MAXIMA
from workbench.errors import SchemaError

SCHEMA_VERSION = 1

OPERATOR_FAMILY = "kernels"
"""``model_family`` of operator-benchmark rows (:mod:`workbench.measure.kernels`): cost-model
evaluation trains on them in every fold and never scores them, as they are not a model family."""

DEVICE_CLASSES = {
    "mcu": "microcontroller (Cortex-M, RISC-V MCU), kB-MB of SRAM",
    "phone": "smartphone SoC (CPU, mobile GPU, DSP/NPU)",
    "edge-cpu": "single-board computer CPU (Raspberry Pi class)",
    "edge-accelerator": "edge GPU/NPU/TPU/VPU module (Jetson, Coral, Movidius, Hailo)",
    "laptop": "laptop CPU/GPU",
    "desktop-cpu": "desktop or workstation CPU",
    "desktop-gpu": "discrete desktop or workstation GPU (GeForce, RTX workstation, Arc), on premises",
    "server-cpu": "server CPU (Xeon, EPYC, Graviton), on premises or in the cloud",
    "cloud-gpu": "data-centre GPU or accelerator (V100, A100, H100, B200, TPU)",
}
"""Device classes of the edge–network–cloud continuum, with what each means."""

ENERGY_METHODS = {
    "rapl": "measured with Intel/AMD RAPL counters (CPU package/DRAM), directly or through codecarbon",
    "nvml": "measured with NVIDIA NVML total-energy counters",
    "tdp-estimate": "estimated from TDP × load (codecarbon fallback when no power sensor exists)",
    "replay": "integrated from a recorded power trace (testing, or offline traces)",
    "external-meter": "measured with an external power meter",
    "dataset": "imported from a published dataset (see source)",
    "predicted": "predicted by a cost model (see source)",
    "none": "no energy figure",
}
"""How an energy figure was obtained."""

ENERGY_SCOPES = {
    "inference": "energy_j per inference (per input sample)",
    "request": "energy_j per served request (LLM serving)",
    "token": "energy_j per generated token",
    "stream": "energy_j over a streaming window, not per inference (MLPerf Tiny streaming wake word)",
    "run": "energy_j of a whole tracked run (codecarbon emissions.csv)",
}
"""What one ``energy_j`` value covers."""

MEMORY_METHODS = {
    "torch-profiler": "weights + input + peak of live allocations traced by torch.profiler (CPU)",
    "cuda-max-allocated": "torch.cuda.max_memory_allocated over the forward",
    "dataset": "imported from a published dataset",
    "predicted": "predicted by a cost model",
    "analytic": "computed from tensor sizes without running",
}
"""How ``memory_peak_bytes`` was obtained."""

LATENCY_METHODS = {
    "wall": "wall clock (time.perf_counter_ns) per call, back to back, not normalised",
    "envelope-min/thread-cpu": "the fastest call on the calling thread's CPU clock, over blocks interleaved "
                               "with a reference workload, contended blocks re-run (workbench.measure.interleaved)",
    "envelope-min/wall": "the fastest call on the wall clock, blocks as for envelope-min/thread-cpu",
    "reference-interleaved/thread-cpu": "calling thread's CPU time per call, each block relative to reference "
                                        "blocks interleaved around it (workbench.measure.reference)",
    "reference-interleaved/wall": "wall clock per call, each block relative to reference blocks interleaved "
                                  "around it (multi-threaded runs)",
    "reference-duet/thread-cpu": "calling thread's CPU time per call, each block relative to a reference run at "
                                 "the same time on another core (workbench.measure.duet)",
}
"""How ``latency_ms_norm`` was obtained: the estimator and the clock (``wall``: not normalised, null)."""

ENUMS = {
    "device_class": DEVICE_CLASSES,
    "latency_method": LATENCY_METHODS,
    "energy_method": ENERGY_METHODS,
    "energy_scope": ENERGY_SCOPES,
    "memory_method": MEMORY_METHODS,
}


@dataclass(frozen=True)
class Column:
    """One column of the measurement table."""

    name: str
    dtype: pl.DataType
    unit: str
    meaning: str
    required: bool = False  # never null
    non_negative: bool = False
    positive: bool = False
    maximum: str | None = None  # key of its plausibility bound in PLAUSIBLE_MAXIMA (in the column's unit)


_S, _I, _F = pl.String(), pl.Int64(), pl.Float64()
_T = pl.Datetime("us", "UTC")

COLUMNS: tuple[Column, ...] = (
    Column("measurement_id", _S, "-", "unique id of this row", required=True),
    Column("run_id", _S, "-", "id of the run (one profiler invocation, one import) that wrote the row", required=True),
    Column("timestamp_utc", _T, "UTC", "when the measurement was taken (import time for datasets)", required=True),
    Column("source", _S, "-", "'profiler', '<dataset> <version>' or 'predicted:<cost model>'", required=True),
    Column("model", _S, "-", "model name (zoo name for the profiler, as published for datasets)", required=True),
    Column("model_family", _S, "-", "architecture family (mlp, resnet, mobilenetv2, ...); "
           "'kernels' for operator-benchmark blocks"),
    Column("task", _S, "-", "task (image-classification, keyword-spotting, llm-serving, ...)"),
    Column("strategy", _S, "-", "deployment strategy applied (baseline, int8-dynamic, pruned-structured-0.5, ...)"),
    Column("scenario", _S, "-", "benchmark scenario (MLPerf SingleStream, Offline, Server, ...)"),
    Column("input_shape", _S, "-", "shape of one input sample, e.g. '3x32x32'"),
    Column("batch_size", _I, "samples", "samples per forward call", positive=True, maximum="batch_size"),
    Column("dtype", _S, "-", "numeric type of weights/compute (fp32, int8, fp16, bf16, ...)"),
    Column("threads", _I, "threads", "intra-op CPU threads used", positive=True, maximum="threads"),
    Column("params", _I, "parameters", "number of parameters", non_negative=True, maximum="params"),
    Column("flops", _F, "FLOP", "forward FLOPs per inference (multiply-accumulate = 2 FLOP)",
           non_negative=True, maximum="flops"),
    Column("weight_bytes", _I, "B", "bytes of parameters and buffers as stored (by dtype)",
           non_negative=True, maximum="bytes"),
    Column("activation_bytes", _I, "B", "sum of the output bytes of every layer, per inference",
           non_negative=True, maximum="bytes"),
    Column("latency_ms_p50", _F, "ms", "median latency of one forward call of batch_size samples",
           non_negative=True, maximum="latency_ms"),
    Column("latency_ms_p95", _F, "ms", "95th-percentile latency of one forward call", non_negative=True,
           maximum="latency_ms"),
    Column("latency_ms_p90", _F, "ms", "90th-percentile latency (MLPerf Inference SingleStream metric)",
           non_negative=True, maximum="latency_ms"),
    Column("latency_ms_p99", _F, "ms", "99th-percentile latency (MLPerf Inference MultiStream metric, per query)",
           non_negative=True, maximum="latency_ms"),
    Column("latency_ms_mean", _F, "ms", "mean latency of one forward call", non_negative=True, maximum="latency_ms"),
    Column("latency_ms_cpu_p50", _F, "ms", "median CPU time of the calling thread per forward call "
           "(time.thread_time_ns; one intra-op thread only)", non_negative=True, maximum="latency_ms"),
    Column("latency_ms_norm", _F, "ms", "repeatable latency per forward call: the host's undisturbed speed, "
           "estimated robustly to other processes as latency_method says", non_negative=True, maximum="latency_ms"),
    Column("latency_method", _S, "-", "how latency_ms_norm was obtained (see LATENCY_METHODS)"),
    Column("contended_blocks", _I, "blocks", "timed blocks in a contended phase (reference slow): re-run, "
           "and down-weighted where kept", non_negative=True),
    Column("latency_cv", _F, "1", "coefficient of variation (std/mean) of the latency samples", non_negative=True),
    Column("repeats", _I, "calls", "number of timed forward calls behind the latency figures", positive=True),
    Column("throughput_per_s", _F, "samples/s", "inferences per second",
           non_negative=True, maximum="throughput_per_s"),
    Column("memory_peak_bytes", _I, "B", "peak memory of one forward call (see memory_method)",
           non_negative=True, maximum="bytes"),
    Column("memory_method", _S, "-", "how memory_peak_bytes was obtained (see MEMORY_METHODS)"),
    Column("energy_j", _F, "J", "energy per energy_scope unit (per inference by default)", non_negative=True),
    Column("energy_scope", _S, "-", "what one energy_j covers (see ENERGY_SCOPES)"),
    Column("power_w", _F, "W", "average power over the measurement", non_negative=True, maximum="power_w"),
    Column("energy_method", _S, "-", "how energy_j was obtained (see ENERGY_METHODS)", required=True),
    Column("device_name", _S, "-", "device the row describes (catalog name where one exists)", required=True),
    Column("device_class", _S, "-", "device class of the continuum (see DEVICE_CLASSES)", required=True),
    Column("cpu_model", _S, "-", "CPU model string"),
    Column("accelerator", _S, "-", "accelerator used (GPU, NPU, TPU name), if any"),
    Column("accuracy", _F, "1", "task accuracy as a fraction in [0, 1], if measured", non_negative=True),
    Column("software_versions", _S, "JSON", "JSON object of package versions (python, torch, workbench, ...)"),
    Column("config_json", _S, "JSON", "JSON object of further configuration (multipliers, thresholds, ...)"),
    Column("input_sha256", _S, "-", "SHA-256 of the imported file (idempotent imports)"),
    Column("notes", _S, "-", "free text"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
POLARS_SCHEMA: dict[str, pl.DataType] = {c.name: c.dtype for c in COLUMNS}
_BY_NAME = {c.name: c for c in COLUMNS}
REQUIRED = tuple(c.name for c in COLUMNS if c.required)
_JSON_COLUMNS = ("software_versions", "config_json")
LATER_COLUMNS = ("latency_ms_cpu_p50", "latency_ms_norm", "latency_method", "contended_blocks")
"""Optional columns added after schema version 1: frames and files without them read as null there."""


def glossary() -> pl.DataFrame:
    """The glossary of the measurement table: name, dtype, unit, required, meaning."""
    return pl.DataFrame(
        {
            "name": [c.name for c in COLUMNS],
            "dtype": [str(c.dtype) for c in COLUMNS],
            "unit": [c.unit for c in COLUMNS],
            "required": [c.required for c in COLUMNS],
            "meaning": [c.meaning for c in COLUMNS],
        }
    )


def empty() -> pl.DataFrame:
    """An empty frame with the measurement schema."""
    return pl.DataFrame(schema=POLARS_SCHEMA)


def from_records(records: list[dict], *, allow_implausible: bool = False) -> pl.DataFrame:
    """Build a validated frame from row dictionaries; absent optional columns become null.

    ``allow_implausible`` as in :func:`validate`.

    Raises
    ------
    SchemaError
        If a key is not a schema column, or any value breaks the schema.
    """
    extra = sorted({k for r in records for k in r} - set(COLUMN_NAMES))
    if extra:
        raise SchemaError(
            f"unknown column(s) {extra}: the measurement schema has no such column. "
            "Put further configuration into 'config_json' or see `workbench schema` for the columns."
        )
    cols = {}
    for c in COLUMNS:
        values = [r.get(c.name) for r in records]
        try:
            cols[c.name] = pl.Series(c.name, values, dtype=c.dtype, strict=False)
        except Exception as exc:  # polars raises various types on impossible conversions
            raise SchemaError(f"column {c.name!r}: values {values[:3]} cannot become {c.dtype}: {exc}") from None
        bad = [v for v, s in zip(values, cols[c.name].to_list(), strict=True) if v is not None and s is None]
        if bad:
            raise SchemaError(
                f"column {c.name!r} expects {c.dtype} [{c.unit}] but got {bad[0]!r} "
                f"({type(bad[0]).__name__}). Fix: pass a {c.dtype} value or None."
            )
    return validate(pl.DataFrame(cols), allow_implausible=allow_implausible)


def _rows_hint(mask: pl.Series, values: pl.Series, limit: int = 5) -> str:
    idx = [i for i, m in enumerate(mask.to_list()) if m][:limit]
    vals = [values[i] for i in idx]
    return f"rows {idx} (values {vals})"


_SAFE_CASTS = {
    # target dtype -> source dtypes that cast without loss of meaning
    pl.Int64: (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32, pl.Null),
    pl.Float64: (pl.Float32, pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.Null),
    pl.String: (pl.Categorical, pl.Enum, pl.Null),
}


def _conform_dtypes(df: pl.DataFrame) -> pl.DataFrame:
    casts = []
    for c in COLUMNS:
        got = df.schema[c.name]
        if got == c.dtype:
            continue
        if isinstance(c.dtype, pl.Datetime) and isinstance(got, pl.Datetime):
            if got.time_zone is None:
                raise SchemaError(
                    f"column 'timestamp_utc' has naive datetimes ({got}); the schema needs UTC. "
                    "Fix: attach the zone, e.g. df.with_columns(pl.col('timestamp_utc').dt.replace_time_zone('UTC'))."
                )
            casts.append(pl.col(c.name).dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
            continue
        if any(got == s or isinstance(got, s) for s in _SAFE_CASTS.get(type(c.dtype), ())):
            casts.append(pl.col(c.name).cast(c.dtype))
            continue
        if isinstance(c.dtype, pl.Float64) and got == pl.Int64:
            casts.append(pl.col(c.name).cast(c.dtype))
            continue
        if isinstance(c.dtype, pl.Int64) and got in (pl.Float32, pl.Float64):
            s = df[c.name]
            whole = s.is_null() | s.is_nan() | (s == s.round(0))
            if bool(whole.all()):
                casts.append(pl.col(c.name).fill_nan(None).cast(pl.Int64))
                continue
        raise SchemaError(
            f"column {c.name!r} has dtype {got} but the schema needs {c.dtype} [{c.unit}]. "
            f"Fix: convert it, e.g. pl.col({c.name!r}).cast(pl.{c.dtype})."
        )
    return df.with_columns(casts) if casts else df


def validate(frame, *, allow_extra: bool = False, allow_implausible: bool = False):
    """Check that a frame follows the measurement schema; return it conformed.

    Parameters
    ----------
    frame : polars.DataFrame or pandas.DataFrame
        The rows to check. Safe numeric widenings (int32 → int64, int → float, float with
        whole values → int) are applied; anything else is an error. The optional columns added
        later (:data:`LATER_COLUMNS`) are added as nulls where a frame lacks them.
    allow_extra : bool
        Keep columns outside the schema instead of rejecting them (they are dropped).
    allow_implausible : bool
        Accept values above the plausibility bounds of :data:`PLAUSIBLE_MAXIMA` (for those who
        really mean them); by default they are refused as the unit slips they almost always are.

    Returns
    -------
    Same kind as ``frame`` (polars or pandas), with columns in schema order and schema dtypes.

    Raises
    ------
    SchemaError
        Missing column, unknown column, wrong dtype, null/NaN in a required column, negative
        latency/energy/size, unknown ``device_class``/``energy_method``/``energy_scope``/
        ``memory_method``, or inconsistent columns. The message names the column, the bad values
        and the fix.
    """
    as_pandas = False
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    if not isinstance(frame, pl.DataFrame):
        if isinstance(frame, pd.DataFrame):
            as_pandas = True
            frame = pl.from_pandas(frame, nan_to_null=True)
        else:
            raise SchemaError(
                f"expected a polars or pandas DataFrame, got {type(frame).__name__}. "
                "Fix: build one with workbench.schema.from_records(rows)."
            )
    df = frame.with_columns(pl.lit(None, dtype=POLARS_SCHEMA[c]).alias(c) for c in LATER_COLUMNS
                            if c not in frame.columns)
    missing = [c for c in COLUMN_NAMES if c not in df.columns]
    if missing:
        raise SchemaError(
            f"missing column(s) {missing}. The schema needs all of {list(COLUMN_NAMES)}; "
            "optional ones may be null. Fix: add them (e.g. pl.lit(None)) or build rows with "
            "workbench.schema.from_records()."
        )
    extra = [c for c in df.columns if c not in _BY_NAME]
    if extra and not allow_extra:
        raise SchemaError(
            f"unknown column(s) {extra}. Fix: drop them, or put the information into 'config_json' "
            "(JSON) or 'notes'; see `workbench schema` for the glossary."
        )
    df = _conform_dtypes(df.select(COLUMN_NAMES))
    # NaN is treated as missing: it is never a valid measurement.
    df = df.with_columns([pl.col(c.name).fill_nan(None) for c in COLUMNS if c.dtype == pl.Float64])

    for name in REQUIRED:
        nulls = df[name].is_null()
        if bool(nulls.any()):
            idx = [i for i, m in enumerate(nulls.to_list()) if m][:5]
            raise SchemaError(
                f"column {name!r} is required but is null/NaN in rows {idx}. "
                f"Fix: fill it ({_BY_NAME[name].meaning})."
            )
    for c in COLUMNS:
        if not (c.non_negative or c.positive) or df.height == 0:
            continue
        s = df[c.name]
        bad = (s <= 0) if c.positive else (s < 0)
        bad = bad.fill_null(False)
        if bool(bad.any()):
            need = "> 0" if c.positive else ">= 0"
            raise SchemaError(
                f"column {c.name!r} [{c.unit}] must be {need}; bad {_rows_hint(bad, s)}. "
                "Fix: check the sign and the unit of the input."
            )
    if not allow_implausible:
        _check_plausible(df)
    for name, allowed in ENUMS.items():
        s = df[name]
        bad = (~s.is_in(list(allowed))) & s.is_not_null()
        if bool(bad.any()):
            raise SchemaError(
                f"column {name!r} has unknown value(s) {sorted(set(s.filter(bad).to_list()))}; "
                f"valid values: {sorted(allowed)}. Fix: use one of them (see workbench.schema.{name.upper()}S"
                f" or the README's schema section)."
            )
    acc = df["accuracy"]
    bad = (acc > 1).fill_null(False)
    if bool(bad.any()):
        raise SchemaError(
            f"column 'accuracy' is a fraction in [0, 1]; bad {_rows_hint(bad, acc)}. "
            "Fix: divide percentages by 100."
        )
    has_energy = df["energy_j"].is_not_null()
    bad = has_energy & (df["energy_method"] == "none")
    if bool(bad.any()):
        raise SchemaError(
            f"{_rows_hint(bad, df['energy_j'])} carry energy_j but energy_method 'none'. "
            "Fix: say how the energy was obtained (e.g. 'tdp-estimate', 'rapl', 'dataset')."
        )
    bad = has_energy & df["energy_scope"].is_null()
    if bool(bad.any()):
        raise SchemaError(
            f"{_rows_hint(bad, df['energy_j'])} carry energy_j without energy_scope. "
            f"Fix: set energy_scope to one of {sorted(ENERGY_SCOPES)} ('inference' for per-inference energy)."
        )
    bad = df["memory_peak_bytes"].is_not_null() & df["memory_method"].is_null()
    if bool(bad.any()):
        raise SchemaError(
            f"{_rows_hint(bad, df['memory_peak_bytes'])} carry memory_peak_bytes without memory_method. "
            f"Fix: set memory_method to one of {sorted(MEMORY_METHODS)}."
        )
    bad = (df["latency_ms_p95"] < df["latency_ms_p50"]).fill_null(False)
    if bool(bad.any()):
        raise SchemaError(
            f"latency_ms_p95 is below latency_ms_p50 in {_rows_hint(bad, df['latency_ms_p95'])}. "
            "Fix: check that the two columns are not swapped."
        )
    for name in _JSON_COLUMNS:
        for i, text in enumerate(df[name].to_list()):
            if text is None:
                continue
            try:
                ok = isinstance(json.loads(text), dict)
            except ValueError:
                ok = False
            if not ok:
                raise SchemaError(
                    f"column {name!r} row {i} must hold a JSON object, got {text[:60]!r}. "
                    "Fix: write it with json.dumps({...})."
                )
    return df.to_pandas() if as_pandas else df


def to_pandas(df: pl.DataFrame):
    """Convert a measurement frame to pandas (nullable columns keep their nulls)."""
    return df.to_pandas()


def _implausible(column: str, bound_key: str, bad: pl.Series, values: pl.Series, unit: str) -> SchemaError:
    bound, why = PLAUSIBLE_MAXIMA[bound_key]
    return SchemaError(
        f"column {column!r} [{unit}] is above its plausibility bound {bound:g} ({why}); bad "
        f"{_rows_hint(bad, values)}. Fix: check the unit of the input (J vs mJ or µJ, ms vs µs, B vs bit); "
        "if the values are real, pass allow_implausible=True (CLI: --allow-implausible)."
    )


def _check_plausible(df: pl.DataFrame) -> None:
    """Refuse values above :data:`PLAUSIBLE_MAXIMA` (energy by its scope), naming the bound and its source."""
    if df.height == 0:
        return
    for c in COLUMNS:
        if c.maximum is None:
            continue
        bad = (df[c.name] > PLAUSIBLE_MAXIMA[c.maximum][0]).fill_null(False)
        if bool(bad.any()):
            raise _implausible(c.name, c.maximum, bad, df[c.name], c.unit)
    per_item = df["energy_scope"].is_in(["inference", "request", "token"]).fill_null(True)
    for key, scope in (("energy_j_per_inference", per_item), ("energy_j_per_run", ~per_item)):
        bad = (scope & (df["energy_j"] > PLAUSIBLE_MAXIMA[key][0])).fill_null(False)
        if bool(bad.any()):
            raise _implausible("energy_j", key, bad, df["energy_j"], "J")


def as_polars(frame) -> pl.DataFrame:
    """``frame`` as a polars DataFrame: polars frames as they are, pandas frames converted.

    The one conversion used where a function accepts either kind (its result is polars).

    Raises
    ------
    SchemaError
        Neither a polars nor a pandas DataFrame.
    """
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if isinstance(frame, pd.DataFrame):
        return pl.from_pandas(frame)
    raise SchemaError(f"expected a polars or pandas DataFrame, got {type(frame).__name__}. "
                      "Fix: pass the table as a DataFrame (polars.DataFrame or pandas.DataFrame).")
