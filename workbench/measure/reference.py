"""A reference workload and the arithmetic that expresses a model's latency relative to it.

On a shared machine the host's speed changes while a model is measured: another process takes the
core, a neighbour streams memory, the clock frequency moves. Such phases last seconds and slow every
piece of work that runs during them. A fixed *reference workload* timed in short blocks between the
model's blocks sees the same phases; each model block divided by the host speed the reference saw
around it is then independent of the phase (randomised multiple interleaved trials, Abedi & Brecht,
ICPE 2017; duet benchmarking, Bulej et al., ICPE 2020). Multiplied by the reference's speed at its
*calibration* the ratio is again in milliseconds: the latency the model would have had at the host
speed of the calibration.

The reference (:class:`ReferenceWorkload`) is three kernels, one block being one call of each:

- ``matmul``: a 256 × 256 fp32 matrix product (compute-bound, 33.6 MFLOP);
- ``conv``: a 3 × 3 convolution of 32 channels on a 32 × 32 image (compute-bound, the layer type that
  dominates the zoo, 18.9 MFLOP);
- ``copy``: a copy of 16 MiB between two tensors (memory-bound: 32 MiB moved, beyond the L2 cache of the
  CPUs the workbench targets).

Before each timed block an untimed write over 64 MiB (:meth:`ReferenceWorkload.prepare`) evicts the
caches, so that the block starts cold whether it follows its own calibration or a model's calls (without
it, the blocks of a back-to-back calibration ran warm and up to 1.4× faster than the same blocks between
a model's calls on this project's machine, and every block looked contended). A block takes 1.5–2 ms on
one core of the AMD EPYC this was built on.

Clocks: ``thread-cpu`` (``time.thread_time_ns``: CPU time of the calling thread, which excludes the time
the thread waited for a core) is used where the work runs on the calling thread alone (one intra-op
thread); ``wall`` (``time.perf_counter_ns``) otherwise, where the intra-op pool's threads do the work.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from workbench.errors import ParameterError

CLOCKS: dict[str, Callable[[], int]] = {"thread-cpu": time.thread_time_ns, "wall": time.perf_counter_ns}
"""Clock name → a function returning nanoseconds."""

CALIBRATION_DRIFT_LIMIT = 0.05
"""Above this relative difference between the medians of the first and the second half of the
calibration blocks, the reference drifted during its own calibration (flagged in the row's notes)."""

CALIBRATION_SPREAD_LIMIT = 0.10
"""Above this relative spread (75th ÷ 25th percentile − 1) of the calibration blocks, the host was not
steady during the calibration (flagged in the row's notes)."""

CONTENDED_SLOWDOWN = 1.15
"""A block whose reference ran this many times slower than at calibration, or more, is *contended*:
it is re-run, and kept at a weight of 1 / slowdown² if the re-runs run out."""

REFERENCE_DOMINANT_SHARE = 0.5
"""Above this share of the interleaved time spent in the reference, the reference dominates the blocks
(the model is too short for its blocks): flagged in the row's notes."""


def clock_for(threads: int) -> str:
    """The clock a run with ``threads`` intra-op threads is timed with: ``thread-cpu`` for one, else ``wall``."""
    return "thread-cpu" if threads == 1 else "wall"


class ReferenceWorkload:
    """The fixed reference kernels (see the module docstring); calling it runs one block.

    Parameters
    ----------
    seed : int
        Seed of the tensors' values (the timing does not depend on them; fixed for reproducibility).
    """

    KERNELS = {"matmul": "256x256 @ 256x256 fp32", "conv": "conv2d 32->32 ch, 3x3, 32x32 px, fp32",
               "copy": "copy of 16 MiB fp32"}

    def __init__(self, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self._a = torch.randn(256, 256, generator=g)
        self._b = torch.randn(256, 256, generator=g)
        self._conv = torch.nn.Conv2d(32, 32, 3, padding=1).eval()
        self._img = torch.randn(1, 32, 32, 32, generator=g)
        self._src = torch.randn(4 * 1024 * 1024, generator=g)
        self._dst = torch.empty_like(self._src)
        self._evict = torch.empty(16 * 1024 * 1024)

    def prepare(self) -> None:
        """Evict the caches (a write over 64 MiB, twice the L3 of the CPUs targeted); not timed."""
        self._evict.fill_(1.0)

    def __call__(self) -> None:
        with torch.inference_mode():
            torch.mm(self._a, self._b)
            self._conv(self._img)
            self._dst.copy_(self._src)

    def describe(self) -> dict:
        """The kernels of one block (recorded in ``config_json``)."""
        return dict(self.KERNELS)


@functools.cache
def default_reference() -> ReferenceWorkload:
    """The process's one :class:`ReferenceWorkload` (built on first use: 32 MiB of tensors)."""
    return ReferenceWorkload()


def time_block(fn: Callable[[], object], calls: int, clock: Callable[[], int]) -> list[float]:
    """``calls`` calls of ``fn``, each timed with ``clock``; their durations [ms]."""
    out = []
    for _ in range(calls):
        t0 = clock()
        fn()
        out.append((clock() - t0) / 1e6)
    return out


def time_reference(reference: Callable[[], object], blocks: int, clock: Callable[[], int]) -> list[float]:
    """``blocks`` reference blocks, each after its untimed ``prepare()`` where it has one; their times [ms]."""
    prepare = getattr(reference, "prepare", None)
    out = []
    for _ in range(blocks):
        if prepare is not None:
            prepare()
        out += time_block(reference, 1, clock)
    return out


@dataclass(frozen=True)
class Calibration:
    """The reference's speed on this host: ``reference_ms`` per block [ms] on ``clock``.

    ``reference_ms`` is the 25th percentile of the calibration blocks (contention only adds time, so a
    low quantile is the host's undisturbed speed where a quarter of the blocks ran undisturbed).
    ``drift`` is the relative difference between the medians of the second and the first half of the
    blocks, ``spread`` the 75th ÷ 25th percentile − 1; ``flags`` says in words what is wrong, if anything.
    """

    reference_ms: float
    clock: str
    block_ms: tuple[float, ...]
    drift: float
    spread: float
    flags: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        """The calibration as recorded in ``config_json``."""
        return {"reference_ms": self.reference_ms, "clock": self.clock, "blocks": len(self.block_ms),
                "drift": round(self.drift, 4), "spread": round(self.spread, 4), "flags": list(self.flags)}


def calibration_from_blocks(block_ms, clock: str) -> Calibration:
    """A :class:`Calibration` from reference block times [ms] (pure; see :func:`calibrate`).

    Raises
    ------
    ParameterError
        Fewer than four blocks, or a block time that is not positive.
    """
    a = np.asarray(block_ms, dtype=float)
    if a.size < 4 or not np.all(a > 0):
        raise ParameterError(f"a calibration needs at least 4 positive reference block times, got {a.tolist()}. "
                             "Fix: calibrate with blocks >= 4.")
    half = a.size // 2
    drift = float(np.median(a[half:]) / np.median(a[:half]) - 1)
    q25, q75 = np.percentile(a, [25, 75])
    spread = float(q75 / q25 - 1)
    flags = []
    if abs(drift) > CALIBRATION_DRIFT_LIMIT:
        flags.append(f"reference drifted by {drift:+.1%} during its own calibration "
                     f"(limit {CALIBRATION_DRIFT_LIMIT:.0%})")
    if spread > CALIBRATION_SPREAD_LIMIT:
        flags.append(f"reference calibration unsteady (p75/p25 - 1 = {spread:.1%}, limit "
                     f"{CALIBRATION_SPREAD_LIMIT:.0%})")
    return Calibration(float(q25), clock, tuple(a.tolist()), drift, spread, tuple(flags))


def calibrate(reference: Callable[[], object] | None = None, *, clock: str = "thread-cpu", blocks: int = 24,
              warmup: int = 3) -> Calibration:
    """Time ``blocks`` reference blocks back to back and return the host's speed on ``clock``.

    Parameters
    ----------
    reference : callable, optional
        One reference block (default: a :class:`ReferenceWorkload`).
    clock : {'thread-cpu', 'wall'}
        The clock the model will be timed with (:func:`clock_for`).
    blocks, warmup : int
        Timed and untimed blocks.

    Returns
    -------
    Calibration
    """
    if clock not in CLOCKS:
        raise ParameterError(f"unknown clock {clock!r}; valid: {sorted(CLOCKS)}.")
    reference = reference or default_reference()
    time_reference(reference, warmup, CLOCKS[clock])
    return calibration_from_blocks(time_reference(reference, blocks, CLOCKS[clock]), clock)


ENVELOPE_QUANTILE = 0
"""Percentile of the per-call times taken as the *envelope* figure (0: the fastest call). Contention only
ever adds time, and a call that ran undisturbed is as fast as the work allows. On this project's machine
(2 cores shared with other sessions' test runs, plus the benchmark's own CPU hog and memory streamer)
the across-session CV of six models' figures under contention was 0.036 for the fastest call, 0.041 for
the 1st, 0.060 for the 5th, 0.067 for the 10th and 0.121 for the 25th percentile, against 0.120 for the
median thread CPU time and 0.38 for the wall-clock median (``benchmarks/profiler_repeatability.py
--contend``, 5 sessions of 100 calls)."""

ENVELOPE_NAME = "min" if ENVELOPE_QUANTILE == 0 else f"p{ENVELOPE_QUANTILE}"
"""The envelope's name in ``latency_method`` (``envelope-min/<clock>``)."""


@dataclass(frozen=True)
class Normalised:
    """A model's latency from blocks of calls, raw and normalised [ms per call].

    ``raw_ms_p50``: median of every timed call on the run's clock. ``norm_ms_p50``: weighted median of
    every call divided by its block's slowdown (the reference around the block ÷ the calibration).
    ``envelope_ms``: weighted :data:`ENVELOPE_QUANTILE`-th percentile of the raw calls (no reference
    involved). ``slowdowns``: the reference's, one per model block; ``self_slowdowns``: each block's median
    ÷ the fastest block's median; ``contended``: blocks where either is at or above
    :data:`CONTENDED_SLOWDOWN` (``contended_mask`` says which); ``reference_share``: the reference's share
    of the interleaved time; ``flags``: what to put in the row's notes.
    """

    raw_ms_p50: float
    norm_ms_p50: float
    envelope_ms: float
    slowdowns: tuple[float, ...]
    self_slowdowns: tuple[float, ...]
    contended_mask: tuple[bool, ...]
    reference_share: float
    flags: tuple[str, ...]

    @property
    def contended(self) -> int:
        """Model blocks in a contended phase."""
        return int(sum(self.contended_mask))


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    return float(v[min(int(np.searchsorted(cum, q * cum[-1])), v.size - 1)])


def combine(blocks, slowdowns, calibration: Calibration, reference_ms_total: float) -> Normalised:
    """Raw and normalised figures from model blocks and the slowdown the reference saw during each (pure).

    A block is contended where the reference's slowdown or the block's own (its median ÷ the fastest
    block's median) is at or above :data:`CONTENDED_SLOWDOWN`; its calls count at a weight of
    1 / slowdown² (the larger of the two) in both figures.

    Parameters
    ----------
    blocks : list of list of float
        Each model block's call times [ms].
    slowdowns : list of float
        Each block's slowdown: the reference's block time then ÷ ``calibration.reference_ms`` [1].
    calibration : Calibration
        Its flags are passed on.
    reference_ms_total : float
        Time spent in the reference [ms] (its share of the total is checked against
        :data:`REFERENCE_DOMINANT_SHARE`; ``nan`` where the reference ran elsewhere, as in duet mode).

    Returns
    -------
    Normalised
    """
    if not blocks or len(blocks) != len(slowdowns):
        raise ParameterError(f"normalisation needs one slowdown per model block and at least one block, got "
                             f"{len(blocks)} block(s) and {len(slowdowns)} slowdown(s).")
    arrays = [np.asarray(c, dtype=float) for c in blocks]
    medians = np.array([np.median(c) for c in arrays])
    own = medians / medians.min()
    worst = np.maximum(np.asarray(slowdowns, dtype=float), own)
    mask = worst >= CONTENDED_SLOWDOWN
    weights = np.concatenate([np.full(c.size, 1.0 / w ** 2 if m else 1.0) for c, w, m in zip(arrays, worst, mask,
                                                                                         strict=True)])
    raw = np.concatenate(arrays)
    norm = np.concatenate([c / s for c, s in zip(arrays, slowdowns, strict=True)])
    total = reference_ms_total + float(raw.sum())
    share = reference_ms_total / total if total > 0 else float("nan")
    flags = list(calibration.flags)
    if share > REFERENCE_DOMINANT_SHARE:
        flags.append(f"model too short for its blocks: the reference took {share:.0%} of the interleaved time "
                     f"(limit {REFERENCE_DOMINANT_SHARE:.0%}); the normalised figure leans on the reference")
    if mask.any():
        flags.append(f"{int(mask.sum())} of {len(blocks)} model blocks contended (reference or block >= "
                     f"{CONTENDED_SLOWDOWN:g}x its calibration or the fastest block), down-weighted by 1/slowdown^2")
    return Normalised(float(np.median(raw)), _weighted_quantile(norm, weights, 0.5),
                      _weighted_quantile(raw, weights, ENVELOPE_QUANTILE / 100),
                      tuple(float(s) for s in slowdowns), tuple(float(s) for s in own),
                      tuple(bool(m) for m in mask), share, tuple(flags))


def normalise(timeline, calibration: Calibration) -> Normalised:
    """Express each model block relative to the reference blocks around it (pure).

    Parameters
    ----------
    timeline : list of (str, list of float)
        The blocks in the order they ran: ``("ref", [ms])`` for a reference block (one or more timed
        calls, their median is the block's figure) and ``("model", [ms per call...])`` for a model block.
        Each model block's slowdown is the mean of the nearest reference block before it and the nearest
        after it (one side where there is only one) ÷ ``calibration.reference_ms``.
    calibration : Calibration
        The reference's speed on the same clock.

    Returns
    -------
    Normalised

    Raises
    ------
    ParameterError
        No model block, or no reference block.
    """
    refs = [(i, float(np.median(v))) for i, (kind, v) in enumerate(timeline) if kind == "ref"]
    models = [(i, v) for i, (kind, v) in enumerate(timeline) if kind == "model"]
    if not refs or not models:
        raise ParameterError("normalisation needs at least one reference block and one model block.")
    ref_at = np.array([i for i, _ in refs])
    ref_ms = np.array([m for _, m in refs])
    slowdowns = []
    for i, _ in models:
        k = int(np.searchsorted(ref_at, i))
        around = [ref_ms[j] for j in (k - 1, k) if 0 <= j < len(ref_ms)]
        slowdowns.append(float(np.mean(around)) / calibration.reference_ms)
    ref_total = float(sum(float(np.sum(v_)) for kind, v_ in timeline if kind == "ref"))
    return combine([v for _, v in models], slowdowns, calibration, ref_total)
