"""The continuum comparison of notebook 02 (workbench.reports.twins_view): MLPerf Tiny boards beside own runs.

Unit tests on small frames built here (values chosen so that medians, ratios and shares are known
exactly), and a check against ../shared/data through the ``shared_data`` fixture.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.reports._schema_rows import own_row, rows, tiny_results
from workbench.datasets.public import PublicData, load_public_data
from workbench.reports import twins_view as tv


@pytest.fixture
def tiny():
    return tiny_results()


def test_twin_boards_median_over_submissions_closed_division_only(tiny):
    b = tv.tiny_twin_boards(tiny)
    assert b.select("zoo_model", "device_name").rows() == [("dscnn-kws", "fpga-d"), ("resnet8", "board-a"),
                                                           ("resnet8", "board-b")]
    a = b.filter(pl.col("device_name") == "board-a").row(0, named=True)
    # board-a: median of 10 and 30 ms; its only energy run gives 1 mJ (exact arithmetic, tight tolerance)
    assert a["submissions"] == 2 and a["energy_submissions"] == 1 and a["rounds"] == "v0.7, v1.0"
    assert a["latency_ms"] == pytest.approx(20.0, rel=1e-12)
    assert (a["latency_ms_min"], a["latency_ms_max"]) == (10.0, 30.0)
    assert a["energy_j"] == pytest.approx(1e-3, rel=1e-12)
    assert set(b["energy_method"]) == {"dataset"} and set(b["basis"]) == {tv.BASIS_SUBMITTER}
    # a subset of models keeps only those twins; no dataset gives an empty table with the columns
    assert tv.tiny_twin_boards(tiny, ["resnet8", "mlp"])["zoo_model"].unique().to_list() == ["resnet8"]
    empty = tv.tiny_twin_boards(None, ["resnet8"])
    assert empty.height == 0 and "latency_ms" in empty.columns


def test_twin_summary_medians_ranges_ratios_and_basis(tiny):
    boards = tv.tiny_twin_boards(tiny)
    own = rows([own_row("resnet8", 2.0, 0.5), own_row("resnet8", 8.0, 0.25, dtype="int8"),
                own_row("mlp", 0.1, 0.01)])
    s = tv.twin_summary(boards, own)
    mcu = s.filter((pl.col("zoo_model") == "resnet8") & (pl.col("platform") == "MLPerf Tiny · mcu")).row(0, named=True)
    # boards a (20 ms, 1 mJ) and b (40 ms, 3 mJ): median 30 ms and 2 mJ; ratios to own fp32 (2 ms, 0.5 J)
    assert mcu["devices"] == 2 and mcu["energy_devices"] == 2
    assert mcu["latency_ms_median"] == pytest.approx(30.0, rel=1e-12)
    assert (mcu["latency_ms_min"], mcu["latency_ms_max"]) == (20.0, 40.0)
    assert mcu["latency_x_own"] == pytest.approx(15.0, rel=1e-12)
    assert mcu["energy_j_median"] == pytest.approx(2e-3, rel=1e-12)
    assert mcu["energy_x_own"] == pytest.approx(4e-3, rel=1e-12)
    assert mcu["energy_basis"] == tv.BASIS_SUBMITTER
    int8 = s.filter(pl.col("platform") == "own runs · server-cpu · int8").row(0, named=True)
    assert int8["latency_x_own"] == pytest.approx(4.0, rel=1e-12)
    assert int8["latency_basis"] == tv.BASIS_HERE and int8["energy_basis"] == tv.BASIS_ESTIMATE
    # a model without twin keeps its own row; the edge-accelerator board has latency but no energy
    assert s.filter(pl.col("zoo_model") == "mlp")["platform"].to_list() == ["own runs · server-cpu · fp32"]
    fpga = s.filter(pl.col("platform") == "MLPerf Tiny · edge-accelerator").row(0, named=True)
    assert fpga["latency_ms_median"] == 2.0 and fpga["energy_devices"] == 0 and fpga["energy_j_median"] is None
    # points: one per device and quantity, latency before energy (panel order of the figure)
    pts = tv.twin_points(boards, own)
    assert pts.filter(pl.col("zoo_model") == "resnet8")["quantity"].unique(maintain_order=True).to_list() == [
        tv.Q_LATENCY, tv.Q_ENERGY]
    assert pts.filter((pl.col("quantity") == tv.Q_ENERGY) & (pl.col("zoo_model") == "resnet8")).height == 4


def test_sensor_energy_is_labelled_measured_and_no_energy_is_left_out():
    own = rows([own_row("resnet8", 2.0, 0.5, method="rapl"), own_row("dscnn-kws", 1.0, None, method="none")])
    pts = tv.twin_points(tv.tiny_twin_boards(None), own)
    assert pts.filter(pl.col("quantity") == tv.Q_ENERGY).select("zoo_model", "basis").rows() == [
        ("resnet8", tv.BASIS_SENSOR)]


def test_energy_window_busy_share_flags_overstated_energy():
    def with_window(r, calls, window_s):
        return {**r, "config_json": json.dumps({"energy": {"calls": calls, "window_s": window_s}})}

    own = rows([with_window(own_row("resnet8", 1.0, 0.5), 6, 1.2),       # 6 ms of 1.2 s: energy overstated
                with_window(own_row("dscnn-kws", 1.0, 0.001), 1000, 1.0),  # busy the whole window
                with_window(own_row("mlp", 1.0, 0.001), 5000, 1.0),        # 5x more calls than the latency allows
                own_row("vit", 1.0, None, method="none")])                  # no window
    share = tv.energy_window_busy_share(own)
    assert share["model"].to_list() == ["dscnn-kws", "mlp", "resnet8"]
    # calls x median latency / window: 1000 x 1 ms / 1 s, 5000 x 1 ms / 1 s, 6 x 1 ms / 1.2 s
    assert share["busy_share"].to_list() == pytest.approx([1.0, 5.0, 0.005], rel=1e-12)
    note = tv.twins_note(["resnet8", "dscnn-kws", "mlp"], own, PublicData(None, skipped={"mlperf-tiny": "x"}))
    assert "`resnet8` fp32 (6 calls in 1.20 s: 0.5% of the window" in note and "overstated" in note
    assert "`mlp` fp32 (5000 calls" in note and "`dscnn-kws` fp32 (1000" not in note


def test_twin_boards_on_the_shared_data(shared_data):
    data = load_public_data(shared_data, ["mlperf-tiny"])
    boards = tv.tiny_twin_boards(data.frames["mlperf-tiny"])
    assert sorted(boards["zoo_model"].unique()) == sorted(tv.BENCHMARK_TWINS.values())
    mcu = boards.filter(pl.col("device_class") == "mcu").group_by("zoo_model").len()
    assert mcu["len"].min() >= 10  # every benchmark ran on at least ten microcontroller boards
    # microcontrollers need well under 0.1 J per inference of these models (measured energy)
    assert boards.filter(pl.col("energy_j").is_not_null())["energy_j"].max() < 0.1
