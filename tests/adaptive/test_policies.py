"""Policies: the past only, static's rule, the carbon MPC's accuracy trade, budgets, fit before decide."""

from __future__ import annotations

import numpy as np
import pytest

from tests.adaptive._cases import space
from workbench.adaptive import CarbonMPC, Predictive, StaticBest, hourly_cap, make_scenario, replay, run
from workbench.adaptive.mpc import seasonal_naive
from workbench.adaptive.policies import Policy
from workbench.adaptive.space import space_from_table
from workbench.errors import ParameterError


def two_intervals_tuning():
    # tuning: 80 then 8 Mbit/s, one request each; offload misses the 60 ms target at 8 (132 ms)
    return make_scenario(step_s=1.0, bandwidth_mbps=[80.0, 8.0], rtt_ms=20.0, carbon_g_per_kwh=300.0,
                         requests=[1, 1], latency_target_ms=60.0)


@pytest.mark.parametrize("floor, miss_max, expected", [
    (0.0, 0.0, "local-small"),   # cheapest that never misses: 0.08 J
    (0.9, 0.0, "local"),         # local-small (0.85) is below the floor; offload misses half the tuning requests
    (0.9, 0.5, "offload"),       # half may miss: offload, (0.03 + 0.13) / 2 J < 0.2 J
])
def test_static_rule(floor, miss_max, expected):
    s = space()
    p = StaticBest(accuracy_floor=floor, slo_miss_max=miss_max).fit(s, two_intervals_tuning())
    assert s.names[p.choice_] == expected


class Spy(Policy):
    """Records what it could see; chooses configuration 0."""

    name = "spy"

    def decide(self, history):
        self.seen.append((history.t, len(history.bandwidth_mbps), len(history.carbon_g_per_kwh),
                          float(history.bandwidth_mbps[-1]) if history.t else None))
        return 0

    def reset(self):
        self.seen = []


def test_policies_see_only_the_past():
    sc = make_scenario(step_s=1.0, bandwidth_mbps=[1.0, 2.0, 3.0, 4.0, 5.0], rtt_ms=20.0, carbon_g_per_kwh=300.0,
                       requests=[1] * 5, latency_target_ms=60.0)
    spy = Spy().fit(space(), sc.part(0, 2))
    replay(spy, space(), sc, start=2)
    # at t the policy holds t past values, the last being interval t − 1's
    assert spy.seen == [(2, 2, 2, 2.0), (3, 3, 3, 3.0), (4, 4, 4, 4.0)]


def test_decide_before_fit():
    with pytest.raises(ParameterError, match="before fit"):
        Predictive().decide(None)


def test_seasonal_naive():
    assert seasonal_naive([1.0, 2.0, 3.0, 4.0], 3, 2).tolist() == [3.0, 4.0, 4.0]
    assert seasonal_naive([5.0], 2, 10).tolist() == [5.0, 5.0]


def _carbon_space():
    return space_from_table([
        {"name": "accurate", "accuracy": 0.95, "device_ms": 10.0, "device_energy_j": 1.0},
        {"name": "cheap", "accuracy": 0.85, "device_ms": 5.0, "device_energy_j": 0.2},
    ])


def test_mpc_trades_accuracy_for_carbon():
    # a 4-interval "day": two clean (100 g/kWh), two dirty (500); 10 requests per interval
    ci = np.tile([100.0, 100.0, 500.0, 500.0], 20)
    sc = make_scenario(step_s=1.0, bandwidth_mbps=50.0, rtt_ms=20.0, carbon_g_per_kwh=ci, requests=[10] * 80,
                       latency_target_ms=60.0)
    s = _carbon_space()
    mpc = CarbonMPC(accuracy_target=0.9, horizon=4, period_s=4.0)
    greedy = Predictive(objective="carbon_g", accuracy_floor=0.9)   # must stay at 0.95 all along
    r = run(s, sc, [mpc, greedy], objective="carbon_g", accuracy_floor=0.0, oracle=False)
    f = r.intervals.filter(r.intervals["policy"] == "mpc")
    clean = f.filter(f["carbon_g_per_kwh"] == 100.0)["config"].to_list()
    dirty = f.filter(f["carbon_g_per_kwh"] == 500.0)["config"].to_list()
    # with the forecast it runs the accurate model when the grid is clean and the cheap one when it is dirty
    assert clean.count("accurate") == len(clean) and dirty.count("cheap") == len(dirty)
    row = {x["policy"]: x for x in r.summary.iter_rows(named=True)}
    # mean accuracy (0.95 + 0.85) / 2 = 0.9 exactly: the target, met
    assert row["mpc"]["accuracy"] == pytest.approx(0.9, abs=1e-12)
    # carbon per request: (1.0 J × 100 + 0.2 J × 500) / 2 / 3.6e6 against 1.0 J × 300 / 3.6e6 for the greedy policy
    assert row["mpc"]["carbon_g_per_request"] == pytest.approx(100.0 / 3.6e6, rel=1e-9)
    assert row["predictive"]["carbon_g_per_request"] == pytest.approx(300.0 / 3.6e6, rel=1e-9)


def test_hourly_cap_refills():
    # 15-min intervals: the budget refills every 4; 1 Wh = 3600 J per hour, "local" spends 0.2 J per request
    sc = make_scenario(step_s=900.0, bandwidth_mbps=1.0, rtt_ms=20.0, carbon_g_per_kwh=300.0,
                       requests=[10_000] * 8, latency_target_ms=60.0, budget=hourly_cap(1.0, 900.0))
    assert sc.resets().tolist() == [True, False, False, False] * 2
    frame, _ = replay(StaticBest(accuracy_floor=0.9).fit(space(), sc), space(), sc)
    # each hour: 3600 J serve 18,000 requests of the 40,000; the first two intervals, then nothing until the refill
    assert frame["served"].to_list() == [10_000.0, 8_000.0, 0.0, 0.0] * 2
    with pytest.raises(ParameterError, match="a step that divides 3600"):
        hourly_cap(1.0, 7.0)
