"""Feature frames and training data from store rows."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from workbench import schema
from workbench.costmodels.features import feature_frame, target_column, training_data
from workbench.errors import ParameterError, UnknownNameError


def rows(latencies, model="m1", device="a100-sxm4-40gb", cls="cloud-gpu"):
    return schema.from_records([{
        "measurement_id": f"id{i}", "run_id": "r", "timestamp_utc": datetime(2026, 1, 1, tzinfo=timezone.utc),
        "source": "test", "model": model, "model_family": "fam", "batch_size": 2, "dtype": "fp32",
        "params": 10, "flops": 1e6, "weight_bytes": 40, "activation_bytes": 400, "latency_ms_p50": lat,
        "energy_method": "none", "device_name": device, "device_class": cls, "config_json": json.dumps({}),
    } for i, lat in enumerate(latencies)])


def test_feature_frame_per_layer_types_and_catalog():
    import polars as pl

    r = rows([1.0])
    layers = pl.DataFrame({"measurement_id": ["id0"] * 3, "layer_type": ["Conv2d", "Conv2d", "ReLU"],
                           "flops": [100.0, 300.0, 0.0], "output_bytes": [8, 8, 8]})
    X = feature_frame(r, layers, device_features=True)
    # per-layer FLOPs and bytes are per inference in the table, per call (× batch 2) in the features
    assert X.loc["id0", "count__Conv2d"] == 2 and X.loc["id0", "flops__Conv2d"] == 800.0
    assert X.loc["id0", "bytes__ReLU"] == 16.0 and X.loc["id0", "dtype_bytes"] == 4.0
    from workbench.catalog.devices import get_device

    dev = get_device("a100-sxm4-40gb")
    assert X.loc["id0", "peak_flops_per_s"] == dev.peak_flops_per_s["fp32"]
    assert X.loc["id0", "memory_bandwidth_bytes_per_s"] == dev.memory_bandwidth_bytes_per_s


def test_training_data_keeps_least_disturbed_run_and_validates():
    X, y, meta = training_data(rows([3.0, 1.5, 2.0]), target="latency_ms")
    assert len(y) == 1 and y[0] == 1.5 and meta["measurement_id"][0] == "id1"  # the minimum and its own row
    _, ym, _ = training_data(rows([3.0, 1.5, 2.0]), target="latency_ms", aggregate="median")
    assert ym[0] == 2.0
    with pytest.raises(UnknownNameError, match="cost-model target 'latency'"):
        target_column("latency")
    with pytest.raises(UnknownNameError, match="device class 'gpu'"):
        training_data(rows([1.0]), device_class="gpu")
    with pytest.raises(ParameterError, match="no rows with 'energy_j'"):
        training_data(rows([1.0]), target="energy_j")
    assert np.isfinite(X.to_numpy()).all()


def test_with_layer_shapes_fills_zoo_models_from_their_definition():
    """Old per-layer rows (no shapes) of zoo models get the definition's shapes; others stay null."""
    import polars as pl

    from workbench.costmodels.features import zoo_features
    from workbench.costmodels.training import with_layer_shapes
    from workbench.store import LAYER_REQUIRED, LAYER_SCHEMA

    _, static = zoo_features(["lenet"])
    old = pl.from_pandas(static).with_columns(pl.col("layer_index").cast(pl.Int64), pl.col("params").cast(pl.Int64),
                                              pl.col("output_bytes").cast(pl.Int64), layer_name=pl.lit(None, pl.String),
                                              latency_ms=pl.lit(0.01))
    old = old.select(LAYER_REQUIRED)
    n = old.height
    layers = pl.concat([
        old.with_columns(measurement_id=pl.lit("z")),  # a zoo model profiled before shapes were recorded
        old.head(2).with_columns(measurement_id=pl.lit("x")),  # a dataset model: no definition
        old.head(n - 1).with_columns(measurement_id=pl.lit("y")),  # lenet, but another layer count
    ])
    runs = pl.DataFrame({"measurement_id": ["z", "x", "y"], "model": ["lenet", "mobilenet-from-a-paper", "lenet"]})
    got = with_layer_shapes(runs, layers)
    assert got.columns == list(LAYER_SCHEMA) and got.height == layers.height
    z = got.filter(pl.col("measurement_id") == "z").sort("layer_index")
    for c in ("input_bytes", "kernel_area", "stride", "groups", "in_channels", "out_channels"):
        want = static[c].astype("Float64").tolist()
        assert [None if v is None else float(v) for v in z[c].to_list()] == [None if v is pd.NA else v for v in want]
    assert z.filter(pl.col("layer_type") == "Conv2d")["kernel_area"].to_list() == [25, 25]  # LeNet's 5×5 kernels
    assert got.filter(pl.col("measurement_id").is_in(["x", "y"]))["input_bytes"].null_count() == 2 + n - 1
    assert with_layer_shapes(runs, got).equals(got)  # nothing left to fill: unchanged


def test_training_layers_take_each_layers_minimum_over_the_repeats_of_its_configuration():
    import polars as pl

    from workbench.costmodels.features import training_layers

    r = pl.concat([rows([3.0, 1.5, 2.0]),  # id0-id2: three repeats of m1
                   rows([9.0], model="m2").with_columns(pl.lit("id9").alias("measurement_id"))])
    layers = pl.DataFrame({
        "measurement_id": ["id0", "id0", "id1", "id1", "id2", "id2", "id9", "id9", "gone"],
        "layer_index": [0, 1, 0, 1, 0, 1, 0, 1, 0],
        "layer_type": ["Conv2d", "ReLU"] * 4 + ["Conv2d"],
        "latency_ms": [1.0, 0.5, 2.0, 0.2, 1.5, 0.4, 7.0, 2.0, 0.01],
    })
    got = training_layers(r, layers).sort("measurement_id", "layer_index")
    assert got.columns == layers.columns
    # m1's layer 0 is fastest in id0, its layer 1 in id1: every repeat gets both minima; m2 is alone;
    # the layers of a measurement that is not a row ("gone") are dropped
    assert got["measurement_id"].to_list() == ["id0", "id0", "id1", "id1", "id2", "id2", "id9", "id9"]
    assert got["latency_ms"].to_list() == [1.0, 0.2] * 3 + [7.0, 2.0]
    med = training_layers(r, layers, aggregate="median").sort("measurement_id", "layer_index")
    assert med["latency_ms"].to_list()[:2] == [1.5, 0.4]
    # another batch size is another configuration: not pooled with the others
    r2 = r.with_columns(pl.when(pl.col("measurement_id") == "id0").then(8).otherwise(pl.col("batch_size"))
                        .alias("batch_size"))
    got2 = training_layers(r2, layers).sort("measurement_id", "layer_index")
    assert got2["latency_ms"].to_list()[:4] == [1.0, 0.5, 1.5, 0.2]
    assert training_layers(r, None) is None
    with pytest.raises(ParameterError, match="aggregate must be 'min' or 'median', got 'mean'"):
        training_layers(r, layers, aggregate="mean")
