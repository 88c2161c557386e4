"""``workbench adapt``: a small file replayed end to end, and every kind of bad input as one ``error:`` line."""

from __future__ import annotations

import json

import pytest

from workbench import cli

CONFIG = """
latency_target_ms = 60
step_s = 1
accuracy_floor = 0.8
[[configurations]]
name = "local"
accuracy = 0.90
device_ms = 40
device_energy_j = 0.2
[[configurations]]
name = "offload"
accuracy = 0.95
device_ms = 1
device_energy_j = 0.01
remote_ms = 10
remote_energy_j = 0.5
uplink_bytes = 100000
downlink_bytes = 1000
tx_power_w = 2
kwh_per_gb = 0.001
[traces.bandwidth]
{bandwidth}
[traces.rtt]
value = 20
[traces.carbon]
value = 300
[traces.requests]
counts = [1, 1, 1, 1, 2, 2, 2, 2]
{extra}
"""
GOOD_BW = "values = [80, 80, 80, 80, 80, 8, 80, 8]"


@pytest.fixture
def adapt(monkeypatch, tmp_path, capsys):
    # the command is registered here as workbench/cli/__init__.py will register it (COMMAND_MODULES)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["workbench.cli.adaptive"])

    def call(*args, bandwidth=GOOD_BW, extra="", files=None):
        for name, text in (files or {}).items():
            (tmp_path / name).write_text(text)
        path = tmp_path / "adapt.toml"
        path.write_text(CONFIG.format(bandwidth=bandwidth, extra=extra))
        code = cli.main(["adapt", str(path), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


def test_json_summary(adapt):
    code, out, err = adapt("--format", "json", "--policy", "static", "--policy", "reactive")
    assert code == 0, err
    res = json.loads(out)
    rows = {r["policy"]: r for r in res["summary"]}
    assert list(rows) == ["static", "reactive", "oracle"]
    # evaluation: intervals 4..7, bandwidth 80, 8, 80, 8 with 2 requests each. The oracle offloads at 80
    # (41.1 ms, 0.03 J on the device) and runs locally at 8 (offload would take 132 ms): no miss.
    assert rows["oracle"]["slo_miss_rate"] == 0.0
    assert rows["oracle"]["device_energy_j_per_request"] == pytest.approx((2 * 0.03 + 2 * 0.2) * 2 / 8, rel=1e-12)
    # reactive follows the last observation, one interval late: offload at t=4 (saw 80, got 80), t=5 (saw 80,
    # got 8: miss), local at t=6 (saw 8), offload at t=7 (saw 80, got 8: miss) → 4 of 8 requests late
    assert rows["reactive"]["slo_miss_rate"] == pytest.approx(0.5, abs=0)
    assert res["configurations"] == 2 and res["intervals_evaluated"] == 4


def test_clairvoyant_yardstick_equals_the_oracle_without_a_budget(adapt):
    # knowing each interval's bandwidth, the greedy choice is the oracle's (no budget couples the intervals)
    code, out, err = adapt("--format", "json", "--policy", "clairvoyant")
    assert code == 0, err
    rows = {r["policy"]: r for r in json.loads(out)["summary"]}
    assert list(rows) == ["clairvoyant", "oracle"]
    assert rows["clairvoyant"]["slo_miss_rate"] == 0.0
    assert rows["clairvoyant"]["device_energy_j_per_request"] == pytest.approx(
        rows["oracle"]["device_energy_j_per_request"], rel=1e-12)
    assert rows["clairvoyant"]["device_energy_j_per_request"] == pytest.approx(0.115, rel=1e-12)


def test_table(adapt):
    code, out, _ = adapt()
    assert code == 0
    assert out.splitlines()[0].startswith("2 configurations, 2 after Pareto pruning; 4 intervals evaluated")
    assert any(line.startswith("oracle") for line in out.splitlines())


@pytest.mark.parametrize("bandwidth, extra, files, match", [
    ('csv = "bw.csv"', "", {"bw.csv": "time_s,bandwidth_mbps\n0,80\n1,80\n5,80\n6,8\n"}, "gap of 4 s"),
    ('csv = "bw.csv"', "", {"bw.csv": "time_s,bandwidth_mbps\n0,80\n2,80\n1,80\n3,8\n"}, "comes before"),
    ('csv = "bw.csv"', "", {"bw.csv": "time_s,bandwidth_mbps\n0,80\n1,-5\n2,80\n3,8\n"}, "negative"),
    ("values = [80, 80, 80, -1, 80, 8, 80, 8]", "", {}, "bandwidth_mbps\\[3\\] = -1"),
    (GOOD_BW, "[budget]\nbattery_wh = 0", {}, "battery capacity_wh must be"),
    (GOOD_BW, "[budget]\nhourly_cap_wh = -1", {}, "hourly cap_wh"),
    (GOOD_BW, "speed = 3", {}, "unknown key"),
])
def test_bad_input(adapt, bandwidth, extra, files, match):
    code, out, err = adapt(bandwidth=bandwidth, extra=extra, files=files)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert __import__("re").search(match, err), err


def test_unreachable_target_names_the_closest(adapt, tmp_path, capsys, monkeypatch):
    path = tmp_path / "adapt.toml"
    path.write_text(CONFIG.format(bandwidth=GOOD_BW, extra="").replace("latency_target_ms = 60",
                                                                       "latency_target_ms = 25"))
    assert cli.main(["adapt", str(path)]) == 2
    err = capsys.readouterr().err
    # local takes 40 ms; offload at unlimited bandwidth 1 + 10 + 20 (RTT) = 31 ms: the closest
    assert "infeasible: no configuration meets latency_target_ms = 25" in err
    assert "'offload' at 31 ms" in err


def test_empty_space(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["workbench.cli.adaptive"])
    text = CONFIG.format(bandwidth=GOOD_BW, extra="")
    text = text[:text.index("[[configurations]]")] + text[text.index("[traces.bandwidth]"):]
    (tmp_path / "a.toml").write_text(text)
    assert cli.main(["adapt", str(tmp_path / "a.toml")]) == 2
    assert "the configuration space is empty" in capsys.readouterr().err


def test_space_from_a_placement_problem(adapt, tmp_path, capsys):
    from tests.placement._chain_cases import HAND_TOML

    (tmp_path / "split.toml").write_text(HAND_TOML)
    extra = """
[space]
problem = "split.toml"
prune = false
[[space.variants]]
variant = "fp32"
accuracy = 0.97
[[space.variants]]
variant = "exit"
accuracy = 0.95
compute_scale = 0.5
threshold = 0.8
"""
    code, out, err = adapt("--format", "json", "--intervals", "--policy", "predictive", extra=extra)
    assert code == 0, err
    res = json.loads(out)
    # 2 hand-written rows + 2 variants × 10 monotone assignments of the 3-layer, 3-tier problem
    assert res["configurations"] == 22 and res["configurations_pareto"] == 22
    assert {r["policy"] for r in res["intervals"]} == {"predictive", "oracle"}
    assert len(res["intervals"]) == 2 * 4


def test_store_round_trip(adapt, tmp_path):
    from workbench.store import Store

    code, out, err = adapt("--format", "json", "--policy", "static", "--policy", "predictive", "--store",
                           str(tmp_path / "runs"), "--device-name", "pixel-5", "--device-class", "phone")
    assert code == 0, err
    res = json.loads(out)
    assert res["stored"]["rows"] == 3
    back = Store(tmp_path / "runs").read()
    assert back.height == 3 and set(back["strategy"]) == {"adaptive:static", "adaptive:predictive", "adaptive:oracle"}
    rows = {r["policy"]: r for r in res["summary"]}
    for r in back.iter_rows(named=True):
        policy = r["strategy"].split(":", 1)[1]
        cfg = json.loads(r["config_json"])
        # the stored figures are the summary's, unchanged by the round trip through Parquet
        assert r["energy_j"] == rows[policy]["device_energy_j_per_request"]
        assert r["accuracy"] == rows[policy]["accuracy"]
        assert cfg["summary"]["slo_miss_rate"] == rows[policy]["slo_miss_rate"]
        assert cfg["method"] == "replayed" and cfg["causal"] == (policy != "oracle")
        assert r["energy_method"] == "predicted" and r["energy_scope"] == "request"
        assert r["device_name"] == "pixel-5" and r["source"].startswith("predicted:")
        assert set(cfg["traces"]) == {"bandwidth", "rtt", "carbon", "requests"}


def test_store_refuses_a_bad_device_class(adapt, tmp_path):
    code, out, err = adapt("--store", str(tmp_path / "runs"), "--device-class", "toaster")
    assert code == 2 and err.startswith("error: ") and "toaster" in err
    assert not list((tmp_path / "runs").glob("*.parquet")) if (tmp_path / "runs").exists() else True
