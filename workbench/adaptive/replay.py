"""The replay simulator: interval by interval, each policy sees only the past, the outcome uses actual values.

:func:`replay` runs one fitted policy over intervals ``[start, end)`` of a scenario: before interval t the
policy is asked for a configuration with a :class:`~workbench.adaptive.history.History` of the intervals
before t (the tuning part included, as a deployed policy would remember it); the outcome is computed with the
interval's actual bandwidth, RTT, slowdown, intensity and requests by
:func:`~workbench.adaptive.scenario.serve` (the oracle's rule). :func:`run` splits a scenario, fits each
policy on the tuning part, replays each on the evaluation part, adds the oracle's plan, and summarises.

Frames (polars): :data:`INTERVAL_COLUMNS`, one row per policy and interval, and :func:`summarise`'s one row
per policy. Nothing is random here; the scenario's request counts carry the seed. Deterministic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import polars as pl

from workbench.adaptive.history import History
from workbench.adaptive.oracle import check_objective, oracle_plan
from workbench.adaptive.policies import Policy
from workbench.adaptive.scenario import Scenario, check_target_reachable, interval_costs, serve
from workbench.adaptive.space import ConfigurationSpace
from workbench.errors import ParameterError
from workbench.execution import map_tasks

INTERVAL_COLUMNS = ("policy", "interval", "time_s", "config_index", "config", "bandwidth_mbps", "rtt_ms", "slowdown",
                    "carbon_g_per_kwh", "requests", "served", "latency_ms", "slo_miss", "misses", "accuracy",
                    "device_energy_j", "energy_j", "carbon_g", "soc_j", "deferred", "served_deferred")
"""Per-interval outcome columns: energies and carbon are the interval's totals over served requests [J, gCO2e];
``latency_ms`` [ms] is one request's; ``misses`` counts requests late or unserved (deferrable work: unserved at
its deadline); ``soc_j`` the charge after; ``deferred`` the interval's deferrable requests held for a later
interval, ``served_deferred`` earlier intervals' deferred requests served in this one [requests]."""


@dataclass
class ReplayResult:
    """What :func:`run` returns.

    Attributes
    ----------
    intervals : polars.DataFrame
        :data:`INTERVAL_COLUMNS`, every policy (and ``oracle``).
    summary : polars.DataFrame
        One row per policy (:func:`summarise`).
    decide_s : dict
        Policy name → seconds spent in ``decide`` (wall clock; not part of the deterministic frames).
    oracle_exact : bool
        False when the oracle's labels were thinned (:func:`~workbench.adaptive.oracle.plan`).
    chosen : dict
        Policy name → its fitted parameters worth reporting (the static choice, the filter's noise).
    """

    intervals: pl.DataFrame
    summary: pl.DataFrame
    decide_s: dict = field(default_factory=dict)
    oracle_exact: bool = True
    chosen: dict = field(default_factory=dict)


def _outcomes(name: str, choices, space: ConfigurationSpace, scenario: Scenario, start: int, batch_now=None,
              served_deferred=None, deferred=None) -> pl.DataFrame:
    """Per-interval outcomes of ``choices`` from ``start``: the interactive requests of each interval and
    ``batch_now`` deferrable ones (default: each interval's own, served on arrival), of which ``served_deferred``
    arrived earlier; ``deferred`` requests of the interval were held for later."""
    part = scenario.part(start, len(scenario))
    costs = interval_costs(space, part)
    b, resets = part.budget, part.resets()
    own = part.batch_requests()
    inter = part.requests - own
    batch_now = own if batch_now is None else np.asarray(batch_now)
    zeros = np.zeros(len(part), dtype=np.int64)
    served_deferred = zeros if served_deferred is None else np.asarray(served_deferred)
    deferred = zeros if deferred is None else np.asarray(deferred)
    rows = {k: [] for k in INTERVAL_COLUMNS}
    soc = b.initial_j
    for i, j in enumerate(choices):
        if resets[i] and i > 0:
            soc = b.initial_j
        served, soc = serve(soc, inter[i] + batch_now[i], costs["device_energy_j"][i, j], b.capacity_j,
                            part.harvest_j[i])
        served, soc = float(served), float(soc)
        s_inter = min(served, float(inter[i]))       # interactive requests first, then the batch work due
        miss = bool(costs["miss"][i, j])
        for k, v in (("policy", name), ("interval", start + i), ("time_s", float(part.times_s[i])),
                     ("config_index", int(j)), ("config", space.names[j]),
                     ("bandwidth_mbps", float(part.bandwidth_mbps[i])), ("rtt_ms", float(part.rtt_ms[i])),
                     ("slowdown", float(part.slowdown[i])), ("carbon_g_per_kwh", float(part.carbon_g_per_kwh[i])),
                     ("requests", int(part.requests[i])), ("served", served),
                     ("latency_ms", float(costs["latency_ms"][i, j])), ("slo_miss", miss),
                     ("misses", inter[i] - s_inter + s_inter * miss + batch_now[i] - (served - s_inter)),
                     ("accuracy", float(space.accuracy[j])),
                     ("device_energy_j", served * float(costs["device_energy_j"][i, j])),
                     ("energy_j", served * float(costs["energy_j"][i, j])),
                     ("carbon_g", served * float(costs["carbon_g"][i, j])), ("soc_j", soc),
                     ("deferred", int(deferred[i])), ("served_deferred", int(served_deferred[i]))):
            rows[k].append(v)
    return pl.DataFrame(rows)


