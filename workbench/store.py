"""The run store: a directory of Parquet files, one per run, written atomically and never overwritten.

Layout of a store directory (default ``data/runs/``)::

    data/runs/
        20261126T181500Z-<run_id>-<tag>.<sha>.parquet  measurement rows of one run (schema: workbench.schema)
        layers/20261126T181500Z-<run_id>-<tag>.parquet per-layer breakdown of that run (optional)
        .tmp/                                          files being written (ignored by readers)

A file is written to ``.tmp/`` first, flushed to disk, then hard-linked to its final name (which
fails rather than replace an existing file) and the temporary name removed.

Integrity: a run file's name ends in the first 16 hex digits of the SHA-256 of its bytes (``<sha>``),
and its Parquet metadata holds the SHA-256 of its per-layer file; readers check both before using a
file, so a flipped bit anywhere (data page, footer, statistics) is a named corrupt file, never a
silently changed value. Files written before names carried a hash (no ``.<sha>`` part) are decoded
in full instead, page checksums verified. A run's per-layer file is linked before its rows, and
readers ignore a per-layer file whose run file is absent (:meth:`Store.orphan_layer_files`), so a
writer killed in between leaves nothing a reader sees. A run killed mid-way
therefore leaves nothing under its final name; its leftover in ``.tmp/`` is removed by the next
writer once the process that wrote it is gone. Two writers never share a file name (each name holds
a fresh random run id), so concurrent profilers lose nothing.
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock
    fcntl = None

from workbench import schema
from workbench.errors import CorruptFileError, SchemaError, StoreError
from workbench.files import HASHED_NAME, file_problem, write_parquet_atomic
from workbench.filters import parse_filters
from workbench.layer_schema import (  # the per-layer names have always been importable from here too
    LAYER_REQUIRED,
    LAYER_SCHEMA,
    LAYER_SHAPE_COLUMNS,  # noqa: F401
    layer_frame,  # noqa: F401
    validate_layers,
    with_layer_columns,  # noqa: F401
)

DEFAULT_STORE = Path("data/runs")


def new_run_id() -> str:
    """A fresh run id (random, 16 hex characters)."""
    return uuid.uuid4().hex[:16]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class StoreCheck:
    """What :meth:`Store.check` found: counts of readable files, corrupt files with their reason, debris."""

    runs: int
    layer_files: int
    corrupt: list[tuple[Path, str]]
    orphan_layers: list[Path]
    stale_tmp: list[Path]

    @property
    def clean(self) -> bool:
        """Whether every file is readable and nothing is left over."""
        return not (self.corrupt or self.orphan_layers or self.stale_tmp)


class Store:
    """A directory of measurement runs.

    Parameters
    ----------
    path : str or Path
        Store directory; created on first write.

    Examples
    --------
    >>> import tempfile, workbench.schema as s
    >>> st = Store(tempfile.mkdtemp())
    >>> len(st.read())
    0
    """

    def __init__(self, path: str | os.PathLike = DEFAULT_STORE):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @classmethod
    def coerce(cls, store: Store | str | os.PathLike) -> Store:
        """``store`` itself if it is a :class:`Store`, else a store at that path (for "a path or a Store" arguments)."""
        return store if isinstance(store, cls) else cls(store)

    # ------------------------------------------------------------------ writing
    def contains(self, path: str | os.PathLike) -> bool:
        """Whether ``path`` lies inside the store directory (where a reader would take it for a run)."""
        try:
            Path(path).resolve().relative_to(self.path.resolve())
        except ValueError:
            return False
        return True

    def check_writable(self) -> None:
        """Raise :class:`StoreError` unless files can be created in the store (checked before work starts)."""
        tmp = self.path / ".tmp"
        try:
            tmp.mkdir(parents=True, exist_ok=True)
            probe = tmp / f"{os.getpid()}-probe-{uuid.uuid4().hex[:8]}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(
                f"store directory {self.path} is not writable ({exc.strerror or exc}). "
                "Fix: choose another --store directory or fix its permissions."
            ) from None

    def stale_tmp_files(self) -> list[Path]:
        """Temporary files in ``.tmp/`` left by writers that are gone (killed mid-write)."""
        tmp = self.path / ".tmp"
        if not tmp.is_dir():
            return []
        out = []
        for f in sorted(tmp.iterdir()):
            m = re.match(r"(\d+)-", f.name)
            if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
                out.append(f)
        return out

    def _clean_stale_tmp(self) -> None:
        for f in self.stale_tmp_files():
            try:
                f.unlink()
            except OSError:
                pass

    def check(self) -> StoreCheck:
        """Check every file of the store without changing anything (``workbench runs --check``).

        Returns
        -------
        StoreCheck
            Readable run and per-layer files, corrupt ones with the reason, and the debris a killed
            writer can leave (per-layer files without their run, stale temporary files).
        """
        runs = self.files()
        bad_runs = [(f, p) for f in runs if (p := file_problem(f, set(schema.REQUIRED))) is not None]
        hashes = self._layer_hashes()
        orphans = self.orphan_layer_files()
        d = self.path / "layers"
        layer_files = [f for f in (sorted(d.glob("*.parquet")) if d.is_dir() else []) if f not in orphans]
        bad_layers = [(f, p) for f in layer_files
                      if (p := file_problem(f, set(LAYER_REQUIRED), hashes.get(f.name))) is not None]
        return StoreCheck(runs=len(runs) - len(bad_runs), layer_files=len(layer_files) - len(bad_layers),
                          corrupt=bad_runs + bad_layers, orphan_layers=orphans, stale_tmp=self.stale_tmp_files())

    def remove_debris(self) -> list[Path]:
        """Remove per-layer files without their run and stale temporary files; return what was removed.

        Run files, corrupt or not, are never removed: they are data, and only their owner may
        decide (``workbench runs --check`` names them).
        """
        removed = []
        for f in [*self.orphan_layer_files(), *self.stale_tmp_files()]:
            try:
                f.unlink()
                removed.append(f)
            except FileNotFoundError:
                pass
        return removed

    def _write_atomic(self, df: pl.DataFrame, final: Path, *, metadata: dict[str, str] | None = None,
                      hashed: bool = False) -> tuple[Path, str]:
        """Write ``df`` under ``final`` (``hashed``: with ``.<sha16>`` before the suffix) through ``.tmp/``;
        return the path written and the file's SHA-256 (:func:`workbench.files.write_parquet_atomic`)."""
        table = df.to_arrow()
        if metadata:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
        return write_parquet_atomic(table, final, self.path / ".tmp", hashed=hashed)

    def append(self, frame, *, layers=None, allow_implausible: bool = False) -> Path:
        """Validate ``frame`` and write it as one new run file; return its path.

        Parameters
        ----------
        frame : polars or pandas DataFrame
            Measurement rows (see :mod:`workbench.schema`). All rows are written or none.
        layers : polars or pandas DataFrame, optional
            Per-layer breakdown (:data:`LAYER_SCHEMA`) keyed by ``measurement_id``.
        allow_implausible : bool
            Accept values above :data:`workbench.bounds.PLAUSIBLE_MAXIMA` (see :func:`workbench.schema.validate`).

        Raises
        ------
        SchemaError
            If ``frame`` or ``layers`` break their schema, or a ``measurement_id`` repeats within the
            frame (nothing is written).
        StoreError
            If the store cannot be written, or holds a row with one of the frame's ``measurement_id``
            already (nothing is written: a row is never stored twice).
        """
        df = schema.as_polars(schema.validate(frame, allow_implausible=allow_implausible))
        if df.height == 0:
            raise SchemaError("refusing to write an empty run: the frame has no rows.")
        repeated = df.filter(pl.col("measurement_id").is_duplicated())["measurement_id"].unique().sort()
        if repeated.len():
            raise SchemaError(f"measurement_id(s) {repeated.head(5).to_list()} repeat within the run; each row needs "
                              "its own id. Fix: drop the repeated rows or give them distinct ids.")
        lay = validate_layers(layers, set(df["measurement_id"].to_list())) if layers is not None else None
        self.check_writable()
        with self.lock("write"):
            self._refuse_stored_ids(df["measurement_id"])
            return self._write_run(df, lay)

    @contextmanager
    def lock(self, name: str) -> Iterator[Path]:
        """Hold the store's lock ``name`` (``<store>/.tmp/<name>.lock``, ``fcntl.flock``), blocking while another
        process holds it. ``append`` holds ``"write"`` for its id check and links (writers take turns only for
        that step, not while they measure); importers hold ``"import"`` while they compare and write.

        Raises
        ------
        StoreError
            The lock file cannot be created or opened.
        """
        path = self.path / ".tmp" / f"{name}.lock"
        if fcntl is None:  # pragma: no cover - no flock on this platform: locking is best effort
            yield path
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot open the store's lock {path} ({exc.strerror or exc}). "
                             "Fix: choose another --store directory or fix its permissions.") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield path
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _refuse_stored_ids(self, ids: pl.Series) -> None:
        if not self.files():
            return
        stored = (self.scan().select("measurement_id").filter(pl.col("measurement_id").is_in(ids.implode()))
                  .unique().sort("measurement_id").collect()["measurement_id"])
        if stored.len():
            raise StoreError(f"measurement_id(s) {stored.head(5).to_list()} ({stored.len()} in all) are already in "
                             f"the store {self.path}; nothing was written, so no row is stored twice. Fix: these "
                             "results are stored already; give new measurements new ids (new_run_id()).")

    def _write_run(self, df: pl.DataFrame, lay: pl.DataFrame | None) -> Path:
        self._clean_stale_tmp()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        run_ids = sorted(set(df["run_id"].to_list()))
        name = f"{stamp}-{run_ids[0] if len(run_ids) == 1 else new_run_id()}-{uuid.uuid4().hex[:6]}.parquet"
        meta, layer_file = {}, None
        if lay is not None and lay.height:  # layers first: rows never lack them
            layer_file, layers_sha = self._write_atomic(lay, self.path / "layers" / name)
            meta[LAYERS_SHA_KEY] = layers_sha
        try:
            final, _ = self._write_atomic(df, self.path / name, metadata=meta, hashed=True)
        except StoreError:
            if layer_file is not None:  # readers ignore it anyway (an orphan); do not leave it behind
                layer_file.unlink(missing_ok=True)
            raise
        return final

    # ------------------------------------------------------------------ reading
    def files(self) -> list[Path]:
        """Run files in the store, oldest first."""
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.glob("*.parquet") if not p.name.startswith("."))

    def _checked(self, files: list[Path], skip_corrupt: bool, expected: set[str],
                 layer_hashes: dict[str, str] | None = None) -> list[Path]:
        ok = []
        for f in files:
            want = None if layer_hashes is None else layer_hashes.get(f.name)
            problem = file_problem(f, expected, want)
            if problem is None:
                ok.append(f)
            elif skip_corrupt:
                warnings.warn(f"skipping corrupt file {f}: {problem}", stacklevel=3)
            else:
                raise CorruptFileError(f, problem)
        return ok

    def scan(self, *, skip_corrupt: bool = False) -> pl.LazyFrame:
        """Lazily read every run (polars LazyFrame with the measurement schema).

        Raises
        ------
        CorruptFileError
            Naming the first unreadable file, unless ``skip_corrupt`` (then it is skipped with a warning).
        """
        files = self._checked(self.files(), skip_corrupt, set(schema.REQUIRED))
        if not files:
            return schema.empty().lazy()
        return pl.scan_parquet(files, schema=schema.POLARS_SCHEMA, missing_columns="insert", extra_columns="ignore")

    def read(self, *, skip_corrupt: bool = False, as_pandas: bool = False, filters=None):
        """Read every run into one frame (polars, or pandas with ``as_pandas=True``).

        ``filters`` is a polars expression or a list of ``"column<op>value"`` strings
        (ops ``= != < <= > >=``), as accepted by ``workbench runs --filter``.
        """
        lf = self.scan(skip_corrupt=skip_corrupt)
        if filters is not None:
            lf = lf.filter(parse_filters(filters) if not isinstance(filters, pl.Expr) else filters)
        df = lf.sort("timestamp_utc", "measurement_id").collect()
        return df.to_pandas() if as_pandas else df

    def orphan_layer_files(self) -> list[Path]:
        """Per-layer files whose run file is absent (a writer stopped between the two links)."""
        d = self.path / "layers"
        if not d.is_dir():
            return []
        runs = {run_stem(p) for p in self.files()}
        return sorted(p for p in d.glob("*.parquet") if run_stem(p) not in runs)

    def _layer_hashes(self) -> dict[str, str]:
        """Per-layer file name → the SHA-256 its run file recorded (runs written with hashed names)."""
        out = {}
        for f in self.files():
            if HASHED_NAME.match(f.name):
                try:
                    meta = pq.read_schema(f).metadata or {}
                except Exception:  # noqa: BLE001 - a damaged run file is reported when the rows are read
                    continue
                sha = meta.get(LAYERS_SHA_KEY.encode())
                if sha:
                    out[f"{run_stem(f)}.parquet"] = sha.decode()
        return out

    def read_layers(self, *, skip_corrupt: bool = False, as_pandas: bool = False):
        """Per-layer breakdown of every run that recorded one (orphan per-layer files are ignored)."""
        d = self.path / "layers"
        orphans = set(self.orphan_layer_files())
        files = sorted(p for p in d.glob("*.parquet") if p not in orphans) if d.is_dir() else []
        files = self._checked(files, skip_corrupt, set(LAYER_REQUIRED), self._layer_hashes())
        df = pl.DataFrame(schema=LAYER_SCHEMA) if not files else pl.scan_parquet(
            files, schema=LAYER_SCHEMA, missing_columns="insert", extra_columns="ignore").collect()
        return df.to_pandas() if as_pandas else df

    def input_hashes(self) -> set[str]:
        """SHA-256 hashes of the files already imported into the store."""
        s = self.scan().select("input_sha256").filter(pl.col("input_sha256").is_not_null()).unique().collect()
        return set(s["input_sha256"].to_list())


LAYERS_SHA_KEY = "workbench:layers_sha256"
"""Parquet metadata key of a run file holding the SHA-256 of its per-layer file."""


def run_stem(path: Path) -> str:
    """The name a run's files share: ``20261126T181500Z-<run_id>-<tag>`` (without hash and suffix)."""
    return path.name.split(".", 1)[0]
