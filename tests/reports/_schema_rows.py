"""Small schema tables for the notebook-02 view tests (values chosen so medians, ratios and shares are exact)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import polars as pl

from workbench import schema

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def rows(records: list[dict]) -> pl.DataFrame:
    """Schema rows with the required bookkeeping columns filled in."""
    full = []
    for i, r in enumerate(records):
        full.append({"measurement_id": f"m{i}", "run_id": "r", "timestamp_utc": T0, **r})
    return schema.from_records(full)


def tiny_row(bench, model, board, latency_ms, energy_j=None, division="closed", device_class="mcu", version="1.0"):
    """An MLPerf Tiny result as the importer writes it."""
    return {"source": f"mlperf-tiny v{version}", "model": model, "device_name": board, "device_class": device_class,
            "batch_size": 1, "latency_ms_mean": latency_ms, "energy_j": energy_j,
            "energy_scope": "inference" if energy_j is not None else None,
            "power_w": 0.05 if energy_j is not None else None,
            "energy_method": "dataset" if energy_j is not None else "none",
            "config_json": json.dumps({"benchmark": bench, "division": division})}


def own_row(model, latency_ms, energy_j, method="tdp-estimate", dtype="fp32", device="this-cpu"):
    """A profiler run on this machine."""
    return {"source": "profiler", "model": model, "dtype": dtype, "batch_size": 1, "device_name": device,
            "device_class": "server-cpu", "latency_ms_p50": latency_ms, "energy_j": energy_j,
            "energy_scope": "inference", "energy_method": method}


def tiny_results() -> pl.DataFrame:
    """Six MLPerf Tiny results: twins on two mcu boards and an FPGA, an open-division and a streaming row."""
    return rows([
        tiny_row("ic", "resnet8", "board-a", 10.0, 1e-3, version="0.7"),
        tiny_row("ic", "resnet8", "board-a", 30.0, None, version="1.0"),
        tiny_row("ic", "resnet8", "board-b", 40.0, 3e-3),
        tiny_row("ic", "RN07", "board-c", 1.0, 1e-5, division="open"),       # open division: no twin
        tiny_row("kws", "ds-cnn", "fpga-d", 2.0, None, device_class="edge-accelerator"),
        tiny_row("sww", "ds-cnn-streaming", "board-a", 5.0, None),         # streaming benchmark: no twin
    ])
