"""The DAG problem file (``kind = "dag"``): a layer graph with skip connections split between two tiers.

Format (``docs/placement.md``, "Problem files for the DAG and the multi-node solvers")::

    kind = "dag"
    objective = "latency_ms"          # optional: the only objective of the DAG partition
    [model]
    input_bytes = 4000                # the input, produced on tier 0 (node "input")
    [[model.layers]]                  # in execution order
    name = "a"
    output_bytes = 3000
    latency_ms = [1.0, 0.5]           # [tier 0 (device), tier 1 (server)] [ms]
    inputs = ["input"]                # optional: the nodes it consumes (default: the previous one)
    [[tiers]]                         # exactly two: name (default "device", "server")
    name = "phone"
    [[links]]                         # exactly one
    bandwidth_mbps = 8.0
    rtt_ms = 6.4
Or ``[model] zoo = "resnet8"`` (optional ``store``) with ``device`` per tier (optional ``costs``,
``cost_model``, ``threads``): the graph traced by ``torch.fx`` (:func:`~workbench.placement.dag_graph.graph_from_module`)
and each layer's latency from :func:`~workbench.placement.zoo_costs.zoo_costs`, labelled per tier.
The semantics are :mod:`workbench.placement.dag`'s; :func:`dag_result` solves and returns one dict.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.errors import ParameterError, UnknownNameError
from workbench.placement import dag
from workbench.placement.dag_graph import LayerGraph, graph_from_dict
from workbench.placement.problem_checks import ProblemError, Validator
from workbench.placement.zoo_costs import zoo_costs

TOP_KEYS = {"kind", "objective", "model", "tiers", "links", "name", "description"}
MODEL_KEYS = {"input_bytes", "layers", "outputs", "name", "zoo", "store"}
LAYER_KEYS = {"name", "output_bytes", "latency_ms", "inputs"}
TIER_KEYS = {"name", "device", "costs", "cost_model", "threads", "note"}
LINK_KEYS = {"bandwidth_mbps", "rtt_ms", "note"}
SOLVERS = {"auto": dag.min_cut_partition, "min-cut": dag.min_cut_partition, "brute-force": dag.brute_force}
"""``--solver`` for a DAG: the minimum cut (``auto``), or brute force (the oracle, ≤ 21 nodes)."""


@dataclass(frozen=True)
class DagProblem:
    """A validated DAG problem: the graph, the two tiers' names, the link, where the costs came from."""

    graph: LayerGraph
    tier_names: tuple[str, str]
    bandwidth_mbps: float
    rtt_ms: float
    name: str = ""
    source: str = "<problem>"
    cost_source: str = "problem file"
    cost_sources: tuple[str, ...] = ()


