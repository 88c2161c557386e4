"""Energy meters: one small interface, one module per backend, a factory.

Backends: ``codecarbon`` (OfflineEmissionsTracker; TDP estimate where no sensor exists),
``rapl`` (powercap counters), ``nvml`` (NVIDIA GPUs), ``replay`` (a recorded power trace) and
``none``. ``auto`` picks RAPL when readable, else codecarbon.
"""

from __future__ import annotations

from workbench.errors import MeterError, UnknownNameError
from workbench.measure.energy.base import EnergyMeter, EnergyReading
from workbench.measure.energy.replay import ReplayMeter, integrate_trace

METERS = ("auto", "codecarbon", "rapl", "nvml", "replay", "none")


def get_meter(kind: str = "auto", **kwargs) -> EnergyMeter | None:
    """Return an energy meter backend, or ``None`` for ``kind="none"``.

    Raises
    ------
    UnknownNameError
        For an unknown kind.
    MeterError
        If the requested backend is unavailable here (e.g. ``rapl`` without counters).
    """
    if kind == "none":
        return None
    if kind == "auto":
        from workbench.measure.energy.rapl import RaplMeter

        try:
            return RaplMeter(**{k: v for k, v in kwargs.items() if k in ("root",)})
        except MeterError:
            kind = "codecarbon"
    if kind == "codecarbon":
        from workbench.measure.energy.codecarbon_meter import CodecarbonMeter

        return CodecarbonMeter(**{k: v for k, v in kwargs.items() if k in ("country_iso_code", "tracking_mode")})
    if kind == "rapl":
        from workbench.measure.energy.rapl import RaplMeter

        return RaplMeter(**kwargs)
    if kind == "nvml":
        from workbench.measure.energy.nvml import NvmlMeter

        return NvmlMeter(**kwargs)
    if kind == "replay":
        if kwargs.get("trace") is not None:
            return ReplayMeter.from_csv(kwargs["trace"])
        if kwargs.get("time_s") is not None:
            return ReplayMeter(kwargs["time_s"], kwargs["power_w"])
        raise MeterError("the replay meter needs a trace (a recorded power trace). Fix: give --trace FILE "
                         "(Python: trace=PATH), a CSV with columns time_s and power_w.")
    raise UnknownNameError("energy meter", kind, METERS)


__all__ = ["EnergyMeter", "EnergyReading", "ReplayMeter", "integrate_trace", "get_meter", "METERS"]
