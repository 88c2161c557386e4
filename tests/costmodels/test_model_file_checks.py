"""Load-time checks of model files (:mod:`workbench.costmodels.integrity`) and the small-data fallbacks of fitting."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workbench.costmodels import CostModelFileError, FewShotCalibrator, RooflineCostModel, load, save
from workbench.costmodels.additive import ResidualBoostedCostModel
from workbench.costmodels.factory import make_estimator
from workbench.costmodels.integrity import StateError, check_ensemble, check_learned_state, self_check
from workbench.costmodels.intervals import ConformalCostModel, calibration_rows_needed
from workbench.costmodels.kinds import KINDS
from workbench.costmodels.persistence import UnknownCostModelClassError, estimator_from_dict, estimator_to_dict
from workbench.costmodels.validation import leave_one_group_out
from workbench.errors import CorruptFileError, ParameterError, StoreError, UnknownNameError

from ._synthetic import synthetic_networks, synthetic_shaped_layer_table


def _fitted(kind: str, interval=0.9):
    if kind == "layerwise":
        X, y, layers = synthetic_shaped_layer_table(40, 3)
        return make_estimator(kind, interval=interval).fit(X, y, layers=layers)
    X, y, _ = synthetic_networks(40, 4)
    return make_estimator(kind, interval=interval).fit(X, y)


def _fewshot():
    rng = np.random.default_rng(0)
    a = np.exp(rng.uniform(0, 4, 30))
    X = pd.DataFrame({"dev-a": a, "dev-b": 2 * a, "architecture": rng.choice(["n1", "n2"], 30)})
    return FewShotCalibrator().fit(X, 3 * a)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "roofline"])
@pytest.mark.parametrize("interval", [None, 0.9])
def test_every_fitted_kind_passes_its_own_checks(kind, interval):
    est = _fitted(kind, interval)
    check_learned_state(est)
    assert np.isfinite(self_check(est)) and self_check(est) > 0


def test_roofline_and_fewshot_pass_and_round_trip(tmp_path):
    X, y, _ = synthetic_networks(30, 5)
    for est in (RooflineCostModel(1e11, 2e10).fit(X, y), _fewshot()):
        check_learned_state(est)
        assert self_check(est) > 0
        saved = load(save(est, tmp_path / f"{type(est).__name__}.json", target="latency_ms"))
        assert type(saved.estimator) is type(est)


@pytest.mark.parametrize("kind, attrs, reason", [
    ("flops", {"coef_": float("nan")}, "coef_ is nan"),
    ("flops", {"coef_": -1.0}, "coef_ is -1.0"),
    ("flops", {"coef_": True}, "not a number"),
    ("loglinear", {"coef_": np.array([1.0, 2.0])}, "has shape (2,), expected (4,)"),
    ("loglinear", {"mean_": np.array(["a", "b", "c", "d"])}, "not an array of numbers"),
    ("loglinear", {"intercept_": float("inf")}, "intercept_ is inf"),
    ("loglinear", {"coef_": None}, "lacks the learned attribute(s) ['coef_']"),
    ("loglinear", {"n_features_in_": 3}, "n_features_in_ is 3"),
    ("additive", {"intercept_": -0.5}, "intercept_ is -0.5"),
    ("additive", {"coef_": {"Conv2d": (1.0, 2.0)}}, "coef_ must map each of layer_types_"),
    ("layerwise", {"shape_columns_": ["input_bytes"]}, "shape_columns_"),
    ("layerwise", {"scale_": float("nan")}, "scale_ is nan"),
    ("gbm", {"trees_": {"kind": "gbm"}}, "not a tree ensemble"),
])
def test_a_damaged_learned_attribute_is_named(kind, attrs, reason):
    est = _fitted(kind, None)
    for k, v in attrs.items():
        if v is None:
            delattr(est, k)
        else:
            setattr(est, k, v)
    with pytest.raises(StateError) as e:
        check_learned_state(est)
    assert reason in str(e.value)


def test_wrapped_estimators_are_checked_too():
    conf = _fitted("additive+gbm", 0.9)
    conf.estimator_.correction_ = conf.estimator_.base_  # not a TreeCostModel
    with pytest.raises(StateError, match="correction_ is LayerAdditiveCostModel"):
        check_learned_state(conf)
    conf = _fitted("loglinear", 0.9)
    conf.q_ = float("inf")  # too few calibration rows for the coverage: a documented, valid state
    check_learned_state(conf)
    conf.estimator_ = "LogLinearCostModel"
    with pytest.raises(StateError, match="estimator_ is str, not a fitted cost model"):
        check_learned_state(conf)
    fs = _fewshot()
    fs.fill_offset_ = [0.0]
    with pytest.raises(StateError, match="fill_offset_ must hold one finite number per device"):
        check_learned_state(fs)


def test_self_check_catches_coefficients_that_overflow():
    est = _fitted("loglinear", None)
    est.intercept_ = 800.0  # a number, finite, but e^800 is not
    check_learned_state(est)
    with pytest.raises(StateError, match=r"predicted as \[inf\]"):
        self_check(est)
    est = _fitted("flops", None)
    est.feature_names_in_ = ["params"]  # no flops column: the prediction itself fails
    est.n_features_in_ = 1
    with pytest.raises(StateError, match="predicting a representative row fails"):
        self_check(est)


def _tree():
    return {"left": [1, -1, -1], "right": [2, -1, -1], "feature": [0, -2, -2], "threshold": [0.5, -2.0, -2.0],
            "value": [0.0, 1.0, 2.0]}


@pytest.mark.parametrize("change, reason", [
    ({"left": [0, -1, -1]}, "does not point forward"),  # a loop: the prediction would never end
    ({"right": [2, -1, 1]}, "does not point forward"),  # a leaf with one child
    ({"left": [5, -1, -1]}, "does not point forward"),
    ({"feature": [3, -2, -2]}, "feature index outside 0..2"),
    ({"value": [0.0, 1.0]}, "different lengths"),
    ({"threshold": [float("nan"), -2.0, -2.0]}, "NaN or infinite"),
    ({"left": [1.0, -1, -1]}, "not an integer"),
    ({"value": ["a", 1.0, 2.0]}, "not a number"),
])
def test_a_damaged_tree_is_refused(change, reason):
    check_ensemble({"kind": "gbm", "init": 0.0, "learning_rate": 0.1, "trees": [_tree()]}, 3, "T")
    with pytest.raises(StateError, match=reason):
        check_ensemble({"kind": "gbm", "init": 0.0, "learning_rate": 0.1, "trees": [{**_tree(), **change}]}, 3, "T")
    with pytest.raises(StateError, match="holds no trees"):
        check_ensemble({"kind": "rf", "init": 0.0, "learning_rate": 1.0, "trees": []}, 3, "T")


def test_load_names_the_file_and_never_builds_foreign_classes(tmp_path):
    path = save(_fitted("loglinear", 0.9), tmp_path / "m.json", target="latency_ms")
    doc = json.loads(path.read_text())
    doc["model"]["state"]["estimator_"]["__estimator__"]["class"] = "subprocess.Popen"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(UnknownCostModelClassError) as e:
        load(bad)
    assert isinstance(e.value, CostModelFileError) and isinstance(e.value, UnknownNameError)
    assert isinstance(e.value, CorruptFileError)
    assert str(bad) in str(e.value) and "'subprocess.Popen'" in str(e.value) and "Fix: refit" in str(e.value)
    doc = json.loads(path.read_text())
    doc["model"]["state"]["oof_log_ratio_"]["dtype"] = "O"
    bad.write_text(json.dumps(doc))
    with pytest.raises(CostModelFileError, match=f"cannot read cost model {bad}: an array of dtype 'object'"):
        load(bad)


def test_estimator_dict_round_trip_refuses_unknown_parameters():
    d = estimator_to_dict(_fitted("flops", None))
    assert type(estimator_from_dict(d)).__name__ == "FlopsProportionalCostModel"
    with pytest.raises(CostModelFileError, match=r"has no parameter\(s\) \['shell'\]"):
        estimator_from_dict({**d, "params": {"shell": True}})


def test_save_is_atomic_and_refuses_to_replace_unless_asked(tmp_path):
    est = _fitted("flops", None)
    path = save(est, tmp_path / "m.json", target="latency_ms")
    first = path.read_bytes()
    with pytest.raises(StoreError, match="already exists; nothing was written"):
        save(est, path, target="latency_ms")
    assert path.read_bytes() == first
    save(est, path, target="latency_ms", metadata={"note": "again"}, overwrite=True)
    assert json.loads(path.read_text())["metadata"]["note"] == "again"
    with pytest.raises(StoreError, match="cannot write"):
        save(est, tmp_path / "missing" / "m.json", target="latency_ms")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]  # no temporary file, no folder made


def test_conformal_needs_two_calibration_rows_and_says_how_it_calibrated():
    X, y, _ = synthetic_networks(12, 6)
    with pytest.raises(ParameterError, match=r"at least 2 calibration rows .*got 1\. Fix: .*--interval 0"):
        ConformalCostModel(interval=0.5).fit(X.iloc[:1], y[:1])
    ops = np.array(["kernels"] * 11 + ["mlp"])  # one network, eleven operator blocks
    with pytest.raises(ParameterError, match="got 1 .*11 operator-block rows"):
        ConformalCostModel(interval=0.5).fit(X, y, groups=ops)
    assert ConformalCostModel(interval=0.5).fit(X[:2], y[:2]).calibration_ == "rows"
    one = np.array(["mlp"] * 12)
    assert ConformalCostModel(interval=0.5).fit(X, y, groups=one).calibration_ == "rows"
    two = np.array(["mlp"] * 6 + ["cnn"] * 6)
    assert ConformalCostModel(interval=0.5).fit(X, y, groups=two).calibration_ == "family-out"


def test_calibration_rows_needed_by_hand():
    # ⌈(n+1)·0.9⌉ ≤ n first holds at n = 9; 0.8 at 4 (⌈5·0.8⌉ = 4, not 5: the float product counts as 4)
    assert [calibration_rows_needed(q) for q in (0.5, 0.8, 0.9, 0.95)] == [1, 4, 9, 19]


def test_residual_boosted_on_one_row_is_its_base_model():
    X, y, _ = synthetic_networks(5, 7)
    m = ResidualBoostedCostModel().fit(X.iloc[:1], y[:1])
    np.testing.assert_allclose(m.predict(X), m.base_.predict(X), rtol=1e-12)  # the correction is exactly 1
    with pytest.raises(ParameterError, match="cv must be an integer ≥ 2, got 1"):
        ResidualBoostedCostModel(cv=1).fit(X, y)


def test_leave_one_group_out_with_intervals_needs_rows_to_calibrate_in_every_fold():
    X, y, _ = synthetic_networks(5, 8)
    groups = np.array(["a", "a", "a", "a", "b"])
    est = make_estimator("flops", interval=0.5)
    with pytest.raises(ParameterError, match="holding out 'a' leaves 1"):
        leave_one_group_out(est, X, y, groups)
    out = leave_one_group_out(make_estimator("flops", interval=None), X, y, groups)
    assert len(out) == 5
    with pytest.raises(ParameterError, match="at least 2 groups.*Fix"):
        leave_one_group_out(est, X, y, np.array(["a"] * 5))


def test_read_training_tables_skips_corrupt_files_only_when_asked(tmp_path):
    from workbench.costmodels.training import read_training_tables

    from ._stores import make_store, snapshot

    store = make_store(tmp_path / "runs", ("mlp", "cnn"), 2)
    (store / f"20260102T000000Z-b-abcdef.{'0' * 16}.parquet").write_bytes(b"damaged")
    before = snapshot(store)
    with pytest.raises(CorruptFileError, match="--skip-corrupt"):
        read_training_tables(store)
    with pytest.warns(UserWarning, match="skipping corrupt file"):
        rows, layers = read_training_tables(store, skip_corrupt=True)
    assert rows.height == 4 and set(layers["measurement_id"]) == set(rows["measurement_id"])
    assert snapshot(store) == before
