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
    pairs : list of (nn.Module, Tensor)
        Each model as it runs and its batch.
    settings : ProfileSettings
    calibration : Calibration
        From :func:`calibrated`.

    Returns
    -------
    list of InterleavedResult
        To pass to :func:`measure_latency` as ``timed``, in order.

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
        if not isinstance(calibration, duet.DuetReference):
            raise ParameterError("duet mode needs the run's DuetReference. Fix: profile inside "
                                 "`with latency.calibrated(settings) as calibration:` and pass it.")
        cal = calibration.calibration
        with torch.inference_mode():
            got = duet.time_duet(call, calibration, repeats=settings.repeats, warmup=settings.warmup,
                                 blocks=settings.blocks)
            t0 = time.monotonic_ns()
            layer_lat = features.layer_breakdown(model, x, repeats=settings.layer_repeats, clock=tick)
            during = calibration.blocks(t0, time.monotonic_ns())
        layer_slowdown = float(np.median(during[:, 2])) / 1e6 / cal.reference_ms if len(during) else 1.0
        extra = {"model_core": calibration.model_core}
    else:
        cal = calibration if isinstance(calibration, reference.Calibration) and calibration.clock == clock \
            else reference.calibrate(clock=clock)
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
    n = got.normalised
    details = {**got.details(), "calibration": cal.as_dict(), "reference": reference.ReferenceWorkload.KERNELS,
               "layer_clock": clock, "layer_statistic": statistic, "layer_slowdown": round(layer_slowdown, 4),
               **extra}
    if mode(settings) == "envelope":
        details["method"] = f"envelope-{reference.ENVELOPE_NAME}/{clock}"
    norm = n.envelope_ms if mode(settings) == "envelope" else n.norm_ms_p50
    cols = {"latency_ms_cpu_p50": got.cpu_ms_p50, "latency_ms_norm": norm,
            "latency_method": details["method"], "contended_blocks": n.contended}
    return got.wall, cols, details, list(n.flags), layer_lat
