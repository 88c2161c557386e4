"""The chain split: a hand-computed chain, DP == MILP == brute force on random chains, infeasibility, heuristics."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from tests.placement._chain_cases import HAND_LATENCY_MS, HAND_TOML, hand_dict, random_problem_dict
from workbench.errors import InfeasibleError
from workbench.placement import chain
from workbench.placement.chain_semantics import evaluate, inputs_bytes, objective_coefficients
from workbench.placement.heuristics import HEURISTICS
from workbench.placement.problem import OBJECTIVES, ProblemError, parse_problem

# Hand computation of HAND_TOML (tests/placement/_chain_cases.py) at phone, edge, cloud for conv1, conv2, fc:
#   in = [10000, 20000, 2000] bytes, r = 100 bytes.
#   layers' latency 10 + 6 + 1 = 17 ms.
#   link 1 crossed, first layer beyond it conv2: b1 = 20000; 10 + (20000 + 100) × 8 / (8 × 1000) = 30.1 ms.
#   link 2 crossed, first layer beyond it fc: b2 = 2000; 20 + (2000 + 100) × 8 / (80 × 1000) = 20.21 ms.
#   latency_ms = 17 + 30.1 + 20.21 = 67.31.
#   transmit energy of link 1 (phone) = 2 W × 20000 × 8 / 8000 / 1000 = 0.04 J; link 2 has no tx_power_w.
#   network energy: link 1 = 20100 / 1e9 × 0.1 × 3.6e6 = 7.236 J; link 2 = 2100 / 1e9 × 0.05 × 3.6e6 = 0.378 J.
#   device_energy_j = 0.5 + 0.04 = 0.54; energy_j = 0.5 + 1.2 + 0.4 + 0.04 + 7.236 + 0.378 = 9.754;
#   transfer_bytes = 20100 + 2100 = 22200.
#   carbon_g = [(0.5 + 0.04) × 1 × 300 + 1.2 × 1.5 × 100 + 0.4 × 1.2 × 50 + 7.236 × 300 + 0.378 × 100] / 3.6e6
#            = (162 + 180 + 24 + 2170.8 + 37.8) / 3.6e6 = 2574.6 / 3.6e6.
HAND_SPLIT = ["phone", "edge", "cloud"]
HAND_SPLIT_METRICS = {"latency_ms": 67.31, "device_energy_j": 0.54, "energy_j": 9.754, "carbon_g": 2574.6 / 3.6e6,
                      "transfer_bytes": 22200.0}
# All on the phone: no link crossed; latency 10 + 20 + 5 = 35 ms, energy 0.5 + 1.0 + 0.2 = 1.7 J, all at 300 g/kWh.
HAND_SOURCE_METRICS = {"latency_ms": 35.0, "device_energy_j": 1.7, "energy_j": 1.7, "carbon_g": 1.7 * 300 / 3.6e6,
                       "transfer_bytes": 0.0}
RTOL = 1e-9  # the formulas are a few float operations on exact inputs: any larger error is a wrong formula


@pytest.fixture
def hand():
    return parse_problem(HAND_TOML)


@pytest.mark.parametrize("assignment, expected", [(HAND_SPLIT, HAND_SPLIT_METRICS),
                                                  (["phone"] * 3, HAND_SOURCE_METRICS)])
def test_evaluate_equals_the_hand_computation(hand, assignment, expected):
    m = evaluate(hand, assignment)
    for key, value in expected.items():
        assert m[key] == pytest.approx(value, rel=RTOL, abs=1e-15), key
    assert m["assignment"] == assignment
    assert m["feasible"] and m["violations"] == []


def test_evaluate_memory_per_tier_and_indices(hand):
    m = evaluate(hand, [0, 1, 2])  # indices work as names do
    assert m["memory_bytes"] == {"phone": 1000.0, "edge": 2000.0, "cloud": 4000.0}
    assert m["latency_ms"] == pytest.approx(67.31, rel=RTOL)


def test_latency_of_every_assignment_by_hand_and_the_optimum(hand):
    for a, latency in HAND_LATENCY_MS.items():
        assert evaluate(hand, list(a))["latency_ms"] == pytest.approx(latency, rel=RTOL), a
    for solver in (chain.solve_dp, chain.solve_milp, chain.brute_force, chain.solve):
        r = solver(hand, "latency_ms")
        assert r["assignment"] == ["edge"] * 3 and r["value"] == pytest.approx(32.1, rel=RTOL)
        assert r["optimal"] is True


def test_memory_limits_move_the_optimum_by_hand(hand):
    # phone 4000 and edge 5000 bytes: all-edge (7000) and all-phone (7000) no longer fit; of the rest, the
    # fastest by the hand table is phone, phone, edge at 44.1 ms (phone 3000, edge 4000 bytes).
    p = parse_problem(hand_dict(tiers_memory=[4000, 5000, None]))
    r = chain.solve(p)
    assert r["solver"] == "milp" and r["assignment"] == ["phone", "phone", "edge"]
    assert r["value"] == pytest.approx(44.1, rel=RTOL) and r["gap"] <= 1e-9
    assert chain.brute_force(p)["value"] == pytest.approx(44.1, rel=RTOL)


def test_the_slo_decides_between_the_dp_and_the_milp(hand):
    p = parse_problem(hand_dict(objective="carbon_g", constraints={"latency_ms_max": 40.0}))
    unconstrained = chain.solve_dp(p)
    r = chain.solve(p)
    assert r["latency_ms"] <= 40.0 and r["value"] == pytest.approx(chain.brute_force(p)["value"], rel=RTOL)
    assert r["solver"] == ("dp" if unconstrained["feasible"] else "milp")


@pytest.mark.parametrize("changes, needle", [
    (dict(tiers_memory=[3000, 3000, 3000]), "layer 'fc' has weight_bytes = 4000, more than the memory_bytes of "
                                            "every tier (phone: 3000, edge: 3000, cloud: 3000)"),
    (dict(tiers_memory=[1000, 1500, 4000]), "infeasible: memory: no monotone assignment"),
    (dict(tiers_memory=[4000, 5000, None], constraints={"latency_ms_max": 40.0}),
     "latency_ms_max = 40 ms cannot be met; the fastest assignment that fits the tiers' memory takes 44.1 ms "
     "(conv1–conv2 on phone, fc on edge)"),
    (dict(constraints={"latency_ms_max": 30.0}), "the fastest assignment takes 32.1 ms (conv1–fc on edge)"),
])
def test_infeasibility_names_the_constraint(changes, needle):
    p = parse_problem(hand_dict(**changes))
    for solver in (chain.solve, chain.solve_milp):
        with pytest.raises(InfeasibleError) as err:
            solver(p)
        assert str(err.value).startswith("infeasible: ") and needle in str(err.value)
    with pytest.raises(InfeasibleError):
        chain.brute_force(p)


@pytest.mark.parametrize("assignment, needle", [
    (["edge", "phone", "cloud"], "not monotone: layer 1 ('conv2') on 'phone' follows layer 0 on 'edge'"),
    (["phone", "edg", "cloud"], "assignment[1] (layer 'conv2') = 'edg' is not a tier of the problem. Did you mean "
                                "'edge'?"),
    (["phone", "edge"], "the model has 3 layer(s), got 2"),
    ([0, 1, 7], "assignment[2] (layer 'fc') = 7 is not a tier"),
])
def test_a_bad_assignment_is_named(hand, assignment, needle):
    with pytest.raises(ProblemError) as err:
        evaluate(hand, assignment)
    assert needle in str(err.value)


def _random_problems(seed, n, constrained):
    rng = random.Random(seed)
    return [parse_problem(random_problem_dict(rng, constrained=constrained)) for _ in range(n)]


def test_the_linear_terms_equal_evaluate_on_every_assignment(global_random_seed):
    # The DP and the MILP optimise objective_coefficients; evaluate is the definition. 40 chains × every
    # monotone assignment × every objective.
    for p in _random_problems(global_random_seed, 40, False):
        ins = inputs_bytes(p)
        for objective in OBJECTIVES:
            cost, alpha, beta = objective_coefficients(p, objective)
            for a in itertools.combinations_with_replacement(range(len(p.tiers)), len(p.layers)):
                linear = sum(cost[i][t] for i, t in enumerate(a))
                for k in range(1, a[-1] + 1):
                    j = next(i for i, t in enumerate(a) if t >= k)
                    linear += alpha[k - 1] + beta[k - 1] * ins[j]
                assert linear == pytest.approx(evaluate(p, a)[objective], rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("constrained", [False, True])
def test_dp_milp_and_brute_force_agree_on_random_chains(global_random_seed, constrained):
    # 100 chains of 1-8 layers on 2-4 tiers per case (200 in all) × 4 objectives. The optimal VALUE must agree
    # (ties between assignments are allowed); rel 1e-9 as HiGHS runs with mip_rel_gap 1e-9 on a scaled objective.
    infeasible = solved = 0
    for p in _random_problems(global_random_seed + constrained, 100, constrained):
        for objective in OBJECTIVES:
            try:
                oracle = chain.brute_force(p, objective)
            except InfeasibleError:
                infeasible += 1
                with pytest.raises(InfeasibleError, match="^infeasible: (memory|latency SLO)"):
                    chain.solve(p, objective)
                continue
            solved += 1
            results = [chain.solve_milp(p, objective), chain.solve(p, objective)]
            if not constrained:
                results.append(chain.solve_dp(p, objective))
            for r in results:
                assert r["value"] == pytest.approx(oracle["value"], rel=1e-9, abs=1e-300), (r["solver"], objective)
                assert r["feasible"] and r["objective"] == objective and r["optimal"]
    assert solved > 150  # the generator gives mostly feasible problems, so the comparison is not vacuous
    if constrained:
        assert infeasible > 10  # and some infeasible ones


def test_milp_result_shape(hand):
    r = chain.solve_milp(hand, "energy_j")
    for key in ("objective", "value", "assignment", "latency_ms", "device_energy_j", "energy_j", "carbon_g",
                "transfer_bytes", "solver", "optimal", "gap", "status", "memory_bytes", "feasible", "cost_source"):
        assert key in r, key
    assert r["value"] == r["energy_j"] and r["solver"] == "milp" and r["cost_source"] == "problem file"


def test_heuristics_never_beat_the_optimum_and_their_gap_is_right(global_random_seed):
    for constrained in (False, True):
        for p in _random_problems(global_random_seed + 7 + constrained, 40, constrained):
            for objective in OBJECTIVES:
                try:
                    rows = chain.heuristics_table(p, objective)
                except InfeasibleError:
                    continue
                best = rows[0]["value"]
                assert [r["solver"] for r in rows[1:]] == list(HEURISTICS)
                for r in rows[1:]:
                    if r["feasible"]:
                        assert r["value"] >= best * (1 - 1e-9) - 1e-15, (r["solver"], objective)
                    if best == 0:
                        assert r["gap_to_optimum"] == (0.0 if r["value"] == 0 else math.inf)
                    else:
                        assert r["gap_to_optimum"] == pytest.approx((r["value"] - best) / best, rel=1e-12, abs=1e-12)
                if len(p.tiers) == 2 and not constrained:  # two tiers: every monotone assignment is a single split
                    assert rows[3]["value"] == pytest.approx(best, rel=1e-9, abs=1e-300)


def test_heuristics_on_the_hand_chain(hand):
    rows = {r["solver"]: r for r in chain.heuristics_table(hand, "latency_ms")}
    assert rows["all_at_source"]["value"] == pytest.approx(35.0, rel=RTOL)
    assert rows["all_at_source"]["gap_to_optimum"] == pytest.approx((35.0 - 32.1) / 32.1, rel=RTOL)
    assert rows["all_in_cloud"]["value"] == pytest.approx(45.11, rel=RTOL)
    # single splits (the first s layers on the phone, the rest on one other tier, s = 0 included): the best by
    # the hand table is all on the edge, the optimum itself
    assert rows["best_single_split"]["assignment"] == ["edge"] * 3
    assert rows["best_single_split"]["gap_to_optimum"] == 0.0
    assert rows["greedy_by_carbon"]["feasible"]
