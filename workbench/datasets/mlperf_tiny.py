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
  energy and power figures — e.g. Syntiant NDP9120 in v1.0 and v1.1) are imported once, the earliest
  round kept (then by organization and system, never by file order); the others are listed in its
  ``config_json["resubmissions"]``.
- Newer rounds: a row with energy but no latency (v1.3's streaming wake word) is a result and is
  imported; a benchmark code not in :data:`BENCHMARKS` is imported without task and per-inference
  energy (its energy and top-1 go to ``config_json``) with a note; columns the importer does not
  know are ignored with a note. A row with none of latency, throughput and energy is an error.
- ``measurement_id``: the content id (:mod:`workbench.datasets._common`) of the row's
  :data:`IDENTITY` (version, division, organization, system_dir, benchmark, model_variant).
- ``device_name`` is the catalog name where the board is in the catalog (``workbench devices``),
  else the board name as published. ``device_class``: catalog class; else ``edge-accelerator`` for
  FPGA and neural-processor boards, ``edge-cpu`` for Linux single-board computers, ``phone`` for
  Snapdragon platforms, ``mcu`` otherwise.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import polars as pl

from workbench import units
from workbench.catalog.devices import get_device
from workbench.datasets._common import (
    KEY,
    ImportContext,
    RowErrors,
    blank,
    config,
    finish,
    line_of,
    number,
    text,
    unique_rows,
)
from workbench.datasets._csv import read_text_csv
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

KNOWN = (
    "perf_note", "notes", "SoC Name", "Accelerator(s) Frequencies", "Status", "system_json", "system_match_score",
    "commit",
)
"""Further columns of the v0.5–v1.x summary: read when present (notes, status, commit) or known and unused.
Other columns (a newer release's) are ignored with a note."""

IDENTITY = ("version", "division", "organization", "system_dir", "benchmark", "model_variant")
"""The columns that identify one result (one submitted system × benchmark × model variant in one round)."""

NEW_BENCHMARK = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")
"""A benchmark code this importer does not know yet but that reads as one (a newer round's benchmark)."""

_DEDUP_KEY = ("Board Name", "division", "benchmark", "model_variant", "latency_ms", "throughput_inf_s",
              "energy_uJ_per_inf", "energy_mode_median_power_mW")


def _version_key(version: str | None) -> tuple:
    """Sort key of a round (``0.5`` < ``0.7`` < ``1.0`` < ``1.10``)."""
    parts = (version or "").lstrip("v").split(".")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def _canonical(row: dict) -> tuple:
    """Which of identical resubmissions is kept: the earliest round, then organization and system (not file order)."""
    return (_version_key(row.get("version")), row.get("organization") or "", row.get("system_dir") or "", row[KEY])


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
    """Normalise an MLPerf Tiny summary CSV into measurement rows (validated).

    Rows of a newer round are accepted as far as they are results: energy-only rows (v1.3's
    streaming wake word has no latency), a benchmark code not in :data:`BENCHMARKS` (imported
    without task and per-inference energy, with a note), new columns (ignored, with a note). A row
    without any of latency, throughput and energy, or with a malformed value, is an error.
    """
    df = read_text_csv(path, REQUIRED, KIND, KNOWN, ctx.notes)
    errors = RowErrors(path, KIND)
    rows = list(unique_rows(df, IDENTITY, KIND, ctx, errors).iter_rows(named=True))
    # identical resubmissions: one kept per group, chosen by content (earliest round), so row order does not matter
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row.get(c) for c in _DEDUP_KEY)].append(row)
    kept = {k: min(g, key=_canonical) for k, g in groups.items()}
    new_codes: dict[str, int] = defaultdict(int)
    records: list[dict] = []
    for row in rows:
        line = line_of(row)
        raw_bench = text(row, "benchmark")
        bench = (raw_bench or "").lower()
        if bench not in BENCHMARKS and not NEW_BENCHMARK.match(bench):
            errors.add(line, f"benchmark {raw_bench!r} is not a benchmark code (known: {sorted(BENCHMARKS)}; a newer "
                             "round's code is accepted if it is lowercase letters, digits, '-', '_' or '.')")
            continue
        version, board = text(row, "version"), text(row, "Board Name")
        if not version or not board:
            errors.add(line, "'version' and 'Board Name' must not be empty")
            continue
        latency = number(row, "latency_ms", line, errors, positive=True)
        thr = number(row, "throughput_inf_s", line, errors, positive=True)
        energy_uj = number(row, "energy_uJ_per_inf", line, errors)
        power_mw = number(row, "energy_mode_median_power_mW", line, errors)
        thr_energy = number(row, "energy_mode_throughput_inf_s", line, errors)
        top1 = number(row, "top1_pct", line, errors)
        auc = number(row, "auc", line, errors)
        if top1 is not None and top1 > 100:
            errors.add(line, f"top1_pct = {top1:g} is above 100")
        if all(blank(row, c) for c in ("latency_ms", "throughput_inf_s", "energy_uJ_per_inf")):
            errors.add(line, "no result: 'latency_ms', 'throughput_inf_s' and 'energy_uJ_per_inf' are all empty "
                             f"(or NaN: {row.get('latency_ms')!r}, {row.get('throughput_inf_s')!r}, "
                             f"{row.get('energy_uJ_per_inf')!r})")
            continue
        if kept[tuple(row.get(c) for c in _DEDUP_KEY)] is not row:
            continue  # an identical resubmission of the kept row (listed in its config_json)
        known = bench in BENCHMARKS
        if known:
            model, family, task, shape = BENCHMARKS[bench]
        else:
            new_codes[bench] += 1
            model, family, task, shape = bench, None, None, None
        resubs = sorted((r for r in groups[tuple(row.get(c) for c in _DEDUP_KEY)] if r is not row), key=_canonical)
        name, cls = device_of(board, text(row, "Processor(s) Name"), text(row, "Accelerator"))
        has_energy = energy_uj is not None and known  # what a new benchmark's energy covers is not known
        proc, freq = text(row, "Processor(s) Name"), text(row, "Processor(s) Frequencies")
        notes = text(row, "notes")
        if energy_uj is not None and not known:
            notes = "; ".join(n for n in (notes, f"benchmark {bench!r} is new to this importer: its energy "
                                          "(µJ as published) is in config_json, not energy_j") if n)
        records.append({
            **ctx.base(row, SOURCE.format(version=version)),
            "model": text(row, "model_variant") or model, "model_family": family, "task": task,
            "strategy": "baseline", "input_shape": shape, "batch_size": 1,
            "latency_ms_mean": latency, "throughput_per_s": thr,
            "energy_j": units.uj_to_j(energy_uj) if has_energy else None,
            "energy_scope": ("stream" if bench in STREAM_BENCHMARKS else "inference") if has_energy else None,
            "energy_method": "dataset" if has_energy else "none",
            "power_w": units.mw_to_w(power_mw) if power_mw is not None else None,
            "accuracy": top1 / 100 if top1 is not None and bench != "ad" and known and top1 <= 100 else None,
            "device_name": name, "device_class": cls,
            "cpu_model": f"{proc} @ {freq}" if proc and freq else proc,
            "accelerator": text(row, "Accelerator"),
            "config_json": config(
                benchmark=bench, division=row["division"], organization=row["organization"],
                system_dir=row["system_dir"], board=board, framework=text(row, "Inference Framework"),
                processor_frequency=freq, energy_mode_throughput_per_s=thr_energy, auc=auc,
                perf_note=text(row, "perf_note"), status=text(row, "Status"), commit=text(row, "commit"),
                energy_uJ_per_inf=energy_uj if energy_uj is not None and not known else None,
                top1_pct=top1 if top1 is not None and not known else None,
                resubmissions=[{"version": r["version"], "organization": r["organization"],
                                "system_dir": r["system_dir"]} for r in resubs] or None,
            ),
            "notes": notes,
        })
    if new_codes:
        ctx.notes.append(f"{sum(new_codes.values())} row(s) of benchmark code(s) {sorted(new_codes)} unknown to this "
                         f"importer (known: {sorted(BENCHMARKS)}): imported without task, model family and "
                         "per-inference energy (their energy and top-1 are kept in config_json)")
    return finish(records, ctx, errors)
