"""The user's own model: factories from a file or a module, profiled like zoo models; bad input is one clear error."""

from __future__ import annotations

import argparse
import json
import textwrap

import numpy as np
import pytest

from workbench.cli.runtimes import add_runtime_arguments, profile_runtime
from workbench.errors import ParameterError
from workbench.measure.profiler import ProfileSettings
from workbench.measure.user_module import UserModelSpec, load_factory, parse_input_shape, profile_user_module

FAST = ProfileSettings(batch_sizes=(1, 2), repeats=3, warmup=1, threads=1, energy_window_s=0.0, layer_repeats=1,
                       normalise="none")

MODELS_PY = textwrap.dedent("""
    import torch
    from torch import nn

    def build(hidden=8):
        return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(4, hidden))

    def not_a_model():
        return {"weights": 1}

    def broken():
        raise RuntimeError("my factory is broken")

    NOT_CALLABLE = 3
""")


@pytest.fixture
def models_py(tmp_path):
    path = tmp_path / "my_models.py"
    path.write_text(MODELS_PY)
    return path


def test_input_shapes_parse_and_bad_ones_say_how():
    assert parse_input_shape("3x224x224") == (3, 224, 224)
    assert parse_input_shape(" 64 ") == (64,)
    for bad in ("3x224x", "0x8", "ax8", ""):
        with pytest.raises(ParameterError, match="--input-shape 3x224x224"):
            parse_input_shape(bad)


def test_a_factory_from_a_file_and_from_a_module(models_py, monkeypatch):
    model = load_factory(f"{models_py}:build")(hidden=5)
    assert model[-1].out_features == 5
    monkeypatch.syspath_prepend(str(models_py.parent))
    assert load_factory("my_models:build")().__class__.__name__ == "Sequential"


@pytest.mark.parametrize(("spec", "match"), [
    ("no_colon_here", "is not PATH_OR_MODULE:FACTORY"),
    ("missing_file.py:build", "does not exist"),
    ("no_such_package_xyz.models:build", "no module named"),
    ("{py}:nope", "has no 'nope'"),
    ("{py}:NOT_CALLABLE", "not callable"),
])
def test_factory_errors_are_clear(models_py, spec, match):
    with pytest.raises(ParameterError, match=match):
        load_factory(spec.format(py=models_py))


def test_what_the_factory_returns_is_checked(models_py):
    with pytest.raises(ParameterError, match="not a torch.nn.Module"):
        UserModelSpec(f"{models_py}:not_a_model", (3, 8, 8)).build()
    with pytest.raises(ParameterError, match="factory raised RuntimeError: my factory is broken"):
        UserModelSpec(f"{models_py}:broken", (3, 8, 8)).build()
    with pytest.raises(ParameterError, match="does not accept an input of shape 1x8x8"):
        UserModelSpec(f"{models_py}:build", (1, 8, 8)).build()


def test_profiled_like_a_zoo_model_with_its_layers(models_py, tmp_store):
    spec = UserModelSpec(f"{models_py}:build", (3, 8, 8), family="my-cnn")
    df = profile_user_module(spec, settings=FAST, meter="none", store=tmp_store)
    assert df["model"].to_list() == ["build", "build"] and df["batch_size"].to_list() == [1, 2]
    assert set(df["model_family"]) == {"my-cnn"} and set(df["input_shape"]) == {"3x8x8"}
    assert (df["latency_ms_p50"] > 0).all() and df["source"][0] == "profiler"
    # FLOPs by hand: conv 3→4, 3×3, on 8×8 = 2·(3·9)·4·64 FLOP; linear 4→8 = 2·4·8 (+ ReLU/pool, not counted)
    assert df["flops"][0] == pytest.approx(2 * 27 * 4 * 64 + 2 * 4 * 8, rel=0.02)
    assert json.loads(df["config_json"][0])["user_module"].endswith("my_models.py:build")
    layers = tmp_store.read_layers()
    assert layers.filter(layers["measurement_id"] == df["measurement_id"][0])["layer_type"].to_list() == [
        "Conv2d", "ReLU", "AdaptiveAvgPool2d", "Flatten", "Linear"]


def _args(*argv):
    p = argparse.ArgumentParser()
    p.add_argument("--model", action="append")
    p.add_argument("--dtype", default="fp32")
    add_runtime_arguments(p)
    return p.parse_args(list(argv))


def test_cli_glue_runs_the_user_model_on_both_runtimes(models_py, tmp_store, tmp_path):
    assert profile_runtime(_args("--model", "resnet8"), FAST, None, tmp_store) is None  # the plain path
    df = profile_runtime(_args("--module", f"{models_py}:build", "--input-shape", "3x8x8"), FAST, None, tmp_store)
    assert df.height == 2 and set(df["strategy"]) == {"baseline"}
    calib = tmp_path / "calib.npy"
    np.save(calib, np.random.default_rng(0).standard_normal((16, 3, 8, 8)).astype(np.float32))
    df = profile_runtime(_args("--module", f"{models_py}:build", "--input-shape", "3x8x8", "--runtime", "onnxruntime",
                               "--quantise", "none", "--quantise", "int8-static", "--calibration", str(calib)),
                         FAST, None, tmp_store)
    assert sorted(set(df["strategy"])) == ["onnxruntime", "onnxruntime-int8-static"]
    assert tmp_store.read().height == 6


@pytest.mark.parametrize(("argv", "match"), [
    (("--module", "x.py:build"), "needs the shape"),
    (("--module", "x.py:build", "--onnx", "m.onnx"), "both given"),
    (("--model", "resnet8", "--quantise", "int8-dynamic"), "apply to --runtime onnxruntime"),
    (("--model", "resnet8", "--runtime", "onnxruntime", "--quantise", "int8-static"), "--calibration"),
    (("--onnx", "m.onnx", "--runtime", "torch"), "run on onnxruntime"),
    (("--model", "resnet8", "--runtime", "onnxruntime", "--dtype", "int8"), "--quantise int8-dynamic"),
])
def test_cli_glue_refuses_bad_combinations_before_any_work(argv, match, tmp_store):
    with pytest.raises(ParameterError, match=match):
        profile_runtime(_args(*argv), FAST, None, tmp_store)
    assert not tmp_store.path.exists() or tmp_store.files() == []