def parse_dag_problem(raw: dict, *, source: str = "<problem>", base_dir=None) -> DagProblem:
    """Validate a DAG problem given as the dict ``tomllib`` gives (format in the module docstring).

    Raises
    ------
    ProblemError
        An unknown or missing key, a tier count other than 2, a link count other than 1, a bad number,
        an ``inputs`` naming an unknown or later layer (each message names the file and the fix).
    """
    v = Validator(source, base_dir)
    v.keys(raw, TOP_KEYS, "the problem")
    if raw.get("objective", "latency_ms") != "latency_ms":
        v.fail(f"objective = {raw['objective']!r}: a DAG partition minimises latency_ms only (no energy or carbon "
               "per layer in the cut). Fix: drop objective, or write a chain problem for energy or carbon.")
    raw_tiers = raw.get("tiers", [{"name": dag.DEVICE}, {"name": dag.SERVER}])
    if not isinstance(raw_tiers, list) or len(raw_tiers) != 2:
        v.fail(f"a DAG problem splits between exactly two tiers, got {len(raw_tiers) if isinstance(raw_tiers, list) else raw_tiers!r}"
               " [[tiers]]. Fix: give two [[tiers]] (the device, then the server) or none.")
    for i, t in enumerate(raw_tiers):
        v.keys(t, TIER_KEYS, f"[[tiers]] #{i + 1}")
    names = tuple(v.string(t, "name", f"[[tiers]] #{i + 1}", default=(dag.DEVICE, dag.SERVER)[i])
                  for i, t in enumerate(raw_tiers))
    if names[0] == names[1]:
        v.fail(f"the two tiers are both named {names[0]!r}. Fix: rename one.")
    links = raw.get("links")
    if not isinstance(links, list) or len(links) != 1:
        v.fail(f"a DAG problem has exactly one [[links]] (tier 0 -> tier 1), got {links!r}"[:200]
               + ". Fix: give one [[links]] with bandwidth_mbps and rtt_ms.")
    where = "[[links]] #1 (tier 0 -> tier 1)"
    v.keys(links[0], LINK_KEYS, where)
    bw = v.number(links[0], "bandwidth_mbps", where, positive=True,
                  fix="give the link's bandwidth in Mbit/s as a number > 0, e.g. bandwidth_mbps = 10.0.")
    rtt = v.number(links[0], "rtt_ms", where)
    if "model" not in raw:
        v.fail("the problem lacks a [model] table. Fix: add [model] with input_bytes and [[model.layers]].")
    model = v.keys(raw["model"], MODEL_KEYS, "[model]")
    kw = dict(tier_names=names, bandwidth_mbps=bw, rtt_ms=rtt, name=str(raw.get("name", "")), source=source)
    if "zoo" in model:
        return _zoo(v, model, raw_tiers, kw)
    if any("device" in t for t in raw_tiers):
        v.fail("a tier names a device but [model] has no zoo model. Fix: add zoo = \"resnet8\" to [model].")
    layers = v.array(model, "layers", "[model]", "add [[model.layers]] tables in execution order, each with name, "
                     "output_bytes and latency_ms = [device_ms, server_ms].")
    for i, la in enumerate(layers):
        where = f"[[model.layers]] #{i + 1} ({la.get('name', '?')!r})"
        v.keys(la, LAYER_KEYS, where)
        lat = la.get("latency_ms")
        if isinstance(lat, list):
            for j, x in enumerate(lat):
                v.value(x, f"{where}.latency_ms[{j}]")
        v.number(la, "output_bytes", where)
    v.number(model, "input_bytes", "[model]")
    try:
        graph = graph_from_dict(model)
    except (ParameterError, UnknownNameError) as exc:
        raise ProblemError(f"{source}: [model]: {exc}") from None
    return DagProblem(graph=graph, **kw)


def _zoo(v: Validator, model: dict, raw_tiers: list, kw: dict) -> DagProblem:
    """A zoo model's traced graph, each node priced by :func:`zoo_costs` on the two tiers' devices."""
    from workbench.measure import zoo  # imports torch
    from workbench.placement.dag_graph import graph_from_module

    name = v.string(model, "zoo", "[model]")
    if {"layers", "input_bytes", "outputs"} & set(model) or not all(t.get("device") for t in raw_tiers):
        v.fail(f"[model].zoo = {name!r} traces the graph itself and needs a device on both tiers. Fix: remove layers, "
               "input_bytes and outputs from [model] and add device = \"pixel-4\" (`workbench devices`) to each "
               f"[[tiers]] (got model keys {sorted(model)}, devices {[t.get('device') for t in raw_tiers]}).")
    threads = [t.get("threads") for t in raw_tiers]
    for n in threads:
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            v.fail(f"threads = {n!r} must be a whole number >= 1. Fix: e.g. threads = 1, or drop it.")
    try:
        c = zoo_costs(name, [t["device"] for t in raw_tiers], costs=[t.get("costs") for t in raw_tiers],
                      cost_models=[v.path(t.get("cost_model")) for t in raw_tiers], store=v.path(model.get("store")),
                      threads=threads)
        spec = zoo.resolve(name)
        costs = {n: c.latency_ms[i] for i, n in enumerate(c.names)}
        graph = graph_from_module(spec.build(), spec.example_input(1), cost=costs)
    except (ParameterError, UnknownNameError) as exc:
        raise ProblemError(f"{v.source}: [model].zoo = {name!r}: {exc}") from None
    return DagProblem(graph=graph, cost_source=f"zoo {name}", cost_sources=c.cost_sources, **kw)


