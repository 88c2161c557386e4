"""One small execution interface: map a function over items serially, on local processes or on Ray.

Every embarrassingly parallel loop of the workbench (leave-one-family-out folds, forecast draws of the
time-shifting benchmark, adaptive policies, fleet profiling campaigns) goes through :func:`map_tasks`, so
that no room imports Ray or joblib itself. Three backends:

- ``"serial"``: a plain loop in this process (the reference);
- ``"processes"``: joblib's loky processes on this machine (``n_jobs``, ``-1``: one per core);
- ``"ray"``: Ray tasks, on the cluster at ``address`` (``ray start --head`` on a server, nodes joined with
  ``ray start --address=...``) or on a local Ray instance of ``n_jobs`` CPUs. A task can ask for
  custom resources (``{"device:raspberry-pi-5": 1}``: only nodes started with that resource run it) and is
  retried ``retries`` times if its worker or node dies.

Results come back in the order of ``items`` whatever the backend, and they are identical bit for bit
when ``fn`` is deterministic in its item (seed any random number generator from the item, never from
global state or the worker: ``numpy.random.default_rng(item_seed)``). Only what ``fn`` returns comes back:
an item mutated inside a worker is a copy.

Ray and joblib are imported inside the functions that use them, so importing this module stays cheap.
Ray's usage statistics (sent over the network) are switched off before Ray starts
(``RAY_USAGE_STATS_ENABLED=0``) unless the environment says otherwise.

See ``docs/cluster.md`` for a head, a Raspberry Pi and a Jetson joined into one cluster.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from workbench.errors import ClusterError, ParameterError

BACKENDS = ("serial", "processes", "ray")
"""Where :func:`map_tasks` runs the tasks."""

ERROR_MODES = ("raise", "return")
"""What :func:`map_tasks` does with a failed task: raise its error, or return a :class:`TaskFailure` in its place."""

CONNECT_TIMEOUT_S = 10.0
"""How long :func:`ray_session` waits for a Ray head to accept a TCP connection [s]."""


@dataclass(frozen=True)
class TaskFailure:
    """A task that did not return, in place of its result (``errors="return"``).

    Attributes
    ----------
    index : int
        Position of its item in ``items``.
    kind : str
        ``"exception"`` (``fn`` raised), ``"lost"`` (its worker or node died more often than ``retries``
        allowed) or ``"timeout"`` (not finished within ``timeout_s``; e.g. no alive node carries its resources).
    error : str
        One line: the exception's type and message.
    """

    index: int
    kind: str
    error: str


def check_backend(backend: str) -> str:
    """``backend`` if it is one of :data:`BACKENDS`.

    Raises
    ------
    ParameterError
        Another value.
    """
    if backend not in BACKENDS:
        raise ParameterError(f"execution backend {backend!r} is not one of {list(BACKENDS)}. Fix: serial (one "
                             "process), processes (joblib on this machine) or ray (a Ray cluster or a local one).")
    return backend


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _call(fn: Callable, index: int, item: Any, catch: bool):
    """Run one task; with ``catch``, an exception becomes a :class:`TaskFailure` (module level: picklable)."""
    if not catch:
        return fn(item)
    try:
        return fn(item)
    except Exception as exc:  # noqa: BLE001 - every failure of a task is reported in its place
        return TaskFailure(index, "exception", _one_line(exc))


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``host:port`` or ``ray://host:port``; None for ``auto``/``local`` (Ray resolves those)."""
    bare = address.split("://", 1)[-1]
    if address in ("auto", "local") or ":" not in bare:
        return None
    host, _, port = bare.rpartition(":")
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise ParameterError(f"Ray address {address!r} has no port number. Fix: give host:port, e.g. "
                             "192.168.1.10:6379 (what `ray start --head` printed), or auto.") from None


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast if nothing accepts a TCP connection at ``address`` (Ray itself retries for minutes).

    Raises
    ------
    ClusterError
        No answer within ``timeout_s`` [s].
    """
    hp = _host_port(address)
    if hp is None:
        return
    try:
        with socket.create_connection(hp, timeout=timeout_s):
            pass
    except OSError as exc:
        raise ClusterError(f"no Ray head answers at {address} within {timeout_s:g} s ({exc.strerror or exc}); nothing "
                           "was run or written. Fix: start one there with `ray start --head --port=6379`, check the "
                           "address and the firewall, or leave the address out to run on a local Ray.") from None


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None,
                connect_timeout_s: float = CONNECT_TIMEOUT_S) -> Iterator[None]:
    """Be connected to Ray inside the block: reuse a connection already open, else open one and close it after.

    Parameters
    ----------
    address : str, optional
        ``host:port`` of a Ray head (``ray start --head``), ``ray://host:10001`` or ``auto`` (the cluster
        this machine joined). None: a local Ray instance of ``num_cpus`` CPUs, no dashboard.
    num_cpus : int, optional
        CPUs of the local instance (default: every core); ignored with an ``address``.
    connect_timeout_s : float
        How long the head has to accept a connection [s].

    Raises
    ------
    ClusterError
        The head does not answer, or runs another Ray (or Python) version than this process.
    """
    import ray

    if ray.is_initialized():
        yield
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
    if address:
        check_reachable(address, connect_timeout_s)
        kwargs["address"] = address
    else:
        kwargs["num_cpus"] = num_cpus or os.cpu_count() or 1
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError) as exc:
        what = "a Ray version mismatch" if "ersion mismatch" in str(exc) else "Ray refused the connection"
        fix = ("install the same Ray and Python on every node (pyproject.toml pins ray; Python down to the patch "
               "version, or export RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL=minor on every node and here)"
               if "ersion" in str(exc)
               else "check the address (what `ray start --head` printed), or start the head")
        raise ClusterError(f"{what} at {address or 'a local instance'}: {_one_line(exc)}. Fix: {fix}.") from None
    try:
        yield
    finally:
        ray.shutdown()


def cluster_resources() -> dict[str, float]:
    """Resources of the alive nodes of the connected Ray cluster, summed (``CPU``, ``device:...``, ...)."""
    import ray

    return {k: float(v) for k, v in ray.cluster_resources().items()}


def check_resources(resources: dict[str, float]) -> None:
    """Fail if no alive node of the connected cluster carries one of ``resources``.

    Raises
    ------
    ClusterError
        A resource the cluster lacks (the message lists the custom ones it has).
    """
    have = cluster_resources()
    missing = sorted(k for k, v in resources.items() if have.get(k, 0.0) < v)
    if missing:
        custom = sorted(k for k in have if ":" in k and not k.startswith(("node:", "accelerator_type:")))
        raise ClusterError(f"no node of the cluster carries {missing}; its nodes carry {custom or 'no custom resource'}"
                           f" (CPU: {have.get('CPU', 0):g}). Fix: join a node with that resource (ray start "
                           f"--address=HEAD --resources='{{\"{missing[0]}\": 1}}'), or ask for one of those.")


def _check(items, resources, n_jobs, retries, timeout_s, lost_after_s, errors):
    if errors not in ERROR_MODES:
        raise ParameterError(f"errors={errors!r} is not one of {list(ERROR_MODES)}.")
    if n_jobs is not None and (not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0):
        raise ParameterError(f"n_jobs must be a non-zero integer (-1: one per core) or None, got {n_jobs!r}.")
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ParameterError(f"retries must be an integer >= 0, got {retries!r}.")
    if timeout_s is not None and not timeout_s > 0:
        raise ParameterError(f"timeout_s must be > 0 [s] or None, got {timeout_s!r}.")
    if not lost_after_s > 0:
        raise ParameterError(f"lost_after_s must be > 0 [s], got {lost_after_s!r}.")
    if resources is None or isinstance(resources, dict):
        return [resources or {}] * len(items)
    resources = list(resources)
    if len(resources) != len(items):
        raise ParameterError(f"resources: give one dict for all tasks or one per item; got {len(resources)} for "
                             f"{len(items)} items.")
    return [r or {} for r in resources]


def map_tasks(fn: Callable, items: Sequence, *, backend: str = "serial", n_jobs: int | None = None,
              address: str | None = None, resources: dict | Sequence[dict] | None = None, num_cpus: float = 1.0,
              retries: int = 3, timeout_s: float | None = None, lost_after_s: float = 60.0,
              errors: str = "raise") -> list:
    """``[fn(item) for item in items]``, run serially, on local processes or on Ray; input order kept.

    Parameters
    ----------
    fn : callable
        One argument, the item. Picklable for ``processes`` and ``ray`` (a module-level function, or a
        ``functools.partial`` of one); deterministic in its item for results that do not depend on the backend.
    items : sequence
        One task per item (each pickled to its worker).
    backend : {"serial", "processes", "ray"}
    n_jobs : int, optional
        Parallel workers: joblib's ``n_jobs`` (None or -1: one per core) for ``processes``; the CPUs of the
        local Ray instance for ``ray`` without an ``address``. Ignored by ``serial``.
    address : str, optional
        Ray head (``ray`` only; see :func:`ray_session`). A connection already open is reused.
    resources : dict or sequence of dict, optional
        Ray custom resources each task needs (``{"device:jetson-orin-nano": 1}``), one dict for all or one
        per item (``ray`` only; checked against the cluster before anything is sent).
    num_cpus : float
        CPUs each Ray task reserves [1].
    retries : int
        Ray re-runs a task whose worker or node died up to this many times, on any node with the resources
        (an exception raised by ``fn`` is not retried).
    timeout_s : float, optional
        Ray: tasks not finished this long after submission are cancelled and fail as ``"timeout"`` [s].
    lost_after_s : float
        Ray: a task whose resources no alive node has carried for this long (its node died and no other
        carries them) is cancelled and fails as ``"lost"`` [s]; a node that joins in time runs it instead.
    errors : {"raise", "return"}
        ``"raise"``: the first failed task (in input order) raises. ``"return"``: a :class:`TaskFailure`
        stands in its place, the other results are kept.

    Returns
    -------
    list
        One result per item, in the order of ``items``.

    Raises
    ------
    ParameterError
        Unknown backend or error mode, bad ``n_jobs``, ``retries``, ``timeout_s`` or ``resources``.
    ClusterError
        Ray: the head does not answer, a resource no node carries, a version mismatch, or (``errors="raise"``)
        a task lost or timed out. With ``errors="raise"`` an exception of ``fn`` is raised as it is.

    Examples
    --------
    >>> from workbench.execution import map_tasks
    >>> map_tasks(abs, [-2, 3, -5], backend="serial")
    [2, 3, 5]
    """
    check_backend(backend)
    items = list(items)
    per_item = _check(items, resources, n_jobs, retries, timeout_s, lost_after_s, errors)
    catch = errors == "return"
    if not items:
        return []
    if backend == "serial":
        return [_call(fn, i, item, catch) for i, item in enumerate(items)]
    if backend == "processes":
        from joblib import Parallel, delayed

        return Parallel(n_jobs=n_jobs or -1)(delayed(_call)(fn, i, item, catch) for i, item in enumerate(items))
    with ray_session(address, num_cpus=n_jobs if n_jobs and n_jobs > 0 else None):
        return _map_ray(fn, items, per_item, num_cpus, retries, timeout_s, lost_after_s, catch)


def _map_ray(fn, items, per_item, num_cpus, retries, timeout_s, lost_after_s, catch) -> list:
    import ray

    wanted: dict[str, float] = {}
    for r in per_item:
        for k, v in r.items():
            wanted[k] = max(wanted.get(k, 0.0), float(v))
    check_resources({"CPU": float(num_cpus), **wanted} if num_cpus else wanted)
    remote = ray.remote(_call)
    fn_ref = ray.put(fn)
    refs = [remote.options(num_cpus=num_cpus, resources=per_item[i] or None, max_retries=retries,
                           retry_exceptions=False).remote(fn_ref, i, item, catch)
            for i, item in enumerate(items)]
    failures = _wait(refs, per_item, num_cpus, timeout_s, lost_after_s)
    out = []
    for i, ref in enumerate(refs):
        failure = failures.get(i)
        if failure is None:
            try:
                out.append(ray.get(ref))
                continue
            except ray.exceptions.RayTaskError as exc:  # fn raised (only without catch)
                cause = getattr(exc, "cause", None)
                if isinstance(cause, Exception):
                    raise cause from None
                raise ClusterError(f"task {i} failed: {_one_line(exc)}") from None
            except ray.exceptions.RayError as exc:
                failure = TaskFailure(i, "lost", f"{_one_line(exc)[:300]} (after {retries} retries)")
        if not catch:
            for other in refs[i + 1:]:
                ray.cancel(other, force=True)
            raise ClusterError(f"task {i} of {len(items)} failed ({failure.kind}): {failure.error}. Fix: check the "
                               "nodes (`ray status`), raise retries or timeout_s, or pass errors='return'.")
        out.append(failure)
    return out


def _wait(refs, per_item, num_cpus, timeout_s, lost_after_s) -> dict[int, TaskFailure]:
    """Wait for ``refs``; cancel those past ``timeout_s`` or whose resources no alive node has carried for
    ``lost_after_s`` (a task waiting for a node that died would wait for ever); return their failures."""
    import ray

    index = {ref: i for i, ref in enumerate(refs)}
    pending, failures, orphan_since = list(refs), {}, {}
    t0 = time.monotonic()
    while pending:
        poll_s = 1.0 if timeout_s is None else max(0.0, min(1.0, t0 + timeout_s - time.monotonic()))
        _, pending = ray.wait(pending, num_returns=len(pending), timeout=poll_s)
        if not pending:
            break
        now = time.monotonic()
        have = cluster_resources()
        for ref in list(pending):
            i = index[ref]
            need = per_item[i] or {"CPU": num_cpus}
            gone = sorted(k for k, v in need.items() if have.get(k, 0.0) < v)
            if gone:
                orphan_since.setdefault(ref, now)
            else:
                orphan_since.pop(ref, None)
            if gone and now - orphan_since[ref] >= lost_after_s:
                failures[i] = TaskFailure(i, "lost", f"no alive node has carried {gone} for {lost_after_s:g} s (its "
                                                     "node died?); the task was cancelled")
            elif timeout_s is not None and now - t0 >= timeout_s:
                failures[i] = TaskFailure(i, "timeout", f"not finished within {timeout_s:g} s (resources {need})")
            else:
                continue
            ray.cancel(ref, force=True)
            pending.remove(ref)
    return failures


def median_task_overhead_ms(backend: str = "ray", *, tasks: int = 50, address: str | None = None) -> float:
    """Median wall time of one no-op task sent through :func:`map_tasks` and back [ms] (one task at a time).

    Parameters
    ----------
    backend : str
        See :data:`BACKENDS`.
    tasks : int
        Tasks timed (one warm-up task first).
    address : str, optional
        Ray head (default: a local instance, started once for all the tasks).
    """
    times = []
    with ray_session(address) if backend == "ray" else _nothing():
        map_tasks(abs, [0], backend=backend)
        for k in range(tasks):
            t0 = time.perf_counter()
            map_tasks(abs, [k], backend=backend)
            times.append(time.perf_counter() - t0)
    times.sort()
    return 1e3 * times[len(times) // 2]


@contextmanager
def _nothing() -> Iterator[None]:
    yield
