"""nn-Meter model latencies: ~27k CNNs measured on four mobile/edge devices.

Input: the wide CSV recovered from github.com/microsoft/nn-Meter (commit 4ca1750, MIT;
``../shared/data/nn-meter-model-latency/nnmeter_model_latency_wide.csv``) with columns
``model_family_file, model_id`` and ``<device>_mean``/``<device>_std`` for the four devices below.

Output: one row per model × device that has a measurement, latency as ``latency_ms_mean`` and
``latency_cv = std / mean``. Units: the logs state none; ms is inferred (nn-Meter's predictors
output ms and the values fit, e.g. alexnet_0 on the CPU is 84.5). No energy (``energy_method =
"none"``). Batch size 1, fp32 (TFLite GPU delegate / CPU fp32; OpenVINO FP16 on the VPU, see dtype).

Caveats kept honest in the rows:

- The VPU log has no standard deviation (every ``std`` is 0), so its ``latency_cv`` is null, not 0.
- ``resnet2`` repeats 1,500 of ``resnet``'s Adreno 630 rows with identical values; identical
  (model, device, mean, std) duplicates are imported once (from the log file that sorts first).
- A row whose every device mean is empty holds no measurement: it is skipped and counted in a note
  (the import summary; a :class:`workbench.datasets.DatasetNote` warning from ``load``).
- ``measurement_id``: the content id (:mod:`workbench.datasets._common`) of (``model_family_file``,
  ``model_id``) within this commit's data, one part per device.
- Model-structure features (FLOPs, params) are not in this file (they are in nn-Meter's release
  zip), so ``flops``/``params`` stay null.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.datasets._common import ImportContext, RowErrors, blank, config, finish, line_of, number, unique_rows
from workbench.datasets._csv import read_text_csv

KIND = "nn-meter"
SOURCE = "nn-meter 4ca1750 (2021-05-17)"
FILE_NAMES = ("nnmeter_model_latency_wide.csv",)

DEVICES = {
    # column prefix: row fields (device names are catalog names; see workbench.catalog.devices)
    "cortexA76cpu_tflite21": {
        "device_name": "pixel-4", "device_class": "phone", "cpu_model": "Cortex-A76 (Kryo 485, Snapdragon 855)",
        "accelerator": None, "dtype": "fp32", "framework": "TFLite 2.1 (CPU)",
    },
    "adreno640gpu_tflite21": {
        "device_name": "xiaomi-mi-9", "device_class": "phone", "cpu_model": None,
        "accelerator": "Adreno 640 GPU", "dtype": "fp32", "framework": "TFLite 2.1 (GPU delegate)",
    },
    "adreno630gpu_tflite21": {
        "device_name": "pixel-3-xl", "device_class": "phone", "cpu_model": None,
        "accelerator": "Adreno 630 GPU", "dtype": "fp32", "framework": "TFLite 2.1 (GPU delegate)",
    },
    "myriadvpu_openvino2019r2": {
        "device_name": "intel-ncs2", "device_class": "edge-accelerator", "cpu_model": None,
        "accelerator": "Intel Movidius Myriad X VPU", "dtype": "fp16", "framework": "OpenVINO 2019R2",
    },
}
"""nn-Meter device folder → device (from the rename in nn-Meter commit 70f238bc and its README)."""

FAMILIES = {
    "alexnet": "alexnet", "densenet": "densenet", "googlenet": "googlenet", "mnasnet": "mnasnet",
    "mobilenetv1": "mobilenetv1", "mobilenetv2": "mobilenetv2", "mobilenetv3": "mobilenetv3",
    "nasbench201": "nasbench201", "proxylessnas": "proxylessnas", "resnet": "resnet", "resnet2": "resnet",
    "shufflenetv2": "shufflenetv2", "squeezenet": "squeezenet", "vgg": "vgg",
}
"""Log file name → model family (``resnet2`` is a second ResNet log of the Adreno 630)."""

REQUIRED = ("model_family_file", "model_id", *(f"{d}_{s}" for d in DEVICES for s in ("mean", "std")))

IDENTITY = ("model_family_file", "model_id")
"""The columns that identify one source row (a model in one log file); each device is a part of it."""


def read(path: Path, ctx: ImportContext) -> pl.DataFrame:
    """Normalise the nn-Meter wide CSV into measurement rows (validated).

    Rows whose every device mean is empty hold no measurement: they are skipped, counted and named
    in ``ctx.notes`` (never silently). Columns of devices this importer does not know are ignored
    with a note.
    """
    df = read_text_csv(path, REQUIRED, KIND, (), ctx.notes)
    errors = RowErrors(path, KIND)
    candidates: list[tuple[dict, str, float, float | None]] = []
    empty: list[int] = []
    for row in unique_rows(df, IDENTITY, SOURCE, ctx, errors).iter_rows(named=True):
        line = line_of(row)
        if not row["model_id"] or not row["model_family_file"]:
            errors.add(line, "model_family_file and model_id must not be empty")
            continue
        found = False
        for prefix in DEVICES:
            mean = number(row, f"{prefix}_mean", line, errors, positive=True)
            std = number(row, f"{prefix}_std", line, errors)
            found = found or not blank(row, f"{prefix}_mean")
            if mean is not None:
                candidates.append((row, prefix, mean, std))
        if not found:
            empty.append(line)
    if empty:
        ctx.notes.append(f"{len(empty)} row(s) without any device mean skipped (every *_mean cell empty): line(s) "
                         f"{', '.join(map(str, empty[:10]))}{' …' if len(empty) > 10 else ''}")
    # identical (model, device, mean, std) repeats across log files (resnet2 repeats resnet on the Adreno 630):
    # one kept, from the log file that sorts first (not the first in file order)
    kept: dict[tuple, str] = {}
    for row, prefix, mean, std in candidates:
        key = (row["model_id"], prefix, mean, std)
        kept[key] = min(kept.get(key, row["model_family_file"]), row["model_family_file"])
    records: list[dict] = []
    for row, prefix, mean, std in candidates:
        fam_file = row["model_family_file"]
        if kept[(row["model_id"], prefix, mean, std)] != fam_file:
            continue
        dev = DEVICES[prefix]
        has_std = std is not None and not (prefix.startswith("myriadvpu") and std == 0)
        records.append({
            **ctx.base(row, SOURCE, prefix),
            "model": row["model_id"], "model_family": FAMILIES.get(fam_file, fam_file), "task": "image-classification",
            "strategy": "baseline", "batch_size": 1, "dtype": dev["dtype"],
            "latency_ms_mean": mean, "latency_cv": std / mean if has_std else None,
            "energy_method": "none",
            "device_name": dev["device_name"], "device_class": dev["device_class"],
            "cpu_model": dev["cpu_model"], "accelerator": dev["accelerator"],
            "config_json": config(nn_meter_device=prefix, framework=dev["framework"], log_file=fam_file,
                                  latency_std_ms=std if has_std else None),
            "notes": None if has_std else "the VPU log records no standard deviation",
        })
    return finish(records, ctx, errors)
