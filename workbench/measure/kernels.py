"""Operator benchmark: small networks of one kind of layer at random sizes, profiled like zoo models.

A per-layer cost model learns what a layer costs from the layers it has seen measured. Trained on
whole model families only, it has never seen an operator that one family alone uses (the GRU, the
attention core), and leaving that family out of training leaves no example of it. nn-Meter (Zhang
et al., MobiSys 2021) therefore trains its kernel predictors on *sampled kernels*: each operator
type measured over a range of configurations, independent of the models that will be predicted.
This module does the same for the layer types the zoo uses.

:func:`kernel_nets` draws ``n`` small networks ("blocks") of four kinds from a fixed, generic prior
(log-uniform sizes; the ranges below, not any zoo family's configurations):

- ``conv``: Conv2d (1–256 channels in and out, kernels 1–7, non-square with probability 0.3,
  stride 1 or 2 or patchify, depthwise with probability 0.3) on 4–64 px inputs, then optionally
  BatchNorm2d, ReLU or ReLU6, MaxPool2d(2) or global average pooling + Flatten, Identity;
- ``linear``: Flatten, Linear (8–2,048 features in and out) on 1–256 tokens, optionally BatchNorm1d
  or LayerNorm, ReLU or GELU;
- ``gru``: GRU (4–64 inputs, 8–256 hidden, 1–3 layers, 4–128 steps), last step, Linear;
- ``attention``: LayerNorm, Linear (D → 3D), softmax attention (1–8 heads of 8–64 dims, 4–256
  tokens), Linear, residual Add, GELU, mean over tokens.

Blocks whose counted FLOPs exceed ``max_flops`` are drawn again. The same ``seed`` gives the same
blocks, so repeated passes measure the same networks; block ``i`` is the same for any ``n > i``.
Names are ``kernel-<kind>-<index>`` for the default draw (seed 0, all kinds, ``max_flops`` 2e8) and
carry a tag of the draw otherwise, so blocks of different draws never share a name in a store.
:func:`profile_kernels` measures them with the profiler (rows of family ``kernels``, per-layer
breakdown).
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import polars as pl
import torch
from torch import nn

from workbench import schema
from workbench.checks import check_int
from workbench.errors import ParameterError
from workbench.measure import features
from workbench.measure.architectures import Add, Attention, LastStep, MeanPool
from workbench.measure.latency import calibrated
from workbench.measure.profiler import ProfileSettings, device_info, measure_module, software_versions
from workbench.store import Store, layer_frame, new_run_id

KINDS = ("conv", "linear", "gru", "attention")
FAMILY = schema.OPERATOR_FAMILY
"""``model_family`` of operator-benchmark rows (cost-model evaluation keeps them out of the test folds)."""


@dataclass(frozen=True)
class KernelNet:
    """One block of the operator benchmark: its name, kind, configuration and how to build it."""

    name: str
    kind: str
    config: dict
    input_shape: tuple[int, ...]

    def build(self, seed: int = 0) -> nn.Module:
        torch.manual_seed(seed)
        return _BUILDERS[self.kind](self.config).eval()

    def example_input(self, seed: int = 0) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(1, *self.input_shape, generator=g)


class _AddSelf(nn.Module):
    """A residual add of a tensor to itself, so that the zoo's ``Add`` layer is a leaf in a Sequential."""

    def __init__(self):
        super().__init__()
        self.add = Add()

    def forward(self, x):
        return self.add(x, x)


