"""A chain placement's footprint by the lca engine equals the section-5 carbon formula (issue 15, section 3).

Oracles: ``chain_semantics.evaluate(...)["carbon_g"]`` (tested against hand numbers in test_chain.py) for the
operational and network parts, and the amortisation by hand for the embodied part; the engine is reached three
ways: ``footprint_dict`` (Brightway), the ``workbench footprint`` CLI on the written TOML, and ``sweep.evaluate``.
"""

from __future__ import annotations

import json
import math
import sys

import pytest

from tests.placement._chain_cases import HAND_LATENCY_MS, hand_dict
from workbench.catalog import grid
from workbench.cli import main
from workbench.lca import parse_scenario
from workbench.placement.chain_semantics import evaluate
from workbench.placement.footprint import placement_footprint, placement_scenarios, scenario_toml
from workbench.placement.problem import ProblemError, parse_problem

REL = 1e-9  # the tolerance: both sides compute the same products in float64 (observed ~1e-15)
REQUESTS = 1000.0
ASSIGNMENTS = [("phone", "phone", "phone"), ("phone", "edge", "cloud"), ("edge", "edge", "cloud"),
               ("cloud", "cloud", "cloud"), ("phone", "phone", "edge")]


def _problem(country_cloud: bool = False):
    d = hand_dict()
    if country_cloud:  # the cloud on France's grid: the Brightway market instead of an explicit intensity
        del d["tiers"][2]["carbon_intensity_g_per_kwh"]
        d["tiers"][2]["country"] = "FRA"
    return parse_problem(d)


def test_the_importing_needs_no_brightway():
    # placement_scenarios and the sweep engine run without Brightway (imported lazily by footprint_dict only)
    p = _problem()
    placement_footprint(p, ASSIGNMENTS[1], engine="sweep")
    if "bw2data" not in sys.modules:  # other tests of the session may have imported it already
        assert "bw2calc" not in sys.modules


@pytest.mark.parametrize("country_cloud", [False, True])
@pytest.mark.parametrize("assignment", list(HAND_LATENCY_MS))
def test_sweep_engine_equals_section_5_carbon(assignment, country_cloud):
    p = _problem(country_cloud)
    f = placement_footprint(p, assignment, requests=REQUESTS, engine="sweep")
    want = evaluate(p, assignment)["carbon_g"] * REQUESTS
    assert f["operational_g"] + f["network_g"] == pytest.approx(want, rel=REL)
    assert f["embodied_g"] == 0.0 and f["total_g"] == pytest.approx(want, rel=REL)


def test_mapping_by_hand():
    # phone → edge → cloud, 1000 requests. Phone: conv1 0.5 J + transmit of link 1, which carries conv1's
    # output b_1 = 20000 B: 2 W × 20000 × 8 / (8 Mbit/s × 1000) = 20 ms → 0.04 J; link 1 moves b_1 + r = 20000 +
    # 100 bytes. Edge: conv2 1.2 J (link 2 has no radio power), link 2 moves conv2's output 2000 + 100 bytes.
    p = _problem()
    s = {x.tier: x for x in placement_scenarios(p, ("phone", "edge", "cloud"), requests=REQUESTS)}
    assert list(s) == ["phone", "edge", "cloud"]
    phone = s["phone"].data
    assert phone["location"] == {"carbon_intensity_g_per_kwh": 300.0}
    assert phone["devices"][0]["energy_kwh"] == pytest.approx(0.54 * 1000 / 3.6e6, rel=1e-12)  # float sums
    assert phone["devices"][0]["pue"] == 1.0
    assert phone["network"][0]["gigabytes"] == pytest.approx(20100 * 1000 / 1e9, rel=1e-12)
    assert phone["network"][0]["kwh_per_gb"] == 0.1 and s["phone"].link == "phone->edge"
    assert s["edge"].data["devices"][0]["energy_kwh"] == pytest.approx(1.2 * 1000 / 3.6e6, rel=1e-12)
    assert s["edge"].data["devices"][0]["pue"] == 1.5
    assert s["edge"].data["network"][0]["gigabytes"] == pytest.approx(2100 * 1000 / 1e9, rel=1e-12)
    assert "network" not in s["cloud"].data and s["cloud"].link is None
    # every scenario validates, and its TOML reads back to the same dict (floats exactly)
    for x in s.values():
        parse_scenario(x.data)
        assert parse_scenario(x.to_toml()).devices == parse_scenario(x.data).devices


