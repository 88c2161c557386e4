"""Writing the workbench's own Brightway databases (foreground, scenarios) quietly, and cleaning up after them.

Used by :mod:`workbench.lca.inventory` and :mod:`workbench.lca.footprint`; imports no other module of
:mod:`workbench.lca`. ``bw2data`` is imported inside :func:`write_database`: importing it points
Brightway at a data directory, which only :func:`workbench.lca.project.activate` may choose.

Scenario databases are temporary: a footprint writes one, computes, and deletes it (in a ``finally``).
A process killed in between (``kill -9``, a power cut) cannot delete it, so the name says who made it,
``workbench-scenario-<host>-<pid>-<random>`` (``<host>``: 8 hex digits of the SHA-256 of the host
name), and :func:`sweep_stale_scenarios` (run before every new scenario database is written) deletes
those whose process is gone: on this host, a process id that no longer runs (or this process's own
id on a name it no longer uses); from another host (a shared data directory), or where process ids
cannot be checked (Windows), a database not modified for :data:`STALE_AFTER_S`. Databases kept on
purpose (``keep=True``, CLI ``--keep``) carry ``workbench_kept`` in their metadata and are never swept;
neither is any other database, including scenario databases named by earlier versions
(``workbench-scenario-<random>``), which cannot be told apart from kept ones.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import hashlib
import io
import os
import re
import socket
import sys
import uuid
import warnings

from workbench.errors import StoreError

SCENARIO_DB_PREFIX = "workbench-scenario-"
"""Prefix of the temporary scenario databases."""

STALE_AFTER_S = 24 * 3600.0
"""Age [s] after which a scenario database whose process cannot be checked counts as left behind
(a footprint takes seconds; a long Monte Carlo minutes)."""

KEPT_MARK = "workbench_kept"
"""Metadata key of scenario databases kept on purpose (never swept)."""

_NAME = re.compile(rf"^{re.escape(SCENARIO_DB_PREFIX)}([0-9a-f]{{8}})-(\d+)-[0-9a-f]{{8}}$")

_LIVE: set[str] = set()
"""Scenario databases this process is using now (its own id on any other name means left behind)."""

_STORAGE_ERRNOS = {getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EIO")
                   if hasattr(errno, n)}
_STORAGE_MESSAGES = ("disk is full", "disk i/o error", "readonly database", "read-only", "unable to open",
                     "database is locked", "no space left")


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def new_scenario_name() -> str:
    """A fresh scenario database name, ``workbench-scenario-<host>-<pid>-<random>``, registered as in use.

    Returns
    -------
    str
        The name; :func:`drop_database` (or :func:`mark_kept`) releases it.
    """
    name = f"{SCENARIO_DB_PREFIX}{_host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    _LIVE.add(name)
    return name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # exists under another user, or cannot tell: keep
    return True


def _age_s(meta: dict) -> float | None:
    try:
        modified = datetime.datetime.fromisoformat(str(meta["modified"]))
    except (KeyError, ValueError, TypeError):
        return None
    return (datetime.datetime.now() - modified).total_seconds()  # bw2data writes naive local times


def is_stale(name: str, meta: dict) -> bool:
    """Whether a database is a scenario database left behind by a process that is gone.

    Parameters
    ----------
    name : str
        Database name.
    meta : dict
        Its bw2data metadata (``bw2data.databases[name]``).

    Returns
    -------
    bool
        False for every database not named by :func:`new_scenario_name` and for kept ones.
    """
    match = _NAME.match(name)
    if match is None or meta.get(KEPT_MARK):
        return False
    host, pid = match.group(1), int(match.group(2))
    if host == _host_tag() and os.name == "posix":
        if pid == os.getpid():
            return name not in _LIVE
        return not _pid_alive(pid)
    age = _age_s(meta)
    return age is not None and age > STALE_AFTER_S


def sweep_stale_scenarios(bd) -> list[str]:
    """Delete the scenario databases of the current project whose process is gone (see the module docstring).

    Parameters
    ----------
    bd : module
        ``bw2data``, with the workbench project current.

    Returns
    -------
    list of str
        The names deleted (a database another process deletes at the same time is skipped).
    """
    gone = []
    for name in sorted(bd.databases):
        if is_stale(name, dict(bd.databases[name])) and _delete(bd, name):
            gone.append(name)
    return gone


def _delete(bd, name: str) -> bool:
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")  # bw2data warns (and keeps the metadata) when the delete fails
        if name in bd.databases:
            del bd.databases[name]
    return name not in bd.databases


def release(name: str) -> None:
    """Release a name from :func:`new_scenario_name` under which nothing was written."""
    _LIVE.discard(name)


def drop_database(bd, name: str) -> None:
    """Delete a scenario database and release its name; never raises (a failure leaves it to the next sweep)."""
    _LIVE.discard(name)
    _delete(bd, name)


def mark_kept(bd, name: str) -> None:
    """Keep a scenario database on purpose: it is released and never swept."""
    bd.databases[name][KEPT_MARK] = True
    bd.databases.flush()
    _LIVE.discard(name)


def storage_error(exc: BaseException, what: str, where) -> StoreError | None:
    """A :class:`StoreError` for a full disk, a read-only or locked project; None for any other failure.

    Parameters
    ----------
    exc : BaseException
        What writing raised (``OSError``, or SQLite's ``OperationalError`` through peewee).
    what : str
        What was being written, for the message.
    where : path-like
        The Brightway project directory.
    """
    text = str(exc).lower()
    storage = (isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS) or (
        type(exc).__name__ in ("OperationalError", "DatabaseError") and any(m in text for m in _STORAGE_MESSAGES))
    if not storage:
        return None
    reason = str(exc).strip() or type(exc).__name__
    return StoreError(f"cannot write {what} to the Brightway project in {where}: {reason}. "
                      "Nothing was kept. Fix: free disk space or make the directory writable, or use another "
                      "directory (--lca-dir or $WORKBENCH_LCA_DIR).")


def write_database(name: str, data: dict) -> None:
    """``bw2data.Database(name).write(data)`` without bw2data's progress bar and feedback on stdout.

    bw2data prints a tqdm bar on stderr and its feedback logger writes to the stdout it binds at
    first use; both are captured here (and shown again only if the write fails with an unexpected
    error), so that the CLI's JSON on stdout stays clean.

    Parameters
    ----------
    name : str
        Database name in the current Brightway project (replaced if it exists).
    data : dict
        ``{(database, code): dataset}`` as ``bw2data.Database.write`` takes it (amounts in the units
        the datasets name).

    Raises
    ------
    StoreError
        The disk is full, or the project is read-only or locked (:func:`storage_error`).
    Exception
        Whatever else bw2data raises (e.g. an exchange naming an unknown node); the captured output is
        written to stderr first.
    """
    import bw2data as bd

    captured = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            warnings.simplefilter("ignore")
            bd.Database(name).write(data)
    except Exception as exc:
        err = storage_error(exc, f"the database {name!r}", bd.projects.dir)
        if err is not None:
            raise err from None
        sys.stderr.write(captured.getvalue())
        raise
    except BaseException:
        sys.stderr.write(captured.getvalue())
        raise
