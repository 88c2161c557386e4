"""The chain problem file: the issue's example parses, catalog figures resolve, every bad value is named."""

from __future__ import annotations

import math

import pytest

from tests.placement._chain_cases import HAND_TOML, hand_dict
from workbench.catalog import grid, network
from workbench.errors import ImportFormatError, ParameterError
from workbench.placement.problem import (
    ProblemError,
    ProblemFormatError,
    load_problem,
    parse_problem,
    problem_with,
)

ISSUE_EXAMPLE = """
objective = "latency_ms"          # latency_ms | device_energy_j | energy_j | carbon_g
[model]
input_bytes = 150528              # bytes of one input, produced at tier 0
[[model.layers]]                  # in execution order
name = "conv1"
output_bytes = 802816
latency_ms = [12.5, 3.0, 0.9]     # one value per tier, in tier order
energy_j = [0.031, 0.09, 0.12]
weight_bytes = 9408               # optional; counts against memory_bytes of its tier
[[tiers]]
name = "phone"
carbon_intensity_g_per_kwh = 300  # or country = "FRA"; optional pue (default 1), memory_bytes
[[tiers]]
name = "edge"
country = "FRA"
memory_bytes = 8e9
[[tiers]]
name = "cloud"
country = "usa"
pue = 1.1
[[links]]                         # one per pair of consecutive tiers, in order
bandwidth_mbps = 10.0
rtt_ms = 50.0
tx_power_w = 1.5                  # optional: power the sending tier spends while transmitting
kwh_per_gb = 0.14                 # optional: or technology = "4g"
[[links]]
bandwidth_mbps = 100.0
rtt_ms = 20.0
technology = "fixed"
[constraints]                     # all optional
latency_ms_max = 80.0
"""


def test_the_issue_example_parses_with_catalog_figures():
    p = parse_problem(ISSUE_EXAMPLE, source="issue.toml")
    assert p.tier_names == ("phone", "edge", "cloud") and p.objective == "latency_ms"
    assert p.tiers[0].carbon_intensity_g_per_kwh == 300.0 and p.tiers[0].pue == 1.0
    assert p.tiers[1].carbon_intensity_g_per_kwh == grid.carbon_intensity_g_per_kwh("FRA")
    assert p.tiers[1].memory_bytes == 8e9 and p.tiers[0].memory_bytes is None
    assert p.tiers[2].carbon_intensity_g_per_kwh == grid.carbon_intensity_g_per_kwh("USA") and p.tiers[2].pue == 1.1
    assert p.links[0].kwh_per_gb == 0.14 and p.links[0].tx_power_w == 1.5
    assert p.links[1].kwh_per_gb == network.energy_kwh_per_gb("fixed") and p.links[1].tx_power_w == 0.0
    assert p.layers[0].latency_ms == (12.5, 3.0, 0.9) and p.layers[0].weight_bytes == 9408
    assert p.latency_ms_max == 80.0 and p.source == "issue.toml"


