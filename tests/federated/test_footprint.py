"""The ledger's totals through the lca engine: Brightway's footprint equals them (to 1e-9, as placement)."""

import math

import polars as pl
import pytest

from workbench import lca
from workbench.federated.footprint import experiment_footprint, experiment_scenarios


def test_scenarios_parse_and_cover_every_grid(fl):
    res, _ = fl
    scen = experiment_scenarios(res.ledger, "fedavg")
    assert sorted(s["location"]["country"] for s in scen) == ["DEU", "FRA", "POL", "SWE"]
    for s in scen:
        lca.parse_scenario(s)


def test_brightway_footprint_equals_the_ledger(fl, lca_dir):
    _check_equal(fl[0], "fedavg", experiment_footprint(fl[0].ledger, "fedavg", lca_dir=lca_dir))


@pytest.mark.parametrize("exp", ["fedavg", "signal-deu", "topk-carbon"])
def test_sweep_footprint_equals_the_ledger(fl, exp):
    # the lca's linear model without Brightway (the engine above equals it, tests/lca): hourly intensities too
    _check_equal(fl[0], exp, experiment_footprint(fl[0].ledger, exp, engine="sweep"))


def _check_equal(res, exp, f):
    led = res.ledger.filter(pl.col("experiment") == exp)
    for part in ("operational", "network", "embodied", "total"):
        expected = math.fsum(led[f"{part}_g"].to_list())
        assert math.isclose(f[f"{part}_g"], expected, rel_tol=1e-9), part


def test_a_series_makes_one_scenario_per_hourly_intensity(fl):
    res, _ = fl
    locs = [s["location"] for s in experiment_scenarios(res.ledger, "signal-deu")]
    deu = [loc for loc in locs if loc.get("country") == "DEU"]
    # rounds 1 and 2 on the German series: explicit intensities; the other grids: their catalog country
    assert len(deu) == 2 and all("carbon_intensity_g_per_kwh" in loc for loc in deu)
    assert {"country": "FRA"} in locs and {"country": "SWE"} in locs
