"""``workbench place``: where to run each layer of a chain (the chain split of ``docs/placement.md``)."""

from __future__ import annotations

import argparse
import json
import math

# At the top only the standard library: the placement package imports numpy, SciPy (HiGHS) and the catalog
# (polars), so each command imports it when it runs and `workbench --help` stays fast.

SOLVERS = ("auto", "dp", "milp", "brute-force")
"""``--solver`` choices: ``auto`` is dynamic programming when its optimum meets the constraints, else the MILP."""


def register(sub) -> None:
    """Add the ``place`` subcommand to ``sub`` (one ``add_parser`` per subcommand; add new ones below it)."""
    p = sub.add_parser("place", help="the best split of a chain DNN over tiers (device → edge → cloud): DP, or a "
                                     "MILP on HiGHS under memory and latency limits, with heuristics beside it")
    p.add_argument("problem", metavar="PROBLEM.toml", help="chain problem file (docs/placement.md, 'Chain split')")
    p.add_argument("--objective", metavar="O",
                   help="latency_ms, device_energy_j, energy_j or carbon_g (default: the file's, else latency_ms)")
    p.add_argument("--solver", choices=SOLVERS, default="auto", help="default auto: DP, the MILP under constraints")
    p.add_argument("--assignment", metavar="TIER,...",
                   help="evaluate this assignment (one tier name per layer, comma-separated) instead of solving")
    p.add_argument("--heuristics", action="store_true",
                   help="also run all_at_source, all_in_cloud, best_single_split and greedy_by_carbon, each with its "
                        "gap to the optimum")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_place)


def cmd_place(args: argparse.Namespace) -> int:
    """``workbench place``: solve (or evaluate) a chain problem and print the result.

    Parameters
    ----------
    args : argparse.Namespace
        ``problem`` (path of the TOML file), ``objective`` (or None for the file's), ``solver`` (one of
        :data:`SOLVERS`), ``assignment`` (comma-separated tier names, or None to solve), ``heuristics`` (bool),
        ``format`` (``table`` or ``json``).

    Returns
    -------
    int
        0; with ``json`` one object on stdout with ``objective``, ``value``, ``assignment`` (tier per layer),
        ``latency_ms`` [ms], ``device_energy_j`` [J], ``energy_j`` [J], ``carbon_g`` [gCO2e],
        ``transfer_bytes`` [bytes], ``memory_bytes``, ``feasible``, ``violations``, ``solver``, ``optimal``
        (``gap`` and ``status`` from the MILP; ``heuristics``, a list of such objects with
        ``gap_to_optimum``, with ``--heuristics``; an infinite gap is written as null).

    Raises
    ------
    ProblemError
        A bad problem file or value, an unknown objective, or a bad ``assignment`` (unknown tier,
        not one per layer, not monotone).
    ProblemFormatError
        A file that is not UTF-8 TOML.
    InfeasibleError
        No assignment meets the constraints (printed as ``error: infeasible: ...`` naming which, exit 2).
    """
    from workbench.placement import chain
    from workbench.placement.chain_semantics import solver_result
    from workbench.placement.problem import load_problem, problem_with

    problem = problem_with(load_problem(args.problem), objective=args.objective)
    if args.assignment is not None:
        tiers = [t.strip() for t in args.assignment.split(",")]
        result = solver_result(problem, problem.objective, tiers, "given", False)
    else:
        solver = {"auto": chain.solve, "dp": chain.solve_dp, "milp": chain.solve_milp,
                  "brute-force": chain.brute_force}[args.solver]
        result = solver(problem)
    if args.heuristics:
        result["heuristics"] = chain.heuristics_table(problem)[1:]
    if args.format == "json":
        print(json.dumps(_finite(result), indent=2))
    else:
        print(_table(problem, result))
    return 0


def _finite(obj):
    """``obj`` with every non-finite float replaced by None (JSON has no infinity)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _table(problem, r: dict) -> str:
    """The result as aligned ``key  value`` lines, then the heuristics (if any) as a table."""
    from workbench.placement.chain_semantics import describe_assignment

    optimal = "optimal" if r["optimal"] else "not proven optimal"
    if "gap" in r:
        optimal += f", MIP gap {r['gap']:.2g}"
    lines = [
        ("objective", f"{r['objective']} = {r['value']:.6g}"),
        ("solver", f"{r['solver']} ({optimal})"),
        ("assignment", describe_assignment(problem, r["assignment"])),
        ("latency_ms", f"{r['latency_ms']:.6g}"),
        ("device_energy_j", f"{r['device_energy_j']:.6g}"),
        ("energy_j", f"{r['energy_j']:.6g}"),
        ("carbon_g", f"{r['carbon_g']:.6g}"),
        ("transfer_bytes", f"{r['transfer_bytes']:.6g}"),
        ("memory_bytes", ", ".join(f"{t} {m:.6g}" for t, m in r["memory_bytes"].items())),
        ("feasible", "yes" if r["feasible"] else "no: " + "; ".join(r["violations"])),
        ("cost_source", r["cost_source"]),
    ]
    out = [f"{k:<16}{v}" for k, v in lines]
    if problem.cost_sources:  # a zoo model: where each tier's costs came from
        out += [f"{'':<16}{tier}: {src}" for tier, src in r["cost_sources"].items()]
    if r.get("heuristics"):
        out += ["", f"{'heuristic':<20}{r['objective']:>16}{'gap':>10}  feasible  assignment"]
        for h in r["heuristics"]:
            gap = "inf" if math.isinf(h["gap_to_optimum"]) else f"{100 * h['gap_to_optimum']:.1f} %"
            out.append(f"{h['solver']:<20}{h['value']:>16.6g}{gap:>10}  {'yes' if h['feasible'] else 'no':<8}  "
                       + describe_assignment(problem, h["assignment"]))
    return "\n".join(out)
