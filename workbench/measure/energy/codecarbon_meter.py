"""codecarbon backend: ``OfflineEmissionsTracker`` (never contacts the network).

codecarbon reads RAPL where it can; elsewhere it estimates CPU power as TDP × load and RAM power
from its own model. Rows from such an estimate say ``tdp-estimate``, never a measured method.
Reference: codecarbon documentation, "Methodology" (CPU and RAM power).
"""

from __future__ import annotations

import logging
import time

from workbench.errors import MeterError
from workbench.measure.energy.base import EnergyMeter, EnergyReading
from workbench.units import kwh_to_j

_MEASURED_CPU_MODES = {"intel_rapl": "rapl"}


class CodecarbonMeter(EnergyMeter):
    """Energy of CPU + RAM (+ GPU) as codecarbon estimates or measures it.

    Parameters
    ----------
    country_iso_code : str
        ISO3 country for codecarbon's (unused here) emissions figure; energy does not depend on it.
    tracking_mode : {"process", "machine"}
        codecarbon's tracking mode: the load of this process or of the whole machine.
    """

    name = "codecarbon"

    def __init__(self, country_iso_code: str = "USA", tracking_mode: str = "process"):
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError:  # pragma: no cover - codecarbon is a dependency
            raise MeterError("codecarbon is not installed.") from None
        self._cls = OfflineEmissionsTracker
        self.country_iso_code = country_iso_code
        self.tracking_mode = tracking_mode
        self._tracker = None

    def start(self) -> None:
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        # measure_power_secs beyond any window: codecarbon then samples once, in stop(), over the whole
        # window, instead of waking a sampling thread inside the measured loop every second
        self._tracker = self._cls(
            country_iso_code=self.country_iso_code, save_to_file=False, log_level="error",
            tracking_mode=self.tracking_mode, allow_multiple_runs=True, measure_power_secs=3600,
        )
        self._tracker.start()
        # after start(): codecarbon integrates power from the end of start() (its hardware probe can
        # take a second or more), so the window, and hence the average power, starts here too
        self._t0 = time.perf_counter()

    def stop(self) -> EnergyReading:
        if self._tracker is None:
            raise MeterError("CodecarbonMeter.stop() called before start().")
        self._tracker.stop()
        dt = time.perf_counter() - self._t0
        data = self._tracker.final_emissions_data
        modes = {type(h).__name__: getattr(h, "_mode", None) for h in self._tracker._hardware}
        cpu_mode = modes.get("CPU")
        # any estimated component makes the total an estimate
        method = _MEASURED_CPU_MODES.get(cpu_mode, "tdp-estimate")
        details = {
            "meter": "codecarbon",
            "cpu_mode": cpu_mode,
            "cpu_energy_j": kwh_to_j(data.cpu_energy),
            "ram_energy_j": kwh_to_j(data.ram_energy),
            "gpu_energy_j": kwh_to_j(data.gpu_energy),
            "cpu_power_w": data.cpu_power,
            "ram_power_w": data.ram_power,
        }
        self._tracker = None
        return EnergyReading(kwh_to_j(data.energy_consumed), dt, method, details)
