"""One entry point for every placement problem file: ``kind = "chain"`` (default), ``"dag"`` or ``"multinode"``.

``workbench place PROBLEM.toml`` reads any of them with :func:`load_any_problem` and solves it with
:func:`solve_any_problem`; each kind has its own reader (:mod:`~workbench.placement.problem`,
:mod:`~workbench.placement.problem_dag`, :mod:`~workbench.placement.problem_multinode`) and its formats
are in ``docs/placement.md``.
"""

from __future__ import annotations

from pathlib import Path

from workbench.placement import chain
from workbench.placement.chain_semantics import solver_result
from workbench.placement.problem import ChainProblem, parse_problem, problem_with
from workbench.placement.problem_checks import ProblemError, read_problem_text, toml_table
from workbench.placement.problem_dag import DagProblem, dag_result, parse_dag_problem
from workbench.placement.problem_multinode import MultinodeFile, multinode_result, parse_multinode_problem

KINDS = ("chain", "dag", "multinode")
"""The kinds of problem file; ``kind`` defaults to ``"chain"``."""

CHAIN_SOLVERS = {"auto": chain.solve, "dp": chain.solve_dp, "milp": chain.solve_milp, "brute-force": chain.brute_force}


def parse_any_problem(text_or_dict: str | dict, *, source: str = "<problem>", base_dir=None, at=None):
    """A chain, DAG or multi-node problem, by its ``kind`` key.

    Parameters
    ----------
    text_or_dict : str or dict
        TOML text, or the dict ``tomllib`` gives.
    source : str
        Its name in messages.
    base_dir : path-like, optional
        Where relative paths in it start.
    at : str, datetime, float or None
        The time for tiers or nodes on a ``carbon_signal`` (wins over the file's ``at``; a DAG takes none).

    Returns
    -------
    ChainProblem, DagProblem or MultinodeFile

    Raises
    ------
    ProblemError
        An unknown ``kind`` (with the valid ones) or anything its reader refuses.
    ProblemFormatError
        Not valid TOML.
    """
    raw = toml_table(text_or_dict, source)
    kind = raw.get("kind", "chain")
    if kind not in KINDS:
        raise ProblemError(f"{source}: kind = {kind!r} is not a kind of problem. Fix: give one of {', '.join(KINDS)} "
                           "(default chain).")
    if kind == "dag":
        if at is not None:
            raise ProblemError(f"{source}: a time is given (--at {at}) but a DAG problem has no carbon. Fix: drop it.")
        return parse_dag_problem(raw, source=source, base_dir=base_dir)
    if kind == "multinode":
        return parse_multinode_problem(raw, source=source, base_dir=base_dir, at=at)
    return parse_problem(raw, source=source, base_dir=base_dir, at=at)


def load_any_problem(path: str | Path, *, at=None):
    """Read a problem file of any kind (see :func:`parse_any_problem`); relative paths start at its folder."""
    path = Path(path)
    return parse_any_problem(read_problem_text(path), source=str(path), base_dir=path.parent, at=at)


def solve_any_problem(problem, *, objective: str | None = None, solver: str = "auto", assignment=None,
                      heuristics: bool = False) -> dict:
    """Solve (or evaluate) a problem of any kind; one JSON-ready dict with ``kind`` first.

    Parameters
    ----------
    problem : ChainProblem, DagProblem or MultinodeFile
    objective : str or None
        Overrides the file's objective.
    solver : str
        Chain: ``auto``, ``dp``, ``milp``, ``brute-force``; DAG: ``auto``, ``min-cut``, ``brute-force``;
        multi-node: ``auto`` or ``milp``.
    assignment : sequence of str or None
        One tier name per layer, evaluated instead of solving (chain and DAG).
    heuristics : bool
        Add the heuristics with their gap to the optimum.

    Returns
    -------
    dict
        Chain: :func:`~workbench.placement.chain_semantics.solver_result`'s keys; DAG: :func:`dag_result`'s;
        multi-node: :func:`multinode_result`'s.

    Raises
    ------
    ProblemError
        A solver, objective or assignment the kind does not take.
    InfeasibleError
        No feasible answer; the message names the constraint.
    """
    if isinstance(problem, DagProblem):
        if objective not in (None, "latency_ms"):
            raise ProblemError(f"--objective {objective}: a DAG partition minimises latency_ms only. Fix: drop it.")
        return dag_result(problem, solver=solver, assignment=assignment, heuristics=heuristics)
    if isinstance(problem, MultinodeFile):
        if solver not in ("auto", "milp") or assignment is not None:
            what = f"--solver {solver}" if assignment is None else "--assignment"
            raise ProblemError(f"{what} does not apply to a multi-node problem, which the MILP solves. Fix: drop it.")
        return multinode_result(problem, objective=objective, heuristics=heuristics)
    if not isinstance(problem, ChainProblem):
        raise ProblemError(f"not a placement problem: {type(problem).__name__}.")
    problem = problem_with(problem, objective=objective)
    if assignment is not None:
        result = solver_result(problem, problem.objective, list(assignment), "given", False)
    else:
        if solver not in CHAIN_SOLVERS:
            raise ProblemError(f"--solver {solver} does not solve a chain problem. Fix: one of {', '.join(CHAIN_SOLVERS)}.")
        result = CHAIN_SOLVERS[solver](problem)
    if heuristics:
        result["heuristics"] = chain.heuristics_table(problem)[1:]
    return {"kind": "chain", **result}


__all__ = ["KINDS", "load_any_problem", "parse_any_problem", "solve_any_problem"]
