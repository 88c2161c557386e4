"""``workbench place`` on a DAG problem (``kind = "dag"``) and a multi-node problem (``kind = "multinode"``):
the hand-computed answers of docs/placement.md, JSON fields, and one ``error:`` line with exit 2 for bad input."""

from __future__ import annotations

import json

import pytest

from workbench.cli import main
from workbench.placement import dag
from workbench.placement.problem_files import load_any_problem

DAG_TOML = """
kind = "dag"
[model]
input_bytes = 4000
[[model.layers]]
name = "a"
output_bytes = 3000
latency_ms = [1.0, 0.5]
[[model.layers]]
name = "b"
output_bytes = 100
latency_ms = [5.0, 0.5]
inputs = ["a"]
[[model.layers]]
name = "c"
output_bytes = 100
latency_ms = [5.0, 0.5]
inputs = ["a"]
[[model.layers]]
name = "d"
output_bytes = 1000
latency_ms = [2.0, 0.5]
inputs = ["b", "c"]
[[tiers]]
name = "phone"
[[tiers]]
name = "edge"
[[links]]
bandwidth_mbps = 8.0
rtt_ms = 6.4
"""
"""The diamond of docs/placement.md: at 8 Mbit/s 1000 B take 1 ms. a on the phone, b, c, d on the edge: 1 + 1.5 +
3 (a's output, sent once) + 1 (the result back) + 6.4 = 12.9 ms < 13 ms all on the phone."""

MULTI_TOML = """
kind = "multinode"
objective = "latency_ms"
[[nodes]]
name = "phone"
tier = 0
memory_bytes = 1e6
carbon_intensity_g_per_kwh = 300
[[nodes]]
name = "edge"
tier = 1
memory_bytes = 1e6
carbon_intensity_g_per_kwh = 100
[[links]]
a = "phone"
b = "edge"
bandwidth_mbps = 8.0
rtt_ms = 10.0
[[apps]]
name = "camera"
source = "phone"
request_rate_per_s = 1.0
slo_ms = 100.0
[[apps.options]]
name = "local"
local = { service_ms = 50.0, energy_j = 1.0, memory_bytes = 1e5 }
[[apps.options]]
name = "offload"
upload_bytes = 20000
download_bytes = 1000
remote.edge = { service_ms = 5.0, energy_j = 2.0, memory_bytes = 6e5 }
[[apps]]
name = "kws"
source = "phone"
request_rate_per_s = 3.0
slo_ms = 100.0
[[apps.options]]
name = "local"
local = { service_ms = 20.0, energy_j = 0.3, memory_bytes = 1e5 }
[[apps.options]]
name = "offload"
upload_bytes = 4000
download_bytes = 1000
remote.edge = { service_ms = 2.0, energy_j = 0.5, memory_bytes = 6e5 }
"""
"""Two apps on a phone and an edge server whose memory holds one remote part (6e5 B of 1e6 B). Per request:
camera local 50 ms, offloaded 5 + 10 + 21000 x 8 / 8000 = 36 ms; kws local 20 ms, offloaded 2 + 10 + 5 = 17 ms.
Rate-weighted means (rates 1 and 3): both local (50 + 60) / 4 = 27.5 ms; camera offloaded (36 + 60) / 4 = 24 ms;
kws offloaded (50 + 51) / 4 = 25.25 ms; both offloaded does not fit the edge's memory. Carbon per request [g]:
camera local 1 J x 300 / 3.6e6, offloaded 2 J x 100 / 3.6e6; kws 0.3 x 300 or 0.5 x 100, over 3.6e6; so camera
offloaded (200 + 270) / 4 / 3.6e6, kws offloaded (300 + 150) / 4 / 3.6e6 = 112.5 / 3.6e6, the carbon optimum."""


