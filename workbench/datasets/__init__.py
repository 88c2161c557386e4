"""Importers that bring public measurement datasets (and users' codecarbon logs) into the schema.

One module per dataset; each normalises its file into measurement rows with ``source`` = dataset
name and version, units converted at the edge (:mod:`workbench.units`) and an honest
``energy_method``/``energy_scope``:

=================  ==========================================================  ======================
kind               input                                                       energy
=================  ==========================================================  ======================
mlperf-tiny        MLPerf Tiny results summary CSV                             dataset, inference/stream
mlperf-inference   MLPerf Inference summary CSV (v4.1/v5.1 converted JSON)     dataset where power given
ml-energy          ML.ENERGY leaderboard CSVs (v1 2023, v2 2024, v3 2026)      dataset, request/token
nn-meter           nn-Meter model latency CSV (wide: mean/std per device)      none
codecarbon         codecarbon ``emissions.csv`` of users' tracked runs         dataset, run
=================  ==========================================================  ======================

:func:`load` returns the validated rows (and warns with :class:`DatasetNote` about rows skipped,
repeats collapsed or columns ignored); :func:`read_files` returns them with those notes;
:func:`workbench.datasets.public.load_public_data` reads every dataset a public datasets folder
holds (and says which were skipped); :func:`import_file` writes them to a store, each result once.

Row identity: every row's ``measurement_id`` is derived from its content (the dataset kind, its
version and the source fields that identify one result; :mod:`workbench.datasets._common`), so the
same result gets the same id whatever the file's bytes (row order, CRLF, whitespace, trailing
newlines). An import adds only rows whose id is not yet in the store; a file repeating one result
with identical values imports it once (a note says so), with other values is an error naming both
lines. Imports into one store are serialised by the store's ``"import"`` lock (:meth:`Store.lock`).

A file with any malformed row raises :class:`~workbench.errors.ImportFormatError` listing the rows
by line number, and nothing is written (all-or-nothing); so does a file that is empty, binary,
UTF-16, JSON, separated by ``;`` or tabs, truncated, header-only, or of another KIND (named).

Examples
--------
>>> from workbench import datasets
>>> sorted(datasets.KINDS)
['codecarbon', 'ml-energy', 'mlperf-inference', 'mlperf-tiny', 'nn-meter']
"""

from __future__ import annotations

import importlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench import schema
from workbench.datasets._common import ImportContext
from workbench.datasets._csv import MissingColumnsError
from workbench.errors import ImportFormatError, UnknownNameError
from workbench.files import sha256_file
from workbench.store import Store

KINDS: dict[str, str] = {
    "mlperf-tiny": "workbench.datasets.mlperf_tiny",
    "mlperf-inference": "workbench.datasets.mlperf_inference",
    "ml-energy": "workbench.datasets.ml_energy",
    "nn-meter": "workbench.datasets.nn_meter",
    "codecarbon": "workbench.datasets.codecarbon_emissions",
}
"""Dataset kind → importer module (each has ``KIND``, ``SOURCE``, ``FILE_NAMES`` and ``read(path, ctx)``)."""


_CONTENT_COLUMNS = [c for c in schema.COLUMN_NAMES if c not in ("measurement_id", "run_id", "timestamp_utc",
                                                                 "input_sha256")]
"""Columns compared to recognise rows stored under a legacy id (everything but the per-import fields)."""


class DatasetNote(UserWarning):
    """Something :func:`load` did that is not an error but must not pass silently: rows without a
    measurement skipped, identical repeats collapsed, unknown columns ignored, new benchmark codes."""


def importer_module(kind: str):
    """The importer module of dataset ``kind`` (its ``KIND``, ``SOURCE``, ``FILE_NAMES``, ``read``).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.

    Returns
    -------
    module

    Raises
    ------
    UnknownNameError
        Unknown ``kind`` (the message lists the kinds).
    """
    if kind not in KINDS:
        raise UnknownNameError("dataset kind", kind, KINDS, "`workbench import --help`")
    return importlib.import_module(KINDS[kind])


def files_for(kind: str, path) -> list[Path]:
    """The input files ``path`` stands for: itself if a file, else the kind's known files in the directory.

    Raises
    ------
    ImportFormatError
        The path does not exist, is not a regular file or directory, or a directory holds none of the
        kind's files.
    """
    mod = importer_module(kind)
    p = Path(path)
    if p.is_file():
        return [p]
    if p.is_dir():
        found = [p / n for n in mod.FILE_NAMES if (p / n).is_file()]
        if not found:
            raise ImportFormatError(
                f"directory {p} holds none of the files of dataset kind {kind!r} ({list(mod.FILE_NAMES)}). "
                "Fix: pass the file itself, or the directory that holds it."
            )
        return found
    if p.exists():
        raise ImportFormatError(f"input {p} is neither a regular file nor a directory. Fix: pass the dataset file.")
    raise ImportFormatError(f"input {p} does not exist. Fix: pass the path of the dataset file.")


