"""FLOPs, parameters and bytes against hand counts."""

import pytest
import torch
from torch import nn

from workbench.measure import features, zoo


def test_linear_flops_equal_hand_count():
    # y = xW^T + b: 2·in·out FLOPs per sample (multiply-accumulate = 2); the bias add is not counted
    layer = nn.Linear(64, 10)
    x = torch.randn(3, 64)
    assert features.count_flops(layer, x) == 2 * 64 * 10 * 3


def test_conv2d_flops_equal_hand_count():
    # 2 · Cout · Hout · Wout · Cin · Kh · Kw per sample
    conv = nn.Conv2d(3, 8, kernel_size=3, stride=1, padding=1)
    x = torch.randn(2, 3, 16, 16)
    assert features.count_flops(conv, x) == 2 * 8 * 16 * 16 * 3 * 3 * 3 * 2


def test_depthwise_conv_flops():
    conv = nn.Conv2d(8, 8, kernel_size=3, padding=1, groups=8)
    x = torch.randn(1, 8, 10, 10)
    assert features.count_flops(conv, x) == 2 * 8 * 10 * 10 * 9


def test_gru_flops_equal_hand_count():
    # per step: 3 gates × (input·hidden + hidden·hidden) MACs
    gru = nn.GRU(10, 64, batch_first=True)
    x = torch.randn(1, 49, 10)
    assert features.count_flops(gru, x) == 2 * 49 * 3 * (10 * 64 + 64 * 64)


def test_params_and_weight_bytes():
    m = nn.Sequential(nn.Linear(10, 20), nn.BatchNorm1d(20))
    # Linear 10·20+20, BN weight+bias 40 params; BN buffers: running mean/var (fp32) + num_batches (int64)
    assert features.count_params(m) == 220 + 40
    assert features.weight_bytes(m) == (260 + 40) * 4 + 8


def test_resnet8_matches_mlperf_tiny_size():
    # MLPerf Tiny (Banbury et al. 2021, Table 1): ResNet-8 has ~78k parameters and 12.5M MACs
    spec = zoo.resolve("resnet8")
    m = spec.build()
    assert features.count_params(m) == pytest.approx(78_000, rel=0.01)
    assert features.count_flops(m, spec.example_input(1)) == pytest.approx(2 * 12.5e6, rel=0.01)


def test_layer_breakdown_sums_to_total_flops():
    spec = zoo.resolve("vit-w0.5-d2-r16")
    m, x = spec.build(), spec.example_input(1)
    layers = features.layer_breakdown(m, x, repeats=2)
    assert sum(lay.flops for lay in layers) == features.count_flops(m, x)
    assert [lay.index for lay in layers] == list(range(len(layers)))
    assert {"Attention", "Linear", "LayerNorm", "Add"} <= {lay.type for lay in layers}
    assert all(lay.latency_ms >= 0 and lay.output_bytes > 0 for lay in layers)


def test_layer_breakdown_records_layer_shapes():
    m = nn.Sequential(nn.Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2)), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 10),
                      nn.GRU(10, 6, batch_first=True))
    x = torch.randn(2, 3, 16, 16)
    recs = features.layer_breakdown(m.eval()[:7], x, repeats=1) + features.layer_breakdown(
        nn.Sequential(m[7]), torch.randn(2, 4, 10), repeats=1)
    got = [(r.type, r.input_bytes, r.kernel_area, r.stride, r.groups, r.in_channels, r.out_channels) for r in recs]
    assert got == [
        ("Conv2d", 2 * 3 * 16 * 16 * 4, 15, 2, 1, 3, 8),
        ("BatchNorm2d", 2 * 8 * 8 * 8 * 4, None, None, None, 8, 8),
        ("ReLU", 2 * 8 * 8 * 8 * 4, None, None, None, None, None),
        ("Conv2d", 2 * 8 * 8 * 8 * 4, 9, 1, 8, 8, 8),
        ("MaxPool2d", 2 * 8 * 8 * 8 * 4, 4, 2, None, None, None),
        ("Flatten", 2 * 8 * 4 * 4 * 4, None, None, None, None, None),
        ("Linear", 2 * 128 * 4, None, None, None, 128, 10),
        ("GRU", 2 * 4 * 10 * 4, None, None, None, 10, 6),
    ]
