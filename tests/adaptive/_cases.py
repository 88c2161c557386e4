"""Small configuration spaces and scenarios shared by the adaptive tests (every number written out)."""

from __future__ import annotations

import numpy as np

from workbench.adaptive.scenario import make_scenario
from workbench.adaptive.space import space_from_table

ROWS = [
    # on the device: 40 ms, 0.2 J; never crosses the link
    {"name": "local", "accuracy": 0.90, "device_ms": 40.0, "device_energy_j": 0.2},
    # everything offloaded: 1 ms on the device, 10 ms remote, 100 kB up, 1 kB back, 2 W radio, 0.001 kWh/GB
    {"name": "offload", "accuracy": 0.95, "device_ms": 1.0, "device_energy_j": 0.01, "remote_ms": 10.0,
     "remote_energy_j": 0.5, "uplink_bytes": 100_000.0, "downlink_bytes": 1_000.0, "tx_power_w": 2.0,
     "kwh_per_gb": 0.001},
    # a small local variant: less accurate, cheaper
    {"name": "local-small", "accuracy": 0.85, "device_ms": 15.0, "device_energy_j": 0.08},
]


def space():
    return space_from_table(ROWS, source="tests")


def random_instance(rng: np.random.Generator, n_intervals: int, n_configs: int):
    """Random miss/cost matrices and requests for the oracle's brute-force comparison."""
    miss = rng.random((n_intervals, n_configs)) < 0.3
    device_j = rng.choice([0.0, 0.5, 1.0, 2.0, 3.0], size=(n_intervals, n_configs))
    cost_j = device_j + rng.choice([0.0, 0.25, 1.0], size=(n_intervals, n_configs))
    requests = rng.integers(0, 4, n_intervals)
    return miss, device_j, cost_j, requests


def scenario(n: int = 40, seed: int = 0, **kw):
    """A 1-s scenario whose bandwidth swings between 2 and 200 Mbit/s (seeded), RTT 20 ms, 2 requests/s."""
    rng = np.random.default_rng(seed)
    bw = np.exp(rng.normal(np.log(30.0), 1.2, n))
    args = {"step_s": 1.0, "bandwidth_mbps": bw, "rtt_ms": 20.0, "carbon_g_per_kwh": 300.0,
            "requests": rng.poisson(2.0, n), "latency_target_ms": 60.0, **kw}
    return make_scenario(**args)
