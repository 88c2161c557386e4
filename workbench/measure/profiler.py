"""Profile real PyTorch runs on this machine into rows of the measurement schema.

For each model × batch size: features (FLOPs, params, weight/activation bytes) from the fp32 model,
the model converted to the requested dtype, latency over ``repeats`` timed calls after ``warmup``,
peak memory of one call, a per-layer breakdown, and energy over a window of back-to-back calls
measured by an energy meter. Energy per inference is the meter's average power × the loop's own
wall time ÷ inferences, so a meter's start/stop overhead does not inflate it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl
import torch

from workbench import schema
from workbench.checks import check_int, check_number
from workbench.errors import ParameterError, UnknownNameError
from workbench.measure import features, latency, timing, zoo
from workbench.measure.energy import EnergyMeter, get_meter
from workbench.measure.host import (  # re-exported: callers import them from here
    cpu_device_info,
    cpu_model,
    software_versions,
)
from workbench.store import LAYER_SHAPE_COLUMNS, Store, layer_frame, new_run_id

DTYPES = ("fp32", "int8")
NORMALISATIONS = ("auto", "envelope", "reference", "duet", "none")
"""How ``latency_ms_norm`` is estimated (:mod:`workbench.measure.latency`): ``auto`` (default) is ``envelope``
with one intra-op thread and ``none`` with more (:func:`workbench.measure.latency.mode`); ``envelope`` and
``reference`` time the model in blocks interleaved with a reference workload and take the low envelope of the
calls or each block relative to the reference around it; ``duet`` runs the reference on another core at the
same time (one thread, two cores); ``none`` times back-to-back calls and leaves ``latency_ms_norm`` null."""


def device_info(device: str = "cpu", device_class: str | None = None) -> dict:
    """Name, class, CPU and accelerator of the device a run executes on."""
    if device.startswith("cuda"):
        gpu = torch.cuda.get_device_name(torch.device(device))
        return {"device_name": gpu, "device_class": device_class or "cloud-gpu", "cpu_model": cpu_model(),
                "accelerator": gpu}
    return cpu_device_info(device_class)


def quantize_int8_dynamic(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantization of Linear layers through torchao (int8 weights, int8 activations
    quantized per call). Convolutions stay fp32: torchao's dynamic int8 targets linear layers."""
    for name in ("torchao", "torch.utils._pytree"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    quantize_(model, Int8DynamicActivationInt8WeightConfig())
    return model


@dataclass(frozen=True)
class ProfileSettings:
    """How to profile (validated on construction)."""

    batch_sizes: tuple[int, ...] = (1,)
    repeats: int = 50
    warmup: int = 10
    threads: int | None = None
    dtype: str = "fp32"
    device: str = "cpu"
    energy_window_s: float = 1.0
    layer_repeats: int = 5
    device_class: str | None = None
    normalise: str = "auto"
    blocks: int = 10

    def __post_init__(self):
        if not self.batch_sizes:
            raise ParameterError("at least one batch size is needed.")
        for b in self.batch_sizes:
            check_int(b, "batch size", fix="--batch-size 1.")
        check_int(self.repeats, "repeats", fix="--repeats 50.")
        check_int(self.warmup, "warmup", minimum=0, fix="--warmup 10.")
        if self.threads is not None:
            check_int(self.threads, "threads", fix="--threads 1.")
        check_int(self.layer_repeats, "layer_repeats")
        check_int(self.blocks, "blocks", fix="--blocks 10.")
        if self.normalise not in NORMALISATIONS:
            raise UnknownNameError("normalisation", self.normalise, NORMALISATIONS)
        if self.dtype not in DTYPES:
            raise UnknownNameError("dtype", self.dtype, DTYPES)
        check_number(self.energy_window_s, "energy window [s]", minimum=0, fix="--energy-window 1.")
        if self.device_class is not None and self.device_class not in schema.DEVICE_CLASSES:
            raise UnknownNameError("device class", self.device_class, schema.DEVICE_CLASSES)
        if not re.fullmatch(r"cpu|cuda(:\d+)?", str(self.device)):
            raise ParameterError(f"device {self.device!r} is not one the profiler can run on. "
                                 "Fix: --device cpu, or cuda / cuda:N for an NVIDIA GPU.")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ParameterError(f"device {self.device!r} requested but CUDA is not available here.")


def _energy(model, x, meter: EnergyMeter | None, window_s: float, device: str):
    if meter is None or window_s == 0:
        return None
    n = 0
    with torch.inference_mode():
        meter.start()
        t0 = time.perf_counter()
        while True:
            model(x)
            n += 1
            if time.perf_counter() - t0 >= window_s:
                break
        timing._sync(device)
        loop_s = time.perf_counter() - t0
        reading = meter.stop()
    return reading, loop_s, n


CONTENDED_BUSY_SHARE = 0.5
"""Below this share of the energy window spent in forward calls (calls × median latency ÷ window), the
window is contended: other processes (or, with more intra-op threads than free cores, OpenMP threads
waiting for a core) stretched the calls, and energy ÷ calls would overstate energy per inference."""

ENERGY_WINDOW_TRIES = 3
"""Energy windows tried before a contended one is kept (and flagged in ``notes``)."""


def _energy_uncontended(model, x, meter, window_s: float, device: str, latency_ms_p50: float):
    """:func:`_energy`, repeated while the window is contended; the least contended window is kept.

    Returns ``(reading, loop_s, calls, busy_share, tries)`` or ``None`` without a meter.
    """
    best = None
    for tries in range(1, ENERGY_WINDOW_TRIES + 1):  # noqa: B007 (the count is returned after the loop)
        got = _energy(model, x, meter, window_s, device)
        if got is None:
            return None
        reading, loop_s, n = got
        busy = n * latency_ms_p50 / 1e3 / loop_s if loop_s > 0 else float("nan")
        if best is None or busy > best[3]:
            best = (reading, loop_s, n, busy)
        if busy >= CONTENDED_BUSY_SHARE:
            break
    return (*best, tries)


def measure_module(model: torch.nn.Module, sample: torch.Tensor, *, batch_size: int, settings: ProfileSettings,
                   meter: EnergyMeter | None, flops: float | None = None,
                   calibration=None, latency_details: bool = False, timed=None) -> tuple[dict, list[dict]]:
    """Measure any ``nn.Module`` (zoo or not) on this machine.

    Parameters
    ----------
    model : nn.Module
        The model as it will run (already quantized/pruned), in eval mode.
    sample : Tensor
        One input sample *with* a batch dimension of 1; it is repeated to ``batch_size``.
    flops : float, optional
        FLOPs per inference when the counter cannot see them (quantized models); counted otherwise.
    calibration : Calibration or DuetReference, optional
        The reference's speed on this host (:func:`workbench.measure.latency.calibrated`), shared by the
        rows of one run; calibrated here when missing or on another clock.
    latency_details : bool
        Return the latency protocol's details (``config_json["latency"]``) under ``_latency_details``
        beside ``_energy_details``; off by default, so that callers that pop ``_energy_details`` alone
        still get schema fields.
    timed : InterleavedResult, optional
        The model's latency already timed together with other models (:func:`latency.time_together`).

    Returns
    -------
    (dict, list of dict)
        Schema fields (params, flops, weight/activation bytes, latency raw and normalised, memory,
        energy; no identity columns) and the per-layer rows without ``measurement_id``. Per-layer
        ``latency_ms`` is raw, on the clock named in ``_latency_details["layer_clock"]``; divided by
        ``layer_slowdown`` there it is normalised as the network's figure is.
    """
    model = model.eval()
    if flops is None:
        flops = features.count_flops(model, sample)
    layers = features.layer_breakdown(model, sample, repeats=1)
    x = _batch(sample, batch_size, settings.device)
    model = model.to(settings.device)
    with timing.num_threads(settings.threads):
        lat, lat_cols, lat_details, notes, layer_lat = latency.measure_latency(model, x, settings, calibration,
                                                                               timed=timed)
        mem = timing.peak_memory_bytes(model, x, device=settings.device)
        energy = _energy_uncontended(model, x, meter, settings.energy_window_s, settings.device,
                                     lat.latency_ms_p50)
    fields = {
        "batch_size": batch_size, "threads": settings.threads or torch.get_num_threads(),
        "params": features.count_params(model), "flops": float(flops),
        "weight_bytes": features.weight_bytes(model),
        "activation_bytes": sum(lr.output_bytes for lr in layers),
        "latency_ms_p50": lat.latency_ms_p50, "latency_ms_p95": lat.latency_ms_p95,
        "latency_ms_mean": lat.latency_ms_mean, "latency_cv": lat.latency_cv, "repeats": lat.repeats, **lat_cols,
        "throughput_per_s": batch_size / lat.latency_ms_p50 * 1e3,
        "memory_peak_bytes": mem,
        "memory_method": "cuda-max-allocated" if settings.device.startswith("cuda") else "torch-profiler",
        "energy_method": "none",
    }
    energy_details = None
    if energy is not None:
        reading, loop_s, n, busy, tries = energy
        fields["energy_j"] = reading.power_w * loop_s / (n * batch_size)
        fields["power_w"] = reading.power_w
        fields["energy_method"] = reading.method
        fields["energy_scope"] = "inference"
        energy_details = {**reading.details, "window_s": loop_s, "calls": n, "busy_share": busy, "tries": tries}
        if busy < CONTENDED_BUSY_SHARE:
            msg = (f"energy window contended: {n} calls in {loop_s:.2f} s at a median latency of "
                   f"{lat.latency_ms_p50:.3f} ms ({busy:.0%} busy, best of {tries} windows); energy_j is "
                   f"overstated by up to {1 / max(busy, 1e-9):.1f}x. Fix: profile on an idle machine or with "
                   f"fewer threads (--threads).")
            notes.append(msg)
            warnings.warn(msg, RuntimeWarning, stacklevel=2)
    if notes:
        fields["notes"] = "; ".join(notes)
    # per-layer rows: FLOPs/bytes per sample, shape attributes, latency per forward call of the batch
    layer_rows = [
        {"layer_index": a.index, "layer_name": a.name, "layer_type": a.type, "flops": a.flops,
         "params": a.params, "output_bytes": a.output_bytes, "latency_ms": b.latency_ms,
         **{k: getattr(a, k) for k in LAYER_SHAPE_COLUMNS}}
        for a, b in zip(layers, layer_lat, strict=True)
    ]
    if latency_details:
        fields["_latency_details"] = lat_details
    return {**fields, "_energy_details": energy_details}, layer_rows


def build_one(spec: zoo.ModelSpec, settings: ProfileSettings):
    """A zoo model as it will be profiled (int8-quantized where asked), its one-sample input and its fp32 FLOPs."""
    model = spec.build()
    sample = spec.example_input(1)
    flops = features.count_flops(model, sample)  # of the fp32 model: quantized ops are not counted
    if settings.dtype == "int8":
        model = quantize_int8_dynamic(model)
    return model.eval(), sample, flops


def _batch(sample, batch_size: int, device: str):
    return sample.repeat(batch_size, *([1] * (sample.dim() - 1))).to(device)


def profile_one(spec: zoo.ModelSpec, batch_size: int, settings: ProfileSettings, meter: EnergyMeter | None,
                run_id: str, dev: dict, versions: str,
                calibration=None, built=None, timed=None) -> tuple[dict, list[dict]]:
    """Profile one zoo model at one batch size; return its schema row and its per-layer rows.

    ``built`` is :func:`build_one`'s result where the model was built (and timed, ``timed``) already."""
    model, sample, flops = built or build_one(spec, settings)
    fields, layer_rows = measure_module(model, sample, batch_size=batch_size, settings=settings, meter=meter,
                                        flops=flops, calibration=calibration, latency_details=True, timed=timed)
    energy_details = fields.pop("_energy_details")
    mid = uuid.uuid4().hex
    config = {**spec.config(), "warmup": settings.warmup, "layer_repeats": settings.layer_repeats,
              "latency": fields.pop("_latency_details")}
    if energy_details:
        config["energy"] = energy_details
    row = {
        "measurement_id": mid, "run_id": run_id, "timestamp_utc": datetime.now(timezone.utc),
        "source": "profiler", "model": spec.name, "model_family": spec.family, "task": spec.task,
        "strategy": "baseline" if settings.dtype == "fp32" else "int8-dynamic",
        "input_shape": "x".join(map(str, spec.input_shape)), "dtype": settings.dtype,
        **fields, **dev, "software_versions": versions, "config_json": json.dumps(config, sort_keys=True),
    }
    return row, [{"measurement_id": mid, **r} for r in layer_rows]


def profile(models, *, settings: ProfileSettings | None = None, meter="auto", store: Store | str | None = None,
            progress: bool = False, **kwargs) -> pl.DataFrame:
    """Profile zoo models on this machine; append the run to ``store`` if given; return the rows.

    Parameters
    ----------
    models : list of str
        Zoo model names (see ``workbench models``).
    settings : ProfileSettings, optional
        Or pass its fields as keyword arguments (``repeats=20, batch_sizes=(1, 8)``...).
    meter : str or EnergyMeter or None
        Energy meter backend name (``auto``, ``codecarbon``, ``rapl``, ``nvml``, ``none``) or instance.
    store : Store or path, optional
        Where to append the run (one file, written atomically when all models are done).
    progress : bool
        Show a progress bar on stderr.

    Raises
    ------
    UnknownNameError, ParameterError, StoreError
        Before any profiling starts, for unknown models, bad settings or an unwritable store.
    """
    settings = settings or ProfileSettings(**kwargs)
    if isinstance(models, str):
        models = [models]
    if not models:
        raise ParameterError("no model given. Fix: name at least one (see `workbench models`).")
    specs = [zoo.resolve(m) for m in models]
    if isinstance(store, (str, os.PathLike)):
        store = Store(store)
    if store is not None:
        store.check_writable()
    meter_obj = get_meter(meter) if isinstance(meter, str) else meter
    run_id = new_run_id()
    dev = device_info(settings.device, settings.device_class)
    versions = json.dumps(software_versions(), sort_keys=True)
    jobs = [(s, b) for s in specs for b in settings.batch_sizes]
    rows, layer_rows = [], []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="profiling", unit="config", file=sys.stderr)
    with latency.calibrated(settings) as calibration:
        # every model's latency timed together first, its blocks spread over the whole run (interleaved modes)
        built, timed = [None] * len(jobs), [None] * len(jobs)
        if len(jobs) > 1 and latency.interleaves(settings):
            built = [build_one(spec, settings) for spec, _ in jobs]
            with timing.num_threads(settings.threads):
                timed = latency.time_together([(m.to(settings.device), _batch(s, b, settings.device))
                                               for (m, s, _), (_, b) in zip(built, jobs, strict=True)],
                                              settings, calibration)
        for k, (spec, b) in enumerate(jobs):
            if bar is not None:
                bar.set_postfix_str(f"{spec.name} bs={b}")
            row, lrows = profile_one(spec, b, settings, meter_obj, run_id, dev, versions, calibration,
                                     built=built[k], timed=timed[k])
            rows.append(row)
            layer_rows += lrows
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    df = schema.from_records(rows)
    if store is not None:
        store.append(df, layers=layer_frame(layer_rows) if layer_rows else None)
    return df
