"""Footprint per request (workbench.lca.per_request): a hand calculation, Brightway equality, Monte Carlo,
the one-at-a-time sensitivity, and bad inputs."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from workbench.catalog import network
from workbench.catalog import pue as cat_pue
from workbench.errors import ParameterError, UnknownNameError
from workbench.lca.per_request import per_request_footprints, scenario_of
from workbench.lca.sweep import UnitImpacts
from workbench.lca.tornado import FACTORS, sensitivity

PI, A100 = "raspberry-pi-4b", "a100-sxm4-40gb"


def _rows(**over) -> pl.DataFrame:
    base = {"model": ["m", "m"], "variant": ["fp32", "int8"], "device": ["pi", "a100"],
            "catalog_device": [PI, A100], "energy_j": [1.0, 0.25], "latency_s": [0.01, 0.002],
            "energy_provenance": ["estimated", "predicted"]}
    base.update(over)
    return pl.DataFrame(base)


def _unit(grid=0.5, manuf=(10.0, 30.0)) -> UnitImpacts:
    """Unit impacts given by hand (no Brightway): one country at ``grid`` kg/kWh, the two devices."""
    return UnitImpacts(("XXX",), np.array([grid]), (A100, PI), np.array([manuf[1], manuf[0]]), ("test",))


def test_hand_calculation_on_device_and_datacentre():
    out = per_request_footprints(_rows(), ["XXX"], unit=_unit(), monte_carlo=0, utilization=0.5,
                                 request_bytes=4096.0, client_network="4g", datacentre_pue="hyperscale")
    pi, gpu = out.row(0, named=True), out.row(1, named=True)
    # 1 J/inference x 1000 requests = 1000 J = 2.778e-4 kWh; x 0.5 kg/kWh = 1.389e-4 kg (no PUE on the Pi)
    assert pi["operational_kgco2e"] == pytest.approx(1000.0 / 3.6e6 * 0.5, rel=1e-12)  # float rounding only
    assert pi["operational_kgco2e"] == pytest.approx(1.389e-4, rel=1e-3)               # the brief's 4 digits
    # embodied: 1000 x 0.01 s = 10 s of the Pi, over 5 years x 8760 h x 0.5 busy, of 10 kg
    assert pi["embodied_kgco2e"] == pytest.approx((10.0 / 3600) / (5 * 8760 * 0.5) * 10.0, rel=1e-12)
    assert pi["network_kgco2e"] == 0.0 and pi["pue"] == 1.0 and pi["device_class"] == "edge-cpu"
    # the A100 sits behind the hyperscale PUE and every request crosses 4G
    pue = cat_pue.pue("hyperscale")
    assert gpu["operational_kgco2e"] == pytest.approx(250.0 / 3.6e6 * pue * 0.5, rel=1e-12)
    assert gpu["embodied_kgco2e"] == pytest.approx((2.0 / 3600) / (4 * 8760 * 0.5) * 30.0, rel=1e-12)
    assert gpu["network_kgco2e"] == pytest.approx(1000 * 4096 / 1e9 * network.energy_kwh_per_gb("4g") * 0.5,
                                                  rel=1e-12)
    for r in (pi, gpu):
        assert r["total_kgco2e"] == pytest.approx(r["operational_kgco2e"] + r["embodied_kgco2e"]
                                                  + r["network_kgco2e"], rel=1e-12)
        assert r["embodied_share"] == pytest.approx(r["embodied_kgco2e"] / r["total_kgco2e"], rel=1e-12)
        assert r["requests"] == 1000.0 and r["carbon_intensity_g_per_kwh"] == pytest.approx(500.0, rel=1e-12)
        assert r["total_kgco2e_p5"] is None  # no Monte Carlo asked
    assert out["energy_provenance"].to_list() == ["estimated", "predicted"]  # input columns travel


def test_equals_full_brightway_scenario(lca_dir, bw):
    """The vectorised path equals a full Brightway scenario (energy_per_inference_j x inferences, hours)."""
    from workbench.lca import footprint_dict

    rows = _rows()
    out = per_request_footprints(rows, ["FRA", "POL"], monte_carlo=0, lca_dir=lca_dir)
    for i, r in enumerate(rows.iter_rows(named=True)):
        for j, c in enumerate(["FRA", "POL"]):
            ref = footprint_dict(scenario_of(r, c), lca_dir=lca_dir)
            got = out.row(2 * i + j, named=True)
            assert got["country"] == c
            for key in ("operational_kgco2e", "embodied_kgco2e", "network_kgco2e", "total_kgco2e"):
                # the same linear model in float64 on both sides: only rounding differs
                assert got[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-18), (r["device"], c, key)


def test_monte_carlo_is_seeded_and_brackets_the_central_value():
    u = _unit()
    a = per_request_footprints(_rows(), ["XXX"], unit=u, monte_carlo=400, seed=3)
    b = per_request_footprints(_rows(), ["XXX"], unit=u, monte_carlo=400, seed=3)
    c = per_request_footprints(_rows(), ["XXX"], unit=u, monte_carlo=400, seed=4)
    assert a.equals(b)  # same seed, same draws
    assert not a["total_kgco2e_p95"].equals(c["total_kgco2e_p95"])
    for r in a.iter_rows(named=True):
        assert r["total_kgco2e_p5"] < r["total_kgco2e_p50"] < r["total_kgco2e_p95"]
        # every factor is a median-1 lognormal or a symmetric triangular around its central value: the 90 %
        # band holds the central value and is a real spread (energy alone spans a factor 4)
        assert r["total_kgco2e_p5"] < r["total_kgco2e"] < r["total_kgco2e_p95"]
        assert r["total_kgco2e_p95"] > 1.5 * r["total_kgco2e_p5"]


def test_sensitivity_is_tidy_and_monotone():
    t = sensitivity(_rows(), ["XXX"], unit=_unit())
    assert t.height == 2 * len(FACTORS)
    assert set(t["factor"]) == set(FACTORS)
    assert t["range_source"].null_count() == 0
    for r in t.iter_rows(named=True):
        assert r["value_low"] <= r["value_central"] <= r["value_high"], r
        lo, mid, hi = r["total_at_low_kgco2e"], r["total_kgco2e"], r["total_at_high_kgco2e"]
        if r["factor"] in ("grid intensity", "energy per inference"):
            assert lo < mid < hi, r  # more carbon per kWh or more joules: more CO2
        elif r["factor"] in ("lifetime", "utilisation"):
            assert lo > mid > hi, r  # a longer or busier life spreads the embodied footprint thinner
        elif r["device"] == "pi":
            assert lo == mid == hi  # no PUE and no request transfer outside data centres
        else:
            assert lo < mid < hi, r
        assert r["swing_kgco2e"] == pytest.approx(abs(hi - lo), rel=1e-12)
    # the stated ranges: energy /2 and x2; utilisation /2 and x2 capped at 1
    e = t.filter((pl.col("factor") == "energy per inference") & (pl.col("device") == "pi")).row(0, named=True)
    assert (e["value_low"], e["value_high"]) == (0.5, 2.0)
    u = t.filter((pl.col("factor") == "utilisation") & (pl.col("device") == "pi")).row(0, named=True)
    assert (u["value_low"], u["value_high"]) == (0.25, 1.0)
    # grid: lognormal rel. sd 0.15, 5th-95th percentile
    g = t.filter((pl.col("factor") == "grid intensity") & (pl.col("device") == "pi")).row(0, named=True)
    sigma = math.sqrt(math.log1p(0.15 ** 2))
    assert g["value_high"] == pytest.approx(500.0 * math.exp(1.6448536269514722 * sigma), rel=1e-12)
    assert g["value_unit"] == "g CO2-eq/kWh"
    # network energy: lognormal rel. sd 0.5 around the catalog's 4G kWh/GB; it moves the network part only
    n = t.filter((pl.col("factor") == "network energy") & (pl.col("device") != "pi")).row(0, named=True)
    sn = math.sqrt(math.log1p(0.5 ** 2))
    assert n["value_high"] / n["value_central"] == pytest.approx(math.exp(1.6448536269514722 * sn), rel=1e-12)
    dc = per_request_footprints(_rows(), ["XXX"], unit=_unit(), monte_carlo=0).filter(
        pl.col("device") == n["device"]).row(0, named=True)
    assert n["total_at_high_kgco2e"] - n["total_kgco2e"] == pytest.approx(
        dc["network_kgco2e"] * (math.exp(1.6448536269514722 * sn) - 1), rel=1e-9)
    # energy enters linearly in the operational part only: doubling it adds the operational figure once
    full = per_request_footprints(_rows(), ["XXX"], unit=_unit(), monte_carlo=0).row(0, named=True)
    assert e["total_at_high_kgco2e"] - e["total_kgco2e"] == pytest.approx(full["operational_kgco2e"], rel=1e-9)


@pytest.mark.parametrize(("over", "match"), [
    ({"energy_j": [-1.0, 0.25]}, r"energy_j = -1\.0 for m \(fp32\) on pi: it must be a finite number >= 0 .*Fix:"),
    ({"energy_j": [float("nan"), 0.25]}, r"energy_j = nan for m \(fp32\) on pi.*Fix:"),
    ({"latency_s": [0.01, float("inf")]}, r"latency_s = inf for m \(int8\) on a100.*Fix:"),
])
def test_bad_numbers_name_the_row_and_the_fix(over, match):
    with pytest.raises(ParameterError, match=match):
        per_request_footprints(_rows(**over), ["XXX"], unit=_unit(), monte_carlo=0)


def test_bad_names_and_parameters():
    with pytest.raises(UnknownNameError, match="raspbery-pi-4b"):
        per_request_footprints(_rows(catalog_device=["raspbery-pi-4b", A100]), ["XXX"], unit=_unit())
    with pytest.raises(UnknownNameError, match="FRX"):
        per_request_footprints(_rows(), ["FRX"], unit=_unit(), monte_carlo=0)
    with pytest.raises(UnknownNameError, match="5gg"):
        per_request_footprints(_rows(), ["XXX"], unit=_unit(), client_network="5gg")
    with pytest.raises(ParameterError, match=r"lack columns \['latency_s'\]"):
        per_request_footprints(_rows().drop("latency_s"), ["XXX"], unit=_unit())
    with pytest.raises(ParameterError, match="monte_carlo must be 0 or >= 2"):
        per_request_footprints(_rows(), ["XXX"], unit=_unit(), monte_carlo=1)
    with pytest.raises(ParameterError, match="utilization"):
        per_request_footprints(_rows(), ["XXX"], unit=_unit(), utilization=0.0)
    with pytest.raises(ParameterError, match="at least one country"):
        sensitivity(_rows(), [], unit=_unit())
    with pytest.raises(ParameterError, match="no rows"):
        per_request_footprints(_rows().head(0), ["XXX"], unit=_unit())


def test_monte_carlo_draws_what_brightway_draws(lca_dir, bw):
    """The vectorised Monte Carlo draws the distributions Brightway's does (workbench.lca.uncertainty), given the
    scenario the same energy spread: their 5th, 50th and 95th percentiles agree within sampling error."""
    from workbench.lca import footprint_dict
    from workbench.lca.inventory import Z_95
    from workbench.lca.per_request import RANGES

    sigma_e = math.log(RANGES["energy_factor"]) / Z_95
    rows = _rows()
    ours = per_request_footprints(rows, ["POL"], monte_carlo=4000, seed=1, lca_dir=lca_dir)
    for i, r in enumerate(rows.iter_rows(named=True)):
        sc = scenario_of(r, "POL")
        sc["uncertainty"] = {"power_rel_sd": math.sqrt(math.expm1(sigma_e ** 2))}  # the energy factor's lognormal
        if r["device"] == "pi":
            # outside data centres the PUE is 1 and not drawn; a scenario would draw a PUE of 1 on [1, 1.1]
            sc["uncertainty"]["pue_halfwidth"] = 0.0
        ref = footprint_dict(sc, lca_dir=lca_dir, monte_carlo=500, seed=1)["monte_carlo"]["total_kgco2e"]
        got = ours.row(i, named=True)
        for p in (5, 50, 95):
            # independent draws (500 and 4000) of a spread of about a factor 3: seeds 1 and 2 differed by at most
            # 6 % in any of these percentiles; 12 % leaves room for other seeds, not for another distribution
            assert got[f"total_kgco2e_p{p}"] == pytest.approx(ref[f"p{p}"], rel=0.12), (r["device"], p)
