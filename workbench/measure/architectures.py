"""Architectures of the model zoo: the building blocks and one builder per family.

Each ``build_<family>(w, d, r)`` returns an untrained ``nn.Module`` for width multiplier ``w``,
depth ``d`` (repeated blocks) and resolution ``r`` (input side, sequence length or features, per
family); :mod:`workbench.measure.zoo` names the families, their grids and benchmark models.
"""

from __future__ import annotations

from torch import nn


def _c(channels: float, width: float, minimum: int = 4) -> int:
    """Channels scaled by a width multiplier, rounded to a multiple of 4 (at least ``minimum``)."""
    return max(minimum, int(round(channels * width / 4.0)) * 4)


# --------------------------------------------------------------------------------------------
# Leaf modules for operations that would otherwise hide inside a parent's forward, so that the
# per-layer breakdown (partitioning, per-layer cost models) sees them.


class Add(nn.Module):
    """Residual addition as a layer."""

    def forward(self, a, b):
        return a + b


class Attention(nn.Module):
    """Softmax attention core (QK^T, softmax, ·V) written with matmuls, so FLOPs are counted."""

    def __init__(self, heads: int):
        super().__init__()
        self.heads = heads

    def forward(self, qkv):
        b, n, three_d = qkv.shape
        d = three_d // 3
        q, k, v = qkv.reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
        out = att.softmax(dim=-1) @ v
        return out.transpose(1, 2).reshape(b, n, d)


# --------------------------------------------------------------------------------------------
# Families


def build_mlp(w: float, d: int, r: int) -> nn.Module:
    """Multi-layer perceptron: width multiplier ``w``, ``d`` hidden layers, input resolution ``r``."""
    hidden = _c(256, w)
    layers: list[nn.Module] = [nn.Flatten()]
    size = r * r
    for _ in range(d):
        layers += [nn.Linear(size, hidden), nn.ReLU()]
        size = hidden
    layers.append(nn.Linear(size, 10))
    return nn.Sequential(*layers)


def build_lenet(w: float, d: int, r: int) -> nn.Module:
    """LeNet-style CNN: width multiplier ``w``, ``d`` conv stages, input resolution ``r``."""
    chans = [_c(6, w), _c(16, w), _c(32, w)][:d]
    layers: list[nn.Module] = []
    cin, side = 1, r
    for cout in chans:
        layers += [nn.Conv2d(cin, cout, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2)]
        cin, side = cout, side // 2
    layers += [nn.Flatten(), nn.Linear(cin * side * side, _c(120, w)), nn.ReLU(),
               nn.Linear(_c(120, w), _c(84, w)), nn.ReLU(), nn.Linear(_c(84, w), 10)]
    return nn.Sequential(*layers)


def build_vgg(w: float, d: int, r: int) -> nn.Module:
    """VGG-style CNN: width multiplier ``w``, ``d`` conv stages, input resolution ``r``."""
    layers: list[nn.Module] = []
    cin = 3
    for stage, ch in enumerate((32, 64, 128, 256)):
        cout = _c(ch, w)
        for _ in range(d if stage else 1):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
            cin = cout
        layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """ResNet basic block (two 3×3 convolutions with batch norm and a shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout else nn.Identity()
        )
        self.add = Add()
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(self.add(out, self.shortcut(x)))


def build_resnet(w: float, d: int, r: int) -> nn.Module:
    """ResNet for 32×32 inputs; d=1 with w=1 is MLPerf Tiny's ResNet-8 (16/32/64 channels)."""
    c0 = _c(16, w)
    layers: list[nn.Module] = [nn.Conv2d(3, c0, 3, 1, 1, bias=False), nn.BatchNorm2d(c0), nn.ReLU()]
    cin = c0
    for stage, ch in enumerate((16, 32, 64)):
        cout = _c(ch, w)
        for i in range(d):
            layers.append(BasicBlock(cin, cout, 2 if (stage and i == 0) else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)


def _dw_separable(cin: int, cout: int, stride: int) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU(),
        nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
    ]


