"""Early-exit networks and model cascades: exit decisions, expected cost, threshold sweeps, Pareto fronts.

Both are *staged classifiers*: stage ``k`` produces logits and the sample leaves at the first stage
whose prediction is confident enough; the last stage always answers.

- **Early exit** (BranchyNet, Teerapittayanon, McDanel & Kung 2016): one backbone split into
  stages, a small classifier ("side exit") after each; leaving at exit ``k`` costs the backbone up
  to stage ``k`` plus exit heads ``0..k`` (the heads of earlier exits ran and were not confident).
- **Cascade** (e.g. Viola & Jones 2001; Wang et al. 2018 "IDK cascades"): independent models from
  small to large; a sample deferred to model ``k`` has paid for models ``0..k``.

Exit criteria (``criterion``), with a threshold ``t`` in [0, 1]:

- ``"confidence"``: leave when the largest softmax probability is ``>= t``.
- ``"entropy"``: leave when the entropy of the softmax, normalised by log(n_classes) to [0, 1], is
  ``<= t`` (BranchyNet's criterion, normalised so that one threshold scale fits any class count).

The expected cost per sample is ``Σ_k rate_k · cumulative_flops_k`` where ``rate_k`` is the
fraction of samples leaving at stage ``k`` (:func:`expected_flops`). A sweep evaluates all
stages once on a split and derives accuracy, exit rates and expected FLOPs for every threshold
(:func:`sweep`); thresholds are chosen on the validation split (:func:`choose_threshold`) and
reported on the test split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
import torch
from torch import nn

from workbench.errors import ParameterError, UnknownNameError
from workbench.strategies.data import N_CLASSES, DigitsSplits, check_dataset, fit

CRITERIA = ("confidence", "entropy")
"""Exit criteria: leave when confidence >= threshold, or normalised entropy <= threshold."""

DEFAULT_THRESHOLDS = {
    "confidence": (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999),
    "entropy": (0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05, 0.02, 0.01, 0.001),
}
"""Default sweep grids, from permissive (most samples leave early) to strict."""


# ---------------------------------------------------------------------------------------------- decisions

def check_criterion(criterion: str) -> str:
    if criterion not in CRITERIA:
        raise UnknownNameError("exit criterion", criterion, CRITERIA)
    return criterion


def check_threshold(threshold) -> float:
    """Return ``threshold`` as a float, or raise :class:`ParameterError` if it is outside [0, 1]."""
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise ParameterError(f"threshold must be a number in [0, 1], got {threshold!r}.") from None
    if not 0.0 <= t <= 1.0 or math.isnan(t):
        raise ParameterError(
            f"threshold must be in [0, 1], got {threshold!r}: a confidence is a probability and the entropy is "
            "normalised by log(n_classes). Fix: e.g. 0.9 for confidence, 0.1 for entropy."
        )
    return t


def _thresholds_for(threshold, n_stages: int) -> list[float]:
    """One threshold per non-final stage from a scalar or a sequence."""
    if isinstance(threshold, (Sequence, np.ndarray, torch.Tensor)) and not isinstance(threshold, str):
        ts = [check_threshold(t) for t in threshold]
        if len(ts) != n_stages - 1:
            raise ParameterError(
                f"{len(ts)} thresholds given for {n_stages - 1} non-final exits. Fix: pass one per non-final "
                "exit, or a single number for all."
            )
        return ts
    return [check_threshold(threshold)] * (n_stages - 1)


def confidence(logits: torch.Tensor) -> torch.Tensor:
    """Largest softmax probability per row [1]."""
    return torch.softmax(logits.float(), dim=-1).max(dim=-1).values


def normalized_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the softmax per row divided by log(n_classes), in [0, 1]."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    h = -(logp.exp() * logp).sum(-1)
    return h / math.log(logits.shape[-1])


def exit_mask(logits: torch.Tensor, criterion: str, threshold: float) -> torch.Tensor:
    """Boolean mask of the rows confident enough to leave at this stage."""
    if criterion == "confidence":
        return confidence(logits) >= threshold
    if criterion == "entropy":
        return normalized_entropy(logits) <= threshold
    raise UnknownNameError("exit criterion", criterion, CRITERIA)


def first_exit(stage_logits: Sequence[torch.Tensor], criterion: str, threshold) -> torch.Tensor:
    """Index of the stage each sample leaves at (the last stage takes everyone left).

    Parameters
    ----------
    stage_logits : list of Tensor
        Logits of every stage on the same samples, each (N, n_classes).
    threshold : float or list of float
        One threshold for all non-final stages, or one per non-final stage, in [0, 1].
    """
    check_criterion(criterion)
    k = len(stage_logits)
    if k == 0:
        raise ParameterError("no stage logits given. Fix: pass the logits of every exit/model.")
    ts = _thresholds_for(threshold, k)
    n = stage_logits[0].shape[0]
    out = torch.full((n,), k - 1, dtype=torch.long)
    undecided = torch.ones(n, dtype=torch.bool)
    for j in range(k - 1):
        leave = undecided & exit_mask(stage_logits[j], criterion, ts[j])
        out[leave] = j
        undecided &= ~leave
    return out


def exit_rates(exit_index: torch.Tensor | np.ndarray, n_stages: int) -> np.ndarray:
    """Fraction of samples leaving at each stage (sums to 1)."""
    idx = np.asarray(exit_index)
    if idx.size == 0:
        raise ParameterError("no samples: exit rates of an empty data set are undefined. Fix: pass samples.")
    return np.bincount(idx, minlength=n_stages)[:n_stages] / idx.size


def expected_flops(rates, cumulative_flops) -> float:
    """Expected FLOPs per sample, ``Σ_k rate_k · cumulative_flops_k`` [FLOP].

    Parameters
    ----------
    rates : sequence of float
        Fraction of samples leaving at each stage [1]; must sum to 1.
    cumulative_flops : sequence of float
        FLOPs a sample has spent when it leaves at stage ``k`` [FLOP].
    """
    r = np.asarray(rates, dtype=float)
    c = np.asarray(cumulative_flops, dtype=float)
    if r.shape != c.shape:
        raise ParameterError(f"{r.size} exit rates for {c.size} stages. Fix: pass one rate per stage.")
    if (r < 0).any() or not np.isclose(r.sum(), 1.0, rtol=0, atol=1e-9):
        raise ParameterError(f"exit rates must be >= 0 and sum to 1, got {r.tolist()}.")
    return float((r * c).sum())


def pareto_front(cost, quality) -> np.ndarray:
    """Boolean mask of the points no other point beats: none with cost <= and quality >=, one strictly.

    Parameters
    ----------
    cost : sequence of float
        To minimise (expected FLOPs, latency).
    quality : sequence of float
        To maximise (accuracy).
    """
    c = np.asarray(cost, dtype=float)
    q = np.asarray(quality, dtype=float)
    mask = np.ones(c.size, dtype=bool)
    for i in range(c.size):
        dominated = (c <= c[i]) & (q >= q[i]) & ((c < c[i]) | (q > q[i]))
        mask[i] = not dominated.any()
    return mask


def sweep(stage_logits: Sequence[torch.Tensor], y: torch.Tensor, cumulative_flops: Sequence[float], *,
          criterion: str = "confidence", thresholds: Sequence[float] | None = None,
          reference_flops: float | None = None) -> pl.DataFrame:
    """Accuracy, per-exit hit rates and expected FLOPs of a staged classifier for each threshold.

    Parameters
    ----------
    stage_logits : list of Tensor
        Logits of every stage on the evaluation split (each (N, n_classes)).
    y : Tensor
        Labels (N,).
    cumulative_flops : list of float
        FLOPs spent by a sample leaving at each stage [FLOP].
    reference_flops : float, optional
        FLOPs of the model it replaces (the full network / the largest model); adds ``flops_reduction``.

    Returns
    -------
    polars.DataFrame
        One row per threshold: ``criterion``, ``threshold``, ``accuracy`` [1], ``expected_flops``
        [FLOP], ``flops_reduction`` [×], ``exit_rates`` (list, per stage, sums to 1),
        ``exit_accuracies`` (list: accuracy among the samples leaving at each stage; NaN where
        none leave) and ``pareto`` (on the accuracy/expected-FLOPs plane).
    """
    check_criterion(criterion)
    if len(stage_logits) == 0:
        raise ParameterError("no stage logits given. Fix: pass the logits of every exit/model (see stage_logits()).")
    check_dataset(stage_logits[0], y, "evaluation split")
    k = len(stage_logits)
    if len(cumulative_flops) != k:
        raise ParameterError(f"{len(cumulative_flops)} cumulative FLOP figures for {k} stages.")
    thresholds = DEFAULT_THRESHOLDS[criterion] if thresholds is None else thresholds
    if len(thresholds) == 0:
        raise ParameterError("no thresholds to sweep. Fix: pass e.g. thresholds=(0.8, 0.9, 0.99).")
    preds = torch.stack([z.argmax(-1) for z in stage_logits])  # (k, N)
    correct_all = preds == y[None, :]
    rows = []
    for t in thresholds:
        t = check_threshold(t)
        idx = first_exit(stage_logits, criterion, t)
        correct = correct_all[idx, torch.arange(len(y))]
        rates = exit_rates(idx, k)
        exit_acc = [float(correct[idx == j].float().mean()) if (idx == j).any() else float("nan") for j in range(k)]
        ef = expected_flops(rates, cumulative_flops)
        rows.append({"criterion": criterion, "threshold": t, "accuracy": float(correct.float().mean()),
                     "expected_flops": ef,
                     "flops_reduction": (reference_flops / ef) if reference_flops else None,
                     "exit_rates": rates.tolist(), "exit_accuracies": exit_acc})
    df = pl.DataFrame(rows, schema={"criterion": pl.String, "threshold": pl.Float64, "accuracy": pl.Float64,
                                    "expected_flops": pl.Float64, "flops_reduction": pl.Float64,
                                    "exit_rates": pl.List(pl.Float64), "exit_accuracies": pl.List(pl.Float64)})
    return df.with_columns(pl.Series("pareto", pareto_front(df["expected_flops"], df["accuracy"])))


def choose_threshold(val_sweep: pl.DataFrame, reference_accuracy: float, max_accuracy_drop_pt: float = 0.0) -> dict:
    """The cheapest threshold whose validation accuracy is within ``max_accuracy_drop_pt`` of the reference.

    Parameters
    ----------
    val_sweep : polars.DataFrame
        :func:`sweep` on the **validation** split.
    reference_accuracy : float
        Validation accuracy of the model the staged classifier replaces [1].
    max_accuracy_drop_pt : float
        Largest accepted loss [percentage points].

    Returns
    -------
    dict
        The chosen sweep row, plus ``met`` (False when no threshold kept the accuracy; then the most
        accurate threshold is returned, the cheapest among ties).
    """
    if val_sweep.height == 0:
        raise ParameterError("the sweep is empty. Fix: sweep at least one threshold.")
    if max_accuracy_drop_pt < 0:
        raise ParameterError(f"max_accuracy_drop_pt must be >= 0, got {max_accuracy_drop_pt!r}.")
    floor = reference_accuracy - max_accuracy_drop_pt / 100 - 1e-12
    ok = val_sweep.filter(pl.col("accuracy") >= floor)
    if ok.height:
        row = ok.sort(["expected_flops", "accuracy"], descending=[False, True]).row(0, named=True)
        return {**row, "met": True}
    row = val_sweep.sort(["accuracy", "expected_flops"], descending=[True, False]).row(0, named=True)
    return {**row, "met": False}


# ---------------------------------------------------------------------------------------------- early exit

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
        for stage, head in zip(self.stages, self.exits):
            h = stage(h)
            outs.append(head(h))
        return outs


def _require_exits(model) -> EarlyExitNet:
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
        self.thresholds = _thresholds_for(threshold, net.n_exits)

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
        self.thresholds = _thresholds_for(threshold, len(models))

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
        raise ParameterError(f"need {net.n_exits} non-negative exit weights, got {list(w)}.")

    def loss_fn(model, xb, yb, idx):
        return sum(wk * nn.functional.cross_entropy(z, yb) for wk, z in zip(w, model(xb)))

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
    from workbench.measure.features import count_flops

    n = sample.shape[0]
    if isinstance(model, Cascade):
        per = [count_flops(m.eval(), sample) / n for m in model.models]
        return list(np.cumsum(per).astype(float))
    net = _require_exits(model.net if isinstance(model, EarlyExitClassifier) else model)
    return [count_flops(ExitPath(net, k).eval(), sample) / n for k in range(net.n_exits)]
