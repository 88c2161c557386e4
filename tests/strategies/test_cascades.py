"""Exit decisions, expected FLOPs, sweeps, Pareto fronts, early-exit networks and cascades."""

import numpy as np
import pytest
import torch
from torch import nn

from workbench.errors import ParameterError, UnknownNameError
from workbench.strategies import cascades
from workbench.strategies.data import build_model, train_classifier


def _logits(probs):
    return torch.log(torch.tensor(probs, dtype=torch.float32))


def test_first_exit_by_confidence_and_entropy():
    # three samples, two stages; stage 0 confidences 0.9, 0.6, 0.3 (rest spread evenly)
    p0 = [[0.9] + [0.1 / 9] * 9, [0.6] + [0.4 / 9] * 9, [0.3] + [0.7 / 9] * 9]
    s0 = _logits(p0)
    s1 = torch.zeros(3, 10)
    assert cascades.first_exit([s0, s1], "confidence", 0.5).tolist() == [0, 0, 1]
    assert cascades.first_exit([s0, s1], "confidence", 0.9).tolist() == [0, 1, 1]  # >= threshold leaves
    assert cascades.first_exit([s0, s1], "confidence", 0.0).tolist() == [0, 0, 0]
    ent = cascades.normalized_entropy(s0)
    p = torch.tensor(p0)
    torch.testing.assert_close(ent, -(p * p.log()).sum(1) / np.log(10), rtol=1e-5, atol=1e-6)
    assert cascades.first_exit([s0, s1], "entropy", float(ent[1])).tolist() == [0, 0, 1]
    assert cascades.first_exit([s0, s1], "entropy", 1.0).tolist() == [0, 0, 0]
    assert float(cascades.normalized_entropy(torch.zeros(1, 10))) == pytest.approx(1.0, abs=1e-6)  # uniform


def test_expected_flops_equals_the_hand_computation():
    # 60 % leave at stage 0 (1,000 FLOPs), 30 % at stage 1 (5,000), 10 % at stage 2 (20,000)
    assert cascades.expected_flops([0.6, 0.3, 0.1], [1000, 5000, 20000]) == pytest.approx(
        0.6 * 1000 + 0.3 * 5000 + 0.1 * 20000, rel=1e-12)
    idx = torch.tensor([0, 0, 0, 1, 2, 0, 1, 0, 1, 0])
    np.testing.assert_allclose(cascades.exit_rates(idx, 3), [0.6, 0.3, 0.1], rtol=0, atol=1e-12)
    with pytest.raises(ParameterError, match="sum to 1"):
        cascades.expected_flops([0.5, 0.3], [1, 2])
    with pytest.raises(ParameterError, match="one rate per stage"):
        cascades.expected_flops([1.0], [1, 2])
    with pytest.raises(ParameterError, match="empty"):
        cascades.exit_rates(np.array([], dtype=int), 2)


def test_pareto_front_on_hand_points():
    cost = [1, 2, 3, 2, 5]
    acc = [0.90, 0.95, 0.94, 0.95, 0.99]
    # (3, .94) is beaten by (2, .95); the two identical (2, .95) points do not beat each other
    assert cascades.pareto_front(cost, acc).tolist() == [True, True, False, True, True]


def test_sweep_and_choose_threshold_on_hand_logits():
    y = torch.tensor([0, 1, 2, 3])
    # stage 0: confident and right on samples 0, 1; confident and wrong on 2; unsure on 3
    # (logit 4 against nine 0s: confidence e^4 / (e^4 + 9) = 0.858; all 0s: 0.1)
    s0 = torch.zeros(4, 10)
    s0[0, 0] = s0[1, 1] = s0[2, 5] = 4.0
    s1 = torch.zeros(4, 10)
    s1[torch.arange(4), y] = 4.0  # the last stage is always right
    sw = cascades.sweep([s0, s1], y, [100.0, 1100.0], thresholds=[0.5, 0.9], reference_flops=1000.0)
    r = sw.row(0, named=True)
    assert r["exit_rates"] == [0.75, 0.25] and r["accuracy"] == 0.75
    assert r["expected_flops"] == pytest.approx(0.75 * 100 + 0.25 * 1100, rel=1e-12)
    assert r["flops_reduction"] == pytest.approx(1000 / 350, rel=1e-12)
    assert r["exit_accuracies"][0] == pytest.approx(2 / 3) and r["exit_accuracies"][1] == 1.0
    strict = sw.row(1, named=True)  # 0.858 < 0.9: everyone goes on to the last stage
    assert strict["exit_rates"] == [0.0, 1.0] and strict["accuracy"] == 1.0 and np.isnan(strict["exit_accuracies"][0])
    assert sw["pareto"].to_list() == [True, True]
    assert cascades.choose_threshold(sw, 1.0, 0.0)["threshold"] == 0.9
    chosen = cascades.choose_threshold(sw, 1.0, 25.0)  # 25 points allowed: the cheap threshold qualifies
    assert chosen["threshold"] == 0.5 and chosen["met"]
    assert not cascades.choose_threshold(sw.head(1), 1.0, 0.0)["met"]


