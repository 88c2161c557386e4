"""Carbon-intensity signals: a regular time series of grid intensity [gCO2/kWh], read and validated.

A signal is a CSV file whose first column is the time and whose second is the intensity; the header
names are free (the CAISO North file of ``../shared/data/vessim-carbon-signal`` has a garbled first
header). Times are ISO 8601 (``2023-06-08 00:05:00``, with or without an offset) or numbers of
seconds; a time without an offset is read as UTC, as given (the Germany file's local times are kept
as they are: it has no daylight-saving jumps). Slot ``i`` covers ``[times_s[i], times_s[i] + step_s)``.

Units are converted here, at the edge: ``g_per_kwh`` (gCO2/kWh, also gCO2e/kWh) or ``lbs_per_mwh``
(WattTime's marginal operating emissions rate, lbs CO2/MWh; 1 lb/MWh = 0.45359237 g/kWh exactly).
``unit="auto"`` takes lbs/MWh when the intensity header names pounds (``lbs``) or a WattTime/MOER
series (WattTime's region names such as ``Caiso_North``), else gCO2/kWh; the choice and its reason
are kept on the signal (:attr:`CarbonSignal.unit_reason`).

Every bad file is refused with one :class:`~workbench.errors.ImportFormatError` naming the line and
the fix: a cell that is not a time or a number, NaN or infinite intensity, a negative one, one above
:data:`workbench.catalog.grid.MAX_PLAUSIBLE_G_PER_KWH` (a unit slip; ``allow_implausible`` accepts
it), repeated or unsorted times, and gaps (a step longer than the series' usual step). A gap of
whole missing slots may be filled by linear interpolation when the caller allows it
(``fill_gaps_up_to_s``; the Germany 2020 file misses two 15-min slots on 2020-12-19).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from workbench.catalog.grid import MAX_PLAUSIBLE_G_PER_KWH, MAX_PLAUSIBLE_REASON
from workbench.checks import check_number
from workbench.errors import ImportFormatError, UnknownNameError

G_PER_KWH_PER_LB_PER_MWH = 0.45359237
"""1 lb CO2/MWh in g CO2/kWh: 453.59237 g (the international avoirdupois pound, exact) per 1,000 kWh."""

UNITS = {"g_per_kwh": 1.0, "lbs_per_mwh": G_PER_KWH_PER_LB_PER_MWH}
"""Units a signal file may be in → factor to gCO2/kWh."""

WATTTIME_MARKERS = ("caiso", "moer", "watttime", "ercot", "pjm", "miso", "spp_", "nyiso", "isone")
"""Header words naming a WattTime marginal-emissions series, which WattTime gives in lbs CO2/MWh
(vessim's ``WatttimeSignal`` docstring; WattTime API v2/v3 ``moer`` unit)."""


@dataclass(frozen=True)
class CarbonSignal:
    """A regular carbon-intensity series.

    Attributes
    ----------
    times_s : numpy.ndarray
        Start of each slot [s since 1970-01-01 UTC, or the file's own seconds], strictly increasing by ``step_s``.
    g_per_kwh : numpy.ndarray
        Intensity in each slot [gCO2/kWh], finite and ≥ 0.
    step_s : float
        Slot length [s].
    source : str
        Where the values come from (a path, or a description).
    unit : str
        The unit of the source values, a key of :data:`UNITS`.
    unit_reason : str
        Why that unit (given by the caller, or what ``unit="auto"`` saw).
    time_kind : str
        ``"datetime"`` (times were dates, printed as ISO 8601 UTC) or ``"seconds"``.
    filled_slots : int
        Slots filled by linear interpolation over gaps.
    """

    times_s: np.ndarray
    g_per_kwh: np.ndarray
    step_s: float
    source: str = "array"
    unit: str = "g_per_kwh"
    unit_reason: str = "given"
    time_kind: str = "seconds"
    filled_slots: int = 0

    def __len__(self) -> int:
        return len(self.g_per_kwh)

    @property
    def end_s(self) -> float:
        """End of the last slot [s]."""
        return float(self.times_s[-1] + self.step_s)

    @classmethod
    def from_values(cls, g_per_kwh, step_s: float, *, start_s: float = 0.0, source: str = "array",
                    time_kind: str = "seconds", allow_implausible: bool = False) -> CarbonSignal:
        """A signal from intensities on a regular grid.

        Parameters
        ----------
        g_per_kwh : array_like
            Intensity per slot [gCO2/kWh].
        step_s : float
            Slot length [s], > 0.
        start_s : float
            Start of the first slot [s].
        source : str
            A description kept on the signal.
        time_kind : str
            ``"seconds"`` or ``"datetime"`` (``start_s`` is then seconds since the epoch, UTC).
        allow_implausible : bool
            Accept intensities above :data:`~workbench.catalog.grid.MAX_PLAUSIBLE_G_PER_KWH`.

        Returns
        -------
        CarbonSignal

        Raises
        ------
        ImportFormatError
            NaN, negative or implausible values, fewer than 2 slots.

        Examples
        --------
        >>> s = CarbonSignal.from_values([300.0, 120.0, 250.0], step_s=3600)
        >>> len(s), s.end_s
        (3, 10800.0)
        """
        step_s = check_number(step_s, "step_s", minimum=0, exclusive=True)
        start_s = check_number(start_s, "start_s")
        values = np.asarray(g_per_kwh, dtype=float).ravel()
        _check_values(values, [f"slot {i}" for i in range(len(values))], source, allow_implausible)
        times = start_s + step_s * np.arange(len(values), dtype=float)
        return cls(times, values, step_s, source=source, time_kind=time_kind)

    def format_time(self, t_s: float) -> str | float:
        """A time [s] as the signal prints it: ISO 8601 UTC (``2023-06-08T09:00:00Z``) or seconds."""
        if self.time_kind == "datetime":
            return datetime.fromtimestamp(t_s, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return float(t_s)

    def label_time(self, t_s: float) -> str:
        """A time [s] for a message: ISO 8601 UTC, or ``"5400 s"``."""
        return self.format_time(t_s) if self.time_kind == "datetime" else f"{t_s:g} s"

    def describe(self) -> dict:
        """A JSON-ready summary: source, unit and conversion, step, slots, span, filled slots."""
        return {"source": self.source, "unit": self.unit, "unit_reason": self.unit_reason,
                "factor_to_g_per_kwh": UNITS[self.unit], "step_s": self.step_s, "n_slots": len(self),
                "start": self.format_time(float(self.times_s[0])), "end": self.format_time(self.end_s),
                "filled_slots": self.filled_slots,
                "mean_g_per_kwh": float(self.g_per_kwh.mean())}


def parse_time(value, what: str) -> tuple[float, str]:
    """A time as seconds, and its kind.

    Parameters
    ----------
    value : str, datetime.datetime, int or float
        ISO 8601 text or a datetime (without an offset: read as UTC), or a number of seconds.
    what : str
        What the value is, for the message.

    Returns
    -------
    (float, str)
        The time [s since the epoch, UTC, or the given seconds] and ``"datetime"`` or ``"seconds"``.

    Raises
    ------
    ImportFormatError
        Neither a time nor a number.

    Examples
    --------
    >>> parse_time("1970-01-01 01:00", "t")
    (3600.0, 'datetime')
    """
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return dt.timestamp(), "datetime"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ImportFormatError(f"{what}: {value!r} is not a time. Fix: give a finite number of seconds.")
        return float(value), "seconds"
    text = str(value).strip()
    try:
        return float(text), "seconds"
    except ValueError:
        pass
    try:
        return parse_time(datetime.fromisoformat(text), what)
    except ValueError:
        raise ImportFormatError(f"{what}: {text!r} is neither an ISO 8601 time nor a number of seconds. "
                                "Fix: write times as 2023-06-08 00:05:00 (UTC unless an offset is given) "
                                "or as seconds.") from None


def load_signal(path, *, unit: str = "auto", fill_gaps_up_to_s: float = 0.0,
                allow_implausible: bool = False) -> CarbonSignal:
    """Read a carbon-intensity CSV file (first column time, second intensity) into a validated signal.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file. A header row is recognised by a second cell that is not a number; its names are free.
    unit : str
        ``"auto"`` (see the module docstring), ``"g_per_kwh"`` or ``"lbs_per_mwh"``.
    fill_gaps_up_to_s : float
        Fill gaps of whole missing slots no longer than this [s] (the missing span) by linear
        interpolation; 0 (default) refuses every gap.
    allow_implausible : bool
        Accept intensities above :data:`~workbench.catalog.grid.MAX_PLAUSIBLE_G_PER_KWH` [gCO2/kWh].

    Returns
    -------
    CarbonSignal
        Values in gCO2/kWh.

    Raises
    ------
    ImportFormatError
        Missing or unreadable file, a bad cell, NaN, negative or implausible intensity, repeated or
        unsorted times, a gap or an irregular step; the message names the line and the fix.
    UnknownNameError
        An unknown ``unit``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ci.csv"
    >>> _ = p.write_text("time,g_per_kwh\\n2024-01-01 00:00,300\\n2024-01-01 01:00,100\\n")
    >>> s = load_signal(p)
    >>> s.step_s, s.g_per_kwh.tolist(), s.unit
    (3600.0, [300.0, 100.0], 'g_per_kwh')
    """
    if unit != "auto" and unit not in UNITS:
        raise UnknownNameError("signal unit", unit, ["auto", *UNITS])
    fill_gaps_up_to_s = check_number(fill_gaps_up_to_s, "fill_gaps_up_to_s", minimum=0)
    p = Path(path)
    if not p.is_file():
        raise ImportFormatError(f"signal file {p} does not exist. Fix: give the path of a CSV file with "
                                "columns time,g_per_kwh.")
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            rows = [(n, r) for n, r in enumerate(csv.reader(f), start=1) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportFormatError(f"signal file {p} cannot be read as CSV text ({exc}). Fix: give a UTF-8 CSV "
                                "file with columns time,g_per_kwh.") from None
    header = None
    first = rows[0][1] if rows else []
    if rows and not _is_number(first[1] if len(first) > 1 else ""):
        header, rows = (first[1] if len(first) > 1 else ""), rows[1:]
    if len(rows) < 2:
        raise ImportFormatError(f"signal file {p} has {len(rows)} data rows. Fix: give at least two rows of "
                                "time,g_per_kwh.")
    unit, reason = _resolve_unit(unit, header)
    times, values, lines, kinds = [], [], [], set()
    for n, r in rows:
        if len(r) < 2:
            raise ImportFormatError(f"signal file {p}, line {n}: {len(r)} cell(s), expected time,g_per_kwh. "
                                    "Fix: give both columns on every row.")
        t, kind = parse_time(r[0], f"signal file {p}, line {n}")
        kinds.add(kind)
        try:
            v = float(r[1])
        except ValueError:
            raise ImportFormatError(f"signal file {p}, line {n}: intensity {r[1]!r} is not a number. "
                                    "Fix: give a number in the second column.") from None
        times.append(t)
        values.append(v * UNITS[unit])
        lines.append(f"line {n}")
    if len(kinds) > 1:
        raise ImportFormatError(f"signal file {p} mixes ISO times and numbers of seconds. Fix: write every "
                                "time the same way.")
    values = np.asarray(values, dtype=float)
    _check_values(values, lines, f"signal file {p}", allow_implausible, unit)
    times = np.asarray(times, dtype=float)
    times, values, step, filled = _regularise(times, values, lines, f"signal file {p}", fill_gaps_up_to_s)
    return CarbonSignal(times, values, step, source=str(p), unit=unit, unit_reason=reason,
                        time_kind=kinds.pop(), filled_slots=filled)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _resolve_unit(unit: str, header: str | None) -> tuple[str, str]:
    if unit != "auto":
        return unit, "given by the caller"
    name = (header or "").strip().lower()
    if "lb" in name.replace("_", " ").split() or "lbs" in name:
        return "lbs_per_mwh", f"header {header!r} names pounds"
    if any(m in name for m in WATTTIME_MARKERS):
        return "lbs_per_mwh", (f"header {header!r} names a WattTime marginal-emissions series, which WattTime "
                               "gives in lbs CO2/MWh")
    return "g_per_kwh", f"header {header!r} names no other unit" if header else "no header: gCO2/kWh assumed"


def _check_values(values: np.ndarray, lines: list[str], where: str, allow_implausible: bool,
                  unit: str = "g_per_kwh") -> None:
    if len(values) < 2:
        raise ImportFormatError(f"{where}: {len(values)} slot(s). Fix: give at least two.")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ImportFormatError(f"{where}, {lines[bad[0]]}: intensity {values[bad[0]]} is not a finite number "
                                f"({bad.size} such row(s)). Fix: fill the missing values; a signal must be "
                                "complete.")
    bad = np.flatnonzero(values < 0)
    if bad.size:
        raise ImportFormatError(f"{where}, {lines[bad[0]]}: intensity {values[bad[0]]:g} g/kWh is negative "
                                f"({bad.size} such row(s)). Fix: a grid intensity is ≥ 0; check the column.")
    bad = np.flatnonzero(values > MAX_PLAUSIBLE_G_PER_KWH)
    if bad.size and not allow_implausible:
        raise ImportFormatError(
            f"{where}, {lines[bad[0]]}: intensity {values[bad[0]]:g} g/kWh (read as {unit}) is above "
            f"{MAX_PLAUSIBLE_G_PER_KWH:g} g/kWh ({MAX_PLAUSIBLE_REASON}; {bad.size} such row(s)). Fix: give "
            "gCO2/kWh (or unit='lbs_per_mwh' for WattTime data), or allow_implausible=True "
            "(CLI: --allow-implausible) if it is meant.")


def _regularise(times, values, lines, where, fill_up_to_s):
    diffs = np.diff(times)
    bad = np.flatnonzero(diffs <= 0)
    if bad.size:
        i = bad[0] + 1
        what = "repeats the time of" if diffs[bad[0]] == 0 else "has a time before that of"
        raise ImportFormatError(f"{where}, {lines[i]} {what} {lines[i - 1]} ({_fmt(times[i])} after "
                                f"{_fmt(times[i - 1])}). Fix: sort the file by time and keep one row per time.")
    uniq, counts = np.unique(diffs, return_counts=True)
    step = float(uniq[np.argmax(counts)])
    ratio = diffs / step
    whole = np.abs(ratio - np.round(ratio)) <= 1e-6
    bad = np.flatnonzero(~whole)
    if bad.size:
        i = bad[0] + 1
        raise ImportFormatError(f"{where}, {lines[i]}: irregular step of {diffs[bad[0]]:g} s after {lines[i - 1]} "
                                f"(the series' step is {step:g} s). Fix: resample the file to a regular step.")
    missing = np.round(ratio).astype(int) - 1
    gaps = np.flatnonzero(missing > 0)
    if not gaps.size:
        return times, values, step, 0
    longest = int(missing.max()) * step
    if longest > fill_up_to_s:
        i = gaps[0] + 1
        raise ImportFormatError(
            f"{where}, {lines[i]}: gap of {missing[gaps[0]]} missing slot(s) of {step:g} s after {lines[i - 1]} "
            f"({_fmt(times[i - 1])} to {_fmt(times[i])}; {gaps.size} gap(s) in all, the longest "
            f"{longest:g} s). Fix: complete the file, or fill gaps by linear interpolation with "
            f"fill_gaps_up_to_s={longest:g} (CLI: --fill-gaps-s {longest:g}).")
    full = times[0] + step * np.arange(int(round((times[-1] - times[0]) / step)) + 1)
    return full, np.interp(full, times, values), step, int(missing.sum())


def _fmt(t_s: float) -> str:
    if abs(t_s) > 1e8:  # a date, not a small number of seconds
        return datetime.fromtimestamp(t_s, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"{t_s:g} s"
