"""NVML backend: GPU energy from NVIDIA's total-energy counter (Volta and newer).

``nvmlDeviceGetTotalEnergyConsumption`` returns millijoules since the driver loaded.
Reference: NVIDIA NVML API Reference, "Device Queries". ``nvidia-ml-py`` is installed with codecarbon.
"""

from __future__ import annotations

import time

from workbench.errors import MeterError
from workbench.measure.energy.base import EnergyMeter, EnergyReading
from workbench.units import mj_to_j


class NvmlMeter(EnergyMeter):
    """Energy of one or more NVIDIA GPUs from NVML counters.

    Parameters
    ----------
    indices : list of int, optional
        GPU indices (all GPUs by default).
    nvml : module, optional
        The ``pynvml`` module (injectable for tests).
    """

    name = "nvml"

    def __init__(self, indices=None, nvml=None, clock=time.perf_counter):
        if nvml is None:
            try:
                import pynvml as nvml  # provided by nvidia-ml-py
            except ImportError:
                raise MeterError("NVML is unavailable: install nvidia-ml-py.") from None
        self.nvml = nvml
        self.clock = clock
        try:
            nvml.nvmlInit()
            count = nvml.nvmlDeviceGetCount()
        except Exception as exc:
            raise MeterError(f"NVML cannot be initialised ({exc}): no NVIDIA GPU or driver here.") from None
        self.indices = list(range(count)) if indices is None else list(indices)
        if not self.indices:
            raise MeterError("NVML found no GPU.")
        self.handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in self.indices]
        self.names = []
        for h in self.handles:
            n = nvml.nvmlDeviceGetName(h)
            self.names.append(n.decode() if isinstance(n, bytes) else n)

    def _read_mj(self) -> list[int]:
        try:
            return [self.nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self.handles]
        except Exception as exc:
            raise MeterError(f"NVML energy counter unavailable ({exc}); it needs a Volta or newer GPU.") from None

    def start(self) -> None:
        self._t0 = self.clock()
        self._e0 = self._read_mj()

    def stop(self) -> EnergyReading:
        e1 = self._read_mj()
        dt = self.clock() - self._t0
        per = {name: mj_to_j(b - a) for name, a, b in zip(self.names, self._e0, e1, strict=True)}
        return EnergyReading(sum(per.values()), dt, "nvml", {"meter": "nvml", "gpus_j": per})
