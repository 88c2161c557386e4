"""RAPL backend: CPU package (and DRAM) energy counters read from Linux powercap sysfs.

Counters are ``energy_uj`` files under ``/sys/class/powercap/intel-rapl:*`` (AMD exposes the same
interface); they wrap at ``max_energy_range_uj``, which is handled. Reading them usually needs root
since Linux 5.10 (CVE-2020-8694). Reference: Intel SDM vol. 3B §15.10; Linux powercap documentation.
"""

from __future__ import annotations

import time
from pathlib import Path

from workbench.errors import MeterError
from workbench.measure.energy.base import EnergyMeter, EnergyReading
from workbench.units import uj_to_j

POWERCAP = Path("/sys/class/powercap")


def rapl_domains(root: Path = POWERCAP) -> dict[str, Path]:
    """Top-level RAPL domains (``package-0``, ``package-1``, ``psys``...) → their sysfs directory.

    Only top-level zones are returned (``intel-rapl:0``, not its ``intel-rapl:0:0`` sub-zones):
    the ``core`` and ``uncore`` sub-zones are included in their package. A ``dram`` sub-zone (Intel
    servers) is not part of the package (Intel SDM vol. 3B §15.10.1: PKG and DRAM are separate domains),
    so DRAM energy is left out of ``rapl`` rows. The ``psys`` zone (whole platform) overlaps the packages
    and is skipped too; Zeus 0.16 counts it as a second CPU (``docs/runtimes.md``, "Zeus").
    """
    out = {}
    if not root.is_dir():
        return out
    for d in sorted(root.glob("intel-rapl:*")):
        if d.name.count(":") != 1 or not (d / "energy_uj").exists():
            continue
        name = (d / "name").read_text().strip() if (d / "name").exists() else d.name
        if name == "psys":  # whole-platform counter overlaps the packages
            continue
        out[f"{name}@{d.name}"] = d
    return out


class RaplMeter(EnergyMeter):
    """Energy from RAPL package counters, summed over sockets.

    Raises
    ------
    MeterError
        If no readable RAPL counter exists (virtual machines, containers, non-root users).
    """

    name = "rapl"

    def __init__(self, root: Path | str = POWERCAP, clock=time.perf_counter):
        self.root = Path(root)
        self.clock = clock
        self.domains = rapl_domains(self.root)
        if not self.domains:
            raise MeterError(
                f"no RAPL counters under {self.root}: this machine (often a VM or container) exposes no "
                "CPU power sensor. Use the codecarbon meter, whose rows say 'tdp-estimate'."
            )
        try:
            self._read()
        except OSError as exc:
            raise MeterError(f"RAPL counters under {self.root} are not readable ({exc}); run as root.") from None

    def _read(self) -> dict[str, tuple[int, int]]:
        vals = {}
        for k, d in self.domains.items():
            e = int((d / "energy_uj").read_text())
            mx_file = d / "max_energy_range_uj"
            mx = int(mx_file.read_text()) if mx_file.exists() else 2**32
            vals[k] = (e, mx)
        return vals

    def start(self) -> None:
        self._t0 = self.clock()
        self._e0 = self._read()

    def stop(self) -> EnergyReading:
        e1 = self._read()
        dt = self.clock() - self._t0
        total_uj = 0
        per = {}
        for k, (end, mx) in e1.items():
            beg = self._e0[k][0]
            delta = end - beg if end >= beg else end + mx - beg  # counter wrapped once
            per[k] = uj_to_j(delta)
            total_uj += delta
        return EnergyReading(uj_to_j(total_uj), dt, "rapl", {"meter": "rapl", "domains_j": per})
