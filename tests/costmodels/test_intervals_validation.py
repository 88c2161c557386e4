"""Conformal interval coverage on synthetic data; metrics and leave-one-family-out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.costmodels import ConformalCostModel, LogLinearCostModel, leave_one_group_out, metrics, summarize
from workbench.costmodels.intervals import conformal_quantile
from workbench.errors import ParameterError


def lognormal_data(n: int, seed: int, sigma: float = 0.2):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"flops": rng.uniform(1e5, 1e9, n), "weight_bytes": rng.uniform(1e3, 1e7, n)})
    y = np.exp(-2 + 0.7 * np.log1p(X["flops"]) + 0.1 * np.log1p(X["weight_bytes"]) + rng.normal(0, sigma, n))
    return X, y.to_numpy()


@pytest.mark.parametrize("coverage", [0.8, 0.9])
def test_conformal_coverage_on_synthetic_data(global_random_seed, coverage):
    X, y = lognormal_data(600, global_random_seed)
    Xt, yt = lognormal_data(4000, global_random_seed + 1)
    m = ConformalCostModel(LogLinearCostModel(), interval=coverage).fit(X, y)
    lo, hi = m.predict_interval(Xt)
    got = np.mean((yt >= lo) & (yt <= hi))
    # split-conformal coverage of a fresh test point is Beta-distributed around the nominal coverage with sd
    # ≈ sqrt(a(1-a)/n_cal) ≈ 0.012 for n=600; 4,000 test points add ≈ 0.005: allow ±0.04 (≈3 sd)
    assert abs(got - coverage) < 0.04
    # the half-width in log space approaches the normal quantile × sigma (0.2) of the noise
    z = {0.8: 1.2816, 0.9: 1.6449}[coverage]
    assert m.q_ == pytest.approx(z * 0.2, rel=0.15)  # ±15 %: sampling error of a quantile of 600 draws


def test_conformal_group_calibration_and_errors():
    X, y = lognormal_data(200, 3)
    groups = np.repeat(list("abcdefghij"), 20)
    m = ConformalCostModel(LogLinearCostModel(), interval=0.9, cv=5).fit(X, y, groups=groups)
    assert m.oof_log_ratio_.shape == (200,) and np.isfinite(m.q_)
    bad = ConformalCostModel(interval=90)  # __init__ only stores (sklearn); fit checks
    with pytest.raises(ParameterError, match=r"interval must be in \(0, 1\), got 90.*interval=0.9"):
        bad.fit(X, y)
    with pytest.raises(ParameterError, match="cv must be an integer ≥ 2, got 1"):
        ConformalCostModel(cv=1).fit(X, y)
    # a single group cannot be held out: falls back to K-fold over rows, same as no groups
    one = ConformalCostModel(LogLinearCostModel()).fit(X, y, groups=np.zeros(200))
    assert one.q_ == ConformalCostModel(LogLinearCostModel()).fit(X, y).q_


def test_conformal_quantile_finite_sample_rule():
    scores = np.arange(1, 10)  # n = 9
    assert conformal_quantile(scores, 0.1) == 9  # ceil(10·0.9) = 9th smallest
    assert conformal_quantile(scores, 0.5) == 5  # ceil(10·0.5) = 5th
    assert conformal_quantile(scores[:5], 0.1) == float("inf")  # too few points for 90 %


def test_metrics_hand_computed():
    y, p = np.array([1.0, 2.0, 4.0, 10.0]), np.array([1.05, 2.5, 4.0, 8.0])
    m = metrics(y, p, lower=p * 0.9, upper=p * 1.1)
    # relative errors 0.05, 0.25, 0, 0.2
    assert m["mape"] == pytest.approx(0.125, rel=1e-12)
    assert m["within10"] == pytest.approx(0.5)
    assert m["rmse"] == pytest.approx(np.sqrt((0.05**2 + 0.5**2 + 0 + 4.0) / 4), rel=1e-12)
    assert m["coverage"] == pytest.approx(0.5)  # 1 and 4 are inside ±10 % of p; 2 and 10 are not


def test_leave_one_group_out_never_sees_the_held_out_family():
    # family "c" follows another law: a model fitted without it mispredicts it, with it would not
    X, y = lognormal_data(90, 4, sigma=0.0)
    groups = np.repeat(["a", "b", "c"], 30)
    y = np.where(groups == "c", y * 3.0, y)
    pred = leave_one_group_out(LogLinearCostModel(alpha=0.0), X, y, groups)
    by = summarize(pred, by="group").set_index("group")
    assert by.loc["c", "mape"] == pytest.approx(2 / 3, rel=0.05)  # predicts y/3 for "c": error 2/3
    with pytest.raises(ParameterError, match="at least 2 groups"):
        leave_one_group_out(LogLinearCostModel(), X, y, np.zeros(90))


def test_train_only_rows_are_always_trained_on_and_never_predicted(monkeypatch):
    """An operator benchmark ("k") that shares family c's operator teaches the model c's law."""
    X, y = lognormal_data(120, 5, sigma=0.0)
    groups = np.repeat(["a", "b", "c", "k"], 30)
    op = np.isin(groups, ["c", "k"])  # the rows that use the slow operator
    X = X.assign(uses_op=op.astype(float))
    y = np.where(op, y * 3.0, y)
    kernels = groups == "k"
    pred = leave_one_group_out(LogLinearCostModel(alpha=0.0), X, y, groups, train_only=kernels)
    assert sorted(set(pred["group"])) == ["a", "b", "c"] and len(pred) == 90
    by = summarize(pred, by="group").set_index("group")
    assert by.loc["c", "mape"] < 1e-6  # learned from "k" although "c" was held out
    blind = leave_one_group_out(LogLinearCostModel(alpha=0.0), X[~kernels], y[~kernels], groups[~kernels])
    assert summarize(blind, by="group").set_index("group").loc["c", "mape"] == pytest.approx(2 / 3, rel=0.05)
    # intervals: each fold's conformal fit is told which rows are operator rows (not a calibration family)
    seen, fit = [], ConformalCostModel.fit

    def spy(self, X, y, groups=None, train_only=None, **kw):
        seen.append((sorted(set(groups)), int(np.sum(train_only))))
        return fit(self, X, y, groups=groups, train_only=train_only, **kw)

    monkeypatch.setattr(ConformalCostModel, "fit", spy)
    pc = leave_one_group_out(ConformalCostModel(LogLinearCostModel()), X, y, groups, train_only=kernels)
    assert seen == [(["b", "c", "k"], 30), (["a", "c", "k"], 30), (["a", "b", "k"], 30)] and "lower" in pc
    with pytest.raises(ParameterError, match="train_only has 3 entries for 120 rows"):
        leave_one_group_out(LogLinearCostModel(), X, y, groups, train_only=[True, False, True])


def test_parallel_folds_give_the_same_predictions_and_intervals():
    X, y = lognormal_data(90, 3)
    groups = np.repeat(["a", "b", "c"], 30)
    serial = leave_one_group_out(ConformalCostModel(LogLinearCostModel()), X, y, groups)
    parallel = leave_one_group_out(ConformalCostModel(LogLinearCostModel()), X, y, groups, n_jobs=2)
    pd.testing.assert_frame_equal(serial, parallel)
    assert list(serial.columns) == ["group", "y_true", "y_pred", "lower", "upper"]
    with pytest.raises(ParameterError, match="n_jobs must be a non-zero integer"):
        leave_one_group_out(LogLinearCostModel(), X, y, groups, n_jobs=0)


def test_train_only_rows_give_no_calibration_residuals():
    """Operator-benchmark rows (another law, flagged by a feature) train every fold but are not a family
    whose held-out error sets the interval width."""
    X, y = lognormal_data(400, 8)
    groups = np.repeat(["a", "b", "c", "d"], 100)
    Xk, yk = lognormal_data(200, 9)
    Xall = pd.concat([X.assign(uses_op=0.0), Xk.assign(uses_op=1.0)], ignore_index=True)
    yall = np.concatenate([y, yk * 5.0])
    gall = np.concatenate([groups, np.repeat("kernels", 200)])
    ops = gall == "kernels"
    m = ConformalCostModel(LogLinearCostModel(), interval=0.9).fit(Xall, yall, groups=gall, train_only=ops)
    assert m.oof_log_ratio_.size == 400
    naive = ConformalCostModel(LogLinearCostModel(), interval=0.9).fit(Xall, yall, groups=gall,
                                                                     train_only=np.zeros(600, bool))
    assert naive.q_ > 2 * m.q_  # predicting the held-out operator rows from the rest: log 5 off
    default = ConformalCostModel(LogLinearCostModel(), interval=0.9).fit(Xall, yall, groups=gall)
    assert default.q_ == m.q_  # the group named schema.OPERATOR_FAMILY ("kernels") is train-only by default
    Xt, yt = lognormal_data(4000, 10)
    lo, hi = m.predict_interval(Xt.assign(uses_op=0.0))
    assert 0.86 <= np.mean((yt >= lo) & (yt <= hi)) <= 0.94  # 90 % intervals, sd of coverage ≈ 0.015
    with pytest.raises(ParameterError, match="some, not all"):
        ConformalCostModel(LogLinearCostModel()).fit(Xall, yall, train_only=np.ones(600, bool))


def test_evaluate_family_out_per_device_class_and_family():
    from workbench.costmodels.validation import evaluate_family_out

    from ._synthetic import synthetic_networks

    X, y, _ = synthetic_networks(60, 21)
    meta = pd.DataFrame({"model_family": np.repeat(["f1", "f2", "f3"], 20),
                         "device_class": np.tile(["edge-cpu", "server-cpu"], 30)})
    pred, table = evaluate_family_out(X, y, meta, kinds=["flops", "additive"], interval=None)
    assert len(pred) == 120
    t = table.set_index(["kind", "device_class", "model_family"])
    assert t.loc[("additive", "edge-cpu", "all"), "n"] == 30 and t.loc[("additive", "all", "f2"), "n"] == 20
    # synthetic latencies are exactly additive: the additive model is near exact even family-out
    assert t.loc[("additive", "all", "all"), "mape"] < 0.02
    assert t.loc[("flops", "all", "all"), "mape"] > 0.1  # FLOPs alone cannot explain them


def test_evaluate_family_out_never_scores_operator_benchmark_rows():
    from workbench.costmodels.validation import evaluate_family_out
    from workbench.schema import OPERATOR_FAMILY

    from ._synthetic import synthetic_networks

    X, y, _ = synthetic_networks(80, 22)
    meta = pd.DataFrame({"model_family": np.repeat(["f1", "f2", "f3", OPERATOR_FAMILY], 20)})
    pred, table = evaluate_family_out(X, y, meta, kinds=["additive"], interval=0.9)
    assert len(pred) == 60 and OPERATOR_FAMILY not in set(pred["model_family"])
    assert sorted(table["model_family"]) == ["all", "f1", "f2", "f3"]


def test_layer_sum_family_out_is_exact_where_layers_add_up():
    from workbench.costmodels.validation import layer_sum_family_out

    rng = np.random.default_rng(5)
    s = rng.uniform(0.1, 10.0, 90)
    y = 0.02 + 0.9 * s  # every network: call = 0.02 ms + 0.9 × its measured layer sum
    groups = np.repeat(["a", "b", "c"], 30)
    ops = np.zeros(90, bool)
    ops[:10] = True
    y[:10] = 1.0 + 3.0 * s[:10]  # operator blocks follow another relation: neither fitted nor scored
    p = layer_sum_family_out(y, s, groups, operator_rows=ops)
    assert len(p) == 80 and p["group"].tolist() == groups[10:].tolist()
    np.testing.assert_allclose(p["y_pred"], y[10:], rtol=1e-9)
    assert summarize(p).iloc[0]["within10"] == 1.0
    # a 20 % slower family cannot be told from the others' layer sums: predicted 1/1.2 of its latency
    y2 = y.copy()
    y2[groups == "c"] *= 1.2
    p2 = layer_sum_family_out(y2, s, groups, operator_rows=ops)
    np.testing.assert_allclose(p2.loc[p2["group"] == "c", "y_pred"] / p2.loc[p2["group"] == "c", "y_true"], 1 / 1.2,
                               rtol=1e-9)


def test_layer_sum_family_out_errors():
    from workbench.costmodels.validation import layer_sum_family_out

    s = np.ones(6)
    with pytest.raises(ParameterError, match=r"row 2: latency nan ms.*Fix: drop rows"):
        layer_sum_family_out([1, 1, np.nan, 1, 1, 1], s, list("aabbcc"))
    with pytest.raises(ParameterError, match="one entry per row, got 6, 5"):
        layer_sum_family_out(np.ones(6), np.ones(5), list("aabbcc"))
    with pytest.raises(ParameterError, match=r"at least 2 groups, got \['a'\]"):
        layer_sum_family_out(np.ones(6), s, list("aaaaaa"))
