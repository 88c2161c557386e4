"""Which latency protocol a profile runs, and the columns, details and notes each one writes.

Settings of ``ProfileSettings.normalise`` (``auto``, the default, is ``envelope`` with one intra-op thread and
``none`` with more: :func:`mode`):

- ``envelope`` (the default) and ``reference``: the interleaved protocol of :mod:`workbench.measure.interleaved`
  with the reference calibrated once per run (:func:`calibrated`); ``latency_ms_norm`` is the envelope
  (the fastest call, :data:`~workbench.measure.reference.ENVELOPE_QUANTILE`; contended blocks re-run) or the reference-normalised
  median. Both figures are in ``config_json["latency"]`` whichever is the column's.
- ``duet``: :mod:`workbench.measure.duet`, the reference in its own process on another core for the run;
  ``latency_ms_norm`` is the reference-normalised median.
- ``none``: back-to-back calls (:func:`workbench.measure.timing.time_forward`); ``latency_ms_norm`` null.

Every setting records the raw wall-clock figures in ``latency_ms_p50/p95/mean`` and, with one intra-op
thread, the median thread CPU time in ``latency_ms_cpu_p50``; the normalising ones add
``latency_ms_norm``, ``contended_blocks`` and, in ``config_json["latency"]``, the protocol, the
calibration and the per-layer clock and slowdown. CUDA runs are not normalised (the reference is a CPU
workload): ``latency_method`` ``wall``.

:func:`measure_latency` times a torch model and its layers; :func:`measure_call` times any callable (an
onnxruntime session, :mod:`workbench.measure.ort_runtime`) with the same protocol, clocks, columns and notes,
without the per-layer breakdown.

Per layer, ``latency_ms`` of the layer table is the raw ``layer_statistic`` over the repeats (the fastest
for ``envelope``, else the median) on ``layer_clock`` (thread CPU time with one thread, else wall);
``layer_slowdown`` is the reference's slowdown around (interleaved) or during
(duet) the per-layer calls: ``latency_ms / layer_slowdown`` is normalised as the network's figure is.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import numpy as np
import torch

from workbench.errors import ParameterError
from workbench.measure import duet, features, interleaved, reference, timing


def mode(settings) -> str:
    """The protocol ``settings`` run: ``normalise`` as given, with ``auto`` resolved to ``envelope`` for one
    intra-op thread and ``none`` for more (on this project's 2-core machine under a load of 6–9, interleaving
    two-thread runs with the reference made them tens of times slower: every OpenMP region waited for a
    descheduled thread, and back-to-back wall-clock timing is what multi-threaded rows had before)."""
    if settings.normalise != "auto":
        return settings.normalise
    return "envelope" if (settings.threads or torch.get_num_threads()) == 1 else "none"


def _normalising(settings) -> bool:
    return mode(settings) != "none" and not settings.device.startswith("cuda")


@contextlib.contextmanager
def calibrated(settings) -> Iterator[reference.Calibration | duet.DuetReference | None]:
    """The reference's calibration shared by the rows of one run, for ``settings`` (a ``ProfileSettings``).

    Yields a :class:`~workbench.measure.reference.Calibration` (``interleaved``), a started
    :class:`~workbench.measure.duet.DuetReference` (``duet``, stopped on exit) or ``None`` (nothing
    normalised).

    Raises
    ------
    ParameterError
        ``duet`` with more than one intra-op thread, or on fewer than two cores.
    """
    if not _normalising(settings):
        yield None
        return
    threads = settings.threads or torch.get_num_threads()
    if mode(settings) == "duet":
        if threads != 1:
            raise ParameterError(f"duet mode times one intra-op thread, got threads={threads}. "
                                 "Fix: threads=1 (--threads 1), or normalise='interleaved'.")
        with duet.DuetReference() as d:
            yield d
        return
    with timing.num_threads(settings.threads):
        yield reference.calibrate(clock=reference.clock_for(threads))


def interleaves(settings) -> bool:
    """Whether ``settings`` time models interleaved with the reference (``envelope``, ``reference``; not on CUDA)."""
    return _normalising(settings) and mode(settings) != "duet"


def time_together(pairs, settings, calibration) -> list:
    """Time several models at once (:func:`~workbench.measure.interleaved.time_interleaved_many`), so that each
    model's blocks spread over the whole run (settings for which :func:`interleaves` is true).

    Parameters
    ----------
    pairs : list of (callable, batch)
        Each model as it runs and its batch (an ``nn.Module`` and a tensor, or an onnxruntime session wrapper
        and an array: anything called as ``model(x)``).
    settings : ProfileSettings
    calibration : Calibration
        From :func:`calibrated`.

    Returns
    -------
    list of InterleavedResult
        To pass to :func:`measure_latency` (or :func:`measure_call`) as ``timed``, in order.

    Raises
    ------
    ParameterError
        Settings that do not interleave.
    """
    if not interleaves(settings):
        raise ParameterError(f"normalise={settings.normalise!r} on {settings.device} does not interleave models. "
                             "Fix: time them one by one with measure_latency.")
    clock = reference.clock_for(settings.threads or torch.get_num_threads())
    cal = calibration if isinstance(calibration, reference.Calibration) and calibration.clock == clock \
        else reference.calibrate(clock=clock)
    calls = [(lambda m=m, x=x: m(x)) for m, x in pairs]
    with torch.inference_mode():
        return interleaved.time_interleaved_many(calls, cal, repeats=settings.repeats, warmup=settings.warmup,
                                                 blocks=settings.blocks, reference=reference.default_reference())


def _calibration_on(calibration, clock: str) -> reference.Calibration:
    """``calibration`` where it is an interleaved run's on ``clock``, else a fresh one on ``clock``."""
    if isinstance(calibration, reference.Calibration) and calibration.clock == clock:
        return calibration
    return reference.calibrate(clock=clock)