def _fits(kind: str, columns: list[str]) -> bool:
    """Whether a file with ``columns`` has every column dataset ``kind`` needs."""
    mod = importer_module(kind)
    if hasattr(mod, "required_columns"):  # ml-energy: the columns of the generation the file looks like
        try:
            required = mod.required_columns(columns)
        except ImportFormatError:
            return False
    else:
        required = mod.REQUIRED
    return set(required) <= set(columns)


@dataclass(frozen=True)
class FileRead:
    """One input file read and validated (nothing stored): its rows and the notes about it."""

    path: Path
    sha256: str
    frame: pl.DataFrame
    """Validated measurement rows, each ``measurement_id`` once."""
    notes: tuple[str, ...]
    """What was skipped, collapsed or ignored (rows without a measurement, identical repeats, columns)."""


def read_file(kind: str, path, *, allow_implausible: bool = False) -> FileRead:
    """Read and validate one dataset file (nothing is stored).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    path : str or Path
        The file.
    allow_implausible : bool
        Accept values above the plausibility bounds (:data:`workbench.bounds.PLAUSIBLE_MAXIMA`).

    Returns
    -------
    FileRead

    Raises
    ------
    ImportFormatError
        A malformed file or rows (by line); a file of another kind names that kind.
    """
    mod = importer_module(kind)
    p = Path(path)
    ctx = ImportContext.for_file(kind, p, allow_implausible=allow_implausible)
    try:
        frame = mod.read(p, ctx)
    except MissingColumnsError as exc:
        other = [k for k in KINDS if k != kind and _fits(k, exc.found)]
        if not other:
            raise
        shown = exc.found[:6]
        raise ImportFormatError(
            f"{p}: this file looks like {other[0]}'s (columns {shown}{' …' if len(exc.found) > 6 else ''}), "
            f"not {kind}'s. Fix: `workbench import {other[0]} {p}`."
        ) from None
    return FileRead(p, ctx.sha256, frame, tuple(ctx.notes))


def read_files(kind: str, path, *, allow_implausible: bool = False, progress=None) -> list[FileRead]:
    """:func:`read_file` for every file ``path`` stands for (:func:`files_for`); all are validated.

    ``progress``, when given, wraps the files as :func:`import_file`'s does.
    """
    files = files_for(kind, path)
    files = files if progress is None else progress(files, total=len(files), desc=f"read {kind}")
    return [read_file(kind, f, allow_implausible=allow_implausible) for f in files]


