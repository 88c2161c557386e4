"""Profiling campaigns across a device fleet on Ray: each node measures on itself, the driver writes the store.

A fleet is a Ray cluster whose nodes carry a custom resource naming their device, given when the node
joins (``ray start --address=HEAD:6379 --resources='{"device:raspberry-pi-5": 1}'``; ``docs/cluster.md``).
:func:`profile_fleet` sends one task per (device resource, model) through
:func:`workbench.execution.map_tasks`; a task asks for one unit of its device resource, so a node with
``{"device:...": 1}`` profiles one model at a time and profiling tasks never share a device.

On the node, :func:`profile_on_node` runs :func:`workbench.measure.profiler.profile` into a node-local
temporary store (so that the per-layer breakdown travels with the rows) and sends rows and layers back as
Arrow tables, with the node's id and host name. The rows carry the node's own device, energy meter and
software versions, as if ``workbench profile`` had run there. Only the driver writes the store: the rows of
every task that finished, in one :meth:`~workbench.store.Store.append` (one file, written atomically, under
one ``run_id`` for the campaign), after the last task is back. A node that dies mid-task has the task re-run
on another node with the same resource (Ray's ``max_retries``), or, when none joins within
``lost_after_s``, the task is reported failed; its rows are never half-written, and
:meth:`FleetRun.summary` says what ran where.

Each row's ``config_json`` gains ``fleet``: ``{"resource", "node_id", "hostname"}``.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from workbench.errors import ParameterError
from workbench.execution import TaskFailure, map_tasks
from workbench.store import Store, new_run_id

RESOURCE_PREFIX = "device:"
"""Custom Ray resources that name a device start with this (``device:raspberry-pi-5``)."""


def resource_name(device: str) -> str:
    """``device:<name>`` for a bare device name; a name with a ``:`` is returned as it is.

    Raises
    ------
    ParameterError
        An empty name.
    """
    device = str(device).strip()
    if not device or device == RESOURCE_PREFIX:
        raise ParameterError("empty device resource. Fix: --on device:raspberry-pi-5 (the resource the node was "
                             "started with: ray start --resources='{\"device:raspberry-pi-5\": 1}').")
    return device if ":" in device else RESOURCE_PREFIX + device


@dataclass(frozen=True)
class FleetTask:
    """One profiling task: ``model`` on a node that carries ``resource`` (pickled to the node)."""

    resource: str
    model: str
    settings: object = None
    """:class:`~workbench.measure.profiler.ProfileSettings` (None: the profiler's defaults)."""
    meter: str = "auto"
    """Energy meter backend, chosen on the node (``auto`` picks what that node has)."""


@dataclass(frozen=True)
class TaskOutcome:
    """What became of one :class:`FleetTask`."""

    resource: str
    model: str
    status: str
    """``ok`` or ``failed``."""
    node_id: str | None = None
    """Ray node id of the node whose rows were kept (None when failed)."""
    hostname: str | None = None
    rows: int = 0
    seconds: float | None = None
    """Wall time of the task on its node [s]."""
    error: str | None = None


@dataclass(frozen=True)
class FleetRun:
    """The result of :func:`profile_fleet`."""

    rows: pl.DataFrame
    """Every row that ran (schema columns), as written to the store."""
    outcomes: tuple[TaskOutcome, ...]
    run_id: str
    path: Path | None = None
    """The run file written (None: no store, or no task finished)."""
    layers: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def failed(self) -> tuple[TaskOutcome, ...]:
        """The outcomes of the tasks that did not finish (their rows are not in :attr:`rows`)."""
        return tuple(o for o in self.outcomes if o.status != "ok")

    def summary(self) -> pl.DataFrame:
        """One row per task: ``resource``, ``model``, ``status``, ``node_id``, ``hostname``, ``rows``,
        ``seconds`` [s], ``error``."""
        cols = ("resource", "model", "status", "node_id", "hostname", "rows", "seconds", "error")
        return pl.DataFrame([{c: getattr(o, c) for c in cols} for o in self.outcomes],
                            schema={"resource": pl.String, "model": pl.String, "status": pl.String,
                                    "node_id": pl.String, "hostname": pl.String, "rows": pl.Int64,
                                    "seconds": pl.Float64, "error": pl.String})


def _node_identity() -> tuple[str | None, str]:
    node_id = None
    try:
        import ray

        if ray.is_initialized():
            node_id = ray.get_runtime_context().get_node_id()
    except ImportError:  # pragma: no cover - ray is a dependency; a bare node without it still profiles
        pass
    return node_id, socket.gethostname()


def node_threads() -> int:
    """Intra-op threads for a profile on this node with ``threads=None``: its physical cores (torch's default).

    Ray sets ``OMP_NUM_THREADS`` to a task's CPU reservation in its workers, so torch's own default there
    would be 1; the fleet measures with what ``workbench profile`` on the node itself would use instead.
    """
    try:
        import psutil

        n = psutil.cpu_count(logical=False)
    except ImportError:  # pragma: no cover
        n = None
    return int(n or os.cpu_count() or 1)


def profile_on_node(task: FleetTask) -> dict:
    """Profile ``task.model`` on this machine into a temporary store; return its rows, layers and where it ran.

    Parameters
    ----------
    task : FleetTask

    Returns
    -------
    dict
        ``rows`` and ``layers`` (pyarrow Tables; ``layers`` None without a breakdown), ``node_id``,
        ``hostname`` and ``seconds`` [s].
    """
    from workbench.measure.profiler import ProfileSettings, profile

    settings = task.settings or ProfileSettings()
    if settings.threads is None:
        settings = replace(settings, threads=node_threads())
    node_id, hostname = _node_identity()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="workbench-fleet-") as tmp:
        local = Store(Path(tmp) / "runs")
        profile([task.model], settings=settings, meter=task.meter, store=local)
        rows, layers = local.read(), local.read_layers()
    return {"rows": rows.to_arrow(), "layers": layers.to_arrow() if layers.height else None, "node_id": node_id,
            "hostname": hostname, "seconds": time.perf_counter() - t0}


