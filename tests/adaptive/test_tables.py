"""Result tables shared by the benchmark and notebook 08, and the example scenario."""

from __future__ import annotations

import polars as pl
import pytest

from workbench.adaptive import tables
from workbench.adaptive.example import example_scenario


def summary(**miss):
    return pl.DataFrame({"policy": ["static", "reactive", "predictive", "mpc", "oracle"],
                         "slo_miss_rate": [miss.get(p, 0.0) for p in ("static", "reactive", "predictive", "mpc",
                                                                       "oracle")],
                         "accuracy": [0.9] * 5,
                         "device_energy_j_per_request": [1.0, 0.5, 0.7, 0.9, 0.4],
                         "carbon_g_per_request": [2.0, 1.0, 3.0, 1.0, 1.0]})


def test_compare_and_best():
    c = tables.compare(summary(static=0.02, reactive=0.05, predictive=0.01))
    row = {r["policy"]: r for r in c.iter_rows(named=True)}
    # predictive: 1 − 0.7 / 1.0 = 0.3 saved, 0.7 / 0.4 − 1 = 0.75 above the oracle, 1 − 3 / 2 = −0.5 carbon
    assert row["predictive"]["energy_saving_vs_static"] == pytest.approx(0.3, rel=1e-12)
    assert row["predictive"]["gap_to_oracle_energy"] == pytest.approx(0.75, rel=1e-12)
    assert row["predictive"]["carbon_saving_vs_static"] == pytest.approx(-0.5, rel=1e-12)
    # reactive is cheaper (0.5 J) but misses more than static: the best is predictive
    assert tables.best_adaptive(c)["policy"] == "predictive"
    assert tables.best_adaptive(tables.compare(summary(reactive=0.1, predictive=0.1, mpc=0.1))) is None


def test_example_scenario(shared_data):
    sc = example_scenario(shared_data, intervals=40, battery_wh=1.0, harvest_w=0.01)
    assert len(sc) == 40 and sc.step_s == 300.0
    # Poisson 0.2/s × 300 s: 60 requests per interval on average
    assert 40 < sc.requests.mean() < 80
    assert sc.budget.capacity_j == 3600.0 and sc.harvest_j[0] == pytest.approx(3.0, rel=1e-12)
    assert set(sc.provenance) == {"bandwidth_mbps", "rtt_ms", "carbon_g_per_kwh", "requests", "budget"}
    f = tables.trace_frame(sc, 20)
    assert f["part"].to_list() == ["tuning"] * 20 + ["evaluation"] * 20
    assert tables.trace_long(f).height == 120
