"""The chain split (Neurosurgeon): which layers of a chain-structured DNN run on which tier.

The semantics (what an assignment costs: latency, device energy, energy, carbon, transfer, memory) are
implemented once, in :func:`evaluate` (module :mod:`~workbench.placement.chain_semantics`, where the
formulas are written out). Solvers, all returning the same result shape (``objective``, ``value``,
``assignment`` as tier names, the metrics of :func:`evaluate`, ``solver``, ``optimal``, ``cost_source``;
the MILP adds ``gap`` and ``status``):

- :func:`brute_force`: every monotone assignment, C(L + T − 1, T − 1) of them; the oracle of the tests;
- :func:`solve_dp`: dynamic programming over (layer, tier), O(L T²), exact without memory or SLO limits;
- :func:`solve_milp`: the MILP of :mod:`~workbench.placement.chain_milp` on HiGHS, exact with them;
- :func:`solve`: dynamic programming when its optimum meets the constraints (then it is the constrained
  optimum too), else the MILP;
- heuristics (:mod:`~workbench.placement.heuristics`) beside the optimum with their gap: :func:`heuristics_table`.

Examples
--------
>>> from workbench.placement.problem import parse_problem
>>> p = parse_problem({"model": {"input_bytes": 1000, "layers": [
...     {"output_bytes": 10, "latency_ms": [5.0, 1.0], "energy_j": [0.5, 0.2]}]},
...     "tiers": [{"name": "phone", "carbon_intensity_g_per_kwh": 300},
...               {"name": "cloud", "carbon_intensity_g_per_kwh": 50}],
...     "links": [{"bandwidth_mbps": 8.0, "rtt_ms": 20.0}]})
>>> r = solve(p)
>>> r["assignment"], r["latency_ms"], r["solver"]
(['phone'], 5.0, 'dp')
"""

from __future__ import annotations

import itertools
import math

from workbench.errors import InfeasibleError
from workbench.placement.chain_milp import solve_milp
from workbench.placement.chain_semantics import (
    evaluate,
    inputs_bytes,
    objective_coefficients,
    solver_result,
)
from workbench.placement.heuristics import HEURISTICS
from workbench.placement.problem import ChainProblem, check_objective

__all__ = ["brute_force", "evaluate", "heuristics_table", "solve", "solve_dp", "solve_milp"]


def brute_force(problem: ChainProblem, objective: str | None = None) -> dict:
    """The best of every monotone assignment that meets the constraints, by enumeration.

    Parameters
    ----------
    problem : ChainProblem
    objective : str, optional
        One of :data:`~workbench.placement.problem.OBJECTIVES` (default: the problem's).

    Returns
    -------
    dict
        The result shape, ``solver = "brute_force"``, ``optimal = True``.

    Raises
    ------
    InfeasibleError
        No monotone assignment meets the memory and latency constraints.
    """
    objective = check_objective(objective or problem.objective)
    best, best_value, n = None, None, 0
    for a in itertools.combinations_with_replacement(range(len(problem.tiers)), len(problem.layers)):
        n += 1
        m = evaluate(problem, a)
        if m["feasible"] and (best_value is None or m[objective] < best_value):
            best, best_value = a, m[objective]
    if best is None:
        raise InfeasibleError(f"infeasible: none of the {n} monotone assignments meets the memory and latency "
                              "constraints (brute force)")
    return solver_result(problem, objective, best, "brute_force", True)


def solve_dp(problem: ChainProblem, objective: str | None = None) -> dict:
    """The best monotone assignment ignoring memory and SLO, by dynamic programming (Neurosurgeon).

    f[i][t], the least cost of layers 0..i with layer i on tier t, is cost[i][t] plus the least
    f[i−1][s] (s ≤ t) plus the links s+1..t crossed carrying in_i; the result's way back is part of
    each link's fixed term (:func:`~workbench.placement.chain_semantics.objective_coefficients`).

    Parameters
    ----------
    problem : ChainProblem
    objective : str, optional
        One of :data:`~workbench.placement.problem.OBJECTIVES` (default: the problem's).

    Returns
    -------
    dict
        The result shape, ``solver = "dp"``; ``optimal`` is True for the unconstrained problem (its
        ``feasible`` says whether the problem's constraints hold at this assignment).

    References
    ----------
    Y. Kang, J. Hauswald, C. Gao, A. Rovinski, T. Mudge, J. Mars, L. Tang. "Neurosurgeon: Collaborative
    Intelligence Between the Cloud and Mobile Edge." ASPLOS 2017.
    """
    objective = check_objective(objective or problem.objective)
    cost, alpha, beta = objective_coefficients(problem, objective)
    ins = inputs_bytes(problem)
    T = len(problem.tiers)
    f = [[math.inf] * T for _ in problem.layers]
    back = [[0] * T for _ in problem.layers]
    for i in range(len(problem.layers)):
        for t in range(T):
            for s in range(t + 1) if i > 0 else (0,):
                before = f[i - 1][s] if i > 0 else 0.0
                value = before + sum(alpha[k - 1] + beta[k - 1] * ins[i] for k in range(s + 1, t + 1))
                if value < f[i][t]:
                    f[i][t], back[i][t] = value, s
            f[i][t] += cost[i][t]
    t = min(range(T), key=lambda u: f[-1][u])
    a = [t]
    for i in range(len(problem.layers) - 1, 0, -1):
        t = back[i][t]
        a.append(t)
    return solver_result(problem, objective, a[::-1], "dp", True)


def solve(problem: ChainProblem, objective: str | None = None) -> dict:
    """The optimal chain split: dynamic programming when its optimum meets the constraints, else the MILP.

    Parameters
    ----------
    problem : ChainProblem
    objective : str, optional
        One of :data:`~workbench.placement.problem.OBJECTIVES` (default: the problem's).

    Returns
    -------
    dict
        The result shape (``solver`` says which solver answered).

    Raises
    ------
    InfeasibleError
        No assignment meets the constraints; the message names which.
    """
    result = solve_dp(problem, objective)
    return result if result["feasible"] else solve_milp(problem, objective)


def heuristics_table(problem: ChainProblem, objective: str | None = None) -> list[dict]:
    """The optimum and every heuristic, each with its gap to the optimum.

    Parameters
    ----------
    problem : ChainProblem
    objective : str, optional
        One of :data:`~workbench.placement.problem.OBJECTIVES` (default: the problem's).

    Returns
    -------
    list of dict
        The optimum first, then each heuristic of :data:`~workbench.placement.heuristics.HEURISTICS`: the
        result shape plus ``gap_to_optimum`` [1], (value − optimum) / optimum (0 when both are 0, ``inf``
        when only the optimum is 0; it is never negative for a feasible heuristic).

    Raises
    ------
    InfeasibleError
        The problem has no feasible assignment (so there is no optimum to compare with).
    """
    objective = check_objective(objective or problem.objective)
    best = solve(problem, objective)
    rows = [best] + [h(problem, objective) for h in HEURISTICS.values()]
    for row in rows:
        row["gap_to_optimum"] = relative_gap(row["value"], best["value"])
    return rows


def relative_gap(value: float, optimum: float) -> float:
    """(value − optimum) / |optimum| [1]; 0 when both are 0, ``inf`` when only the optimum is 0."""
    if optimum == 0:
        return 0.0 if value == 0 else math.inf
    return (value - optimum) / abs(optimum)
