"""Plausibility bounds: each refuses the value just above it, names it, and gives way to allow_implausible."""

from __future__ import annotations

import pytest

from tests.lca._scenarios import SCENARIOS
from tests.lca._scenarios import WITH_UNCERTAINTY as BASE
from workbench.lca.bounds import BOUNDS, MAX_ENERGY_KWH, bound_for
from workbench.lca.resolution import resolve
from workbench.lca.scenario import ImplausibleValueError, ScenarioError, load_scenario, parse_scenario

WRITE = {  # bound -> (line of BASE to replace, template of the replacement with the value)
    "carbon_intensity_g_per_kwh": ('country = "FRA"', "carbon_intensity_g_per_kwh = {}"),
    "count": ("count = 8", "count = {}"),
    "power_w": ("power_w = 400", "power_w = {}"),
    "hours": ("hours = 100", "hours = {}"),
    "energy_kwh": ("power_w = 400", "energy_kwh = {}"),
    "energy_per_inference_j": ("power_w = 400", "energy_per_inference_j = {}\ninferences = 1"),
    "inferences": ("power_w = 400", "energy_per_inference_j = 1e-9\ninferences = {}"),
    "pue": ("pue = 1.2", "pue = {}"),
    "embodied_kgco2e": ("embodied_kgco2e = 150", "embodied_kgco2e = {}"),
    "lifetime_years": ("lifetime_years = 6", "lifetime_years = {}"),
    "gigabytes": ("gigabytes = 10.0", "gigabytes = {}"),
    "kwh_per_gb": ("kwh_per_gb = 0.03", "kwh_per_gb = {}"),
    "rel_sd": ("grid_rel_sd = 0.15", "grid_rel_sd = {}"),
    "pue_halfwidth": ("pue_halfwidth = 0.1", "pue_halfwidth = {}"),
}


def written(quantity: str, value: float) -> str:
    old, new = WRITE[quantity]
    text = BASE.replace(old, new.format(repr(float(value))))
    if quantity == "hours":  # hours at their bound need a lifetime as long: both at 50 years
        text = text.replace("lifetime_years = 6", "lifetime_years = 50")
    return text


def test_every_bound_is_written_and_has_a_reason():
    assert set(WRITE) == set(BOUNDS)
    for key, bound in BOUNDS.items():
        assert bound.maximum > 0 and len(bound.reason) > 20, key


@pytest.mark.parametrize("quantity", sorted(BOUNDS))
def test_bound_refuses_above_and_accepts_at(quantity):
    bound = BOUNDS[quantity]
    key = "grid_rel_sd" if quantity == "rel_sd" else quantity
    above = written(quantity, bound.maximum * 1.5)
    with pytest.raises(ImplausibleValueError) as info:
        parse_scenario(above, source="s.toml")
    msg = str(info.value)
    assert msg.startswith("s.toml: ") and f"{key} = {bound.maximum * 1.5:g}" in msg
    assert f"plausible maximum of {bound.maximum:g}" in msg and bound.reason in msg
    assert "allow_implausible = true" in msg and "--allow-implausible" in msg
    assert isinstance(info.value, ScenarioError)  # still the scenario's error class
    # the same value, said to be meant: accepted as written, in the file or by the caller
    assert parse_scenario("allow_implausible = true\n" + above).allow_implausible
    assert parse_scenario(above, allow_implausible=True).allow_implausible
    # the bound itself is plausible (the energy bounds of the resolved scenario may still apply)
    parse_scenario(written(quantity, bound.maximum))


def test_rel_sd_bound_applies_to_every_spread():
    for key in ("grid_rel_sd", "power_rel_sd", "embodied_rel_sd", "lifetime_rel_sd", "network_rel_sd"):
        assert bound_for(key) is BOUNDS["rel_sd"]
        with pytest.raises(ImplausibleValueError, match=rf"\[uncertainty\]\.{key} = 50 "):
            parse_scenario(BASE.replace("grid_rel_sd = 0.15", f"{key} = 50"))