def replay(policy: Policy, space: ConfigurationSpace, scenario: Scenario, *, start: int = 0) -> tuple[pl.DataFrame, float]:
    """Run a fitted policy over intervals ``[start, len(scenario))``.

    Deferrable work (:meth:`Scenario.batch_requests <workbench.adaptive.scenario.Scenario.batch_requests>`)
    joins a queue as one cohort per interval with its deadline; after choosing the interval's configuration the
    policy says which cohorts to serve now (:meth:`Policy.release <workbench.adaptive.policies.Policy.release>`);
    a cohort at its deadline, and everything at the last interval, is served regardless. Deferred work is
    served with the configuration and at the intensity of the interval it is served in; no latency target
    applies to it; the budget serves interactive requests first, and batch work it cannot serve when due misses.

    Parameters
    ----------
    policy : Policy
        Fitted on the same ``space``.
    space : ConfigurationSpace
    scenario : Scenario
        The whole trace; intervals before ``start`` are the policy's observable past.
    start : int
        First interval replayed.

    Returns
    -------
    (polars.DataFrame, float)
        :data:`INTERVAL_COLUMNS` for this policy, and the seconds spent in ``decide`` and ``release``.

    Raises
    ------
    ParameterError
        ``start`` outside the scenario, or a decision that is not a configuration index.
    """
    if not 0 <= start < len(scenario):
        raise ParameterError(f"start = {start} is outside the scenario's {len(scenario)} intervals.")
    policy.reset()
    part = scenario.part(start, len(scenario))
    costs = interval_costs(space, part)
    b, resets = part.budget, part.resets()
    own = part.batch_requests()
    inter = part.requests - own
    history = History(scenario)
    history.t = start
    history.soc_j = b.initial_j
    choices, spent = [], 0.0
    n = len(part)
    batch_now, served_deferred, deferred = (np.zeros(n, dtype=np.int64) for _ in range(3))
    for i in range(n):
        if resets[i] and i > 0:
            history.soc_j = b.initial_j
        t0 = time.perf_counter()
        j = policy.decide(history)
        spent += time.perf_counter() - t0
        if not 0 <= j < len(space):
            raise ParameterError(f"policy {policy.name!r} chose {j!r}, not a configuration index 0..{len(space) - 1}.")
        if own[i]:
            history.queue.append([start + i + scenario.defer_deadline_intervals, int(own[i])])
        if history.queue:
            due = np.array([c[0] for c in history.queue])
            t0 = time.perf_counter()
            now = np.asarray(policy.release(history, due), bool) | (due <= start + i) | (i == n - 1)
            spent += time.perf_counter() - t0
            counts = np.array([c[1] for c in history.queue])
            new = own[i] > 0    # the newest cohort is this interval's own
            batch_now[i] = counts[now].sum()
            served_deferred[i] = batch_now[i] - (own[i] if new and now[-1] else 0)
            deferred[i] = own[i] if new and not now[-1] else 0
            history.queue = [c for c, k in zip(history.queue, now, strict=True) if not k]
        served, soc = serve(history.soc_j, inter[i] + batch_now[i], costs["device_energy_j"][i, j], b.capacity_j,
                            part.harvest_j[i])
        history.soc_j = float(soc)
        history.served += float(served)
        history.accuracy_sum += float(served) * float(space.accuracy[j])
        history.choices.append(int(j))
        choices.append(int(j))
        history.t += 1
    return _outcomes(policy.name, choices, space, scenario, start, batch_now, served_deferred, deferred), spent


