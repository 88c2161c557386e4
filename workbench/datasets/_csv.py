"""Reading an importer's file strictly: what kind of file it is, its CSV records, its columns.

Before a file is parsed as CSV it is recognised (:func:`read_table`): binary formats by their magic
bytes, UTF-16 by its byte-order mark or NUL pattern, JSON by its first character, another delimiter
by the header line, so that each is named in one error with the fix instead of a parser's message.
Every cell is read as text, stripped; :func:`check_columns` names expected, missing and unknown columns.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from workbench.datasets._common import LINE, MAX_LISTED
from workbench.errors import ImportFormatError

_SNIFF_BYTES = 1 << 16


_MAGIC = {b"\x1f\x8b": "a gzip-compressed file", b"PK\x03\x04": "a ZIP archive (or an .xlsx workbook)",
          b"PAR1": "a Parquet file", b"%PDF": "a PDF document"}


class MissingColumnsError(ImportFormatError):
    """A file lacks columns its importer needs; ``found`` holds the columns it has (to name the right KIND)."""

    def __init__(self, message: str, found: list[str]):
        self.found = found
        super().__init__(message)


def _fix_file(kind: str) -> str:
    return f"Fix: pass the {kind!r} results file as comma-separated UTF-8 text (`workbench import --help`)."


def _sniff(path: Path, data: bytes, kind: str) -> str:
    """The file's text (UTF-8, BOM removed), or an :class:`ImportFormatError` saying what the file is and the fix."""
    if not data.strip():
        raise ImportFormatError(f"{path}: the file is empty ({len(data)} bytes): no header line and no data rows. "
                                f"{_fix_file(kind)}")
    head = data[:_SNIFF_BYTES]
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise ImportFormatError(f"{path}: this is {what}, not a CSV text file. Fix: extract or export the CSV "
                                    f"and pass that file.")
    nuls = head.count(b"\x00")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (nuls and nuls >= len(head) // 4 and (
            head[1::2].count(b"\x00") >= 0.9 * nuls or head[0::2].count(b"\x00") >= 0.9 * nuls)):
        raise ImportFormatError(
            f"{path}: the file is UTF-16 text (a byte-order mark or a NUL byte between characters), not UTF-8. "
            "Fix: convert it, e.g. `iconv -f UTF-16 -t UTF-8 FILE > FILE-utf8.csv`, or save it as "
            "'CSV UTF-8 (comma delimited)' from the spreadsheet.")
    if nuls:
        raise ImportFormatError(f"{path}: the file holds NUL bytes (the first at byte {head.index(0)}): it is a binary "
                                f"file, not CSV text. {_fix_file(kind)}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ImportFormatError(
            f"{path}: the file is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} (byte {exc.start}) is "
            "not valid UTF-8. Fix: re-save it as UTF-8, e.g. `iconv -f latin1 -t UTF-8 FILE > FILE-utf8.csv`."
        ) from None
    first = text.lstrip()[:1]
    if first in ("{", "["):
        raise ImportFormatError(
            f"{path}: the file looks like JSON (it starts with {first!r}), not CSV. Fix: convert it to a CSV with one "
            "row per result and the dataset's columns as header (e.g. "
            "`python -c \"import pandas as p; p.read_json('FILE').to_csv('FILE.csv', index=False)\"`).")
    header = next((ln for ln in text.splitlines() if ln.strip()), "")
    commas = header.count(",")
    for sep, name in ((";", "semicolons (';')"), ("\t", "tabs")):
        if header.count(sep) > commas:
            raise ImportFormatError(
                f"{path}: the file is separated by {name}, not commas: its header line has {header.count(sep)} "
                f"{name.split(' ')[0]} and {commas} commas. Fix: re-save it as comma-separated CSV (e.g. "
                f"`python -c \"import pandas as p; p.read_csv('FILE', sep={sep!r}).to_csv('FILE.csv', index=False)\"`).")
    return text


