"""Interleaved timing: a model's calls in short blocks, randomly ordered with reference blocks.

The protocol (randomised multiple interleaved trials, Abedi & Brecht, ICPE 2017), for one model:

1. ``warmup`` untimed calls; three timed calls estimate its latency.
2. A reference block (:class:`~workbench.measure.reference.ReferenceWorkload`), then ``blocks`` rounds;
   each round is one model block and one reference block in random order (``rng``). A model block is
   ``ceil(repeats / blocks)`` calls, or more where the model is shorter than two reference blocks (up to
   :data:`MAX_BLOCK_CALLS`), so that a block lasts twice as long as the reference. Every call is timed
   on the wall clock and on the calling thread's CPU clock.
3. Blocks whose reference ran :data:`~workbench.measure.reference.CONTENDED_SLOWDOWN` times slower than
   at calibration or more are *contended*: as many rounds again are run (at most ``max_reruns`` in all),
   until ``blocks`` uncontended blocks are in hand. Contended blocks stay in the figure at a weight of
   1 / slowdown² (:func:`~workbench.measure.reference.normalise`); the count is returned.
4. A last reference block where the last block was the model's, so every model block has a reference
   after it.

The clock of the normalisation is the run's (:func:`~workbench.measure.reference.clock_for`): the thread's
CPU time with one intra-op thread, the wall clock otherwise. The wall-clock figures are kept beside it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from workbench.checks import check_int
from workbench.errors import ParameterError
from workbench.measure import reference as ref
from workbench.measure.timing import LatencyStats, summarize

QUANTILES = (0, 1, 5, 10, 25, 50)
"""Percentiles of the calls on the run's clock recorded in ``details()["quantiles_ms"]`` (estimators compared
by ``benchmarks/profiler_repeatability.py``)."""

MAX_BLOCK_CALLS = 200
"""Most model calls in one block (the cap of the lengthening of short models' blocks)."""


@dataclass(frozen=True)
class InterleavedResult:
    """Figures of :func:`time_interleaved`.

    ``wall``: statistics of every timed call on the wall clock [ms]; ``cpu_ms_p50``: median thread CPU
    time per call [ms] (``None`` when not measured); ``normalised``: the reference-normalised figures on
    ``clock``; ``block_calls``, ``rounds`` and ``reruns``: the protocol as it ran.
    """

    wall: LatencyStats
    cpu_ms_p50: float | None
    normalised: ref.Normalised
    clock: str
    block_calls: int
    rounds: int
    reruns: int
    method: str = ""
    """The ``latency_method`` of the figures (default ``reference-interleaved/<clock>``)."""
    samples: tuple[float, ...] = ()
    """Every timed call on ``clock`` [ms], in the order they ran."""

    def details(self) -> dict:
        """The protocol and its figures, as recorded in ``config_json``."""
        n = self.normalised
        return {"method": self.method or f"reference-interleaved/{self.clock}", "clock": self.clock,
                "block_calls": self.block_calls, "rounds": self.rounds, "reruns": self.reruns,
                "contended_blocks": n.contended, "reference_share": round(n.reference_share, 4),
                "raw_ms_p50": n.raw_ms_p50, "norm_ms_p50": n.norm_ms_p50, "envelope_ms": n.envelope_ms,
                "envelope_quantile": ref.ENVELOPE_QUANTILE, "cpu_ms_p50": self.cpu_ms_p50,
                "wall_ms_p50": self.wall.latency_ms_p50,
                "slowdown_median": round(float(np.median(n.slowdowns)), 4),
                "slowdown_max": round(float(np.max(n.slowdowns)), 4),
                "self_slowdown_max": round(float(np.max(n.self_slowdowns)), 4),
                "quantiles_ms": {str(q): float(v) for q, v in zip(QUANTILES, np.percentile(self.samples, QUANTILES),
                                                                  strict=True)}}


def time_model_block(call: Callable[[], object], calls: int, cpu: bool) -> tuple[list[float], list[float]]:
    """``calls`` calls of ``call``, each timed on the wall clock and (with ``cpu``) the thread's CPU clock [ms]."""
    wall, cput = [], []
    for _ in range(calls):
        c0 = time.thread_time_ns() if cpu else 0
        t0 = time.perf_counter_ns()
        call()
        t1 = time.perf_counter_ns()
        c1 = time.thread_time_ns() if cpu else 0
        wall.append((t1 - t0) / 1e6)
        cput.append((c1 - c0) / 1e6)
    return wall, cput


def time_interleaved(call: Callable[[], object], calibration: ref.Calibration, *, repeats: int, warmup: int,
                     blocks: int = 10, reference: Callable[[], object] | None = None,
                     rng: np.random.Generator | None = None, max_reruns: int | None = None,
                     clock: Callable[[], int] | None = None) -> InterleavedResult:
    """Time ``call`` interleaved with reference blocks (the module docstring gives the protocol).

    Parameters
    ----------
    call : callable
        One forward call (synchronised with the device where it runs asynchronously).
    calibration : Calibration
        The reference's speed on this host, on the clock to normalise with (``calibration.clock``).
    repeats : int
        Timed calls at least (more where blocks are lengthened or re-run).
    warmup : int
        Untimed calls first.
    blocks : int
        Rounds of one model block and one reference block.
    reference : callable, optional
        One reference block (default: a :class:`~workbench.measure.reference.ReferenceWorkload`).
    rng : numpy Generator, optional
        Order of the blocks in each round (default: seeded with 0).
    max_reruns : int, optional
        Most extra rounds for contended blocks (default: ``blocks``).
    clock : callable, optional
        Replaces the clock of ``calibration.clock`` for the normalisation (tests: a fake clock); the
        per-call wall and CPU figures are then not measured and equal the normalisation clock's.

    Returns
    -------
    InterleavedResult
    """
    return time_interleaved_many([call], calibration, repeats=repeats, warmup=warmup, blocks=blocks,
                                 reference=reference, rng=rng, max_reruns=max_reruns, clock=clock)[0]


def time_interleaved_many(calls: list[Callable[[], object]], calibration: ref.Calibration, *, repeats: int,
                          warmup: int, blocks: int = 10, reference: Callable[[], object] | None = None,
                          rng: np.random.Generator | None = None, max_reruns: int | None = None,
                          clock: Callable[[], int] | None = None) -> list[InterleavedResult]:
    """:func:`time_interleaved` for several models at once: each round runs one block of every model and
    one reference block in random order, so that every model's blocks spread over the whole run and meet
    the host's quiet and busy phases alike (randomised multiple interleaved trials across the alternatives,
    Abedi & Brecht, ICPE 2017). A rerun round holds the models that still need uncontended blocks.

    Parameters are those of :func:`time_interleaved`, with ``calls`` one forward call per model.

    Returns
    -------
    list of InterleavedResult
        One per call, in order.
    """
    check_int(repeats, "repeats")
    check_int(warmup, "warmup", minimum=0)
    check_int(blocks, "blocks")
    if not calls:
        raise ParameterError("time_interleaved_many needs at least one call.")
    reference = reference or ref.default_reference()
    rng = rng or np.random.default_rng(0)
    max_reruns = blocks if max_reruns is None else check_int(max_reruns, "max_reruns", minimum=0)
    fake = clock is not None
    tick = clock or ref.CLOCKS[calibration.clock]
    cpu = not fake and calibration.clock == "thread-cpu"
    n = len(calls)
    wall_all: list[list[float]] = [[] for _ in calls]
    cpu_all: list[list[float]] = [[] for _ in calls]

    def model_block(i: int, k: int) -> list[float]:
        if fake:
            got = ref.time_block(calls[i], k, tick)
            wall_all[i].extend(got)
            return got
        wall, cput = time_model_block(calls[i], k, cpu)
        wall_all[i].extend(wall)
        cpu_all[i].extend(cput)
        return cput if cpu else wall

    per_block = []
    for call in calls:
        for _ in range(warmup):
            call()
        estimate = float(np.median(ref.time_block(call, 3, tick)))
        need = math.ceil(2 * calibration.reference_ms / estimate) if estimate > 0 else MAX_BLOCK_CALLS
        per_block.append(max(math.ceil(repeats / blocks), min(MAX_BLOCK_CALLS, need)))
    first = ("ref", ref.time_reference(reference, 1, tick))
    timelines: list[list[tuple[str, list[float]]]] = [[first] for _ in calls]
    rounds, reruns, todo = [0] * n, [0] * n, [blocks] * n
    found: list[ref.Normalised | None] = [None] * n
    while any(todo):
        for _ in range(max(todo)):
            members = [i for i in range(n) if todo[i] > 0]
            for j in rng.permutation(len(members) + 1):
                if j == len(members):
                    block = ("ref", ref.time_reference(reference, 1, tick))
                    for t in timelines:
                        t.append(block)
                else:
                    i = members[j]
                    timelines[i].append(("model", model_block(i, per_block[i])))
                    rounds[i] += 1
            todo = [t - 1 if t > 0 else 0 for t in todo]
        last = ("ref", ref.time_reference(reference, 1, tick))
        for i, t in enumerate(timelines):
            if t[-1][0] == "model":
                t.append(last)
            found[i] = ref.normalise(t, calibration)
            clean = len(found[i].contended_mask) - found[i].contended
            todo[i] = min(blocks - clean, max_reruns - reruns[i]) if clean < blocks else 0
            reruns[i] += todo[i]
    out = []
    for i in range(n):
        samples = tuple(c for kind, v in timelines[i] if kind == "model" for c in v)
        out.append(InterleavedResult(summarize(wall_all[i]), float(np.median(cpu_all[i])) if cpu else None,
                                     found[i], calibration.clock, per_block[i], rounds[i], reruns[i],
                                     samples=samples))
    return out
