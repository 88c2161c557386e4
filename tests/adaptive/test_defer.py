"""Deferrable work: the carbon MPC holds it for the clean interval, the replay accounts it (hand-computed)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.adaptive import CarbonMPC, Predictive, make_scenario, run
from workbench.adaptive.space import space_from_table
from workbench.errors import ParameterError


def _local():
    # one configuration: 10 ms and 1 J on the device, never crossing the link
    return space_from_table([{"name": "local", "accuracy": 0.9, "device_ms": 10.0, "device_energy_j": 1.0}])


def _day(**kw):
    # a 3-interval "day": dirty, dirty, clean (400, 400, 40 g/kWh), 10 requests each, half of them deferrable
    # by up to 2 intervals; 24 intervals: 12 to tune, 12 (four days, each starting dirty) evaluated
    return make_scenario(step_s=1.0, bandwidth_mbps=50.0, rtt_ms=20.0, carbon_g_per_kwh=np.tile([400.0, 400.0, 40.0], 8),
                         requests=[10] * 24, latency_target_ms=60.0, **{"deferrable_fraction": 0.5,
                                                                         "defer_deadline_intervals": 2, **kw})


def test_mpc_defers_to_the_clean_interval():
    r = run(_local(), _day(), [CarbonMPC(horizon=3, period_s=3.0), Predictive(objective="carbon_g")],
            objective="carbon_g", oracle=False)
    row = {x["policy"]: x for x in r.summary.iter_rows(named=True)}
    # per day, served on arrival: 10 × (400 + 400 + 40) g/kWh × 1 J over 30 requests → 280 / 3.6e6 g per request;
    # the MPC serves the 5 + 5 deferrable requests of the dirty intervals in the clean one (the seasonal forecast
    # is exact here): (5 × 400 + 5 × 400 + 20 × 40) / 30 = 160 g/kWh → 160 / 3.6e6 g per request
    assert row["predictive"]["carbon_g_per_request"] == pytest.approx(280.0 / 3.6e6, rel=1e-12)
    assert row["mpc"]["carbon_g_per_request"] == pytest.approx(160.0 / 3.6e6, rel=1e-12)
    assert row["mpc"]["deferred"] == 40 and row["predictive"]["deferred"] == 0
    assert row["mpc"]["deferred_share"] == pytest.approx(40 / 120, rel=1e-12)
    # no request misses: deferred work is within its deadline and carries no latency target
    assert row["mpc"]["misses"] == 0 and row["mpc"]["served"] == 120
    f = r.intervals.filter(r.intervals["policy"] == "mpc")
    assert f["deferred"].to_list() == [5, 5, 0] * 4
    assert f["served_deferred"].to_list() == [0, 0, 10] * 4
    assert f["served"].to_list() == [5.0, 5.0, 20.0] * 4


def test_the_deadline_binds():
    # deadline 1 interval: the first dirty interval's work cannot reach the clean one; the second's can
    r = run(_local(), _day(defer_deadline_intervals=1), [CarbonMPC(horizon=3, period_s=3.0)],
            objective="carbon_g", oracle=False)
    f = r.intervals.filter(r.intervals["policy"] == "mpc")
    assert f["deferred"].to_list() == [0, 5, 0] * 4
    # per day: 10 × 400 + 5 × 400 + 15 × 40 = 6600 over 30 requests = 220 g/kWh
    assert r.summary["carbon_g_per_request"][0] == pytest.approx(220.0 / 3.6e6, rel=1e-12)


def test_no_deferral_when_switched_off_or_nothing_is_deferrable():
    for sc, mpc in ((_day(), CarbonMPC(horizon=3, period_s=3.0, defer=False)),
                    (_day(deferrable_fraction=0.0), CarbonMPC(horizon=3, period_s=3.0))):
        r = run(_local(), sc, [mpc], objective="carbon_g", oracle=False)
        assert r.summary["deferred"][0] == 0
        assert r.summary["carbon_g_per_request"][0] == pytest.approx(280.0 / 3.6e6, rel=1e-12)


def test_the_last_interval_serves_everything_waiting():
    # evaluation ends on a dirty interval: what waits there is served then, nothing is lost
    sc = _day()
    sc = sc.part(0, 22)
    r = run(_local(), sc, [CarbonMPC(horizon=3, period_s=3.0)], objective="carbon_g", oracle=False)
    assert r.summary["served"][0] == r.summary["requests"][0] and r.summary["misses"][0] == 0


def test_bad_deferral_settings():
    with pytest.raises(ParameterError, match="deferrable_fraction"):
        _day(deferrable_fraction=1.5)
    with pytest.raises(ParameterError, match="defer_deadline_intervals"):
        _day(defer_deadline_intervals=-1)


def test_the_adapt_file_declares_deferral(tmp_path):
    from tests.adaptive.test_cli_adapt import CONFIG, GOOD_BW
    from workbench.adaptive.config_file import load_config

    path = tmp_path / "adapt.toml"
    path.write_text("deferrable_fraction = 0.5\ndefer_deadline_intervals = 2\n" + CONFIG.format(bandwidth=GOOD_BW,
                                                                                                extra=""))
    sc = load_config(path).scenario
    assert (sc.deferrable_fraction, sc.defer_deadline_intervals) == (0.5, 2)
    # ⌊0.5 × (1, 1, 1, 1, 2, 2, 2, 2)⌋
    assert sc.batch_requests().tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
