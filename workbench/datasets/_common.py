"""Shared plumbing of the importers: strict CSV reading, row-error collection, base records.

Every importer reads its file with every column as text, checks the columns it needs (an error
lists expected and missing ones), parses each row into a schema record while collecting problems
with their line numbers, and raises one :class:`ImportFormatError` listing them: nothing is
returned (nor stored) from a file with a malformed row.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from workbench.errors import ImportFormatError

LINE = "__line__"
"""Column that :func:`read_text_csv` adds: the file line of each row (header = line 1)."""

MAX_LISTED = 10
"""Problems listed in an error message (the count is always given)."""


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_text_csv(path: Path, required: list[str] | tuple[str, ...], kind: str) -> pl.DataFrame:
    """Read a CSV with every column as text (stripped of surrounding whitespace) and check columns.

    Raises
    ------
    ImportFormatError
        Unreadable file, or missing columns (listing expected and missing ones).
    """
    try:
        df = pl.read_csv(path, infer_schema_length=0, encoding="utf8-lossy", raise_if_empty=False)
    except Exception as exc:  # polars raises ComputeError/NoDataError and friends
        raise ImportFormatError(f"{path}: cannot be read as CSV for {kind!r} ({str(exc).splitlines()[0]}).") from None
    df = df.rename({c: c.lstrip("\ufeff").strip() for c in df.columns})
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ImportFormatError(
            f"{path}: missing column(s) {missing} for dataset kind {kind!r}. Expected columns: {list(required)}; "
            f"found: {df.columns}. Fix: pass the right file or the right KIND (`workbench import --help`)."
        )
    df = df.with_columns([pl.col(c).str.strip_chars() for c in df.columns if df.schema[c] == pl.String])
    # file line of each row (header = line 1), then drop blank lines (every cell empty)
    df = df.with_row_index(LINE, offset=2).with_columns(pl.col(LINE).cast(pl.Int64))
    cells = [c for c in df.columns if c != LINE]
    if cells:
        df = df.filter(~pl.all_horizontal([pl.col(c).is_null() | (pl.col(c) == "") for c in cells]))
    return df


@dataclass
class RowErrors:
    """Collects per-row problems; :meth:`raise_if_any` turns them into one error."""

    path: Path
    kind: str
    problems: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        listed = "; ".join(f"line {ln}: {msg}" for ln, msg in self.problems[:MAX_LISTED])
        more = f" (and {len(self.problems) - MAX_LISTED} more)" if len(self.problems) > MAX_LISTED else ""
        n_rows = len({ln for ln, _ in self.problems})
        raise ImportFormatError(
            f"{self.path}: {n_rows} malformed row(s) for {self.kind!r}; nothing was imported. "
            f"{listed}{more}. Fix the rows (line numbers count the header as line 1) and import again."
        )


def line_of(row: dict) -> int:
    """File line of a row read by :func:`read_text_csv` (header is line 1)."""
    return row[LINE]


def number(row: dict, col: str, line: int, errors: RowErrors, *, required: bool = False,
           positive: bool = False) -> float | None:
    """Parse a non-negative finite number from text; record a problem (and return None) otherwise."""
    text = row.get(col)
    if text is None or text == "" or text.lower() in ("nan", "none", "null", "n/a", "na"):
        if required:
            errors.add(line, f"column {col!r} is empty but required")
        return None
    try:
        v = float(text)
    except ValueError:
        errors.add(line, f"column {col!r} = {text!r} is not a number")
        return None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        errors.add(line, f"column {col!r} = {text!r} must be a finite number {'> 0' if positive else '>= 0'}")
        return None
    return v


def text(row: dict, col: str) -> str | None:
    """A stripped text cell, or None when empty."""
    v = row.get(col)
    return v if v not in (None, "") else None


def config(**kwargs) -> str | None:
    """A JSON object of the non-null keyword arguments (for ``config_json``)."""
    d = {k: v for k, v in kwargs.items() if v is not None}
    return json.dumps(d, sort_keys=True) if d else None


@dataclass(frozen=True)
class ImportContext:
    """What every row of one import shares."""

    kind: str
    path: Path
    sha256: str
    run_id: str
    timestamp: datetime

    @classmethod
    def for_file(cls, kind: str, path: Path) -> "ImportContext":
        sha = sha256_file(path)
        return cls(kind=kind, path=path, sha256=sha, run_id=f"import-{kind}-{sha[:12]}",
                   timestamp=datetime.now(timezone.utc))

    def base(self, index: int, source: str, suffix: str = "") -> dict:
        """The columns every imported row fills: ids, run, timestamp, source, input hash."""
        return {
            "measurement_id": f"{self.kind}-{self.sha256[:12]}-{index}{suffix}",
            "run_id": self.run_id,
            "timestamp_utc": self.timestamp,
            "source": source,
            "input_sha256": self.sha256,
        }
