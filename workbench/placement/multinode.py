"""Many applications on many nodes: a mixed-integer program solved by HiGHS.

The model (nodes, links, applications, options) lives in :mod:`workbench.placement.multinode_model`,
the per-request cost of each choice in :mod:`workbench.placement.multinode_costs`; this module builds
and solves the MILP and explains infeasibility. Heuristics with their gap to the optimum are in
:mod:`workbench.placement.multinode_heuristics`, random instances and the scale benchmark in
:mod:`workbench.placement.multinode_scale`.

Formulation (candidates ``k`` = (app, option, remote node or none), see the costs module)::

    min  Σ_k c_k y_k + Σ_n i_n z_n
    s.t. Σ_{k of app a} y_k = 1                                  every app, one candidate
         Σ_k memory_bytes[k, n] y_k ≤ memory_bytes_n             every node
         Σ_k rate_k service_ms[k, n] / 1e3 y_k ≤ capacity_n      every node (utilisation)
         Σ_k rate_k (up + down bytes)_k × 8 / 1e6 y_k ≤ bandwidth_mbps_l   every link
         y_k ≤ z_n  for k with its remote part on n              node n is active (idle power)
         y_k = 0    where latency_ms[k] > SLO of its app          per-app SLO (fixed per candidate)
         y, z ∈ {0, 1};  z_n = 1 for source nodes

with ``c_k = Σ_m w_m rate_k metric_m[k] / Σ rate`` and ``i_n = Σ_m w_m idle_m[n]`` for the objective
weights ``w`` over ``latency_ms``, ``device_energy_j``, ``energy_j``, ``carbon_g``.

Why :func:`scipy.optimize.milp`: SciPy ships HiGHS, so there is no further dependency (highspy would
be one), and its result reports the status, ``mip_gap`` and ``mip_dual_bound`` that the result carries.
Rows are scaled to a right-hand side of 1 and the objective to a largest coefficient of 1e6 (HiGHS's
absolute gap tolerance, 1e-6, then stays below 1e-9 of the objective); the reported value is recomputed
exactly from the chosen assignment by :func:`~workbench.placement.multinode_costs.evaluate`.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from workbench.checks import check_number
from workbench.errors import InfeasibleError, WorkbenchError
from workbench.placement.multinode_costs import Candidates, candidates, evaluate, idle_per_request
from workbench.placement.multinode_model import OBJECTIVES, MultinodeProblem, weights_of

SOLVER = "HiGHS (scipy.optimize.milp)"
FAMILIES = ("memory", "utilisation", "bandwidth")
_STATUS = {0: "optimal", 1: "limit reached", 2: "infeasible", 3: "unbounded", 4: "error"}


@dataclass(frozen=True)
class MultinodeResult:
    """A placement: the assignment, its metrics and the solver's report.

    Attributes
    ----------
    objective : str or dict
        What was minimised (a name, or weights over :data:`OBJECTIVES`).
    value : float
        The objective of the assignment (weighted sum of ``metrics``), recomputed exactly.
    metrics : dict
        ``latency_ms``, ``device_energy_j``, ``energy_j``, ``carbon_g``: rate-weighted means per request.
    status : str
        ``"optimal"``, ``"limit reached"`` (a time limit; ``gap`` says how far from proven).
    optimal : bool
    gap : float
        HiGHS's relative MIP gap (0 when proven optimal).
    dual_bound : float
        HiGHS's lower bound on the objective, in the same unit as ``value``.
    solve_s : float [s]
        Wall time of the solve.
    assignment : polars.DataFrame
        One row per app: app, source, option, remote_node (null when all-local), request_rate_per_s,
        latency_ms, slo_ms, device_energy_j, energy_j, carbon_g (per request of that app, idle excluded).
    nodes : polars.DataFrame
        node, tier, active, utilization, capacity, memory_used_bytes, memory_bytes.
    links : polars.DataFrame
        link, load_mbps, bandwidth_mbps.
    """

    objective: object
    value: float
    metrics: dict
    status: str
    optimal: bool
    gap: float
    dual_bound: float
    solve_s: float
    assignment: pl.DataFrame
    nodes: pl.DataFrame
    links: pl.DataFrame
    solver: str = SOLVER
    violations: list = field(default_factory=list)


def _rows(problem: MultinodeProblem, cand: Candidates) -> list:
    """Resource rows: (family, name, coefficients over candidates, capacity); all-zero rows left out."""
    rows = []
    for ni, node in enumerate(problem.nodes):
        rows.append(("memory", node.name, cand.memory_bytes[:, ni], node.memory_bytes))
    for ni, node in enumerate(problem.nodes):
        rows.append(("utilisation", node.name, cand.utilization[:, ni], node.capacity))
    for li, lk in enumerate(problem.links):
        rows.append(("bandwidth", lk.name, cand.load_mbps[:, li], lk.bandwidth_mbps))
    return [r for r in rows if np.any(r[2] > 0)]


def _solve(problem, cand, c_y, c_z, rows, *, time_limit_s=None, mip_rel_gap=0.0):
    """One HiGHS run over ``y`` (candidates) and ``z`` (active nodes); returns the OptimizeResult."""
    n_k, n_n = len(cand.app), len(problem.nodes)
    sources = {a.source for a in problem.apps}
    ri, ci, vals, lo, hi = [], [], [], [], []          # the constraint matrix, sparse (row, column, value)

    def row(cols, coefs, low, high):
        ri.extend([len(lo)] * len(cols))
        ci.extend(cols)
        vals.extend(coefs)
        lo.append(low)
        hi.append(high)

    for ai in range(len(problem.apps)):
        cols = np.flatnonzero(cand.app == ai)
        row(cols, np.ones(len(cols)), 1.0, 1.0)
    for _family, _name, coef, cap in rows:
        cols = np.flatnonzero(coef)
        row(cols, coef[cols] / cap, -np.inf, 1.0)
    z_lo, z_hi = np.zeros(n_n), np.zeros(n_n)
    for ni, node in enumerate(problem.nodes):
        if node.name in sources:
            z_lo[ni] = z_hi[ni] = 1.0
        elif c_z[ni] > 0:
            z_hi[ni] = 1.0
            for k in np.flatnonzero(cand.remote_index == ni):
                row([k, n_k + ni], [1.0, -1.0], -np.inf, 0.0)
    matrix = coo_array((vals, (ri, ci)), shape=(len(lo), n_k + n_n)).tocsr()
    c = np.concatenate([c_y, c_z])
    scale = 1e6 / np.abs(c).max() if np.abs(c).max() > 0 else 1.0
    bounds = Bounds(np.concatenate([np.zeros(n_k), z_lo]), np.concatenate([cand.slo_ok.astype(float), z_hi]))
    options = {"mip_rel_gap": mip_rel_gap}
    if time_limit_s is not None:
        options["time_limit"] = time_limit_s
    res = milp(c * scale, integrality=np.ones(n_k + n_n), bounds=bounds,
               constraints=LinearConstraint(matrix, lo, hi), options=options)
    res.scale = scale
    return res


def _choice(cand: Candidates, x) -> np.ndarray:
    y = x[: len(cand.app)] > 0.5
    return np.array([int(np.flatnonzero(y & (cand.app == a))[0]) for a in range(int(cand.app.max()) + 1)])


def objective_vectors(problem, cand, weights):
    """Objective coefficients of the candidates (``c_y``) and of the nodes' activity (``c_z``) for ``weights``."""
    total = problem.total_rate_per_s
    rates = np.array([problem.apps[a].request_rate_per_s for a in cand.app])
    idle = idle_per_request(problem)
    c_y = sum(w * rates * cand.metrics[m] / total for m, w in weights.items())
    c_z = sum(w * idle[m] for m, w in weights.items())
    return c_y, c_z


def solve_placement(problem: MultinodeProblem, objective="carbon_g", *, time_limit_s: float | None = None,
                    mip_rel_gap: float = 0.0) -> MultinodeResult:
    """The placement of every application that minimises ``objective`` under all constraints.

    Parameters
    ----------
    problem : MultinodeProblem
    objective : str or dict
        One of ``latency_ms``, ``device_energy_j``, ``energy_j``, ``carbon_g``, or weights over them
        (``{"latency_ms": 1.0, "carbon_g": 100.0}``).
    time_limit_s : float or None [s]
        Stop HiGHS after this long; the result then says ``optimal=False`` and its ``gap``.
    mip_rel_gap : float [-]
        HiGHS's relative gap at which it stops (0: prove optimality).

    Returns
    -------
    MultinodeResult

    Raises
    ------
    InfeasibleError
        No assignment meets every constraint; the message names the one that cannot be met
        (see :func:`explain_infeasibility`).

    Examples
    --------
    >>> from workbench.placement.multinode_scale import random_instance
    >>> solve_placement(random_instance(3, 3, 2, seed=1, tightness=0.1), "energy_j").optimal
    True
    """
    weights = weights_of(objective)
    if time_limit_s is not None:
        check_number(time_limit_s, "time_limit_s", minimum=0, exclusive=True, fix="seconds > 0, or None.")
    check_number(mip_rel_gap, "mip_rel_gap", minimum=0, maximum=1, fix="0 to prove optimality.")
    cand = candidates(problem)
    c_y, c_z = objective_vectors(problem, cand, weights)
    t0 = time.perf_counter()
    res = _solve(problem, cand, c_y, c_z, _rows(problem, cand), time_limit_s=time_limit_s,
                 mip_rel_gap=mip_rel_gap)
    solve_s = time.perf_counter() - t0
    if res.status == 2 or (res.x is None and res.status != 1):
        raise InfeasibleError(explain_infeasibility(problem, cand))
    if res.x is None:
        raise WorkbenchError(f"HiGHS stopped ({res.message}) before finding any placement within "
                             f"time_limit_s={time_limit_s}. Fix: a longer time_limit_s or a positive mip_rel_gap.")
    gap = float(res.mip_gap) if res.mip_gap is not None else float("nan")
    bound = float(res.mip_dual_bound) / res.scale if res.mip_dual_bound is not None else float("nan")
    return result_of(problem, cand, _choice(cand, res.x), objective, status=_STATUS.get(res.status, "error"),
                     optimal=res.status == 0, gap=gap, dual_bound=bound, solve_s=solve_s)


def result_of(problem, cand, choice, objective, *, status, optimal, gap, dual_bound, solve_s) -> MultinodeResult:
    """A :class:`MultinodeResult` for a given assignment (candidate index per app)."""
    weights = weights_of(objective)
    metrics, violations = evaluate(problem, cand, choice)
    value = sum(w * metrics[m] for m, w in weights.items())
    nodes = problem.nodes
    apps = problem.apps
    assignment = pl.DataFrame({
        "app": [a.name for a in apps], "source": [a.source for a in apps],
        "option": [cand.option[k] for k in choice], "remote_node": [cand.remote[k] for k in choice],
        "request_rate_per_s": [a.request_rate_per_s for a in apps],
        "latency_ms": cand.latency_ms[choice], "slo_ms": [a.slo_ms for a in apps],
        **{m: cand.metrics[m][choice] for m in OBJECTIVES if m != "latency_ms"}},
        schema_overrides={"remote_node": pl.String})
    active = {a.source for a in apps} | {cand.remote[k] for k in choice if cand.remote[k] is not None}
    node_table = pl.DataFrame({
        "node": [n.name for n in nodes], "tier": [n.tier for n in nodes],
        "active": [n.name in active for n in nodes],
        "utilization": cand.utilization[choice].sum(axis=0), "capacity": [n.capacity for n in nodes],
        "memory_used_bytes": cand.memory_bytes[choice].sum(axis=0),
        "memory_bytes": [n.memory_bytes for n in nodes]})
    link_table = pl.DataFrame({"link": [lk.name for lk in problem.links],
                               "load_mbps": cand.load_mbps[choice].sum(axis=0),
                               "bandwidth_mbps": [lk.bandwidth_mbps for lk in problem.links]},
                              schema_overrides={"link": pl.String, "load_mbps": pl.Float64,
                                                "bandwidth_mbps": pl.Float64})
    return MultinodeResult(objective=objective, value=float(value), metrics=metrics, status=status,
                           optimal=optimal, gap=gap, dual_bound=dual_bound, solve_s=solve_s,
                           assignment=assignment, nodes=node_table, links=link_table, violations=violations)


_UNIT = {"memory": "B", "utilisation": "", "bandwidth": "Mbit/s"}
_WHAT = {"memory": "node", "utilisation": "node", "bandwidth": "link"}


def _describe(family, name, need, cap) -> str:
    unit = f" {_UNIT[family]}" if _UNIT[family] else ""
    return f"{family} of {_WHAT[family]} {name} (needs at least {need:.6g}{unit}, has {cap:.6g}{unit})"


def explain_infeasibility(problem: MultinodeProblem, cand: Candidates | None = None) -> str:
    """Which constraint cannot be met, as an ``"infeasible: ..."`` message.

    In order: an app with no option meeting its SLO; a node or link whose load is too large even when
    every app takes its lightest SLO-meeting candidate there; then each constraint family (memory,
    utilisation, bandwidth) is relaxed in turn and, where that restores feasibility, each of its rows
    alone: every row whose relaxation alone restores feasibility is named with the least load any
    feasible placement puts on it. Where a family's relaxation helps but no single row's does, the family
    is named with the rows that take part (each one, kept alone with its family relaxed, still blocks);
    pairs of families are tried next, then all three.

    Parameters
    ----------
    problem : MultinodeProblem
    cand : Candidates or None
        The problem's candidates, if already computed.

    Returns
    -------
    str
        Starts with ``"infeasible: "``, e.g. ``"infeasible: SLO of app B (best option gives 10 ms > 9 ms)"``
        or ``"infeasible: memory of node edge (needs at least 1.6e+06 B, has 1e+06 B) whatever the
        placement; apps A, B"``.
    """
    cand = candidates(problem) if cand is None else cand
    for ai, app in enumerate(problem.apps):
        mine = cand.app == ai
        if not cand.slo_ok[mine].any():
            best = cand.latency_ms[mine].min()
            return f"infeasible: SLO of app {app.name} (best option gives {best:.6g} ms > {app.slo_ms:.6g} ms)"
    rows = _rows(problem, cand)
    for family, name, coef, cap in rows:
        least = [coef[(cand.app == ai) & cand.slo_ok].min() for ai in range(len(problem.apps))]
        if sum(least) > cap * (1 + 1e-9):
            apps = ", ".join(a.name for a, x in zip(problem.apps, least, strict=True) if x > 0)
            return f"infeasible: {_describe(family, name, sum(least), cap)} whatever the placement; apps {apps}"
    zero_y, zero_z = np.zeros(len(cand.app)), np.zeros(len(problem.nodes))

    def feasible(kept):
        return _solve(problem, cand, zero_y, zero_z, kept).status == 0

    for n_fam in (1, 2, 3):
        found, together = [], []
        for fams in itertools.combinations(FAMILIES, n_fam):
            if not feasible([r for r in rows if r[0] not in fams]):
                continue
            alone = []
            for i, (family, name, coef, cap) in enumerate(rows):
                if family in fams and feasible(rows[:i] + rows[i + 1:]):
                    res = _solve(problem, cand, coef / cap, zero_z, rows[:i] + rows[i + 1:])
                    alone.append(_describe(family, name, float(coef @ (res.x[: len(coef)] > 0.5)), cap))
            if alone:
                found.extend(alone)
                continue
            outside = [r for r in rows if r[0] not in fams]     # which of the family's rows take part:
            involved = [f"{r[0]} of {_WHAT[r[0]]} {r[1]}" for r in rows   # each alone still blocks
                        if r[0] in fams and not feasible(outside + [r])]
            together.append(f"{' and '.join(fams)} constraints together ({', '.join(involved)})")
        if found:
            one = "relaxing it alone" if len(found) == 1 else "relaxing any one of these alone"
            return f"infeasible: {', or '.join(found)}: {one} makes the problem feasible"
        if together:
            return (f"infeasible: {'; or '.join(together)}: relaxing all of them makes the problem feasible, "
                    "no single node's or link's constraint does")
    return "infeasible: no assignment meets the constraints together (each app alone has an SLO-meeting option)"