def _duet_reference(calibration) -> duet.DuetReference:
    if not isinstance(calibration, duet.DuetReference):
        raise ParameterError("duet mode needs the run's DuetReference. Fix: profile inside "
                             "`with latency.calibrated(settings) as calibration:` and pass it.")
    return calibration


def _figures(got, cal: reference.Calibration, settings, details: dict) -> tuple[dict, dict, list[str]]:
    """The latency columns, ``config_json["latency"]`` and the notes from a timed run (``got``) and ``details``
    specific to the caller (per-layer clock, model core)."""
    n = got.normalised
    details = {**got.details(), "calibration": cal.as_dict(), "reference": reference.ReferenceWorkload.KERNELS,
               **details}
    if mode(settings) == "envelope":
        details["method"] = f"envelope-{reference.ENVELOPE_NAME}/{cal.clock}"
    norm = n.envelope_ms if mode(settings) == "envelope" else n.norm_ms_p50
    cols = {"latency_ms_cpu_p50": got.cpu_ms_p50, "latency_ms_norm": norm,
            "latency_method": details["method"], "contended_blocks": n.contended}
    return cols, details, list(n.flags)


def measure_call(call, settings, calibration=None, timed=None, *, clock_name: str | None = None,
                 reference_block=None, clock=None):
    """Latency of any callable (an onnxruntime session's ``run``, a compiled model) under ``settings.normalise``,
    without a per-layer breakdown: the network-level half of :func:`measure_latency`.

    The protocol, clocks and columns are the torch profiler's: with one intra-op thread (``settings.threads``,
    or torch's where it is ``None``) the calls are timed on the calling thread's CPU clock, which covers the
    work only where the callable computes on the calling thread (true of PyTorch and of onnxruntime with
    ``intra_op_num_threads=1``, :mod:`workbench.measure.ort_runtime`); the reference blocks run with the
    caller's torch threads, as at calibration (call it inside :func:`workbench.measure.timing.num_threads`).

    Parameters
    ----------
    call : callable
        One call, no arguments (its result is ignored).
    settings : ProfileSettings
        ``repeats``, ``warmup``, ``blocks``, ``threads``, ``device`` and ``normalise``.
    calibration : Calibration or DuetReference, optional
        From :func:`calibrated`; an interleaved run calibrates here when it is missing or on another clock.
    timed : InterleavedResult, optional
        The call's timing from :func:`time_together` (or a replay): only the columns are built here.
    clock_name : {'thread-cpu', 'wall'}, optional
        The clock, where the caller knows better than :func:`~workbench.measure.reference.clock_for` (a
        one-thread callable that computes on other threads is timed on ``wall``).
    reference_block, clock : callable, optional
        Replay hooks passed to :func:`~workbench.measure.interleaved.time_interleaved` (tests: a fake host's
        reference block and clock [ns]).

    Returns
    -------
    (LatencyStats, dict, dict, list of str)
        Wall-clock statistics, the latency schema columns, the details for ``config_json["latency"]`` and
        the notes (flags).
    """
    threads = settings.threads or torch.get_num_threads()
    name = "wall" if settings.device.startswith("cuda") else clock_name or reference.clock_for(threads)
    if name not in reference.CLOCKS:
        raise ParameterError(f"unknown clock {name!r}; valid: {sorted(reference.CLOCKS)}.")
    if not _normalising(settings):
        lat = timing.time_forward(lambda _x: call(), None, repeats=settings.repeats, warmup=settings.warmup,
                                  device=settings.device, cpu=name == "thread-cpu")
        return lat, {"latency_ms_cpu_p50": lat.cpu_ms_p50, "latency_method": "wall"}, \
            {"method": "wall", "clock": name}, []
    if mode(settings) == "duet":
        if name != "thread-cpu":
            raise ParameterError("duet mode times the calling thread's CPU clock, but this call is timed on the "
                                 f"{name!r} clock. Fix: normalise='envelope' or 'reference'.")
        d = _duet_reference(calibration)
        cal = d.calibration
        got = timed or duet.time_duet(call, d, repeats=settings.repeats, warmup=settings.warmup,
                                      blocks=settings.blocks)
        extra = {"model_core": d.model_core}
    else:
        cal = _calibration_on(calibration, name)
        got = timed or interleaved.time_interleaved(call, cal, repeats=settings.repeats, warmup=settings.warmup,
                                                    blocks=settings.blocks,
                                                    reference=reference_block or reference.default_reference(),
                                                    clock=clock)
        extra = {}
    cols, details, flags = _figures(got, cal, settings, extra)
    return got.wall, cols, details, flags


