"""``workbench place``: where to run each layer of a chain, a layer DAG, or many applications on many nodes.

The problem file's ``kind`` says which (``chain`` by default, ``dag``, ``multinode``; ``docs/placement.md``).
"""

from __future__ import annotations

import argparse
import json
import math

# At the top only the standard library: the placement package imports numpy, SciPy (HiGHS) and the catalog
# (polars), so each command imports it when it runs and `workbench --help` stays fast.

SOLVERS = ("auto", "dp", "milp", "brute-force", "min-cut")
"""``--solver`` choices: ``auto`` is, for a chain, dynamic programming when its optimum meets the constraints, else
the MILP; for a DAG the minimum cut (``min-cut``); for a multi-node problem the MILP."""


def register(sub) -> None:
    """Add the ``place`` subcommand to ``sub`` (one ``add_parser`` per subcommand; add new ones below it)."""
    p = sub.add_parser("place", help="where to run: the best split of a chain DNN over tiers (DP, or a MILP on HiGHS "
                                     "under memory and latency limits), of a layer DAG between two tiers (min cut), "
                                     "or many apps on many nodes (MILP), with heuristics beside it")
    p.add_argument("problem", metavar="PROBLEM.toml", help="problem file, kind = chain (default), dag or multinode "
                                                         "(docs/placement.md)")
    p.add_argument("--objective", metavar="O",
                   help="latency_ms, device_energy_j, energy_j or carbon_g (default: the file's, else latency_ms; "
                        "multinode: carbon_g)")
    p.add_argument("--solver", choices=SOLVERS, default="auto",
                   help="default auto: DP, the MILP under constraints (chain), min-cut (dag), the MILP (multinode)")
    p.add_argument("--at", metavar="TIME", help="the time at which tiers or nodes with a carbon_signal take their "
                                                "intensity, e.g. 2023-06-08T12:00 (wins over the file's at)")
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
        ``at`` (a time for tiers on a carbon signal, or None), ``format`` (``table`` or ``json``).

    Returns
    -------
    int
        0; with ``json`` one object on stdout with ``kind``; for a chain ``objective``, ``value``,
        ``assignment`` (tier per layer),
        ``latency_ms`` [ms], ``device_energy_j`` [J], ``energy_j`` [J], ``carbon_g`` [gCO2e],
        ``transfer_bytes`` [bytes], ``memory_bytes``, ``feasible``, ``violations``, ``solver``, ``optimal``
        (``gap`` and ``status`` from the MILP; ``heuristics``, a list of such objects with
        ``gap_to_optimum``, with ``--heuristics``; an infinite gap is written as null), ``carbon_by_tier``;
        for a DAG and a multi-node problem the keys of ``problem_dag.dag_result`` and
        ``problem_multinode.multinode_result``.

    Raises
    ------
    ProblemError
        A bad problem file or value, an unknown kind or objective, a solver the kind does not take, or a
        bad ``assignment`` (unknown tier, not one per layer, not monotone).
    ProblemFormatError
        A file that is not UTF-8 TOML.
    InfeasibleError
        No assignment meets the constraints (printed as ``error: infeasible: ...`` naming which, exit 2).
    """
    from workbench.files import json_safe
    from workbench.placement.problem_files import load_any_problem, solve_any_problem

    problem = load_any_problem(args.problem, at=args.at)
    assignment = None if args.assignment is None else [t.strip() for t in args.assignment.split(",")]
    result = solve_any_problem(problem, objective=args.objective, solver=args.solver, assignment=assignment,
                               heuristics=args.heuristics)
    if args.format == "json":
        print(json.dumps(json_safe(result), indent=2, default=float))
    elif result["kind"] == "chain":
        print(_table(problem, result))
    else:
        print(_other_table(result))
    return 0


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


def _other_table(r: dict) -> str:
    """A DAG or multi-node result as ``key  value`` lines, then its assignment (and heuristics) as tables."""
    optimal = "optimal" if r["optimal"] else "not proven optimal"
    lines = [("kind", r["kind"]), ("objective", f"{r['objective']} = {r['value']:.6g}"),
             ("solver", f"{r['solver']} ({optimal})")]
    if r["kind"] == "dag":
        on = {t: [n for n, a in zip(r["layers"], r["assignment"], strict=True) if a == t] for t in r["tiers"]}
        lines += [(f"on {t}", ", ".join(v) or "-") for t, v in on.items()]
        lines += [("latency_ms", f"{r['latency_ms']:.6g}"), ("transfer_bytes", f"{r['transfer_bytes']:.6g}"),
                  ("cost_source", r["cost_source"])]
        out = [f"{k:<16}{v}" for k, v in lines]
        if r["cost_source"] != "problem file":
            out += [f"{'':<16}{t}: {src}" for t, src in r["cost_sources"].items()]
        for h in r.get("heuristics", []):
            out.append(f"{h['solver']:<16}{h['latency_ms']:.6g} ms, gap {100 * h['gap_to_optimum']:.1f} %")
        return "\n".join(out)
    lines += [(m, f"{r[m]:.6g}") for m in ("latency_ms", "device_energy_j", "energy_j", "carbon_g")]
    out = [f"{k:<16}{v}" for k, v in lines]
    out += ["", f"{'app':<16}{'option':<16}{'remote_node':<14}{'latency_ms':>12}{'slo_ms':>10}"]
    out += [f"{a['app']:<16}{a['option']:<16}{a['remote_node'] or '-':<14}{a['latency_ms']:>12.6g}{a['slo_ms']:>10.6g}"
            for a in r["assignment"]]
    if r.get("heuristics"):
        out += ["", f"{'heuristic':<22}{'value':>14}{'gap':>10}  note"]
        for h in r["heuristics"]:
            value = "-" if h["value"] is None else f"{h['value']:.6g}"
            gap = "-" if h["gap"] is None else f"{100 * h['gap']:.1f} %"
            out.append(f"{h['heuristic']:<22}{value:>14}{gap:>10}  {h['note']}")
    return "\n".join(out)
