"""The committed cloud-GPU measurements (``data/measurements/cloud-gpu-h200``): intact, honestly labelled,
and usable by the cost models end to end."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from tests.conftest import REPO
from workbench.catalog.devices import get_device
from workbench.store import Store

GPU_STORE = REPO / "data" / "measurements" / "cloud-gpu-h200"


@pytest.fixture(scope="module")
def store():
    return Store(GPU_STORE)


@pytest.fixture(scope="module")
def rows(store):
    return store.read()


def test_store_is_complete_and_labelled(store, rows):
    # 465 zoo grid variants of 10 families, 380 of them measured twice (README.md beside the data)
    assert rows.height == 845 and rows["model"].n_unique() == 465 and rows["model_family"].n_unique() == 10
    assert set(rows["device_class"]) == {"cloud-gpu"} and set(rows["energy_method"]) == {"nvml"}
    assert set(rows["memory_method"]) == {"cuda-max-allocated"} and set(rows["source"]) == {"profiler"}
    assert set(rows["batch_size"]) == {1} and set(rows["dtype"]) == {"fp32"}
    assert get_device(rows["device_name"][0]).name == "h200-sxm-141gb"
    layers = store.read_layers()
    assert set(layers["measurement_id"]) == set(rows["measurement_id"])
    assert layers["input_bytes"].null_count() == 0  # layer shapes recorded: the shape-aware model applies
    # per-layer times were taken with the GPU synchronised at each hook, so they add up to at least the
    # whole call (about 1.45x with one synchronisation per layer); launch times alone would sum to far less
    sums = layers.group_by("measurement_id").agg(pl.col("latency_ms").sum()).join(
        rows.select("measurement_id", "latency_ms_p50"), on="measurement_id")
    ratio = (sums["latency_ms"] / sums["latency_ms_p50"]).median()
    assert 1.2 < ratio < 1.8, ratio


def test_energy_is_mean_power_times_loop_time_over_calls(rows):
    h200 = get_device("h200-sxm-141gb")
    for energy_j, power_w, cfg in rows.select("energy_j", "power_w", "config_json").iter_rows():
        window = json.loads(cfg)["energy"]
        assert window["meter"] == "nvml" and window["calls"] > 0
        assert energy_j == pytest.approx(power_w * window["window_s"] / window["calls"], rel=1e-9)
        # board power of a GPU kept nearly idle by batch-1 calls: above the catalog's idle estimate, below its limit
        assert h200.idle_power_w < power_w < h200.max_power_w


def test_layerwise_model_predicts_an_unseen_family_on_the_gpu(store, rows):
    from workbench.costmodels.estimators import LayerwiseCostModel
    from workbench.costmodels.factory import make_estimator
    from workbench.costmodels.features import training_data
    from workbench.costmodels.validation import metrics

    layers = store.read_layers()
    X, y, meta = training_data(rows, layers, target="latency_ms")
    held = (meta["model_family"] == "resnet").to_numpy()
    assert held.sum() == 45 and len(y) == 465  # one training row per variant: the faster of its passes
    model = LayerwiseCostModel().fit(X[~held], y[~held], layers=layers)
    m = metrics(y[held], model.predict(X[held], layers=layers))
    # resnet held out: MAPE 0.18, median ratio 1.11 when written (all ten families in turn: MAPE 0.23,
    # benchmarks/cloud_gpu.py); a FLOPs-proportional model is off by a factor of several (MAPE 5.4) on
    # this launch-bound GPU
    assert m["mape"] < 0.3, m
    assert np.median(model.predict(X[held], layers=layers) / y[held]) == pytest.approx(1, abs=0.2)
    flops = make_estimator("flops", interval=None).fit(X[~held], y[~held])
    assert metrics(y[held], flops.predict(X[held]))["mape"] > 10 * m["mape"]
