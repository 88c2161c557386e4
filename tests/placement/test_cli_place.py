"""``workbench place``: JSON and table output, and one ``error:`` line with exit 2 for every bad input."""

from __future__ import annotations

import json

import pytest

from tests.placement._chain_cases import HAND_TOML
from workbench.cli import main

LAST_LINK = HAND_TOML[HAND_TOML.rindex("[[links]]"):]
MEMORY_FC_FITS_NOWHERE = HAND_TOML.replace('name = "edge"\n', 'name = "edge"\nmemory_bytes = 3000\n').replace(
    'name = "phone"\n', 'name = "phone"\nmemory_bytes = 3000\n').replace(
    'name = "cloud"\n', 'name = "cloud"\nmemory_bytes = 3000\n')
MEMORY_NO_SPLIT = HAND_TOML.replace('name = "phone"\n', 'name = "phone"\nmemory_bytes = 1000\n').replace(
    'name = "edge"\n', 'name = "edge"\nmemory_bytes = 1500\n').replace(
    'name = "cloud"\n', 'name = "cloud"\nmemory_bytes = 4000\n')


def _run(tmp_path, capsys, text, *extra):
    path = tmp_path / "problem.toml"
    path.write_text(text, encoding="utf-8")
    code = main(["place", str(path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_the_keys_of_the_issue_and_the_hand_optimum(tmp_path, capsys):
    code, out, err = _run(tmp_path, capsys, HAND_TOML, "--format", "json", "--heuristics")
    assert code == 0 and err == ""
    r = json.loads(out)
    for key in ("objective", "value", "assignment", "latency_ms", "device_energy_j", "energy_j", "carbon_g",
                "transfer_bytes", "solver", "optimal"):
        assert key in r, key
    # all on the edge: 4 + 6 + 2 = 12 ms of layers, link 1 carrying the input: 10 + (10000 + 100) / 1000 = 20.1 ms
    assert r["assignment"] == ["edge"] * 3 and r["value"] == pytest.approx(32.1, rel=1e-9)
    assert [h["solver"] for h in r["heuristics"]] == ["all_at_source", "all_in_cloud", "best_single_split",
                                                      "greedy_by_carbon"]
    assert r["heuristics"][0]["gap_to_optimum"] == pytest.approx((35.0 - 32.1) / 32.1, rel=1e-9)


@pytest.mark.parametrize("solver", ["auto", "dp", "milp", "brute-force"])
def test_every_solver_gives_the_same_optimum(tmp_path, capsys, solver):
    code, out, _ = _run(tmp_path, capsys, HAND_TOML, "--format", "json", "--solver", solver, "--objective",
                        "carbon_g")
    r = json.loads(out)
    assert code == 0 and r["objective"] == "carbon_g" and r["optimal"] is True
    # all on the phone: 1.7 J at 300 g/kWh, no transfer (cheaper than any offload, whose network energy dominates)
    assert r["value"] == pytest.approx(1.7 * 300 / 3.6e6, rel=1e-9) and r["assignment"] == ["phone"] * 3


def test_table_and_a_given_assignment(tmp_path, capsys):
    code, out, _ = _run(tmp_path, capsys, HAND_TOML, "--assignment", "phone, edge, cloud")
    assert code == 0
    assert "conv1 on phone, conv2 on edge, fc on cloud" in out and "67.31" in out and "given" in out


def test_a_constrained_problem_uses_the_milp(tmp_path, capsys):
    text = MEMORY_NO_SPLIT.replace("memory_bytes = 1000", "memory_bytes = 4000").replace(
        "memory_bytes = 1500", "memory_bytes = 5000")
    code, out, _ = _run(tmp_path, capsys, text, "--format", "json")
    r = json.loads(out)
    assert code == 0 and r["solver"] == "milp" and "gap" in r and r["value"] == pytest.approx(44.1, rel=1e-9)


BAD = [
    ("non-monotone assignment", HAND_TOML, ["--assignment", "edge,phone,cloud"],
     "not monotone: layer 1 ('conv2') on 'phone' follows layer 0 on 'edge'"),
    ("unknown tier in assignment", HAND_TOML, ["--assignment", "phone,fog,cloud"], "'fog' is not a tier"),
    ("assignment too short", HAND_TOML, ["--assignment", "phone,edge"], "3 layer(s), got 2"),
    ("link count", HAND_TOML.replace(LAST_LINK, ""), [], "3 tiers need 2 [[links]]"),
    ("zero bandwidth", HAND_TOML.replace("bandwidth_mbps = 8.0", "bandwidth_mbps = 0.0"), [],
     "bandwidth_mbps must be in (0, inf), got 0.0"),
    ("negative bandwidth", HAND_TOML.replace("bandwidth_mbps = 80.0", "bandwidth_mbps = -80.0"), [],
     "bandwidth_mbps must be in (0, inf), got -80.0"),
    ("costs missing for a tier", HAND_TOML.replace("latency_ms = [20.0, 6.0, 2.0]", "latency_ms = [20.0, 6.0]"), [],
     "latency_ms needs one value per tier (3: phone, edge, cloud), got [20.0, 6.0]"),
    ("costs missing", HAND_TOML.replace("energy_j = [0.2, 0.3, 0.4]\n", ""), [], "energy_j needs one value per tier"),
    ("empty layer list", "[model]\ninput_bytes = 10\nlayers = []\n" + HAND_TOML[HAND_TOML.index("[[tiers]]"):], [],
     "[model] needs at least one [[layers]] table"),
    ("NaN cost", HAND_TOML.replace("latency_ms = [5.0, 2.0, 1.0]", "latency_ms = [5.0, nan, 1.0]"), [],
     "latency_ms[1] (tier 'edge') must be a finite number, got nan"),
    ("NaN rtt", HAND_TOML.replace("rtt_ms = 20.0", "rtt_ms = nan"), [], "rtt_ms must be a finite number, got nan"),
    ("infinite input", HAND_TOML.replace("input_bytes = 10000", "input_bytes = inf"), [],
     "input_bytes must be a finite number, got inf"),
    ("negative energy", HAND_TOML.replace("energy_j = [0.5, 0.8, 1.0]", "energy_j = [-0.5, 0.8, 1.0]"), [],
     "energy_j[0] (tier 'phone') must be in [0, inf], got -0.5"),
    ("layer larger than every tier", MEMORY_FC_FITS_NOWHERE, [],
     "infeasible: memory: layer 'fc' has weight_bytes = 4000, more than the memory_bytes of every tier"),
    ("memory fits no split", MEMORY_NO_SPLIT, [], "infeasible: memory: no monotone assignment"),
    ("SLO no assignment meets", HAND_TOML + "[constraints]\nlatency_ms_max = 30.0\n", [],
     "infeasible: latency SLO: latency_ms_max = 30 ms cannot be met; the fastest assignment takes 32.1 ms"),
    ("SLO with the MILP", HAND_TOML + "[constraints]\nlatency_ms_max = 30.0\n", ["--solver", "milp"],
     "latency_ms_max = 30 ms cannot be met"),
    ("unknown objective", HAND_TOML, ["--objective", "co2"], "objective = 'co2' is not an objective"),
    ("unknown objective in the file", HAND_TOML.replace('objective = "latency_ms"', 'objective = "speed"'), [],
     "objective = 'speed' is not an objective"),
    ("unknown country", HAND_TOML.replace("carbon_intensity_g_per_kwh = 50", 'country = "Narnia"'), [],
     "unknown country 'Narnia'"),
    ("unknown technology", HAND_TOML.replace("kwh_per_gb = 0.05", 'technology = "6g"'), [],
     "unknown network technology '6g'"),
    ("PUE below 1", HAND_TOML.replace("pue = 1.5", "pue = 0.9"), [], "PUE must be in [1, inf], got 0.9"),
    ("unknown key", HAND_TOML.replace("rtt_ms = 10.0", "rtt = 10.0"), [], "unknown key 'rtt' in [[links]] #1"),
    ("bad TOML", HAND_TOML.replace('name = "conv1"', "name = conv1"), [], "not valid TOML at line"),
    ("zoo model", "[model]\nzoo = 'resnet8'\n" + HAND_TOML[HAND_TOML.index("[[tiers]]"):], [],
     "zoo = 'resnet8'"),
]


@pytest.mark.parametrize("text, extra, needle", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_one_error_line_with_exit_2(tmp_path, capsys, text, extra, needle):
    code, out, err = _run(tmp_path, capsys, text, *extra)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err


def test_a_missing_file_is_one_error_line(tmp_path, capsys):
    assert main(["place", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.toml: no such file" in err[0]
