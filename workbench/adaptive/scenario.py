"""A scenario: every trace on one grid of intervals, an energy budget, a latency target; split for tuning.

Interval t covers ``[times_s[t], times_s[t] + step_s)``. In it the access link has ``bandwidth_mbps[t]`` and
``rtt_ms[t]``, the device runs ``slowdown[t]`` times slower than its nominal cost (1: nominal), the grid emits
``carbon_g_per_kwh[t]``, ``requests[t]`` requests arrive and ``harvest_j[t]`` joules are harvested.

A fraction of the requests may be deferrable batch work (``deferrable_fraction``, :meth:`Scenario.batch_requests`):
no latency target applies to it, only a deadline of ``defer_deadline_intervals`` intervals after arrival; a policy
may hold it for a cleaner interval (:class:`~workbench.adaptive.mpc.CarbonMPC` does), the others serve it on
arrival.

The energy budget (:class:`EnergyBudget`) is a battery of ``capacity_j`` starting at ``initial_j``, charged by
the harvest and never above capacity; a per-hour cap is the same battery refilled to full at the start of
every hour (``reset_every``). Only the device's energy draws on it.

:func:`interval_costs` evaluates every configuration in every interval with the formulas of
:mod:`workbench.adaptive.space`; :func:`serve` is the one rule for what happens in an interval (how many
requests the budget serves, how many miss their latency target, what is spent), used by the replay and the
oracle alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from workbench.adaptive.space import ConfigurationSpace
from workbench.checks import check_int, check_number
from workbench.errors import InfeasibleError, ParameterError
from workbench.units import J_PER_KWH, J_PER_WH

MIN_BANDWIDTH_MBPS = 0.1
"""A bandwidth sample below this (5Gophers has 0 Mbit/s seconds: the link is down) is priced at this figure,
so offloading takes seconds and misses its target instead of dividing by zero [Mbit/s]."""

ABANDON_RULE = ("an offloaded request still sending its input at the latency target is abandoned: it misses, and "
                "the radio's transmit energy is counted up to the target only (network energy: all its bytes)")
"""How an outage is priced (a workbench modelling choice; the chain semantics have no deadline)."""

EPS = 1e-9
"""Relative slack when counting how many requests a budget serves (floating-point round-off)."""


@dataclass(frozen=True)
class EnergyBudget:
    """The device's energy: a battery [J] with optional harvesting, or a per-hour cap (a battery refilled hourly).

    Attributes
    ----------
    capacity_j : float
        Capacity [J], > 0 (``inf``: no budget).
    initial_j : float
        Charge at the start [J], 0 ≤ initial_j ≤ capacity_j.
    reset_every : int or None
        Refill to ``initial_j`` every this many intervals (a per-hour cap), counted from the start; None: never.
    description : str
        What the budget is, for reports.
    """

    capacity_j: float = math.inf
    initial_j: float = math.inf
    reset_every: int | None = None
    description: str = "no energy budget"

    @property
    def unlimited(self) -> bool:
        return math.isinf(self.capacity_j)


def battery(capacity_wh: float, *, soc: float = 1.0) -> EnergyBudget:
    """A battery of ``capacity_wh`` [Wh] starting at state of charge ``soc`` [1] (harvest: the scenario's).

    Raises
    ------
    ParameterError
        ``capacity_wh`` ≤ 0 or not finite, ``soc`` outside [0, 1].

    Examples
    --------
    >>> battery(1.0, soc=0.5).initial_j
    1800.0
    """
    capacity_wh = check_number(capacity_wh, "battery capacity_wh", minimum=0, exclusive=True,
                               fix="give the battery's capacity in Wh, > 0 (a phone holds about 15 Wh).")
    soc = check_number(soc, "battery soc", minimum=0, maximum=1, fix="give the initial state of charge in [0, 1].")
    cap = capacity_wh * J_PER_WH
    return EnergyBudget(cap, soc * cap, None, f"battery {capacity_wh:g} Wh, initial SoC {soc:g}")


def hourly_cap(cap_wh: float, step_s: float) -> EnergyBudget:
    """At most ``cap_wh`` [Wh] of device energy per hour, as a budget refilled every hour of ``step_s`` intervals.

    Raises
    ------
    ParameterError
        ``cap_wh`` ≤ 0, or an hour that is not a whole number of intervals.
    """
    cap_wh = check_number(cap_wh, "hourly cap_wh", minimum=0, exclusive=True, fix="give the cap in Wh per hour, > 0.")
    step_s = check_number(step_s, "step_s", minimum=0, exclusive=True)
    per_hour = 3600.0 / step_s
    if abs(per_hour - round(per_hour)) > 1e-9:
        raise ParameterError(f"an hour is {per_hour:g} intervals of {step_s:g} s. Fix: a step that divides 3600 s.")
    cap = cap_wh * J_PER_WH
    return EnergyBudget(cap, cap, int(round(per_hour)), f"at most {cap_wh:g} Wh of device energy per hour")


@dataclass(frozen=True)
class Scenario:
    """Traces on one grid, a latency target and a budget (see the module docstring for units)."""

    step_s: float
    times_s: np.ndarray
    bandwidth_mbps: np.ndarray
    rtt_ms: np.ndarray
    carbon_g_per_kwh: np.ndarray
    requests: np.ndarray
    latency_target_ms: float
    slowdown: np.ndarray | None = None
    harvest_j: np.ndarray | None = None
    budget: EnergyBudget = field(default_factory=EnergyBudget)
    provenance: dict = field(default_factory=dict)
    offset: int = 0
    deferrable_fraction: float = 0.0
    defer_deadline_intervals: int = 0

    def __len__(self) -> int:
        return len(self.bandwidth_mbps)

    def part(self, start: int, stop: int) -> Scenario:
        """Intervals ``[start, stop)``; the budget's hourly resets stay aligned to the original start."""
        sl = slice(start, stop)
        opt = {k: (None if getattr(self, k) is None else getattr(self, k)[sl]) for k in ("slowdown", "harvest_j")}
        return Scenario(self.step_s, self.times_s[sl], self.bandwidth_mbps[sl], self.rtt_ms[sl],
                        self.carbon_g_per_kwh[sl], self.requests[sl], self.latency_target_ms, **opt,
                        budget=self.budget, provenance=self.provenance, offset=self.offset + start,
                        deferrable_fraction=self.deferrable_fraction,
                        defer_deadline_intervals=self.defer_deadline_intervals)

    def batch_requests(self) -> np.ndarray:
        """Per interval, the deferrable (batch) requests among those arriving: ⌊deferrable_fraction × requests⌋.
        They carry no latency target, only a deadline: served within ``defer_deadline_intervals`` intervals after
        the one they arrive in (see :mod:`workbench.adaptive.replay`)."""
        return np.floor(self.deferrable_fraction * self.requests + EPS).astype(np.int64)

    def split(self, tuning_fraction: float = 0.5) -> tuple[Scenario, Scenario]:
        """The first ``tuning_fraction`` of the intervals (for tuning) and the rest (for evaluation).

        Raises
        ------
        ParameterError
            A fraction that leaves either part empty.
        """
        f = check_number(tuning_fraction, "tuning_fraction", minimum=0, maximum=1, exclusive=True)
        k = int(round(f * len(self)))
        if not 0 < k < len(self):
            raise ParameterError(f"tuning_fraction {f:g} of {len(self)} intervals leaves a part empty. Fix: a "
                                 "longer trace or a fraction nearer 0.5.")
        return self.part(0, k), self.part(k, len(self))

    def resets(self) -> np.ndarray:
        """True at the intervals where the budget is refilled before serving (hourly caps)."""
        r = np.zeros(len(self), dtype=bool)
        if self.budget.reset_every:
            r[(self.offset + np.arange(len(self))) % self.budget.reset_every == 0] = True
        return r


def make_scenario(*, step_s: float, bandwidth_mbps, rtt_ms, carbon_g_per_kwh, requests, latency_target_ms: float,
                  slowdown=None, harvest_j=None, budget: EnergyBudget | None = None, start_s: float = 0.0,
                  provenance: dict | None = None, deferrable_fraction: float = 0.0,
                  defer_deadline_intervals: int = 0) -> Scenario:
    """A validated :class:`Scenario` from per-interval arrays (resample traces first with
    :func:`workbench.adaptive.traces.resample`).

    Parameters
    ----------
    step_s : float
        Interval length [s].
    bandwidth_mbps, rtt_ms, carbon_g_per_kwh : array_like
        Per interval [Mbit/s], [ms], [gCO2/kWh]; scalars are repeated.
    requests : array_like
        Requests per interval (integers ≥ 0).
    latency_target_ms : float
        The SLO [ms], > 0.
    slowdown, harvest_j : array_like, optional
        Device slowdown [1] (default 1) and harvested energy per interval [J] (default 0).
    budget : EnergyBudget, optional
        Default: none.
    start_s : float
        Start of the first interval [s].
    provenance : dict, optional
        Trace name → source.
    deferrable_fraction : float
        Share of each interval's requests that is deferrable batch work [1], in [0, 1].
    defer_deadline_intervals : int
        Intervals after its arrival by which deferrable work must be served (0: in its own interval).

    Returns
    -------
    Scenario

    Raises
    ------
    ParameterError
        Lengths that differ, negative or non-finite values, a non-integer request count, no intervals, a
        deferrable fraction outside [0, 1] or a negative deadline.
    """
    deferrable_fraction = check_number(deferrable_fraction, "deferrable_fraction", minimum=0, maximum=1,
                                       fix="give the share of deferrable requests in [0, 1].")
    defer_deadline_intervals = check_int(defer_deadline_intervals, "defer_deadline_intervals", minimum=0)
    step_s = check_number(step_s, "step_s", minimum=0, exclusive=True)
    latency_target_ms = check_number(latency_target_ms, "latency_target_ms", minimum=0, exclusive=True)
    req = np.asarray(requests)
    n = check_int(len(req), "number of intervals")
    out = {}
    for name, v in (("bandwidth_mbps", bandwidth_mbps), ("rtt_ms", rtt_ms), ("carbon_g_per_kwh", carbon_g_per_kwh),
                    ("requests", requests), ("slowdown", 1.0 if slowdown is None else slowdown),
                    ("harvest_j", 0.0 if harvest_j is None else harvest_j)):
        a = np.broadcast_to(np.asarray(v, dtype=float), (n,)).astype(float) if np.ndim(v) == 0 else \
            np.asarray(v, dtype=float).ravel()
        if len(a) != n:
            raise ParameterError(f"{name} has {len(a)} values for {n} intervals. Fix: resample every trace to the "
                                 "same grid (traces.resample).")
        bad = np.flatnonzero(~np.isfinite(a) | (a < 0))
        if bad.size:
            raise ParameterError(f"{name}[{bad[0]}] = {a[bad[0]]} is not a finite number ≥ 0. Fix: clean the trace.")
        out[name] = a
    if np.any(out["requests"] != np.round(out["requests"])):
        raise ParameterError("requests must be whole numbers per interval. Fix: give counts.")
    return Scenario(step_s, start_s + step_s * np.arange(n), out["bandwidth_mbps"], out["rtt_ms"],
                    out["carbon_g_per_kwh"], out["requests"].astype(np.int64), latency_target_ms,
                    out["slowdown"], out["harvest_j"], budget or EnergyBudget(), dict(provenance or {}),
                    deferrable_fraction=deferrable_fraction, defer_deadline_intervals=defer_deadline_intervals)


def costs_at(space: ConfigurationSpace, bandwidth_mbps, rtt_ms, slowdown, carbon_g_per_kwh,
             deadline_ms: float = math.inf) -> dict:
    """Per-request latency [ms], device energy [J], energy [J] and carbon [gCO2e] of every configuration under
    the given conditions (arrays broadcast: shape (T, 1) conditions against C configurations).

    ``deadline_ms`` [ms] caps the radio's transmit time: a request still sending at its deadline is abandoned
    (a miss; :data:`ABANDON_RULE`), so an outage costs the radio at most the deadline, not minutes of sending at
    :data:`MIN_BANDWIDTH_MBPS`. Without a deadline the formulas are those of :mod:`workbench.adaptive.space`."""
    c = space.column
    bw = np.maximum(np.asarray(bandwidth_mbps, float), MIN_BANDWIDTH_MBPS)
    crossing = c("uplink_bytes") + c("downlink_bytes")
    s = np.asarray(slowdown, float)
    latency = c("device_ms") * s + c("remote_ms") + space.offloads * (np.asarray(rtt_ms, float)
                                                                        + crossing * 8 / (bw * 1000))
    send_ms = np.minimum(c("uplink_bytes") * 8 / (bw * 1000), deadline_ms)
    device = c("device_energy_j") * s + c("tx_power_w") * send_ms / 1000
    energy = device + c("remote_energy_j") + crossing / 1e9 * c("kwh_per_gb") * J_PER_KWH
    return {"latency_ms": latency, "device_energy_j": device, "energy_j": energy,
            "carbon_g": energy * np.asarray(carbon_g_per_kwh, float) / J_PER_KWH}


def interval_costs(space: ConfigurationSpace, scenario: Scenario) -> dict:
    """:func:`costs_at` for every interval of ``scenario`` (arrays of shape (intervals, configurations)),
    plus ``miss`` (latency above the target)."""
    cols = [np.asarray(a, float)[:, None] for a in (scenario.bandwidth_mbps, scenario.rtt_ms, scenario.slowdown,
                                                     scenario.carbon_g_per_kwh)]
    out = costs_at(space, *cols, deadline_ms=scenario.latency_target_ms)
    out["miss"] = out["latency_ms"] > scenario.latency_target_ms
    return out


def serve(soc_j, requests, device_j, capacity_j: float, harvest_j: float):
    """One interval under a budget: how many requests the charge serves, and the charge after it.

    Parameters
    ----------
    soc_j : float or numpy.ndarray
        Charge at the start of the interval [J].
    requests : int
        Requests arriving.
    device_j : float or numpy.ndarray
        Device energy per request of the chosen configuration [J].
    capacity_j : float
        Battery capacity [J] (``inf``: no budget).
    harvest_j : float
        Energy harvested during the interval [J], added after serving, up to capacity.

    Returns
    -------
    served, soc_after
        Requests served (``min(requests, ⌊soc / device_j⌋)``, all when the budget is unlimited or the
        configuration costs the device nothing) and the charge after [J].
    """
    device_j = np.asarray(device_j, float)
    if math.isinf(capacity_j):
        return np.broadcast_to(np.asarray(requests, float), np.broadcast(soc_j, device_j).shape).copy(), \
            np.broadcast_to(np.asarray(soc_j, float), np.broadcast(soc_j, device_j).shape).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        can = np.where(device_j > 0, np.floor(np.asarray(soc_j, float) / device_j * (1 + EPS)), np.inf)
    served = np.minimum(float(requests), can)
    soc_after = np.minimum(capacity_j, np.maximum(soc_j - served * device_j, 0.0) + harvest_j)
    return served, soc_after


def check_target_reachable(space: ConfigurationSpace, scenario: Scenario, accuracy_floor: float = 0.0) -> None:
    """Refuse a latency target that no configuration (at least ``accuracy_floor`` accurate) meets in any interval
    even at unlimited bandwidth.

    Raises
    ------
    InfeasibleError
        Naming the configuration that comes closest, its best latency [ms] and the interval where it is reached.
    """
    ok = space.accuracy >= accuracy_floor
    if not ok.any():
        raise ParameterError(f"no configuration reaches the accuracy floor {accuracy_floor:g} (best: "
                             f"{space.accuracy.max():g}). Fix: lower the floor.")
    lat = costs_at(space, np.inf, np.asarray(scenario.rtt_ms, float)[:, None],
                   np.asarray(scenario.slowdown, float)[:, None], 0.0)["latency_ms"]
    lat = np.where(ok[None, :], lat, np.inf)
    t, j = np.unravel_index(np.argmin(lat), lat.shape)
    if lat[t, j] > scenario.latency_target_ms:
        raise InfeasibleError(
            f"infeasible: no configuration meets latency_target_ms = {scenario.latency_target_ms:g} in any interval, "
            f"even at unlimited bandwidth; the closest is {space.names[j]!r} at {lat[t, j]:.4g} ms (interval {t}, "
            f"RTT {scenario.rtt_ms[t]:g} ms, slowdown {scenario.slowdown[t]:g}). Fix: raise the target to at least "
            f"{lat[t, j]:.4g} ms, or add faster configurations.")
