"""Run federated experiments on Flower and return their ledger, history and schema rows; store them.

:func:`run` is one configuration; :func:`run_many` runs several in *one* Flower simulation (Ray starts
once; every configuration must have the same number of clients and Ray resources). Steps: validate
every configuration and check the store is writable (nothing starts on bad input), partition the data,
calibrate the training power here (:mod:`.local_power`), simulate (:mod:`.simulation`), then build the
ledger (:mod:`.ledger`) and the schema rows, and append them to the store in one atomic write.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import polars as pl

from workbench import schema
from workbench.errors import ParameterError
from workbench.federated.client_app import ClientPlan, build_client_app
from workbench.federated.config import FederatedConfig, parse_config
from workbench.federated.config_file import load_config
from workbench.federated.intensity import ClientIntensity
from workbench.federated.ledger import HOW, ledger_frame, model_work, round_times, totals
from workbench.federated.local_power import LocalPower, calibrate
from workbench.federated.partition import partition
from workbench.federated.selection import Selector
from workbench.federated.server_app import ServerPlan, build_server_app
from workbench.federated.simulation import simulate
from workbench.measure.profiler import device_info, software_versions
from workbench.store import Store, new_run_id
from workbench.strategies.data import DATASET_SOURCE, INPUT_SHAPE, MODELS, load_digits_splits
from workbench.strategies.recording import TASK, model_label


@dataclass
class FederatedResult:
    """What a federated run produced.

    Attributes
    ----------
    ledger : polars.DataFrame
        One row per client × round and per server phase × round (:mod:`.ledger`).
    history : dict
        Experiment id → list of ``{"round", "accuracy", "time_s"}`` (central test accuracy [1] after each
        round; round 0 is the initial model).
    rows : polars.DataFrame
        Schema rows (one per ledger row), also appended to the store if one was given.
    summary : dict
        Per experiment: final accuracy, totals (:func:`~.ledger.totals`), selection; and run-wide timings.
    configs : dict
        Experiment id → :class:`FederatedConfig`.
    power : LocalPower
        The calibration of local training energy.
    """

    ledger: pl.DataFrame
    history: dict
    rows: pl.DataFrame
    summary: dict
    configs: dict
    power: LocalPower
    plan: ServerPlan | None = field(default=None, repr=False)


def _check_same_simulation(configs: dict[str, FederatedConfig]) -> FederatedConfig:
    first = next(iter(configs.values()))
    for exp, c in configs.items():
        for key in ("clients", "num_cpus", "client_num_cpus"):
            if getattr(c, key) != getattr(first, key):
                raise ParameterError(f"experiment {exp!r} has {key} = {getattr(c, key)} but the first has "
                                     f"{getattr(first, key)}: one simulation needs the same. Fix: run them apart.")
    return first


def schema_rows(ledger: pl.DataFrame, configs: dict[str, FederatedConfig], history: dict, power: LocalPower,
                run_id: str) -> pl.DataFrame:
    """One schema row per ledger row: what was measured here, with the ledger and projection in ``config_json``.

    Each row describes the work as run *on this machine* (``device_name`` of this CPU, ``energy_j`` of local
    training or the server phase with ``energy_scope = "run"`` and ``energy_method`` of the calibration,
    ``"none"`` for a failed client); ``strategy`` names the FL setup (:meth:`FederatedConfig.label`);
    ``accuracy`` is the global model's test accuracy after that round; ``config_json["ledger"]`` holds the
    whole ledger row (device projection, network, carbon) and ``config_json["how"]`` how each was obtained.
    """
    here = device_info()
    versions = json.dumps(software_versions(), sort_keys=True)
    stamp = datetime.now(timezone.utc)
    acc = {(e, h["round"]): h["accuracy"] for e, hs in history.items() for h in hs}
    works = {c.model: model_work(c.model) for c in configs.values()}
    out = []
    for r in ledger.iter_rows(named=True):
        cfg = configs[r["experiment"]]
        w = works[cfg.model]
        has_e = r["energy_here_j"] is not None and r["energy_here_method"] != "none"
        note = (f"client {r['client']} raised in round {r['round']}: {r['error']}" if r["status"] != "ok" else
                f"{r['role']} {r['client'] if r['client'] >= 0 else ''} of federated round {r['round']}".strip())
        out.append({
            "measurement_id": uuid.uuid4().hex, "run_id": run_id, "timestamp_utc": stamp, "source": "profiler",
            "model": model_label(cfg.model), "model_family": MODELS[cfg.model][0], "task": TASK,
            "strategy": r["strategy"], "input_shape": "x".join(map(str, INPUT_SHAPE)), "batch_size": cfg.batch_size,
            "dtype": "fp32", "threads": 1, "params": w["params"], "flops": w["flops_per_sample"],
            "weight_bytes": w["weight_bytes"], "energy_j": r["energy_here_j"] if has_e else None,
            "energy_scope": "run" if has_e else None, "energy_method": r["energy_here_method"] if has_e else "none",
            **here, "accuracy": acc.get((r["experiment"], r["round"])), "software_versions": versions,
            "config_json": json.dumps({"federated": cfg.as_dict(), "experiment": r["experiment"], "ledger": r,
                                       "how": HOW, "dataset_source": DATASET_SOURCE,
                                       "calibration": {"j_per_cpu_s": power.j_per_cpu_s, "method": power.method,
                                                       "window_s": power.window_s}},
                                      sort_keys=True, default=str),
            "notes": note})
    return schema.from_records(out)


def run_many(configs, *, store=None, verbose: bool = False, ray_address: str | None = None) -> FederatedResult:
    """Run several federated experiments in one Flower simulation.

    Parameters
    ----------
    configs : dict or list
        Experiment id → configuration (dict of TOML tables, or :class:`FederatedConfig`); a list is keyed
        by position (``"0"``, ``"1"``, ...).
    store : Store, path or None
        Where to append the schema rows (one atomic write); None writes nothing.
    verbose : bool
        Keep Flower's INFO log.
    ray_address : str, optional
        Attach to this Ray cluster instead of starting one.

    Returns
    -------
    FederatedResult

    Raises
    ------
    UnknownNameError, ParameterError
        A bad configuration (before anything runs).
    StoreError
        A store that cannot be written (checked before the simulation).
    """
    if isinstance(configs, (list, tuple)):
        configs = {str(i): c for i, c in enumerate(configs)}
    if not configs:
        raise ParameterError("no configuration to run. Fix: pass at least one.")
    cfgs = {str(k): parse_config(v, source=f"experiment {k}") for k, v in configs.items()}
    first = _check_same_simulation(cfgs)
    if store is not None:
        store = Store.coerce(store)
        store.check_writable()
    grids = {e: ClientIntensity(c) for e, c in cfgs.items()}  # signal files read and checked before Ray starts
    y = load_digits_splits().train.y.numpy()
    plan = ClientPlan({e: {"model": c.model, "fail": set(c.fail),
                           "parts": partition(y, c.clients, c.partition, alpha=c.alpha, seed=c.seed)}
                       for e, c in cfgs.items()})
    t0 = time.perf_counter()
    power = calibrate(first.model, meter=first.meter, seconds=first.calibration_s, batch_size=first.batch_size,
                      lr=first.lr)
    calib_s = time.perf_counter() - t0
    selectors = {e: Selector(c.policy, grids[e].of_client, seed=c.seed, min_participation=c.min_participation)
                 for e, c in cfgs.items()}
    server = ServerPlan(cfgs, started_at=time.perf_counter())
    wall_s = simulate(build_server_app(server, selectors), build_client_app(plan), first.clients,
                      num_cpus=first.num_cpus, client_num_cpus=first.client_num_cpus, ray_address=ray_address,
                      verbose=verbose)
    missing = [e for e in cfgs if e not in server.results]
    if missing:
        raise ParameterError(f"the simulation ended without finishing experiment(s) {missing}; see Flower's log "
                             "(rerun with verbose=True).")
    ledger = ledger_frame(server.records, cfgs, power)
    run_id = new_run_id()
    rows = schema_rows(ledger, cfgs, server.history, power, run_id)
    if store is not None:
        store.append(rows)
    rt = round_times(ledger)
    summary = {"run_id": run_id, "wall_s": wall_s, "startup_s": server.startup_s, "calibration_s": calib_s,
               "client_rounds": int(ledger.filter(pl.col("role") == "client").height),
               "energy_method": power.method, "j_per_cpu_s": power.j_per_cpu_s, "experiments": {}}
    for e, c in cfgs.items():
        led = ledger.filter(pl.col("experiment") == e)
        hist = server.history.get(e, [])
        summary["experiments"][e] = {
            "strategy": c.label(), "clients": c.clients, "rounds": c.rounds,
            "final_accuracy": hist[-1]["accuracy"] if hist else None, **totals(led),
            "round_time_s_max": float(rt.filter(pl.col("experiment") == e)["round_time_s"].max() or 0.0),
            "selected": {str(k): v for k, v in selectors[e].chosen.items()}}
    return FederatedResult(ledger, server.history, rows, summary, cfgs, power, server)


def run(config, *, store=None, verbose: bool = False, ray_address: str | None = None) -> FederatedResult:
    """Run one federated-learning configuration on Flower (see :mod:`workbench.federated.config`).

    Parameters
    ----------
    config : dict, FederatedConfig or path
        The configuration (TOML tables as a dict, a parsed config, or a TOML file path).
    store, verbose, ray_address
        As :func:`run_many`.

    Returns
    -------
    FederatedResult
        ``ledger`` and ``history`` (and schema ``rows``, ``summary``).
    """
    if isinstance(config, str) or hasattr(config, "__fspath__"):
        config = load_config(config)
    cfg = parse_config(config)
    return run_many({cfg.name: cfg}, store=store, verbose=verbose, ray_address=ray_address)


__all__ = ["FederatedResult", "run", "run_many", "schema_rows"]
