"""Carbon-aware time shifting: deferrable jobs scheduled on a carbon-intensity signal.

A job (:class:`Job`) may start at its release, runs for ``duration_s`` at ``power_w`` and must end by its
deadline. On a signal (:class:`~workbench.placement.signal.CarbonSignal`, slots of ``step_s``) the job's
window is snapped to the grid (release rounded up, deadline rounded down to a slot boundary) and the job
needs ``n = ceil(duration_s / step_s)`` slots, all full but possibly the last (``duration_s - (n-1) step_s``).

Rules (Wiesner et al. 2021, the ``AdHocStrategy`` of their simulator):

- **baseline**: start at the (snapped) release and run without a break;
- **non-interruptible**: the start, on the grid, in ``[release, deadline - duration]`` whose window has
  the lowest energy-weighted intensity, ``argmin_k Σ_j w_j c[k + j]`` for the slot durations ``w``
  (a sliding correlation, :func:`numpy.correlate`); ties go to the earliest start;
- **interruptible**: the ``n`` cheapest slots of the window (ties to the earliest), the ``n - 1``
  cheapest full and the remainder in the ``n``-th (filling the cheapest first is optimal).

Emissions [g] = Σ slot energy [kWh] × intensity [g/kWh]; saving = 1 − shifted / baseline. A schedule is
*decided* on a forecast and *scored* on the actual series: with :func:`forecast_with_error` the forecast
is ``actual × (1 + ε)``, ``ε ~ N(0, σ)`` per slot (seeded); the schedule decided on the actual series is
the *oracle*.

References
----------
P. Wiesner, I. Behnke, D. Scheinert, K. Gontarska, L. Thamsen, "Let's Wait Awhile: How Temporal Workload
Shifting Can Reduce Carbon Emissions in the Cloud", Middleware 2021 (simulator: github.com/dos-group/
lets-wait-awhile, ``strategy.py``/``simulate.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from workbench.checks import check_int, check_number
from workbench.errors import InfeasibleError, ParameterError, UnknownNameError
from workbench.execution import map_tasks
from workbench.placement.jobs import Job, periodic_jobs
from workbench.placement.signal import CarbonSignal
from workbench.units import J_PER_KWH

NOISE_KINDS = ("relative", "mean")
"""``relative``: forecast = actual × (1 + ε); ``mean``: actual + ε × mean(actual), the simulator's
``_apply_error`` (lets-wait-awhile ``simulate.py``). ε ~ N(0, σ) per slot."""


@dataclass(frozen=True)
class Schedule:
    """Where in time one job runs, and what it emits.

    Attributes
    ----------
    job : Job
    slots : numpy.ndarray
        Indices of the signal's slots used, increasing.
    slot_s : numpy.ndarray
        Seconds run in each of those slots [s].
    emissions_g : float
        Emissions on the actual signal [gCO2].
    baseline_g : float
        Emissions of the baseline (start at release, no break) on the actual signal [gCO2].
    decided_on : str
        ``"actual"`` (the oracle) or a description of the forecast.
    """

    job: Job
    slots: np.ndarray
    slot_s: np.ndarray
    emissions_g: float
    baseline_g: float
    decided_on: str = "actual"

    @property
    def saving(self) -> float:
        """1 − emissions / baseline [fraction]; 0 for a zero baseline."""
        return 1.0 - self.emissions_g / self.baseline_g if self.baseline_g > 0 else 0.0

    @property
    def energy_kwh(self) -> float:
        """Energy of the job [kWh]."""
        return float(self.slot_s.sum()) * self.job.power_w / J_PER_KWH

    def runs(self, signal: CarbonSignal) -> list[tuple[float, float]]:
        """Contiguous ``(start_s, end_s)`` spans the job runs in [s]."""
        t = signal.times_s[self.slots]
        ends = t + self.slot_s
        breaks = np.flatnonzero(np.diff(self.slots) != 1)
        firsts = np.r_[0, breaks + 1]
        lasts = np.r_[breaks, len(self.slots) - 1]
        return [(float(t[a]), float(ends[b])) for a, b in zip(firsts, lasts, strict=True)]


def job_window(job: Job, signal: CarbonSignal) -> tuple[int, int, np.ndarray]:
    """The job's window on the signal's grid and its slot durations.

    Parameters
    ----------
    job : Job
    signal : CarbonSignal

    Returns
    -------
    (int, int, numpy.ndarray)
        First slot, end slot (exclusive) of the window, and the seconds run in each of the ``n`` slots a
        run needs [s]: ``step_s`` each, the last possibly less.

    Raises
    ------
    ParameterError
        The window is not inside the signal.
    InfeasibleError
        Snapped to the grid, the window is shorter than the job.
    """
    t0, step = float(signal.times_s[0]), signal.step_s
    if job.release_s < t0 or job.deadline_s > signal.end_s:
        raise ParameterError(
            f"job {job.name!r}: its window {signal.label_time(job.release_s)} to "
            f"{signal.label_time(job.deadline_s)} is not inside the signal ({signal.label_time(t0)} to "
            f"{signal.label_time(signal.end_s)}). Fix: give a signal that covers it, or move the job.")
    eps = 1e-9
    i0 = math.ceil((job.release_s - t0) / step - eps)
    i1 = math.floor((job.deadline_s - t0) / step + eps)
    n_full, rem = divmod(job.duration_s, step)
    n_full = int(n_full)
    if rem <= eps * step:
        rem = 0.0
    w = np.r_[np.full(n_full, step), [rem] if rem else []]
    if (i1 - i0) < len(w):
        raise InfeasibleError(
            f"infeasible: job {job.name!r} needs {_h(job.duration_s)} but its window on the signal's "
            f"{step / 60:g}-min grid is {_h(max(i1 - i0, 0) * step)} (release {signal.label_time(job.release_s)} "
            f"rounded up to {signal.label_time(t0 + i0 * step)}, deadline {signal.label_time(job.deadline_s)} "
            f"rounded down to {signal.label_time(t0 + i1 * step)}). Fix: move the deadline to "
            f"{signal.label_time(t0 + (i0 + len(w)) * step)} or later, or shorten the job.")
    return i0, i1, w


def best_start(g_per_kwh: np.ndarray, slot_s: np.ndarray) -> int:
    """The start (index into ``g_per_kwh``) with the lowest ``Σ_j slot_s[j] × g_per_kwh[k + j]``; earliest on ties.

    Parameters
    ----------
    g_per_kwh : numpy.ndarray
        Intensities of the window's slots [g/kWh].
    slot_s : numpy.ndarray
        Seconds run in each consecutive slot [s].

    Returns
    -------
    int

    Examples
    --------
    >>> best_start(np.array([4.0, 1.0, 3.0, 2.0, 5.0]), np.array([1.0, 1.0]))
    1
    """
    return int(np.argmin(np.correlate(g_per_kwh, slot_s, mode="valid")))


def cheapest_slots(g_per_kwh: np.ndarray, slot_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``len(slot_s)`` cheapest slots (earliest on ties), the shortest run in the dearest of them.

    Parameters
    ----------
    g_per_kwh : numpy.ndarray
        Intensities of the window's slots [g/kWh].
    slot_s : numpy.ndarray
        Seconds to run in each slot [s], non-increasing (all full but possibly the last).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Slot indices, increasing, and the seconds run in each [s].

    Examples
    --------
    >>> cheapest_slots(np.array([4.0, 1.0, 3.0, 2.0, 5.0]), np.array([3600.0, 1800.0]))
    (array([1, 3]), array([3600., 1800.]))
    """
    order = np.argsort(g_per_kwh, kind="stable")[:len(slot_s)]  # cheapest first
    keep = np.argsort(order)
    return order[keep], np.asarray(slot_s, dtype=float)[keep]


