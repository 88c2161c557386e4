"""Replay results as measurement-schema rows, and their round trip through the store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.adaptive._cases import scenario, space
from workbench.adaptive import Clairvoyant, Predictive, make_scenario, replay_rows, run
from workbench.adaptive.rows import _weighted_quantile
from workbench.store import Store


def test_weighted_quantile():
    v, w = np.array([30.0, 10.0, 20.0]), np.array([1.0, 2.0, 1.0])
    # sorted 10 (weight 2), 20 (1), 30 (1): half the weight is reached at 10, 95 % at 30
    assert _weighted_quantile(v, w, 0.5) == 10.0 and _weighted_quantile(v, w, 0.95) == 30.0
    assert _weighted_quantile(v, np.zeros(3), 0.5) is None


def test_rows_round_trip_through_the_store(tmp_path):
    s, sc = space(), scenario(60, seed=4)
    res = run(s, sc, [Predictive(), Clairvoyant()])
    rows = replay_rows(res, s, sc, objective="device_energy_j", device_name="phone-a", device_class="phone",
                       run_id="r1")
    Store(tmp_path).append(rows)
    back = Store(tmp_path).read().sort("strategy")
    assert back["strategy"].to_list() == ["adaptive:clairvoyant", "adaptive:oracle", "adaptive:predictive"]
    summary = {r["policy"]: r for r in res.summary.iter_rows(named=True)}
    for r in back.iter_rows(named=True):
        p = r["strategy"].split(":")[1]
        cfg = json.loads(r["config_json"])
        assert r["energy_j"] == summary[p]["device_energy_j_per_request"] and r["run_id"] == "r1"
        assert cfg["causal"] == (p == "predictive")
        assert cfg["intervals"] == [30, 60] and cfg["latency_target_ms"] == 60.0
        iv = res.intervals.filter(res.intervals["policy"] == p)
        w = iv["served"].to_numpy()
        # no deferral: the mean latency is over every served request
        assert r["latency_ms_mean"] == pytest.approx(float((iv["latency_ms"].to_numpy() * w).sum() / w.sum()),
                                                     rel=1e-12)


def test_deferred_work_is_left_out_of_the_latency_figures():
    from workbench.adaptive import CarbonMPC
    from workbench.adaptive.space import space_from_table

    s = space_from_table([{"name": "local", "accuracy": 0.9, "device_ms": 10.0, "device_energy_j": 1.0}])
    sc = make_scenario(step_s=1.0, bandwidth_mbps=50.0, rtt_ms=20.0, carbon_g_per_kwh=np.tile([400.0, 400.0, 40.0], 8),
                       requests=[10] * 24, latency_target_ms=60.0, deferrable_fraction=0.5, defer_deadline_intervals=2)
    res = run(s, sc, [CarbonMPC(horizon=3, period_s=3.0)], objective="carbon_g", oracle=False)
    row = replay_rows(res, s, sc, objective="carbon_g", device_name="d", device_class="phone").row(0, named=True)
    cfg = json.loads(row["config_json"])
    assert cfg["summary"]["deferred"] == 40 and cfg["deferrable_fraction"] == 0.5
    assert row["latency_ms_p50"] == 10.0 and row["latency_ms_mean"] == pytest.approx(10.0, rel=1e-12)
