"""Shared plumbing of the importers: strict CSV reading, row identity, duplicates, row errors, base records.

Every importer reads its file with :func:`~workbench.datasets._csv.read_text_csv` (every column as text, stripped of
surrounding whitespace; the encoding, the delimiter, JSON and binary files are recognised first and
named in one error with the fix), checks the columns it needs (an error lists expected and missing
ones), collapses repeated rows with :func:`unique_rows`, parses each row into a schema record while
collecting problems with their line numbers, and hands the records to :func:`finish`, which raises
one :class:`ImportFormatError` listing every problem: nothing is returned (nor stored) from a file
with a malformed row.

Row identity
------------
Each source row has an identity: the importer's identity columns (``IDENTITY``; e.g. MLPerf Tiny's
version, division, organization, system, benchmark and model variant), or, for a dataset without a
key, the whole row. Its canonical text (:func:`identity_key`) is the JSON of the dataset kind, the
importer's scope (dataset and version where the columns do not say it) and the sorted
``[column, value]`` pairs, values normalised by :func:`norm`. The row's ``measurement_id`` is
``"<kind>-" + sha256(key [+ "\\x1f" + part])[:20]`` (``part`` names one of several records made from
one row, e.g. an nn-Meter device), so the same result gets the same id whatever the file's bytes
(row order, CRLF, whitespace around cells, trailing newlines, column order).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from workbench import schema
from workbench.bounds import PLAUSIBLE_MAXIMA
from workbench.errors import ImportFormatError
from workbench.files import sha256_file

LINE = "__line__"
"""Column that :func:`~workbench.datasets._csv.read_text_csv` adds: the file line where each row starts (header = line 1)."""

KEY = "__key__"
"""Column that :func:`unique_rows` adds: the row's identity key (:func:`identity_key`)."""

MAX_LISTED = 10
"""Problems listed in an error message (the count is always given)."""

ID_HEX = 20
"""Hex digits of the SHA-256 kept in a content ``measurement_id`` (80 bits)."""


def norm(value) -> str:
    """Canonical text of a cell for identities and comparisons: stripped; finite numbers as Python floats.

    ``"10.50"``, ``" 10.5 "`` and ``"1.05e1"`` all become ``"10.5"``; text stays as it is (case kept).

    Examples
    --------
    >>> norm(" 10.50 "), norm("1"), norm("v4.1-0001"), norm(None)
    ('10.5', '1.0', 'v4.1-0001', '')
    """
    if value is None:
        return ""
    text = str(value).strip()
    try:
        v = float(text)
    except ValueError:
        return text
    return repr(v) if math.isfinite(v) else text


def identity_key(kind: str, scope: str, pairs) -> str:
    """The canonical identity text of a source row: JSON of kind, scope and sorted ``[column, value]`` pairs."""
    return json.dumps({"kind": kind, "scope": scope, "key": sorted([c, norm(v)] for c, v in pairs)},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def content_id(kind: str, key: str, part: str | None = None) -> str:
    """``measurement_id`` of a record: ``<kind>-`` and the first :data:`ID_HEX` hex digits of SHA-256(key[, part])."""
    text = key if part is None else f"{key}\x1f{part}"
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:ID_HEX]}"


@dataclass
class RowErrors:
    """Collects per-row problems; :meth:`raise_if_any` turns them into one error."""

    path: Path
    kind: str
    problems: list[tuple[int, str]] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        """Record a problem of the row starting on file line ``line``."""
        self.problems.append((line, message))

    def hint(self, text: str) -> None:
        """Add a fix beyond the default one (once)."""
        if text not in self.hints:
            self.hints.append(text)

    def raise_if_any(self) -> None:
        """Raise one :class:`ImportFormatError` listing the problems (by line), if any."""
        if not self.problems:
            return
        probs = sorted(self.problems, key=lambda p: p[0])
        listed = "; ".join(f"line {ln}: {msg}" for ln, msg in probs[:MAX_LISTED])
        more = f" (and {len(probs) - MAX_LISTED} more)" if len(probs) > MAX_LISTED else ""
        n_rows = len({ln for ln, _ in probs})
        hints = "".join(f"; {h}" for h in self.hints)
        raise ImportFormatError(
            f"{self.path}: {n_rows} malformed row(s) for {self.kind!r}; nothing was imported. "
            f"{listed}{more}. Fix the rows (line numbers count the header as line 1) and import again{hints}."
        )