def test_load_problem_reads_a_file_and_names_missing_ones(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text(HAND_TOML, encoding="utf-8")
    assert load_problem(f).tier_names == ("phone", "edge", "cloud")
    with pytest.raises(ProblemError, match="no such file"):
        load_problem(tmp_path / "missing.toml")
    with pytest.raises(ProblemError, match="is a directory"):
        load_problem(tmp_path)
    f.write_bytes(b"\xff\xfe\x00o")
    with pytest.raises(ProblemFormatError, match="not UTF-8"):
        load_problem(f)


def test_problem_with_another_objective():
    p = parse_problem(HAND_TOML)
    assert problem_with(p, objective="carbon_g").objective == "carbon_g"
    assert problem_with(p) is p
    with pytest.raises(ProblemError, match="'carbon' is not an objective. Did you mean 'carbon_g'"):
        problem_with(p, objective="carbon")


def _layer(**changes):
    layer = {"output_bytes": 10, "latency_ms": [1.0, 2.0, 3.0], "energy_j": [0.1, 0.2, 0.3]}
    layer.update(changes)
    return layer


def _with_layer(**changes):
    d = hand_dict()
    d["model"]["layers"][1] = {"name": "conv2", **_layer(**changes)}
    return d


def _with_link(k, **changes):
    d = hand_dict()
    d["links"][k].update(changes)
    return d


def _with_tier(t, **changes):
    d = hand_dict()
    d["tiers"][t].update(changes)
    return d


BAD = [
    (hand_dict(links=hand_dict()["links"][:1]), "3 tiers need 2 [[links]]", "got 1"),
    (_with_link(0, bandwidth_mbps=0.0), "[[links]] #1 (tier 0 -> tier 1).bandwidth_mbps must be in (0, inf)", "0.0"),
    (_with_link(1, bandwidth_mbps=-5.0), "[[links]] #2 (tier 1 -> tier 2).bandwidth_mbps", "-5.0"),
    (_with_link(0, rtt_ms=math.nan), "rtt_ms must be a finite number", "nan"),
    (_with_link(0, technology="4g"), "gives both technology = '4g' and kwh_per_gb", "Fix: give one"),
    (_with_link(0, technology="6g", kwh_per_gb=None), "unknown network technology '6g'", "Valid"),
    (_with_link(0, speed=3), "unknown key 'speed' in [[links]] #1", "Valid keys"),
    (_with_layer(latency_ms=[1.0, 2.0]), "'conv2').latency_ms needs one value per tier (3: phone, edge, cloud)",
     "[1.0, 2.0]"),
    (_with_layer(energy_j=None), "energy_j needs one value per tier", "it is missing"),
    (_with_layer(latency_ms=[1.0, math.nan, 3.0]), "latency_ms[1] (tier 'edge') must be a finite number", "nan"),
    (_with_layer(energy_j=[0.1, -0.2, 0.3]), "energy_j[1] (tier 'edge') must be in [0, inf]", "-0.2"),
    (_with_layer(output_bytes="big"), "output_bytes must be a finite number", "'big'"),
    (_with_layer(weight_bytes=True), "weight_bytes must be a finite number", "True"),
    (hand_dict(model={"input_bytes": 100, "layers": []}), "[model] needs at least one [[layers]] table", "[]"),
    (hand_dict(model={"layers": hand_dict()["model"]["layers"]}), "[model] lacks the required key 'input_bytes'",
     "Fix"),
    (hand_dict(model={"zoo": "resnet8"}), "zoo = 'resnet8'", "counts the layers and sizes itself"),
    (_with_tier(1, device="jetson-orin-nano"), "a tier names a device", "no zoo model"),
    (_with_tier(1, name="phone"), "tier names must differ; 'phone'", "Fix"),
    (_with_tier(0, pue=0.5), "[[tiers]] #1 ('phone'): PUE must be in [1, inf]", "0.5"),
    (_with_tier(0, carbon_intensity_g_per_kwh=1e6), "above the plausible maximum", "1e+06"),
    (hand_dict(tiers=[{"name": "a"}, {"name": "b"}, {"name": "c"}]), "has neither carbon_intensity_g_per_kwh nor country",
     "FRA"),
    (_with_tier(2, carbon_intensity_g_per_kwh=None, country="Atlantis"), "unknown country 'Atlantis'", "cloud"),
    (_with_tier(0, memory_bytes=0), "memory_bytes must be in (0, inf)", "0"),
    (hand_dict(objective="speed"), "objective = 'speed' is not an objective", "latency_ms"),
    (hand_dict(constraints={"latency_ms_max": -1.0}), "[constraints].latency_ms_max must be in (0, inf)", "-1.0"),
    (hand_dict(constraints={"memory": 1}), "unknown key 'memory' in [constraints]", "latency_ms_max"),
    (hand_dict(tiers=[]), "the problem needs at least one [[tiers]] table", "[]"),
    (hand_dict(solver="dp"), "unknown key 'solver' in the problem", "Valid keys"),
]


@pytest.mark.parametrize("raw, needle, value", BAD, ids=[b[1][:40] for b in BAD])
def test_every_bad_value_is_named(raw, needle, value):
    raw = {k: v for k, v in raw.items() if v is not None}
    for tier in raw.get("tiers", []):
        if tier.get("carbon_intensity_g_per_kwh", 0) is None:
            del tier["carbon_intensity_g_per_kwh"]
    for table in raw.get("model", {}).get("layers", []) + raw.get("links", []):
        for key in [k for k, v in table.items() if v is None]:
            del table[key]
    with pytest.raises(ParameterError) as err:
        parse_problem(raw, source="p.toml")
    msg = str(err.value)
    assert msg.startswith("p.toml: ") and needle in msg and value in msg, msg


def test_bad_toml_gives_line_and_column():
    with pytest.raises(ImportFormatError, match=r"not valid TOML at line 2, column \d+"):
        parse_problem("objective = 'latency_ms'\n[model\n", source="p.toml")
