"""A tracker for any code: one schema row per tracked block, like codecarbon's ``EmissionsTracker``.

``with track(name="train", store="data/runs"):`` (or ``@track(name=...)`` on a function) measures the
block and, on exit, appends one row to the store (one run file, written atomically by
:meth:`workbench.store.Store.append`):

- wall time (``time.perf_counter``) in ``latency_ms_p50``/``_mean``/``_p95`` (one block = one call,
  ``repeats`` 1, ``latency_method`` ``wall``) and ``config_json["wall_time_s"]``; CPU time of the whole
  process, every thread (``time.process_time``) in ``config_json["cpu_time_s"]``;
- energy over the block from an energy meter (:func:`workbench.measure.energy.get_meter`, ``auto``:
  RAPL where readable, else codecarbon, whose rows say ``tdp-estimate`` honestly), ``energy_scope``
  ``run``, and the average power;
- peak memory: the process's resident set size sampled every :data:`RSS_SAMPLE_S` by a background
  thread (``psutil``), in ``config_json["memory_peak_rss_bytes"]`` (the schema's ``memory_method``
  has no value for it yet, so the column stays null); and ``torch.cuda.max_memory_allocated`` when
  torch is already imported and CUDA is available;
- carbon: energy × the country's grid intensity (:func:`workbench.catalog.grid.carbon_intensity_g_per_kwh`)
  in ``config_json["carbon_g"]``, with the intensity, the country and the data source.

When the block raises, the row is still written, its ``notes`` saying ``failed: <exception>`` and
``config_json["status"]`` ``failed``, and the exception propagates unchanged: a crashed run cost energy
too. Blocks nest: each ``track`` writes its own row (each with its own meter).
"""

from __future__ import annotations

import contextlib
import copy
import json
import sys
import threading
import time
import uuid
from datetime import datetime, timezone

import polars as pl
import psutil

from workbench import schema
from workbench.bounds import PLAUSIBLE_MAXIMA
from workbench.catalog import grid
from workbench.errors import ParameterError, UnknownNameError
from workbench.measure.energy import EnergyMeter, get_meter
from workbench.measure.host import cpu_device_info, software_versions
from workbench.store import Store, new_run_id
from workbench.units import j_to_kwh

RSS_SAMPLE_S = 0.01
"""Interval of the resident-set-size sampler [s]; a shorter peak between two samples is missed."""

SOURCE = "tracker"
"""``source`` column of tracked rows."""


class _RssSampler:
    """Peak resident set size of this process over a block, sampled by a daemon thread [B]."""

    def __init__(self, interval_s: float):
        self.interval_s = interval_s
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self.peak = 0

    def _sample(self) -> None:
        try:
            self.peak = max(self.peak, self._proc.memory_info().rss)
        except psutil.Error:  # pragma: no cover - the process is ourselves
            pass

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def start(self) -> None:
        self._sample()
        self._thread = threading.Thread(target=self._run, name="workbench-rss", daemon=True)
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self._sample()
        return int(self.peak)


def _cuda_peak() -> int | None:
    torch = sys.modules.get("torch")  # never imported here: tracked code may not use torch
    if torch is None or not torch.cuda.is_available():
        return None
    return int(torch.cuda.max_memory_allocated())


def _cuda_reset() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


