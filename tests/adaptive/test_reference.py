"""Reference yardsticks: the non-causal clairvoyant policy, the oracle at a matched miss count, conformal quantiles."""

from __future__ import annotations

import numpy as np
import pytest

from tests.adaptive._cases import random_instance, scenario, space
from workbench.adaptive import Predictive, make_scenario, run
from workbench.adaptive.clairvoyant import Clairvoyant
from workbench.adaptive.history import History
from workbench.adaptive.oracle import brute_force, plan, plan_max_misses
from workbench.adaptive.policies import _rank
from workbench.errors import ParameterError


def test_clairvoyant_equals_the_oracle_without_a_budget():
    # without a budget the oracle's intervals are independent: a perfect nowcast is all it has over a policy
    r = run(space(), scenario(80, seed=3), [Clairvoyant(), Predictive()])
    row = {x["policy"]: x for x in r.summary.iter_rows(named=True)}
    assert not Clairvoyant.causal and Predictive.causal
    assert row["clairvoyant"]["misses"] == row["oracle"]["misses"]
    # the same sums of the same per-request figures: equal to round-off
    assert row["clairvoyant"]["device_energy_j_per_request"] == pytest.approx(
        row["oracle"]["device_energy_j_per_request"], rel=1e-12)
    assert row["predictive"]["device_energy_j_per_request"] >= row["oracle"]["device_energy_j_per_request"]


def test_clairvoyant_knows_only_what_it_is_told():
    # interval 2 at 80 Mbit/s, interval 3 at 1: offload takes 41.1 ms then 808 ms against the 60 ms target
    sc = make_scenario(step_s=1.0, bandwidth_mbps=[80.0, 80.0, 80.0, 1.0], rtt_ms=20.0, carbon_g_per_kwh=300.0,
                       requests=[1] * 4, latency_target_ms=60.0)
    s = space()
    h = History(sc)
    h.t = 3
    # told the bandwidth: local-small (0.08 J, 15 ms); told only the RTT, it prices the link at the last 80 Mbit/s:
    # offload, 0.01 J + 2 W × 10 ms = 0.03 J
    assert s.names[Clairvoyant().fit(s, sc).decide(h)] == "local-small"
    assert s.names[Clairvoyant(knows=("rtt_ms",)).fit(s, sc).decide(h)] == "offload"
    with pytest.raises(ParameterError, match="knows names"):
        Clairvoyant(knows=("weather",)).fit(s, sc)


@pytest.mark.parametrize("case", range(30))
def test_matched_miss_plan_is_feasible_and_at_most_brute_forces_best_for_its_misses(case, global_random_seed):
    rng = np.random.default_rng(500 + 1000 * global_random_seed + case)
    miss, _dev, cost, n = random_instance(rng, int(rng.integers(1, 6)), int(rng.integers(1, 4)))
    least = plan(miss, cost, cost, n).misses
    cap = least + float(rng.integers(0, 6))
    p = plan_max_misses(miss, cost, n, cap)
    assert p.misses <= cap
    # optimal among sequences missing at most as many as it does (a point of the lower convex hull)
    best = min((float((cost[np.arange(len(n)), list(seq)] * n).sum()), seq)
               for seq in np.ndindex(*(miss.shape[1],) * len(n))
               if float((miss[np.arange(len(n)), list(seq)] * n).sum()) <= p.misses)
    assert p.cost == pytest.approx(best[0], abs=1e-9)  # same few numbers summed: round-off only
    # allowing no more than the least misses gives the oracle's plan
    assert plan_max_misses(miss, cost, n, least).cost == pytest.approx(brute_force(miss, cost, cost, n).cost,
                                                                        abs=1e-9)


def test_conformal_rank():
    # 19 errors, upper 0.95: ⌈20 × 0.95⌉ − 1 = 18 (the largest); lower 0.05: ⌊20 × 0.05⌋ − 1 = 0 (the smallest)
    assert _rank(19, 0.95) == 18 and _rank(19, 0.05) == 0
    assert _rank(3, 0.95) == 2 and _rank(3, 0.05) == 0     # too few errors: the extremes
    assert _rank(99, 0.9) == 89


def test_conformal_quantiles_come_from_the_policys_own_errors():
    s, sc = space(), scenario(200, seed=2)
    p = Predictive(quantiles="conformal", window=50).fit(s, sc.part(0, 100))
    assert [len(e) for e in p.calibration_] == [50, 50, 50]
    p.reset()
    # the lower 5 % bandwidth quantile: the filter's estimate times the empirical quantile of its own errors
    ey = sorted(p.calibration_[0])
    assert p.forecast()[0] == pytest.approx(np.exp(p._x + ey[_rank(50, 0.05)]), rel=1e-12)
    assert p.forecast()[2] == pytest.approx(p._rtt[0] + sorted(p.calibration_[1])[_rank(50, 0.95)], rel=1e-12)
    with pytest.raises(ParameterError, match="quantiles"):
        Predictive(quantiles="laplace").fit(s, sc)