def load(kind: str, path, as_pandas: bool = False, *, allow_implausible: bool = False):
    """Read a dataset into validated measurement rows (nothing is stored).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    path : str or Path
        The dataset file, or a directory holding the kind's file(s) (all are read and concatenated).
    as_pandas : bool
        Return a pandas DataFrame instead of polars.
    allow_implausible : bool
        Accept values above the plausibility bounds (:data:`workbench.bounds.PLAUSIBLE_MAXIMA`).

    Returns
    -------
    polars.DataFrame (or pandas) with the measurement schema, each ``measurement_id`` once.

    Warns
    -----
    DatasetNote
        One per note of a file (:attr:`FileRead.notes`): rows skipped, repeats collapsed, columns ignored.

    Raises
    ------
    UnknownNameError
        Unknown ``kind`` (the message lists the kinds).
    ImportFormatError
        Missing file, missing columns (expected and missing listed) or malformed rows (by line).
    """
    reads = read_files(kind, path, allow_implausible=allow_implausible)
    for r in reads:
        for note in r.notes:
            warnings.warn(f"{r.path}: {note}", DatasetNote, stacklevel=2)
    df = pl.concat([r.frame for r in reads], how="vertical") if len(reads) > 1 else reads[0].frame
    if df["measurement_id"].n_unique() < df.height:  # the same result in two files of one directory
        dup = df.height - df["measurement_id"].n_unique()
        warnings.warn(f"{path}: {dup} row(s) repeat a result of an earlier file; kept once", DatasetNote,
                      stacklevel=2)
        df = df.unique("measurement_id", keep="first", maintain_order=True)
    return df.to_pandas() if as_pandas else df


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_file` did for one input file."""

    path: Path
    sha256: str
    rows_added: int
    skipped: bool
    """True when nothing was written: the store already held this file (same SHA-256) or all its rows."""
    run_file: Path | None
    rows_read: int = 0
    """Rows the file holds (identical repeats counted once)."""
    rows_already: int = 0
    """Rows of the file already in the store (by ``measurement_id``, or by content for legacy ids)."""
    notes: tuple[str, ...] = ()
    """Notes about the file (:attr:`FileRead.notes`)."""
    same_bytes: bool = False
    """True when the store already held a file with these bytes (SHA-256): the file was not read again."""


def _legacy_pattern(kind: str) -> str:
    """``measurement_id`` of rows imported before ids were content ids: ``<kind>-<sha12 of the file>-<row>...``."""
    return rf"^{re.escape(kind)}-[0-9a-f]{{12}}-\d+"


def _content_keys(df: pl.DataFrame) -> pl.Series:
    return df.select(pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in _CONTENT_COLUMNS],
                                   separator="\x1f")).to_series()


def _stored(st: Store, kind: str) -> tuple[set[str], set[str]]:
    """Ids in the store, and the content keys of this kind's rows stored under legacy ids."""
    ids = set(st.scan().select("measurement_id").collect()["measurement_id"].to_list())
    legacy = st.scan().filter(pl.col("measurement_id").str.contains(_legacy_pattern(kind))).collect()
    return ids, set(_content_keys(legacy).to_list()) if legacy.height else set()


def _new_rows(st: Store, kind: str, reads: list[FileRead | None]) -> list[pl.DataFrame | None]:
    """Per read file, its rows the store lacks (and no earlier file of this import holds)."""
    ids, legacy = _stored(st, kind)
    out: list[pl.DataFrame | None] = []
    for r in reads:
        if r is None:
            out.append(None)
            continue
        keep = ~pl.col("measurement_id").is_in(list(ids))
        if legacy:
            keep = keep & ~_content_keys(r.frame).is_in(list(legacy))
        out.append(r.frame.filter(keep))
        ids |= set(r.frame["measurement_id"].to_list())
    return out


def _rows_by_sha(st: Store, kind: str, shas: set[str]) -> dict[str, int]:
    """SHA-256 of files already imported as ``kind`` → rows stored from them."""
    got = (st.scan().filter(pl.col("input_sha256").is_in(list(shas))
                            & pl.col("measurement_id").str.starts_with(f"{kind}-"))
           .group_by("input_sha256").len().collect())
    return dict(got.iter_rows())


def import_file(kind: str, path, store, *, allow_implausible: bool = False, progress=None) -> list[ImportResult]:
    """Import a dataset file (or a directory of them) into a store, each result once.

    Every file is read and validated before anything is written. A file whose bytes were imported
    as ``kind`` before (its SHA-256 in ``input_sha256``) is not read again; of the others, only rows
    whose ``measurement_id`` (a content id: same result, same id) is not in the store are added, so
    the same content with other bytes (row order, CRLF, a trailing newline) adds nothing and a grown
    codecarbon ``emissions.csv`` adds only its new runs. Rows stored by earlier versions under
    file-based ids (``<kind>-<sha12>-<row>``) are recognised by content: every column but id, run,
    timestamp and input hash equal. Writing happens under the store's import lock
    (:meth:`workbench.store.Store.lock`), and the ids are read again under it, so concurrent imports of one file
    add its rows once. Each file with new rows becomes one run file, written atomically. An import
    that adds nothing writes nothing (not even the lock file).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    path : str or Path
        File or directory (see :func:`load`).
    store : workbench.store.Store or str or Path
        Destination store.
    allow_implausible : bool
        Accept values above the plausibility bounds (:data:`workbench.bounds.PLAUSIBLE_MAXIMA`);
        CLI ``--allow-implausible``.
    progress : callable, optional
        ``progress(iterable, total=, desc=)`` wrapping the files as they are read, e.g. ``tqdm``.

    Returns
    -------
    list of ImportResult, one per input file.

    Raises
    ------
    ImportFormatError
        A malformed file (nothing is written; see :func:`read_file`).
    StoreError
        The store cannot be written.
    """
    st = Store.coerce(store)
    files = files_for(kind, path)
    shas = [sha256_file(f) for f in files]
    imported = _rows_by_sha(st, kind, set(shas))
    todo = list(zip(files, shas, strict=True))
    todo = todo if progress is None else progress(todo, total=len(todo), desc=f"import {kind}")
    reads = [None if sha in imported else read_file(kind, f, allow_implausible=allow_implausible) for f, sha in todo]
    new = _new_rows(st, kind, reads)  # without the lock first: stored rows are never removed, so a no-op stays one
    run_files: list[Path | None] = [None] * len(files)
    if any(df is not None and df.height for df in new):
        st.check_writable()
        with st.lock("import"):
            new = _new_rows(st, kind, reads)  # again under the lock: another import may have added them meanwhile
            for i, df in enumerate(new):
                if df is not None and df.height:
                    run_files[i] = st.append(df, allow_implausible=allow_implausible)
    results = []
    for f, sha, r, df, run_file in zip(files, shas, reads, new, run_files, strict=True):
        if r is None:
            results.append(ImportResult(f, sha, 0, True, None, imported[sha], imported[sha], (), True))
            continue
        added = df.height if run_file is not None else 0
        results.append(ImportResult(f, sha, added, run_file is None, run_file, r.frame.height,
                                    r.frame.height - added, r.notes))
    return results
