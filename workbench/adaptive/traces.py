"""Time series the replay runs on: bandwidth and RTT, carbon intensity, requests; validated and resampled.

A :class:`Series` is sorted sample times [s] and finite, non-negative values with a unit in its name and a
provenance string that every operation extends (so a number in a result can say where it came from).
Validation refuses unsorted or repeated times, negative or non-finite values and gaps (a step longer than
``max_gap_steps`` times the series' usual step), each with one :class:`~workbench.errors.ImportFormatError`
naming the sample and the fix.

Sources:

- :func:`gophers_bandwidth`: the 5Gophers 1.0 per-second throughput traces (Narayanan et al., WWW 2020, CC BY
  4.0, read in place from ``../shared/data/5gophers-network-traces`` through
  :func:`workbench.placement.traces.trace_dir`): ``walking`` (one phone, 4G and 5G, 603 s) or ``car_1`` /
  ``car_2`` (per carrier, 120 s each). Throughput is downlink (an offloaded input goes uplink, slower: the
  traces are optimistic for offloading, as :mod:`workbench.placement.traces` says). ``time_scale`` stretches
  time (one trace second stands for ``time_scale`` seconds), a stated assumption when mobility is put on the
  same axis as hourly grid data.
- :func:`gophers_rtt`: the carriers' RTT samples of ``round_trip_times.csv`` in file order, one per second (the
  file has no time column: reading its order as time is a workbench assumption), or their median.
- :func:`carbon_series`: a carbon-intensity file through :func:`workbench.placement.signal.load_signal`
  (CAISO North, any ``time,g_per_kwh`` CSV).
- :func:`poisson_requests`: request counts per interval, Poisson at a rate, seeded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from workbench.checks import check_int, check_number
from workbench.errors import ImportFormatError, ParameterError, UnknownNameError
from workbench.placement.signal import load_signal
from workbench.placement.traces import CITATION, trace_dir

GOPHERS_TRACES = {"walking": "mobility_walking.csv", "car_1": "mobility_car_1.csv", "car_2": "mobility_car_2.csv"}
"""5Gophers mobility traces by name → file."""

CARRIERS = {"sprint": "Sprint", "tmobile": "TMobile", "verizon": "Verizon"}
"""Carriers of the car traces (column prefix) and of the RTT file (upper-cased)."""


@dataclass(frozen=True)
class Series:
    """A validated time series.

    Attributes
    ----------
    times_s : numpy.ndarray
        Sample times [s], strictly increasing.
    values : numpy.ndarray
        Finite values ≥ 0, in ``unit``.
    name : str
        The quantity, with its unit (``bandwidth_mbps``, ``rtt_ms``, ``carbon_g_per_kwh``, ...).
    source : str
        Where the values came from and what was done to them.
    """

    times_s: np.ndarray
    values: np.ndarray
    name: str
    source: str = "array"

    def __len__(self) -> int:
        return len(self.values)


def make_series(times_s, values, name: str, source: str = "array", *, max_gap_steps: float = 1.5) -> Series:
    """A :class:`Series`, validated.

    Parameters
    ----------
    times_s : array_like
        Sample times [s].
    values : array_like
        Values, one per time.
    name : str
        The quantity with its unit.
    source : str
        Provenance.
    max_gap_steps : float
        A step longer than this many times the median step is a gap.

    Returns
    -------
    Series

    Raises
    ------
    ImportFormatError
        Fewer than 2 samples, lengths that differ, non-finite or negative values, unsorted or repeated times, gaps.

    Examples
    --------
    >>> make_series([0, 1, 2], [5.0, 7.5, 6.0], "bandwidth_mbps").values.tolist()
    [5.0, 7.5, 6.0]
    """
    t = np.asarray(times_s, dtype=float).ravel()
    v = np.asarray(values, dtype=float).ravel()
    where = f"{name} ({source})"
    if len(t) != len(v) or len(v) < 2:
        raise ImportFormatError(f"{where}: {len(t)} time(s) and {len(v)} value(s). Fix: give at least two samples, "
                                "one value per time.")
    for arr, what in ((t, "time"), (v, "value")):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ImportFormatError(f"{where}: sample {bad[0]} has {what} {arr[bad[0]]} ({bad.size} such). Fix: "
                                    "fill or drop the missing samples.")
    bad = np.flatnonzero(v < 0)
    if bad.size:
        raise ImportFormatError(f"{where}: sample {bad[0]} (t = {t[bad[0]]:g} s) is negative ({v[bad[0]]:g}; "
                                f"{bad.size} such). Fix: a {name} is ≥ 0; check the column and its unit.")
    d = np.diff(t)
    bad = np.flatnonzero(d <= 0)
    if bad.size:
        i = bad[0] + 1
        what = "repeats" if d[bad[0]] == 0 else "comes before"
        raise ImportFormatError(f"{where}: sample {i} (t = {t[i]:g} s) {what} sample {i - 1} (t = {t[i - 1]:g} s). "
                                "Fix: sort the samples by time, one per time.")
    step = float(np.median(d))
    bad = np.flatnonzero(d > max_gap_steps * step)
    if bad.size:
        i = bad[0]
        raise ImportFormatError(f"{where}: gap of {d[i]:g} s between t = {t[i]:g} s and t = {t[i + 1]:g} s (the "
                                f"usual step is {step:g} s; {bad.size} gap(s)). Fix: complete the trace, or cut it "
                                "at the gap.")
    return Series(t, v, name, source)


def resample(series: Series, step_s: float, n: int, *, start_s: float | None = None) -> Series:
    """``series`` on a regular grid of ``n`` intervals of ``step_s``: each interval's value is the mean of the
    samples inside it, or, where none falls inside, the last sample before its start (sample and hold).

    Parameters
    ----------
    series : Series
    step_s : float
        Interval length [s], > 0.
    n : int
        Number of intervals.
    start_s : float, optional
        Start of the first interval [s] (default: the first sample's time).

    Returns
    -------
    Series
        Times = interval starts; the source says how it was resampled.

    Raises
    ------
    ParameterError
        The grid starts before the first sample or ends after the last sample + its step (no extrapolation).

    Examples
    --------
    >>> s = make_series([0, 1, 2, 3], [1.0, 3.0, 5.0, 7.0], "bandwidth_mbps")
    >>> resample(s, 2.0, 2).values.tolist()
    [2.0, 6.0]
    """
    step_s = check_number(step_s, "step_s", minimum=0, exclusive=True)
    n = check_int(n, "n")
    t, v = series.times_s, series.values
    start = float(t[0]) if start_s is None else float(start_s)
    own_step = float(np.median(np.diff(t)))
    end = start + n * step_s
    if start < t[0] or end > t[-1] + own_step + 1e-9:
        raise ParameterError(f"{series.name}: the grid [{start:g}, {end:g}) s is not inside the trace "
                             f"[{t[0]:g}, {t[-1] + own_step:g}) s. Fix: fewer intervals, a shorter step, or a "
                             "longer trace.")
    edges = start + step_s * np.arange(n + 1)
    first = np.searchsorted(t, edges[:-1], side="left")
    last = np.searchsorted(t, edges[1:], side="left")
    sums = np.concatenate([[0.0], np.cumsum(v)])
    counts = last - first
    held = v[np.maximum(np.searchsorted(t, edges[:-1], side="right") - 1, 0)]
    out = np.where(counts > 0, (sums[last] - sums[first]) / np.maximum(counts, 1), held)
    return Series(edges[:-1], out, series.name,
                  f"{series.source}; resampled to {n} × {step_s:g} s from {start:g} s (mean per interval, "
                  "sample-and-hold where none)")


def gophers_bandwidth(data_dir, trace: str = "walking", *, carrier: str = "verizon", time_scale: float = 1.0,
                      radio_type: str | None = None, max_gap_steps: float = 1.5) -> Series:
    """A 5Gophers per-second throughput trace as bandwidth [Mbit/s] over time.

    Parameters
    ----------
    data_dir : path-like
        The shared data directory or the 5Gophers folder.
    trace : str
        A key of :data:`GOPHERS_TRACES`.
    carrier : str
        For the car traces: a key of :data:`CARRIERS`.
    time_scale : float
        Seconds of the result per second of the trace (> 0; 1: as measured).
    radio_type : str, optional
        For ``walking``: keep only ``"4G"`` or ``"5G"`` samples (the others become gaps, which are refused); None
        keeps both.
    max_gap_steps : float
        Missing seconds tolerated, in samples (``car_1`` lacks 6 s after second 102); :func:`resample` then holds
        the last sample over them, and the source says so.

    Returns
    -------
    Series
        ``bandwidth_mbps`` at t = seq_num × time_scale [s].

    Raises
    ------
    ParameterError
        No traces at ``data_dir``.
    UnknownNameError
        An unknown trace or carrier.
    """
    if trace not in GOPHERS_TRACES:
        raise UnknownNameError("5Gophers trace", trace, GOPHERS_TRACES)
    time_scale = check_number(time_scale, "time_scale", minimum=0, exclusive=True)
    path = trace_dir(data_dir) / GOPHERS_TRACES[trace]
    df = pl.read_csv(path, infer_schema_length=None)
    if trace == "walking":
        if radio_type is not None:
            df = df.filter(pl.col("radio_type") == radio_type)
        col, what = "throughput_mbps", f"radio {radio_type or '4G and 5G'}"
    else:
        if carrier not in CARRIERS:
            raise UnknownNameError("carrier", carrier, CARRIERS)
        col, what = f"{CARRIERS[carrier]}_throughput_mbps", carrier
    src = (f"{CITATION}: {path.name}, {what}, downlink throughput (8 TCP connections), one sample per second"
           + (f", time × {time_scale:g} (one trace second stands for {time_scale:g} s: a workbench assumption)"
              if time_scale != 1 else ""))
    seq = df["seq_num"].to_numpy()
    missing = int(np.sum(np.diff(seq) - 1)) if len(seq) > 1 else 0
    if missing and max_gap_steps > 1.5:
        src += f"; {missing} missing second(s), held at the last sample when resampled"
    return make_series(seq * time_scale, df[col].to_numpy(), "bandwidth_mbps", src, max_gap_steps=max_gap_steps)


def gophers_rtt(data_dir, n: int, *, carrier: str | None = None, step_s: float = 1.0, how: str = "sequence") -> Series:
    """RTT [ms] for ``n`` intervals from the 5Gophers RTT samples of one carrier (or all).

    Parameters
    ----------
    data_dir : path-like
        The shared data directory or the 5Gophers folder.
    n : int
        Number of intervals.
    carrier : str, optional
        A key of :data:`CARRIERS`; None: every carrier.
    step_s : float
        Interval length [s].
    how : str
        ``"sequence"``: the samples in file order, one per interval, repeated from the start when exhausted
        (the file has no time column; its order read as time is an assumption); ``"median"``: their median
        in every interval.

    Returns
    -------
    Series
        ``rtt_ms`` on the grid 0, step_s, ...
    """
    n = check_int(n, "n")
    if how not in ("sequence", "median"):
        raise UnknownNameError("RTT mode", how, ["sequence", "median"])
    df = pl.read_csv(trace_dir(data_dir) / "round_trip_times.csv")
    if carrier is not None:
        if carrier not in CARRIERS:
            raise UnknownNameError("carrier", carrier, CARRIERS)
        df = df.filter(pl.col("carrier") == carrier.upper())
    rtt = df["rtt_ms"].to_numpy().astype(float)
    values = np.resize(rtt, n) if how == "sequence" else np.full(n, float(np.median(rtt)))
    src = (f"{CITATION}: round_trip_times.csv, {carrier or 'all carriers'} ({len(rtt)} samples), "
           + ("in file order, one per interval (order as time: a workbench assumption)" if how == "sequence"
              else "their median in every interval"))
    return make_series(step_s * np.arange(n), values, "rtt_ms", src)


def carbon_series(path, *, fill_gaps_up_to_s: float = 0.0) -> Series:
    """A carbon-intensity file as a series [gCO2/kWh] (times in seconds since the epoch, UTC, or the file's own).

    Parameters
    ----------
    path : path-like
        A CSV file ``time,g_per_kwh`` (or a WattTime series in lbs/MWh, converted; see
        :func:`workbench.placement.signal.load_signal`).
    fill_gaps_up_to_s : float
        Fill gaps up to this long [s] by linear interpolation (0: refuse every gap).

    Returns
    -------
    Series
        ``carbon_g_per_kwh``.
    """
    s = load_signal(path, fill_gaps_up_to_s=fill_gaps_up_to_s)
    src = f"{s.source} ({s.unit}: {s.unit_reason}; {s.filled_slots} slot(s) filled)"
    return make_series(s.times_s, s.g_per_kwh, "carbon_g_per_kwh", src)


def poisson_requests(rate_per_s: float, step_s: float, n: int, *, seed: int = 0) -> np.ndarray:
    """Request counts per interval, Poisson with mean ``rate_per_s × step_s`` (numpy's PCG64, ``seed``).

    Parameters
    ----------
    rate_per_s : float
        Arrival rate [requests/s], ≥ 0.
    step_s : float
        Interval length [s].
    n : int
        Number of intervals.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray
        ``n`` integer counts.

    Examples
    --------
    >>> poisson_requests(2.0, 1.0, 5, seed=0).tolist() == poisson_requests(2.0, 1.0, 5, seed=0).tolist()
    True
    """
    rate_per_s = check_number(rate_per_s, "rate_per_s", minimum=0)
    step_s = check_number(step_s, "step_s", minimum=0, exclusive=True)
    return np.random.default_rng(check_int(seed, "seed", minimum=0)).poisson(rate_per_s * step_s, check_int(n, "n"))


def with_source(series: Series, note: str) -> Series:
    """The series with ``note`` appended to its source."""
    return replace(series, source=f"{series.source}; {note}")


def concat(parts: list[Series], name: str | None = None, *, max_gap_steps: float = 1.5) -> Series:
    """Series one after another in time, each shifted to start one step after the previous ends (provenance
    joined). Useful to make one long bandwidth trace out of the walking and car traces. ``max_gap_steps`` as
    for :func:`make_series` (parts with tolerated gaps need it again).

    Raises
    ------
    ParameterError
        No parts, or parts of different quantities.
    """
    if not parts or len({p.name for p in parts}) != 1:
        raise ParameterError(f"concat needs series of one quantity, got {[p.name for p in parts]}. Fix: join "
                             "bandwidth with bandwidth.")
    times, values, t0 = [], [], 0.0
    for p in parts:
        step = float(np.median(np.diff(p.times_s)))
        times.append(p.times_s - p.times_s[0] + t0)
        values.append(p.values)
        t0 = times[-1][-1] + step
    src = "; then ".join(p.source for p in parts)
    return make_series(np.concatenate(times), np.concatenate(values), name or parts[0].name, src,
                       max_gap_steps=max_gap_steps)

