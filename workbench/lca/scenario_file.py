"""Reading a scenario file, and the errors a scenario raises: one clear message per way it can be wrong.

:func:`read_scenario_text` turns a path into UTF-8 text, refusing a missing file ("no such file"), a
directory, an unreadable file, UTF-16 or other non-UTF-8 text and binary files, each with the fix
(a UTF-8 byte-order mark is accepted). :mod:`workbench.lca.scenario` parses and validates the text;
the error classes live here so that both modules raise the same ones (they are importable from
:mod:`workbench.lca.scenario` too).
"""

from __future__ import annotations

from pathlib import Path

from workbench.errors import ImportFormatError, ParameterError
from workbench.files import read_user_file


class ScenarioError(ParameterError):
    """A scenario has a missing key, an unknown key, or a value outside its valid range."""


class ImplausibleValueError(ScenarioError):
    """A scenario value is beyond its physical plausibility bound (:mod:`workbench.lca.bounds`)."""


SYNTAX_FIX = "Fix the syntax there (strings need quotes, e.g. country = \"FRA\")."


class ScenarioFormatError(ImportFormatError):
    """A scenario file is not valid TOML (or not UTF-8 text); line and column given where known."""

    def __init__(self, path, reason: str, line: int | None, column: int | None, fix: str = SYNTAX_FIX):
        self.path, self.reason, self.line, self.column = path, reason, line, column
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"scenario file {path} is not valid TOML{where}: {reason}. {fix}")


def read_scenario_text(path: str | Path) -> str:
    """The text of a scenario file (UTF-8; a UTF-8 byte-order mark is dropped).

    Parameters
    ----------
    path : path-like
        The file (any extension).

    Returns
    -------
    str

    Raises
    ------
    ScenarioError
        No such file, a directory, or a file that cannot be read (permissions).
    ScenarioFormatError
        UTF-16 or other non-UTF-8 text, or NUL bytes (a binary file): line and column of the first bad byte.
    """
    path = Path(path)
    data = read_user_file(path, "scenario file", ScenarioError, suffix=".toml",
                          fix="give the path of an existing .toml scenario file (examples under data/scenarios/).")
    return _decode(data, path)


def _decode(data: bytes, path) -> str:
    """The text of a scenario file: UTF-8 (a UTF-8 byte-order mark is dropped), else a ScenarioFormatError."""
    save_utf8 = "Fix: save the file as UTF-8 text (your editor's 'save with encoding', or iconv -t UTF-8)."
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioFormatError(path, "it is UTF-16 text (it starts with a UTF-16 byte-order mark), but TOML is "
                                  "UTF-8", None, None, fix=save_utf8)
    nul = data.find(b"\x00")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise ScenarioFormatError(path, f"it is not UTF-8 text (byte 0x{data[exc.start]:02x}: {exc.reason})",
                                  line, col, fix=save_utf8) from None
    if nul >= 0:
        line, col = _position(data, nul)
        raise ScenarioFormatError(path, "it contains NUL bytes (a binary file, or UTF-16 text without a "
                                  "byte-order mark)", line, col, fix=save_utf8)
    return text


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a byte offset (the column counts bytes)."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1
