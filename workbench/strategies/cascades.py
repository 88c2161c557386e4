"""Staged classifiers as models: early-exit networks and model cascades, their training, logits and cost per stage.

Both are *staged classifiers*: stage ``k`` produces logits and the sample leaves at the first stage
whose prediction is confident enough; the last stage always answers (the decisions, sweeps and
threshold choice are in :mod:`workbench.strategies.exits`).

- **Early exit** (BranchyNet, Teerapittayanon, McDanel & Kung 2016): one backbone split into
  stages, a small classifier ("side exit") after each; leaving at exit ``k`` costs the backbone up
  to stage ``k`` plus exit heads ``0..k`` (the heads of earlier exits ran and were not confident).
- **Cascade** (e.g. Viola & Jones 2001; Wang et al. 2018 "IDK cascades"): independent models from
  small to large; a sample deferred to model ``k`` has paid for models ``0..k``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from workbench.errors import ParameterError
from workbench.measure.features import count_flops
from workbench.strategies.data import N_CLASSES, DigitsSplits, fit
from workbench.strategies.exits import check_criterion, exit_mask, thresholds_for


class EarlyExitNet(nn.Module):
    """A backbone in stages with one exit head after each (the last head is the final classifier).

    ``forward`` returns the logits of **every** exit (for joint training and offline sweeps);
    :class:`EarlyExitClassifier` runs it with real early exits, :class:`ExitPath` runs one fixed path.
    """

    def __init__(self, stages: Sequence[nn.Module], exits: Sequence[nn.Module]):
        super().__init__()
        if len(stages) != len(exits) or len(stages) < 2:
            raise ParameterError(
                f"an early-exit network needs as many exits as stages and at least 2 of each, got "
                f"{len(stages)} stages and {len(exits)} exits."
            )
        self.stages = nn.ModuleList(stages)
        self.exits = nn.ModuleList(exits)

    @property
    def n_exits(self) -> int:
        return len(self.exits)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        h = x
        for stage, head in zip(self.stages, self.exits, strict=True):
            h = stage(h)
            outs.append(head(h))
        return outs


def _require_exits(model) -> EarlyExitNet:
    """Return ``model`` if it has side exits (``stages`` and ``exits`` with at least 2 exits).

    Raises
    ------
    ParameterError
        A model without side exits (the message points to :func:`early_exit_cnn` and :class:`Cascade`).
    """
    if not (hasattr(model, "stages") and hasattr(model, "exits")) or len(getattr(model, "exits", ())) < 2:
        raise ParameterError(
            f"{type(model).__name__} has no side exits (an early-exit model needs `stages` and `exits` "
            "ModuleLists with at least 2 exits). Fix: build one with workbench.strategies.early_exit_cnn(), "
            "or use a cascade of separate models (workbench.strategies.Cascade)."
        )
    return model


class ExitPath(nn.Module):
    """The fixed path of an early-exit network that leaves at exit ``k``.

    With ``side_heads=True`` the heads of exits ``0..k-1`` run too (as they do in early-exit
    inference before the sample leaves at ``k``); with ``side_heads=False`` it is the plain network
    truncated at ``k`` (``k = n_exits − 1``: the full model without early exits).
    """

    def __init__(self, net: EarlyExitNet, k: int, side_heads: bool = True):
        super().__init__()
        _require_exits(net)
        if not 0 <= k < net.n_exits:
            raise ParameterError(f"exit index must be in [0, {net.n_exits - 1}], got {k}.")
        self.net, self.k, self.side_heads = net, k, side_heads

    def forward(self, x):
        h = x
        for j in range(self.k + 1):
            h = self.net.stages[j](h)
            if self.side_heads and j < self.k:
                self.net.exits[j](h)
        return self.net.exits[self.k](h)


class _Staged(nn.Module):
    """Shared dynamic-inference loop: samples leave at the first confident stage."""

    def _run(self, x, n_stages, step):
        check_criterion(self.criterion)
        n = x.shape[0]
        if n == 1:  # one sample (the latency-critical case): no bookkeeping of who is still undecided
            state = x
            for k in range(n_stages):
                z, state = step(k, state, None)
                if k == n_stages - 1 or bool(exit_mask(z, self.criterion, self.thresholds[k])[0]):
                    self.last_exits_ = torch.tensor([k])
                    return z
        exits = torch.full((n,), n_stages - 1, dtype=torch.long)
        active = torch.arange(n)
        out = None
        state = x
        for k in range(n_stages):
            z, state = step(k, state, active)
            if out is None:
                out = z.new_empty((n, z.shape[-1]))
            done = torch.ones(z.shape[0], dtype=torch.bool) if k == n_stages - 1 else \
                exit_mask(z, self.criterion, self.thresholds[k])
            out[active[done]] = z[done]
            exits[active[done]] = k
            if bool(done.all()):
                break
            keep = ~done
            active = active[keep]
            state = state[keep] if state is not None else None
        self.last_exits_ = exits
        return out


class EarlyExitClassifier(_Staged):
    """Early-exit inference: each sample leaves at its first exit that passes the criterion.

    Works on any batch: undecided samples continue through the backbone, decided ones stop.
    After a call, ``last_exits_`` holds the exit index of each sample.
    """

    def __init__(self, net: EarlyExitNet, threshold=0.9, criterion: str = "confidence"):
        super().__init__()
        self.net = _require_exits(net)
        self.criterion = check_criterion(criterion)
        self.thresholds = thresholds_for(threshold, net.n_exits)

    def forward(self, x):
        def step(k, h, active):
            h = self.net.stages[k](h)
            return self.net.exits[k](h), h

        return self._run(x, self.net.n_exits, step)


class Cascade(_Staged):
    """A cascade of separate classifiers, small to large: a model answers when confident, else defers.

    After a call, ``last_exits_`` holds the index of the model that answered each sample.
    """

    def __init__(self, models: Sequence[nn.Module], threshold=0.9, criterion: str = "confidence"):
        super().__init__()
        if len(models) < 2:
            raise ParameterError(f"a cascade needs at least 2 models, got {len(models)}.")
        self.models = nn.ModuleList(models)
        self.criterion = check_criterion(criterion)
        self.thresholds = thresholds_for(threshold, len(models))

    def forward(self, x):
        def step(k, xs, active):
            return self.models[k](xs), xs

        return self._run(x, len(self.models), step)


def early_exit_cnn(channels: Sequence[int] = (8, 32, 64), *, n_classes: int = N_CLASSES) -> EarlyExitNet:
    """A BranchyNet-style CNN for 1×8×8 images with three exits.

    Stage 0: Conv3×3(1→c0), ReLU, MaxPool2 → c0×4×4; exit 0: Flatten, Linear(16·c0 → classes).
    Stage 1: Conv3×3(c0→c1), ReLU → c1×4×4;           exit 1: Flatten, Linear(16·c1 → classes).
    Stage 2: Conv3×3(c1→c2), ReLU, MaxPool2 → c2×2×2; exit 2: Flatten, Linear(4·c2 → classes).
    The first stage is cheap and the last one dominates the cost, as in BranchyNet.
    """
    c0, c1, c2 = (int(c) for c in channels)
    stages = [
        nn.Sequential(nn.Conv2d(1, c0, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(c0, c1, 3, padding=1), nn.ReLU()),
        nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
    ]
    exits = [nn.Sequential(nn.Flatten(), nn.Linear(c0 * 16, n_classes)),
             nn.Sequential(nn.Flatten(), nn.Linear(c1 * 16, n_classes)),
             nn.Sequential(nn.Flatten(), nn.Linear(c2 * 4, n_classes))]
    return EarlyExitNet(stages, exits)


def train_early_exit(net: EarlyExitNet, splits: DigitsSplits, *, exit_weights: Sequence[float] | None = None,
                     epochs: int = 30, lr: float = 1e-3, batch_size: int = 64, seed: int = 0) -> EarlyExitNet:
    """Joint training of all exits: minimise ``Σ_k w_k · CE(exit_k)`` (BranchyNet, eq. 2; equal weights by default)."""
    net = _require_exits(net)
    w = [1.0] * net.n_exits if exit_weights is None else [float(v) for v in exit_weights]
    if len(w) != net.n_exits or any(v < 0 for v in w):
        raise ParameterError(f"need {net.n_exits} non-negative exit weights, got {list(w)}. "
                             f"Fix: pass one weight >= 0 per exit, e.g. {[1.0] * net.n_exits}.")

    def loss_fn(model, xb, yb, idx):
        return sum(wk * nn.functional.cross_entropy(z, yb) for wk, z in zip(w, model(xb), strict=True))

    return fit(net, splits.train, loss_fn=loss_fn, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)


@torch.inference_mode()
def stage_logits(model, x: torch.Tensor) -> list[torch.Tensor]:
    """Logits of every exit of an early-exit network, or of every model of a cascade, over ``x``."""
    if len(x) == 0:
        raise ParameterError("cannot evaluate on an empty data set. Fix: pass at least one image.")
    if isinstance(model, Cascade):
        return [m.eval()(x) for m in model.models]
    net = _require_exits(model.net if isinstance(model, EarlyExitClassifier) else model)
    return list(net.eval()(x))


def cumulative_flops(model, sample: torch.Tensor) -> list[float]:
    """FLOPs per sample spent by a sample leaving at each stage [FLOP] (counted by FlopCounterMode).

    Early exit: backbone stages ``0..k`` plus exit heads ``0..k``. Cascade: models ``0..k``.
    """
    n = sample.shape[0]
    if isinstance(model, Cascade):
        per = [count_flops(m.eval(), sample) / n for m in model.models]
        return list(np.cumsum(per).astype(float))
    net = _require_exits(model.net if isinstance(model, EarlyExitClassifier) else model)
    return [count_flops(ExitPath(net, k).eval(), sample) / n for k in range(net.n_exits)]