def build_mobilenetv1(w: float, d: int, r: int, classes: int = 2) -> nn.Module:
    """MobileNetV1 (Howard et al. 2017); d = number of 512-channel middle blocks (5 in the paper)."""
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * d + [(1024, 2), (1024, 1)]
    c0 = _c(32, w, 8)
    layers: list[nn.Module] = [nn.Conv2d(3, c0, 3, 2, 1, bias=False), nn.BatchNorm2d(c0), nn.ReLU()]
    cin = c0
    for ch, stride in cfg:
        cout = _c(ch, w, 8)
        layers += _dw_separable(cin, cout, stride)
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 inverted residual (expand 1×1, depthwise 3×3, project 1×1)."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hid = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6()]
        layers += [nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(),
                   nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout
        self.add = Add()

    def forward(self, x):
        out = self.body(x)
        return self.add(x, out) if self.residual else out


def build_mobilenetv2(w: float, d: int, r: int) -> nn.Module:
    """MobileNetV2 (Sandler et al. 2018); d scales the repeats of each stage (paper: d=1 → 1,2,3,4,3,3,1)."""
    cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    c0 = _c(32, w, 8)
    layers: list[nn.Module] = [nn.Conv2d(3, c0, 3, 2, 1, bias=False), nn.BatchNorm2d(c0), nn.ReLU6()]
    cin = c0
    for t, ch, n, s in cfg:
        cout = _c(ch, w, 8)
        for i in range(max(1, round(n * d / 2))):  # d=2 is the paper's depth
            layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
            cin = cout
    last = _c(1280, max(1.0, w), 8)
    layers += [nn.Conv2d(cin, last, 1, bias=False), nn.BatchNorm2d(last), nn.ReLU6(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(last, 10)]
    return nn.Sequential(*layers)


def build_dscnn(w: float, d: int, r: int) -> nn.Module:
    """DS-CNN for keyword spotting (Zhang et al. 2017; MLPerf Tiny KWS): input 1×r×10 MFCC (r=49)."""
    c = _c(64, w)
    layers: list[nn.Module] = [nn.Conv2d(1, c, (10, 4), (2, 2), (5, 1), bias=False), nn.BatchNorm2d(c), nn.ReLU()]
    for _ in range(d):
        layers += _dw_separable(c, c, 1)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 12)]
    return nn.Sequential(*layers)


def build_autoencoder(w: float, d: int, r: int) -> nn.Module:
    """Fully connected autoencoder (MLPerf Tiny anomaly detection): r input features (640), bottleneck 8."""
    h = _c(128, w)
    sizes = [r] + [h] * d + [8] + [h] * d + [r]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [nn.BatchNorm1d(b), nn.ReLU()]
    return nn.Sequential(*layers)


class EncoderBlock(nn.Module):
    """Transformer encoder block (pre-norm self-attention and MLP)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 2):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attn = Attention(heads)
        self.proj = nn.Linear(dim, dim)
        self.add1 = Add()
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp_ratio * dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(mlp_ratio * dim, dim)
        self.add2 = Add()

    def forward(self, x):
        x = self.add1(x, self.proj(self.attn(self.qkv(self.norm1(x)))))
        return self.add2(x, self.fc2(self.act(self.fc1(self.norm2(x)))))


class PatchEmbed(nn.Module):
    """Image to a sequence of patch embeddings (a strided convolution)."""

    def __init__(self, dim: int, patch: int):
        super().__init__()
        self.conv = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x):
        return self.conv(x).flatten(2).transpose(1, 2)


class MeanPool(nn.Module):
    """Mean over the sequence dimension."""

    def forward(self, x):
        return x.mean(dim=1)


def build_vit(w: float, d: int, r: int) -> nn.Module:
    """A small Vision Transformer (Dosovitskiy et al. 2021) for r×r images, patch 4, 4 heads."""
    dim = _c(64, w, 16)
    return nn.Sequential(PatchEmbed(dim, 4), *[EncoderBlock(dim, 4) for _ in range(d)],
                         nn.LayerNorm(dim), MeanPool(), nn.Linear(dim, 10))


class LastStep(nn.Module):
    """The last time step of a recurrent layer's output."""

    def forward(self, out):
        return out[0][:, -1]


def build_gru(w: float, d: int, r: int) -> nn.Module:
    """GRU keyword spotter: sequence of r frames × 10 MFCC features, d layers, hidden 64·w, 12 classes."""
    h = _c(64, w)
    return nn.Sequential(nn.GRU(10, h, num_layers=d, batch_first=True), LastStep(), nn.Linear(h, 12))
