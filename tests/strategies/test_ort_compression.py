"""int8 on ONNX Runtime inside a compression run: rows join the run, figures come from them."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from workbench.measure.profiler import ProfileSettings
from workbench.strategies.data import accuracy, build_model, load_digits_splits, train_classifier
from workbench.strategies.ort_compression import ort_int8
from workbench.strategies.recording import start_run


def test_ort_int8_adds_rows_to_the_run_and_summarises_them(tmp_store):
    settings = ProfileSettings(batch_sizes=(1,), repeats=5, warmup=1, threads=1, energy_window_s=0.0,
                               layer_repeats=1, normalise="none")
    splits = load_digits_splits(seed=0)
    run, store = start_run(splits=splits, settings=settings, meter=None, store=tmp_store)
    base = train_classifier(build_model("mlp-small", 0), splits, epochs=15, seed=0).eval()
    base_row = run.measure_static(base, model="digits-mlp-16", family="mlp", strategy="baseline",
                                  acc=accuracy(base, splits.test), config={})[0]
    setup = SimpleNamespace(base=base, label="digits-mlp-16", family="mlp", config={"hidden": [16]},
                            calibration_size=128, baseline_row=base_row)
    summary = ort_int8(run, setup)
    rows, layers = run.finish(store)
    assert rows["strategy"].to_list() == ["baseline", "onnxruntime", "onnxruntime-int8-static",
                                          "onnxruntime-int8-dynamic"]
    assert rows["run_id"].n_unique() == 1 and set(rows["task"]) == {"image-classification"}
    ort = rows.filter(rows["strategy"] == "onnxruntime")
    # fp32 on onnxruntime classifies the 360 test images as eager PyTorch does (same arithmetic, other kernels)
    assert ort["accuracy"][0] == pytest.approx(rows["accuracy"][0], abs=1 / 360)
    assert summary["ort_int8_static_accuracy_drop_pt"] <= 2.0  # at most ~7 of 360 images on a 16-unit MLP
    assert summary["ort_int8_static_size_ratio"] > 1.5  # int8 weights; fp32 biases and scales remain
    assert summary["ort_vs_torch_fp32"] > 0 and summary["ort_int8_static_speedup"] > 0
    assert json.loads(ort["config_json"][0])["dataset"] == "sklearn-digits"
    assert set(layers["measurement_id"]) == set(rows["measurement_id"])
    assert tmp_store.read().height == 4


def test_speedups_use_the_normalised_latency_only_when_both_rows_have_it():
    from workbench.strategies.ort_compression import _ratio

    fp32 = {"latency_ms_p50": 10.0, "latency_ms_norm": 8.0}
    int8 = {"latency_ms_p50": 4.0, "latency_ms_norm": 5.0}
    assert _ratio(fp32, int8) == pytest.approx(1.6, rel=1e-12)  # 8 / 5, normalised on both sides
    assert _ratio(fp32, {**int8, "latency_ms_norm": None}) == pytest.approx(2.5, rel=1e-12)  # raw 10 / 4
    assert _ratio(fp32, {**int8, "latency_ms_norm": float("nan")}) == pytest.approx(2.5, rel=1e-12)
