"""A codecarbon output handler that writes each codecarbon measurement into the store as a schema row.

Existing codecarbon users add one argument and get the workbench's table::

    from codecarbon import OfflineEmissionsTracker
    from workbench.measure.codecarbon_output import StoreOutput

    tracker = OfflineEmissionsTracker(country_iso_code="FRA", output_handlers=[StoreOutput("data/runs")])

codecarbon calls :meth:`StoreOutput.out` at every ``flush()`` and at ``stop()`` with the totals since
``start()`` and the *delta* since the previous output; one row per call is appended (atomically, through
:meth:`workbench.store.Store.append`) for the delta, so the rows of a run add up to its total:

- ``model`` = ``project_name``, ``source`` = ``codecarbon <version>``, ``run_id`` = codecarbon's run id;
- ``energy_j`` = kWh → J of the delta's ``energy_consumed``, ``energy_scope`` ``run``, ``power_w`` = that
  energy ÷ the delta's duration; the delta's duration in ``latency_ms_p50`` (one output = one call);
- ``energy_method``: ``rapl`` where this machine's RAPL counters are readable (codecarbon then reads its CPU
  energy from them), else ``tdp-estimate`` (codecarbon's TDP × load fallback). codecarbon's records do not
  say which it used, so this is inferred from the machine, as :mod:`workbench.measure.energy.codecarbon_meter`
  decides by the CPU's mode (RAM power is codecarbon's model either way);
- ``config_json``: codecarbon's emissions (``carbon_g``) and its grid intensity, the per-component energies
  and powers, the totals since ``start()``, country, region, PUE and tracking mode.

Per-task outputs (``task_out``) are not written: codecarbon passes every task again at each output, so they
would repeat; the run's rows already hold the energy.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone

from codecarbon.output_methods.base_output import BaseOutput

from workbench import schema
from workbench.bounds import PLAUSIBLE_MAXIMA
from workbench.measure.energy.rapl import rapl_domains
from workbench.measure.host import cpu_device_info, software_versions
from workbench.store import Store
from workbench.units import kwh_to_j


def _cpu_energy_method() -> str:
    """``rapl`` if RAPL package counters are readable here, else ``tdp-estimate``."""
    for d in rapl_domains().values():
        try:
            (d / "energy_uj").read_text()
            return "rapl"
        except OSError:
            return "tdp-estimate"
    return "tdp-estimate"


def emissions_row(total, delta, *, device_class: str | None = None) -> dict:
    """One schema row for a codecarbon output (``delta`` since the previous one; ``total`` since start).

    Parameters
    ----------
    total, delta : codecarbon.output_methods.emissions_data.EmissionsData
        What codecarbon passes to ``BaseOutput.out``: durations [s], energies [kWh], powers [W],
        emissions [kgCO2e].
    device_class : str, optional
        ``device_class`` column (default: guessed from the CPU as the profiler does).

    Returns
    -------
    dict
        The row (validate with :func:`workbench.schema.from_records`).
    """
    energy_j = kwh_to_j(delta.energy_consumed)
    duration_s = float(delta.duration)
    config = {
        "codecarbon_run_id": total.run_id, "experiment_id": total.experiment_id,
        "codecarbon_timestamp": delta.timestamp, "duration_s": duration_s, "segment": "delta since previous output",
        "carbon_g": delta.emissions * 1e3,
        "carbon_intensity_g_per_kwh": delta.emissions * 1e3 / delta.energy_consumed if delta.energy_consumed else None,
        "cpu_energy_j": kwh_to_j(delta.cpu_energy), "gpu_energy_j": kwh_to_j(delta.gpu_energy),
        "ram_energy_j": kwh_to_j(delta.ram_energy), "cpu_power_w": delta.cpu_power, "gpu_power_w": delta.gpu_power,
        "ram_power_w": delta.ram_power, "total_energy_j": kwh_to_j(total.energy_consumed),
        "total_duration_s": float(total.duration), "total_carbon_g": total.emissions * 1e3,
        "country_iso3": total.country_iso_code, "region": total.region, "pue": getattr(total, "pue", None),
        "tracking_mode": total.tracking_mode, "energy_method_inferred_from": "RAPL counters readable on this machine",
    }
    row = {"measurement_id": uuid.uuid4().hex, "run_id": str(total.run_id), "timestamp_utc": datetime.now(timezone.utc),
           "source": f"codecarbon {total.codecarbon_version}", "model": total.project_name,
           **cpu_device_info(device_class), "software_versions": json.dumps(software_versions(), sort_keys=True),
           "energy_j": energy_j, "energy_scope": "run", "energy_method": _cpu_energy_method(),
           "power_w": energy_j / duration_s if duration_s > 0 else None,
           "config_json": json.dumps(config, sort_keys=True, default=str)}
    if 0 < duration_s * 1e3 <= PLAUSIBLE_MAXIMA["latency_ms"][0]:
        row.update({"latency_ms_p50": duration_s * 1e3, "latency_ms_mean": duration_s * 1e3,
                    "latency_ms_p95": duration_s * 1e3, "repeats": 1, "latency_method": "wall"})
    return row


class StoreOutput(BaseOutput):
    """codecarbon output handler appending one schema row per codecarbon output to a workbench store.

    Parameters
    ----------
    store : Store or path
        The run store (checked writable here, so a bad path fails when the tracker is built).
    device_class : str, optional
        ``device_class`` column of the rows.

    Attributes
    ----------
    rows : list of dict
        The rows written so far.
    """

    def __init__(self, store: Store | str | os.PathLike, *, device_class: str | None = None):
        self.store = Store.coerce(store)
        self.store.check_writable()
        self.device_class = device_class
        self.rows: list[dict] = []

    def out(self, total, delta) -> None:
        """Append the row of ``delta`` (called by codecarbon at ``flush()`` and ``stop()``)."""
        frame = schema.from_records([emissions_row(total, delta, device_class=self.device_class)])
        self.store.append(frame)
        self.rows.append(frame.row(0, named=True))