def test_only_tiers_that_compute_or_send_get_a_scenario():
    p = _problem()
    assert [s.tier for s in placement_scenarios(p, ("phone",) * 3)] == ["phone"]
    # all in the cloud: the edge relays (it sends link 2) without computing, so it has a network entry only
    s = placement_scenarios(p, ("cloud",) * 3)
    assert [x.tier for x in s] == ["phone", "edge", "cloud"]
    assert "devices" not in s[1].data and s[1].data["network"][0]["gigabytes"] > 0


def test_country_tier_uses_the_grid_market():
    p = _problem(country_cloud=True)
    cloud = placement_scenarios(p, ("cloud",) * 3)[-1].data
    assert cloud["location"] == {"country": "FRA"}
    assert p.tiers[2].carbon_intensity_g_per_kwh == grid.carbon_intensity_g_per_kwh("FRA")


def test_bad_inputs_are_named():
    p = _problem()
    with pytest.raises(ProblemError, match="requests"):
        placement_scenarios(p, ASSIGNMENTS[0], requests=0)
    with pytest.raises(ProblemError, match="'fog'.*phone, edge, cloud"):
        placement_scenarios(p, ASSIGNMENTS[0], embodied={"fog": {"device": "A100"}})
    with pytest.raises(ProblemError, match="lifetime_years"):
        placement_scenarios(p, ASSIGNMENTS[0], embodied={"phone": {"embodied_kgco2e": 50.0}})
    with pytest.raises(ProblemError, match="unknown key"):
        placement_scenarios(p, ASSIGNMENTS[0], embodied={"phone": {"embodied_kg": 50.0, "device": "A100"}})
    with pytest.raises(ProblemError, match="engine"):
        placement_footprint(p, ASSIGNMENTS[0], engine="fast")
    with pytest.raises(ProblemError, match="finite"):
        scenario_toml({"name": "x", "location": {"carbon_intensity_g_per_kwh": math.inf}})


EMBODIED = {"phone": {"embodied_kgco2e": 60.0, "lifetime_years": 3.0, "utilization": 0.5},
            "edge": {"embodied_kgco2e": 400.0, "lifetime_years": 5.0, "utilization": 0.8},
            "cloud": {"embodied_kgco2e": 2500.0, "lifetime_years": 6.0, "utilization": 0.85}}


def _embodied_by_hand(p, assignment, requests):
    """Σ_t embodied_kgco2e × 1e3 × busy hours / (lifetime × 8760 × utilisation), busy = Σ latency_ms of its layers."""
    total = 0.0
    by_tier = {}
    for t, tier in enumerate(p.tiers):
        busy_ms = sum(layer.latency_ms[t] for layer, a in zip(p.layers, assignment, strict=True) if a == tier.name)
        e = EMBODIED[tier.name]
        g = e["embodied_kgco2e"] * 1e3 * (busy_ms * requests / 3.6e6) / (e["lifetime_years"] * 8760 * e["utilization"])
        by_tier[tier.name] = g
        total += g
    return total, by_tier


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_embodied_by_hand_sweep(assignment):
    p = _problem()
    f = placement_footprint(p, assignment, requests=REQUESTS, embodied=EMBODIED, engine="sweep")
    total, by_tier = _embodied_by_hand(p, assignment, REQUESTS)
    assert f["embodied_g"] == pytest.approx(total, rel=REL)
    for tier, g in f["embodied_g_by_tier"].items():
        assert g == pytest.approx(by_tier[tier], rel=REL)
    # busy time as power × hours changes nothing in the operational and network parts
    want = evaluate(p, assignment)["carbon_g"] * REQUESTS
    assert f["operational_g"] + f["network_g"] == pytest.approx(want, rel=REL)


# --- through Brightway: footprint_dict and the CLI (slow: the project is built once per session) -------------

@pytest.mark.slow
@pytest.mark.parametrize("country_cloud", [False, True])
def test_brightway_footprint_equals_section_5_carbon(lca_dir, country_cloud):
    p = _problem(country_cloud)
    for assignment in ASSIGNMENTS:
        f = placement_footprint(p, assignment, requests=REQUESTS, lca_dir=lca_dir)
        want = evaluate(p, assignment)["carbon_g"] * REQUESTS
        assert f["operational_g"] + f["network_g"] == pytest.approx(want, rel=REL), assignment
        assert f["embodied_g"] == pytest.approx(0.0, abs=1e-12)
        fast = placement_footprint(p, assignment, requests=REQUESTS, engine="sweep")
        for key in ("operational_g", "network_g", "total_g"):
            assert f[key] == pytest.approx(fast[key], rel=REL), (assignment, key)
        for tier, g in fast["operational_g_by_tier"].items():
            assert f["operational_g_by_tier"][tier] == pytest.approx(g, rel=REL, abs=1e-15)
        for link, g in fast["network_g_by_link"].items():
            assert f["network_g_by_link"][link] == pytest.approx(g, rel=REL, abs=1e-15)


