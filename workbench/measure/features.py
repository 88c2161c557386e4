"""Static features of a model: FLOPs, parameters, weight and activation bytes, per-layer breakdown.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``, which counts matrix multiplications
and convolutions (2 FLOPs per multiply-accumulate) and not element-wise operations (activations,
normalisation, residual adds); this is the usual convention of FLOP tables in papers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from workbench.errors import ParameterError
from workbench.store import LAYER_SHAPE_COLUMNS


def tensor_bytes(t: torch.Tensor) -> int:
    """Bytes a tensor occupies as stored, looking inside tensor subclasses (torchao int8 weights)."""
    if hasattr(t, "__tensor_flatten__") and type(t) not in (torch.Tensor, nn.Parameter):
        names, _ = t.__tensor_flatten__()
        return sum(tensor_bytes(getattr(t, n)) for n in names)
    return t.numel() * t.element_size()


def count_params(model: nn.Module) -> int:
    """Number of parameters (elements of the logical, unquantized weight tensors)."""
    return sum(p.numel() for p in model.parameters())


def weight_bytes(model: nn.Module) -> int:
    """Bytes of parameters and buffers as stored, by dtype [B] (int8 weights count 1 B per element
    plus their scales and zero points)."""
    return sum(tensor_bytes(t) for t in model.parameters()) + sum(tensor_bytes(b) for b in model.buffers())


def count_flops(model: nn.Module, x: torch.Tensor) -> int:
    """Forward FLOPs of ``model`` on input ``x`` (for the whole batch in ``x``)."""
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


def _leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if n and not list(m.children())]


def _out_bytes(out) -> int:
    if isinstance(out, torch.Tensor):
        return out.numel() * out.element_size()
    if isinstance(out, (tuple, list)):
        return sum(_out_bytes(o) for o in out)
    return 0


SHAPE_ATTRIBUTES = tuple(c for c in LAYER_SHAPE_COLUMNS if c != "input_bytes")
"""Shape attributes of a module recorded in the per-layer breakdown (None where not applicable)."""


@dataclass
class LayerRecord:
    """One executed leaf layer: its position, type, FLOPs [FLOP per sample], parameters, output bytes
    [B per sample] and latency [ms per forward call]."""

    index: int
    name: str
    type: str
    flops: float
    params: int
    output_bytes: int
    latency_ms: float
    input_bytes: int = 0
    kernel_area: int | None = None
    stride: int | None = None
    groups: int | None = None
    in_channels: int | None = None
    out_channels: int | None = None


def _first(v) -> int:
    return int(v[0] if isinstance(v, (tuple, list)) else v)


def _area(v, dims: int) -> int:
    if isinstance(v, (tuple, list)):
        out = 1
        for k in v:
            out *= int(k)
        return out
    return int(v) ** dims


def layer_shape(mod: nn.Module) -> dict[str, int | None]:
    """Shape attributes of a leaf module (:data:`SHAPE_ATTRIBUTES`), None where it has no such attribute.

    Convolutions: kernel area (kh·kw), first stride, groups, in/out channels; pooling: window area and
    stride; linear: in/out features; recurrent layers: input and hidden size; normalisation: the
    normalised size as both channel counts.
    """
    out: dict[str, int | None] = dict.fromkeys(SHAPE_ATTRIBUTES)
    if isinstance(mod, nn.modules.conv._ConvNd):
        out.update(kernel_area=_area(mod.kernel_size, len(mod.kernel_size)), stride=_first(mod.stride),
                   groups=int(mod.groups), in_channels=int(mod.in_channels), out_channels=int(mod.out_channels))
    elif isinstance(mod, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
        dims = int(type(mod).__name__[-2])
        out.update(kernel_area=_area(mod.kernel_size, dims), stride=_first(mod.stride or mod.kernel_size))
    elif isinstance(mod, nn.Linear):
        out.update(in_channels=int(mod.in_features), out_channels=int(mod.out_features))
    elif isinstance(mod, nn.RNNBase):
        out.update(in_channels=int(mod.input_size), out_channels=int(mod.hidden_size))
    elif isinstance(mod, nn.modules.batchnorm._NormBase):
        out.update(in_channels=int(mod.num_features), out_channels=int(mod.num_features))
    elif isinstance(mod, nn.LayerNorm):
        out.update(in_channels=int(mod.normalized_shape[-1]), out_channels=int(mod.normalized_shape[-1]))
    return out


def layer_breakdown(model: nn.Module, x: torch.Tensor, repeats: int = 5,
                    clock: Callable[[], int] | None = None, statistic: str = "median") -> list[LayerRecord]:
    """Per-layer breakdown over the leaf modules in execution order.

    FLOPs, input and output bytes are for the whole batch of ``x`` (input bytes: the tensors passed
    to the layer); shape attributes from :func:`layer_shape`; latency is the median over ``repeats``
    forward calls of the wall-clock time between the layer's pre- and post-forward hooks (on a CUDA
    input, each hook first waits for the GPU, so a layer is timed from its launch to its end rather
    than for its asynchronous launch alone). Work done by a parent's ``forward`` outside its leaf
    modules (reshapes, functional ops) is not attributed to any layer. A module called twice appears
    twice. ``clock`` (a function returning nanoseconds, e.g. ``time.thread_time_ns`` for the calling
    thread's CPU time with one intra-op thread) replaces the wall clock ``time.perf_counter_ns``;
    ``statistic`` ``"min"`` takes the fastest of the repeats instead of the median (the envelope of
    :mod:`workbench.measure.latency`).
    """
    if statistic not in ("median", "min"):
        raise ParameterError(f"statistic must be 'median' or 'min', got {statistic!r}. Fix: one of the two.")
    clock = clock or time.perf_counter_ns
    leaves = dict(_leaf_modules(model))
    # FLOPs per module (FlopCounterMode keys modules by their dotted path under the root's class name)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x)
    root = type(model).__name__
    per_module = {k[len(root) + 1:]: sum(v.values()) for k, v in counter.get_flop_counts().items()
                  if k.startswith(root + ".")}

    order: list[str] = []
    out_bytes: dict[int, int] = {}
    in_bytes: dict[int, int] = {}
    times: dict[int, list[float]] = {}
    starts: dict[str, int] = {}
    calls: list[int] = [0]
    recording = {"first": True}
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)

    def pre(name):
        def hook(mod, args):
            sync()
            starts[name] = clock()
        return hook

    def post(name):
        def hook(mod, args, out):
            sync()
            dt = (clock() - starts[name]) / 1e6
            i = calls[0]
            calls[0] += 1
            if recording["first"]:
                order.append(name)
                out_bytes[i] = _out_bytes(out)
                in_bytes[i] = _out_bytes(tuple(args))
            times.setdefault(i, []).append(dt)
        return hook

    handles = []
    for name, mod in leaves.items():
        handles.append(mod.register_forward_pre_hook(pre(name)))
        handles.append(mod.register_forward_hook(post(name)))
    try:
        with torch.inference_mode():
            for _ in range(max(1, repeats)):
                calls[0] = 0
                model(x)
                recording["first"] = False
    finally:
        for h in handles:
            h.remove()
    records = []
    seen_flops: set[str] = set()
    for i, name in enumerate(order):
        mod = leaves[name]
        lat = min(times[i]) if statistic == "min" else sorted(times[i])[len(times[i]) // 2]
        # a module called several times has its FLOPs summed by the counter: attribute them to the first call
        flops = per_module.get(name, 0) if name not in seen_flops else 0
        seen_flops.add(name)
        records.append(LayerRecord(i, name, type(mod).__name__, float(flops),
                                   sum(p.numel() for p in mod.parameters(recurse=False)), out_bytes[i], lat,
                                   input_bytes=in_bytes[i], **layer_shape(mod)))
    return records