def measure_latency(model, x, settings, calibration=None, timed=None):
    """Latency of ``model(x)`` and its per-layer breakdown under ``settings.normalise``.

    Parameters
    ----------
    model, x
        The model as it runs and its batch, on ``settings.device``.
    settings : ProfileSettings
        ``repeats``, ``warmup``, ``blocks``, ``layer_repeats``, ``threads``, ``device`` and ``normalise``.
    calibration : Calibration or DuetReference, optional
        From :func:`calibrated`; an interleaved run calibrates here when it is missing or on another clock.
    timed : InterleavedResult, optional
        This model's timing from :func:`time_together` (interleaved settings): then only the per-layer
        breakdown runs here.

    Returns
    -------
    (LatencyStats, dict, dict, list of str, list of LayerRecord)
        Wall-clock statistics, the latency schema columns, the details for ``config_json["latency"]``,
        the notes (flags) and the per-layer records.
    """
    threads = settings.threads or torch.get_num_threads()
    clock = "wall" if settings.device.startswith("cuda") else reference.clock_for(threads)
    tick = reference.CLOCKS[clock]
    if not _normalising(settings):
        lat = timing.time_forward(model, x, repeats=settings.repeats, warmup=settings.warmup,
                                  device=settings.device, cpu=clock == "thread-cpu")
        layer_lat = features.layer_breakdown(model, x, repeats=settings.layer_repeats, clock=tick)
        cols = {"latency_ms_cpu_p50": lat.cpu_ms_p50, "latency_method": "wall"}
        return lat, cols, {"method": "wall", "layer_clock": clock}, [], layer_lat

    def call():
        model(x)

    statistic = "min" if mode(settings) == "envelope" else "median"
    if mode(settings) == "duet":
        d = _duet_reference(calibration)
        cal = d.calibration
        with torch.inference_mode():
            got = duet.time_duet(call, d, repeats=settings.repeats, warmup=settings.warmup, blocks=settings.blocks)
            t0 = time.monotonic_ns()
            layer_lat = features.layer_breakdown(model, x, repeats=settings.layer_repeats, clock=tick)
            during = d.blocks(t0, time.monotonic_ns())
        layer_slowdown = float(np.median(during[:, 2])) / 1e6 / cal.reference_ms if len(during) else 1.0
        extra = {"model_core": d.model_core}
    else:
        cal = _calibration_on(calibration, clock)
        ref_block = reference.default_reference()
        with torch.inference_mode():
            got = timed or interleaved.time_interleaved(call, cal, repeats=settings.repeats, warmup=settings.warmup,
                                                        blocks=settings.blocks, reference=ref_block)
            before = reference.time_reference(ref_block, 2, tick)
            layer_lat = features.layer_breakdown(model, x, repeats=settings.layer_repeats, clock=tick,
                                                 statistic=statistic)
            after = reference.time_reference(ref_block, 2, tick)
        layer_slowdown = float(np.median(before + after)) / cal.reference_ms
        extra = {}
    cols, details, flags = _figures(got, cal, settings, {"layer_clock": clock, "layer_statistic": statistic,
                                                         "layer_slowdown": round(layer_slowdown, 4), **extra})
    return got.wall, cols, details, flags, layer_lat
