"""Device classes from public datasets in notebook 03 (workbench.reports.public_devices_view).

Without the datasets every section is skipped with a note saying how to enable it; with
../shared/data (``shared_data`` fixture) the figures are those of docs/costmodels.md, deterministic,
and the notes' counts are those of the sections' own tables.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from workbench import datasets
from workbench.costmodels.fewshot import evaluate_fewshot, wide_latencies
from workbench.datasets.public import DATASET_FOLDERS
from workbench.errors import ParameterError
from workbench.reports import public_devices_view as pv
from workbench.reports.data import SHARED_DATA_ENV
from workbench.reports.sections import spelled


# ------------------------------------------------------------------------------------------ without datasets
def test_dataset_sections_without_data_say_how_to_enable_them(tmp_path):
    for section in (pv.board_energy_section(None), pv.fewshot_section(None), pv.benchmark_out_section(None),
                    pv.board_energy_section(tmp_path), pv.fewshot_section(tmp_path),
                    pv.benchmark_out_section(tmp_path)):
        assert not section.available and section.files == () and section.metrics is None
        assert "datasets_dir" in section.note and SHARED_DATA_ENV in section.note
    assert DATASET_FOLDERS["mlperf-tiny"] in pv.board_energy_section(tmp_path).note
    assert str(tmp_path) in pv.fewshot_section(tmp_path).note
    (tmp_path / DATASET_FOLDERS["nn-meter"]).mkdir()  # the folder without its file: skipped, with the reason
    assert "holds none of" in pv.fewshot_section(tmp_path).note


# ------------------------------------------------------------------------------------------ notes from tables
def test_benchmark_out_note_counts_what_the_tables_hold():
    # two boards: b1 ran 5 benchmarks (models m0..m4, twins z0..z4), b2 ran 3 of them
    preds = pl.DataFrame({"target": "latency_ms", "kind": "flops",
                          "device_name": ["b1"] * 5 + ["b2"] * 3, "model": [f"m{i}" for i in (0, 1, 2, 3, 4, 0, 1, 2)]})
    metrics = pl.DataFrame({"target": ["latency_ms"], "kind": ["flops"], "device_name": ["all"], "n": [8],
                            "mape": [0.3], "median_ape": [0.25], "within10": [0.1]})
    twins = {f"m{i}": f"z{i}" for i in range(6)}  # m5 has a twin but no result: not counted
    note = pv.benchmark_out_note(preds, metrics, twins=twins, kinds=["flops"], min_models=3, interval=0.8)
    assert note.startswith("The five MLPerf Tiny reference models have zoo twins")
    assert "with at least three of them" in note and "(`flops`)" in note
    assert "latency_ms flops 25% over 8 predictions" in note
    assert "five models per board cannot calibrate a 80 % interval (it needs four)" in note
    note95 = pv.benchmark_out_note(preds, metrics, twins=twins, kinds=["flops"], min_models=4, interval=0.95)
    assert "at least four of them" in note95 and "(it needs 19)" in note95


# ------------------------------------------------------------------------------------------ public datasets
def test_board_energy_section_on_mlperf_tiny(shared_data):
    s = pv.board_energy_section(shared_data, interval=0.9)
    assert s.available and [p.name for p in s.files] == ["mlperf_tiny_summary.csv"]
    overall = s.metrics.filter((pl.col("device_class") == "all") & (pl.col("device_name") == "all"))
    mape = dict(zip(overall["kind"].to_list(), overall["mape"].to_list(), strict=True))
    # docs/costmodels.md: MAPE 3.31 (board features) and 1.36 (latency only), deterministic
    assert mape["board-features"] == pytest.approx(3.31, abs=0.005)
    assert mape["latency-only"] == pytest.approx(1.36, abs=0.005)
    assert set(s.predictions["device_class"].to_list()) == {"mcu", "edge-accelerator"}
    assert s.predictions.height == 2 * 112
    assert "3.31" in s.note and "1.36" in s.note
    # the note's counts are the table's: rows per kind, boards, and the decades of the boards' published power
    boards = s.predictions["device_name"].n_unique()
    assert f"{s.predictions.height // 2} rows with a measured energy per inference on {boards} boards" in s.note
    tiny = datasets.load("mlperf-tiny", shared_data / DATASET_FOLDERS["mlperf-tiny"])
    power = (tiny.filter((pl.col("energy_scope") == "inference") & (pl.col("power_w") > 0))
                 .group_by("device_name").agg(pl.col("power_w").median())["power_w"])
    decades = math.floor(math.log10(power.max() / power.min()))
    assert f"spans more than {spelled(decades)} orders of magnitude and {spelled(boards)} boards" in s.note


def test_benchmark_out_section_on_mlperf_tiny(shared_data):
    s = pv.benchmark_out_section(shared_data)
    assert s.available and [p.name for p in s.files] == ["mlperf_tiny_summary.csv"]
    overall = {(r["target"], r["kind"]): r
               for r in s.metrics.filter(pl.col("device_name") == "all").iter_rows(named=True)}
    # docs/costmodels.md ("Fitting on public results: zoo twins"): median error of the flops law 19 %
    # (latency, 15 boards) and 24 % (energy, 7 boards); deterministic, so to the printed precision
    assert overall[("latency_ms", "flops")]["median_ape"] == pytest.approx(0.19, abs=0.005)
    assert overall[("energy_j", "flops")]["median_ape"] == pytest.approx(0.24, abs=0.005)
    lat = s.predictions.filter((pl.col("target") == "latency_ms") & (pl.col("kind") == "flops"))
    assert lat["device_name"].n_unique() == 15 and lat.height == overall[("latency_ms", "flops")]["n"]
    ratio = lat["predicted_over_measured"].to_numpy()
    assert overall[("latency_ms", "flops")]["mape"] == pytest.approx(np.mean(np.abs(ratio - 1)), rel=1e-12)
    # the note's figures are the tables': median errors, models per board, rows a 90 % interval needs
    assert f"latency_ms flops {overall[('latency_ms', 'flops')]['median_ape']:.0%} over {lat.height}" in s.note
    per_board = s.predictions.group_by("target", "device_name").agg(pl.col("model").n_unique())["model"].max()
    assert f"{spelled(per_board)} models per board cannot calibrate a 90 % interval" in s.note
    assert f"(it needs {spelled(pv.calibration_rows_needed(0.9))})" in s.note
    # models are named as on every other page (their zoo twins), the published name kept beside
    named = dict(s.predictions.select("model_as_published", "model").unique().iter_rows())
    assert named["ds-cnn"] == "dscnn-kws" and named["fc-autoencoder"] == "fc-autoencoder-ad"
    assert named["resnet8"] == "resnet8"


@pytest.fixture(scope="module")
def fewshot():
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"public datasets not found at {SHARED_DATA} (set WORKBENCH_SHARED_DATA)")
    return pv.fewshot_section(SHARED_DATA, ks=[10, 100], seeds=2, seed=0)


def test_fewshot_section_on_nn_meter(fewshot):
    t = fewshot.metrics
    assert fewshot.available and [p.name for p in fewshot.files] == ["nnmeter_model_latency_wide.csv"]
    assert t["target_device"].unique().sort().to_list() == ["Mi9", "NCS2", "Pixel3XL", "Pixel4"]  # display names
    assert t.height == 8 and (t["within10_min"] <= t["within10"]).all() and (t["within10"] <= t["within10_max"]).all()
    at100 = {r["target_device"]: r for r in t.filter(pl.col("k") == 100).iter_rows(named=True)}
    # docs/costmodels.md, k = 100 with all other devices known (mean of 10 draws there, 2 here):
    # Adreno 640 0.995 and the VPU 0.620; two draws move the mean by a few points at most
    assert at100["Mi9"]["within10"] > 0.98
    assert 0.55 < at100["NCS2"]["within10"] < 0.70
    assert at100["NCS2"]["device_class"] == "edge-accelerator" and at100["Pixel4"]["device_class"] == "phone"
    # more calibration models help every device
    at10 = {r["target_device"]: r["within10"] for r in t.filter(pl.col("k") == 10).iter_rows(named=True)}
    assert all(at100[d]["within10"] > at10[d] for d in at10)
    # the note names the device with the lowest share at the largest k, with its processor
    hardest = min(at100.values(), key=lambda r: r["within10"])
    assert f"hardest latency to transfer is {hardest['target_device']}'s ({hardest['processor']})" in fewshot.note
    assert f"on {len(at100)} devices" in fewshot.note and "2 draws with fixed seeds" in fewshot.note


def test_fewshot_rows_equal_evaluate_fewshot(fewshot, shared_data):
    wide = wide_latencies(datasets.load("nn-meter", shared_data / DATASET_FOLDERS["nn-meter"]),
                          value="latency_ms_mean")
    r = evaluate_fewshot(wide, "pixel-4", ["intel-ncs2", "pixel-3-xl", "xiaomi-mi-9"], k=10, seeds=range(2))
    row = fewshot.metrics.filter((pl.col("target_device") == "Pixel4") & (pl.col("k") == 10)).row(0, named=True)
    assert row["within10"] == r["within10"] and row["mape"] == r["mape"] and row["n_eval"] == r["n_eval"]


def test_fewshot_parameters_are_checked(tmp_path):
    for bad in ([1], [], [10, 2.5]):
        with pytest.raises(ParameterError, match="fewshot_k"):
            pv.fewshot_section(tmp_path, ks=bad)
    with pytest.raises(ParameterError, match="fewshot_seeds"):
        pv.fewshot_section(tmp_path, seeds=0)