def schedule_job(job: Job, signal: CarbonSignal, *, forecast: CarbonSignal | None = None,
                 interruptible: bool | None = None) -> Schedule:
    """Schedule one job: decide on ``forecast`` (default: the actual signal), score on ``signal``.

    Parameters
    ----------
    job : Job
    signal : CarbonSignal
        The actual intensities, on which emissions are scored [g/kWh].
    forecast : CarbonSignal, optional
        What the scheduler sees; same grid as ``signal``. Default: ``signal`` (the oracle).
    interruptible : bool, optional
        Override ``job.interruptible``.

    Returns
    -------
    Schedule

    Raises
    ------
    ParameterError
        The job's window is outside the signal, or the forecast is on another grid.
    InfeasibleError
        The window is shorter than the job on the signal's grid.

    Examples
    --------
    >>> s = CarbonSignal.from_values([4.0, 1.0, 3.0, 2.0, 5.0], step_s=3600)
    >>> job = Job("j", release_s=0, duration_s=7200, power_w=1000, deadline_s=18000)
    >>> r = schedule_job(job, s)
    >>> r.slots.tolist(), r.emissions_g, r.baseline_g, round(r.saving, 3)
    ([1, 2], 4.0, 5.0, 0.2)
    """
    seen = signal if forecast is None else forecast
    if seen.times_s is not signal.times_s and (len(seen) != len(signal) or seen.step_s != signal.step_s
                                               or not np.array_equal(seen.times_s, signal.times_s)):
        raise ParameterError("the forecast is not on the signal's grid. Fix: make it with forecast_with_error(signal).")
    i0, i1, w = job_window(job, signal)
    interruptible = job.interruptible if interruptible is None else interruptible
    window = seen.g_per_kwh[i0:i1]
    if interruptible:
        idx, secs = cheapest_slots(window, w)
        slots = i0 + idx
    else:
        slots, secs = i0 + best_start(window, w) + np.arange(len(w)), w
    kwh_per_s = job.power_w / J_PER_KWH
    actual = signal.g_per_kwh
    emissions = float(np.dot(secs, actual[slots])) * kwh_per_s
    baseline = float(np.dot(w, actual[i0:i0 + len(w)])) * kwh_per_s
    return Schedule(job, slots, secs, emissions, baseline,
                    decided_on="actual" if forecast is None else forecast.source)


