"""Grid (from codecarbon's installed data), network and PUE tables."""

from __future__ import annotations

import json
import math
from importlib import resources

import polars as pl
import pytest

from workbench.catalog import grid, network, pue
from workbench.errors import ParameterError, UnknownNameError


def _codecarbon_mix():
    return json.loads(resources.files("codecarbon").joinpath(
        "data", "private_infra", "global_energy_mix.json").read_text())


def test_grid_reads_installed_codecarbon():
    mix = _codecarbon_mix()
    t = grid.grid_table()
    assert t.height == len(mix)
    assert set(t.columns) >= {"iso3", "country", "carbon_intensity_g_per_kwh", "year", "source", "unit"}
    assert t["source"][0].startswith("codecarbon ")
    for iso in ("FRA", "USA", "IND"):
        assert grid.carbon_intensity_g_per_kwh(iso) == mix[iso]["carbon_intensity"]
    assert grid.carbon_intensity_g_per_kwh("fra") == grid.carbon_intensity_g_per_kwh("France")


@pytest.mark.shared_data
def test_grid_matches_shared_copy(shared_data):
    ref = pl.read_csv(shared_data / "codecarbon" / "global_energy_mix.csv")
    t = grid.grid_table().join(ref.select("iso_code", "carbon_intensity", "year"), left_on="iso3",
                               right_on="iso_code")
    assert t.height == ref.height == 213
    assert (t["carbon_intensity_g_per_kwh"] - t["carbon_intensity"]).abs().max() < 1e-9
    assert (t["year"] == t["year_right"]).all()


def test_override_and_errors():
    assert grid.carbon_intensity_g_per_kwh("FRA", override=12.5) == 12.5
    with pytest.raises(ParameterError, match="-1"):
        grid.carbon_intensity_g_per_kwh("FRA", override=-1)
    with pytest.raises(UnknownNameError, match="Did you mean.*'FRA'"):
        grid.carbon_intensity_g_per_kwh("FRN")


def test_energy_mix_sums_to_one_and_matches_twh():
    mix = _codecarbon_mix()["FRA"]
    shares = grid.energy_mix("FRA")
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-12)
    total = sum(mix[c] for c in grid.MIX_SOURCES.values())
    assert shares["nuclear"] == pytest.approx(mix["nuclear_TWh"] / total, rel=1e-12)
    intens = grid.source_intensity_g_per_kwh()
    assert intens["coal"] == 995 and intens["nuclear"] == 29  # codecarbon's carbon_intensity_per_source.json
    assert set(shares) - {"other_renewable"} <= set(intens)
    cites = grid.source_intensity_table()
    assert cites.filter(pl.col("source") == "coal")["citation"][0].startswith("https://")


def test_network_trend():
    assert set(network.TECHNOLOGIES) >= {"fixed", "wifi", "4g", "5g"}
    base = network.energy_kwh_per_gb("4g")
    assert network.energy_kwh_per_gb("LTE", 2020) == base
    # two years later with the default 2-year halving time: exactly half
    assert network.energy_kwh_per_gb("4g", 2022) == pytest.approx(base / 2, rel=1e-12)
    assert network.energy_kwh_per_gb("4g", 2021, halving_years=4) == pytest.approx(base * 0.5 ** 0.25, rel=1e-12)
    assert network.energy_kwh_per_gb("4g", 2030, halving_years=math.inf) == base
    assert network.energy_kwh_per_gb("5g") < base
    with pytest.raises(ParameterError, match="between 2010 and 2040"):
        network.energy_kwh_per_gb("fixed", 1999)
    with pytest.raises(ParameterError, match="halving_years"):
        network.energy_kwh_per_gb("fixed", 2022, halving_years=0)
    with pytest.raises(UnknownNameError, match="'5g'"):
        network.energy_kwh_per_gb("6g")
    t = network.network_table(2024)
    assert t.height == 4 and (t["source"].str.len_chars() > 20).all()


@pytest.mark.parametrize("halving", [-2, 0, float("nan"), -math.inf, True, "2"])
def test_network_halving_years_is_checked_even_without_a_year(halving):
    # `workbench network --halving-years -2` used to print a table (the value unused without --year)
    with pytest.raises(ParameterError, match="halving_years must be"):
        network.network_table(None, halving_years=halving)
    with pytest.raises(ParameterError, match="halving_years must be"):
        network.energy_kwh_per_gb("4g", halving_years=halving)
    assert network.network_table(None, halving_years=math.inf)["halving_years"].to_list() == [math.inf] * 4


@pytest.mark.shared_data
def test_pue_default_matches_green_algorithms(shared_data):
    ga = pl.read_csv(shared_data / "green-algorithms" / "defaults_PUE.csv", skip_rows=1)
    unknown = ga.filter(pl.col("provider") == "Unknown")["PUE"][0]
    assert pue.pue() == unknown  # both cite Uptime Institute 2024


def test_pue_table_and_errors():
    t = pue.pue_table()
    assert (t["pue"] >= 1).all() and (t["source"].str.len_chars() > 10).all()
    assert pue.pue("none") == 1.0
    with pytest.raises(UnknownNameError, match="hyperscale"):
        pue.pue("hyperscal")
    with pytest.raises(ParameterError):
        pue.check_pue(0.9)