def _log_int(rng: np.random.Generator, lo: int, hi: int) -> int:
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def _conv_config(rng) -> tuple[dict, tuple[int, ...]]:
    side = _log_int(rng, 4, 64)
    cin = _log_int(rng, 1, 256)
    kh = int(rng.choice([1, 3, 5, 7], p=[0.3, 0.4, 0.2, 0.1]))
    kw = kh if rng.random() > 0.3 else int(rng.integers(1, 8))
    kh, kw = min(kh, side), min(kw, side)
    depthwise = bool(rng.random() < 0.3)
    cout = cin if depthwise else _log_int(rng, 1, 256)
    r = rng.random()
    stride = max(kh, kw) if r < 0.1 else (2 if r < 0.4 else 1)
    pad = (0, 0) if r < 0.1 else (kh // 2, kw // 2)
    cfg = {"cin": cin, "cout": cout, "kernel": [kh, kw], "stride": stride, "padding": list(pad),
           "groups": cin if depthwise else 1, "bn": bool(rng.random() < 0.8),
           "act": str(rng.choice(["relu", "relu6", "none"], p=[0.5, 0.3, 0.2])),
           "pool": str(rng.choice(["none", "max2", "global"], p=[0.5, 0.3, 0.2])), "identity": bool(rng.random() < 0.2)}
    return cfg, (cin, side, side)


def _build_conv(c: dict) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(c["cin"], c["cout"], tuple(c["kernel"]), c["stride"], tuple(c["padding"]),
                                         groups=c["groups"], bias=not c["bn"])]
    if c["bn"]:
        layers.append(nn.BatchNorm2d(c["cout"]))
    if c["act"] != "none":
        layers.append(nn.ReLU() if c["act"] == "relu" else nn.ReLU6())
    if c["identity"]:
        layers.append(nn.Identity())
    if c["pool"] == "max2":
        layers.append(nn.MaxPool2d(2, ceil_mode=True))
    elif c["pool"] == "global":
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


def _linear_config(rng) -> tuple[dict, tuple[int, ...]]:
    din, dout = _log_int(rng, 8, 2048), _log_int(rng, 8, 2048)
    tokens = 1 if rng.random() < 0.5 else _log_int(rng, 2, 256)
    norm = str(rng.choice(["none", "batch", "layer"], p=[0.5, 0.25, 0.25]))
    if tokens > 1 and norm == "batch":
        norm = "layer"
    cfg = {"din": din, "dout": dout, "tokens": tokens, "norm": norm,
           "act": str(rng.choice(["relu", "gelu", "none"], p=[0.5, 0.3, 0.2]))}
    return cfg, ((din,) if tokens == 1 else (tokens, din))


def _build_linear(c: dict) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()] if c["tokens"] == 1 else []
    layers.append(nn.Linear(c["din"], c["dout"]))
    if c["norm"] == "batch":
        layers.append(nn.BatchNorm1d(c["dout"]))
    elif c["norm"] == "layer":
        layers.append(nn.LayerNorm(c["dout"]))
    if c["act"] != "none":
        layers.append(nn.ReLU() if c["act"] == "relu" else nn.GELU())
    return nn.Sequential(*layers)


def _gru_config(rng) -> tuple[dict, tuple[int, ...]]:
    cfg = {"din": _log_int(rng, 4, 64), "hidden": _log_int(rng, 8, 256), "layers": int(rng.integers(1, 4)),
           "steps": _log_int(rng, 4, 128)}
    return cfg, (cfg["steps"], cfg["din"])


def _build_gru(c: dict) -> nn.Module:
    return nn.Sequential(nn.GRU(c["din"], c["hidden"], num_layers=c["layers"], batch_first=True), LastStep(),
                         nn.Linear(c["hidden"], 10))


def _attention_config(rng) -> tuple[dict, tuple[int, ...]]:
    heads = int(rng.choice([1, 2, 4, 8]))
    dim = heads * _log_int(rng, 8, 64)
    cfg = {"heads": heads, "dim": dim, "tokens": _log_int(rng, 4, 256)}
    return cfg, (cfg["tokens"], dim)


def _build_attention(c: dict) -> nn.Module:
    d = c["dim"]
    return nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 3 * d), Attention(c["heads"]), nn.Linear(d, d), _AddSelf(),
                         nn.GELU(), MeanPool())


_CONFIGS = {"conv": _conv_config, "linear": _linear_config, "gru": _gru_config, "attention": _attention_config}
_BUILDERS = {"conv": _build_conv, "linear": _build_linear, "gru": _build_gru, "attention": _build_attention}


