"""Small synthetic run stores for the cost-model command tests (rows and per-layer tables, no profiling)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

from workbench import schema
from workbench.store import LAYER_SCHEMA, Store


def synthetic_runs(families, per_family: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows and per-layer table of ``per_family`` MLP-like networks per family, latency = 0.01 ms + 1e-6 ms/FLOP.

    Each network has 3-5 alternating Linear/ReLU layers with shapes; rows carry latency, energy and memory.
    """
    rng = np.random.default_rng(seed)
    recs, lays = [], []
    for f in families:
        for i in range(per_family):
            mid = f"{f}-{i}"
            n_layers = 3 + i % 3
            flops = rng.uniform(1e4, 1e6, n_layers)
            for j in range(n_layers):
                t = "Linear" if j % 2 == 0 else "ReLU"
                lays.append({"measurement_id": mid, "layer_index": j, "layer_name": str(j), "layer_type": t,
                             "flops": float(flops[j]) if t == "Linear" else 0.0, "params": 100 if t == "Linear" else 0,
                             "output_bytes": 400, "latency_ms": float(1e-6 * flops[j]), "input_bytes": 400,
                             "kernel_area": None, "stride": None, "groups": None, "in_channels": 10,
                             "out_channels": 10})
            recs.append({
                "measurement_id": mid, "run_id": "r", "timestamp_utc": datetime(2026, 1, 1, tzinfo=timezone.utc),
                "source": "profiler", "model": f"{f}-m{i}", "model_family": f, "batch_size": 1, "dtype": "fp32",
                "threads": 1, "params": 100 * n_layers, "flops": float(flops.sum()), "weight_bytes": 400 * n_layers,
                "activation_bytes": 400 * n_layers, "latency_ms_p50": 0.01 + float(1e-6 * flops.sum()),
                "memory_peak_bytes": 10_000 + 10 * i, "memory_method": "analytic", "energy_j": 1e-3 * (1 + i),
                "energy_scope": "inference", "energy_method": "rapl", "device_name": "cpu-x",
                "device_class": "server-cpu"})
    return schema.from_records(recs), pl.DataFrame(lays, schema=LAYER_SCHEMA)


def make_store(path: Path, families, per_family: int, seed: int = 0) -> Path:
    """A store at ``path`` holding one run of :func:`synthetic_runs`."""
    rows, layers = synthetic_runs(families, per_family, seed)
    Store(path).append(rows, layers=layers)
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    """Relative path → bytes of every file under ``root`` (a store, a folder of model files)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
