"""What every placement problem file shares: its errors, reading TOML, key and number checks, carbon intensity.

The chain file (:mod:`~workbench.placement.problem`), the DAG file (:mod:`~workbench.placement.problem_dag`)
and the multi-node file (:mod:`~workbench.placement.problem_multinode`) validate their tables with one
:class:`Validator`, so that every message has the same shape: the file, the table, the key, the value
and the fix.

A tier's (or node's) grid carbon intensity is one of (``docs/placement.md``, "Carbon intensity at a time"):

- ``carbon_intensity_g_per_kwh = 300``, explicit;
- ``country = "FRA"``, the catalog's grid intensity (:mod:`workbench.catalog.grid`);
- ``carbon_signal = "caiso.csv"`` (a CSV ``time,g_per_kwh`` read by :func:`~workbench.placement.signal.load_signal`,
  relative to the problem file) with ``at = 2023-06-08T12:00:00`` on the tier, at the top of the file, or
  ``--at`` on the command line (which wins): the intensity of the signal's slot that contains that time,
  slot ``i`` covering ``[times_s[i], times_s[i] + step_s)``.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path

from workbench.catalog import grid
from workbench.checks import check_number
from workbench.errors import ImportFormatError, ParameterError, UnknownNameError
from workbench.files import read_user_file
from workbench.placement.signal import CarbonSignal, load_signal, parse_time

INTENSITY_KEYS = {"carbon_intensity_g_per_kwh", "country", "carbon_signal", "signal_unit", "at"}
"""Keys of a tier or node that say its grid carbon intensity (see the module docstring)."""


class ProblemError(ParameterError):
    """A placement problem has a missing or unknown key, or a value outside its valid range."""


class ProblemFormatError(ImportFormatError):
    """A placement problem file is not UTF-8 TOML (line and column given where known)."""


_TOML_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


def read_problem_text(path: str | Path) -> str:
    """The text of a problem file (UTF-8, a byte-order mark accepted).

    Raises
    ------
    ProblemError
        No such file, or a directory.
    ProblemFormatError
        Not UTF-8 text.
    """
    path = Path(path)
    data = read_user_file(path, "problem file", ProblemError, suffix=".toml",
                          fix="give the path of an existing .toml file (docs/placement.md shows one).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProblemFormatError(f"problem file {path} is not UTF-8 text (byte {exc.start}). Fix: save it as "
                                 "UTF-8.") from None


def toml_table(text_or_dict: str | dict, source: str) -> dict:
    """TOML text parsed (or a dict passed through).

    Raises
    ------
    ProblemFormatError
        Not valid TOML (line and column given).
    ProblemError
        Neither text nor a dict.
    """
    if isinstance(text_or_dict, str):
        try:
            return tomllib.loads(text_or_dict)
        except tomllib.TOMLDecodeError as exc:
            m = _TOML_POS.search(str(exc))
            where = f" at line {m.group(1)}, column {m.group(2)}" if m else ""
            raise ProblemFormatError(f"{source} is not valid TOML{where}: {_TOML_POS.sub('', str(exc))}. Fix the "
                                     "syntax there (strings need quotes, e.g. name = \"phone\").") from None
    if isinstance(text_or_dict, dict):
        return text_or_dict
    raise ProblemError(f"a problem is TOML text or a dict, got {type(text_or_dict).__name__}.")


def intensity_at(signal: CarbonSignal, t_s: float) -> tuple[float, int]:
    """The intensity [gCO2/kWh] of the slot of ``signal`` containing time ``t_s`` [s], and the slot's index.

    Raises
    ------
    ProblemError
        ``t_s`` before the first slot or at/after the end of the last.

    Examples
    --------
    >>> intensity_at(CarbonSignal.from_values([300.0, 120.0], step_s=3600), 3600.0)
    (120.0, 1)
    """
    i = int((t_s - float(signal.times_s[0])) // signal.step_s)
    if t_s < float(signal.times_s[0]) or i >= len(signal):
        raise ProblemError(f"{signal.label_time(t_s)} is outside the signal {signal.source}, which covers "
                           f"{signal.label_time(float(signal.times_s[0]))} to {signal.label_time(signal.end_s)}. "
                           "Fix: give a time inside it.")
    return float(signal.g_per_kwh[i]), i


class Validator:
    """The checks of one problem file, each message prefixed with its source.

    Parameters
    ----------
    source : str
        The file's name in messages.
    base_dir : path-like or None
        Where relative paths in the file start (its folder).
    at : str, datetime, float or None
        The time that overrides every ``at`` in the file (``--at``).
    """

    def __init__(self, source: str, base_dir=None, at=None):
        self.source = source
        self.base_dir = base_dir
        self.at = at
        self.top_at = None  # the file's top-level ``at``, set by the caller
        self._signals: dict = {}

    def path(self, p):
        """``p`` relative to the problem file's folder (absolute paths and None unchanged)."""
        return p if p is None or self.base_dir is None or Path(p).is_absolute() else str(Path(self.base_dir) / p)

    def fail(self, msg: str):
        raise ProblemError(f"{self.source}: {msg}")

    def keys(self, table, allowed: set, where: str) -> dict:
        if not isinstance(table, dict):
            self.fail(f"{where} must be a table, got {table!r}.")
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                self.fail(f"unknown key {key!r} in {where}.{hint} Valid keys: {', '.join(sorted(allowed))}.")
        return table

    def number(self, table: dict, key: str, where: str, *, required=True, default=None, positive=False,
               fix: str = ""):
        if key not in table:
            if required:
                self.fail(f"{where} lacks the required key {key!r}. Fix: add e.g. `{key} = ...`.")
            return default
        return self.value(table[key], f"{where}.{key}", positive=positive, fix=fix)

    def value(self, value, name: str, *, positive=False, fix: str = "") -> float:
        fix = fix or ("give a number > 0." if positive else "give a number >= 0.")
        try:
            return check_number(value, f"{self.source}: {name}", minimum=0, exclusive=positive, fix=fix)
        except ParameterError as exc:
            raise ProblemError(str(exc)) from None

    def string(self, table: dict, key: str, where: str, default=None):
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{where}.{key} must be a non-empty string, got {value!r}.")
        return value.strip()

    def array(self, raw: dict, key: str, where: str, fix: str) -> list:
        items = raw.get(key)
        if not isinstance(items, list) or not items or not all(isinstance(x, dict) for x in items):
            got = "it is missing" if items is None else f"got {items!r}"[:120]
            self.fail(f"{where} needs at least one [[{key}]] table ({got}). Fix: {fix}")
        return items

    def intensity(self, t: dict, where: str) -> tuple[float, str | None, str]:
        """A tier's or node's grid intensity [gCO2/kWh], its country (or None) and a label saying where it came from.

        ``carbon_intensity_g_per_kwh`` wins over ``country`` (kept as a label); ``carbon_signal`` excludes
        ``carbon_intensity_g_per_kwh`` and needs a time (the module docstring).
        """
        country = self.string(t, "country", where)
        intensity = self.number(t, "carbon_intensity_g_per_kwh", where, required=False)
        signal_path = self.string(t, "carbon_signal", where)
        if signal_path is None:
            for key in ("at", "signal_unit"):
                if key in t:
                    self.fail(f"{where} gives {key} = {t[key]!r} without a carbon_signal. Fix: add carbon_signal = "
                              "\"intensity.csv\" (columns time,g_per_kwh) or remove it.")
            if intensity is None and country is None:
                self.fail(f"{where} has neither carbon_intensity_g_per_kwh nor country (nor a carbon_signal). Fix: add e.g. "
                          "carbon_intensity_g_per_kwh = 300, country = \"FRA\" or carbon_signal = \"intensity.csv\".")
            try:
                value = grid.carbon_intensity_g_per_kwh(country or "", override=intensity)
            except (ParameterError, UnknownNameError) as exc:
                raise ProblemError(f"{self.source}: {where}: {exc}") from None
            label = "carbon_intensity_g_per_kwh" if intensity is not None else f"country {country} (catalog grid)"
            return value, country, label
        if intensity is not None:
            self.fail(f"{where} gives both carbon_intensity_g_per_kwh = {intensity!r} and carbon_signal = "
                      f"{signal_path!r}. Fix: give one.")
        when = self.at if self.at is not None else t.get("at", self.top_at)
        if when is None:
            self.fail(f"{where} names carbon_signal = {signal_path!r} but no time. Fix: add at = "
                      "\"2023-06-08T12:00:00\" to the tier or the top of the file, or pass --at.")
        signal = self.signal(signal_path, self.string(t, "signal_unit", where, default="auto"), where)
        try:
            t_s, kind = parse_time(when, f"{where}.at")
        except ImportFormatError as exc:
            raise ProblemError(f"{self.source}: {exc}") from None
        if kind != signal.time_kind:
            self.fail(f"{where}: at = {when!r} is a {kind} but the signal {signal.source} is on a {signal.time_kind} "
                      f"clock. Fix: give at as a {'date and time' if signal.time_kind == 'datetime' else 'number of seconds'}.")
        try:
            value, i = intensity_at(signal, t_s)
        except ProblemError as exc:
            raise ProblemError(f"{self.source}: {where}.at: {exc}") from None
        label = (f"signal {signal.source} at {signal.label_time(t_s)}: slot {signal.label_time(float(signal.times_s[i]))}"
                 f" ({signal.step_s:g} s step, unit {signal.unit})")
        return value, country, label

    def signal(self, path: str, unit: str, where: str) -> CarbonSignal:
        key = (self.path(path), unit)
        if key not in self._signals:
            try:
                self._signals[key] = load_signal(key[0], unit=unit)
            except (ImportFormatError, ParameterError, UnknownNameError) as exc:
                raise ProblemError(f"{self.source}: {where}.carbon_signal: {exc}") from None
        return self._signals[key]


__all__ = ["INTENSITY_KEYS", "ProblemError", "ProblemFormatError", "Validator", "intensity_at", "read_problem_text",
           "toml_table"]
