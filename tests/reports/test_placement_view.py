"""Notebook 06's view: its tables equal the chain semantics, its Pareto front is the front, its notes quote its tables."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from workbench.errors import UnknownNameError
from workbench.placement import chain
from workbench.placement.chain_semantics import evaluate
from workbench.placement.problem import parse_problem
from workbench.reports import placement_view as v
from workbench.reports.sections import num, percent, spelled

HAND = {
    "model": {"input_bytes": 10000, "layers": [
        {"name": "conv1", "output_bytes": 20000, "latency_ms": [10.0, 4.0, 1.0], "energy_j": [0.5, 0.8, 1.0]},
        {"name": "conv2", "output_bytes": 2000, "latency_ms": [20.0, 6.0, 2.0], "energy_j": [1.0, 1.2, 1.5]},
        {"name": "fc", "output_bytes": 100, "latency_ms": [5.0, 2.0, 1.0], "energy_j": [0.2, 0.3, 0.4]}]},
    "tiers": [{"name": "phone", "carbon_intensity_g_per_kwh": 300},
              {"name": "edge", "carbon_intensity_g_per_kwh": 100, "pue": 1.5},
              {"name": "cloud", "carbon_intensity_g_per_kwh": 50, "pue": 1.2}],
    "links": [{"bandwidth_mbps": 8.0, "rtt_ms": 10.0, "tx_power_w": 2.0, "kwh_per_gb": 0.1},
              {"bandwidth_mbps": 80.0, "rtt_ms": 20.0, "kwh_per_gb": 0.05}],
}
TECHS = {"3g": (1.1, 100.0), "wifi": (18.88, 20.0)}
METRICS = ("latency_ms", "device_energy_j", "energy_j", "carbon_g", "transfer_bytes")


@pytest.fixture(scope="module")
def base():
    return parse_problem(HAND)


@pytest.fixture(scope="module")
def problems(base):
    return {("hand", t): v.with_access_link(base, t, bw, rtt) for t, (bw, rtt) in TECHS.items()}


@pytest.fixture(scope="module")
def splits(problems):
    return v.split_table(problems)


def _assignment(row) -> list[int]:
    return [0] * row["phone_layers"] + [1] * row["edge_layers"] + [2] * row["cloud_layers"]


def test_access_link_takes_the_radio_and_the_catalog(base):
    p = v.with_access_link(base, "wifi", 18.88, 20.0)
    assert p.links[0].bandwidth_mbps == 18.88 and p.links[0].rtt_ms == 20.0
    assert p.links[0].tx_power_w == v.RADIO_POWER_W["wifi"] and p.links[0].kwh_per_gb > 0
    assert v.with_access_link(base, "3g", 1.1, 100.0).links[0].kwh_per_gb == 0.0  # no catalog figure for 3G
    assert p.links[1] == base.links[1]


def test_split_table_equals_the_semantics(problems, splits):
    n = math.comb(3 + 3 - 1, 3 - 1)
    assert splits.height == n * len(TECHS)
    for row in splits.iter_rows(named=True):
        m = evaluate(problems[(row["model"], row["technology"])], _assignment(row))
        for k in METRICS:
            assert row[k] == pytest.approx(m[k], rel=1e-12, abs=0), (row, k)
        assert row["costs"] == "phone: problem, edge: problem, cloud: problem"


def test_pareto_front_is_non_dominated_and_holds_each_optimum(problems, splits):
    for (model, tech), p in problems.items():
        g = splits.filter(model=model, technology=tech)
        pts = list(zip(g["latency_ms"], g["carbon_g"], g["pareto"], strict=True))
        for x, y, on in pts:
            dominated = any(a <= x and b <= y and (a < x or b < y) for a, b, _ in pts)
            assert on == (not dominated)
        for o in ("latency_ms", "carbon_g"):
            best = chain.brute_force(p, o)
            on_front = g.filter(pl.col(o) == best[o])
            assert on_front.height and on_front["pareto"].any(), (tech, o)


def test_non_dominated_keeps_ties():
    x, y = np.array([1.0, 1.0, 2.0, 0.5]), np.array([2.0, 2.0, 1.0, 3.0])
    assert v.non_dominated(x, y).tolist() == [True, True, True, True]
    assert v.non_dominated(np.array([1.0, 2.0]), np.array([1.0, 1.0])).tolist() == [True, False]


def test_single_splits_cut_once(splits):
    cuts = v.single_splits(splits, "phone", "edge")
    assert cuts["cloud_layers"].max() == 0 and cuts.height == 4 * len(TECHS)
    assert sorted(set(cuts["phone_layers"])) == [0, 1, 2, 3]


def test_split_and_pareto_notes_quote_the_table(splits):
    note = v.split_note(splits)
    assert spelled(splits.height) in note
    for o in ("latency_ms", "device_energy_j", "carbon_g"):
        for tech in TECHS:
            g = splits.filter(technology=tech)
            assert num(g[o].min(), ".3g") in note
    # on Wi-Fi (18.88 Mbit/s, 20 ms) all on the edge takes 12 + 20 + 10100 × 8 / 18880 = 36.3 ms > 35 ms on the phone
    best = v.best_rows(splits, "latency_ms").filter(technology="wifi").row(0, named=True)
    assert best["assignment"] == "conv1–fc on phone" and best["latency_ms"] == 35.0
    assert "hand on wifi 35 ms (conv1–fc on phone)" in note
    pn = v.pareto_note(splits)
    for tech in TECHS:
        g = splits.filter(technology=tech)
        front = g.filter("pareto")
        assert f"hand on {tech}: {spelled(front.height)} of {spelled(g.height)} assignments" in pn
        assert num(front["carbon_g"].max(), ".3g") in pn


def test_bandwidth_sweep_solves_each_bandwidth(base):
    sweep = v.bandwidth_sweeps({"hand": base}, "wifi", 20.0, [0.01, 1.0, 1e5])
    assert sweep.height == 3 * 3
    for row in sweep.iter_rows(named=True):
        p = v.with_access_link(base, "wifi", row["bandwidth_mbps"], 20.0)
        assert row["value"] == pytest.approx(chain.brute_force(p, row["objective"])["value"], rel=1e-12)
        assert row["value"] == pytest.approx(evaluate(p, _assignment(row))[row["objective"]], rel=1e-12)
    slow = sweep.filter(bandwidth_mbps=0.01, objective="latency_ms").row(0, named=True)
    assert slow["phone_layers"] == 3  # 10 kB over 10 kbit/s takes 8 s: nothing leaves the phone
    note = v.sweep_note(sweep)
    lat = sweep.filter(objective="latency_ms")
    first = lat.filter(pl.col("phone_layers") < 3)["bandwidth_mbps"].min()
    assert f"hand, latency_ms: offloads from {num(first, '.3g')} Mbit/s on" in note


def test_heuristics_frame_against_the_optimum(problems):
    table = v.heuristics_frame(problems)
    assert table.height == len(TECHS) * 3 * 5
    for (_, tech), p in problems.items():
        for o in ("latency_ms", "device_energy_j", "carbon_g"):
            g = table.filter(technology=tech, objective=o)
            opt = g.filter("optimal")
            assert opt["value"][0] == pytest.approx(chain.brute_force(p, o)["value"], rel=1e-12)
            assert (g.filter(pl.col("feasible"))["gap_to_optimum"] >= -1e-12).all()
    note = v.heuristics_note(table)
    for h, g in table.filter(~pl.col("optimal")).group_by("solver"):
        hits = g.filter(pl.col("gap_to_optimum") <= 1e-12).height
        assert f"{h[0]} optimal in {spelled(hits)} of {spelled(g.height)} cases" in note
        assert percent(g["gap_to_optimum"].max()) in note


def test_links_without_traces_say_so():
    s = v.link_section(None)
    assert set(s.profiles) == set(s.all_profiles) == {"3g", "4g", "wifi"}
    assert "documented defaults only" in s.note and "Left out" in s.note and "5g" in s.note
    assert s.table.height == 3 and s.files == ()


def test_shifting_skipped_and_on_a_small_series(tmp_path):
    skipped = v.shifting_section(None)
    assert not skipped.available and "datasets_dir" in skipped.note and "watttime_example.csv" in skipped.note
    folder = tmp_path / "vessim-carbon-signal"
    folder.mkdir()
    values = [200 + 150 * math.cos(2 * math.pi * h / 24) for h in range(72)]
    lines = ["time,g_per_kwh"] + [f"2023-06-{8 + h // 24:02d}T{h % 24:02d}:00:00,{g:.3f}" for h, g in enumerate(values)]
    (folder / "watttime_example.csv").write_text("\n".join(lines) + "\n")
    s = v.shifting_section(tmp_path, forecast_error=0.05, repeats=2)
    assert s.available and s.table.height == 4
    for r in s.table.iter_rows(named=True):
        assert percent(r["saving"]) in s.note
    oracle = s.table.filter(forecast_error=0.0)
    assert (oracle["saving"] >= 0).all()
    assert "72 slots" in s.note or f"{spelled(72)} slots" in s.note


def test_zoo_problem_labels_every_tier():
    p = v.zoo_problem("lenet", ["phone", "cloud"], ["pixel-4", "a100-sxm4-40gb"], [300.0, 100.0],
                      measured_tier="cloud", measured_device="no-such-cpu", store=None)
    assert [s.split(" ")[0] for s in p.cost_sources] == ["roofline", "roofline"]
    assert v.short_sources(p) == "phone: roofline, cloud: roofline" and not v.is_measured({"lenet": p})
    note = v.cost_note({"lenet": p})
    assert all(label in note for label in p.cost_sources)
    table = v.cost_sources_table({"lenet": p})
    assert table["device"].to_list() == ["Pixel4", "A100"]  # display names
    assert {"model", "tier", "cost_source"} <= set(table.columns)


def test_a_link_technology_without_a_profile_is_named_with_the_fix():
    links = v.link_section(None)
    assert links.profile("4g").bandwidth_mbps > 0
    with pytest.raises(UnknownNameError, match="unknown link technology '5g'.*5Gophers traces"):
        links.profile("5g")
