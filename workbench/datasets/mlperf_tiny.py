"""MLPerf Tiny results (microcontroller-class boards): latency, energy per inference, accuracy.

Input: a results summary CSV in the format of ``../shared/data/mlperf-tiny/mlperf_tiny_summary.csv``
(assembled from github.com/mlcommons/tiny_results_v0.5 … v1.3 runner outputs; Apache-2.0): one row
per submitted system × benchmark with ``latency_ms`` (= 1000 / performance-mode median throughput),
``throughput_inf_s``, ``energy_uJ_per_inf`` (energy mode, median), ``energy_mode_median_power_mW``,
``top1_pct``/``auc`` and the system description (board, processor, frequency, accelerator, framework).

Normalisation:

- ``source`` = ``"mlperf-tiny v<version>"``; ``model`` = the benchmark's reference model, or the
  open-division ``model_variant``; ``task`` from the benchmark (ad, ic, kws, vww, sww).
- ``latency_ms_mean`` = ``latency_ms`` (the runner's median over windows of each window's mean
  latency); ``throughput_per_s`` = ``throughput_inf_s``.
- ``energy_j`` = µJ → J; ``power_w`` = mW → W; ``energy_method = "dataset"``.
  ``energy_scope = "inference"``, except the streaming wake word benchmark (``sww``, v1.3) whose
  energy covers a whole ~1200 s stream: ``energy_scope = "stream"`` (never mixed with per-inference rows).
  The energy run may use another clock than the performance run; its throughput is kept in
  ``config_json`` (``energy_mode_throughput_per_s``).
- ``accuracy`` = ``top1_pct`` / 100 for classification benchmarks; anomaly detection's AUC goes to
  ``config_json`` (AUC is not an accuracy).
- Identical resubmissions (same board, benchmark, model variant and identical latency, throughput,
  energy and power figures — e.g. Syntiant NDP9120 in v1.0 and v1.1) are imported once, the first
  occurrence kept; the others are listed in its ``config_json["resubmissions"]``.
- ``device_name`` is the catalog name where the board is in the catalog (``workbench devices``),
  else the board name as published. ``device_class``: catalog class; else ``edge-accelerator`` for
  FPGA and neural-processor boards, ``edge-cpu`` for Linux single-board computers, ``phone`` for
  Snapdragon platforms, ``mcu`` otherwise.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench import schema, units
from workbench.catalog.devices import get_device
from workbench.datasets._common import ImportContext, RowErrors, config, line_of, number, read_text_csv, text
from workbench.errors import UnknownNameError

KIND = "mlperf-tiny"
FILE_NAMES = ("mlperf_tiny_summary.csv",)
SOURCE = "mlperf-tiny v{version}"

BENCHMARKS = {
    # benchmark: (reference model, family, task, input shape of one sample)
    "ad": ("fc-autoencoder", "autoencoder", "anomaly-detection", "640"),
    "ic": ("resnet8", "resnet", "image-classification", "3x32x32"),
    "kws": ("ds-cnn", "ds-cnn", "keyword-spotting", "1x49x10"),
    "vww": ("mobilenetv1-0.25", "mobilenetv1", "visual-wake-words", "3x96x96"),
    "sww": ("ds-cnn-streaming", "ds-cnn", "streaming-wake-word", None),
}
"""MLPerf Tiny benchmarks and their reference models (MLPerf Tiny, Banbury et al., NeurIPS D&B 2021)."""

ZOO_TWINS = {
    # closed-division reference models, as the importer names them (``model``)
    "resnet8": "resnet8",
    "ds-cnn": "dscnn-kws",
    "mobilenetv1-0.25": "mobilenetv1-vww",
    "fc-autoencoder": "fc-autoencoder-ad",
    # the same reference models as some boards name them (e.g. Raspberry Pi 4 submissions, v1.x)
    "ic_fp32": "resnet8", "ic_int8": "resnet8",
    "kws_fp32": "dscnn-kws", "kws_int8": "dscnn-kws",
    "vww_fp32": "mobilenetv1-vww", "vww_int8": "mobilenetv1-vww",
    "ad_fp32": "fc-autoencoder-ad", "ad_int8": "fc-autoencoder-ad",
}
"""MLPerf Tiny model name (``model`` of the imported rows) → zoo model with the same architecture
(:mod:`workbench.measure.zoo`: ResNet-8 on 32×32, MobileNetV1 0.25× on 96×96 with 2 classes, DS-CNN
on 49×10 MFCCs, the 640-input FC autoencoder; counted by :mod:`workbench.measure.features`: 25.0,
15.0, 5.3 and 0.53 MFLOP per inference). Open-division variants (``RN07``, ``CNV-W1A1``,
``KWS-W3A3``, ``AD08``, ...) and the streaming wake-word model have no twin. Used by
:func:`workbench.costmodels.twins.with_zoo_features`. The reference submissions run int8
(TensorFlow Lite) models; the twins' weight bytes are those of the fp32 architecture, and the
``_int8``/``_fp32`` names only say how a board ran the same architecture."""

BENCHMARK_TWINS = {b: ZOO_TWINS[ref] for b, (ref, *_rest) in BENCHMARKS.items() if ref in ZOO_TWINS}
"""Benchmark code (``config_json["benchmark"]``: ad, ic, kws, vww) → zoo twin of its reference model,
derived from :data:`ZOO_TWINS` (one mapping, two keys)."""

STREAM_BENCHMARKS = ("sww",)
"""Benchmarks whose energy covers a whole stream, not one inference."""

REQUIRED = (
    "version", "division", "organization", "system_dir", "benchmark", "model_variant", "latency_ms",
    "throughput_inf_s", "energy_uJ_per_inf", "energy_mode_throughput_inf_s", "energy_mode_median_power_mW",
    "top1_pct", "auc", "Board Name", "Processor(s) Name", "Processor(s) Frequencies", "Accelerator",
    "Inference Framework",
)

_DEDUP_KEY = ("Board Name", "division", "benchmark", "model_variant", "latency_ms", "throughput_inf_s",
              "energy_uJ_per_inf", "energy_mode_median_power_mW")


def device_of(board: str, processor: str | None, accelerator: str | None) -> tuple[str, str]:
    """Catalog name and device class of an MLPerf Tiny board (see the module docstring)."""
    try:
        dev = get_device(board)
        return dev.name, dev.device_class
    except UnknownNameError:
        pass
    acc = (accelerator or "").lower()
    b = board.lower()
    if any(k in acc for k in ("z-70", "xc7", "artix", "fpga", "syntiant", "anpu")) or "ndp" in b:
        return board, "edge-accelerator"
    if any(k in b for k in ("raspberry pi", "nezha")):
        return board, "edge-cpu"
    if "snapdragon" in b:
        return board, "phone"
    return board, "mcu"


def read(path: Path, ctx: ImportContext) -> pl.DataFrame:
    """Normalise an MLPerf Tiny summary CSV into measurement rows (validated)."""
    df = read_text_csv(path, REQUIRED, KIND)
    errors = RowErrors(path, KIND)
    records: list[dict] = []
    first_of: dict[tuple, int] = {}
    for i, row in enumerate(df.iter_rows(named=True)):
        line = line_of(row)
        bench = (row["benchmark"] or "").lower()
        if bench not in BENCHMARKS:
            errors.add(line, f"benchmark {row['benchmark']!r} is not one of {sorted(BENCHMARKS)}")
            continue
        version, board = text(row, "version"), text(row, "Board Name")
        if not version or not board:
            errors.add(line, "'version' and 'Board Name' must not be empty")
            continue
        latency = number(row, "latency_ms", line, errors, required=True, positive=True)
        thr = number(row, "throughput_inf_s", line, errors, positive=True)
        energy_uj = number(row, "energy_uJ_per_inf", line, errors)
        power_mw = number(row, "energy_mode_median_power_mW", line, errors)
        thr_energy = number(row, "energy_mode_throughput_inf_s", line, errors)
        top1 = number(row, "top1_pct", line, errors)
        auc = number(row, "auc", line, errors)
        if top1 is not None and top1 > 100:
            errors.add(line, f"top1_pct = {top1} is above 100")
        if latency is None:
            continue
        key = tuple(row.get(c) for c in _DEDUP_KEY)
        resub = {"version": version, "organization": row["organization"], "system_dir": row["system_dir"]}
        if key in first_of:
            records[first_of[key]].setdefault("_resubmissions", []).append(resub)
            continue
        first_of[key] = len(records)
        model, family, task, shape = BENCHMARKS[bench]
        name, cls = device_of(board, text(row, "Processor(s) Name"), text(row, "Accelerator"))
        has_energy = energy_uj is not None
        proc, freq = text(row, "Processor(s) Name"), text(row, "Processor(s) Frequencies")
        records.append({
            **ctx.base(i, SOURCE.format(version=version)),
            "model": text(row, "model_variant") or model, "model_family": family, "task": task,
            "strategy": "baseline", "input_shape": shape, "batch_size": 1,
            "latency_ms_mean": latency, "throughput_per_s": thr,
            "energy_j": units.uj_to_j(energy_uj) if has_energy else None,
            "energy_scope": ("stream" if bench in STREAM_BENCHMARKS else "inference") if has_energy else None,
            "energy_method": "dataset" if has_energy else "none",
            "power_w": units.mw_to_w(power_mw) if power_mw is not None else None,
            "accuracy": top1 / 100 if top1 is not None and bench != "ad" and top1 <= 100 else None,
            "device_name": name, "device_class": cls,
            "cpu_model": f"{proc} @ {freq}" if proc and freq else proc,
            "accelerator": text(row, "Accelerator"),
            "_config": dict(
                benchmark=bench, division=row["division"], organization=row["organization"],
                system_dir=row["system_dir"], board=board, framework=text(row, "Inference Framework"),
                processor_frequency=freq, energy_mode_throughput_per_s=thr_energy, auc=auc,
                perf_note=text(row, "perf_note"), status=text(row, "Status"), commit=text(row, "commit"),
            ),
            "notes": text(row, "notes"),
        })
    errors.raise_if_any()
    for r in records:
        cfg = r.pop("_config")
        cfg["resubmissions"] = r.pop("_resubmissions", None)
        r["config_json"] = config(**cfg)
    return schema.from_records(records)
