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