def forecast_with_error(signal: CarbonSignal, error: float = 0.05, *, seed: int = 0,
                        noise: str = "relative") -> CarbonSignal:
    """A forecast of ``signal`` with random error per slot (negative values clipped to 0).

    Parameters
    ----------
    signal : CarbonSignal
        The actual series [g/kWh].
    error : float
        σ of the per-slot error [fraction], ≥ 0; 0 gives the actual series.
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    noise : str
        ``"relative"``: actual × (1 + ε); ``"mean"``: actual + ε × mean(actual) (the paper's simulator).

    Returns
    -------
    CarbonSignal
        Same grid; ``source`` says what it is.

    Examples
    --------
    >>> s = CarbonSignal.from_values([100.0, 200.0], step_s=60)
    >>> forecast_with_error(s, 0.0).g_per_kwh.tolist()
    [100.0, 200.0]
    """
    error = check_number(error, "error", minimum=0, maximum=1,
                         fix="give σ as a fraction, e.g. 0.05 for 5 % forecast error.")
    if noise not in NOISE_KINDS:
        raise UnknownNameError("noise kind", noise, NOISE_KINDS)
    eps = np.random.default_rng(seed).normal(0.0, error, size=len(signal)) if error else np.zeros(len(signal))
    actual = signal.g_per_kwh
    values = actual * (1 + eps) if noise == "relative" else actual + eps * actual.mean()
    return replace(signal, g_per_kwh=np.maximum(values, 0.0),
                   source=f"forecast ({noise} error σ={error:g}, seed {seed}) of {signal.source}")


