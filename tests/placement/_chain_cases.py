"""Chain problems shared by the chain, problem and CLI tests: one computed by hand, and a random generator."""

from __future__ import annotations

import random
import tomllib

HAND_TOML = """
objective = "latency_ms"
[model]
input_bytes = 10000
[[model.layers]]
name = "conv1"
output_bytes = 20000
latency_ms = [10.0, 4.0, 1.0]
energy_j = [0.5, 0.8, 1.0]
weight_bytes = 1000
[[model.layers]]
name = "conv2"
output_bytes = 2000
latency_ms = [20.0, 6.0, 2.0]
energy_j = [1.0, 1.2, 1.5]
weight_bytes = 2000
[[model.layers]]
name = "fc"
output_bytes = 100
latency_ms = [5.0, 2.0, 1.0]
energy_j = [0.2, 0.3, 0.4]
weight_bytes = 4000
[[tiers]]
name = "phone"
carbon_intensity_g_per_kwh = 300
[[tiers]]
name = "edge"
carbon_intensity_g_per_kwh = 100
pue = 1.5
[[tiers]]
name = "cloud"
carbon_intensity_g_per_kwh = 50
pue = 1.2
[[links]]
bandwidth_mbps = 8.0
rtt_ms = 10.0
tx_power_w = 2.0
kwh_per_gb = 0.1
[[links]]
bandwidth_mbps = 80.0
rtt_ms = 20.0
kwh_per_gb = 0.05
"""
"""Three layers on phone → edge → cloud. By hand (tests/placement/test_chain.py has the arithmetic): latency of
every monotone assignment, the optimum being all on the edge at 32.1 ms."""

HAND_LATENCY_MS = {
    ("phone", "phone", "phone"): 35.0, ("phone", "phone", "edge"): 44.1, ("phone", "phone", "cloud"): 63.31,
    ("phone", "edge", "edge"): 48.1, ("phone", "edge", "cloud"): 67.31, ("phone", "cloud", "cloud"): 65.11,
    ("edge", "edge", "edge"): 32.1, ("edge", "edge", "cloud"): 51.31, ("edge", "cloud", "cloud"): 49.11,
    ("cloud", "cloud", "cloud"): 45.11,
}


def hand_dict(**changes) -> dict:
    """The hand problem as a dict, with top-level tables or keys replaced (``tiers_memory=[...]`` sets memory)."""
    d = tomllib.loads(HAND_TOML)
    memory = changes.pop("tiers_memory", None)
    if memory is not None:
        for tier, m in zip(d["tiers"], memory, strict=True):
            if m is not None:
                tier["memory_bytes"] = m
    d.update(changes)
    return d


def random_problem_dict(rng: random.Random, *, constrained: bool) -> dict:
    """A chain of 1–8 layers on 2–4 tiers with random costs; with memory limits and an SLO (each with
    probability 0.7) when ``constrained``, so that some problems are infeasible."""
    T, L = rng.randint(2, 4), rng.randint(1, 8)
    layers = [{"output_bytes": rng.uniform(1e2, 1e6), "latency_ms": [rng.uniform(0.1, 50) for _ in range(T)],
               "energy_j": [rng.uniform(0.001, 1) for _ in range(T)], "weight_bytes": rng.uniform(0, 1e6)}
              for _ in range(L)]
    tiers = [{"name": f"t{t}", "carbon_intensity_g_per_kwh": rng.uniform(0, 800), "pue": rng.uniform(1, 2)}
             for t in range(T)]
    if constrained:
        for tier in tiers:
            if rng.random() < 0.7:
                tier["memory_bytes"] = rng.uniform(5e5, 4e6)
    links = [{"bandwidth_mbps": rng.uniform(1, 100), "rtt_ms": rng.uniform(0, 100), "tx_power_w": rng.uniform(0, 3),
              "kwh_per_gb": rng.uniform(0, 0.3)} for _ in range(T - 1)]
    d = {"model": {"input_bytes": rng.uniform(1e3, 1e6), "layers": layers}, "tiers": tiers, "links": links}
    if constrained and rng.random() < 0.7:
        d["constraints"] = {"latency_ms_max": rng.uniform(20, 300)}
    return d