def test_hours_beyond_lifetime_need_the_flag():
    text = BASE.replace("hours = 100", "hours = 52561")  # 6 years are 52,560 h
    with pytest.raises(ImplausibleValueError, match=r"hours = 52561 h is more than the device's lifetime of 6 years"):
        resolve(parse_scenario(text))
    d = resolve(parse_scenario(text, allow_implausible=True)).devices[0]
    assert d.embodied_share == pytest.approx(52561 / (6 * 8760 * 0.85), rel=1e-15)  # used as given
    resolve(parse_scenario(BASE.replace("hours = 100", "hours = 52560")))  # the whole lifetime is possible


def test_derived_energy_bounds_and_overflow():
    per_inference = BASE.replace("power_w = 400", "energy_per_inference_j = 1e8\ninferences = 1e14")
    with pytest.raises(ImplausibleValueError, match=r"energy per device \(energy_per_inference_j x inferences\) = "):
        resolve(parse_scenario(per_inference))  # 1e22 J = 2.8e15 kWh, each factor within its bound
    rs = resolve(parse_scenario(per_inference, allow_implausible=True))
    assert rs.devices[0].energy_kwh == pytest.approx(1e22 / 3.6e6, rel=1e-12) and rs.allow_implausible
    overflow = "allow_implausible = true\n" + BASE.replace("power_w = 400", "power_w = 1e300").replace(
        "hours = 100", "hours = 1e300")
    with pytest.raises(ScenarioError, match="overflows") as info:
        resolve(parse_scenario(overflow))
    assert not isinstance(info.value, ImplausibleValueError)  # a hard limit: no flag lifts it
    assert MAX_ENERGY_KWH == BOUNDS["energy_kwh"].maximum


def test_allow_implausible_must_be_a_boolean():
    with pytest.raises(ScenarioError, match="allow_implausible must be true or false, got 1"):
        parse_scenario("allow_implausible = 1\n" + BASE)
    assert not parse_scenario("allow_implausible = false\n" + BASE).allow_implausible


def test_shipped_scenarios_and_catalog_are_within_the_bounds():
    from workbench.catalog import devices, grid, pue

    for path in sorted(SCENARIOS.glob("*.toml")):
        assert not load_scenario(path).allow_implausible and resolve(load_scenario(path)).energy_kwh > 0
    assert grid.grid_table()["carbon_intensity_g_per_kwh"].max() < BOUNDS["carbon_intensity_g_per_kwh"].maximum
    assert pue.pue_table()["pue"].max() < BOUNDS["pue"].maximum
    table = devices.list_devices()
    assert table["max_power_w"].max() < BOUNDS["power_w"].maximum
    assert table["embodied_kgco2e"].max() < BOUNDS["embodied_kgco2e"].maximum
    assert table["lifetime_years"].max() < BOUNDS["lifetime_years"].maximum
    # the scenario bounds are the catalog's own, so an override and a scenario agree
    assert BOUNDS["carbon_intensity_g_per_kwh"].maximum == grid.MAX_PLAUSIBLE_G_PER_KWH
    assert BOUNDS["pue"].maximum == pue.MAX_PLAUSIBLE_PUE


def test_catalog_overrides_refuse_implausible_values():
    from workbench.catalog import grid, pue
    from workbench.errors import ParameterError

    with pytest.raises(ParameterError, match=r"override carbon intensity 1e\+12 gCO2e/kWh is above .* 2000"):
        grid.carbon_intensity_g_per_kwh("FRA", override=1e12)
    assert grid.carbon_intensity_g_per_kwh("FRA", override=1e12, allow_implausible=True) == 1e12
    assert grid.carbon_intensity_g_per_kwh("FRA", override=2000.0) == 2000.0
    with pytest.raises(ParameterError, match=r"PUE 40 is above the plausible maximum of 4"):
        pue.check_pue(40)
    assert pue.check_pue(40, allow_implausible=True) == 40.0
    with pytest.raises(ParameterError, match="PUE must be in"):
        pue.check_pue(0.5, allow_implausible=True)  # below 1 is impossible, not implausible
