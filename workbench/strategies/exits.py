"""Exit decisions of staged classifiers: who leaves where, at what expected cost, and which threshold to choose.

A *staged classifier* (an early-exit network or a model cascade, :mod:`workbench.strategies.cascades`)
produces logits at stage ``k``; the sample leaves at the first stage whose prediction is confident
enough, and the last stage always answers. Everything here works on the stages' logits alone, so
a sweep evaluates every stage once and derives every threshold's outcome offline.

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

from workbench.checks import check_number
from workbench.errors import ParameterError, UnknownNameError
from workbench.strategies.data import check_dataset

CRITERIA = ("confidence", "entropy")
"""Exit criteria: leave when confidence >= threshold, or normalised entropy <= threshold."""

DEFAULT_THRESHOLDS = {
    "confidence": (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999),
    "entropy": (0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05, 0.02, 0.01, 0.001),
}
"""Default sweep grids, from permissive (most samples leave early) to strict."""


def check_criterion(criterion: str) -> str:
    """Return ``criterion`` if it is one of :data:`CRITERIA`.

    Raises
    ------
    UnknownNameError
        Any other name (the message suggests the closest criterion).
    """
    if criterion not in CRITERIA:
        raise UnknownNameError("exit criterion", criterion, CRITERIA)
    return criterion


def check_threshold(threshold) -> float:
    """Return ``threshold`` as a float if it is a number in [0, 1].

    Raises
    ------
    ParameterError
        Not a finite number, or outside [0, 1].
    """
    return check_number(threshold, "threshold", minimum=0, maximum=1,
                        fix="a confidence is a probability and the entropy is normalised by log(n_classes); "
                            "e.g. 0.9 for confidence, 0.1 for entropy.")


def thresholds_for(threshold, n_stages: int) -> list[float]:
    """One threshold per non-final stage, from a scalar (the same for all) or a sequence (one each).

    Parameters
    ----------
    threshold : float, sequence of float, array or tensor
        Threshold(s) in [0, 1].
    n_stages : int
        Number of stages, the final one included.

    Returns
    -------
    list of float
        ``n_stages - 1`` thresholds.

    Raises
    ------
    ParameterError
        A threshold outside [0, 1], or a sequence of the wrong length.
    """
    if isinstance(threshold, (np.ndarray, torch.Tensor)):
        threshold = threshold.tolist()  # Python floats (a 0-d array gives a scalar)
    if isinstance(threshold, Sequence) and not isinstance(threshold, str):
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
    ts = thresholds_for(threshold, k)
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
    max_accuracy_drop_pt = check_number(max_accuracy_drop_pt, "max_accuracy_drop_pt", minimum=0,
                                        fix="e.g. 0 to keep the reference accuracy, 1 to accept one point less.")
    floor = reference_accuracy - max_accuracy_drop_pt / 100 - 1e-12
    ok = val_sweep.filter(pl.col("accuracy") >= floor)
    if ok.height:
        row = ok.sort(["expected_flops", "accuracy"], descending=[False, True]).row(0, named=True)
        return {**row, "met": True}
    row = val_sweep.sort(["accuracy", "expected_flops"], descending=[True, False]).row(0, named=True)
    return {**row, "met": False}
