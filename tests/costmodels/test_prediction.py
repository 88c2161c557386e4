"""Zoo models predicted on this machine from counted features (workbench.costmodels.prediction).

The training set is six tiny zoo variants profiled for real (three families, ~3 s); the checks
recompute the figures independently (a FLOPs-proportional fit by hand, the conformal quantile of
the family-out ratios), so they hold whatever the timings were.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from tests.costmodels._training_runs import small_training_runs
from workbench.costmodels.features import training_data, zoo_features
from workbench.costmodels.prediction import inside_interval, predict_zoo
from workbench.costmodels.training import TARGET
from workbench.costmodels.validation import evaluate_family_out
from workbench.errors import ParameterError, UnknownNameError


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    return small_training_runs(tmp_path_factory.mktemp("cm") / "runs")


def test_inside_interval_counts_a_nan_bound_as_outside():
    got = inside_interval([1.0, 2.0, 3.0, 4.0], [0.5, 2.5, np.nan, 4.0], [1.5, 3.0, 9.0, 4.0])
    assert got.tolist() == [True, False, False, True]


def test_predict_zoo_from_counted_features(own):
    store, train, runs = own
    X, y, meta = training_data(runs.rows, runs.layers, target=TARGET)
    # interval = 0.5: with 6 training rows a 90 % conformal quantile would be infinite (⌈7·0.9⌉ > 6)
    table = predict_zoo(runs, [train[0], "resnet8"], store, kind="flops", interval=0.5)
    assert table["model"].to_list() == sorted([train[0], "resnet8"])
    Xz, _ = zoo_features([train[0], "resnet8"])
    coef = math.exp(np.mean(np.log(y / X["flops"].to_numpy())))  # fitted on every training row
    # the interval's half-width in log space is the ⌈(n+1)·interval⌉-th smallest family-out |log ratio|;
    # with 3 families the 3 calibration folds are exactly the leave-one-family-out predictions
    pred, _ = evaluate_family_out(X, y, meta, kinds=["flops"], interval=0.5)
    ratios = np.sort(np.abs(np.log(pred["y_pred"].to_numpy() / pred["y_true"].to_numpy())))
    q = ratios[math.ceil(7 * 0.5) - 1]
    for r in table.iter_rows(named=True):
        assert r["predicted_latency_ms"] == pytest.approx(coef * Xz.loc[r["model"], "flops"], rel=1e-9)
        assert r["upper_latency_ms"] / r["predicted_latency_ms"] == pytest.approx(math.exp(q), rel=1e-9)
        assert r["predicted_latency_ms"] / r["lower_latency_ms"] == pytest.approx(math.exp(q), rel=1e-9)
    trained = table.filter(pl.col("model") == train[0]).row(0, named=True)
    stored = runs.rows.filter(pl.col("model") == train[0])["latency_ms_p50"].min()
    assert trained["in_training"] and trained["runs"] == 1 and trained["measured_latency_ms"] == stored
    assert trained["inside_interval"] == (trained["lower_latency_ms"] <= stored <= trained["upper_latency_ms"])
    other = table.filter(pl.col("model") == "resnet8").row(0, named=True)
    assert not other["in_training"] and other["runs"] == 0 and other["measured_latency_ms"] is None
    assert other["inside_interval"] is None
    # resnet8's batch norm and residual additions exist in none of the three training families
    assert {"Add", "BatchNorm2d"} <= set(other["unseen_layer_types"].split(", "))
    assert trained["unseen_layer_types"] == ""
    with pytest.raises(UnknownNameError):
        predict_zoo(runs, ["resnet-8"], store, kind="flops")
    with pytest.raises(ParameterError, match="interval"):
        predict_zoo(runs, ["resnet8"], store, kind="flops", interval=90)


def test_a_kind_that_cannot_price_unseen_layer_types_leaves_them_null(own):
    store, train, runs = own
    table = predict_zoo(runs, [train[0], "resnet8"], store, kind="loglinear-layers", interval=0.5)
    by = {r["model"]: r for r in table.iter_rows(named=True)}
    assert by["resnet8"]["predicted_latency_ms"] is None and by["resnet8"]["upper_latency_ms"] is None
    assert by[train[0]]["predicted_latency_ms"] > 0
