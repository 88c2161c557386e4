"""Reference tables the workbench reads: devices, grid carbon intensity, network and PUE intensities.

Layer 3 of the architecture: imports only :mod:`workbench.errors`, :mod:`workbench.checks`,
:mod:`workbench.units` and :mod:`workbench.schema` (no torch, no Brightway). Nothing is read at
import time; each table is loaded on first use and cached.

Submodules
----------
devices
    Device catalog (peak FLOP/s per dtype, memory bandwidth, RAM, power, embodied carbon,
    lifetime), every figure with a unit, a basis and a source. Users add their own devices
    from TOML or CSV files (:func:`workbench.catalog.devices.load_user_devices`). Lookups and
    the registry of user devices; every public name of the two modules below is importable from it.
device_record
    The :class:`~workbench.catalog.device_record.Device` record and the vocabulary of its figures
    (names, units, bases).
device_tables
    Reading and validating device tables (the package's CSV and bibliography, users' TOML/CSV files).
embodied
    Component model of embodied carbon (die area × carbon per area by node, DRAM/flash per GB,
    packaging per IC, PCB per area) for devices without a published footprint.
grid
    Grid carbon intensity by country (ISO3) and generation mix, read from the installed
    codecarbon package's data files.
network
    Transfer energy intensity [kWh/GB] by access technology with a documented year trend.
pue
    Data-centre power usage effectiveness defaults.
"""

from __future__ import annotations

__all__ = ["device_record", "device_tables", "devices", "embodied", "grid", "network", "pue"]
