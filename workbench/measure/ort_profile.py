"""Profile a PyTorch module (or an ONNX file) on onnxruntime into schema rows, fp32 and int8.

:func:`profile_onnx_module` exports the module once (:mod:`workbench.measure.onnx_export`), quantises
the file with each requested method (:mod:`workbench.measure.ort_quantize`) and measures every file at
every batch size (:mod:`workbench.measure.ort_runtime`). Latency follows the torch profiler's protocol
(``ProfileSettings.normalise``, :mod:`workbench.measure.latency`): in the interleaved modes every file ×
batch size of one call is timed together, each round one block of every session and one reference block
in random order, so that fp32 and int8 meet the host's quiet and busy phases alike; the protocol is in
``config_json["latency"]``, its flags in ``notes``. Each row records in ``config_json`` the runtime,
execution provider, opset, exporter and quantisation; ``software_versions`` adds onnxruntime, onnx and
onnxscript to the profiler's list; ``strategy`` is ``onnxruntime`` (fp32) or ``onnxruntime-<method>``.
FLOPs, parameters and activation bytes are counted on the fp32 PyTorch module (quantised operators are
not counted, as in the profiler); ``weight_bytes`` are the bytes of the file's initializers as stored
(int8 weights count one byte, their scales and zero points included).

:func:`profile_onnx_file` measures a given ONNX file (no PyTorch module: no FLOPs, no per-layer rows).
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
import torch
from torch import nn

from workbench import schema
from workbench.errors import ParameterError
from workbench.measure import features, latency, onnx_export, ort_quantize, ort_runtime, reference, timing
from workbench.measure.energy import get_meter
from workbench.measure.profiler import ProfileSettings, device_info, software_versions
from workbench.store import LAYER_SHAPE_COLUMNS, Store, layer_frame, new_run_id

LAYER_LATENCY = {"layer_clock": "wall (onnxruntime node profiler)", "layer_statistic": "median"}
"""How the per-layer ``latency_ms`` of onnxruntime rows is obtained (``config_json["latency"]``): raw, never
normalised (no ``layer_slowdown``), unlike the network's figure."""

UNMAPPED_NODES_KEPT = 20
"""Unmapped nodes listed by name in ``config_json`` (the count and their total time are always there)."""


def _accuracy(model: ort_runtime.OrtModel, eval_data) -> float | None:
    if eval_data is None:
        return None
    x, y = eval_data
    logits = model(ort_runtime.batch_of(x, 1))
    return float((np.argmax(logits, axis=1) == np.asarray(y)).mean())


def _identity(*, run_id: str, model: str, family: str | None, task: str | None, strategy: str, shape, dtype: str,
              dev: dict, versions: str) -> dict:
    return {"measurement_id": uuid.uuid4().hex, "run_id": run_id, "timestamp_utc": datetime.now(timezone.utc),
            "source": "profiler", "model": model, "model_family": family, "task": task, "strategy": strategy,
            "input_shape": "x".join(map(str, shape)), "dtype": dtype, **dev, "software_versions": versions}


def _ort_layers_config(prof: dict) -> dict:
    nodes = prof["unmapped_nodes"]
    return {"mapped_share": round(prof["mapped_share"], 4), "unmapped_ms": prof["unmapped_ms"],
            "unmapped_node_count": len(nodes), "profiled_calls": prof["repeats"],
            "unmapped_nodes": dict(list(nodes.items())[:UNMAPPED_NODES_KEPT])}


def _time_together(jobs, settings: ProfileSettings, calibration, threads: int) -> list:
    """Every (session, batch) of ``jobs`` timed together (:func:`workbench.measure.latency.time_together`) where
    ``settings`` interleave, there are two jobs or more and every session computes where the run's clock
    sees it (:func:`~workbench.measure.ort_runtime.latency_clock`); else one ``None`` per job."""
    if len(jobs) < 2 or not latency.interleaves(settings):
        return [None] * len(jobs)
    clock = reference.clock_for(threads)
    if any(ort_runtime.latency_clock(m, x, threads)[0] != clock for m, x in jobs):
        return [None] * len(jobs)
    with timing.num_threads(threads):
        return latency.time_together(jobs, settings, calibration)


def _measure(m: ort_runtime.OrtModel, x, *, settings: ProfileSettings, meter, calibration, timed) -> tuple[dict, dict]:
    """Latency (and energy) of one session at one batch: schema fields (``_latency_details`` among them)."""
    fields, energy = ort_runtime.measure_ort(m, x, repeats=settings.repeats, warmup=settings.warmup, meter=meter,
                                             energy_window_s=settings.energy_window_s, normalise=settings.normalise,
                                             blocks=settings.blocks, calibration=calibration, timed=timed,
                                             latency_details=True)
    return fields, energy or {}


