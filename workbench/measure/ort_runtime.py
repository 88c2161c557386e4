"""Run ONNX files on onnxruntime and measure them as the profiler measures PyTorch modules.

- Session: one execution provider (``CPUExecutionProvider`` by default), ``intra_op_num_threads`` set
  like the profiler's ``torch.set_num_threads`` (one inter-op thread, sequential execution, every graph
  optimisation on). With one intra-op thread onnxruntime computes on the calling thread, so its CPU time
  (``time.thread_time_ns``) is the call's, as for PyTorch: checked, not assumed. On this project's machine
  (onnxruntime 1.32, CPU provider, resnet8 at batch 32) a one-thread session started no thread of its own
  and the calling thread's CPU time equalled the process's over 30 calls (218.1 of 218.1 ms), while a
  two-thread session started one pool thread and the calling thread did 170 of 340 ms. Every session is
  checked again before it is timed (:func:`calling_thread_share`): one whose calling thread does less than
  :data:`CALLING_THREAD_SHARE` of the process's CPU time (another provider's own threads) is timed on the
  wall clock, and the row's notes say so.
- Latency: the torch profiler's protocol through :func:`workbench.measure.latency.measure_call` over
  ``session.run`` with the batch as a numpy array: with ``normalise`` ``auto`` (default) and one thread,
  blocks of calls interleaved in random order with the reference workload, contended blocks re-run,
  ``latency_ms_norm`` the fastest call on the thread's CPU clock (``envelope-min/thread-cpu``); ``reference``
  and ``duet`` as for torch; ``none`` (and ``auto`` with more threads) back-to-back calls, ``latency_method
  = "wall"``. The raw wall-clock figures are kept in ``latency_ms_p50/p95/mean`` in every case.
- Energy: an energy meter around back-to-back calls for ``energy_window_s``, energy per inference =
  the meter's average power × the loop's wall time ÷ samples (as in the profiler).
- Memory: not measured here (onnxruntime's arena is outside torch's allocator trace); the column is null.
- Per layer: onnxruntime's own profiler (``enable_profiling``) times every node; node times are summed
  per layer through :func:`workbench.measure.onnx_export.node_layers` (the limits are stated there).
  onnxruntime's own fusions (a ``Gemm`` with the ``Relu`` after it) are charged to the first node's layer.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from workbench.checks import check_int
from workbench.errors import UnknownNameError
from workbench.measure import latency, timing
from workbench.measure.energy import EnergyMeter

_SUFFIXES = re.compile(r"(_kernel_time|_fence_before|_fence_after)$")
_TOKEN = re.compile(r"_token_\d+$")
_QDQ = re.compile(r"^(.*)_(QuantizeLinear|DequantizeLinear)(/duplicated)?$")


def check_provider(provider: str) -> str:
    """Return ``provider`` if this onnxruntime build has it.

    Raises
    ------
    UnknownNameError
        Not available here (the valid ones are listed).
    """
    available = ort.get_available_providers()
    if provider not in available:
        raise UnknownNameError("onnxruntime execution provider", provider, available,
                               "onnxruntime.get_available_providers()")
    return provider


def ort_versions() -> dict:
    """Versions of onnxruntime, onnx and onnxscript (added to ``software_versions`` of onnxruntime rows)."""
    out = {}
    for pkg in ("onnxruntime", "onnx", "onnxscript"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


class OrtModel:
    """An onnxruntime session called like a model: ``OrtModel(path)(x)`` returns the first output.

    Parameters
    ----------
    path : path
        The ONNX file (read by onnxruntime; never unpickled).
    threads : int, optional
        Intra-op threads (default: onnxruntime's choice, one per physical core).
    provider : str
        Execution provider (:func:`check_provider`).
    profile_prefix : str, optional
        Turn onnxruntime's node profiler on, writing its JSON trace under this path prefix.
    """

    def __init__(self, path: str | os.PathLike, *, threads: int | None = None,
                 provider: str = "CPUExecutionProvider", profile_prefix: str | None = None):
        check_provider(provider)
        so = ort.SessionOptions()
        if threads is not None:
            so.intra_op_num_threads = check_int(threads, "threads", fix="--threads 1.")
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        if profile_prefix is not None:
            so.enable_profiling = True
            so.profile_file_prefix = profile_prefix
        self.path, self.threads, self.provider = Path(path), threads, provider
        self.session = ort.InferenceSession(str(path), so, providers=[provider])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x) -> np.ndarray:
        """The first output for input ``x`` (numpy array or CPU tensor, float32)."""
        if not isinstance(x, np.ndarray):
            x = x.detach().cpu().numpy()
        return self.session.run(None, {self.input_name: x})[0]

    def config(self) -> dict:
        """Runtime, provider, threads and onnxruntime's options, for ``config_json``."""
        return {"runtime": "onnxruntime", "execution_provider": self.provider,
                "intra_op_threads": self.threads, "inter_op_threads": 1, "execution_mode": "sequential",
                "graph_optimization": "ORT_ENABLE_ALL"}


def batch_of(sample, batch_size: int) -> np.ndarray:
    """``sample`` (batch dimension 1) repeated to ``batch_size`` as a contiguous float32 array."""
    x = sample.detach().cpu().numpy() if not isinstance(sample, np.ndarray) else sample
    return np.ascontiguousarray(np.repeat(x.astype(np.float32), batch_size, axis=0))


def energy_window(model, x, meter: EnergyMeter | None, window_s: float):
    """Back-to-back calls for ``window_s`` under ``meter``: ``(reading, loop_s, calls)`` or None without one."""
    if meter is None or window_s <= 0:
        return None
    n = 0
    meter.start()
    t0 = time.perf_counter()
    while True:
        model(x)
        n += 1
        if time.perf_counter() - t0 >= window_s:
            break
    loop_s = time.perf_counter() - t0
    return meter.stop(), loop_s, n


def _node_name(event_name: str) -> str:
    # onnxruntime names a node it fused (Gemm + Relu → FusedGemm) "fused <first node>"
    return _TOKEN.sub("", _SUFFIXES.sub("", event_name)).removeprefix("fused ")


def layer_of(node: str, layers: dict[str, str]) -> str | None:
    """The layer of an executed node (see :func:`~workbench.measure.onnx_export.node_layers`), or None.

    Quantiser nodes are named after the tensor they (de)quantise (``3.conv1.weight_DequantizeLinear``,
    ``relu_2_QuantizeLinear``): they go to the layer of that tensor (the weight's layer, or the layer
    that produced the activation).
    """
    if node in layers:
        return layers[node]
    m = _QDQ.match(node)
    if m:
        return layers.get(f"tensor:{m.group(1)}")
    return None


def node_times_ms(trace_path: str | os.PathLike) -> dict[str, tuple[str, list[float]]]:
    """Executed node → (operator type, durations per run [ms]) from onnxruntime's profiler trace (JSON)."""
    with open(trace_path) as fh:
        events = json.load(fh)
    out: dict[str, tuple[str, list[float]]] = {}
    for e in events:
        if e.get("cat") != "Node" or not str(e.get("name", "")).endswith("_kernel_time"):
            continue
        name = _node_name(e["name"])
        op = e.get("args", {}).get("op_name", "?")
        out.setdefault(name, (op, []))[1].append(e["dur"] / 1e3)  # µs → ms
    return out


def profile_layers(path: str | os.PathLike, x: np.ndarray, layers: dict[str, str], *, threads: int | None,
                   provider: str = "CPUExecutionProvider", repeats: int = 5) -> dict:
    """Per-layer time of one call from onnxruntime's node profiler, mapped to layer names.

    Parameters
    ----------
    path : path
        The ONNX file to run.
    x : ndarray
        The batch.
    layers : dict
        Node/tensor → layer map of the fp32 export (:func:`~workbench.measure.onnx_export.node_layers`).
    threads : int, optional
        Intra-op threads.
    provider : str
        Execution provider.
    repeats : int
        Profiled calls after one warm-up call; each node's median is taken [calls].

    Returns
    -------
    dict
        ``layer_ms`` (layer → median time per call [ms], summed over its nodes), ``unmapped_ms`` and
        ``unmapped_nodes`` (node → operator type) for nodes no layer claims, ``mapped_share`` (mapped ÷
        all node time [1]) and ``repeats``.
    """
    check_int(repeats, "layer repeats")
    with tempfile.TemporaryDirectory(prefix="ort-profile-") as tmp:
        m = OrtModel(path, threads=threads, provider=provider, profile_prefix=str(Path(tmp) / "trace"))
        m(x)  # first call: allocation and kernel selection, dropped below
        for _ in range(repeats):
            m(x)
        trace = m.session.end_profiling()
        times = node_times_ms(trace)
    layer_ms: dict[str, float] = {}
    unmapped: dict[str, str] = {}
    unmapped_ms = 0.0
    for node, (op, durs) in times.items():
        t = float(np.median(durs[1:] if len(durs) > 1 else durs))
        layer = layer_of(node, layers)
        if layer is None:
            unmapped[node] = op
            unmapped_ms += t
        else:
            layer_ms[layer] = layer_ms.get(layer, 0.0) + t
    total = sum(layer_ms.values()) + unmapped_ms
    return {"layer_ms": layer_ms, "unmapped_ms": unmapped_ms, "unmapped_nodes": unmapped,
            "mapped_share": sum(layer_ms.values()) / total if total > 0 else 0.0, "repeats": repeats}


CALLING_THREAD_SHARE = 0.9
"""Below this share of the process's CPU time spent on the calling thread during a one-thread session's
calls, the session computes elsewhere and its calls are timed on the wall clock (:func:`latency_clock`)."""

SHARE_CHECK_CPU_MS = 5.0
"""CPU time [ms] (or :data:`SHARE_CHECK_MAX_CALLS` calls, whichever comes first) behind
:func:`calling_thread_share`."""

SHARE_CHECK_MAX_CALLS = 500

SHARE_CHECK_S = 0.5
"""Wall time [s] after which :func:`calling_thread_share` stops trying for a share above the limit."""


def calling_thread_share(model, x) -> float:
    """The calling thread's CPU time ÷ the process's CPU time over calls of ``model(x)`` [1], the best of
    the tries in :data:`SHARE_CHECK_S` (one try where the first reaches :data:`CALLING_THREAD_SHARE`).

    About 1 where the session computes on the calling thread (onnxruntime's CPU provider with one intra-op
    thread); lower where pool threads or a provider's own threads do part of the work. Each try calls until
    the process has spent :data:`SHARE_CHECK_CPU_MS` of CPU time or :data:`SHARE_CHECK_MAX_CALLS` calls.
    Other busy threads of the process lower the share too: the best try skips a passing burst (the pool
    thread of a two-thread session created just before spins for about 0.12 s after it starts, and the
    share of a one-thread session read 0.17–0.49 meanwhile, 1.00 after, on this project's machine), and
    where they stay busy the wall clock is the safe choice anyway.
    """
    best, t0 = 0.0, time.perf_counter()
    while True:
        c0, p0 = time.thread_time_ns(), time.process_time_ns()
        for _ in range(SHARE_CHECK_MAX_CALLS):
            model(x)
            if time.process_time_ns() - p0 >= SHARE_CHECK_CPU_MS * 1e6:
                break
        c1, p1 = time.thread_time_ns(), time.process_time_ns()
        best = max(best, (c1 - c0) / (p1 - p0) if p1 > p0 else 1.0)
        if best >= CALLING_THREAD_SHARE or time.perf_counter() - t0 >= SHARE_CHECK_S:
            return best


def latency_clock(model, x, threads: int) -> tuple[str, float | None]:
    """The clock ``model(x)`` is timed with on ``threads`` intra-op threads, and the calling thread's share.

    ``thread-cpu`` with one thread where the calling thread does at least :data:`CALLING_THREAD_SHARE` of
    the work (:func:`calling_thread_share`), else ``wall``; the share is ``None`` with more threads (not
    checked: the pool's threads do the work, :func:`workbench.measure.reference.clock_for`).
    """
    if threads != 1:
        return "wall", None
    share = calling_thread_share(model, x)
    return ("thread-cpu" if share >= CALLING_THREAD_SHARE else "wall"), share


def measure_ort(model: OrtModel, x: np.ndarray, *, repeats: int, warmup: int, meter: EnergyMeter | None = None,
                energy_window_s: float = 0.0, normalise: str = "auto", blocks: int = 10, calibration=None,
                timed=None, latency_details: bool = False) -> tuple[dict, dict | None]:
    """Latency (and energy) of ``model(x)``: schema fields and the energy details for ``config_json``.

    Parameters
    ----------
    model : OrtModel
        The session.
    x : ndarray
        The batch, shape (batch_size, ...).
    repeats, warmup : int
        Timed and untimed calls [calls].
    meter : EnergyMeter, optional
        Energy meter; no energy without one or with ``energy_window_s`` 0.
    energy_window_s : float
        Length of the energy window [s].
    normalise : str
        As ``ProfileSettings.normalise`` (:data:`workbench.measure.profiler.NORMALISATIONS`; ``auto``: the
        envelope with one intra-op thread, back-to-back wall clock with more).
    blocks : int
        Rounds of one block of calls and one reference block (interleaved modes).
    calibration : Calibration or DuetReference, optional
        The run's (:func:`workbench.measure.latency.calibrated`); calibrated here when missing or on
        another clock.
    timed : InterleavedResult, optional
        This session's calls already timed together with others' (:func:`workbench.measure.latency.time_together`).
    latency_details : bool
        Add the protocol's details (``config_json["latency"]``) under ``_latency_details``.

    Returns
    -------
    (dict, dict or None)
        ``latency_ms_p50/p95/mean`` (wall clock), ``latency_cv``, ``repeats``, ``latency_ms_cpu_p50`` (one
        thread), ``latency_ms_norm``, ``latency_method``, ``contended_blocks``, ``throughput_per_s``,
        ``threads``, energy columns and ``notes`` (flags, where any); the energy details.
    """
    from workbench.measure.profiler import ProfileSettings  # the profiler's settings, validated there

    batch_size = int(x.shape[0])
    threads = model.threads or os.cpu_count() or 1
    settings = ProfileSettings(batch_sizes=(batch_size,), repeats=repeats, warmup=warmup, threads=threads,
                               energy_window_s=0.0, normalise=normalise, blocks=blocks)
    clock, share = latency_clock(model, x, threads)
    notes = []
    if share is not None and clock != "thread-cpu":
        notes.append(f"onnxruntime computed off the calling thread ({share:.0%} of the process's CPU time on it, "
                     f"limit {CALLING_THREAD_SHARE:.0%}): timed on the wall clock")
    with timing.num_threads(threads):  # the reference runs on the torch threads of its calibration
        lat, cols, details, flags = latency.measure_call(lambda: model(x), settings, calibration, timed,
                                                         clock_name=clock)
    notes += flags
    details = {**details, "calling_thread_share": None if share is None else round(share, 4)}
    fields = {"batch_size": batch_size, "threads": threads, "latency_ms_p50": lat.latency_ms_p50,
              "latency_ms_p95": lat.latency_ms_p95, "latency_ms_mean": lat.latency_ms_mean,
              "latency_cv": lat.latency_cv, "repeats": lat.repeats, **cols,
              "throughput_per_s": batch_size / lat.latency_ms_p50 * 1e3, "energy_method": "none"}
    if notes:
        fields["notes"] = "; ".join(notes)
    if latency_details:
        fields["_latency_details"] = details
    got = energy_window(model, x, meter, energy_window_s)
    if got is None:
        return fields, None
    reading, loop_s, n = got
    fields.update({"energy_j": reading.power_w * loop_s / (n * batch_size), "power_w": reading.power_w,
                   "energy_method": reading.method, "energy_scope": "inference"})
    return fields, {**reading.details, "window_s": loop_s, "calls": n}
