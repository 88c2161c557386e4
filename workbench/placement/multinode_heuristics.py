"""Heuristic placements of many applications, each with its gap to the MILP optimum.

- ``all_local``: every app runs all-local (its best all-local option for the objective).
- ``all_on_most_powerful``: every app sends its remote part to the node with the largest capacity
  (then memory, then tier); an app whose source is that node runs all-local.
- ``greedy_by_carbon``: apps in decreasing order of request rate, each takes the lowest-carbon
  candidate that meets its SLO and fits the memory, utilisation and bandwidth still free (its carbon
  counts the idle power of a node it switches on).

None of them looks at the other constraints while choosing, except the greedy one; each is scored
exactly by :func:`~workbench.placement.multinode_costs.evaluate`, and one that breaks a constraint is
reported ``infeasible`` with the constraint, never with a gap.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.placement.multinode import objective_vectors, solve_placement
from workbench.placement.multinode_costs import Candidates, candidates, evaluate, idle_per_request
from workbench.placement.multinode_model import MultinodeProblem, weights_of

HEURISTICS = ("all_local", "all_on_most_powerful", "greedy_by_carbon")


def _best(pool, cost, slo_ok):
    """Index in ``pool`` with the lowest cost, SLO-meeting ones first; None for an empty pool."""
    if len(pool) == 0:
        return None
    key = np.where(slo_ok[pool], 0.0, 1.0) * (np.abs(cost).max() + 1) * 10 + cost[pool]
    return int(pool[np.argmin(key)])


def _all_local(problem, cand, cost):
    choice = []
    for ai, app in enumerate(problem.apps):
        pool = np.flatnonzero((cand.app == ai) & (cand.remote_index < 0))
        k = _best(pool, cost, cand.slo_ok)
        if k is None:
            return None, f"app {app.name} has no all-local option"
        choice.append(k)
    return choice, ""


def most_powerful_node(problem: MultinodeProblem) -> str:
    """The node with the largest capacity (ties: more memory, then the outermost tier)."""
    return max(problem.nodes, key=lambda n: (n.capacity, n.memory_bytes, n.tier)).name


def _all_on(problem, cand, cost, node):
    ni = [n.name for n in problem.nodes].index(node)
    choice = []
    for ai, app in enumerate(problem.apps):
        where = (cand.remote_index < 0) if app.source == node else (cand.remote_index == ni)
        k = _best(np.flatnonzero((cand.app == ai) & where), cost, cand.slo_ok)
        if k is None:
            return None, f"app {app.name} has no option with its remote part on {node}"
        choice.append(k)
    return choice, ""


def _greedy_by_carbon(problem, cand):
    rates = np.array([a.request_rate_per_s for a in problem.apps])
    carbon = rates[cand.app] * cand.metrics["carbon_g"] / problem.total_rate_per_s
    idle = idle_per_request(problem)["carbon_g"]
    idx = {n.name: i for i, n in enumerate(problem.nodes)}
    active = {idx[a.source] for a in problem.apps}
    mem = np.array([n.memory_bytes for n in problem.nodes])
    cap = np.array([n.capacity for n in problem.nodes])
    bw = np.array([lk.bandwidth_mbps for lk in problem.links])
    choice = [None] * len(problem.apps)
    for ai in sorted(range(len(problem.apps)), key=lambda a: -rates[a]):
        pool = [k for k in np.flatnonzero((cand.app == ai) & cand.slo_ok)
                if np.all(cand.memory_bytes[k] <= mem * (1 + 1e-9))
                and np.all(cand.utilization[k] <= cap * (1 + 1e-9))
                and np.all(cand.load_mbps[k] <= bw * (1 + 1e-9))]
        if not pool:
            return None, f"app {problem.apps[ai].name} fits nowhere after the apps with higher rates"
        marginal = [carbon[k] + (idle[cand.remote_index[k]] if cand.remote_index[k] >= 0
                                 and cand.remote_index[k] not in active else 0.0) for k in pool]
        k = pool[int(np.argmin(marginal))]
        choice[ai] = k
        mem, cap, bw = mem - cand.memory_bytes[k], cap - cand.utilization[k], bw - cand.load_mbps[k]
        if cand.remote_index[k] >= 0:
            active.add(int(cand.remote_index[k]))
    return choice, ""


def heuristic_choices(problem: MultinodeProblem, objective="carbon_g", cand: Candidates | None = None) -> dict:
    """Heuristic name → (candidate index per app or None, note why none)."""
    cand = candidates(problem) if cand is None else cand
    cost, _ = objective_vectors(problem, cand, weights_of(objective))
    return {"all_local": _all_local(problem, cand, cost),
            "all_on_most_powerful": _all_on(problem, cand, cost, most_powerful_node(problem)),
            "greedy_by_carbon": _greedy_by_carbon(problem, cand)}


def compare_heuristics(problem: MultinodeProblem, objective="carbon_g", optimum=None) -> pl.DataFrame:
    """Every heuristic's objective value beside the MILP optimum, with ``gap = value / optimum − 1``.

    Parameters
    ----------
    problem : MultinodeProblem
    objective : str or dict
        As for :func:`~workbench.placement.multinode.solve_placement`.
    optimum : MultinodeResult or None
        The MILP's result for the same objective; solved here when None.

    Returns
    -------
    polars.DataFrame
        heuristic, value, feasible, gap (null when infeasible), note (``"infeasible: ..."`` naming the
        constraint the heuristic breaks, else empty). A first row ``milp`` holds the optimum (gap 0).

    Raises
    ------
    InfeasibleError
        The problem itself has no feasible placement.
    """
    weights = weights_of(objective)
    optimum = solve_placement(problem, objective) if optimum is None else optimum
    cand = candidates(problem)
    rows = [("milp", optimum.value, True, 0.0, "" if optimum.optimal else f"not proven optimal: {optimum.status}")]
    for name, (choice, why) in heuristic_choices(problem, objective, cand).items():
        if choice is None:
            rows.append((name, None, False, None, f"infeasible: {why}"))
            continue
        metrics, violations = evaluate(problem, cand, choice)
        value = sum(w * metrics[m] for m, w in weights.items())
        if violations:
            rows.append((name, value, False, None, "infeasible: " + "; ".join(violations)))
        else:
            gap = value / optimum.value - 1 if optimum.value != 0 else (0.0 if value == 0 else float("inf"))
            rows.append((name, value, True, gap, ""))
    return pl.DataFrame(rows, schema={"heuristic": pl.String, "value": pl.Float64, "feasible": pl.Boolean,
                                      "gap": pl.Float64, "note": pl.String}, orient="row")
