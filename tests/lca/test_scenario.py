"""Scenario parsing, validation and resolution (no Brightway involved)."""

from __future__ import annotations

import pytest

from tests.lca._scenarios import BASE
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.lca.resolution import embodied_share, resolve
from workbench.lca.scenario import ScenarioError, ScenarioFormatError, load_scenario, parse_scenario


def test_example_scenarios_parse_and_resolve(tmp_path):
    from pathlib import Path

    files = sorted(Path(__file__).resolve().parents[2].joinpath("data", "scenarios").glob("*.toml"))
    assert len(files) >= 4
    for f in files:
        rs = resolve(load_scenario(f))
        assert rs.energy_kwh > 0


def test_embodied_share_formula():
    # hours / (lifetime_years * 8760 * utilization), by hand: 100 / (6 * 8760 * 0.85)
    assert embodied_share(100.0, 6.0, 0.85) == pytest.approx(100.0 / 44676.0, rel=1e-12)


def test_resolved_numbers_are_the_file_numbers():
    rs = resolve(parse_scenario(BASE))
    (d,) = rs.devices
    # exact arithmetic on the given numbers: 400 W x 100 h = 40 kWh per device
    assert d.energy_kwh == pytest.approx(40.0, rel=1e-15)
    assert d.embodied_share == pytest.approx(100.0 / (6 * 8760 * 0.85), rel=1e-15)
    assert d.embodied_source == "scenario" and d.in_catalog
    from workbench.catalog import grid, network

    assert rs.carbon_intensity_g_per_kwh == grid.carbon_intensity_g_per_kwh("FRA")
    assert rs.network[0].kwh_per_gb == network.energy_kwh_per_gb("fixed")


def test_energy_modes_and_catalog_defaults():
    from workbench.catalog import devices

    rs = resolve(parse_scenario("""
name = "modes"
[location]
carbon_intensity_g_per_kwh = 100
[[devices]]
name = "raspberry-pi-5"
energy_per_inference_j = 0.5
inferences = 7.2e6
hours = 10
pue = "none"
[[devices]]
name = "raspberry-pi-5"
energy_kwh = 2.5
"""))
    a, b = rs.devices
    assert a.energy_kwh == pytest.approx(1.0, rel=1e-12)  # 0.5 J x 7.2e6 / 3.6e6 J/kWh
    assert a.pue == 1.0 and a.energy_method == "per-inference"
    dev = devices.get_device("raspberry-pi-5")
    assert a.embodied_kgco2e == dev.embodied_kgco2e and a.lifetime_years == dev.lifetime_years
    assert b.energy_kwh == 2.5 and not b.embodied_included and b.embodied_share == 0.0


@pytest.mark.parametrize("patch, match", [
    (("hours = 100", "hours = -5"), "negative"),
    (("power_w = 400", "power_w = -1"), "negative"),
    (("utilization = 0.85", "utilization = 0"), r"outside \(0, 1\]"),
    (("utilization = 0.85", "utilization = 1.5"), r"outside \(0, 1\]"),
    (("pue = 1.2", "pue = 0.9"), "below 1"),
    (("hours = 100\n", ""), "'hours'"),
    (('name = "t"\n', ""), "'name'"),
    (("gigabytes = 10.0\n", ""), "'gigabytes'"),
    (("gigabytes = 10.0", "gigabytes = -1.0"), "negative"),
    (("utilization = 0.85", "utilisation = 0.85"), "Did you mean 'utilization'"),
    (("power_w = 400", "power_w = 400\nenergy_kwh = 3"), "several ways"),
    (("power_w = 400", 'power_w = "400"'), "must be a number"),
])
def test_bad_values_raise_scenario_error(patch, match):
    text = BASE.replace(*patch)
    assert text != BASE
    with pytest.raises(ScenarioError, match=match):
        parse_scenario(text)


def test_missing_location_and_negative_energy():
    with pytest.raises(ScenarioError, match=r"\[location\]"):
        parse_scenario('name = "x"\n[[devices]]\nname = "A100"\nenergy_kwh = 1\n')
    with pytest.raises(ScenarioError, match="negative"):
        parse_scenario('name = "x"\n[location]\ncountry = "FRA"\n[[devices]]\nname = "A100"\nenergy_kwh = -1\n')


def test_malformed_toml_reports_line_and_column(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\n[location]\ncountry = FRA\n')
    with pytest.raises(ScenarioFormatError) as info:
        load_scenario(path)
    assert (info.value.line, info.value.column) == (3, 11)
    assert "line 3, column 11" in str(info.value)


def test_unknown_country_suggests_close_matches():
    with pytest.raises(UnknownNameError, match="FRA"):
        resolve(parse_scenario(BASE.replace('country = "FRA"', 'country = "FRQ"')))


def test_unknown_technology_and_device():
    with pytest.raises(UnknownNameError, match="network technology"):
        resolve(parse_scenario(BASE.replace('technology = "fixed"', 'technology = "fixd"')))
    text = BASE.replace('name = "A100"', 'name = "my-board"').replace("embodied_kgco2e = 150\n", "")
    with pytest.raises(UnknownNameError, match="embodied_kgco2e"):
        resolve(parse_scenario(text))
    # outside the catalog with its own figures: fine
    rs = resolve(parse_scenario(BASE.replace('name = "A100"', 'name = "my-board"')))
    assert not rs.devices[0].in_catalog


def test_network_year_must_be_an_integer():
    text = BASE.replace('technology = "fixed"', 'technology = "fixed"\nyear = "2024"')
    with pytest.raises(ScenarioError, match=r"network\[0\]\.year must be an integer, got '2024'\. Fix: .*year = 2024"):
        parse_scenario(text)
    assert parse_scenario(BASE.replace('technology = "fixed"', 'technology = "fixed"\nyear = 2024')).network[0].year == 2024


def test_every_error_is_a_workbench_error():
    for cls in (ScenarioError, ScenarioFormatError):
        assert issubclass(cls, WorkbenchError)