@pytest.mark.slow
def test_cli_footprint_of_the_written_scenarios(lca_dir, tmp_path, capsys):
    p = _problem(country_cloud=True)
    for assignment in ASSIGNMENTS[1:3]:
        total_kg = 0.0
        for s in placement_scenarios(p, assignment, requests=REQUESTS, embodied=EMBODIED):
            path = tmp_path / f"{s.tier}.toml"
            path.write_text(s.to_toml(), encoding="utf-8")
            assert main(["footprint", str(path), "--format", "json", "--lca-dir", str(lca_dir)]) == 0
            out = json.loads(capsys.readouterr().out)
            total_kg += out["operational_kgco2e"] + out["network_kgco2e"]
            emb_kg = out["embodied_kgco2e"]
        want = evaluate(p, assignment)["carbon_g"] * REQUESTS
        assert total_kg * 1e3 == pytest.approx(want, rel=REL)
        # the last tier written is the cloud: its embodied part by hand
        assert emb_kg * 1e3 == pytest.approx(_embodied_by_hand(p, assignment, REQUESTS)[1]["cloud"], rel=REL)


@pytest.mark.slow
def test_brightway_embodied_by_hand(lca_dir):
    p = _problem()
    assignment = ("phone", "edge", "cloud")
    f = placement_footprint(p, assignment, requests=REQUESTS, embodied=EMBODIED, lca_dir=lca_dir)
    total, by_tier = _embodied_by_hand(p, assignment, REQUESTS)
    assert f["embodied_g"] == pytest.approx(total, rel=REL)
    for tier, g in by_tier.items():
        assert f["embodied_g_by_tier"][tier] == pytest.approx(g, rel=REL)
    want = evaluate(p, assignment)["carbon_g"] * REQUESTS
    assert f["operational_g"] + f["network_g"] == pytest.approx(want, rel=REL)
    assert f["total_g"] == pytest.approx(want + total, rel=REL)


@pytest.mark.slow
def test_catalog_device_embodied_by_hand(lca_dir):
    # a catalog device on the cloud tier: its embodied figure and lifetime from the catalog (the Brightway
    # foreground's manufacturing node), utilisation 1; the cloud runs fc only (1.0 ms per request)
    from workbench.catalog.devices import get_device

    dev = get_device("A100")
    p = _problem()
    hand = dev.embodied_kgco2e * 1e3 * (1.0 * REQUESTS / 3.6e6) / (dev.lifetime_years * 8760 * 1.0)
    for engine in ("brightway", "sweep"):
        f = placement_footprint(p, ("phone", "edge", "cloud"), requests=REQUESTS, embodied={"cloud": {"device": "A100"}},
                                engine=engine, lca_dir=lca_dir)
        assert f["embodied_g_by_tier"] == pytest.approx({"phone": 0.0, "edge": 0.0, "cloud": hand}, rel=REL), engine


def test_embodied_devices_uses_each_tiers_catalog_device():
    import dataclasses

    from workbench.placement.problem import Tier

    if "device" not in {f.name for f in dataclasses.fields(Tier)}:
        pytest.skip("tiers name no catalog device in this version of the problem file")
    p = _problem()
    p = dataclasses.replace(p, tiers=(p.tiers[0], p.tiers[1], dataclasses.replace(p.tiers[2], device="A100")))
    s = placement_scenarios(p, ("phone", "edge", "cloud"), requests=REQUESTS, embodied="devices")
    assert s[2].data["devices"][0]["name"] == "A100" and "hours" in s[2].data["devices"][0]
    assert "hours" not in s[0].data["devices"][0] and s[0].data["devices"][0]["embodied_kgco2e"] == 0.0
    f = placement_footprint(p, ("phone", "edge", "cloud"), requests=REQUESTS, embodied="devices", engine="sweep")
    g = placement_footprint(p, ("phone", "edge", "cloud"), requests=REQUESTS, embodied={"cloud": {"device": "A100"}},
                            engine="sweep")
    assert f["embodied_g"] == g["embodied_g"] > 0
