"""int8 quantization, pruning and distillation on a trained digits MLP."""

import pytest
import torch
from torch import nn

from workbench.errors import ParameterError
from workbench.measure.features import weight_bytes
from workbench.strategies import compression
from workbench.strategies.data import accuracy, mlp, predict_logits, small_cnn


def _linear_weights(model):
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("kind", ["dynamic", "static"])
def test_int8_weights_are_really_int8_and_accuracy_holds(kind, splits, trained_mlp):
    q = (compression.quantize_int8_dynamic(trained_mlp) if kind == "dynamic"
         else compression.quantize_int8_static(trained_mlp, splits.train.x[:256]))
    for w_fp, w_q in zip(_linear_weights(trained_mlp), _linear_weights(q), strict=True):
        assert w_q.qdata.dtype == torch.int8 and w_q.qdata.shape == w_fp.shape
        # per-row symmetric scales: dequantised weights are within half a step of the fp32 ones
        step = w_q.scale.reshape(-1, 1)
        assert torch.all((w_q.qdata.float() * step - w_fp.detach()).abs() <= step / 2 + 1e-6)
    assert set(compression.int8_weight_dtypes(q).values()) == {torch.int8}
    assert _linear_weights(trained_mlp)[0].dtype == torch.float32  # the input model is untouched
    # Weight bytes: 17,226 fp32 params = 68,904 B; int8 = 16,960 weight B + 138 fp32 biases (552 B)
    # + per-row fp32 scales (202 × 4 B) + int8 zero points where kept (202 B): ratio above 3.5.
    assert weight_bytes(trained_mlp) == 17226 * 4
    assert weight_bytes(trained_mlp) / weight_bytes(q) >= 3.5
    # accuracy within 1 point of fp32 (the target); 360 test images → 1 image = 0.28 points
    assert accuracy(q, splits.test) >= accuracy(trained_mlp, splits.test) - 0.01


def test_static_scales_come_from_calibration(splits, trained_mlp):
    calib = splits.train.x[:64]
    absmax = compression.calibrate_activation_absmax(trained_mlp, calib)
    assert set(absmax) == {"1", "3", "5"}
    assert absmax["1"] == pytest.approx(float(calib.abs().max()), rel=0, abs=0)  # first layer sees the pixels
    q = compression.quantize_int8_static(trained_mlp, calib)
    for name, mod in q.named_modules():
        if isinstance(mod, nn.Linear):
            assert float(mod.weight.act_quant_scale) == pytest.approx(absmax[name] / 127, rel=1e-6)
    with pytest.raises(ParameterError, match="calibration set is empty"):
        compression.quantize_int8_static(trained_mlp, calib[:0])
    with pytest.raises(ParameterError, match="no nn.Linear"):
        compression.quantize_int8_dynamic(nn.Sequential(nn.ReLU()))


def test_unstructured_pruning_zeroes_exactly_and_is_permanent(trained_mlp):
    p = compression.prune_unstructured(trained_mlp, 0.5)
    for w_fp, w in zip(_linear_weights(trained_mlp), _linear_weights(p), strict=True):
        n = w.numel()
        assert int((w == 0).sum()) == round(0.5 * n)  # torch prune: round(amount · n) per layer
        kept = w != 0
        # magnitude pruning: every kept |w| >= every pruned |w|
        assert float(w_fp.detach().abs()[kept].min()) >= float(w_fp.detach().abs()[~kept].max())
    assert not any(hasattr(m, "weight_orig") for m in p.modules())  # masks made permanent
    assert sum(x.numel() for x in p.parameters()) == 17226  # dense storage: same parameter count
    assert compression.nonzero_params(p) == 17226 - (4096 + 4096 + 320)
    with pytest.raises(ParameterError, match="pruning amount"):
        compression.prune_unstructured(trained_mlp, 1.2)


def test_structured_pruning_shrinks_layers_to_the_hand_count(trained_mlp, splits):
    p = compression.prune_structured(trained_mlp, 0.5)
    # 64→128→64→10 keeps half the hidden neurons: Linear(64,64) + Linear(64,32) + Linear(32,10)
    assert sum(x.numel() for x in p.parameters()) == (64 * 64 + 64) + (64 * 32 + 32) + (32 * 10 + 10) == 6570
    # the pruned model computes exactly what the original computes with the removed neurons zeroed
    ref = mlp((128, 64))
    ref.load_state_dict(trained_mlp.state_dict())
    with torch.no_grad():
        for i, j in ((1, 3), (3, 5)):
            norms = ref[i].weight.abs().sum(1)  # L1 norm over the inputs still present
            drop = torch.argsort(norms)[: ref[i].out_features // 2]
            ref[i].weight[drop] = 0
            ref[i].bias[drop] = 0  # ReLU(0) = 0: the neuron is gone
            ref[j].weight[:, drop] = 0  # its outgoing weights no longer count towards the next norms
    torch.testing.assert_close(predict_logits(p, splits.val.x), predict_logits(ref, splits.val.x),
                               rtol=1e-5, atol=1e-5)  # float32 sums in a different order


def test_structured_pruning_of_a_cnn_through_flatten(splits):
    torch.manual_seed(0)
    cnn = small_cnn((16, 32))
    p = compression.prune_structured(cnn, 0.5)
    # Conv(1→8): 8·9+8 = 80; Conv(8→16): 16·8·9+16 = 1168; Linear(16·4·4→10): 2560+10 = 2570
    assert sum(x.numel() for x in p.parameters()) == 80 + 1168 + 2570
    assert p(splits.val.x[:5]).shape == (5, 10)
    same = compression.prune_structured(cnn, 0.0)  # nothing removed: identical function
    torch.testing.assert_close(same(splits.val.x[:5]), cnn(splits.val.x[:5]), rtol=0, atol=0)
    with pytest.raises(ParameterError, match="not supported"):
        compression.prune_structured(nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)), 0.5)
    with pytest.raises(ParameterError, match="nn.Sequential"):
        compression.prune_structured(nn.Linear(4, 4), 0.5)


def test_distillation_loss_matches_the_formula():
    g = torch.Generator().manual_seed(0)
    zs, zt = torch.randn(8, 10, generator=g), torch.randn(8, 10, generator=g)
    y = torch.randint(0, 10, (8,), generator=g)
    t, a = 3.0, 0.7
    ps, pt = torch.softmax(zs / t, 1), torch.softmax(zt / t, 1)
    kl = (pt * (pt.log() - ps.log())).sum(1).mean()
    ce = -torch.log_softmax(zs, 1)[torch.arange(8), y].mean()
    expected = a * t * t * kl + (1 - a) * ce
    torch.testing.assert_close(compression.distillation_loss(zs, zt, y, temperature=t, alpha=a), expected,
                               rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(compression.distillation_loss(zs, zt, y, alpha=0.0), ce, rtol=1e-6, atol=1e-6)
    with pytest.raises(ParameterError, match="temperature"):
        compression.distillation_loss(zs, zt, y, temperature=0)


def test_distilled_student_learns_from_the_teacher(splits, trained_mlp):
    torch.manual_seed(0)
    student = compression.distill(mlp((32,)), trained_mlp, splits, epochs=10, seed=0)
    # a 32-unit student after 10 epochs at lr 1e-3 is still under-trained (~85 %); far above 10 % chance
    assert accuracy(student, splits.test) >= 0.75
