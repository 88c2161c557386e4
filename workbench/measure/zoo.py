"""Model zoo defined in code (no downloaded weights): families of the continuum's workloads.

Every model has a name that ``workbench profile --model NAME`` accepts:

- a family's default, e.g. ``resnet``;
- a named benchmark model, e.g. ``resnet8`` (MLPerf Tiny image classification),
  ``mobilenetv1-vww`` (MLPerf Tiny visual wake words, MobileNetV1 α=0.25, 96×96),
  ``dscnn-kws`` (MLPerf Tiny keyword spotting), ``fc-autoencoder-ad`` (MLPerf Tiny anomaly detection);
- a variant ``FAMILY-w<width>-d<depth>-r<resolution>``, e.g. ``vgg-w0.5-d2-r32``, where width
  multiplies channels/hidden sizes, depth the number of repeated blocks and resolution sets the input
  side (or sequence length / input features, per family; see :data:`FAMILIES`).

References
----------
MLPerf Tiny reference models: Banbury et al., "MLPerf Tiny Benchmark", NeurIPS Datasets and
Benchmarks 2021, Table 1 (ResNet-8, MobileNetV1-0.25, DS-CNN, FC-AutoEncoder).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from workbench.errors import ParameterError, UnknownNameError
from workbench.measure.architectures import (
    build_autoencoder,
    build_dscnn,
    build_gru,
    build_lenet,
    build_mlp,
    build_mobilenetv1,
    build_mobilenetv2,
    build_resnet,
    build_vgg,
    build_vit,
)


@dataclass(frozen=True)
class Family:
    """A family of models and the grid of its variants."""

    name: str
    task: str
    build: Callable[[float, int, int], nn.Module]
    input_shape: Callable[[int], tuple[int, ...]]
    default: tuple[float, int, int]
    widths: tuple[float, ...]
    depths: tuple[int, ...]
    resolutions: tuple[int, ...]
    resolution_means: str = "input side in pixels"
    notes: str = ""
    extra: dict = field(default_factory=dict)


_W = (0.25, 0.5, 0.75, 1.0, 1.5)

FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("mlp", "image-classification", build_mlp, lambda r: (1, r, r), (1.0, 3, 28),
           _W, (1, 2, 3, 4), (8, 16, 28), notes="multilayer perceptron on flattened images"),
    Family("lenet", "image-classification", build_lenet, lambda r: (1, r, r), (1.0, 2, 32),
           _W, (1, 2, 3), (16, 28, 32)),
    Family("vgg", "image-classification", build_vgg, lambda r: (3, r, r), (1.0, 2, 32),
           _W, (1, 2, 3), (16, 32, 48)),
    Family("resnet", "image-classification", build_resnet, lambda r: (3, r, r), (1.0, 1, 32),
           _W, (1, 2, 3), (16, 32, 48)),
    Family("mobilenetv1", "visual-wake-words", build_mobilenetv1, lambda r: (3, r, r), (0.25, 5, 96),
           _W, (1, 3, 5), (64, 96, 128)),
    Family("mobilenetv2", "image-classification", build_mobilenetv2, lambda r: (3, r, r), (1.0, 2, 96),
           _W, (1, 2, 3), (64, 96, 128)),
    Family("dscnn", "keyword-spotting", build_dscnn, lambda r: (1, r, 10), (1.0, 4, 49),
           _W, (2, 4, 6), (25, 49, 98), resolution_means="MFCC frames (49 = 1 s)"),
    Family("autoencoder", "anomaly-detection", build_autoencoder, lambda r: (r,), (1.0, 4, 640),
           _W, (2, 3, 4), (320, 640, 1280), resolution_means="input features (640 = 5 frames × 128 mels)"),
    Family("vit", "image-classification", build_vit, lambda r: (3, r, r), (1.0, 4, 32),
           _W, (2, 4, 6), (16, 32, 48)),
    Family("gru", "keyword-spotting", build_gru, lambda r: (r, 10), (1.0, 2, 49),
           _W, (1, 2, 3), (25, 49, 98), resolution_means="MFCC frames (49 = 1 s)"),
)}

NAMED: dict[str, tuple[str, float, int, int]] = {
    "resnet8": ("resnet", 1.0, 1, 32),             # MLPerf Tiny image classification (CIFAR-10)
    "mobilenetv1-vww": ("mobilenetv1", 0.25, 5, 96),  # MLPerf Tiny visual wake words
    "dscnn-kws": ("dscnn", 1.0, 4, 49),             # MLPerf Tiny keyword spotting
    "fc-autoencoder-ad": ("autoencoder", 1.0, 4, 640),  # MLPerf Tiny anomaly detection (ToyADMOS)
}
"""Named benchmark models: name → (family, width, depth, resolution)."""

_VARIANT = re.compile(r"^([a-z0-9]+)-w([0-9.]+)-d([0-9]+)-r([0-9]+)$")


@dataclass(frozen=True)
class ModelSpec:
    """A resolved zoo model: family and multipliers."""

    name: str
    family: str
    width: float
    depth: int
    resolution: int

    @property
    def task(self) -> str:
        return FAMILIES[self.family].task

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample (without the batch dimension)."""
        return FAMILIES[self.family].input_shape(self.resolution)

    def build(self, seed: int = 0) -> nn.Module:
        """The model in eval mode with deterministic random weights (``seed``)."""
        torch.manual_seed(seed)
        model = FAMILIES[self.family].build(self.width, self.depth, self.resolution)
        return model.eval()

    def example_input(self, batch_size: int = 1, seed: int = 0) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return torch.randn((batch_size, *self.input_shape), generator=g)

    def config(self) -> dict:
        return {"width": self.width, "depth": self.depth, "resolution": self.resolution}


def variant_name(family: str, width: float, depth: int, resolution: int) -> str:
    """Zoo name of a grid variant, e.g. ``resnet-w0.5-d2-r32``."""
    return f"{family}-w{width:g}-d{depth}-r{resolution}"


def resolve(name: str) -> ModelSpec:
    """Resolve a model name to a :class:`ModelSpec`.

    Raises
    ------
    UnknownNameError
        With the family and named models listed and close matches suggested.
    """
    if name in NAMED:
        fam, w, d, r = NAMED[name]
        return ModelSpec(name, fam, w, d, r)
    if name in FAMILIES:
        w, d, r = FAMILIES[name].default
        return ModelSpec(name, name, w, d, r)
    m = _VARIANT.match(name)
    if m and m.group(1) in FAMILIES:
        fam = FAMILIES[m.group(1)]
        w, d, r = float(m.group(2)), int(m.group(3)), int(m.group(4))
        if not (0.05 <= w <= 4.0) or not (1 <= d <= 12) or not (4 <= r <= 2048):
            raise ParameterError(
                f"model {name!r}: width {w:g} must be in [0.05, 4], depth {d} in [1, 12] and "
                f"resolution {r} in [4, 2048]."
            )
        return ModelSpec(name, fam.name, w, d, r)
    raise UnknownNameError("model", name, default_names(), "`workbench models` lists them; "
                           "variants are FAMILY-w<width>-d<depth>-r<resolution>")


def default_names() -> list[str]:
    """Family defaults and named benchmark models (the default model set)."""
    return list(FAMILIES) + list(NAMED)


def grid_names(families: list[str] | None = None) -> list[str]:
    """Every variant of the width × depth × resolution grid of the given families (all by default)."""
    out = []
    for fam in families or list(FAMILIES):
        f = FAMILIES[fam]
        out += [variant_name(fam, w, d, r) for w, d, r in itertools.product(f.widths, f.depths, f.resolutions)]
    return out