def line_of(row: dict) -> int:
    """File line of a row read by :func:`~workbench.datasets._csv.read_text_csv` (header is line 1)."""
    return row[LINE]


_NAN = ("nan", "none", "null", "n/a", "na")


def number(row: dict, col: str, line: int, errors: RowErrors, *, required: bool = False,
           positive: bool = False) -> float | None:
    """Parse a non-negative finite number from text; record a problem (and return None) otherwise."""
    text = row.get(col)
    if text is None or text == "" or text.lower() in _NAN:
        if required:
            errors.add(line, f"column {col!r} is empty but required" if not text else
                       f"column {col!r} = {text!r} holds no value, but a number is required")
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


def blank(row: dict, col: str) -> bool:
    """Whether a cell holds no value: empty, or a missing-value token (NaN, None, null, n/a, na)."""
    v = row.get(col)
    return v is None or v == "" or v.lower() in _NAN


def text(row: dict, col: str) -> str | None:
    """A stripped text cell, or None when empty."""
    v = row.get(col)
    return v if v not in (None, "") else None


def config(**kwargs) -> str | None:
    """A JSON object of the non-null keyword arguments (for ``config_json``)."""
    d = {k: v for k, v in kwargs.items() if v is not None}
    return json.dumps(d, sort_keys=True) if d else None


def _cells(row: dict) -> dict[str, str]:
    return {c: norm(v) for c, v in row.items() if c not in (LINE, KEY) and v not in (None, "")}


def unique_rows(df: pl.DataFrame, identity, scope: str, ctx: ImportContext, errors: RowErrors) -> pl.DataFrame:
    """Add each row's identity key (:data:`KEY`); collapse identical repeats; report conflicting ones.

    Parameters
    ----------
    identity : sequence of str or None
        The columns that identify one result; None: the whole row (a dataset without a key).
    scope : str
        What the identity columns do not say (dataset and version, e.g. nn-Meter's commit).

    Returns
    -------
    polars.DataFrame
        The rows, each identity once (the first line of identical repeats kept), with :data:`KEY`.
        Repeats are counted in ``ctx.notes``; a repeat with other values is a problem in ``errors``
        naming both lines and the differing columns.
    """
    rows = list(df.iter_rows(named=True))
    first: dict[str, dict] = {}
    keys, keep, repeats = [], [], defaultdict(list)
    for row in rows:
        cells = _cells(row)
        pairs = cells.items() if identity is None else ((c, row.get(c)) for c in identity)
        key = identity_key(ctx.kind, scope, pairs)
        keys.append(key)
        if key not in first:
            first[key] = row
            keep.append(True)
            continue
        keep.append(False)
        seen = first[key]
        old = _cells(seen)
        if old == cells:
            repeats[seen[LINE]].append(row[LINE])
            continue
        diff = sorted(c for c in set(old) | set(cells) if old.get(c) != cells.get(c))
        shown = ", ".join(f"{c}: {seen.get(c)!r} vs {row.get(c)!r}" for c in diff[:3])
        who = ", ".join(f"{c}={row.get(c)!r}" for c in identity)  # identity is not None: whole rows never conflict
        errors.add(row[LINE], f"gives the same result as line {seen[LINE]} ({who}) with other values ({shown}"
                              f"{' …' if len(diff) > 3 else ''}); keep the right one of the two lines")
    if repeats:
        n = sum(len(v) for v in repeats.values())
        listed = ", ".join(f"line {a} = line(s) {', '.join(map(str, b))}" for a, b in sorted(repeats.items())[:5])
        ctx.notes.append(f"{n} identical repeated row(s) collapsed into one ({listed}"
                         f"{' …' if len(repeats) > 5 else ''})")
    return df.with_columns(pl.Series(KEY, keys, dtype=pl.String)).filter(pl.Series(keep))


