"""The offline oracle: the best configuration sequence with perfect knowledge of the whole trace.

What "best" means, for every policy alike: fewer SLO misses first (a request misses when its latency is above
the target, or when the budget cannot serve it), then the least objective cost (device energy, total energy or
carbon of the served requests); both add up over intervals, so the order is lexicographic on the two sums.

Without a budget the intervals are independent and the oracle is the per-interval minimum. With a budget the
charge couples them, and :func:`plan` is dynamic programming over intervals whose states are labels
(misses, cost, charge): a label is dropped when another has no more misses and cost (in that order) and at
least as much charge, since more charge never leaves fewer choices (:func:`workbench.adaptive.scenario.serve`
is monotone in the charge). The labels kept are exact; when more than ``max_labels`` remain at a stage the
best ``max_labels`` by (misses, cost) and the fullest one are kept and the result says ``exact = False``.
:func:`brute_force` tries every sequence (tests' oracle on tiny instances).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from workbench.adaptive.scenario import Scenario, interval_costs, serve
from workbench.adaptive.space import ConfigurationSpace
from workbench.errors import ParameterError, UnknownNameError

OBJECTIVES = ("device_energy_j", "energy_j", "carbon_g")
"""What a policy minimises after SLO misses: device energy [J], total energy [J] or carbon [gCO2e]."""


def check_objective(objective: str) -> str:
    """``objective`` if it is one of :data:`OBJECTIVES`; :class:`UnknownNameError` otherwise."""
    if objective not in OBJECTIVES:
        raise UnknownNameError("objective", objective, OBJECTIVES)
    return objective


@dataclass(frozen=True)
class Plan:
    """A configuration per interval and what it achieves: ``misses`` [requests], ``cost`` [objective unit],
    ``exact`` (False when labels were thinned)."""

    choices: np.ndarray
    misses: float
    cost: float
    exact: bool = True


def plan(miss, device_j, cost_j, requests, *, capacity_j: float = math.inf, initial_j: float = math.inf,
         harvest_j=None, resets=None, allowed=None, max_labels: int = 4000) -> Plan:
    """The lexicographically best (misses, cost) sequence by dynamic programming over intervals.

    Parameters
    ----------
    miss : numpy.ndarray of bool, shape (T, C)
        Whether configuration c misses the latency target in interval t.
    device_j, cost_j : numpy.ndarray, shape (T, C)
        Device energy [J] and objective cost per served request.
    requests : numpy.ndarray, shape (T,)
        Requests per interval.
    capacity_j, initial_j : float
        The budget (``inf``: none).
    harvest_j : numpy.ndarray, optional
        Harvest per interval [J].
    resets : numpy.ndarray of bool, optional
        Intervals at whose start the charge is refilled to ``initial_j``.
    allowed : numpy.ndarray of bool, shape (C,), optional
        Configurations that may be chosen (default: all).
    max_labels : int
        Labels kept per interval.

    Returns
    -------
    Plan

    Raises
    ------
    ParameterError
        No configuration allowed.
    """
    miss = np.asarray(miss, bool)
    t_count, c_count = miss.shape
    allowed = np.ones(c_count, bool) if allowed is None else np.asarray(allowed, bool)
    idx = np.flatnonzero(allowed)
    if idx.size == 0:
        raise ParameterError("no configuration is allowed (every one is below the accuracy floor). Fix: lower the "
                             "accuracy floor, or add configurations.")
    n = np.asarray(requests, float)
    harvest = np.zeros(t_count) if harvest_j is None else np.asarray(harvest_j, float)
    resets = np.zeros(t_count, bool) if resets is None else np.asarray(resets, bool)
    m_all, d_all, c_all = miss[:, idx].astype(float), np.asarray(device_j)[:, idx], np.asarray(cost_j)[:, idx]
    if math.isinf(capacity_j):
        m = m_all * n[:, None]
        best = m.min(axis=1, keepdims=True)
        j = np.argmin(np.where(m == best, c_all, np.inf), axis=1)
        rows = np.arange(t_count)
        return Plan(idx[j], float(m[rows, j].sum()), float((c_all[rows, j] * n).sum()))
    lm, lc, ls = np.zeros(1), np.zeros(1), np.array([float(initial_j)])
    parents, exact = [], True
    for t in range(t_count):
        if resets[t] and t > 0:
            ls = np.full_like(ls, float(initial_j))
        served, soc = serve(ls[:, None], n[t], d_all[t][None, :], capacity_j, harvest[t])
        nm = (lm[:, None] + (n[t] - served) + served * m_all[t][None, :]).ravel()
        nc = (lc[:, None] + served * c_all[t][None, :]).ravel()
        ns = soc.ravel()
        order = np.lexsort((-ns, nc, nm))
        s_sorted = ns[order]
        prev_max = np.concatenate([[-np.inf], np.maximum.accumulate(s_sorted)[:-1]])
        keep = order[s_sorted > prev_max]
        if keep.size > max_labels:
            exact = False
            keep = np.unique(np.concatenate([keep[:max_labels - 1], [keep[np.argmax(ns[keep])]]]))
            keep = keep[np.lexsort((-ns[keep], nc[keep], nm[keep]))]
        parents.append((keep // len(idx), keep % len(idx)))
        lm, lc, ls = nm[keep], nc[keep], ns[keep]
    k = int(np.lexsort((lc, lm))[0])
    m_best, c_best = float(lm[k]), float(lc[k])
    choices = np.empty(t_count, dtype=int)
    for t in range(t_count - 1, -1, -1):
        label, j = parents[t]
        choices[t] = idx[j[k]]
        k = int(label[k])
    return Plan(choices, m_best, c_best, exact)


def plan_max_misses(miss, cost_j, requests, max_misses: float, *, allowed=None, steps: int = 60) -> Plan:
    """The least-cost sequence missing at most ``max_misses`` requests, without a budget (Lagrangian relaxation).

    :func:`plan` puts misses first, so a policy that misses more than the oracle may spend less than it; this is
    the oracle at the policy's miss count instead, for a comparison on equal terms. Per interval it minimises
    ``cost + μ × misses``; μ is bisected to the smallest value whose plan misses at most ``max_misses``. The plan
    returned is feasible and optimal for its own miss count (a point on the lower convex hull of the
    misses–cost trade-off); the true constrained optimum can lie below it by at most the duality gap, so the
    gap measured against it is a lower bound on the gap to that optimum.

    Parameters
    ----------
    miss : numpy.ndarray of bool, shape (T, C)
    cost_j : numpy.ndarray, shape (T, C)
        Objective cost per request.
    requests : numpy.ndarray, shape (T,)
    max_misses : float
        Requests allowed to miss (≥ the least possible, :func:`plan`'s ``misses``).
    allowed : numpy.ndarray of bool, shape (C,), optional
    steps : int
        Bisection steps on μ.

    Returns
    -------
    Plan
    """
    miss = np.asarray(miss, bool)
    idx = np.flatnonzero(np.ones(miss.shape[1], bool) if allowed is None else np.asarray(allowed, bool))
    if idx.size == 0:
        raise ParameterError("no configuration is allowed. Fix: lower the accuracy floor, or add configurations.")
    n = np.asarray(requests, float)[:, None]
    m, c = miss[:, idx] * n, np.asarray(cost_j, float)[:, idx] * n
    rows = np.arange(len(n))

    def solve(mu: float):
        j = np.argmin(c + mu * m, axis=1)
        return j, float(m[rows, j].sum()), float(c[rows, j].sum())

    hi = float(np.ptp(c)) * (1 + float(n.sum())) + 1.0   # above any cost difference: misses first, as plan
    best = plan(miss, cost_j, cost_j, requests, allowed=allowed)
    if best.misses > max_misses:
        return best
    lo = 0.0
    j, mm, cc = solve(lo)
    if mm <= max_misses:
        return Plan(idx[j], mm, cc)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if solve(mid)[1] <= max_misses:
            hi = mid
        else:
            lo = mid
    j, mm, cc = solve(hi)
    return Plan(idx[j], mm, cc)


def evaluate_sequence(choices, miss, device_j, cost_j, requests, *, capacity_j: float = math.inf,
                      initial_j: float = math.inf, harvest_j=None, resets=None) -> tuple[float, float]:
    """(misses, cost) of a given configuration sequence under the rules of :func:`plan`."""
    soc, m, c = float(initial_j), 0.0, 0.0
    harvest = np.zeros(len(choices)) if harvest_j is None else np.asarray(harvest_j, float)
    for t, j in enumerate(choices):
        if resets is not None and resets[t] and t > 0:
            soc = float(initial_j)
        served, soc = serve(soc, requests[t], device_j[t, j], capacity_j, harvest[t])
        served, soc = float(served), float(soc)
        m += requests[t] - served + served * float(miss[t, j])
        c += served * float(cost_j[t, j])
    return m, c


def brute_force(miss, device_j, cost_j, requests, *, allowed=None, **budget) -> Plan:
    """Every configuration sequence tried (|allowed|^T of them): the tests' oracle for :func:`plan`.

    Raises
    ------
    ParameterError
        More than 10⁶ sequences.
    """
    t_count, c_count = np.shape(miss)
    idx = np.flatnonzero(np.ones(c_count, bool) if allowed is None else allowed)
    if len(idx) ** t_count > 1_000_000:
        raise ParameterError(f"{len(idx)}^{t_count} sequences are too many to try. Fix: a smaller instance.")
    best = None
    for seq in itertools.product(idx, repeat=t_count):
        m, c = evaluate_sequence(seq, miss, device_j, cost_j, requests, **budget)
        if best is None or (m, c) < best[:2]:
            best = (m, c, np.array(seq))
    return Plan(best[2], best[0], best[1])


def oracle_plan(space: ConfigurationSpace, scenario: Scenario, *, objective: str = "device_energy_j",
                accuracy_floor: float = 0.0, max_labels: int = 4000) -> Plan:
    """The oracle's plan for ``scenario`` with the actual values of every interval.

    Parameters
    ----------
    space : ConfigurationSpace
    scenario : Scenario
    objective : str
        One of :data:`OBJECTIVES`.
    accuracy_floor : float
        Only configurations at least this accurate [1].
    max_labels : int
        See :func:`plan`.

    Returns
    -------
    Plan
    """
    costs = interval_costs(space, scenario)
    b = scenario.budget
    return plan(costs["miss"], costs["device_energy_j"], costs[check_objective(objective)], scenario.requests,
                capacity_j=b.capacity_j, initial_j=b.initial_j, harvest_j=scenario.harvest_j,
                resets=scenario.resets(), allowed=space.accuracy >= accuracy_floor, max_labels=max_labels)
