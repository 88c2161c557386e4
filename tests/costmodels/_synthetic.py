"""Synthetic data for the cost-model tests (generated, no files)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_networks(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """Networks of Conv2d/Linear/ReLU layers whose latency is exactly additive with known costs."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "flops": rng.uniform(1e5, 1e9, n), "params": rng.uniform(1e3, 1e7, n),
        "weight_bytes": rng.uniform(4e3, 4e7, n), "activation_bytes": rng.uniform(1e3, 1e7, n),
        "batch_size": np.ones(n), "dtype_bytes": np.full(n, 4.0),
    })
    coef = {"Conv2d": (0.02, 2e-9, 1e-7), "Linear": (0.01, 1e-9, 3e-7), "ReLU": (0.003, 0.0, 5e-8)}
    y = np.full(n, 0.05)  # intercept [ms]
    for t, (a, b, c) in coef.items():
        X[f"count__{t}"] = rng.integers(1, 20, n).astype(float)
        X[f"flops__{t}"] = X[f"count__{t}"] * rng.uniform(1e5, 1e7, n) * (t != "ReLU")
        X[f"bytes__{t}"] = X[f"count__{t}"] * rng.uniform(1e3, 1e5, n)
        y += a * X[f"count__{t}"] + b * X[f"flops__{t}"] + c * X[f"bytes__{t}"]
    return X, y.to_numpy().copy(), coef


def synthetic_layer_table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Networks with a per-layer table whose layer latency is a known function of the layer's size.

    Layer latency [ms] = 2e-8 · FLOPs (Conv2d) or 1e-7 · output bytes (ReLU); network latency =
    0.01 ms + sum of its layers. Returns (X indexed by measurement_id, y, layers).
    """
    rng = np.random.default_rng(seed)
    rows, lay = [], []
    for i in range(n):
        mid = f"net{i}"
        total = 0.01
        for _ in range(int(rng.integers(2, 8))):
            flops = float(rng.uniform(1e4, 1e7))
            out_bytes = int(rng.uniform(1e3, 1e5))
            for typ, lat in (("Conv2d", 2e-8 * flops), ("ReLU", 1e-7 * out_bytes)):
                lay.append({"measurement_id": mid, "layer_index": len(lay), "layer_type": typ,
                            "flops": flops if typ == "Conv2d" else 0.0, "params": 100 * (typ == "Conv2d"),
                            "output_bytes": out_bytes, "latency_ms": lat})
                total += lat
        rows.append({"measurement_id": mid, "flops": 1.0, "batch_size": 1.0, "y": total})
    X = pd.DataFrame(rows).set_index("measurement_id")
    return X[["flops", "batch_size"]], X["y"].to_numpy().copy(), pd.DataFrame(lay)


def synthetic_shaped_layer_table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Networks of 3×3 and 1×1 convolutions with the same FLOPs, parameters and bytes per layer,
    whose latency differs by shape alone: 2e-8 ms/FLOP (3×3) and 6e-8 ms/FLOP (1×1).

    Network latency = 0.01 ms + sum of its layers. Returns (X indexed by measurement_id, y, layers
    with the shape columns of :data:`workbench.store.LAYER_SCHEMA`).
    """
    rng = np.random.default_rng(seed)
    rows, lay = [], []
    for i in range(n):
        mid = f"net{i}"
        total = 0.01
        for _ in range(int(rng.integers(2, 8))):
            flops = float(rng.uniform(1e4, 1e7))
            k = int(rng.choice([1, 9]))
            lat = (2e-8 if k == 9 else 6e-8) * flops
            lay.append({"measurement_id": mid, "layer_index": len(lay), "layer_type": "Conv2d", "flops": flops,
                        "params": 1000, "output_bytes": 4096, "latency_ms": lat, "input_bytes": 4096,
                        "kernel_area": k, "stride": 1, "groups": 1, "in_channels": 16, "out_channels": 16})
            total += lat
        rows.append({"measurement_id": mid, "flops": 1.0, "batch_size": 1.0, "y": total})
    X = pd.DataFrame(rows).set_index("measurement_id")
    return X[["flops", "batch_size"]], X["y"].to_numpy().copy(), pd.DataFrame(lay)
