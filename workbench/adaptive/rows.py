"""A replay's results as measurement-schema rows (:mod:`workbench.schema`), for the run store.

:func:`replay_rows` writes one row per policy (the oracle and any non-causal reference included, labelled): what
the replay *predicts* for that policy on the evaluation part of the traces, not a measurement. The columns used,
with their units:

- ``source`` ``"predicted:workbench.adaptive replay"``, ``energy_method`` ``"predicted"``: the figures come from
  the configuration space's costs (measured, cost-model or roofline figures, as its labels say) replayed over
  traces; ``model`` the space's source; ``strategy`` ``"adaptive:<policy>"``; ``scenario`` names the traces;
- ``energy_j`` [J] the device energy per served request (``energy_scope = "request"``), ``accuracy`` [1] the
  mean over served requests, ``latency_ms_p50`` / ``latency_ms_p95`` / ``latency_ms_mean`` [ms] over the requests
  served in their own interval (deferred work has no latency target and is left out);
- ``config_json``: ``method`` (``"replayed"``), ``causal``, ``policy``, ``objective``, ``latency_target_ms``,
  ``intervals`` (first and last + 1 evaluated), ``step_s``, ``traces`` (trace → its provenance), ``space``
  (source, configurations), ``oracle_exact`` and ``summary`` (every column of the replay's summary: SLO miss
  rate, total energy and carbon per request, battery, deferred work, switches).

The rows are built with :func:`workbench.schema.from_records` and so validated; :class:`workbench.store.Store`
appends them atomically (``workbench adapt --store DIR``).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import numpy as np
import polars as pl

from workbench import schema
from workbench.adaptive.replay import ReplayResult
from workbench.adaptive.scenario import Scenario
from workbench.adaptive.space import ConfigurationSpace
from workbench.files import json_safe
from workbench.measure.host import software_versions
from workbench.store import new_run_id

SOURCE = "predicted:workbench.adaptive replay"
"""The ``source`` of every replay row."""

NOT_CAUSAL = ("oracle", "clairvoyant")
"""Name prefixes of the yardsticks that see the future (labelled ``causal: false``)."""


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float | None:
    """The smallest value whose cumulative weight reaches ``q`` of the total (None when no weight)."""
    keep = weights > 0
    if not keep.any():
        return None
    v, w = values[keep], weights[keep]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, q * cum[-1] * (1 - 1e-12))])


def replay_rows(result: ReplayResult, space: ConfigurationSpace, scenario: Scenario, *, objective: str,
                device_name: str, device_class: str, run_id: str | None = None, model: str | None = None,
                task: str | None = None) -> pl.DataFrame:
    """One validated schema row per policy of ``result`` (see the module docstring).

    Parameters
    ----------
    result : ReplayResult
        What :func:`workbench.adaptive.replay.run` returned for ``space`` and ``scenario``.
    space : ConfigurationSpace
    scenario : Scenario
        The whole scenario replayed (its provenance is kept).
    objective : str
        The objective the replay ranked by.
    device_name, device_class : str
        The device whose energy the rows report (``device_class`` one of :data:`workbench.schema.DEVICE_CLASSES`).
    run_id : str, optional
        Default: a fresh one.
    model : str, optional
        Default: the space's source.
    task : str, optional

    Returns
    -------
    polars.DataFrame
        Measurement-schema rows.

    Raises
    ------
    SchemaError
        A value the schema refuses (an unknown device class).
    """
    run_id = run_id or new_run_id()
    stamp = datetime.now(timezone.utc)
    versions = json.dumps(software_versions(), sort_keys=True)
    iv = result.intervals
    first, last = int(iv["interval"].min()), int(iv["interval"].max()) + 1
    out = []
    for row in result.summary.iter_rows(named=True):
        name = row["policy"]
        mine = iv.filter(pl.col("policy") == name)
        on_time = (mine["served"] - mine["served_deferred"]).clip(0).to_numpy()   # served in their own interval
        lat = mine["latency_ms"].to_numpy()
        mean = float((lat * on_time).sum() / on_time.sum()) if on_time.sum() > 0 else None
        causal = not name.startswith(NOT_CAUSAL)
        cfg = {"method": "replayed", "causal": causal, "policy": name, "objective": objective,
               "latency_target_ms": scenario.latency_target_ms, "intervals": [first, last],
               "step_s": scenario.step_s, "traces": scenario.provenance,
               "deferrable_fraction": scenario.deferrable_fraction,
               "defer_deadline_intervals": scenario.defer_deadline_intervals,
               "space": {"source": space.source, "configurations": len(space)},
               "oracle_exact": result.oracle_exact, "summary": json_safe(row)}
        out.append({
            "measurement_id": uuid.uuid4().hex, "run_id": run_id, "timestamp_utc": stamp, "source": SOURCE,
            "model": model or space.source, "task": task, "strategy": f"adaptive:{name}",
            "scenario": f"adaptive replay of intervals {first}–{last - 1} ({scenario.step_s:g} s each)",
            "batch_size": 1, "latency_ms_p50": _weighted_quantile(lat, on_time, 0.5),
            "latency_ms_p95": _weighted_quantile(lat, on_time, 0.95), "latency_ms_mean": mean,
            "energy_j": row["device_energy_j_per_request"], "energy_scope": "request", "energy_method": "predicted",
            "device_name": device_name, "device_class": device_class, "accuracy": row["accuracy"],
            "software_versions": versions, "config_json": json.dumps(cfg, sort_keys=True, default=str),
            "notes": (f"{'causal policy' if causal else 'NOT CAUSAL yardstick (sees the future)'} {name!r} replayed "
                      f"over the evaluation part; figures predicted from the configuration space's costs")})
    return schema.from_records(out)
