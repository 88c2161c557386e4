"""Unit conversions used at the edges (importers, meters), so the middle of the code never converts.

Every quantity inside the workbench has one unit, written in its name (``energy_j``,
``latency_ms_p50``, ``carbon_intensity_g_per_kwh``); see :mod:`workbench.schema` for the glossary.
"""

from __future__ import annotations

J_PER_KWH = 3.6e6
"""Joules in one kilowatt-hour (exact, SI definition)."""

J_PER_WH = 3.6e3
"""Joules in one watt-hour (exact)."""

SECONDS_PER_HOUR = 3600.0
HOURS_PER_YEAR = 8760.0
"""Hours in a 365-day year, the convention of embodied-carbon amortisation (e.g. Boavizta)."""


def uj_to_j(x):
    """Microjoules [µJ] → joules [J]."""
    return x * 1e-6


def mj_to_j(x):
    """Millijoules [mJ] → joules [J] (NVML reports total energy in mJ)."""
    return x * 1e-3


def mw_to_w(x):
    """Milliwatts [mW] → watts [W]."""
    return x * 1e-3


def kwh_to_j(x):
    """Kilowatt-hours [kWh] → joules [J]."""
    return x * J_PER_KWH


def j_to_kwh(x):
    """Joules [J] → kilowatt-hours [kWh]."""
    return x / J_PER_KWH


def us_to_ms(x):
    """Microseconds [µs] → milliseconds [ms]."""
    return x * 1e-3


def s_to_ms(x):
    """Seconds [s] → milliseconds [ms]."""
    return x * 1e3
