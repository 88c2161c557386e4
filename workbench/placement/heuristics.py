"""Chain-split heuristics: simple rules a deployment might use instead of the optimum.

Each returns the result shape of :func:`~workbench.placement.chain_semantics.solver_result` with
``optimal = False``; :func:`workbench.placement.chain.heuristics_table` sets them beside the optimum with
their gap. A heuristic's assignment may break a constraint: its ``feasible`` and ``violations`` say so.
"""

from __future__ import annotations

from workbench.placement.chain_semantics import (
    evaluate,
    inputs_bytes,
    objective_coefficients,
    solver_result,
)
from workbench.placement.problem import ChainProblem, check_objective


def all_at_source(problem: ChainProblem, objective: str | None = None) -> dict:
    """Every layer on tier 0, where the data is produced (no transfer at all).

    Parameters
    ----------
    problem : ChainProblem
    objective : str, optional
        The objective whose value is reported (default: the problem's).

    Returns
    -------
    dict
        The result shape, ``solver = "all_at_source"``.
    """
    objective = check_objective(objective or problem.objective)
    return solver_result(problem, objective, [0] * len(problem.layers), "all_at_source", False)


def all_in_cloud(problem: ChainProblem, objective: str | None = None) -> dict:
    """Every layer on the last tier (the input crosses every link).

    Parameters
    ----------
    problem : ChainProblem
    objective : str, optional
        The objective whose value is reported (default: the problem's).

    Returns
    -------
    dict
        The result shape, ``solver = "all_in_cloud"``.
    """
    objective = check_objective(objective or problem.objective)
    last = len(problem.tiers) - 1
    return solver_result(problem, objective, [last] * len(problem.layers), "all_in_cloud", False)


def _best(problem: ChainProblem, objective: str, candidates, solver: str) -> dict:
    """The best feasible candidate by ``objective`` (the best overall if none is feasible)."""
    best_key, best = None, None
    for a in candidates:
        m = evaluate(problem, a)
        key = (not m["feasible"], m[objective])
        if best_key is None or key < best_key:
            best_key, best = key, a
    return solver_result(problem, objective, best, solver, False)


def best_single_split(problem: ChainProblem, objective: str | None = None) -> dict:
    """The best two-tier split: the first s layers on tier 0, the rest on one tier t > 0 (Neurosurgeon's
    device/cloud split point, tried for every s and t); constraints are respected when any split meets them.

    Parameters
    ----------
    problem : ChainProblem
    objective : str, optional
        The objective minimised (default: the problem's).

    Returns
    -------
    dict
        The result shape, ``solver = "best_single_split"``.
    """
    objective = check_objective(objective or problem.objective)
    L, T = len(problem.layers), len(problem.tiers)
    candidates = [[0] * L] + [[0] * s + [t] * (L - s) for t in range(1, T) for s in range(L)]
    return _best(problem, objective, candidates, "best_single_split")


def greedy_by_carbon(problem: ChainProblem, objective: str | None = None) -> dict:
    """Layer by layer from the source, each on the tier (at or beyond the previous layer's, with memory left
    for its weights) that adds the least carbon: the layer's own plus that of the links crossed to reach it.

    Myopic: it never looks at the layers ahead, so a large tensor early on can trap it on the source.

    Parameters
    ----------
    problem : ChainProblem
    objective : str, optional
        The objective whose value is reported (default: the problem's); the rule itself always uses carbon.

    Returns
    -------
    dict
        The result shape, ``solver = "greedy_by_carbon"``.
    """
    objective = check_objective(objective or problem.objective)
    cost, alpha, beta = objective_coefficients(problem, "carbon_g")
    ins = inputs_bytes(problem)
    free = [t.memory_bytes if t.memory_bytes is not None else float("inf") for t in problem.tiers]
    a, here = [], 0
    for i, layer in enumerate(problem.layers):
        best_t, best_c = None, None
        for t in range(here, len(problem.tiers)):
            c = cost[i][t] + sum(alpha[k - 1] + beta[k - 1] * ins[i] for k in range(here + 1, t + 1))
            if layer.weight_bytes <= free[t] and (best_c is None or c < best_c):
                best_t, best_c = t, c
        here = best_t if best_t is not None else len(problem.tiers) - 1
        free[here] -= layer.weight_bytes
        a.append(here)
    return solver_result(problem, objective, a, "greedy_by_carbon", False)


HEURISTICS = {"all_at_source": all_at_source, "all_in_cloud": all_in_cloud, "best_single_split": best_single_split,
              "greedy_by_carbon": greedy_by_carbon}
"""Heuristic name → function, in the order of :func:`workbench.placement.chain.heuristics_table`."""
