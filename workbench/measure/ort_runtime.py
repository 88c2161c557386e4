"""Run ONNX files on onnxruntime and measure them as the profiler measures PyTorch modules.

- Session: one execution provider (``CPUExecutionProvider`` by default), ``intra_op_num_threads`` set
  like the profiler's ``torch.set_num_threads`` (one inter-op thread, sequential execution, every graph
  optimisation on). With one intra-op thread onnxruntime computes on the calling thread, so its CPU time
  (``time.thread_time_ns``) is the call's, as for PyTorch.
- Latency: :func:`workbench.measure.timing.time_forward`, the profiler's back-to-back timer (``warmup``
  untimed calls, ``repeats`` timed ones), over ``session.run`` with the batch as a numpy array; rows
  say ``latency_method = "wall"`` (not normalised against the reference workload).
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
from workbench.measure import timing
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


def measure_ort(model: OrtModel, x: np.ndarray, *, repeats: int, warmup: int, meter: EnergyMeter | None = None,
                energy_window_s: float = 0.0) -> tuple[dict, dict | None]:
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

    Returns
    -------
    (dict, dict or None)
        ``latency_ms_p50/p95/mean``, ``latency_cv``, ``repeats``, ``latency_ms_cpu_p50`` (one thread),
        ``latency_method``, ``throughput_per_s``, ``threads``, energy columns; the energy details.
    """
    batch_size = int(x.shape[0])
    threads = model.threads or os.cpu_count() or 1
    lat = timing.time_forward(model, x, repeats=repeats, warmup=warmup, cpu=threads == 1)
    fields = {"batch_size": batch_size, "threads": threads, "latency_ms_p50": lat.latency_ms_p50,
              "latency_ms_p95": lat.latency_ms_p95, "latency_ms_mean": lat.latency_ms_mean,
              "latency_cv": lat.latency_cv, "repeats": lat.repeats, "latency_ms_cpu_p50": lat.cpu_ms_p50,
              "latency_method": "wall", "throughput_per_s": batch_size / lat.latency_ms_p50 * 1e3,
              "energy_method": "none"}
    got = energy_window(model, x, meter, energy_window_s)
    if got is None:
        return fields, None
    reading, loop_s, n = got
    fields.update({"energy_j": reading.power_w * loop_s / (n * batch_size), "power_w": reading.power_w,
                   "energy_method": reading.method, "energy_scope": "inference"})
    return fields, {**reading.details, "window_s": loop_s, "calls": n}
