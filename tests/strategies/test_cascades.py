"""Early-exit networks and cascades as models: exits, inference, training, logits and FLOPs per stage."""

import numpy as np
import pytest
import torch
from torch import nn

from workbench.errors import ParameterError
from workbench.strategies import cascades, exits
from workbench.strategies.data import build_model, train_classifier


def test_a_cascade_takes_one_threshold_per_non_final_model():
    with pytest.raises(ParameterError, match="2 thresholds given for 1"):
        cascades.Cascade([nn.Linear(4, 2), nn.Linear(4, 2)], [0.5, 0.6])
    assert cascades.Cascade([nn.Linear(4, 2)] * 3, [0.5, 0.6]).thresholds == [0.5, 0.6]


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
    idx = exits.first_exit(logits, "confidence", 0.5)
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
    rates = exits.exit_rates(idx, 3)
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
    sw = exits.sweep(logits, splits.test.y, cum, thresholds=[0.9], reference_flops=cnn_flops)
    r = sw.row(0, named=True)
    defer = r["exit_rates"][1]
    # every sample pays for the small model, the deferred fraction also for the large one
    assert r["expected_flops"] == pytest.approx(mlp_flops + defer * cnn_flops, rel=1e-12)
    with torch.inference_mode():
        cas(splits.test.x)
    np.testing.assert_allclose(exits.exit_rates(cas.last_exits_, 2), r["exit_rates"], rtol=0, atol=1e-12)
