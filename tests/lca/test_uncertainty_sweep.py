"""Monte Carlo percentiles and vectorised sweeps against Brightway."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.lca.footprint import compute, footprint_dict, write_scenario
from workbench.lca.resolution import resolve
from workbench.lca.scenario import parse_scenario

SCEN = """
name = "mc"
[location]
country = "FRA"
[[devices]]
name = "A100"
count = 8
power_w = 400
hours = 100
pue = 1.2
lifetime_years = 6
utilization = 0.85
[[network]]
gigabytes = 10.0
technology = "fixed"
"""


def test_monte_carlo_brackets_deterministic_and_is_seeded(lca_dir, global_random_seed):
    a = footprint_dict(SCEN, lca_dir=lca_dir, monte_carlo=200, seed=global_random_seed + 1)
    b = footprint_dict(SCEN, lca_dir=lca_dir, monte_carlo=200, seed=global_random_seed + 1)
    mc = a["monte_carlo"]
    for key in ("total_kgco2e", "operational_kgco2e", "embodied_kgco2e"):
        s = mc[key]
        # every distribution has the deterministic value as median (lognormals) or mode (PUE): the
        # 95 % interval must contain it and be a real spread
        assert s["p2.5"] < a[key] < s["p97.5"], key
        assert s["p97.5"] > 1.05 * s["p2.5"], key
    # components add up in every draw, so their means add up
    parts = sum(mc[k]["mean"] for k in ("operational_kgco2e", "embodied_kgco2e", "network_kgco2e"))
    assert parts == pytest.approx(mc["total_kgco2e"]["mean"], rel=1e-9)
    assert b["monte_carlo"]["total_kgco2e"] == mc["total_kgco2e"]  # same seed, same draws


def test_monte_carlo_needs_two_draws(lca_dir, bw):
    from workbench.errors import ParameterError

    before = set(bw.databases)
    with pytest.raises(ParameterError, match=r"iterations must be an integer ≥ 2, got 1\. Fix: "):
        footprint_dict(SCEN, lca_dir=lca_dir, monte_carlo=1)
    assert set(bw.databases) == before  # the scenario database is removed on the error too


def test_sweep_matches_per_scenario_lca(lca_dir, bw, global_random_seed):
    from workbench.catalog import network
    from workbench.lca.project import DEFAULT_METHOD
    from workbench.lca.sweep import UnitImpacts, evaluate

    rng = np.random.default_rng(global_random_seed)
    countries = ["FRA", "DEU", "USA", "IND"]
    devices = ["a100-sxm4-40gb", "raspberry-pi-5"]
    unit = UnitImpacts.from_project(countries, devices, lca_dir=lca_dir)
    for _ in range(3):
        c, d = rng.choice(countries), rng.choice(devices)
        count, power, hours = int(rng.integers(1, 64)), rng.uniform(5, 700), rng.uniform(1, 2000)
        pue, life, util, gb = rng.uniform(1, 2), rng.uniform(2, 8), rng.uniform(0.2, 1), rng.uniform(0, 100)
        rs = resolve(parse_scenario(f"""
name = "s"
[location]
country = "{c}"
[[devices]]
name = "{d}"
count = {count}
power_w = {power!r}
hours = {hours!r}
pue = {pue!r}
lifetime_years = {life!r}
utilization = {util!r}
[[network]]
gigabytes = {gb!r}
technology = "5g"
"""))
        with write_scenario(rs) as model:
            ref = compute(model, DEFAULT_METHOD)
        ci, di = unit.country_index([c])[0], unit.device_index([d])[0]
        got = evaluate(grid_kgco2e_per_kwh=unit.grid_kgco2e_per_kwh[ci], energy_kwh=power * hours / 1000,
                       count=count, pue=pue, manufacturing_kgco2e=unit.manufacturing_kgco2e[di], hours=hours,
                       lifetime_years=life, utilization=util, gigabytes=gb,
                       kwh_per_gb=network.energy_kwh_per_gb("5g"))
        for key in ("total_kgco2e", "operational_kgco2e", "embodied_kgco2e", "network_kgco2e"):
            # same linear model, both in float64: only rounding differs
            assert float(got[key]) == pytest.approx(ref[key], rel=1e-9), key


def test_sweep_frame(lca_dir):
    import polars as pl

    from workbench.lca.sweep import UnitImpacts, sweep

    unit = UnitImpacts.from_project(["FRA", "USA"], ["a100-sxm4-40gb"], lca_dir=lca_dir)
    df = pl.DataFrame({"country": ["FRA", "USA"], "device": ["a100-sxm4-40gb"] * 2, "count": [1.0, 2.0],
                       "power_w": [400.0, 400.0], "hours": [10.0, 10.0], "pue": [1.0, 1.5],
                       "lifetime_years": [4.0, 4.0]})
    out = sweep(df, unit)
    g = unit.grid_kgco2e_per_kwh
    m = unit.manufacturing_kgco2e[0]
    expected = [4.0 * g[0] + 10 / (4 * 8760) * m, 2 * 4.0 * 1.5 * g[1] + 2 * 10 / (4 * 8760) * m]
    np.testing.assert_allclose(out["total_kgco2e"].to_numpy(), expected, rtol=1e-12)
    from workbench.errors import ParameterError, UnknownNameError

    with pytest.raises(UnknownNameError, match="FRA"):
        sweep(df.with_columns(pl.Series("country", ["FRX", "USA"])), unit)
    with pytest.raises(ParameterError, match="negative"):
        sweep(df.with_columns(pl.Series("hours", [-1.0, 1.0])), unit)