def profile_onnx_module(model: nn.Module, sample: torch.Tensor, *, name: str, family: str | None = None,
                        task: str | None = None, quantisations=("none", "int8-dynamic", "int8-static"),
                        calibration=None, eval_data=None, settings: ProfileSettings | None = None, meter="none",
                        provider: str = "CPUExecutionProvider", store: Store | str | None = None,
                        config: dict | None = None, workdir: str | os.PathLike | None = None,
                        per_channel: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Export ``model`` to ONNX, quantise it, measure every variant on onnxruntime; return rows and layers.

    Parameters
    ----------
    model : nn.Module
        Any module taking one tensor (the user's own included); put in eval mode.
    sample : Tensor
        One input with a batch dimension of 1.
    name, family, task : str
        The ``model``, ``model_family`` and ``task`` columns.
    quantisations : sequence of str
        Methods of :data:`workbench.measure.ort_quantize.QUANTISATIONS` (``none`` is fp32).
    calibration : Tensor or array, optional
        Real samples (N, ...) to calibrate ``int8-static`` on (needed for it).
    eval_data : (Tensor, Tensor), optional
        Images and labels: each variant's ``accuracy`` (argmax) is measured on them.
    settings : ProfileSettings, optional
        ``batch_sizes``, ``repeats``, ``warmup``, ``threads``, ``energy_window_s``, ``layer_repeats``,
        ``device_class``, ``normalise`` and ``blocks`` (as for the torch profiler); ``device`` must be ``cpu``.
    meter : str or EnergyMeter or None
        Energy meter (as for :func:`workbench.measure.profiler.profile`).
    provider : str
        onnxruntime execution provider.
    store : Store or path, optional
        Where to append the rows (one run file).
    config : dict, optional
        Extra ``config_json`` entries of every row (architecture, training).
    workdir : path, optional
        Where to keep the ONNX files (default: a temporary directory, removed afterwards).
    per_channel : bool
        Per-channel weight scales in int8.

    Returns
    -------
    (polars.DataFrame, polars.DataFrame)
        Schema rows (one per quantisation × batch size) and their per-layer rows (latency per layer
        from onnxruntime's profiler where a node maps to the layer, null where none does).

    Raises
    ------
    ParameterError
        A non-CPU device, a model that does not export, or ``int8-static`` without calibration.
    UnknownNameError
        An unknown quantisation or execution provider.
    """
    settings = settings or ProfileSettings()
    if settings.device != "cpu":
        raise ParameterError(f"onnxruntime runs are measured on the CPU here, got device {settings.device!r}. "
                             "Fix: --device cpu with --runtime onnxruntime.")
    for q in quantisations:
        ort_quantize.strategy_name(q)
    ort_runtime.check_provider(provider)
    if isinstance(store, (str, os.PathLike)):
        store = Store(store)
    if store is not None:
        store.check_writable()
    meter_obj = get_meter(meter) if isinstance(meter, str) else meter
    model = model.eval()
    flops = float(features.count_flops(model, sample))
    breakdown = features.layer_breakdown(model, sample, repeats=1)
    params = features.count_params(model)
    run_id, dev = new_run_id(), device_info("cpu", settings.device_class)
    versions = json.dumps({**software_versions(), **ort_runtime.ort_versions()}, sort_keys=True)
    calib = None if calibration is None else ort_runtime.batch_of(calibration, 1)
    threads = settings.threads or torch.get_num_threads()
    rows, layer_rows = [], []
    with tempfile.TemporaryDirectory(prefix="wb-onnx-") as tmp:
        wd = Path(workdir) if workdir is not None else Path(tmp)
        wd.mkdir(parents=True, exist_ok=True)
        fp32 = onnx_export.export_onnx(model, sample, wd / f"{name}.onnx")
        proto = onnx_export.load_onnx(fp32)
        layer_map = onnx_export.node_layers(proto)
        input_name, _ = onnx_export.input_spec(proto)
        base_config = {**(config or {}), "onnx_exporter": "torch.onnx.export(dynamo=True)",
                       "opset": onnx_export.opset_version(proto), "input_name": input_name,
                       "warmup": settings.warmup}
        files = []  # every file quantised (and checked) before the first is timed
        for q in quantisations:
            path, qconf = fp32, {"quantisation": "none"}
            if q != "none":
                path = wd / f"{name}.{q}.onnx"
                qconf = ort_quantize.quantise_onnx(fp32, path, q, input_name=input_name, calibration=calib,
                                                   per_channel=per_channel)
            files.append((q, path, qconf, onnx_export.initializer_bytes(onnx_export.load_onnx(path)),
                          ort_runtime.OrtModel(path, threads=threads, provider=provider)))
        jobs = [(f, b) for f in files for b in settings.batch_sizes]
        xs = {b: ort_runtime.batch_of(sample, b) for b in settings.batch_sizes}
        acc: dict[str, float | None] = {}
        with latency.calibrated(settings) as cal:
            timed = _time_together([(f[4], xs[b]) for f, b in jobs], settings, cal, threads)
            for ((q, path, qconf, wbytes, m), b), t in zip(jobs, timed, strict=True):
                fields, energy = _measure(m, xs[b], settings=settings, meter=meter_obj, calibration=cal, timed=t)
                prof = ort_runtime.profile_layers(path, xs[b], layer_map, threads=threads, provider=provider,
                                                  repeats=settings.layer_repeats)
                if q not in acc:
                    acc[q] = _accuracy(m, eval_data)
                cfg = {**base_config, **m.config(), **qconf, "ort_layers": _ort_layers_config(prof),
                       "latency": {**fields.pop("_latency_details"), **LAYER_LATENCY}}
                if energy:
                    cfg["energy"] = energy
                row = {**_identity(run_id=run_id, model=name, family=family, task=task,
                                   strategy=ort_quantize.strategy_name(q), shape=tuple(sample.shape[1:]),
                                   dtype="fp32" if q == "none" else "int8", dev=dev, versions=versions),
                       **fields, "params": params, "flops": flops, "weight_bytes": wbytes,
                       "activation_bytes": sum(lr.output_bytes for lr in breakdown), "accuracy": acc[q],
                       "config_json": json.dumps(cfg, sort_keys=True, default=str)}
                rows.append(row)
                layer_rows += [{"measurement_id": row["measurement_id"], "layer_index": a.index,
                                "layer_name": a.name, "layer_type": a.type, "flops": a.flops, "params": a.params,
                                "output_bytes": a.output_bytes, "latency_ms": prof["layer_ms"].get(a.name),
                                **{k: getattr(a, k) for k in LAYER_SHAPE_COLUMNS}} for a in breakdown]
    df, layers = schema.from_records(rows), layer_frame(layer_rows)
    if store is not None:
        store.append(df, layers=layers)
    return df, layers


def profile_onnx_file(path: str | os.PathLike, *, input_shape: tuple[int, ...] | None = None, name: str | None = None,
                      family: str | None = None, task: str | None = None, settings: ProfileSettings | None = None,
                      meter="none", provider: str = "CPUExecutionProvider",
                      store: Store | str | None = None) -> pl.DataFrame:
    """Measure an ONNX file as it is (read by onnxruntime, never unpickled) on random inputs.

    Parameters
    ----------
    path : path
        The ``.onnx`` file.
    input_shape : tuple of int, optional
        Shape of one sample; needed when the file leaves a non-batch dimension dynamic.
    name : str, optional
        ``model`` column (default: the file's stem).
    settings, meter, provider, store, family, task
        As for :func:`profile_onnx_module`.

    Returns
    -------
    polars.DataFrame
        One row per batch size (``strategy`` ``onnxruntime``; ``flops`` null: nothing counts them here).

    Raises
    ------
    ParameterError, CorruptFileError
        A missing or invalid file, a dynamic shape not given, a shape that does not fit.
    """
    settings = settings or ProfileSettings()
    proto = onnx_export.load_onnx(path)
    shape = onnx_export.sample_shape(proto, input_shape)
    ort_runtime.check_provider(provider)
    if isinstance(store, (str, os.PathLike)):
        store = Store(store)
    if store is not None:
        store.check_writable()
    meter_obj = get_meter(meter) if isinstance(meter, str) else meter
    sample = np.random.default_rng(0).standard_normal((1, *shape)).astype(np.float32)
    run_id, dev = new_run_id(), device_info("cpu", settings.device_class)
    versions = json.dumps({**software_versions(), **ort_runtime.ort_versions()}, sort_keys=True)
    layer_map = onnx_export.node_layers(proto)
    threads = settings.threads or torch.get_num_threads()
    m = ort_runtime.OrtModel(Path(path), threads=threads, provider=provider)
    xs = {b: ort_runtime.batch_of(sample, b) for b in settings.batch_sizes}
    for b, x in xs.items():
        try:
            m(x)
        except Exception as exc:  # onnxruntime's shape errors (InvalidArgument, Fail) on a bad --input-shape
            if "onnxruntime" not in type(exc).__module__:
                raise
            raise ParameterError(f"onnxruntime cannot run {str(path)!r} on input shape "
                                 f"{'x'.join(map(str, (b, *shape)))}: {str(exc)[:200]}. Fix: check --input-shape.") from None
    rows = []
    with latency.calibrated(settings) as cal:
        timed = _time_together([(m, x) for x in xs.values()], settings, cal, threads)
        for x, t in zip(xs.values(), timed, strict=True):
            fields, energy = _measure(m, x, settings=settings, meter=meter_obj, calibration=cal, timed=t)
            prof = ort_runtime.profile_layers(Path(path), x, layer_map, threads=threads, provider=provider,
                                              repeats=settings.layer_repeats)
            cfg = {**m.config(), "source_file": Path(path).name, "opset": onnx_export.opset_version(proto),
                   "ort_layers": {**_ort_layers_config(prof), "layer_ms": prof["layer_ms"]},
                   "warmup": settings.warmup, "latency": {**fields.pop("_latency_details"), **LAYER_LATENCY}}
            if energy:
                cfg["energy"] = energy
            rows.append({**_identity(run_id=run_id, model=name or Path(path).stem, family=family, task=task,
                                     strategy="onnxruntime", shape=shape, dtype="fp32", dev=dev, versions=versions),
                         **fields, "weight_bytes": onnx_export.initializer_bytes(proto),
                         "config_json": json.dumps(cfg, sort_keys=True, default=str)})
    df = schema.from_records(rows)
    if store is not None:
        store.append(df)
    return df
