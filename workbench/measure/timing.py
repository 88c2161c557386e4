"""Latency and peak-memory measurement of a forward call.

Latency: ``warmup`` untimed calls, then ``repeats`` calls each timed with ``time.perf_counter_ns``
(CUDA: synchronised before and after each call); p50/p95 by linear interpolation (numpy default).

Peak memory (CPU): weights + input + the peak of live bytes allocated during one forward call,
taken from torch.profiler's allocator trace (``profile_memory=True``: every allocation and free
with its size). This counts tensors allocated by PyTorch's CPU allocator, including oneDNN weight
reorders; it does not count the Python interpreter, the libraries' code, or thread stacks.
(CUDA: ``torch.cuda.max_memory_allocated`` over one call.)
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from workbench.measure.features import tensor_bytes

_KINETO_LINE = ("USDT:", "STAGE:")


@contextlib.contextmanager
def quiet_kineto():
    """Drop the trace lines torch's profiler library (kineto) prints straight to file descriptor 2 at
    every memory measurement ("USDT: ... profiler_start"), which would fill a rendered page;
    everything else written to stderr meanwhile is passed on."""
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError):  # no real stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        try:
            sys.stderr.flush()
            os.dup2(tmp.fileno(), fd)
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            kept = [ln for ln in tmp.read().decode(errors="replace").splitlines(keepends=True)
                    if not ln.startswith(_KINETO_LINE)]
            if kept:
                sys.stderr.write("".join(kept))


@dataclass(frozen=True)
class LatencyStats:
    """Summary of the timed forward calls [ms per call of the batch]; ``cv`` is std/mean [1]."""

    latency_ms_p50: float
    latency_ms_p95: float
    latency_ms_mean: float
    latency_cv: float
    repeats: int
    samples_ms: tuple[float, ...]
    cpu_ms_p50: float | None = None
    """Median CPU time of the calling thread per call [ms] (``time.thread_time_ns``), where measured."""


def summarize(samples_ms) -> LatencyStats:
    """p50, p95, mean and coefficient of variation (population std / mean) of latency samples [ms]."""
    a = np.asarray(samples_ms, dtype=float)
    mean = float(a.mean())
    return LatencyStats(float(np.percentile(a, 50)), float(np.percentile(a, 95)), mean,
                        float(a.std() / mean) if mean > 0 else 0.0, int(a.size), tuple(a.tolist()))


@contextlib.contextmanager
def num_threads(threads: int | None):
    """Run the block with ``torch.set_num_threads(threads)``, restoring the previous value."""
    if threads is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_forward(model, x, *, repeats: int, warmup: int, device: str = "cpu", cpu: bool = False) -> LatencyStats:
    """Latency statistics of ``model(x)`` over ``repeats`` timed calls after ``warmup`` calls.

    With ``cpu``, each call's CPU time of the calling thread (``time.thread_time_ns``) is taken too and its
    median returned as ``cpu_ms_p50``: with one intra-op thread it excludes the time the thread waited for a
    core (other processes, hypervisor steal); with more it misses the pool's threads, so it is only asked
    for with one.
    """
    samples, cpu_samples = [], []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        _sync(device)
        for _ in range(repeats):
            c0 = time.thread_time_ns() if cpu else 0
            t0 = time.perf_counter_ns()
            model(x)
            _sync(device)
            samples.append((time.perf_counter_ns() - t0) / 1e6)
            if cpu:
                cpu_samples.append((time.thread_time_ns() - c0) / 1e6)
    stats = summarize(samples)
    if cpu:
        stats = replace(stats, cpu_ms_p50=float(np.median(cpu_samples)))
    return stats


def peak_memory_bytes(model, x, *, device: str = "cpu") -> int:
    """Peak memory of one forward call [B] (see the module docstring for the method)."""
    static = sum(tensor_bytes(t) for t in model.parameters()) + sum(tensor_bytes(b) for b in model.buffers())
    static += tensor_bytes(x)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        with torch.inference_mode():
            model(x)
        torch.cuda.synchronize()
        return static + int(torch.cuda.max_memory_allocated() - base)
    from torch.profiler import ProfilerActivity, profile

    with quiet_kineto(), torch.inference_mode(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        model(x)
    events = sorted(
        (e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"
    )
    live = peak = 0
    for _, nbytes in events:
        live += nbytes
        peak = max(peak, live)
    return int(static + peak)
