"""JSON model files: round trip of every kind, metadata, and each error case."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone

from workbench.costmodels import FeatureMismatchError, TargetMismatchError, VersionMismatchError, load, save
from workbench.costmodels.factory import make_estimator
from workbench.costmodels.kinds import KINDS
from workbench.errors import CorruptFileError, UnknownNameError

from ._synthetic import synthetic_networks


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("roofline", "layerwise")])
def test_round_trip_identical_predictions(tmp_path, kind):
    X, y, _ = synthetic_networks(80, 11)
    est = make_estimator(kind, interval=0.9).fit(X, y)
    path = save(est, tmp_path / "m.json", target="latency_ms", metadata={"device_class": "server-cpu"})
    saved = load(path, target="latency_ms")
    # JSON keeps float64 exactly (repr round trip): predictions must be bit-identical
    np.testing.assert_array_equal(saved.predict(X), est.predict(X))
    np.testing.assert_array_equal(saved.predict_interval(X)[1], est.predict_interval(X)[1])
    md = saved.metadata
    assert md["target"] == "latency_ms" and md["device_class"] == "server-cpu"
    assert md["features"] == list(X.columns)
    assert {"numpy", "scikit-learn", "python"} <= set(md["library_versions"])


def test_file_written_with_alpha_loads_as_interval(tmp_path):
    """Files written before ConformalCostModel took ``interval`` store the miscoverage ``alpha``."""
    X, y, _ = synthetic_networks(80, 11)
    est = make_estimator("loglinear", interval=0.9).fit(X, y)
    path = save(est, tmp_path / "new.json", target="latency_ms", metadata={"interval": 0.9})
    doc = json.loads(path.read_text())
    params = doc["model"]["params"]
    assert params["interval"] == 0.9 and "alpha" not in params
    # the old layout: {"estimator": ..., "alpha": 0.1, "cv": 5, "random_state": 0}, in that order
    doc["model"]["params"] = {"estimator": params["estimator"], "alpha": 0.1, "cv": params["cv"],
                              "random_state": params["random_state"]}
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    saved = load(old, target="latency_ms")
    params = saved.estimator.get_params(deep=False)
    assert params["interval"] == pytest.approx(0.9, abs=1e-15) and "alpha" not in params  # 1 - 0.1 in floats
    np.testing.assert_array_equal(saved.predict(X), est.predict(X))
    np.testing.assert_array_equal(saved.predict_interval(X)[0], est.predict_interval(X)[0])
    # refitting the loaded model gives the same interval as the model written with interval=0.9
    assert clone(saved.estimator).fit(X, y).q_ == est.q_
    # the inner LogLinearCostModel keeps its own ``alpha`` (a ridge penalty, not a coverage)
    assert saved.estimator.estimator.alpha == est.estimator.alpha


def test_layerwise_round_trip(tmp_path):
    from ._synthetic import synthetic_layer_table

    X, y, layers = synthetic_layer_table(60, 15)
    est = make_estimator("layerwise", interval=0.9).fit(X, y, layers=layers)
    saved = load(save(est, tmp_path / "l.json", target="latency_ms"))
    np.testing.assert_array_equal(saved.predict(X, layers=layers), est.predict(X, layers=layers))
    np.testing.assert_array_equal(saved.predict_interval(X, layers=layers)[0], est.predict_interval(X, layers=layers)[0])


def test_layerwise_with_shapes_round_trip(tmp_path):
    from ._synthetic import synthetic_shaped_layer_table

    X, y, layers = synthetic_shaped_layer_table(60, 16)
    est = make_estimator("layerwise", interval=None).fit(X, y, layers=layers)
    save(est, tmp_path / "m.json", target="latency_ms")
    saved = load(tmp_path / "m.json")
    assert saved.estimator.shape_columns_ == est.shape_columns_ != []
    np.testing.assert_array_equal(saved.predict(X, layers=layers), est.predict(X, layers=layers))


def test_roofline_round_trip(tmp_path):
    from workbench.costmodels import RooflineCostModel

    X, y, _ = synthetic_networks(30, 12)
    est = RooflineCostModel(1e11, 2e10).fit(X, y)
    saved = load(save(est, tmp_path / "r.json", target="latency_ms"))
    np.testing.assert_array_equal(saved.predict(X), est.predict(X))


@pytest.fixture
def model_file(tmp_path):
    X, y, _ = synthetic_networks(40, 13)
    est = make_estimator("loglinear-layers", interval=None).fit(X, y)
    return save(est, tmp_path / "m.json", target="latency_ms"), X


def test_wrong_target(model_file):
    path, X = model_file
    with pytest.raises(TargetMismatchError, match="predicts 'latency_ms'.*not 'energy_j'.*--target energy_j"):
        load(path, target="energy_j")
    with pytest.raises(TargetMismatchError):
        load(path).predict(X, target="memory_peak_bytes")
    with pytest.raises(UnknownNameError, match="cost-model target"):
        save(load(path).estimator, path.with_name("x.json"), target="latency")


def test_unknown_features(model_file):
    path, X = model_file
    with pytest.raises(FeatureMismatchError, match="unknown feature.*count__GRU"):
        load(path).predict(X.assign(count__GRU=1.0))


def test_version_mismatch(model_file):
    path, X = model_file
    doc = json.loads(path.read_text())
    doc["metadata"]["library_versions"]["scikit-learn"] = "0.24.2"
    path.write_text(json.dumps(doc))
    with pytest.raises(VersionMismatchError, match=r"scikit-learn 0\.24\.2 \(file\).*check_versions=False"):
        load(path)
    np.testing.assert_array_equal(load(path, check_versions=False).predict(X).shape, (len(X),))
    doc["format_version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(VersionMismatchError, match="format version 99"):
        load(path, check_versions=False)


def test_foreign_and_corrupt_files(tmp_path, model_file):
    path, _ = model_file
    bad = tmp_path / "pickle.json"
    bad.write_bytes(b"\x80\x04\x95 not json")
    with pytest.raises(CorruptFileError, match="not a JSON cost-model file"):
        load(bad)
    bad.write_text('{"format": "something-else"}')
    with pytest.raises(CorruptFileError, match="not a workbench-costmodel file"):
        load(bad)
    doc = json.loads(path.read_text())
    doc["model"]["class"] = "os.system"  # a file may only name registered classes
    bad.write_text(json.dumps(doc))
    with pytest.raises(UnknownNameError, match="cost-model class 'os.system'"):
        load(bad)
    with pytest.raises(CorruptFileError, match="no such file"):
        load(tmp_path / "missing.json")