def _records(path: Path, text: str, kind: str) -> list[tuple[int, list[str]]]:
    """CSV records with the line where each starts (blank lines dropped)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    out: list[tuple[int, list[str]]] = []
    last = 0
    try:
        for rec in reader:
            start, last = last + 1, reader.line_num
            if any(c.strip() for c in rec):
                out.append((start, rec))
    except csv.Error as exc:
        raise ImportFormatError(
            f"{path}: line {last + 1} cannot be parsed as CSV ({exc}; an unclosed quote means a cut-off or damaged "
            f"file). {_fix_file(kind)}") from None
    return out


def read_table(path: Path, kind: str, check_header=None) -> pl.DataFrame:
    """Read a CSV file as text columns (stripped, empty → null) plus :data:`LINE`.

    ``check_header(columns)`` is called with the header's column names before the rows are checked
    (a file of another kind is named as such, not by its ragged rows).

    Raises
    ------
    ImportFormatError
        An empty, binary, UTF-16, non-UTF-8, JSON or non-comma-separated file; a header with a repeated
        column; rows with more or fewer fields than the header (a truncated file); or no data rows.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot be read ({exc.strerror or exc}). "
                                "Fix: check the path and its permissions.") from None
    recs = _records(path, _sniff(path, data, kind), kind)
    (_, header), body = recs[0], recs[1:]
    names = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n and n in seen:
            raise ImportFormatError(f"{path}: column {n!r} appears twice in the header (fields {seen[n] + 1} and "
                                    f"{i + 1}). Fix: rename or remove one of them.")
        seen[n] = i
    if check_header is not None:
        check_header([n for n in names if n])
    width = max((i + 1 for i, n in enumerate(names) if n), default=0)  # unnamed trailing header cells need no value
    bad = []
    for line, rec in body:
        extra = rec[len(names):]
        if len(rec) < width:
            bad.append(f"line {line} has {len(rec)} field(s), the header {len(names)} (the row is cut short: "
                       "a truncated file, or a missing delimiter?)")
        elif any(c.strip() for c in extra):
            surplus = next(c.strip() for c in extra if c.strip())
            bad.append(f"line {line} has {len(rec)} fields, the header {len(names)} (an unquoted comma in a "
                       f"value? a value beyond the last column is {surplus[:40]!r})")
    if bad:
        more = f" (and {len(bad) - MAX_LISTED} more)" if len(bad) > MAX_LISTED else ""
        raise ImportFormatError(f"{path}: {len(bad)} row(s) do not have the header's {len(names)} fields; nothing "
                                f"was imported. {'; '.join(bad[:MAX_LISTED])}{more}. Fix: repair or remove those "
                                "lines (line numbers count the header as line 1), or pass the complete file.")
    if not body:
        raise ImportFormatError(f"{path}: no data rows: the file holds only a header line ({len(names)} columns). "
                                "Fix: pass the file with the results (was it written completely?).")
    keep = [i for i, n in enumerate(names) if n]  # unnamed columns (a trailing comma in the header) hold nothing
    cols = {names[i]: [(r[i].strip() or None) if i < len(r) else None for _, r in body] for i in keep}
    cols[LINE] = [ln for ln, _ in body]
    return pl.DataFrame(cols, schema={**{names[i]: pl.String for i in keep}, LINE: pl.Int64})


def check_columns(found: list[str], path: Path, kind: str, required, known=None, notes: list[str] | None = None):
    """Raise :class:`MissingColumnsError` unless ``found`` holds every ``required`` column; note unused columns.

    Parameters
    ----------
    known : sequence of str, optional
        Further columns the importer reads or knows to ignore; other columns are named in ``notes``
        (a newer release of a dataset may add columns: they are ignored, never an error).
    """
    missing = [c for c in required if c not in found]
    if missing:
        if len(missing) == len(required):
            what = (f"its header line holds none of the {kind!r} columns (found {found[:8]}"
                    f"{' …' if len(found) > 8 else ''}): it is not a {kind} file, or its header line is missing")
        else:
            what = f"missing column(s) {missing} for dataset kind {kind!r}; found: {found}"
        raise MissingColumnsError(
            f"{path}: {what}. Expected columns: {list(required)}. Fix: pass the right file or the right KIND "
            "(`workbench import --help`).", found)
    if known is not None and notes is not None:
        unused = [c for c in found if c not in required and c not in known]
        if unused:
            notes.append(f"ignored column(s) {unused}: the {kind} importer does not read them "
                         "(a newer release of the dataset?)")


def read_text_csv(path: Path, required, kind: str, known=None, notes: list[str] | None = None) -> pl.DataFrame:
    """:func:`read_table` then :func:`check_columns`: the file's rows as text, every required column present."""
    return read_table(path, kind, lambda found: check_columns(found, path, kind, required, known, notes))
