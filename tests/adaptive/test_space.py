"""The configuration space: explicit rows, placement splits equal to the chain semantics, Pareto pruning."""

from __future__ import annotations

import tomllib

import numpy as np
import polars as pl
import pytest

from tests.adaptive._cases import ROWS, space
from tests.placement._chain_cases import HAND_LATENCY_MS, HAND_TOML
from workbench.adaptive.pareto import pareto_prune
from workbench.adaptive.scenario import costs_at
from workbench.adaptive.space import (
    space_from_table,
    space_from_variants,
    split_configurations,
    variants_from_rows,
)
from workbench.errors import ParameterError
from workbench.placement.chain_semantics import evaluate
from workbench.placement.problem import parse_problem


def hand_problem():
    return parse_problem(tomllib.loads(HAND_TOML))


def test_splits_equal_the_chain_semantics_at_the_problems_link():
    problem = hand_problem()
    rows = split_configurations(problem, variant="fp32", accuracy=0.9)
    assert len(rows) == 10  # C(3 + 3 − 1, 2) monotone assignments of 3 layers on 3 tiers
    s = space_from_table(rows)
    link = problem.links[0]
    got = costs_at(s, link.bandwidth_mbps, link.rtt_ms, 1.0, 0.0)
    for i, row in enumerate(rows):
        tiers = [t for run in row["split"].split(", ") for t in _expand(run)]
        ref = evaluate(problem, tiers)
        # same formulas, summed in another order: equal to round-off
        assert got["latency_ms"][i] == pytest.approx(ref["latency_ms"], rel=1e-9)
        assert got["device_energy_j"][i] == pytest.approx(ref["device_energy_j"], rel=1e-9)
        assert got["energy_j"][i] == pytest.approx(ref["energy_j"], rel=1e-9)
        assert got["latency_ms"][i] == pytest.approx(HAND_LATENCY_MS[tuple(tiers)], rel=1e-9)


def _expand(run: str) -> list[str]:
    # "conv1–conv2 on phone" → ["phone", "phone"]
    layers, tier = run.split(" on ")
    names = ["conv1", "conv2", "fc"]
    first, _, last = layers.partition("–")
    return [tier] * (names.index(last or first) - names.index(first) + 1)


def test_hand_split_phone_edge_cloud():
    # tests/placement: at (phone, edge, cloud) 67.31 ms, device 0.54 J (0.5 J of conv1 + 0.04 J of transmit)
    s = space_from_table(split_configurations(hand_problem()))
    i = next(k for k, n in enumerate(s.names) if n.endswith("conv1 on phone, conv2 on edge, fc on cloud"))
    assert s.column("uplink_bytes")[i] == 20000.0 and s.column("downlink_bytes")[i] == 100.0
    assert s.column("device_energy_j")[i] == pytest.approx(0.5, abs=1e-12)
    # remote: conv2 6 ms on the edge + fc 1 ms on the cloud + link 2 at 20 + 2100·8/80000 = 20.21 ms
    assert s.column("remote_ms")[i] == pytest.approx(27.21, rel=1e-12)


def test_variants_scale_compute_and_cuts():
    rows = pl.DataFrame({"model": ["m", "m", "m"], "strategy": ["baseline", "int8-dynamic", "early-exit-confidence-t0.85"],
                         "accuracy": [0.96, 0.955, 0.96], "batch_size": [1, 1, 1], "dtype": ["fp32", "int8", "fp32"],
                         "flops": [1000.0, 1000.0, 250.0]})
    v = variants_from_rows(rows)
    assert v["compute_scale"].to_list() == [1.0, 1.0, 0.25]
    assert v["cut_scale"].to_list() == [1.0, 0.25, 1.0]
    assert v["threshold"].to_list() == [None, None, 0.85]
    s = space_from_variants(hand_problem(), v)
    assert len(s) == 30
    ee = s.table.filter(pl.col("variant") == "m/early-exit-confidence-t0.85", pl.col("split").str.starts_with("conv1–fc on phone"))
    assert ee["device_energy_j"][0] == pytest.approx(0.25 * 1.7, rel=1e-12)  # (0.5 + 1.0 + 0.2) J × 0.25
    assert "projected" in ee["energy_source"][0]


def test_pareto_drops_only_dominated():
    rows = ROWS + [{"name": "worse-local", "accuracy": 0.89, "device_ms": 41.0, "device_energy_j": 0.2},
                   {"name": "copy", **{k: v for k, v in ROWS[0].items() if k != "name"}}]
    kept = pareto_prune(space_from_table(rows))
    assert kept.names == ["local", "offload", "local-small"]


@pytest.mark.parametrize("rows, match", [
    ([], "empty"),
    ([{"name": "a", "accuracy": 1.2, "device_ms": 1, "device_energy_j": 1}], "accuracy"),
    ([{"name": "a", "accuracy": 0.9, "device_ms": -1, "device_energy_j": 1}], "device_ms"),
    ([{"name": "a", "accuracy": 0.9, "device_ms": 1}], "missing device_energy_j"),
    ([{"name": "a", "accuracy": 0.9, "device_ms": 1, "device_energy_j": 1, "speed": 2}], "unknown key"),
    (ROWS + [ROWS[0]], "repeats"),
])
def test_bad_tables(rows, match):
    with pytest.raises(ParameterError, match=match):
        space_from_table(rows)


def test_space_columns():
    s = space()
    assert s.offloads.tolist() == [0.0, 1.0, 0.0]
    assert np.allclose(s.accuracy, [0.90, 0.95, 0.85], rtol=0, atol=0)


def _brute_skyline(v):
    # the definition: dominated by some row (≤ everywhere, < somewhere), or equal to an earlier one
    keep = np.ones(len(v), dtype=bool)
    for i in range(len(v)):
        le, lt, same = np.all(v <= v[i], axis=1), np.any(v < v[i], axis=1), np.all(v == v[i], axis=1)
        same[i:] = False
        keep[i] = not (np.any(le & lt) or np.any(same))
    return keep


@pytest.mark.parametrize("case", range(60))
def test_skyline_equals_brute_force(case, global_random_seed, monkeypatch):
    import workbench.adaptive.pareto as space_mod

    rng = np.random.default_rng(7000 + 1000 * global_random_seed + case)
    n, d = int(rng.integers(1, 300)), int(rng.integers(1, 9))
    # few distinct values: many ties and identical rows; some cases anti-correlated (large fronts)
    v = rng.integers(0, 5, size=(n, d)).astype(float) if case % 3 else rng.random((n, d))
    if case % 5 == 0 and d >= 2:
        v[:, 1] = -v[:, 0] + 0.01 * rng.random(n)
    if case % 2:
        monkeypatch.setattr(space_mod, "SKYLINE_BLOCK", 7)        # many blocks, several front chunks
        monkeypatch.setattr(space_mod, "SKYLINE_FRONT_CHUNK", 5)
    assert space_mod.skyline(v).tolist() == _brute_skyline(v).tolist()


def test_pareto_prune_equals_the_pairwise_definition():
    from workbench.adaptive.pareto import pareto_prune_brute

    s = space_from_variants(hand_problem(), [{"variant": "a", "accuracy": 0.9}, {"variant": "b", "accuracy": 0.8,
                                                                                 "compute_scale": 0.5}])
    assert pareto_prune(s).names == pareto_prune_brute(s).names
