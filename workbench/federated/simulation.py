"""Flower's simulation engine on a local Ray backend, pinned to this machine: nothing reaches the network.

:func:`simulate` calls :func:`flwr.simulation.run_simulation` with a ServerApp and a ClientApp and N
virtual SuperNodes. Flower 1.42 marks that Python API deprecated in favour of ``flwr run`` (which needs
an app project and a SuperLink); it is still Flower's own engine (the same ``vce`` runtime and Ray
backend) and needs no address. Before Flower and Ray are used:

- ``FLWR_TELEMETRY_ENABLED=0``: Flower otherwise posts usage events to telemetry.flower.ai;
- ``RAY_USAGE_STATS_ENABLED=0``: Ray otherwise may report usage statistics;
- ``FLWR_HOME`` is left to the caller (tests point it at a temporary folder); the Python API reads no
  Flower configuration file (the CLI's default config names a remote SuperLink; it is not used here).

Ray starts a new local instance (``address="local"``: never a cluster another process started on this
machine) with ``num_cpus`` CPUs, no dashboard and no GPUs, started here (:func:`start_ray`) rather than by
Flower's backend: Flower's ``ray.init`` adds a ``runtime_env`` (to pass ``PYTHONPATH``), and an actor with a
runtime environment cannot take the worker process Ray prestarts, so it waits for a new one (3–6 s more on a
loaded 2-core machine, measured); here ``PYTHONPATH`` goes to Ray's processes by their environment. Flower
sees Ray initialised, skips its own ``ray.init`` and shuts Ray down at the end. Each virtual client asks for
``client_num_cpus`` (fractional allowed), so ``num_cpus / client_num_cpus`` actors train in parallel.
Flower shuts Ray down at the end of each simulation, so every call pays Ray's start-up (about 10–20 s on
a loaded 2-core machine): run several experiments in one call (:mod:`.server_app`).

To attach the same apps to an existing Ray cluster, pass ``ray_address`` (Ray's ``address`` init
argument); to run against real devices, deploy the ServerApp and ClientApp with a Flower SuperLink and
SuperNodes (``flwr run``) as ``docs/federated.md`` describes.
"""

from __future__ import annotations

import logging
import os
import sys
import time

_QUIET_ENV = {"FLWR_TELEMETRY_ENABLED": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0"}


def offline_environment() -> None:
    """Switch off Flower's telemetry and Ray's usage statistics (before and after Flower is imported)."""
    os.environ.update(_QUIET_ENV)
    import flwr.supercore.telemetry as telemetry  # read at its import: set the constant too

    telemetry.FLWR_TELEMETRY_ENABLED = "0"


def backend_config(num_cpus: int, client_num_cpus: float, ray_address: str | None = None) -> dict:
    """Flower's Ray backend configuration: CPUs, no GPUs, no dashboard, quiet logs."""
    # address "local": always a new Ray instance of this process; without it ray.init() joins a cluster another
    # process started on this machine (/tmp/ray/ray_current_cluster) and refuses num_cpus
    init = {"address": "local", "num_cpus": int(num_cpus), "num_gpus": 0, "include_dashboard": False,
            "logging_level": "ERROR", "log_to_driver": False}
    if ray_address:
        init = {"address": ray_address, "logging_level": "ERROR", "log_to_driver": False}
    return {"client_resources": {"num_cpus": float(client_num_cpus), "num_gpus": 0.0}, "init_args": init}


def start_ray(num_cpus: int) -> bool:
    """Start a new local Ray instance for one simulation (see the module docstring); False if one is running.

    Ray's processes inherit this process's ``sys.path`` through ``PYTHONPATH`` (as Flower's ``runtime_env``
    would give them), so the ClientApp's modules import in the actors wherever they come from.
    """
    import ray

    if ray.is_initialized():
        return False
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([*sys.path, *([old] if old else [])])
    try:
        ray.init(**backend_config(num_cpus, 1.0)["init_args"])
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    return True


def simulate(server_app, client_app, num_clients: int, *, num_cpus: int = 2, client_num_cpus: float = 1.0,
             ray_address: str | None = None, verbose: bool = False) -> float:
    """Run a Flower simulation of ``num_clients`` virtual clients on Ray; return its wall time [s].

    Parameters
    ----------
    server_app : flwr.serverapp.ServerApp
    client_app : flwr.clientapp.ClientApp
    num_clients : int
        Virtual SuperNodes; each gets ``partition-id`` 0..num_clients-1 in its ``node_config``.
    num_cpus : int
        CPUs Ray may use.
    client_num_cpus : float
        CPUs reserved per virtual client.
    ray_address : str, optional
        Address of an existing Ray cluster to attach to instead of starting one.
    verbose : bool
        Keep Flower's INFO log (default: critical errors only; client failures go to the ledger).

    Returns
    -------
    float
        Wall time of the simulation, Ray start-up and shut-down included [s].
    """
    offline_environment()
    from flwr.simulation import run_simulation

    logger = logging.getLogger("flwr")
    level = logger.level
    if not verbose:  # a client that raises is logged by Flower with its traceback; the ledger records it
        logger.setLevel(logging.CRITICAL)
    t0 = time.perf_counter()
    started = False
    try:
        started = ray_address is None and start_ray(num_cpus)
        run_simulation(server_app=server_app, client_app=client_app, num_supernodes=int(num_clients),
                       backend_config=backend_config(num_cpus, client_num_cpus, ray_address),
                       verbose_logging=verbose)
    finally:
        logger.setLevel(level)
        if started:  # Flower shuts Ray down when it ends; not if it raised before its backend started
            import ray

            if ray.is_initialized():
                ray.shutdown()
    return time.perf_counter() - t0


__all__ = ["backend_config", "offline_environment", "simulate", "start_ray"]