class track(contextlib.ContextDecorator):  # noqa: N801 (used like a function, as contextlib's are)
    """Measure a block of any code into one schema row; append it to ``store`` on exit.

    Parameters
    ----------
    name : str
        The ``model`` column: what the block is (``"train-resnet"``, ``"etl"``).
    store : Store or path, optional
        Where to append the row (checked writable on entry; no store: the row is only kept on the
        tracker, :attr:`row` and :attr:`frame`).
    device_class : str, optional
        ``device_class`` column (default: guessed from the CPU as the profiler does).
    meter : str or EnergyMeter or None
        Energy meter (``auto``, ``codecarbon``, ``rapl``, ``nvml``, ``replay``, ``none``) or an instance.
    country : str
        ISO 3166-1 alpha-3 code of the grid the machine draws from, for ``carbon_g``.
    family, task : str, optional
        ``model_family`` and ``task`` columns.
    config : dict, optional
        Extra ``config_json`` entries.
    module, example_input : nn.Module and Tensor, optional
        Give both to record the module's ``flops`` per sample (forward of ``example_input``, counted once on
        entry, outside the measured window), ``params`` and ``input_shape`` in the row.

    Attributes
    ----------
    row : dict
        The last block's row (after exit), every schema column present.
    frame : polars.DataFrame
        The last block's row as a validated one-row frame.
    rows : list of dict
        Every row this tracker wrote (a decorated function: one per call).

    Raises
    ------
    UnknownNameError, MeterError, StoreError, ParameterError
        On entry, before the block runs: an unknown meter, country or device class, an unavailable
        meter, or an unwritable store.

    Examples
    --------
    >>> import time
    >>> with track(name="sleep", meter="none") as t:
    ...     time.sleep(0.01)
    >>> t.row["latency_ms_p50"] >= 10
    True
    """

    def __init__(self, name: str = "tracked", *, store: Store | str | None = None, device_class: str | None = None,
                 meter: str | EnergyMeter | None = "auto", country: str = "USA", family: str | None = None,
                 task: str | None = None, config: dict | None = None, module=None, example_input=None):
        if not name:
            raise ParameterError("a tracked block needs a name (the model column). Fix: track(name='train').")
        if device_class is not None and device_class not in schema.DEVICE_CLASSES:
            raise UnknownNameError("device class", device_class, schema.DEVICE_CLASSES)
        self.name, self.device_class, self.meter = name, device_class, meter
        self.family, self.task, self.config = family, task, dict(config or {})
        if (module is None) != (example_input is None):
            raise ParameterError("FLOPs need both a module and an example input. Fix: track(..., module=model, "
                                 "example_input=x) with x one batch the module accepts, or neither.")
        self.module, self.example_input = module, example_input
        self.country = grid.resolve_country(country)
        self.intensity_g_per_kwh = grid.carbon_intensity_g_per_kwh(self.country)
        self.store = None if store is None else Store.coerce(store)
        self._dev = cpu_device_info(device_class)  # looked up once, not on every exit of a decorated call
        self._versions = json.dumps(software_versions(), sort_keys=True)
        self.row: dict | None = None
        self.frame: pl.DataFrame | None = None
        self.rows: list[dict] = []

    def _recreate_cm(self) -> track:
        """As a decorator, each call gets its own copy (calls may nest or recurse); ``rows`` is shared."""
        return copy.copy(self)

    def __enter__(self) -> track:
        if self.store is not None:
            self.store.check_writable()
        self._counted = self._count_flops() if self.module is not None else {}
        self._meter = get_meter(self.meter) if isinstance(self.meter, str) else self.meter
        self._rss = _RssSampler(RSS_SAMPLE_S)
        _cuda_reset()
        self._started = datetime.now(timezone.utc)
        self._rss.start()
        if self._meter is not None:
            self._meter.start()
        self._c0 = time.process_time()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        wall_s = time.perf_counter() - self._t0
        cpu_s = time.process_time() - self._c0
        reading = self._meter.stop() if self._meter is not None else None
        rss_peak = self._rss.stop()
        cuda_peak = _cuda_peak()
        self.frame = schema.from_records([self._row(wall_s, cpu_s, reading, rss_peak, cuda_peak, exc)])
        self.row = self.frame.row(0, named=True)
        self.rows.append(self.row)
        if self.store is not None:
            self.store.append(self.frame)
        return False  # an exception in the block propagates unchanged

    def _count_flops(self) -> dict:
        """``flops`` per sample, ``params`` and ``input_shape`` of the given module (torch imported here)."""
        from workbench.measure import features

        x = self.example_input
        return {"flops": float(features.count_flops(self.module, x)) / max(int(x.shape[0]), 1),
                "params": features.count_params(self.module), "input_shape": "x".join(map(str, x.shape[1:]))}

    def _row(self, wall_s, cpu_s, reading, rss_peak, cuda_peak, exc) -> dict:
        config = {**self.config, "tracker": "workbench.measure.tracker.track", "wall_time_s": wall_s,
                  "cpu_time_s": cpu_s, "cpu_clock": "time.process_time (whole process, every thread)",
                  "memory_peak_rss_bytes": rss_peak,
                  "memory_peak_rss_method": f"psutil RSS sampled every {RSS_SAMPLE_S:g} s",
                  "status": "failed" if exc is not None else "ok",
                  "grid_country": self.country, "carbon_intensity_g_per_kwh": self.intensity_g_per_kwh,
                  "carbon_intensity_source": grid.source_label()}
        row = {"measurement_id": uuid.uuid4().hex, "run_id": new_run_id(), "timestamp_utc": self._started,
               "source": SOURCE, "model": self.name, "model_family": self.family, "task": self.task,
               **self._dev, "software_versions": self._versions, **self._counted,
               "energy_method": "none"}
        wall_ms = wall_s * 1e3
        if wall_ms <= PLAUSIBLE_MAXIMA["latency_ms"][0]:
            row.update({"latency_ms_p50": wall_ms, "latency_ms_mean": wall_ms, "latency_ms_p95": wall_ms,
                        "repeats": 1, "latency_method": "wall"})
        if reading is not None:
            row.update({"energy_j": reading.energy_j, "energy_scope": "run", "energy_method": reading.method,
                        "power_w": reading.power_w if reading.duration_s > 0 else None})
            config["energy"] = {**reading.details, "window_s": reading.duration_s}
            config["carbon_g"] = j_to_kwh(reading.energy_j) * self.intensity_g_per_kwh
        if cuda_peak is not None:
            row.update({"memory_peak_bytes": cuda_peak, "memory_method": "cuda-max-allocated"})
        if exc is not None:
            row["notes"] = f"failed: {type(exc).__name__}: {str(exc)[:300]}"
        row["config_json"] = json.dumps(config, sort_keys=True, default=str)
        return row
