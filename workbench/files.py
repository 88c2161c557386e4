"""Files written all at once and checked when read: the store's integrity, one file at a time.

A file is written beside its destination (or in a scratch directory), flushed, then linked or moved
into place, so a reader never sees half a file (:func:`write_file_atomic`, :func:`write_parquet_atomic`).
Parquet files carry page checksums, and a file may carry the first :data:`HASH_DIGITS` hex digits
of its SHA-256 in its name (``<stem>.<sha>.parquet``); :func:`file_problem` checks a file against its
hash, or decodes an unhashed one in full, before anyone reads it.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import uuid
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.errors import StoreError


def read_user_file(path: str | os.PathLike, what: str, error: type[Exception], *, fix: str,
                   suffix: str | None = None) -> bytes:
    """The bytes of a file a user named, or one ``error`` saying why not: a directory, no such file, unreadable.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the file is, for messages (e.g. ``"scenario file"``).
    error : exception class
        The error to raise (built from one message string), e.g. the reader's own :class:`WorkbenchError`.
    fix : str
        How to fix a missing file (after ``Fix:``).
    suffix : str, optional
        A directory's files with this suffix are named in its message (``".toml"``).

    Raises
    ------
    error
        ``path`` is a directory, does not exist, or cannot be read (permissions).
    """
    path = Path(path)
    if path.is_dir():
        examples = sorted(p.name for p in path.glob(f"*{suffix}"))[:3] if suffix else []
        hint = f" (it holds {', '.join(examples)})" if examples else ""
        raise error(f"{what} path {path} is a directory, not a file. Fix: give the path of one {what}{hint}.")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} {path}: no such file. Fix: {fix}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}. Fix: check the path and its "
                    "permissions.") from None


def write_file_atomic(path: str | os.PathLike, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` all at once: a temporary file beside it, flushed, then moved into place.

    A reader never sees half a file, and a failure (full disk, killed process) leaves ``path`` as it
    was. An existing file is replaced only with ``overwrite=True``.

    Parameters
    ----------
    path : str or Path
        The file to write.
    data : bytes
        Its whole content.
    overwrite : bool
        Replace an existing file (default: refuse).

    Returns
    -------
    Path

    Raises
    ------
    StoreError
        ``path`` exists (without ``overwrite``), its directory is missing or read-only, or the disk is full.
    """
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path} is a directory. Fix: give a file name, e.g. {path / 'runs.parquet'}.")
    if path.exists() and not path.is_file():
        raise StoreError(f"{path} is not a regular file (a device, a socket, ...); nothing was written. "
                         "Fix: give the path of a file to create.")
    if path.exists() and not overwrite:
        raise StoreError(f"{path} already exists; nothing was written. Fix: choose another file name, or "
                         "pass --overwrite to replace it.")
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if `path` appeared meanwhile: never overwrite
            except FileExistsError:
                raise StoreError(f"{path} already exists; nothing was written. Fix: choose another file "
                                 "name, or pass --overwrite to replace it.") from None
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}. Fix: check that its directory exists, "
                         "is writable and has free space, or choose another path.") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


HASH_DIGITS = 16
"""Hex digits of a run file's SHA-256 kept in its name (64 bits: a corruption check, not a signature)."""


HASHED_NAME = re.compile(r"^(?P<stem>[^.]+)\.(?P<sha>[0-9a-f]{%d})\.parquet$" % HASH_DIGITS)


_VERIFIED: dict[tuple[str, int, int], None] = {}
"""Files this process has already checked, keyed by (path, size, mtime): store files are never
rewritten, so a file with the same key holds the same bytes."""


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_problem(path: Path, expected: set[str], want_sha: str | None = None) -> str | None:
    """Why ``path`` cannot be used (unreadable, a hash, checksum or decoding failure, missing columns), or None.

    A file whose name or run records its SHA-256 is checked against it; any other (written before
    hashes were recorded) is decoded in full by both pyarrow (page checksums verified) and polars,
    so damage fails here, named, instead of surfacing later as a parser error or a changed value.
    """
    try:
        st = path.stat()
    except OSError as exc:
        return exc.strerror or str(exc)
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key in _VERIFIED:
        return None
    m = HASHED_NAME.match(path.name)
    want = m.group("sha") if m else want_sha
    try:
        if want:
            got = sha256_file(path)
            if not got.startswith(want):
                return (f"content hash {got[:HASH_DIGITS]} differs from the recorded {want[:HASH_DIGITS]} "
                        "(the file changed after it was written)")
        names = set(pq.read_schema(path).names)
        if not expected <= names:
            return f"missing columns {sorted(expected - names)}"
        if not want:
            pq.read_table(path, page_checksum_verification=True)
            pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow and polars raise ArrowInvalid, OSError, ComputeError, ...
        return (str(exc).splitlines() or [type(exc).__name__])[0]
    except BaseException as exc:  # a Rust panic in a parser surfaces as pyo3's PanicException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return f"the Parquet reader failed ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0]})"
    _VERIFIED[key] = None
    return None


def write_parquet_atomic(table: pa.Table, final: Path, scratch: Path, *, hashed: bool = False) -> tuple[Path, str]:
    """Write ``table`` as Parquet (zstd, statistics, page checksums) to ``final``, never replacing a file.

    Parameters
    ----------
    table : pyarrow.Table
        The content, its schema metadata included.
    final : Path
        Destination; with ``hashed``, the name gains ``.<sha>`` before its suffix.
    scratch : Path
        Directory for the temporary file (on the same file system as ``final``); temporary names
        start with the writer's pid so that a later writer can remove what a dead one left.
    hashed : bool
        Put the first :data:`HASH_DIGITS` hex digits of the file's SHA-256 in its name.

    Returns
    -------
    (Path, str)
        The path written and the file's full SHA-256.

    Raises
    ------
    StoreError
        ``final`` exists, or the file cannot be written (full disk, read-only directory); nothing
        is left under ``final`` then.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    tmp = scratch / f"{os.getpid()}-{uuid.uuid4().hex}.parquet"
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh, compression="zstd", write_statistics=True, write_page_checksum=True)
            fh.flush()
            os.fsync(fh.fileno())
        sha = sha256_file(tmp)
        if hashed:
            final = final.with_name(f"{final.stem}.{sha[:HASH_DIGITS]}{final.suffix}")
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(tmp, final)  # fails if `final` exists: never overwrite
        except FileExistsError:
            raise StoreError(f"{final} already exists; the store never overwrites a run.") from None
    except OSError as exc:  # a full disk, a directory made read-only meanwhile, ...
        raise StoreError(f"cannot write {final.name} into {final.parent}: {exc.strerror or exc}; "
                         "nothing was stored. Fix: free disk space or choose another --store directory.") from None
    finally:
        tmp.unlink(missing_ok=True)
    try:  # make the new directory entry durable
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    return final, sha


def json_safe(obj):
    """``obj`` (dicts, lists, tuples and scalars) with every NaN or infinite float as None, for JSON, which has
    no such numbers (``json.dumps(..., allow_nan=False)`` then succeeds; Vega and readers see ``null``)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj
