"""The constrained chain split as a mixed-integer linear program, solved by HiGHS through :func:`scipy.optimize.milp`.

Formulation (L layers, T tiers, links k = 1..T−1; the terms of
:func:`~workbench.placement.chain_semantics.objective_coefficients`):

- x[i,t] ∈ {0,1}: layer i runs on tier t; Σ_t x[i,t] = 1 for every layer;
- z[i,k] ∈ [0,1], the link-crossing indicators: layer i is the first layer beyond link k,
  z[i,k] = Σ_{t≥k} x[i,t] − Σ_{t≥k} x[i−1,t] (the second sum is 0 for i = 0). Their bounds z ≥ 0 are the
  monotonicity constraints, and Σ_i z[i,k] = Σ_{t≥k} x[L−1,t] says whether link k is crossed;
- minimise Σ cost[i][t] x[i,t] + Σ_{i,k} (alpha_k + beta_k × in_i) z[i,k];
- memory: Σ_i weight_bytes_i x[i,t] ≤ memory_bytes_t for every tier with a limit;
- SLO: the same linear form with the latency terms ≤ latency_ms_max.

The objective is scaled so that its largest coefficient is 1 (HiGHS's absolute gap tolerance would
otherwise stop early on objectives in grams or joules); values are reported unscaled, recomputed by
:func:`~workbench.placement.chain_semantics.evaluate` from the assignment found. When HiGHS finds no
feasible point, :func:`diagnose_infeasible` names the constraint that cannot be met.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from workbench.checks import check_number
from workbench.errors import InfeasibleError, ParameterError
from workbench.placement.chain_semantics import (
    describe_assignment,
    inputs_bytes,
    objective_coefficients,
    solver_result,
)
from workbench.placement.problem import ChainProblem, check_objective

MIP_REL_GAP = 1e-9
"""Relative MIP gap at which HiGHS stops [1]: near zero, so that the MILP is exact on chains (they solve in
milliseconds) and equals brute force in the tests."""


def _linear_form(problem: ChainProblem, objective: str) -> np.ndarray:
    """The objective's coefficients over the variables (x then z)."""
    L, T = len(problem.layers), len(problem.tiers)
    cost, alpha, beta = objective_coefficients(problem, objective)
    ins = inputs_bytes(problem)
    c = np.zeros(L * T + L * (T - 1))
    c[:L * T] = np.asarray(cost, dtype=float).ravel()
    for i in range(L):
        for k in range(1, T):
            c[L * T + i * (T - 1) + k - 1] = alpha[k - 1] + beta[k - 1] * ins[i]
    return c


def _solve(problem: ChainProblem, objective: str, *, memory: bool = True, slo: bool = True,
           time_limit_s: float = 60.0):
    """HiGHS on the formulation of the module docstring; returns scipy's result."""
    L, T = len(problem.layers), len(problem.tiers)
    nx, nz = L * T, L * (T - 1)
    rows, lb, ub = [], [], []

    def add(row, lo, hi):
        rows.append(row)
        lb.append(lo)
        ub.append(hi)

    for i in range(L):  # one tier per layer
        row = np.zeros(nx + nz)
        row[i * T:(i + 1) * T] = 1
        add(row, 1.0, 1.0)
    for i in range(L):  # crossing indicators
        for k in range(1, T):
            row = np.zeros(nx + nz)
            row[nx + i * (T - 1) + k - 1] = 1
            row[i * T + k:(i + 1) * T] -= 1
            if i > 0:
                row[(i - 1) * T + k:i * T] += 1
            add(row, 0.0, 0.0)
    if memory:
        for t, tier in enumerate(problem.tiers):
            if tier.memory_bytes is not None:
                row = np.zeros(nx + nz)
                row[t:nx:T] = [layer.weight_bytes for layer in problem.layers]
                add(row, -np.inf, tier.memory_bytes)
    if slo and problem.latency_ms_max is not None:
        add(_linear_form(problem, "latency_ms"), -np.inf, problem.latency_ms_max)
    A = lil_matrix(np.vstack(rows)).tocsr()
    c = _linear_form(problem, objective)
    scale = float(np.max(np.abs(c))) or 1.0
    integrality = np.concatenate([np.ones(nx), np.zeros(nz)])
    return milp(c / scale, constraints=LinearConstraint(A, lb, ub), integrality=integrality,
                bounds=Bounds(0, 1), options={"mip_rel_gap": MIP_REL_GAP, "time_limit": time_limit_s})


def _assignment(problem: ChainProblem, x: np.ndarray) -> list[int]:
    L, T = len(problem.layers), len(problem.tiers)
    return [int(np.argmax(x[i * T:(i + 1) * T])) for i in range(L)]


def solve_milp(problem: ChainProblem, objective: str | None = None, *, time_limit_s: float = 60.0) -> dict:
    """The best monotone assignment under the memory and latency constraints, by MILP on HiGHS.

    Parameters
    ----------
    problem : ChainProblem
    objective : str, optional
        One of :data:`~workbench.placement.problem.OBJECTIVES` (default: the problem's).
    time_limit_s : float
        HiGHS's time limit [s].

    Returns
    -------
    dict
        The result shape of :func:`~workbench.placement.chain_semantics.solver_result`, with
        ``solver = "milp"``, ``gap`` (HiGHS's relative MIP gap [1]) and ``status`` (HiGHS's message).

    Raises
    ------
    InfeasibleError
        No assignment meets the constraints; the message names which (see :func:`diagnose_infeasible`).
    ParameterError
        HiGHS stopped (time limit) without a feasible assignment.

    References
    ----------
    Y. Kang et al., "Neurosurgeon: Collaborative Intelligence Between the Cloud and Mobile Edge", ASPLOS 2017
    (the chain split); Q. Huangfu, J. A. J. Hall, "Parallelizing the dual revised simplex method",
    Math. Prog. Comp. 10, 2018 (HiGHS).
    """
    objective = check_objective(objective or problem.objective)
    time_limit_s = check_number(time_limit_s, "time_limit_s", minimum=0, exclusive=True)
    res = _solve(problem, objective, time_limit_s=time_limit_s)
    if res.x is None:
        if res.status == 2:
            raise InfeasibleError(diagnose_infeasible(problem))
        raise ParameterError(f"HiGHS stopped without a feasible assignment ({res.message}). Fix: raise "
                             f"time_limit_s (it was {time_limit_s:g} s).")
    gap = float(res.mip_gap) if res.mip_gap is not None else 0.0
    return solver_result(problem, objective, _assignment(problem, res.x), "milp", res.status == 0, gap=gap,
                         status=str(res.message))


def diagnose_infeasible(problem: ChainProblem) -> str:
    """Which constraint of an infeasible problem cannot be met, as one message starting ``infeasible:``.

    In order: a layer whose weights fit no tier; the model's weights against the tiers' memory (a
    feasibility MILP without the SLO); the latency SLO against the fastest assignment that fits memory.
    """
    limits = ", ".join(f"{t.name}: {t.memory_bytes:g}" if t.memory_bytes is not None else f"{t.name}: no limit"
                       for t in problem.tiers)
    for layer in problem.layers:
        if all(t.memory_bytes is not None and layer.weight_bytes > t.memory_bytes for t in problem.tiers):
            return (f"infeasible: memory: layer {layer.name!r} has weight_bytes = {layer.weight_bytes:g}, more than "
                    f"the memory_bytes of every tier ({limits}). Fix: give a tier more memory_bytes, or compress "
                    "the layer.")
    total = sum(layer.weight_bytes for layer in problem.layers)
    fastest = _solve(problem, "latency_ms", slo=False)
    if fastest.x is None:
        return (f"infeasible: memory: no monotone assignment (data only moves outwards) fits the model's weights "
                f"(weight_bytes total {total:g}) into the tiers' memory_bytes ({limits}). Fix: give the tiers more "
                "memory_bytes, or a smaller model.")
    if problem.latency_ms_max is not None:
        a = _assignment(problem, fastest.x)
        best = solver_result(problem, "latency_ms", a, "milp", True)["latency_ms"]
        fits = " that fits the tiers' memory" if any(t.memory_bytes is not None for t in problem.tiers) else ""
        if best > problem.latency_ms_max:
            return (f"infeasible: latency SLO: latency_ms_max = {problem.latency_ms_max:g} ms cannot be met; the "
                    f"fastest assignment{fits} takes {best:g} ms ({describe_assignment(problem, a)}). Fix: raise "
                    f"latency_ms_max to at least {best:g}, or give faster tiers or links.")
        return (f"infeasible: latency SLO: latency_ms_max = {problem.latency_ms_max:g} ms is met only within HiGHS's "
                f"tolerance (the fastest assignment{fits} takes {best:.12g} ms). Fix: raise latency_ms_max slightly.")
    return "infeasible: memory and latency constraints together (HiGHS found no feasible point)."
