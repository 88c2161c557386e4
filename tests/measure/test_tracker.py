"""The tracker for any code: one schema row per block, written on exit, failures recorded and re-raised."""

from __future__ import annotations

import json
import time

import pytest
import torch

from workbench.catalog.grid import carbon_intensity_g_per_kwh
from workbench.errors import ParameterError, UnknownNameError
from workbench.measure.energy import ReplayMeter
from workbench.measure.tracker import track
from workbench.units import j_to_kwh


def constant_meter(power_w: float) -> ReplayMeter:
    """A replay meter drawing ``power_w`` whatever the window (a flat trace held beyond its end)."""
    return ReplayMeter([0.0, 1.0], [power_w, power_w])


def test_wall_time_covers_the_block_and_cpu_time_does_not_count_sleep():
    with track(name="sleep", meter="none") as t:
        time.sleep(0.05)
    row, cfg = t.row, json.loads(t.row["config_json"])
    assert row["latency_ms_p50"] >= 50.0  # the 50 ms sleep, plus the tracker's own few µs
    assert row["latency_ms_p50"] < 50.0 + 500.0  # a loaded 2-core machine may add; not seconds
    assert cfg["wall_time_s"] == pytest.approx(row["latency_ms_p50"] / 1e3, rel=1e-12)
    assert cfg["cpu_time_s"] < cfg["wall_time_s"]  # sleeping uses no CPU
    assert row["energy_method"] == "none" and row["energy_j"] is None
    assert row["source"] == "tracker" and row["model"] == "sleep" and cfg["status"] == "ok"


def test_energy_and_carbon_follow_the_meter_and_the_grid():
    with track(name="busy", meter=constant_meter(10.0), country="FRA") as t:
        sum(range(200_000))
    row, cfg = t.row, json.loads(t.row["config_json"])
    window_s = cfg["energy"]["window_s"]
    assert row["energy_j"] == pytest.approx(10.0 * window_s, rel=1e-9)  # 10 W flat over the meter's window
    assert row["power_w"] == pytest.approx(10.0, rel=1e-9)
    assert row["energy_scope"] == "run" and row["energy_method"] == "replay"
    # carbon by hand: kWh × the catalog's intensity for France
    assert cfg["carbon_g"] == pytest.approx(j_to_kwh(row["energy_j"]) * carbon_intensity_g_per_kwh("FRA"), rel=1e-9)
    assert cfg["grid_country"] == "FRA"


def test_peak_memory_sees_an_allocation_inside_the_block():
    with track(name="alloc", meter="none") as t:
        block = bytearray(b"\x01") * (64 * 2**20)  # 64 MiB, every page written
        time.sleep(0.05)  # several sampling intervals while it is alive
        del block
    cfg = json.loads(t.row["config_json"])
    with track(name="idle", meter="none") as idle:
        time.sleep(0.02)
    base = json.loads(idle.row["config_json"])["memory_peak_rss_bytes"]
    assert cfg["memory_peak_rss_bytes"] >= 48 * 2**20  # the process holds at least the block at its peak
    assert cfg["memory_peak_rss_bytes"] > 0 and base > 0


def test_a_failing_block_is_recorded_and_reraised(tmp_store):
    with pytest.raises(ZeroDivisionError):
        with track(name="crash", meter="none", store=tmp_store):
            time.sleep(0.01)
            1 / 0  # noqa: B018
    rows = tmp_store.read()
    assert rows.height == 1
    assert rows["notes"][0].startswith("failed: ZeroDivisionError")
    assert json.loads(rows["config_json"][0])["status"] == "failed"
    assert rows["latency_ms_p50"][0] >= 10.0


def test_nested_blocks_and_decorated_calls_each_write_a_row(tmp_store):
    @track(name="step", meter="none", store=tmp_store)
    def step(n):
        time.sleep(0.005)
        return n * 2

    with track(name="outer", meter="none", store=tmp_store) as outer:
        assert step(1) == 2 and step(2) == 4
    rows = tmp_store.read()
    assert sorted(rows["model"].to_list()) == ["outer", "step", "step"]
    inner_ms = rows.filter(rows["model"] == "step")["latency_ms_p50"]
    assert outer.row["latency_ms_p50"] >= inner_ms.sum()  # the outer block contains both calls
    assert (inner_ms >= 5.0).all()


def test_bad_arguments_fail_before_the_block_runs(tmp_path):
    with pytest.raises(UnknownNameError, match="country"):
        track(name="x", country="Atlantis")
    with pytest.raises(UnknownNameError, match="device class"):
        track(name="x", device_class="toaster")
    ran = []
    with pytest.raises(UnknownNameError, match="energy meter"):
        with track(name="x", meter="no-such-meter"):
            ran.append(1)
    assert ran == []


def test_flops_of_a_given_module_are_counted_per_sample():
    model = torch.nn.Linear(16, 4)
    x = torch.zeros(8, 16)
    with track(name="infer", meter="none", module=model, example_input=x) as t:
        model(x)
    # by hand: 16 × 4 multiply-accumulates per sample = 128 FLOP (the batch of 8 divided out)
    assert t.row["flops"] == pytest.approx(128.0, rel=1e-12)
    assert t.row["params"] == 16 * 4 + 4 and t.row["input_shape"] == "16"
    with pytest.raises(ParameterError, match="both a module and an example input"):
        track(name="x", module=model)


def test_workbench_track_is_the_tracker_and_loads_on_use():
    import subprocess
    import sys

    code = ("import sys, workbench; assert 'polars' not in sys.modules; "
            "from workbench.measure.tracker import track; assert workbench.track is track; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
