"""The accuracy-per-device-class table of notebook 03 (workbench.reports.device_class_view)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.costmodels._training_runs import small_training_runs
from tests.reports.test_cloud_gpu_view import GPU_STORE, GPU_VARIANTS
from workbench.reports import cloud_gpu_view, own_cpu_view, public_devices_view
from workbench.reports.device_class_view import device_class_summary


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    runs = small_training_runs(tmp_path_factory.mktemp("cm") / "runs")[2]
    return own_cpu_view.evaluate_own_cpu(runs, kinds=["flops", "additive"], interval=0.9)


def test_device_class_summary(evaluation, shared_data):
    boards = public_devices_view.board_energy_section(shared_data)
    fewshot = public_devices_view.fewshot_section(shared_data, ks=[10, 100], seeds=1)
    s = device_class_summary(evaluation, boards, fewshot, public_devices_view.benchmark_out_section(shared_data))
    assert s.filter(pl.col("evaluation") == "leave-one-benchmark-out").height == 4  # 2 targets × 2 kinds, mcu
    assert s.filter(pl.col("evaluation") == "leave-one-family-out").height == 2  # one row per kind
    assert s.filter(pl.col("evaluation") == "leave-one-board-out").height == 4  # 2 kinds × mcu, edge-accelerator
    assert s.filter(pl.col("evaluation") == "few-shot k=100").height == 4  # the largest k only, one row per device
    assert s.filter(pl.col("model") == "fewshot")["coverage"].null_count() == 4
    # the board counts are those of the sections' predictions
    mcu = boards.predictions.filter(pl.col("device_class") == "mcu")["device_name"].n_unique()
    assert s.filter((pl.col("evaluation") == "leave-one-board-out") & (pl.col("device_class") == "mcu"))[
        "devices"].unique().to_list() == [f"{mcu} MLPerf Tiny boards"]


def test_device_class_summary_without_datasets_and_with_the_cloud_gpu(evaluation):
    none = (public_devices_view.board_energy_section(None), public_devices_view.fewshot_section(None))
    only_own = device_class_summary(evaluation, *none)
    assert only_own.height == 2
    with_gpu = device_class_summary(evaluation, *none, cloud_gpu=cloud_gpu_view.cloud_gpu_section(
        GPU_STORE, GPU_VARIANTS, kinds=["flops"]))
    gpu_rows = with_gpu.filter(pl.col("device_class") == "cloud-gpu")
    assert gpu_rows.height == 1 and gpu_rows["devices"].to_list() == ["H200"] and gpu_rows["n"][0] == 6