def summarise(intervals: pl.DataFrame) -> pl.DataFrame:
    """One row per policy: requests, served, ``slo_miss_rate`` (misses ÷ requests), ``accuracy`` (mean over
    served requests), ``device_energy_j_per_request`` and ``energy_j_per_request`` [J per served request],
    ``carbon_g`` [gCO2e, total] and ``carbon_g_per_request``, ``soc_j_min`` and ``soc_j_end`` [J], ``deferred``
    (requests held for a later interval) and ``deferred_share`` (÷ requests), and ``switches`` (configuration
    changes)."""
    served = pl.col("served").sum()
    return (intervals.group_by("policy", maintain_order=True).agg(
        requests=pl.col("requests").sum(), served=served, misses=pl.col("misses").sum(),
        slo_miss_rate=pl.col("misses").sum() / pl.col("requests").sum().clip(1),
        accuracy=(pl.col("accuracy") * pl.col("served")).sum() / served.clip(1e-12),
        device_energy_j_per_request=pl.col("device_energy_j").sum() / served.clip(1e-12),
        energy_j_per_request=pl.col("energy_j").sum() / served.clip(1e-12),
        carbon_g=pl.col("carbon_g").sum(), carbon_g_per_request=pl.col("carbon_g").sum() / served.clip(1e-12),
        soc_j_min=pl.col("soc_j").min(), soc_j_end=pl.col("soc_j").last(),
        deferred=pl.col("deferred").sum(), deferred_share=pl.col("deferred").sum() / pl.col("requests").sum().clip(1),
        switches=(pl.col("config_index").diff().fill_null(0) != 0).sum()))


def run(space: ConfigurationSpace, scenario: Scenario, policies: list[Policy], *, tuning_fraction: float = 0.5,
        objective: str = "device_energy_j", accuracy_floor: float = 0.0, oracle: bool = True,
        max_labels: int = 4000, backend: str = "serial", n_jobs: int | None = None,
        address: str | None = None) -> ReplayResult:
    """Split, fit every policy on the tuning part, replay each on the evaluation part, add the oracle.

    Parameters
    ----------
    space : ConfigurationSpace
    scenario : Scenario
    policies : list of Policy
        Unfitted policies (distinct names).
    tuning_fraction : float
        Share of the intervals used for tuning.
    objective : str
        The oracle's objective (the policies carry their own).
    accuracy_floor : float
        The oracle's floor [1].
    oracle : bool
        Add the oracle's plan (policy ``oracle``).
    max_labels : int
        See :func:`workbench.adaptive.oracle.plan`.
    backend, n_jobs, address
        Where the policies are fitted and replayed, one task each (:func:`workbench.execution.map_tasks`).
        The intervals do not depend on it; each policy passed is left fitted, as with ``"serial"``.

    Returns
    -------
    ReplayResult

    Raises
    ------
    InfeasibleError
        The latency target is out of reach of every configuration at any bandwidth (the closest is named).
    ParameterError
        Repeated policy names, a bad split, no configuration at the floor.
    """
    check_objective(objective)
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise ParameterError(f"policy names repeat: {names}. Fix: give each policy once.")
    check_target_reachable(space, scenario, accuracy_floor)
    tuning, evaluation = scenario.split(tuning_fraction)
    start = len(tuning)
    frames, spent, chosen = [], {}, {}
    done = map_tasks(partial(_fit_and_replay, space, scenario, tuning, start), policies, backend=backend,
                     n_jobs=n_jobs, address=address)
    for p, (fitted, frame, seconds) in zip(policies, done, strict=True):
        if fitted is not p:  # fitted in another process: leave the caller's policy fitted as well
            vars(p).update(vars(fitted))
        spent[p.name] = seconds
        frames.append(frame)
        chosen[p.name] = {k: (space.names[v] if k == "choice_" else v) for k, v in vars(p).items()
                          if k in ("choice_", "tuning_miss_rate_", "q_", "r_", "z_")}
    exact = True
    if oracle:
        pl_ = oracle_plan(space, evaluation, objective=objective, accuracy_floor=accuracy_floor, max_labels=max_labels)
        frames.append(_outcomes("oracle", pl_.choices, space, scenario, start))
        exact = pl_.exact
    intervals = pl.concat(frames)
    return ReplayResult(intervals, summarise(intervals), spent, exact, chosen)


def _fit_and_replay(space, scenario, tuning, start, policy) -> tuple[Policy, pl.DataFrame, float]:
    """Fit ``policy`` on ``tuning`` and replay it from ``start`` (one task of :func:`run`)."""
    policy.fit(space, tuning)
    frame, seconds = replay(policy, space, scenario, start=start)
    return policy, frame, seconds


def decisions_per_s(policy: Policy, space: ConfigurationSpace, scenario: Scenario, *, start: int = 0,
                    repeats: int = 3) -> float:
    """Decisions per second of a fitted policy over ``[start, end)`` (the best of ``repeats`` replays of the
    decisions alone, each interval's history advanced by one)."""
    best = np.inf
    for _ in range(repeats):
        policy.reset()
        h = History(scenario)
        h.t = start
        t0 = time.perf_counter()
        for _t in range(start, len(scenario)):
            policy.decide(h)
            h.t += 1
        best = min(best, time.perf_counter() - t0)
    return (len(scenario) - start) / best
