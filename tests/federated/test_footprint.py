"""The ledger's totals through the lca engine: Brightway's footprint equals them (to 1e-9, as placement)."""

import math

import polars as pl

from workbench import lca
from workbench.federated.footprint import experiment_footprint, experiment_scenarios


def test_scenarios_parse_and_cover_every_grid(fl):
    res, _ = fl
    scen = experiment_scenarios(res.ledger, "fedavg")
    assert sorted(s["location"]["country"] for s in scen) == ["DEU", "FRA", "POL", "SWE"]
    for s in scen:
        lca.parse_scenario(s)


def test_brightway_footprint_equals_the_ledger(fl, lca_dir):
    res, _ = fl
    led = res.ledger.filter(pl.col("experiment") == "fedavg")
    f = experiment_footprint(res.ledger, "fedavg", lca_dir=lca_dir)
    for part in ("operational", "network", "embodied", "total"):
        expected = math.fsum(led[f"{part}_g"].to_list())
        assert math.isclose(f[f"{part}_g"], expected, rel_tol=1e-9), part
