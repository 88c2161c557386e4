"""Folders of a render: swap a finished report in atomically, lock a report name, clean stale renders.

Used by :mod:`workbench.reports.render`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import re
import shutil
import sys
import uuid
from pathlib import Path

from workbench.errors import ParameterError


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(new: Path, final: Path) -> None:
    """Make folder ``new`` become ``final``, replacing an existing ``final`` atomically where the
    OS allows (Linux); elsewhere the old folder is renamed aside first, then removed."""
    new, final = Path(new), Path(final)
    if not final.exists():
        os.rename(new, final)
        return
    if _exchange(new, final):
        shutil.rmtree(new)  # now holds the previous report
        return
    aside = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(final, aside)
    os.rename(new, final)
    shutil.rmtree(aside)


@contextlib.contextmanager
def lock(reports_dir: Path, name: str):
    """Hold the lock of report ``name`` (``reports_dir/.NAME.lock``) while the block runs.

    Raises
    ------
    ParameterError
        Another process renders the same report.
    """
    path = reports_dir / f".{name}.lock"
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ParameterError(f"report {name!r} is being rendered by another process (lock {path}). "
                                 "Fix: wait for it, or render under another --name.") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def clean_stale(reports_dir: Path, name: str) -> None:
    """Remove render folders of ``name`` (``.NAME.tmp-PID-*``) whose writing process no longer runs."""
    for d in reports_dir.glob(f".{name}.tmp-*"):
        m = re.match(rf"^\.{re.escape(name)}\.tmp-(\d+)-", d.name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
            continue  # its writer still runs
        except PermissionError:
            continue  # alive, owned by someone else
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)


