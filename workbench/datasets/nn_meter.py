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
  (model, device, mean, std) duplicates are imported once.
- Model-structure features (FLOPs, params) are not in this file (they are in nn-Meter's release
  zip), so ``flops``/``params`` stay null.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench import schema
from workbench.datasets._common import ImportContext, RowErrors, config, line_of, number, read_text_csv

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


def read(path: Path, ctx: ImportContext) -> pl.DataFrame:
    """Normalise the nn-Meter wide CSV into measurement rows (validated)."""
    df = read_text_csv(path, REQUIRED, KIND)
    errors = RowErrors(path, KIND)
    records: list[dict] = []
    seen: set[tuple] = set()
    for i, row in enumerate(df.iter_rows(named=True)):
        line = line_of(row)
        model = row["model_id"]
        fam_file = row["model_family_file"]
        if not model or not fam_file:
            errors.add(line, "model_family_file and model_id must not be empty")
            continue
        for prefix, dev in DEVICES.items():
            mean = number(row, f"{prefix}_mean", line, errors, positive=True)
            std = number(row, f"{prefix}_std", line, errors)
            if mean is None:
                continue
            key = (model, prefix, mean, std)
            if key in seen:  # identical repeat (resnet2 duplicates resnet on the Adreno 630)
                continue
            seen.add(key)
            has_std = std is not None and not (prefix.startswith("myriadvpu") and std == 0)
            records.append({
                **ctx.base(i, SOURCE, f"-{prefix}"),
                "model": model, "model_family": FAMILIES.get(fam_file, fam_file), "task": "image-classification",
                "strategy": "baseline", "batch_size": 1, "dtype": dev["dtype"],
                "latency_ms_mean": mean, "latency_cv": std / mean if has_std else None,
                "energy_method": "none",
                "device_name": dev["device_name"], "device_class": dev["device_class"],
                "cpu_model": dev["cpu_model"], "accelerator": dev["accelerator"],
                "config_json": config(nn_meter_device=prefix, framework=dev["framework"], log_file=fam_file,
                                      latency_std_ms=std if has_std else None),
                "notes": None if has_std else "the VPU log records no standard deviation",
            })
    errors.raise_if_any()
    return schema.from_records(records)
