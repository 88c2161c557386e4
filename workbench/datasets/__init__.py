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

:func:`load` returns the validated rows; :func:`workbench.datasets.public.load_public_data` reads
every dataset a public datasets folder holds (and says which were skipped); :func:`import_file`
writes them to a store once per file (the file's SHA-256 is recorded in ``input_sha256``; importing
the same bytes again adds nothing).
A file with any malformed row raises :class:`~workbench.errors.ImportFormatError` listing the rows
by line number, and nothing is written (all-or-nothing).

Examples
--------
>>> from workbench import datasets
>>> sorted(datasets.KINDS)
['codecarbon', 'ml-energy', 'mlperf-inference', 'mlperf-tiny', 'nn-meter']
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench.datasets._common import ImportContext, sha256_file
from workbench.errors import ImportFormatError, UnknownNameError
from workbench.store import Store

KINDS: dict[str, str] = {
    "mlperf-tiny": "workbench.datasets.mlperf_tiny",
    "mlperf-inference": "workbench.datasets.mlperf_inference",
    "ml-energy": "workbench.datasets.ml_energy",
    "nn-meter": "workbench.datasets.nn_meter",
    "codecarbon": "workbench.datasets.codecarbon_emissions",
}
"""Dataset kind → importer module (each has ``KIND``, ``SOURCE``, ``FILE_NAMES`` and ``read(path, ctx)``)."""


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
        The path does not exist, or a directory holds none of the kind's files.
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
    raise ImportFormatError(f"input {p} does not exist. Fix: pass the path of the dataset file.")


def _read(kind: str, path: Path) -> pl.DataFrame:
    mod = importer_module(kind)
    return mod.read(path, ImportContext.for_file(kind, path))


def load(kind: str, path, as_pandas: bool = False):
    """Read a dataset into validated measurement rows (nothing is stored).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    path : str or Path
        The dataset file, or a directory holding the kind's file(s) (all are read and concatenated).
    as_pandas : bool
        Return a pandas DataFrame instead of polars.

    Returns
    -------
    polars.DataFrame (or pandas) with the measurement schema.

    Raises
    ------
    UnknownNameError
        Unknown ``kind`` (the message lists the kinds).
    ImportFormatError
        Missing file, missing columns (expected and missing listed) or malformed rows (by line).
    """
    frames = [_read(kind, f) for f in files_for(kind, path)]
    df = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
    return df.to_pandas() if as_pandas else df


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_file` did for one input file."""

    path: Path
    sha256: str
    rows_added: int
    skipped: bool
    """True when the store already held this file (same SHA-256) or all its rows: nothing was written."""
    run_file: Path | None


def import_file(kind: str, path, store) -> list[ImportResult]:
    """Import a dataset file (or a directory of them) into a store, once per file content.

    Every file is read and validated before anything is written; a file whose SHA-256 is already
    in the store (:meth:`workbench.store.Store.input_hashes`) is skipped, and rows whose
    ``measurement_id`` is already stored are dropped (codecarbon ids come from its run id, so a grown
    ``emissions.csv`` adds only its new runs). Each new file becomes one run file in the store,
    written atomically. Two imports of the same file running at the same moment are not
    coordinated (each checks the store before writing).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    path : str or Path
        File or directory (see :func:`load`).
    store : workbench.store.Store or str or Path
        Destination store.

    Returns
    -------
    list of ImportResult, one per input file.
    """
    st = Store.coerce(store)
    files = files_for(kind, path)
    st.check_writable()
    known = st.input_hashes()
    pending: list[tuple[Path, str, pl.DataFrame | None]] = []
    known_ids: set[str] | None = None
    for f in files:  # read and validate everything first: all-or-nothing across the files
        sha = sha256_file(f)
        df = None if sha in known else _read(kind, f)
        if df is not None:
            # rows already stored under the same id (a grown codecarbon emissions.csv) are not added again
            if known_ids is None:
                known_ids = set(st.scan().select("measurement_id").collect()["measurement_id"].to_list())
            df = df.filter(~pl.col("measurement_id").is_in(list(known_ids)))
            if df.height == 0:
                df = None
        pending.append((f, sha, df))
    results = []
    for f, sha, df in pending:
        if df is None:
            results.append(ImportResult(f, sha, 0, True, None))
            continue
        run_file = st.append(df)
        results.append(ImportResult(f, sha, df.height, False, run_file))
    return results
