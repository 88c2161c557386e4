"""codecarbon ``emissions.csv``: bring users' own tracked runs into the workbench.

codecarbon (``EmissionsTracker``/``OfflineEmissionsTracker``) appends one row per tracked run to
``emissions.csv`` (columns of ``codecarbon.output_methods.emissions_data.EmissionsData``). Units as
codecarbon documents them: ``duration`` [s], ``emissions`` [kgCO2e], ``*_power`` [W],
``*_energy`` and ``energy_consumed`` [kWh].

Normalisation: one row per tracked run with ``energy_j`` = kWh → J of ``energy_consumed`` and
``energy_scope = "run"`` (a whole run, not one inference); ``power_w`` = energy / duration (the
average; codecarbon's ``*_power`` columns are its last readings and go to ``config_json`` with the
per-component energies, emissions, country, region, PUE and the implied grid intensity).
``model`` = ``project_name``. ``source`` = ``"codecarbon <codecarbon_version>"``.
``energy_method = "dataset"``: codecarbon itself may have measured (RAPL, NVML) or estimated (TDP
fallback); its CSV does not say which, and ``notes`` says so.

The codecarbon timestamp is local time without a zone, so it is kept in ``config_json``
(``codecarbon_timestamp``) and ``timestamp_utc`` is the import time, as for every dataset.
``measurement_id`` is ``codecarbon-`` and the first 16 hex digits of SHA-256 of
``"<run_id>|<timestamp>|<project_name>"`` (the scheme since the first release, so rows imported
before keep matching), so re-importing an ``emissions.csv`` that has grown adds only the new runs.
A run repeated in the file with identical values is imported once; with other values it is an error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from workbench import units
from workbench.datasets._common import ImportContext, RowErrors, config, finish, line_of, number, text, unique_rows
from workbench.datasets._csv import read_text_csv
from workbench.datasets.mlperf_inference import device_of

KIND = "codecarbon"
FILE_NAMES = ("emissions.csv",)

REQUIRED = (
    "timestamp", "project_name", "run_id", "duration", "emissions", "cpu_power", "gpu_power", "ram_power",
    "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed", "country_iso_code",
)
"""Columns every codecarbon version since 2.x writes; later columns (cpu_model, gpu_model, pue, ...)
are used when present."""

KNOWN = (
    "experiment_id", "emissions_rate", "water_consumed", "country_name", "region", "cloud_provider", "cloud_region",
    "os", "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude",
    "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
)
"""Further columns of codecarbon's ``EmissionsData`` (3.x); others (a newer codecarbon's) are ignored with a note."""

IDENTITY = ("run_id", "timestamp", "project_name")
"""The columns that identify one tracked run (also the input of its ``measurement_id``)."""


def read(path: Path, ctx: ImportContext) -> pl.DataFrame:
    """Normalise a codecarbon emissions.csv into measurement rows (validated)."""
    df = read_text_csv(path, REQUIRED, KIND, KNOWN, ctx.notes)
    errors = RowErrors(path, KIND)
    records = []
    for row in unique_rows(df, IDENTITY, KIND, ctx, errors).iter_rows(named=True):
        line = line_of(row)
        duration = number(row, "duration", line, errors, required=True)
        energy_kwh = number(row, "energy_consumed", line, errors, required=True)
        emissions = number(row, "emissions", line, errors)
        parts = {c: number(row, c, line, errors) for c in (
            "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy")}
        gpu_count = number(row, "gpu_count", line, errors)
        pue = number(row, "pue", line, errors)
        project, run_id, stamp = text(row, "project_name"), text(row, "run_id"), text(row, "timestamp")
        if not project or not stamp:
            errors.add(line, "'project_name' and 'timestamp' must not be empty")
            continue
        if duration is None or energy_kwh is None:
            continue
        energy_j = units.kwh_to_j(energy_kwh)
        cpu, gpu = text(row, "cpu_model"), text(row, "gpu_model")
        uses_gpu = bool(gpu) and ((gpu_count or 0) > 0 or (parts["gpu_energy"] or 0) > 0)
        name, cls = device_of(gpu if uses_gpu else None, cpu or "unknown CPU", "")
        if text(row, "on_cloud") == "Y" and not uses_gpu and cls in ("desktop-cpu", "laptop"):
            cls = "server-cpu"
        version = text(row, "codecarbon_version")
        ident = hashlib.sha256(f"{run_id}|{stamp}|{project}".encode()).hexdigest()[:16]
        records.append({
            **ctx.base(row, f"codecarbon {version}" if version else "codecarbon emissions.csv"),
            "measurement_id": f"codecarbon-{ident}",
            "model": project, "strategy": None,
            "energy_j": energy_j, "energy_scope": "run", "energy_method": "dataset",
            "power_w": energy_j / duration if duration > 0 else None,
            "device_name": name, "device_class": cls, "cpu_model": cpu, "accelerator": gpu if uses_gpu else None,
            "config_json": config(
                codecarbon_run_id=run_id, experiment_id=text(row, "experiment_id"), codecarbon_timestamp=stamp,
                duration_s=duration, emissions_kgco2e=emissions,
                implied_carbon_intensity_g_per_kwh=emissions * 1000 / energy_kwh if emissions is not None and energy_kwh else None,
                cpu_power_w=parts["cpu_power"], gpu_power_w=parts["gpu_power"], ram_power_w=parts["ram_power"],
                cpu_energy_j=units.kwh_to_j(parts["cpu_energy"]) if parts["cpu_energy"] is not None else None,
                gpu_energy_j=units.kwh_to_j(parts["gpu_energy"]) if parts["gpu_energy"] is not None else None,
                ram_energy_j=units.kwh_to_j(parts["ram_energy"]) if parts["ram_energy"] is not None else None,
                country_iso3=text(row, "country_iso_code"), country=text(row, "country_name"),
                region=text(row, "region"), cloud_provider=text(row, "cloud_provider"),
                cloud_region=text(row, "cloud_region"), pue=pue, tracking_mode=text(row, "tracking_mode"),
                cpu_count=text(row, "cpu_count"), gpu_count=gpu_count, ram_total_size_gb=text(row, "ram_total_size"),
                os=text(row, "os"), python_version=text(row, "python_version"),
            ),
            "notes": "codecarbon run: energy may be measured (RAPL/NVML) or TDP-estimated by codecarbon; "
                     "its CSV does not record which",
        })
    return finish(records, ctx, errors)