@dataclass
class ImportContext:
    """What every row of one import shares, and the notes the import collects (skipped rows, ignored columns)."""

    kind: str
    path: Path
    sha256: str
    run_id: str
    timestamp: datetime
    allow_implausible: bool = False
    notes: list[str] = field(default_factory=list)

    @classmethod
    def for_file(cls, kind: str, path: Path, *, allow_implausible: bool = False) -> ImportContext:
        """The context of importing ``path`` now (run id from the file's SHA-256)."""
        sha = sha256_file(path)
        return cls(kind=kind, path=path, sha256=sha, run_id=f"import-{kind}-{sha[:12]}",
                   timestamp=datetime.now(timezone.utc), allow_implausible=allow_implausible)

    def base(self, row: dict, source: str, part: str | None = None) -> dict:
        """The columns every imported row fills: content id (:func:`content_id`), run, timestamp, source, input hash.

        ``row`` is a row returned by :func:`unique_rows`; ``part`` tells apart several records of one row.
        """
        return {
            "measurement_id": content_id(self.kind, row[KEY], part),
            "run_id": self.run_id,
            "timestamp_utc": self.timestamp,
            "source": source,
            "input_sha256": self.sha256,
            "_line": row[LINE],
        }


def _plausibility(records: list[dict], lines: list[int], errors: RowErrors) -> None:
    """Report values above :data:`workbench.bounds.PLAUSIBLE_MAXIMA` by file line (the schema's rule)."""
    for rec, line in zip(records, lines, strict=True):
        for col in schema.COLUMNS:
            v = rec.get(col.name)
            if col.maximum is None or v is None:
                continue
            bound, why = PLAUSIBLE_MAXIMA[col.maximum]
            if v > bound:
                errors.add(line, f"{col.name} = {v:g} {col.unit} is above its plausibility bound {bound:g} ({why})")
        e = rec.get("energy_j")
        if e is not None:
            key = "energy_j_per_inference" if rec.get("energy_scope") in (None, "inference", "request", "token") \
                else "energy_j_per_run"
            bound, why = PLAUSIBLE_MAXIMA[key]
            if e > bound:
                errors.add(line, f"energy_j = {e:g} J ({rec.get('energy_scope')}) is above its plausibility bound "
                                 f"{bound:g} ({why})")
    if errors.problems:
        errors.hint("check the unit of the input (J vs mJ or µJ, ms vs µs); if the values are real, import with "
                    "--allow-implausible (Python: allow_implausible=True)")


def finish(records: list[dict], ctx: ImportContext, errors: RowErrors) -> pl.DataFrame:
    """Check plausibility by line, raise the collected problems, and build the validated frame.

    Raises
    ------
    ImportFormatError
        Any row problem (listed by line), or no record at all (the notes say why).
    """
    lines = [r.pop("_line") for r in records]
    if not ctx.allow_implausible:
        _plausibility(records, lines, errors)
    errors.raise_if_any()
    if not records:
        why = f" ({'; '.join(ctx.notes)})" if ctx.notes else ""
        raise ImportFormatError(f"{ctx.path}: none of the data rows holds a {ctx.kind!r} result{why}; nothing to "
                                f"import. Fix: pass the file with the results.")
    ids = [r["measurement_id"] for r in records]
    if len(set(ids)) != len(ids):  # unique_rows makes this impossible; a bug if it happens
        raise RuntimeError(f"{ctx.kind} importer built {len(ids) - len(set(ids))} repeated measurement_id(s)")
    return schema.from_records(records, allow_implausible=ctx.allow_implausible)
