"""Duet timing: the reference runs at the same time as the model, on its own core (Bulej et al., ICPE 2020).

A second process (:class:`DuetReference`), pinned to a core of its own, runs the reference workload
(:class:`~workbench.measure.reference.ReferenceWorkload`, without cache eviction: it keeps its core to
itself) in a loop and writes each block's start and end (``time.monotonic_ns``, one clock for both
processes on Linux) and its duration on its thread's CPU clock into shared memory. The model, pinned to
another core, is timed in blocks; each block's slowdown is the median of the reference blocks that ran
during it ÷ the reference's speed at calibration (the reference's blocks during the first
``calibration_s`` after it started, while the model process waits), and
:func:`~workbench.measure.reference.combine` turns blocks and slowdowns into the figures, as for the
interleaved protocol. Contended blocks are re-run as there.

This mode needs two cores and one intra-op thread. It sees what both cores share (memory bandwidth, the
last-level cache, the package's clock frequency) but not what happens to the model's core alone (a
neighbour taking it): the thread-CPU clock covers that.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
from collections.abc import Callable

import numpy as np

from workbench.errors import ParameterError
from workbench.measure import reference as ref
from workbench.measure.interleaved import MAX_BLOCK_CALLS, InterleavedResult, time_model_block
from workbench.measure.timing import summarize

SLOTS = 1 << 16
"""Reference blocks kept in the shared ring buffer (about 100 s of blocks)."""


def _reference_loop(buf, count, stop, core: int | None) -> None:
    """The reference process: blocks in a loop until ``stop``, each written as (start_ns, end_ns, cpu_ns)."""
    import torch

    torch.set_num_threads(1)
    if core is not None:
        os.sched_setaffinity(0, {core})
    work = ref.ReferenceWorkload()
    n = 0
    while not stop.is_set():
        t0, c0 = time.monotonic_ns(), time.thread_time_ns()
        work()
        c1, t1 = time.thread_time_ns(), time.monotonic_ns()
        i = 3 * (n % SLOTS)
        buf[i], buf[i + 1], buf[i + 2] = float(t0), float(t1), float(c1 - c0)
        n += 1
        count.value = n


class DuetReference:
    """The reference process of duet mode; a context manager (``with DuetReference() as duet: ...``).

    Parameters
    ----------
    calibration_s : float
        Seconds of reference blocks taken as its calibration after it starts (the model waits).

    Raises
    ------
    ParameterError
        Fewer than two cores available to this process.
    """

    def __init__(self, calibration_s: float = 0.5):
        self.calibration_s = calibration_s

    def __enter__(self) -> DuetReference:
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        if len(cores) < 2:
            raise ParameterError(f"duet mode needs two cores, this process has {len(cores) or 'an unknown number'}."
                                 " Fix: normalise='interleaved'.")
        ctx = mp.get_context("spawn")
        self._buf = ctx.RawArray("d", 3 * SLOTS)
        self._count = ctx.RawValue("q", 0)
        self._stop = ctx.Event()
        self.model_core, ref_core = cores[0], cores[-1]
        self._saved_affinity = set(cores)
        self._proc = ctx.Process(target=_reference_loop, args=(self._buf, self._count, self._stop, ref_core),
                                 daemon=True)
        self._proc.start()
        os.sched_setaffinity(0, {self.model_core})
        while self._count.value < 5:  # started (torch imported, first blocks done)
            time.sleep(0.01)
        t0 = time.monotonic_ns()
        time.sleep(self.calibration_s)
        blocks = self.blocks(t0, time.monotonic_ns())
        self.calibration = ref.calibration_from_blocks(blocks[:, 2] / 1e6, "thread-cpu")
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.terminate()
        os.sched_setaffinity(0, self._saved_affinity)

    def blocks(self, start_ns: int, end_ns: int) -> np.ndarray:
        """Reference blocks (start_ns, end_ns, cpu_ns) that overlap ``[start_ns, end_ns]``."""
        n = self._count.value
        a = np.frombuffer(self._buf, dtype=float).reshape(SLOTS, 3)[: min(n, SLOTS)]
        return a[(a[:, 1] >= start_ns) & (a[:, 0] <= end_ns)]


def time_duet(call: Callable[[], object], duet: DuetReference, *, repeats: int, warmup: int,
              blocks: int = 10, max_reruns: int | None = None) -> InterleavedResult:
    """Time ``call`` in blocks while ``duet``'s reference runs on another core (see the module docstring).

    Parameters
    ----------
    call : callable
        One forward call, on one intra-op thread.
    duet : DuetReference
        A started reference process.
    repeats, warmup, blocks, max_reruns
        As for :func:`~workbench.measure.interleaved.time_interleaved`; a block lasts at least four
        reference blocks.

    Returns
    -------
    InterleavedResult
        With ``clock`` ``thread-cpu``; its ``details()`` name the method ``reference-duet/thread-cpu``.
    """
    cal = duet.calibration
    max_reruns = blocks if max_reruns is None else max_reruns
    for _ in range(warmup):
        call()
    estimate = float(np.median(ref.time_block(call, 3, time.thread_time_ns)))
    per_block = max(math.ceil(repeats / blocks), min(MAX_BLOCK_CALLS, math.ceil(4 * cal.reference_ms / estimate)))
    windows, calls, wall_all, cpu_all = [], [], [], []
    rounds = reruns = 0
    todo = blocks
    while todo > 0:
        for _ in range(todo):
            t0 = time.monotonic_ns()
            wall, cput = time_model_block(call, per_block, True)
            windows.append((t0, time.monotonic_ns()))
            calls.append(cput)
            wall_all += wall
            cpu_all += cput
            rounds += 1
        slowdowns = []
        for a, b in windows:
            during = duet.blocks(a, b)
            slowdowns.append(float(np.median(during[:, 2])) / 1e6 / cal.reference_ms if len(during) else 1.0)
        found = ref.combine(calls, slowdowns, cal, float("nan"))
        clean = len(found.contended_mask) - found.contended
        todo = min(blocks - clean, max_reruns - reruns) if clean < blocks else 0
        reruns += max(todo, 0)
    return InterleavedResult(summarize(wall_all), float(np.median(cpu_all)), found, "thread-cpu", per_block, rounds,
                             reruns, method="reference-duet/thread-cpu", samples=tuple(cpu_all))