def kernel_nets(n: int, *, seed: int = 0, kinds=KINDS, max_flops: float = 2e8) -> list[KernelNet]:
    """``n`` operator-benchmark blocks, drawn round robin over ``kinds`` from the module's prior.

    Raises
    ------
    ParameterError
        For ``n < 1``, an unknown kind or ``max_flops <= 0``.
    """
    try:
        check_int(n, "n")
    except ParameterError:
        raise ParameterError(f"the operator benchmark needs n >= 1 blocks, got {n!r}. Fix: e.g. n=600.") from None
    bad = [k for k in kinds if k not in _CONFIGS]
    if bad or not kinds:
        raise ParameterError(f"unknown kernel kind(s) {bad}; the kinds are {list(KINDS)}.")
    if not max_flops > 0:
        raise ParameterError(f"max_flops must be > 0, got {max_flops!r}.")
    rng = np.random.default_rng(seed)
    # names are unique per draw: the default draw has plain names, any other (seed, kinds, max_flops) a tag,
    # so blocks of different draws never share a name in a store (a name's rows are one configuration)
    draw = (seed, tuple(kinds), float(max_flops))
    tag = "" if draw == (0, KINDS, 2e8) else "-" + hashlib.sha1(repr(draw).encode()).hexdigest()[:6]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        for _ in range(100):
            cfg, shape = _CONFIGS[kind](rng)
            net = KernelNet(f"kernel-{kind}-{i:04d}{tag}", kind, cfg, shape)
            if features.count_flops(net.build(), net.example_input()) <= max_flops:
                break
        out.append(net)
    return out


def profile_kernels(nets: list[KernelNet], *, settings=None, store=None, **kwargs) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Profile operator-benchmark blocks at batch size 1 (no energy); append them to ``store`` if given.

    ``settings`` (:class:`~workbench.measure.profiler.ProfileSettings`, or its fields as keyword
    arguments) as for zoo models; rows have ``model_family`` :data:`FAMILY`, ``task`` ``kernel``
    and the block's configuration in ``config_json``.

    Returns
    -------
    (rows, layers)
        Measurement rows (:mod:`workbench.schema`) and their per-layer table.
    """
    settings = settings or ProfileSettings(**{"energy_window_s": 0.0, **kwargs})
    if settings.dtype != "fp32":
        raise ParameterError(f"the operator benchmark measures fp32 blocks, got dtype {settings.dtype!r}.")
    if store is not None:
        store = Store.coerce(store)
        store.check_writable()
    run_id = new_run_id()
    dev = device_info(settings.device, settings.device_class)
    versions = json.dumps(software_versions(), sort_keys=True)
    rows, layers = [], []
    with calibrated(settings) as calibration:
        for net in nets:
            fields, lrows = measure_module(net.build(), net.example_input(), batch_size=1, settings=settings, meter=None,
                                           calibration=calibration, latency_details=True)
            energy = fields.pop("_energy_details", None)
            latency = fields.pop("_latency_details")
            mid = uuid.uuid4().hex
            rows.append({"measurement_id": mid, "run_id": run_id, "timestamp_utc": datetime.now(timezone.utc),
                         "source": "profiler", "model": net.name, "model_family": FAMILY, "task": "kernel",
                         "strategy": "baseline", "input_shape": "x".join(map(str, net.input_shape)),
                         "dtype": settings.dtype, **fields, **dev, "software_versions": versions,
                         "config_json": json.dumps({"kernel_kind": net.kind, **net.config, "warmup": settings.warmup,
                                                    "layer_repeats": settings.layer_repeats, "latency": latency,
                                                    **({"energy": energy} if energy else {})}, sort_keys=True)})
            layers += [{"measurement_id": mid, **r} for r in lrows]
    df = schema.from_records(rows)
    lay = layer_frame(layers)
    if store is not None:
        store.append(df, layers=lay)
    return df, lay
