"""The host a measurement runs on, described without importing torch: CPU model, device class, package versions.

The tracker (:mod:`workbench.measure.tracker`) and the codecarbon output handler
(:mod:`workbench.measure.codecarbon_output`) wrap code that may not use torch at all, so they describe
the machine from here; :mod:`workbench.measure.profiler` adds the CUDA case, which needs torch.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import platform

VERSIONED_PACKAGES = ("torch", "torchao", "codecarbon", "continuum-workbench")
"""Packages whose versions every measurement records (``software_versions``), besides Python."""

SERVER_CPU_MARKERS = ("Xeon", "EPYC", "Graviton", "Neoverse", "Ampere")
"""Substrings of a CPU model string that make its device class ``server-cpu`` (else ``desktop-cpu``)."""


def cpu_model() -> str:
    """CPU model string (``/proc/cpuinfo`` on Linux, ``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_device_info(device_class: str | None = None) -> dict:
    """``device_name``, ``device_class``, ``cpu_model`` and ``accelerator`` (None) of this machine's CPU.

    Parameters
    ----------
    device_class : str, optional
        Use this class instead of the guess (``server-cpu`` for server CPU models, else ``desktop-cpu``).
    """
    cpu = cpu_model()
    cls = device_class or ("server-cpu" if any(k in cpu for k in SERVER_CPU_MARKERS) else "desktop-cpu")
    return {"device_name": f"{cpu} ({os.cpu_count()} cores)", "device_class": cls, "cpu_model": cpu,
            "accelerator": None}


def software_versions(extra: tuple[str, ...] = ()) -> dict:
    """Versions of Python and of :data:`VERSIONED_PACKAGES` (and ``extra``) that are installed."""
    out = {"python": platform.python_version()}
    for pkg in (*VERSIONED_PACKAGES, *extra):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out