def shift_jobs(jobs, signal: CarbonSignal, *, forecast_error: float = 0.0, seed: int = 0,
               noise: str = "relative", interruptible: bool | None = None) -> dict:
    """Schedule every job on a forecast with error and on the actual series; totals and savings.

    Parameters
    ----------
    jobs : iterable of Job
    signal : CarbonSignal
        The actual series [g/kWh].
    forecast_error : float
        σ of the per-slot forecast error [fraction] (:func:`forecast_with_error`).
    seed : int
        Seed of the forecast error (one draw for the whole signal, shared by all jobs).
    noise : str
        See :func:`forecast_with_error`.
    interruptible : bool, optional
        Treat every job as (non-)interruptible; default: each job's own flag.

    Returns
    -------
    dict
        ``schedules`` and ``oracle`` (lists of :class:`Schedule`), ``baseline_g``, ``shifted_g``,
        ``oracle_g`` [gCO2] and ``saving``, ``oracle_saving`` [fraction] of the whole set (1 − Σ/Σ baseline).
    """
    jobs = list(jobs)
    if not jobs:
        raise ParameterError("no jobs to schedule. Fix: give at least one [[jobs]] table.")
    fc = forecast_with_error(signal, forecast_error, seed=seed, noise=noise) if forecast_error else None
    oracle = [schedule_job(j, signal, interruptible=interruptible) for j in jobs]
    shifted = oracle if fc is None else [schedule_job(j, signal, forecast=fc, interruptible=interruptible)
                                         for j in jobs]
    base = sum(s.baseline_g for s in oracle)
    tot = sum(s.emissions_g for s in shifted)
    otot = sum(s.emissions_g for s in oracle)
    return {"schedules": shifted, "oracle": oracle, "baseline_g": base, "shifted_g": tot, "oracle_g": otot,
            "saving": 1 - tot / base if base else 0.0, "oracle_saving": 1 - otot / base if base else 0.0}


def _h(seconds: float) -> str:
    return f"{seconds / 3600:.4g} h"


BENCHMARK_JOBS = ("one job every 6 h from the signal's start, durations 1, 2, ..., 8 h in turn, each free to run "
                  "anywhere in the 24 h after its release, 1 kW (placement.jobs.periodic_jobs defaults)")
"""The job set of :func:`shifting_benchmark`, as its result states it."""


def shifting_benchmark(signal: CarbonSignal, *, forecast_error: float = 0.05, repeats: int = 10, seed: int = 0,
                       noise: str = "relative", jobs=None, backend: str = "serial", n_jobs: int | None = None,
                       address: str | None = None) -> dict:
    """Savings of time shifting over a job set, non-interruptible and interruptible, with forecast error.

    Parameters
    ----------
    signal : CarbonSignal
        The actual series (the benchmark uses CAISO North, ``../shared/data/vessim-carbon-signal``).
    forecast_error : float
        σ of the per-slot forecast error [fraction] (:func:`forecast_with_error`).
    repeats : int
        Forecast draws (seeds ``seed, seed + 1, ...``); savings are their mean (the paper uses 10).
    seed : int
        First seed.
    noise : str
        See :func:`forecast_with_error`.
    jobs : list of Job, optional
        Default: :func:`~workbench.placement.jobs.periodic_jobs` (:data:`BENCHMARK_JOBS`).
    backend, n_jobs, address
        Where the draws run (:func:`workbench.execution.map_tasks`); each draw is seeded from its own
        number, so the result is the same on every backend.

    Returns
    -------
    dict
        ``shift_saving_noninterruptible`` and ``shift_saving_interruptible`` (mean over the draws of the
        set's saving 1 − Σ shifted / Σ baseline [fraction]), their ``*_oracle`` counterparts (no forecast
        error), ``n_jobs``, ``jobs``, ``forecast_error``, ``repeats``, ``signal``.
    """
    repeats = check_int(repeats, "repeats")
    described = BENCHMARK_JOBS if jobs is None else "given by the caller"
    jobs = periodic_jobs(signal) if jobs is None else list(jobs)
    out = {"n_jobs": len(jobs), "jobs": described, "forecast_error": forecast_error, "repeats": repeats,
           "signal": signal.source}
    draws = [(flag, seed + r) for flag in (False, True) for r in range(repeats)]
    savings = map_tasks(partial(_draw_savings, jobs, signal, forecast_error, noise), draws, backend=backend,
                        n_jobs=n_jobs, address=address)
    for k, key in enumerate(("noninterruptible", "interruptible")):
        runs = savings[k * repeats:(k + 1) * repeats]
        out[f"shift_saving_{key}"] = float(np.mean([r[0] for r in runs]))
        out[f"shift_saving_{key}_oracle"] = runs[0][1]
    return out


def _draw_savings(jobs, signal, forecast_error, noise, draw) -> tuple[float, float]:
    """``(saving, oracle_saving)`` of one forecast draw ``(interruptible, seed)`` (a task of the benchmark)."""
    flag, seed = draw
    res = shift_jobs(jobs, signal, forecast_error=forecast_error, seed=seed, noise=noise, interruptible=flag)
    return res["saving"], res["oracle_saving"]
