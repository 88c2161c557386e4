"""Replay backend: energy integrated from a recorded power trace.

The trace gives power samples ``power_w`` at times ``time_s`` (seconds from the trace's start).
``start()`` aligns the trace's time 0 with the meter clock; ``stop()`` integrates the trace between
the elapsed start and stop offsets with the trapezoidal rule, interpolating linearly at the window's
ends and holding the last sample beyond the trace. Code that consumes measurements can so be tested
on a machine without power sensors, and recorded traces can be re-analysed offline.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import polars as pl

from workbench.bounds import PLAUSIBLE_MAXIMA
from workbench.errors import MeterError, ParameterError
from workbench.measure.energy.base import EnergyMeter, EnergyReading


def integrate_trace(time_s, power_w, t0_s: float, t1_s: float) -> float:
    """Energy [J] of a piecewise-linear power trace between ``t0_s`` and ``t1_s`` [s].

    Examples
    --------
    >>> integrate_trace([0, 1, 2], [10, 10, 20], 0, 2)
    25.0
    """
    t = np.asarray(time_s, dtype=float)
    p = np.asarray(power_w, dtype=float)
    if t.ndim != 1 or t.shape != p.shape or t.size < 1:
        raise ParameterError("a power trace needs 1-D time_s and power_w arrays of the same length (>= 1).")
    if np.any(np.diff(t) <= 0):
        raise ParameterError("trace time_s must be strictly increasing.")
    if np.any(~np.isfinite(p)) or np.any(p < 0):
        raise ParameterError("trace power_w must be finite and >= 0 W.")
    if t1_s < t0_s:
        raise ParameterError(f"window end {t1_s} s is before its start {t0_s} s.")
    # extend the trace flat to cover the window on both sides
    lo, hi = min(t0_s, t[0]), max(t1_s, t[-1])
    t_ext = np.concatenate(([lo], t, [hi]))
    p_ext = np.concatenate(([p[0]], p, [p[-1]]))
    inner = (t_ext > t0_s) & (t_ext < t1_s)
    pts = np.concatenate(([t0_s], t_ext[inner], [t1_s]))
    pw = np.interp(pts, t_ext, p_ext)
    return float(np.sum((pw[1:] + pw[:-1]) * np.diff(pts)) / 2.0)


class ReplayMeter(EnergyMeter):
    """Energy meter fed by a recorded power trace.

    Parameters
    ----------
    time_s, power_w : array-like
        The trace: sample times [s] and power [W].
    clock : callable, optional
        Monotonic clock in seconds (injectable for exact tests); ``time.perf_counter`` by default.
    """

    name = "replay"

    def __init__(self, time_s, power_w, clock=time.perf_counter):
        self.time_s = np.asarray(time_s, dtype=float)
        self.power_w = np.asarray(power_w, dtype=float)
        integrate_trace(self.time_s, self.power_w, 0.0, 0.0)  # validates the trace
        self.clock = clock
        self._t0 = None

    @classmethod
    def from_csv(cls, path, clock=time.perf_counter) -> "ReplayMeter":
        """Load a trace from a CSV file with columns ``time_s`` [s] and ``power_w`` [W].

        Raises
        ------
        MeterError
            The file is missing or unreadable, lacks a column, holds a value that is not a number
            (named with its row), or a power above the plausibility bound
            (:data:`workbench.schema.PLAUSIBLE_MAXIMA`).
        """
        path = Path(path)
        if not path.is_file():
            raise MeterError(f"power trace {path} is not a file. Fix: give --trace a CSV with columns time_s and "
                             "power_w.")
        try:
            df = pl.read_csv(path, infer_schema=False)
        except Exception as exc:  # noqa: BLE001 - polars raises ComputeError, NoDataError, ... on bad files
            raise MeterError(f"cannot read power trace {path}: {str(exc).splitlines()[0]}. Fix: write it as a "
                             "comma-separated CSV with a header line 'time_s,power_w'.") from None
        missing = {"time_s", "power_w"} - set(df.columns)
        if missing:
            raise MeterError(f"power trace {path} lacks column(s) {sorted(missing)} (found {df.columns}). "
                             "Fix: name the columns time_s and power_w.")
        cols = {}
        for c in ("time_s", "power_w"):
            cols[c] = df[c].str.strip_chars().cast(pl.Float64, strict=False)
            bad = cols[c].is_null()  # empty or not a number
            if bool(bad.any()):
                i = int(bad.arg_max())
                raise MeterError(f"power trace {path}: {c} in data row {i + 1} is {df[c][i]!r}, not a number. "
                                 "Fix: every row needs numeric time_s [s] and power_w [W].")
        bound, why = PLAUSIBLE_MAXIMA["power_w"]
        if bool((cols["power_w"] > bound).any()):
            raise MeterError(f"power trace {path}: power_w reaches {cols['power_w'].max():g} W, above the "
                             f"plausibility bound {bound:g} W ({why}). Fix: check the unit (W, not mW).")
        return cls(cols["time_s"].to_numpy(), cols["power_w"].to_numpy(), clock=clock)

    def start(self) -> None:
        self._t0 = self.clock()

    def stop(self) -> EnergyReading:
        if self._t0 is None:
            raise MeterError("ReplayMeter.stop() called before start().")
        dt = self.clock() - self._t0
        self._t0 = None
        energy = integrate_trace(self.time_s, self.power_w, 0.0, dt)
        return EnergyReading(energy, dt, "replay", {"meter": "replay"})