def _run(tmp_path, capsys, text, *extra, name="p.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    code = main(["place", str(path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_dag_problem_gives_the_hand_optimum(tmp_path, capsys):
    code, out, err = _run(tmp_path, capsys, DAG_TOML, "--format", "json", "--heuristics")
    assert code == 0 and err == ""
    r = json.loads(out)
    assert r["kind"] == "dag" and r["objective"] == "latency_ms" and r["solver"] == "min_cut" and r["optimal"]
    assert r["layers"] == ["a", "b", "c", "d"] and r["assignment"] == ["phone", "edge", "edge", "edge"]
    # rtol 1e-12: sums of a few exact binary fractions and 6.4
    assert r["latency_ms"] == pytest.approx(12.9, rel=1e-12) and r["value"] == r["latency_ms"]
    assert r["cut_value_ms"] == pytest.approx(6.5, rel=1e-12) and r["transfer_bytes"] == 3000 + 1000
    assert r["heuristics"][0]["solver"] == "topological_split" and r["heuristics"][0]["gap_to_optimum"] == 0.0
    # brute force agrees; with a 6.6 ms RTT all on the phone (13 ms) wins
    code, out, _ = _run(tmp_path, capsys, DAG_TOML.replace("rtt_ms = 6.4", "rtt_ms = 6.6"), "--format", "json",
                        "--solver", "brute-force")
    r = json.loads(out)
    assert code == 0 and r["assignment"] == ["phone"] * 4 and r["latency_ms"] == pytest.approx(13.0, rel=1e-12)


def test_a_dag_assignment_is_evaluated_and_the_table_prints(tmp_path, capsys):
    code, out, _ = _run(tmp_path, capsys, DAG_TOML, "--assignment", "phone,phone,phone,edge", "--format", "json")
    r = json.loads(out)
    # b and c on the phone, d on the edge: 1 + 10 + 0.5 + (100 + 100) B + 1000 B back = 1.2 ms + RTT 6.4
    assert code == 0 and r["solver"] == "given" and r["latency_ms"] == pytest.approx(11.5 + 1.2 + 6.4, rel=1e-12)
    code, out, _ = _run(tmp_path, capsys, DAG_TOML)
    assert code == 0 and "on phone        a" in out and "on edge         b, c, d" in out and "12.9" in out


def test_a_zoo_dag_traces_the_model_and_labels_its_costs(tmp_path, capsys):
    pytest.importorskip("torch")
    text = """kind = "dag"
[model]
zoo = "resnet8"
[[tiers]]
name = "phone"
device = "pixel-4"
[[tiers]]
name = "cloud"
device = "a100-sxm4-40gb"
[[links]]
bandwidth_mbps = 1000.0
rtt_ms = 1.0
"""
    code, out, err = _run(tmp_path, capsys, text, "--format", "json", "--heuristics")
    assert code == 0, err
    r = json.loads(out)
    assert r["cost_source"] == "zoo resnet8" and r["cost_sources"]["phone"].startswith("roofline lower bound on")
    assert any(n.endswith("add") or "add" in n for n in r["layers"])  # the residual joins are nodes
    # the cut's latency is the semantics' price of its assignment, and no worse than the best chain split
    p = load_any_problem(tmp_path / "p.toml")
    side = {"phone": dag.DEVICE, "cloud": dag.SERVER}
    again = dag.evaluate(p.graph, [dag.DEVICE] + [side[t] for t in r["assignment"]], bandwidth_mbps=1000.0, rtt_ms=1.0)
    assert again.latency_ms == pytest.approx(r["latency_ms"], rel=1e-12)  # the same sums
    assert r["latency_ms"] <= r["heuristics"][0]["latency_ms"] * (1 + 1e-12)


def test_a_multinode_problem_gives_the_hand_optimum(tmp_path, capsys):
    code, out, err = _run(tmp_path, capsys, MULTI_TOML, "--format", "json", "--heuristics")
    assert code == 0 and err == ""
    r = json.loads(out)
    for key in ("kind", "objective", "value", "assignment", "latency_ms", "device_energy_j", "energy_j", "carbon_g",
                "solver", "optimal", "status", "gap", "nodes", "links", "carbon_by_node"):
        assert key in r, key
    by_app = {a["app"]: (a["option"], a["remote_node"]) for a in r["assignment"]}
    assert r["kind"] == "multinode" and r["optimal"] and by_app == {"camera": ("offload", "edge"),
                                                                     "kws": ("local", None)}
    assert r["value"] == pytest.approx(24.0, rel=1e-9)  # rtol 1e-9: the MILP's answer, re-evaluated exactly
    assert r["carbon_g"] == pytest.approx((200 + 270) / 4 / 3.6e6, rel=1e-9)
    assert {h["heuristic"] for h in r["heuristics"]} == {"milp", "all_local", "all_on_most_powerful", "greedy_by_carbon"}
    all_local = next(h for h in r["heuristics"] if h["heuristic"] == "all_local")
    assert all_local["gap"] == pytest.approx(27.5 / 24 - 1, rel=1e-9)
    code, out, _ = _run(tmp_path, capsys, MULTI_TOML, "--format", "json", "--objective", "carbon_g")
    r = json.loads(out)
    assert {a["app"]: a["option"] for a in r["assignment"]} == {"camera": "local", "kws": "offload"}
    assert r["value"] == pytest.approx(112.5 / 3.6e6, rel=1e-9)
    code, out, _ = _run(tmp_path, capsys, MULTI_TOML)
    assert code == 0 and "camera          offload         edge" in out


def test_a_node_on_a_carbon_signal_changes_the_placement(tmp_path, capsys):
    (tmp_path / "ci.csv").write_text("time,g_per_kwh\n2024-01-01 00:00,100\n2024-01-01 01:00,50\n", encoding="utf-8")
    text = MULTI_TOML.replace('objective = "latency_ms"', 'objective = "carbon_g"').replace(
        'memory_bytes = 1e6\ncarbon_intensity_g_per_kwh = 100', 'memory_bytes = 1e6\ncarbon_signal = "ci.csv"')
    code, out, err = _run(tmp_path, capsys, text, "--format", "json", "--at", "2024-01-01T01:30:00")
    assert code == 0, err
    r = json.loads(out)
    # the edge at 50 g/kWh: camera offloaded (2 x 50 + 3 x 0.3 x 300) / 4 = 92.5, kws offloaded (300 + 75) / 4 = 93.75
    assert r["carbon_by_node"]["edge"]["carbon_intensity_g_per_kwh"] == 50.0
    assert {a["app"]: a["option"] for a in r["assignment"]} == {"camera": "offload", "kws": "local"}
    assert r["value"] == pytest.approx(92.5 / 3.6e6, rel=1e-9)
    code, out, _ = _run(tmp_path, capsys, text, "--format", "json", "--at", "2024-01-01T00:30:00")
    assert json.loads(out)["value"] == pytest.approx(112.5 / 3.6e6, rel=1e-9)  # at 100 g/kWh, as above


BAD = [
    ("unknown kind", DAG_TOML.replace('kind = "dag"', 'kind = "tree"'), [], "kind = 'tree' is not a kind"),
    ("dag with three tiers", DAG_TOML + '[[tiers]]\nname = "cloud"\n', [], "exactly two tiers, got 3"),
    ("dag with two links", DAG_TOML + "[[links]]\nbandwidth_mbps = 1.0\nrtt_ms = 1.0\n", [], "exactly one [[links]]"),
    ("dag energy objective", DAG_TOML, ["--objective", "carbon_g"], "minimises latency_ms only"),
    ("dag solver", DAG_TOML, ["--solver", "dp"], "--solver dp does not solve a DAG problem"),
    ("dag unknown input", DAG_TOML.replace('inputs = ["b", "c"]', 'inputs = ["b", "x"]'), [], "unknown node 'x'"),
    ("dag later input", DAG_TOML.replace('inputs = ["a"]\n[[model.layers]]\nname = "c"',
                                         'inputs = ["c"]\n[[model.layers]]\nname = "c"'), [], "listed after it"),
    ("dag NaN", DAG_TOML.replace("latency_ms = [2.0, 0.5]", "latency_ms = [2.0, nan]"), [],
     "latency_ms[1] must be a finite number, got nan"),
    ("dag zero bandwidth", DAG_TOML.replace("bandwidth_mbps = 8.0", "bandwidth_mbps = 0.0"), [],
     "bandwidth_mbps must be in (0, inf), got 0.0"),
    ("dag flow back", DAG_TOML, ["--assignment", "phone,edge,phone,phone"], "--assignment"),
    ("dag unknown tier", DAG_TOML, ["--assignment", "phone,fog,edge,edge"], "'fog' is not a tier"),
    ("dag at", DAG_TOML, ["--at", "2024-01-01"], "a DAG problem has no carbon"),
    ("multinode SLO", MULTI_TOML.replace("slo_ms = 100.0\n[[apps.options]]\nname = \"local\"\nlocal = { service_ms = 50",
                                         "slo_ms = 30.0\n[[apps.options]]\nname = \"local\"\nlocal = { service_ms = 50"),
     [], "infeasible: SLO of app camera (best option gives 36 ms > 30 ms)"),
    ("multinode memory", MULTI_TOML.replace("memory_bytes = 1e6\ncarbon_intensity_g_per_kwh = 300",
                                            "memory_bytes = 1.5e5\ncarbon_intensity_g_per_kwh = 300").replace(
        "memory_bytes = 1e6\ncarbon_intensity_g_per_kwh = 100", "memory_bytes = 5e5\ncarbon_intensity_g_per_kwh = 100"),
     [], "infeasible: memory of node phone (needs at least 200000 B, has 150000 B), or memory of node edge (needs at "
         "least 600000 B, has 500000 B): relaxing any one of these alone makes the problem feasible"),
    ("multinode unknown node", MULTI_TOML.replace('remote.edge = { service_ms = 2.0', 'remote.fog = { service_ms = 2.0'),
     [], "unknown node 'fog'"),
    ("multinode unlinked", MULTI_TOML.replace('b = "edge"', 'b = "phone"'), [], "joins a node to itself"),
    ("multinode unknown key", MULTI_TOML.replace("slo_ms = 100.0", "slo = 100.0", 1), [],
     "unknown key 'slo' in [[apps]] #1. Did you mean 'slo_ms'?"),
    ("multinode zero rate", MULTI_TOML.replace("request_rate_per_s = 3.0", "request_rate_per_s = 0.0"), [],
     "request_rate_per_s must be in (0, inf), got 0.0"),
    ("multinode objective", MULTI_TOML, ["--objective", "speed"], "unknown objective 'speed'"),
    ("multinode solver", MULTI_TOML, ["--solver", "dp"], "--solver dp does not apply to a multi-node problem"),
    ("multinode assignment", MULTI_TOML, ["--assignment", "phone"], "--assignment does not apply"),
    ("multinode device", MULTI_TOML.replace('tier = 1\nmemory_bytes = 1e6', 'tier = 1\ndevice = "no-such-box"'), [],
     "unknown device 'no-such-box'"),
    ("multinode no intensity", MULTI_TOML.replace("carbon_intensity_g_per_kwh = 100\n", ""), [],
     "has neither carbon_intensity_g_per_kwh nor country"),
]


@pytest.mark.parametrize("text, extra, needle", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_one_error_line_with_exit_2(tmp_path, capsys, text, extra, needle):
    code, out, err = _run(tmp_path, capsys, text, *extra)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
