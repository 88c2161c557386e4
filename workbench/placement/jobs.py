"""Deferrable jobs: what they are, the TOML file that lists them, and generated job sets.

A job file lists ``[[jobs]]`` tables::

    [[jobs]]
    name = "nightly-retrain"
    release = 2023-06-08T09:00:00Z   # TOML or ISO 8601 time (no offset: UTC), or seconds on the signal's clock
    duration_h = 3                   # or duration_s
    power_w = 400                    # or energy_kwh (then power = energy / duration)
    deadline_h = 24                  # hours after release; or deadline = <time>
    interruptible = false            # default false

A deadline before the job can finish is refused at once (:class:`~workbench.errors.InfeasibleError`,
``infeasible: job X needs N h but its window is M h ...``); other bad input as
:class:`~workbench.errors.ImportFormatError` naming the job and the key.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from workbench.bounds import PLAUSIBLE_MAXIMA
from workbench.checks import check_number
from workbench.errors import ImportFormatError, InfeasibleError, ParameterError
from workbench.placement.signal import CarbonSignal, parse_time
from workbench.units import J_PER_KWH

JOB_KEYS = {"name", "release", "duration_s", "duration_h", "power_w", "energy_kwh", "deadline", "deadline_h",
            "interruptible"}


@dataclass(frozen=True)
class Job:
    """A deferrable job.

    Attributes
    ----------
    name : str
    release_s : float
        Earliest start [s on the signal's clock: since 1970-01-01 UTC for dated signals].
    duration_s : float
        Run time [s], > 0.
    power_w : float
        Average draw while running [W], > 0.
    deadline_s : float
        Latest end [s], ≥ release + duration.
    interruptible : bool
        Whether the job may pause and resume (slot by slot) at no cost.

    Raises
    ------
    ParameterError
        A number that is not finite or out of range.
    InfeasibleError
        The deadline is before the job can finish.
    """

    name: str
    release_s: float
    duration_s: float
    power_w: float
    deadline_s: float
    interruptible: bool = False

    def __post_init__(self):
        check_number(self.release_s, f"job {self.name!r}: release_s")
        check_number(self.duration_s, f"job {self.name!r}: duration_s", minimum=0, exclusive=True)
        check_number(self.power_w, f"job {self.name!r}: power_w", minimum=0, exclusive=True,
                     maximum=PLAUSIBLE_MAXIMA["power_w"][0])
        check_number(self.deadline_s, f"job {self.name!r}: deadline_s")
        if not isinstance(self.interruptible, bool):
            raise ParameterError(f"job {self.name!r}: interruptible must be true or false, got "
                                 f"{self.interruptible!r}.")
        window = self.deadline_s - self.release_s
        if window < self.duration_s:
            raise InfeasibleError(
                f"infeasible: job {self.name!r} needs {self.duration_s / 3600:.4g} h but its window is "
                f"{window / 3600:.4g} h (release to deadline). Fix: move the deadline at least "
                f"{(self.duration_s - window) / 3600:.4g} h later, or shorten the job.")

    @property
    def energy_kwh(self) -> float:
        """Energy of one run [kWh]."""
        return self.power_w * self.duration_s / J_PER_KWH


def parse_jobs(data: dict, source: str = "jobs") -> list[Job]:
    """Jobs from a parsed job file (the dict :mod:`tomllib` gives).

    Parameters
    ----------
    data : dict
        With a list ``jobs`` of tables (see the module docstring).
    source : str
        The file's name, for messages.

    Returns
    -------
    list of Job

    Raises
    ------
    ImportFormatError
        No jobs, an unknown or missing key, a value of the wrong kind, a repeated name.
    InfeasibleError
        A deadline before the job can finish.

    Examples
    --------
    >>> parse_jobs({"jobs": [{"name": "a", "release": 0, "duration_h": 1, "power_w": 100, "deadline_h": 4}]})[0]
    Job(name='a', release_s=0.0, duration_s=3600.0, power_w=100.0, deadline_s=14400.0, interruptible=False)
    """
    tables = data.get("jobs")
    extra = set(data) - {"jobs"}
    if extra:
        raise ImportFormatError(f"{source}: unknown top-level key(s) {sorted(extra)}. Fix: list jobs as [[jobs]] "
                                "tables.")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ImportFormatError(f"{source}: no [[jobs]] tables. Fix: add at least one [[jobs]] table with name, "
                                "release, duration_h, power_w and deadline_h.")
    jobs, names = [], set()
    for k, t in enumerate(tables, start=1):
        name = t.get("name", f"#{k}")
        where = f"{source}, job {name!r}"
        if not isinstance(name, str) or not name:
            raise ImportFormatError(f"{source}, job #{k}: name must be a non-empty string, got {name!r}.")
        if name in names:
            raise ImportFormatError(f"{where}: the name is used twice. Fix: give each job its own name.")
        names.add(name)
        for key in set(t) - JOB_KEYS:
            close = difflib.get_close_matches(key, JOB_KEYS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ImportFormatError(f"{where}: unknown key {key!r}.{hint} Valid keys: {', '.join(sorted(JOB_KEYS))}.")
        release = parse_time(_need(t, "release", where), f"{where}: release")[0]
        duration_s = _one_of(t, where, {"duration_s": 1.0, "duration_h": 3600.0})
        if "power_w" in t and "energy_kwh" in t:
            raise ImportFormatError(f"{where}: both power_w and energy_kwh. Fix: give one.")
        if "energy_kwh" in t:
            power_w = _number(t, "energy_kwh", where) * J_PER_KWH / duration_s
        else:
            power_w = _number(t, "power_w", where) if "power_w" in t else _missing(where, "power_w or energy_kwh")
        if ("deadline" in t) == ("deadline_h" in t):
            raise ImportFormatError(f"{where}: give exactly one of deadline (a time) and deadline_h (hours after "
                                    "release).")
        if "deadline" in t:  # a time; a bare number is seconds on the signal's clock, like release
            deadline = parse_time(t["deadline"], f"{where}: deadline")[0]
        else:
            deadline = release + _number(t, "deadline_h", where) * 3600.0
        interruptible = t.get("interruptible", False)
        if not isinstance(interruptible, bool):
            raise ImportFormatError(f"{where}: interruptible must be true or false, got {interruptible!r}.")
        try:
            jobs.append(Job(name, release, duration_s, power_w, deadline, interruptible))
        except ParameterError as exc:
            raise ImportFormatError(f"{source}: {exc}") from None
    return jobs


def load_jobs(path) -> list[Job]:
    """Read a job file (TOML, ``[[jobs]]`` tables; see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    list of Job

    Raises
    ------
    ImportFormatError
        A missing file, bad TOML, or a bad job (see :func:`parse_jobs`).
    InfeasibleError
        A deadline before the job can finish.
    """
    p = Path(path)
    if not p.is_file():
        raise ImportFormatError(f"job file {p} does not exist. Fix: give the path of a TOML file with [[jobs]] "
                                "tables.")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"job file {p} is not valid TOML ({exc}). Fix: correct the file.") from None
    return parse_jobs(data, source=f"job file {p}")


def periodic_jobs(signal: CarbonSignal, *, every_h: float = 6.0, durations_h=(1, 2, 3, 4, 5, 6, 7, 8),
                  window_h: float = 24.0, power_w: float = 1000.0, interruptible: bool = False) -> list[Job]:
    """A job released every ``every_h`` hours from the signal's start, cycling through ``durations_h``.

    Each job may run anywhere in ``window_h`` hours from its release; jobs whose window would pass the
    signal's end are left out.

    Parameters
    ----------
    signal : CarbonSignal
    every_h : float
        Hours between releases [h].
    durations_h : sequence of float
        Durations, used in turn [h].
    window_h : float
        Deadline after release [h], ≥ the longest duration.
    power_w : float
        Power of every job [W] (the saving of a set does not depend on it).
    interruptible : bool

    Returns
    -------
    list of Job
    """
    every_h = check_number(every_h, "every_h", minimum=0, exclusive=True)
    window_h = check_number(window_h, "window_h", minimum=0, exclusive=True)
    durations = [check_number(d, "durations_h", minimum=0, exclusive=True) for d in durations_h]
    jobs, t, k = [], float(signal.times_s[0]), 0
    while t + window_h * 3600 <= signal.end_s:
        d = durations[k % len(durations)]
        jobs.append(Job(f"p{k}-{d:g}h", t, d * 3600, power_w, t + window_h * 3600, interruptible))
        t += every_h * 3600
        k += 1
    return jobs


def working_hours_jobs(signal: CarbonSignal, *, utc_offset_h: float = 0.0, every_h: float = 1.0,
                       durations_h=(1, 2, 3, 4, 5, 6, 7, 8), power_w: float = 1000.0,
                       interruptible: bool = False) -> list[Job]:
    """Jobs submitted in working hours whose results are wanted by the next working morning.

    A job is released every ``every_h`` hours from 9:00 to 17:00 (exclusive) local time on Monday to
    Friday, with durations taken in turn from ``durations_h``; its deadline is its earliest finish if
    that falls in working hours, else the next working day's 9:00 (the "next workday" rule of Wiesner et
    al.'s simulator, ``AdHocStrategy._forecast_duration``). Jobs whose deadline passes the signal's end are
    left out. The paper draws 3,387 jobs of 4–89.5 h over 2020; this set is smaller and deterministic.

    Parameters
    ----------
    signal : CarbonSignal
        A dated signal (``time_kind == "datetime"``).
    utc_offset_h : float
        Local time = the signal's time + this [h] (e.g. −7 for CAISO's UTC times in Pacific summer time).
    every_h : float
        Hours between releases within a working day [h].
    durations_h : sequence of float
        Durations, used in turn [h].
    power_w : float
        Power of every job [W].
    interruptible : bool

    Returns
    -------
    list of Job
    """
    if signal.time_kind != "datetime":
        raise ParameterError("working_hours_jobs needs a dated signal. Fix: use periodic_jobs for a signal in "
                             "seconds.")
    offset = timedelta(hours=check_number(utc_offset_h, "utc_offset_h", minimum=-14, maximum=14))
    every = timedelta(hours=check_number(every_h, "every_h", minimum=0, exclusive=True))
    durations = [check_number(d, "durations_h", minimum=0, exclusive=True) for d in durations_h]
    start = datetime.fromtimestamp(float(signal.times_s[0]), tz=timezone.utc) + offset
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    last = datetime.fromtimestamp(signal.end_s, tz=timezone.utc) + offset
    jobs, k = [], 0
    while day < last:
        t = day + timedelta(hours=9)
        while day.weekday() < 5 and t < day + timedelta(hours=17):
            if t >= start:
                d = durations[k % len(durations)]
                deadline = _next_working_time(t + timedelta(hours=d))
                if deadline <= last:
                    jobs.append(Job(f"w{k}-{d:g}h", (t - offset).timestamp(), d * 3600, power_w,
                                    (deadline - offset).timestamp(), interruptible))
                k += 1
            t += every
        day += timedelta(days=1)
    return jobs


def _next_working_time(t: datetime) -> datetime:
    """``t`` if in working hours (Mon–Fri 9:00–17:00), else the next working day's 9:00."""
    nine = t.replace(hour=9, minute=0, second=0, microsecond=0)
    if t.weekday() < 5 and nine <= t <= nine + timedelta(hours=8):
        return t
    day = nine if t < nine else nine + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _need(t: dict, key: str, where: str):
    if key not in t:
        _missing(where, key)
    return t[key]


def _missing(where: str, key: str):
    raise ImportFormatError(f"{where}: missing {key}. Fix: add it to the [[jobs]] table.")


def _number(t: dict, key: str, where: str) -> float:
    v = t[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ImportFormatError(f"{where}: {key} must be a number, got {v!r}.")
    try:
        return check_number(v, key, minimum=0, exclusive=True)
    except ParameterError as exc:
        raise ImportFormatError(f"{where}: {exc}") from None


def _one_of(t: dict, where: str, keys: dict[str, float]) -> float:
    given = [k for k in keys if k in t]
    if len(given) != 1:
        raise ImportFormatError(f"{where}: give exactly one of {' and '.join(keys)}, got {given or 'neither'}.")
    return _number(t, given[0], where) * keys[given[0]]
