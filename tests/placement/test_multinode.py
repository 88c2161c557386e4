"""Multi-application placement: the MILP against brute force, a hand-computed case, infeasibility named."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from workbench.catalog import grid
from workbench.catalog.devices import get_device
from workbench.errors import InfeasibleError, ParameterError, UnknownNameError
from workbench.lca import sweep as lca_sweep
from workbench.placement.multinode import solve_placement
from workbench.placement.multinode_costs import candidates, evaluate
from workbench.placement.multinode_heuristics import compare_heuristics
from workbench.placement.multinode_model import (
    OBJECTIVES,
    App,
    Cost,
    Link,
    MultinodeProblem,
    Node,
    Option,
    node_from_catalog,
)
from workbench.placement.multinode_scale import benchmark_scale, random_instance

RTOL = 1e-9
"""Brute force and MILP score the same assignment with the same arithmetic; HiGHS is asked for a zero gap
and its absolute gap tolerance is scaled below 1e-9 of the objective, so only rounding remains."""

WEIGHTED = {"latency_ms": 1e-3, "carbon_g": 10.0, "energy_j": 0.1}


def brute_force(problem, objective):
    """Lowest objective over every assignment (one candidate per app) that breaks no constraint, or None."""
    cand = candidates(problem)
    weights = {objective: 1.0} if isinstance(objective, str) else objective
    per_app = [np.flatnonzero(cand.app == a) for a in range(len(problem.apps))]
    best = None
    for choice in itertools.product(*per_app):
        metrics, violations = evaluate(problem, cand, choice)
        value = sum(w * metrics[m] for m, w in weights.items())
        if not violations and (best is None or value < best):
            best = value
    return best


def _instances(seed, n=100):
    for i in range(n):
        yield random_instance(3, 3 + i % 2, 2 + (i // 2) % 2, seed * 1000 + i, tightness=0.7)


def test_milp_equals_brute_force_on_random_instances(global_random_seed):
    feasible = infeasible = 0
    for problem in _instances(global_random_seed):
        for objective in (*OBJECTIVES, WEIGHTED):
            best = brute_force(problem, objective)
            if best is None:
                with pytest.raises(InfeasibleError, match=r"^infeasible: (memory|utilisation|bandwidth|SLO) "):
                    solve_placement(problem, objective)
                infeasible += 1
                continue
            result = solve_placement(problem, objective)
            assert result.optimal and result.status == "optimal" and result.gap <= 1e-9
            assert result.violations == []
            assert result.value == pytest.approx(best, rel=RTOL, abs=0)
            feasible += 1
    # Not hollow: both kinds occur among the 100 instances × 5 objectives.
    assert feasible >= 250 and infeasible >= 5, (feasible, infeasible)


def test_heuristics_never_beat_the_optimum(global_random_seed):
    checked = 0
    for problem in _instances(global_random_seed, n=40):
        if brute_force(problem, "carbon_g") is None:
            continue
        for objective in OBJECTIVES:
            table = compare_heuristics(problem, objective)
            opt = table.filter(table["heuristic"] == "milp")["value"][0]
            for row in table.filter(table["heuristic"] != "milp").iter_rows(named=True):
                if row["feasible"]:
                    assert row["value"] >= opt * (1 - RTOL)
                    assert row["gap"] == pytest.approx(row["value"] / opt - 1, rel=1e-12)
                    assert row["gap"] >= -RTOL
                    checked += 1
                else:
                    assert row["gap"] is None and row["note"].startswith("infeasible: ")
    assert checked >= 20


# --- the hand-computed case: two apps on a phone, one edge server ----------------------------------------

def _hand(phone_memory=1.5e6, phone_capacity=1.0, edge_memory=1e9, edge_capacity=1.0, bandwidth=10.0, rates=(2.0, 1.0),
          slos=(30.0, 100.0), local_ms=10.0):
    nodes = [Node("phone", 0, memory_bytes=phone_memory, capacity=phone_capacity, carbon_intensity_g_per_kwh=500.0),
             Node("edge", 1, memory_bytes=edge_memory, capacity=edge_capacity, pue=1.5,
                  carbon_intensity_g_per_kwh=100.0, embodied_kgco2e=1000.0, lifetime_years=5.0,
                  lifetime_utilization=0.5)]
    links = [Link("phone", "edge", bandwidth_mbps=bandwidth, rtt_ms=5.0, kwh_per_gb=0.1, tx_power_w=2.0)]

    def options(download):
        return [Option("local", Cost(local_ms, 0.05, 1e6)),
                Option("split", Cost(2.0, 0.01, 2e5), {"edge": Cost(3.0, 0.2, 8e5)}, upload_bytes=12500,
                       download_bytes=download)]

    apps = [App("A", "phone", rates[0], slos[0], options(0.0)), App("B", "phone", rates[1], slos[1], options(1250.0))]
    return MultinodeProblem(nodes, links, apps)


# Per request, by hand (1 kWh = 3.6e6 J; a year = 8760 h):
LOCAL = {"latency_ms": 10.0, "device_energy_j": 0.05, "energy_j": 0.05, "carbon_g": 0.05 * 500 / 3.6e6}
TX_J = 2.0 * (12500 * 8 / (10.0 * 1e3)) / 1e3                    # 2 W for 10 ms = 0.02 J
EMBODIED_G = 1000e3 * (3.0 / 3.6e6) / (5.0 * 8760 * 0.5)         # 3 ms busy of a 5-year, 50 %-busy life


def _split(nbytes):
    net_j = nbytes / 1e9 * 0.1 * 3.6e6
    return {"latency_ms": 2.0 + 3.0 + 5.0 + nbytes * 8 / (10.0 * 1e3),
            "device_energy_j": 0.01 + TX_J,
            "energy_j": 0.01 + 0.2 + TX_J + net_j,
            "carbon_g": ((0.01 + TX_J) * 500 / 3.6e6 + 0.2 * 1.5 * 100 / 3.6e6 + EMBODIED_G
                         + net_j * 500 / 3.6e6)}


SPLIT_A, SPLIT_B = _split(12500), _split(13750)


def test_hand_computed_costs_of_every_candidate():
    cand = candidates(_hand())
    assert cand.option == ["local", "split", "local", "split"] and cand.remote == [None, "edge", None, "edge"]
    for k, expected in enumerate((LOCAL, SPLIT_A, LOCAL, SPLIT_B)):
        for m in OBJECTIVES:
            assert cand.metrics[m][k] == pytest.approx(expected[m], rel=1e-12), (k, m)


def test_carbon_is_the_footprint_formula_of_the_lca_package():
    # The split's carbon equals lca.sweep.evaluate (what `workbench footprint` computes from unit impacts)
    # for the phone (its energy, transmit included, and the network transfer it sends) plus the edge.
    phone = lca_sweep.evaluate(grid_kgco2e_per_kwh=0.5, energy_kwh=(0.01 + TX_J) / 3.6e6,
                               gigabytes=12500 / 1e9, kwh_per_gb=0.1)
    edge = lca_sweep.evaluate(grid_kgco2e_per_kwh=0.1, energy_kwh=0.2 / 3.6e6, pue=1.5, manufacturing_kgco2e=1000.0,
                              hours=3.0 / 3.6e6, lifetime_years=5.0, utilization=0.5)
    expected_g = (float(phone["total_kgco2e"]) + float(edge["total_kgco2e"])) * 1e3
    assert candidates(_hand()).metrics["carbon_g"][1] == pytest.approx(expected_g, rel=1e-9)


def test_a_weighted_objective_is_the_weighted_sum_of_the_metrics():
    result = solve_placement(_hand(), WEIGHTED)
    assert result.value == pytest.approx(sum(w * result.metrics[m] for m, w in WEIGHTED.items()), rel=1e-12)
    assert result.value == pytest.approx(brute_force(_hand(), WEIGHTED), rel=RTOL)


def test_idle_power_consolidates_remote_parts_on_one_node():
    # A second edge, the same but for 0.01 J less per request and 5 W idle. The phone (0.5 MB) holds no
    # local model, so both apps split; switching edge2 on would cost 5 W / 3 requests/s = 1.67 J per
    # request against a saving of 0.01 J: both splits go to the first edge and edge2 stays off.
    base = _hand(phone_memory=5e5)
    edge2 = Node("edge2", 1, memory_bytes=1e9, idle_power_w=5.0)
    cheaper = [replace(o, remote={**o.remote, "edge2": Cost(3.0, 0.19, 8e5)}) if o.remote else o
               for o in base.apps[0].options]
    apps = [replace(a, options=cheaper) for a in base.apps]
    problem = MultinodeProblem([*base.nodes, edge2], [*base.links, Link("phone", "edge2", 10.0, 5.0, 0.1, 2.0)], apps)
    result = solve_placement(problem, "energy_j")
    assert result.assignment["remote_node"].to_list() == ["edge", "edge"]
    assert result.nodes.filter(result.nodes["node"] == "edge2")["active"].to_list() == [False]
    assert result.value == pytest.approx(brute_force(problem, "energy_j"), rel=RTOL)


@pytest.mark.parametrize("objective, expected_options, value", [
    # Memory of the phone (1.5 MB) holds one local model (1 MB) beside a split's 0.2 MB, not two:
    # one app splits. Latency: A splitting costs 2 × (20 − 10) ms, B 1 × (21 − 10) ms → B splits.
    ("latency_ms", ["local", "split"], (2 * 10.0 + 1 * 21.0) / 3),
    # Carbon: the network term dominates; B has the lower rate → B splits.
    ("carbon_g", ["local", "split"], (2 * LOCAL["carbon_g"] + 1 * SPLIT_B["carbon_g"]) / 3),
    # Device energy: a split costs the phone 0.01 + 0.02 J < 0.05 J → both split.
    ("device_energy_j", ["split", "split"], 0.03),
])
def test_hand_computed_optimum(objective, expected_options, value):
    result = solve_placement(_hand(), objective)
    assert result.assignment["option"].to_list() == expected_options
    assert result.value == pytest.approx(value, rel=1e-12)
    nodes = {r["node"]: r for r in result.nodes.iter_rows(named=True)}
    n_split = expected_options.count("split")
    assert nodes["phone"]["memory_used_bytes"] == pytest.approx((2 - n_split) * 1e6 + n_split * 2e5, rel=1e-12)
    rates = {"A": 2.0, "B": 1.0}
    split_apps = [a for a, o in zip("AB", expected_options, strict=True) if o == "split"]
    assert nodes["edge"]["utilization"] == pytest.approx(sum(rates[a] * 3e-3 for a in split_apps), rel=1e-12)
    load = sum(rates[a] * (12500 + (1250 if a == "B" else 0)) * 8 / 1e6 for a in split_apps)
    assert result.links["load_mbps"][0] == pytest.approx(load, rel=1e-12)


def test_a_tight_slo_moves_the_split_to_the_other_app():
    # A may not split (20 ms > 15 ms), so B splits even for latency.
    result = solve_placement(_hand(slos=(15.0, 100.0)), "latency_ms")
    assert result.assignment["option"].to_list() == ["local", "split"]


# --- infeasibility named ----------------------------------------------------------------------------------

def _message(problem, objective="carbon_g"):
    with pytest.raises(InfeasibleError) as info:
        solve_placement(problem, objective)
    msg = str(info.value)
    assert msg.startswith("infeasible: ")
    return msg


def test_infeasible_slo_names_the_app():
    msg = _message(_hand(slos=(30.0, 9.0)))
    assert msg == "infeasible: SLO of app B (best option gives 10 ms > 9 ms)"


def test_infeasible_memory_names_the_node():
    # Local takes 40 ms > SLO, so both apps must split and put 0.8 MB each on the edge, which has 1 MB.
    msg = _message(_hand(edge_memory=1e6, local_ms=40.0, slos=(30.0, 30.0)))
    assert msg.startswith("infeasible: memory of node edge (needs at least 1.6e+06 B, has 1e+06 B)")


def test_infeasible_bandwidth_names_the_link():
    # Both must split; 50/s × 12.5 kB + 50/s × 13.75 kB = 10.5 Mbit/s > 10 Mbit/s.
    msg = _message(_hand(rates=(50.0, 50.0), local_ms=40.0, slos=(30.0, 30.0)))
    assert msg.startswith("infeasible: bandwidth of link phone-edge (needs at least 10.5 Mbit/s, has 10 Mbit/s)")


def test_infeasible_utilisation_names_the_node():
    # Both must split; the edge is busy 50/s × 3 ms twice = 0.3 of a capacity of 0.2.
    msg = _message(_hand(rates=(50.0, 50.0), bandwidth=100.0, edge_capacity=0.2, local_ms=40.0, slos=(30.0, 30.0)))
    assert msg.startswith("infeasible: utilisation of node edge (needs at least 0.3, has 0.2)")


def test_infeasible_by_relaxation_names_each_constraint_that_alone_restores_feasibility():
    # The phone's 1.1 MB holds no local model beside a split (1.2 MB), so both must split or both run
    # locally (2 MB), and both locally does not fit. The edge's capacity 0.0065 takes A's split
    # (2/s × 3 ms = 0.006) or B's (0.003), not both (0.009). Relaxing the phone's memory (need: one local + one split = 1.2 MB) or the edge's
    # utilisation (need: both split = 0.009) restores feasibility; bandwidth plays no part.
    msg = _message(_hand(phone_memory=1.1e6, edge_capacity=0.0065))
    assert "memory of node phone (needs at least 1.2e+06 B, has 1.1e+06 B)" in msg
    assert "utilisation of node edge (needs at least 0.009, has 0.0065)" in msg
    assert "bandwidth" not in msg and msg.endswith(": relaxing any one of these alone makes the problem feasible")


def test_infeasible_only_by_a_family_together_names_the_family():
    # Rates 200/s and 100/s. Both local breaks the phone's memory (2 MB > 1.1 MB) and utilisation (3 > 2.5);
    # one split breaks the phone's memory (1.2 MB) and the edge's (0.8 MB > 0.7 MB); both split break the
    # edge's memory and the link (31 Mbit/s > 25). No single constraint's relaxation helps; memory's does.
    msg = _message(_hand(phone_memory=1.1e6, phone_capacity=2.5, edge_memory=7e5, bandwidth=25.0,
                         rates=(200.0, 100.0)))
    assert msg.startswith("infeasible: memory constraints together (memory of node phone, memory of node edge): ")


# --- heuristics on the hand case ----------------------------------------------------------------------------

def test_heuristics_on_the_hand_case():
    table = {r["heuristic"]: r for r in compare_heuristics(_hand(), "carbon_g").iter_rows(named=True)}
    # All local breaks the phone's memory (2 MB > 1.5 MB); all on the edge is feasible and worse.
    assert not table["all_local"]["feasible"]
    assert table["all_local"]["note"].startswith("infeasible: memory of node phone (2e+06 B > 1.5e+06 B)")
    both_split = (2 * SPLIT_A["carbon_g"] + SPLIT_B["carbon_g"]) / 3
    assert table["all_on_most_powerful"]["value"] == pytest.approx(both_split, rel=1e-12)
    assert table["all_on_most_powerful"]["gap"] == pytest.approx(both_split / table["milp"]["value"] - 1, rel=1e-12)
    # Greedy by carbon: A (rate 2) takes local first; B's local no longer fits → split: the optimum here.
    assert table["greedy_by_carbon"]["gap"] == pytest.approx(0.0, abs=1e-12)


# --- bad input and scale ------------------------------------------------------------------------------------

def test_bad_input_is_named():
    with pytest.raises(ParameterError, match=r"node 'x' memory_bytes must be in \(0, inf\), got -1.0"):
        Node("x", 0, memory_bytes=-1)
    with pytest.raises(ParameterError, match="link a-b bandwidth_mbps"):
        Link("a", "b", bandwidth_mbps=0)
    with pytest.raises(UnknownNameError, match="unknown node 'fog'"):
        MultinodeProblem([Node("phone", 0, 1e6)], [Link("phone", "fog", 1.0)],
                         [App("A", "phone", 1.0, 10.0, [Option("local")])])
    with pytest.raises(ParameterError, match="no link between 'phone' and 'cloud'"):
        MultinodeProblem([Node("phone", 0, 1e6), Node("cloud", 2, 1e9)], [],
                         [App("A", "phone", 1.0, 10.0, [Option("s", remote={"cloud": Cost()})])])
    with pytest.raises(UnknownNameError, match="unknown objective 'carbon'"):
        solve_placement(_hand(), "carbon")
    with pytest.raises(ParameterError, match="node 'x' tier must be an integer"):
        Node("x", True, memory_bytes=1.0)
    with pytest.raises(ParameterError, match="app 'A' slo_ms must be a finite number, got nan"):
        App("A", "phone", 1.0, float("nan"), [Option("local")])
    with pytest.raises(ParameterError, match="link edge-phone is given twice"):
        MultinodeProblem([Node("phone", 0, 1e6), Node("edge", 1, 1e6)],
                         [Link("phone", "edge", 1.0), Link("edge", "phone", 2.0)],
                         [App("A", "phone", 1.0, 10.0, [Option("local")])])
    with pytest.raises(ParameterError, match="puts its remote part on its source 'phone'"):
        MultinodeProblem([Node("phone", 0, 1e6)], [],
                         [App("A", "phone", 1.0, 10.0, [Option("s", remote={"phone": Cost()})])])
    with pytest.raises(ParameterError, match="weight of carbon_g must be in"):
        solve_placement(_hand(), {"carbon_g": -1.0})


def test_node_from_catalog_takes_the_catalog_figures():
    dev = get_device("jetson-nano")
    node = node_from_catalog("edge", "jetson-nano", tier=1, country="FRA", pue=1.2)
    assert (node.memory_bytes, node.idle_power_w, node.embodied_kgco2e, node.lifetime_years) == (
        dev.ram_bytes, dev.idle_power_w, dev.embodied_kgco2e, dev.lifetime_years)
    assert node.carbon_intensity_g_per_kwh == grid.carbon_intensity_g_per_kwh("FRA") and node.pue == 1.2
    with pytest.raises(ParameterError, match="give country or carbon_intensity_g_per_kwh"):
        node_from_catalog("edge", "jetson-nano", tier=1)
    with pytest.raises(UnknownNameError, match="unknown device 'jetson-nan'"):
        node_from_catalog("edge", "jetson-nan", tier=1, country="FRA")


def test_benchmark_scale_20_apps_on_10_nodes():
    figures = benchmark_scale(20, 10, 4, seed=0, repeats=1)
    assert figures["optimal"] and figures["milp_solve_s_20apps_10nodes"] < 10.0
