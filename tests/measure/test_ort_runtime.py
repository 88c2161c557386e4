"""ONNX export, onnxruntime runs, int8 quantisation and their rows, checked against PyTorch on tiny models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from workbench.errors import CorruptFileError, ParameterError, UnknownNameError
from workbench.measure import onnx_export, ort_quantize, ort_runtime
from workbench.measure.energy import ReplayMeter
from workbench.measure.ort_profile import profile_onnx_file, profile_onnx_module
from workbench.measure.profiler import ProfileSettings
from workbench.strategies.data import build_model, load_digits_splits, train_classifier

FAST = ProfileSettings(batch_sizes=(1, 4), repeats=5, warmup=1, threads=1, energy_window_s=0.0, layer_repeats=2,
                       normalise="none")


def tiny_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = tiny_mlp()
    path = onnx_export.export_onnx(model, torch.zeros(1, 1, 8, 8), tmp_path_factory.mktemp("onnx") / "mlp.onnx")
    return model, path


@pytest.fixture(scope="module")
def digits_mlp():
    splits = load_digits_splits(seed=0)
    model = train_classifier(build_model("mlp-small", 0), splits, epochs=15, seed=0).eval()
    return model, splits


def test_onnxruntime_fp32_equals_torch(exported):
    model, path = exported
    x = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    got = ort_runtime.OrtModel(path, threads=1)(x)
    with torch.no_grad():
        want = model(x).numpy()
    # the same fp32 arithmetic in another library's kernels: differences are rounding, well below 1e-4
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
    # one file serves every batch size: the batch dimension was exported dynamic
    assert onnx_export.input_spec(onnx_export.load_onnx(path))[1] == [None, 1, 8, 8]


def test_nodes_map_back_to_the_layer_names(exported):
    _, path = exported
    proto = onnx_export.load_onnx(path)
    layers = onnx_export.node_layers(proto)
    assert {"1", "3"} <= set(layers.values())  # the two nn.Linear layers of the Sequential
    assert onnx_export.opset_version(proto) == onnx_export.DEFAULT_OPSET
    prof = ort_runtime.profile_layers(path, np.zeros((4, 1, 8, 8), np.float32), layers, threads=1, repeats=3)
    assert set(prof["layer_ms"]) <= {"0", "1", "2", "3"}
    assert prof["layer_ms"]["1"] > 0 and prof["layer_ms"]["3"] > 0
    assert 0 < prof["mapped_share"] <= 1


def test_quantiser_nodes_map_to_the_tensor_they_quantise():
    layers = {"node_linear": "fc1", "tensor:fc1.weight": "fc1", "tensor:relu": "act"}
    assert ort_runtime.layer_of("node_linear", layers) == "fc1"
    assert ort_runtime.layer_of("fc1.weight_DequantizeLinear", layers) == "fc1"
    assert ort_runtime.layer_of("relu_QuantizeLinear", layers) == "act"
    assert ort_runtime.layer_of("relu_DequantizeLinear/duplicated", layers) == "act"
    assert ort_runtime.layer_of("Transpose", layers) is None


def test_int8_on_digits_keeps_accuracy_and_shrinks_weights(digits_mlp, tmp_path):
    model, splits = digits_mlp
    path = onnx_export.export_onnx(model, splits.test.x[:1], tmp_path / "digits.onnx")
    fp32 = ort_runtime.OrtModel(path, threads=1)
    x_test, y_test = splits.test.x.numpy(), splits.test.y.numpy()
    acc_fp32 = float((fp32(x_test).argmax(1) == y_test).mean())
    for method in ("int8-static", "int8-dynamic"):
        q = tmp_path / f"digits.{method}.onnx"
        conf = ort_quantize.quantise_onnx(path, q, method, calibration=splits.train.x[:256].numpy())
        acc = float((ort_runtime.OrtModel(q, threads=1)(x_test).argmax(1) == y_test).mean())
        # 360 test images: one image is 0.28 points; int8 of a 2-layer MLP moved at most a few images
        assert acc_fp32 - acc <= 0.02, (method, acc_fp32, acc)
        assert conf["weight_type"] == "int8"
        # 1,210 fp32 parameters (4,840 B) against int8 weights plus fp32 biases, scales and zero points
        assert onnx_export.initializer_bytes(onnx_export.load_onnx(q)) < 0.6 * onnx_export.initializer_bytes(
            onnx_export.load_onnx(path))
    assert acc_fp32 > 0.8  # the model did learn (15 epochs of a 16-unit MLP)


def test_rows_record_runtime_provider_opset_and_versions(digits_mlp):
    model, splits = digits_mlp
    rows, layers = profile_onnx_module(model, splits.test.x[:1], name="digits-mlp-small", family="mlp",
                                       quantisations=("none", "int8-static"), calibration=splits.train.x[:64],
                                       eval_data=(splits.test.x, splits.test.y), settings=FAST)
    assert rows.height == 4 and set(rows["strategy"]) == {"onnxruntime", "onnxruntime-int8-static"}
    assert set(rows.filter(rows["strategy"] == "onnxruntime-int8-static")["dtype"]) == {"int8"}
    cfg = json.loads(rows["config_json"][0])
    assert cfg["runtime"] == "onnxruntime" and cfg["execution_provider"] == "CPUExecutionProvider"
    assert cfg["opset"] == onnx_export.DEFAULT_OPSET and cfg["intra_op_threads"] == 1
    versions = json.loads(rows["software_versions"][0])
    assert {"onnxruntime", "onnx", "torch"} <= set(versions)
    assert (rows["latency_ms_p50"] > 0).all() and (rows["threads"] == 1).all()
    assert rows["flops"][0] == pytest.approx(2 * (64 * 16 + 16 * 10), rel=0.05)  # two Linear layers, MAC = 2
    # per-layer rows: the module's leaf layers, timed where onnxruntime's nodes map to them
    one = layers.filter(layers["measurement_id"] == rows["measurement_id"][0])
    assert one["layer_name"].to_list() == ["0", "1", "2", "3"]
    assert one.filter(one["layer_type"] == "Linear")["latency_ms"].is_not_null().all()


def test_profile_an_onnx_file(exported, tmp_store):
    _, path = exported
    df = profile_onnx_file(path, settings=FAST, store=tmp_store)
    assert df.height == 2 and df["strategy"].to_list() == ["onnxruntime", "onnxruntime"]
    assert df["flops"].is_null().all() and df["model"][0] == "mlp"
    assert tmp_store.read().height == 2


def test_bad_input_names_the_value_and_the_fix(exported, tmp_path):
    _, path = exported
    with pytest.raises(ParameterError, match="does not exist"):
        onnx_export.load_onnx(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all \x00\x01")
    with pytest.raises(CorruptFileError, match="not a valid ONNX model"):
        onnx_export.load_onnx(junk)
    proto = onnx_export.load_onnx(path)
    with pytest.raises(ParameterError, match="does not fit"):
        onnx_export.sample_shape(proto, (3, 8, 8))
    with pytest.raises(UnknownNameError, match="execution provider"):
        ort_runtime.OrtModel(path, provider="NoSuchExecutionProvider")
    with pytest.raises(ParameterError, match="calibration"):
        ort_quantize.quantise_onnx(path, tmp_path / "q.onnx", "int8-static")
    with pytest.raises(UnknownNameError, match="quantisation"):
        ort_quantize.strategy_name("int4")
    with pytest.raises(ParameterError, match="cannot be exported"):
        onnx_export.export_onnx(tiny_mlp(), torch.zeros(1, 3, 8, 8), tmp_path / "bad.onnx")


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_a_dynamic_sample_dimension_needs_the_shape(tmp_path):
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
    dim = torch.export.Dim.DYNAMIC
    prog = torch.onnx.export(conv, (torch.zeros(1, 1, 8, 8),), dynamo=True, verbose=False,
                             dynamic_shapes=({0: dim, 2: dim, 3: dim},))
    prog.save(str(tmp_path / "dyn.onnx"))
    proto = onnx_export.load_onnx(tmp_path / "dyn.onnx")
    with pytest.raises(ParameterError, match="--input-shape"):
        onnx_export.sample_shape(proto)
    assert onnx_export.sample_shape(proto, (1, 16, 16)) == (1, 16, 16)


def test_energy_per_inference_is_power_times_the_loop_over_samples(exported):
    _, path = exported
    m = ort_runtime.OrtModel(path, threads=1)
    x = np.zeros((4, 1, 8, 8), np.float32)
    fields, details = ort_runtime.measure_ort(m, x, repeats=5, warmup=1, meter=ReplayMeter([0.0, 1.0], [8.0, 8.0]),
                                              energy_window_s=0.05)
    # a flat 8 W trace: energy per sample = 8 W × the loop's wall time ÷ (calls × 4 samples), by hand
    assert fields["power_w"] == pytest.approx(8.0, rel=1e-9)
    assert fields["energy_j"] == pytest.approx(8.0 * details["window_s"] / (details["calls"] * 4), rel=1e-6)
    assert details["window_s"] >= 0.05 and fields["energy_method"] == "replay"