def dag_result(problem: DagProblem, *, solver: str = "auto", assignment=None, heuristics: bool = False) -> dict:
    """Solve (or evaluate) a DAG problem; one JSON-ready dict.

    Parameters
    ----------
    problem : DagProblem
    solver : str
        A key of :data:`SOLVERS`.
    assignment : sequence of str or None
        One tier name per layer (the input excluded), to evaluate instead of solving.
    heuristics : bool
        Add ``heuristics``: the best chain split along the node order, with its gap to the optimum.

    Returns
    -------
    dict
        ``kind`` (``"dag"``), ``objective`` (``latency_ms``), ``value``, ``layers`` (node names, the input
        excluded), ``assignment`` (tier name per layer), ``latency_ms`` [ms], ``transfer_bytes`` [B],
        ``solver``, ``optimal``, ``cut_value_ms``, ``tiers``, ``cost_source``, ``cost_sources`` and
        ``heuristics`` if asked. No energy or carbon: the cut prices latency only.

    Raises
    ------
    ProblemError
        An unknown solver, an assignment with an unknown tier or not one per layer, data flowing back.
    """
    g, names = problem.graph, problem.tier_names
    link = {"bandwidth_mbps": problem.bandwidth_mbps, "rtt_ms": problem.rtt_ms}
    to_side = {names[0]: dag.DEVICE, names[1]: dag.SERVER}
    if assignment is not None:
        if len(assignment) != len(g) - 1 or any(t not in to_side for t in assignment):
            bad = [t for t in assignment if t not in to_side]
            raise ProblemError(f"--assignment needs one tier ({names[0]} or {names[1]}) per layer, {len(g) - 1} "
                               f"layer(s), got {len(assignment)}{f'; {bad[0]!r} is not a tier' if bad else ''}. "
                               "Fix: e.g. --assignment " + ",".join([names[0]] * (len(g) - 1)) + ".")
        try:
            part = dag.evaluate(g, [dag.DEVICE] + [to_side[t] for t in assignment], **link)
        except ParameterError as exc:
            raise ProblemError(f"--assignment: {exc}") from None
    else:
        if solver not in SOLVERS:
            raise ProblemError(f"--solver {solver} does not solve a DAG problem. Fix: give one of {', '.join(SOLVERS)}.")
        try:
            part = SOLVERS[solver](g, **link)
        except ParameterError as exc:
            raise ProblemError(f"{problem.source}: {exc}") from None
    tier = {dag.DEVICE: names[0], dag.SERVER: names[1]}
    out = _dict(problem, part, tier)
    if heuristics:
        h = _dict(problem, dag.topological_split(g, **link), tier)
        h["gap_to_optimum"] = h["value"] / out["value"] - 1 if out["value"] > 0 else 0.0
        out["heuristics"] = [h]
    sources = problem.cost_sources or (problem.cost_source,) * 2
    out.update(tiers=list(names), cost_source=problem.cost_source, cost_sources=dict(zip(names, sources, strict=True)))
    return out


def _dict(problem: DagProblem, part, tier: dict) -> dict:
    layers = list(problem.graph.names[1:])
    return {"kind": "dag", "objective": "latency_ms", "value": part.latency_ms, "layers": layers,
            "assignment": [tier[part.assignment[n]] for n in layers], "latency_ms": part.latency_ms,
            "transfer_bytes": part.transfer_bytes, "solver": part.solver,
            "optimal": part.solver in ("min_cut", "brute_force"), "cut_value_ms": part.cut_value_ms}


__all__ = ["DagProblem", "SOLVERS", "dag_result", "parse_dag_problem"]