def test_bad_thresholds_criteria_and_inputs_raise_clear_errors():
    z = [torch.zeros(2, 10), torch.zeros(2, 10)]
    for bad in (-0.1, 1.5, float("nan"), "high"):
        with pytest.raises(ParameterError, match="threshold must be"):
            cascades.first_exit(z, "confidence", bad)
    with pytest.raises(UnknownNameError, match="Did you mean 'entropy'"):
        cascades.first_exit(z, "entropie", 0.5)
    with pytest.raises(ParameterError, match="empty"):
        cascades.sweep([torch.zeros(0, 10)] * 2, torch.zeros(0, dtype=torch.long), [1, 2], thresholds=[0.5])
    with pytest.raises(ParameterError, match="no stage logits"):
        cascades.sweep([], torch.zeros(2, dtype=torch.long), [], thresholds=[0.5])
    with pytest.raises(ParameterError, match="no thresholds"):
        cascades.sweep(z, torch.zeros(2, dtype=torch.long), [1, 2], thresholds=[])
    with pytest.raises(ParameterError, match="2 thresholds given for 1"):
        cascades.Cascade([nn.Linear(4, 2), nn.Linear(4, 2)], [0.5, 0.6])


def test_a_model_without_exits_is_refused():
    plain = build_model("mlp")
    with pytest.raises(ParameterError, match="has no side exits"):
        cascades.stage_logits(plain, torch.zeros(2, 1, 8, 8))
    with pytest.raises(ParameterError, match="has no side exits"):
        cascades.EarlyExitClassifier(plain, 0.9)
    with pytest.raises(ParameterError, match="has no side exits"):
        cascades.cumulative_flops(plain, torch.zeros(1, 1, 8, 8))


def test_early_exit_cumulative_flops_match_the_architecture():
    net = cascades.early_exit_cnn((8, 32, 64))
    cum = cascades.cumulative_flops(net, torch.zeros(1, 1, 8, 8))
    # conv FLOPs = 2 · k² · C_in · C_out · H_out · W_out; linear = 2 · in · out; pooling not counted
    s0, e0 = 2 * 9 * 1 * 8 * 64, 2 * 128 * 10
    s1, e1 = 2 * 9 * 8 * 32 * 16, 2 * 512 * 10
    s2, e2 = 2 * 9 * 32 * 64 * 16, 2 * 256 * 10
    assert cum == [s0 + e0, s0 + e0 + s1 + e1, s0 + e0 + s1 + e1 + s2 + e2]
    from workbench.measure.features import count_flops

    assert count_flops(cascades.ExitPath(net, 2, side_heads=False), torch.zeros(1, 1, 8, 8)) == s0 + s1 + s2 + e2


@pytest.fixture(scope="module")
def trained_ee(splits):
    torch.manual_seed(0)
    return cascades.train_early_exit(cascades.early_exit_cnn(), splits, epochs=15, seed=0)


def test_early_exit_inference_matches_the_offline_decision(trained_ee, splits):
    x = splits.val.x
    logits = cascades.stage_logits(trained_ee, x)
    clf = cascades.EarlyExitClassifier(trained_ee, 0.5, "confidence").eval()
    idx = cascades.first_exit(logits, "confidence", 0.5)
    with torch.inference_mode():
        out = clf(x)
        assert torch.equal(clf.last_exits_, idx)
        chosen = torch.stack(logits)[idx, torch.arange(len(x))]
        torch.testing.assert_close(out, chosen, rtol=1e-5, atol=1e-5)  # same ops on fewer rows
        for i in (0, 7, 42):  # batch-1 fast path takes the same exit
            clf(x[i:i + 1])
            assert int(clf.last_exits_[0]) == int(idx[i])
    # Real accuracies after 15 joint epochs (seed 0): final exit 95.3 %, first exit (8 channels) 90.6 %;
    # the bounds leave ~3 points for BLAS differences across CPUs.
    accs = [float((z.argmax(1) == splits.val.y).float().mean()) for z in logits]
    assert accs[-1] >= 0.92 and accs[0] >= 0.87
    rates = cascades.exit_rates(idx, 3)
    assert rates[0] > 0.3 and rates[2] < rates[0]  # the cheap first exit takes a large share of the digits


def test_cascade_expected_flops_equal_the_hand_computation(splits, trained_mlp):
    torch.manual_seed(0)
    large = train_classifier(build_model("cnn", seed=0), splits, epochs=5, seed=0)
    cas = cascades.Cascade([trained_mlp, large], 0.9)
    cum = cascades.cumulative_flops(cas, splits.test.x[:1])
    mlp_flops = 2 * (64 * 128 + 128 * 64 + 64 * 10)  # 34,048
    cnn_flops = 2 * (9 * 1 * 16 * 64 + 9 * 16 * 32 * 64 + 512 * 10)  # 618,496
    assert cum == [mlp_flops, mlp_flops + cnn_flops]
    logits = cascades.stage_logits(cas, splits.test.x)
    sw = cascades.sweep(logits, splits.test.y, cum, thresholds=[0.9], reference_flops=cnn_flops)
    r = sw.row(0, named=True)
    defer = r["exit_rates"][1]
    # every sample pays for the small model, the deferred fraction also for the large one
    assert r["expected_flops"] == pytest.approx(mlp_flops + defer * cnn_flops, rel=1e-12)
    with torch.inference_mode():
        cas(splits.test.x)
    np.testing.assert_allclose(cascades.exit_rates(cas.last_exits_, 2), r["exit_rates"], rtol=0, atol=1e-12)
