"""Exit decisions, expected FLOPs, sweeps, Pareto fronts and the threshold choice, on hand-made logits."""

import numpy as np
import pytest
import torch

from workbench.errors import ParameterError, UnknownNameError
from workbench.strategies import exits


def _logits(probs):
    return torch.log(torch.tensor(probs, dtype=torch.float32))


def test_first_exit_by_confidence_and_entropy():
    # three samples, two stages; stage 0 confidences 0.9, 0.6, 0.3 (rest spread evenly)
    p0 = [[0.9] + [0.1 / 9] * 9, [0.6] + [0.4 / 9] * 9, [0.3] + [0.7 / 9] * 9]
    s0 = _logits(p0)
    s1 = torch.zeros(3, 10)
    assert exits.first_exit([s0, s1], "confidence", 0.5).tolist() == [0, 0, 1]
    assert exits.first_exit([s0, s1], "confidence", 0.9).tolist() == [0, 1, 1]  # >= threshold leaves
    assert exits.first_exit([s0, s1], "confidence", 0.0).tolist() == [0, 0, 0]
    ent = exits.normalized_entropy(s0)
    p = torch.tensor(p0)
    torch.testing.assert_close(ent, -(p * p.log()).sum(1) / np.log(10), rtol=1e-5, atol=1e-6)
    assert exits.first_exit([s0, s1], "entropy", float(ent[1])).tolist() == [0, 0, 1]
    assert exits.first_exit([s0, s1], "entropy", 1.0).tolist() == [0, 0, 0]
    assert float(exits.normalized_entropy(torch.zeros(1, 10))) == pytest.approx(1.0, abs=1e-6)  # uniform


def test_expected_flops_equals_the_hand_computation():
    # 60 % leave at stage 0 (1,000 FLOPs), 30 % at stage 1 (5,000), 10 % at stage 2 (20,000)
    assert exits.expected_flops([0.6, 0.3, 0.1], [1000, 5000, 20000]) == pytest.approx(
        0.6 * 1000 + 0.3 * 5000 + 0.1 * 20000, rel=1e-12)
    idx = torch.tensor([0, 0, 0, 1, 2, 0, 1, 0, 1, 0])
    np.testing.assert_allclose(exits.exit_rates(idx, 3), [0.6, 0.3, 0.1], rtol=0, atol=1e-12)
    with pytest.raises(ParameterError, match="sum to 1"):
        exits.expected_flops([0.5, 0.3], [1, 2])
    with pytest.raises(ParameterError, match="one rate per stage"):
        exits.expected_flops([1.0], [1, 2])
    with pytest.raises(ParameterError, match="empty"):
        exits.exit_rates(np.array([], dtype=int), 2)


def test_pareto_front_on_hand_points():
    cost = [1, 2, 3, 2, 5]
    acc = [0.90, 0.95, 0.94, 0.95, 0.99]
    # (3, .94) is beaten by (2, .95); the two identical (2, .95) points do not beat each other
    assert exits.pareto_front(cost, acc).tolist() == [True, True, False, True, True]


def test_sweep_and_choose_threshold_on_hand_logits():
    y = torch.tensor([0, 1, 2, 3])
    # stage 0: confident and right on samples 0, 1; confident and wrong on 2; unsure on 3
    # (logit 4 against nine 0s: confidence e^4 / (e^4 + 9) = 0.858; all 0s: 0.1)
    s0 = torch.zeros(4, 10)
    s0[0, 0] = s0[1, 1] = s0[2, 5] = 4.0
    s1 = torch.zeros(4, 10)
    s1[torch.arange(4), y] = 4.0  # the last stage is always right
    sw = exits.sweep([s0, s1], y, [100.0, 1100.0], thresholds=[0.5, 0.9], reference_flops=1000.0)
    r = sw.row(0, named=True)
    assert r["exit_rates"] == [0.75, 0.25] and r["accuracy"] == 0.75
    assert r["expected_flops"] == pytest.approx(0.75 * 100 + 0.25 * 1100, rel=1e-12)
    assert r["flops_reduction"] == pytest.approx(1000 / 350, rel=1e-12)
    assert r["exit_accuracies"][0] == pytest.approx(2 / 3) and r["exit_accuracies"][1] == 1.0
    strict = sw.row(1, named=True)  # 0.858 < 0.9: everyone goes on to the last stage
    assert strict["exit_rates"] == [0.0, 1.0] and strict["accuracy"] == 1.0 and np.isnan(strict["exit_accuracies"][0])
    assert sw["pareto"].to_list() == [True, True]
    assert exits.choose_threshold(sw, 1.0, 0.0)["threshold"] == 0.9
    chosen = exits.choose_threshold(sw, 1.0, 25.0)  # 25 points allowed: the cheap threshold qualifies
    assert chosen["threshold"] == 0.5 and chosen["met"]
    assert not exits.choose_threshold(sw.head(1), 1.0, 0.0)["met"]


def test_bad_thresholds_criteria_and_inputs_raise_clear_errors():
    z = [torch.zeros(2, 10), torch.zeros(2, 10)]
    for bad in (-0.1, 1.5, float("nan"), "high"):
        with pytest.raises(ParameterError, match="threshold must be"):
            exits.first_exit(z, "confidence", bad)
    with pytest.raises(UnknownNameError, match="Did you mean 'entropy'"):
        exits.first_exit(z, "entropie", 0.5)
    with pytest.raises(ParameterError, match="empty"):
        exits.sweep([torch.zeros(0, 10)] * 2, torch.zeros(0, dtype=torch.long), [1, 2], thresholds=[0.5])
    with pytest.raises(ParameterError, match="no stage logits"):
        exits.sweep([], torch.zeros(2, dtype=torch.long), [], thresholds=[0.5])
    with pytest.raises(ParameterError, match="no thresholds"):
        exits.sweep(z, torch.zeros(2, dtype=torch.long), [1, 2], thresholds=[])
    with pytest.raises(ParameterError, match="2 thresholds given for 1"):
        exits.thresholds_for([0.5, 0.6], 2)
    assert exits.thresholds_for(torch.tensor([0.5, 0.6]), 3) == pytest.approx([0.5, 0.6], abs=1e-7)  # float32
    assert exits.thresholds_for(np.float64(0.9), 3) == [0.9, 0.9]