def _tagged(rows: pl.DataFrame, resource: str, node_id, hostname) -> pl.DataFrame:
    where = {"resource": resource, "node_id": node_id, "hostname": hostname}
    configs = [json.dumps({**json.loads(c or "{}"), "fleet": where}, sort_keys=True) for c in rows["config_json"]]
    return rows.with_columns(pl.Series("config_json", configs, dtype=pl.String))


def profile_fleet(models, on, *, address: str | None = None, settings=None, meter: str = "auto",
                  store: Store | str | os.PathLike | None = None, retries: int = 2, timeout_s: float | None = None,
                  lost_after_s: float = 60.0, task: Callable = profile_on_node) -> FleetRun:
    """Profile ``models`` on every device resource of ``on``, each on a node that carries it; store the rows.

    Parameters
    ----------
    models : str or list of str
        Zoo model names (checked here before anything is sent).
    on : str or list of str
        Device resources (``device:raspberry-pi-5``; a bare ``raspberry-pi-5`` gets the prefix).
    address : str, optional
        Ray head (``host:6379``, ``auto``; see :func:`workbench.execution.ray_session`). None: a connection
        already open, else a local Ray instance (which carries no device resource).
    settings : ProfileSettings, optional
        As for :func:`~workbench.measure.profiler.profile`; ``threads=None`` means the node's physical cores.
    meter : str
        Energy meter backend, resolved on each node.
    store : Store or path, optional
        Where the driver appends the campaign (one run file); checked writable before anything is sent.
    retries : int
        Re-runs of a task whose node or worker died.
    timeout_s : float, optional
        A task not back this long after submission is cancelled and reported failed [s].
    lost_after_s : float
        A task whose device resource no alive node has carried for this long is reported failed [s].
    task : callable
        What a node runs for one :class:`FleetTask` (default :func:`profile_on_node`; same return value).

    Returns
    -------
    FleetRun
        The rows of the tasks that finished (written to ``store``) and one outcome per task.

    Raises
    ------
    UnknownNameError, ParameterError, StoreError
        Unknown model, bad settings, empty ``on``, unwritable store (nothing sent).
    ClusterError
        The head does not answer, a Ray version mismatch, or a resource no node carries (nothing sent).
    """
    from workbench.measure import zoo

    models = [models] if isinstance(models, str) else list(models)
    on = [on] if isinstance(on, str) else list(on)
    if not models or not on:
        raise ParameterError("a fleet campaign needs at least one model and one device resource. Fix: --model "
                             "lenet --on device:raspberry-pi-5.")
    for m in models:
        zoo.resolve(m)
    resources = list(dict.fromkeys(resource_name(r) for r in on))
    if isinstance(store, (str, os.PathLike)):
        store = Store(store)
    if store is not None:
        store.check_writable()
    tasks = [FleetTask(r, m, settings, meter) for r in resources for m in models]
    results = map_tasks(task, tasks, backend="ray", address=address, resources=[{t.resource: 1} for t in tasks],
                        retries=retries, timeout_s=timeout_s, lost_after_s=lost_after_s, errors="return")
    run_id = new_run_id()
    frames, layer_frames, outcomes = [], [], []
    for t, res in zip(tasks, results, strict=True):
        if isinstance(res, TaskFailure):
            outcomes.append(TaskOutcome(t.resource, t.model, "failed", error=f"{res.kind}: {res.error}"))
            continue
        rows = pl.from_arrow(res["rows"]).with_columns(run_id=pl.lit(run_id))
        frames.append(_tagged(rows, t.resource, res["node_id"], res["hostname"]))
        if res["layers"] is not None:
            layer_frames.append(pl.from_arrow(res["layers"]))
        outcomes.append(TaskOutcome(t.resource, t.model, "ok", res["node_id"], res["hostname"], rows.height,
                                    float(res["seconds"])))
    rows = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    layers = pl.concat(layer_frames, how="diagonal_relaxed") if layer_frames else pl.DataFrame()
    path = None
    if store is not None and rows.height:
        path = store.append(rows, layers=layers if layers.height else None)
    return FleetRun(rows, tuple(outcomes), run_id, path, layers)
