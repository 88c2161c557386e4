"""The multi-node problem file (``kind = "multinode"``): many applications placed on many nodes by the MILP.

Format (``docs/placement.md``, "Problem files for the DAG and the multi-node solvers"); names and units
are those of :mod:`workbench.placement.multinode_model`::

    kind = "multinode"
    objective = "carbon_g"            # latency_ms | device_energy_j | energy_j | carbon_g, or a table of weights:
                                      # [objective] latency_ms = 1.0, carbon_g = 1e4
    time_limit_s = 10.0               # optional: stop HiGHS then (optimal = false, the gap reported)
    [[nodes]]
    name = "phone"
    tier = 0                          # 0 on the device side, counting outward
    memory_bytes = 4e9                # or device = "pixel-4": the catalog's memory, idle power, embodied
                                      # emissions and lifetime (keys given here win)
    carbon_intensity_g_per_kwh = 300  # or country = "FRA", or carbon_signal = "ci.csv" with at
    # optional: capacity (1), idle_power_w (0), pue (1), embodied_kgco2e (0), lifetime_years, lifetime_utilization
    [[links]]
    a = "phone"
    b = "edge"
    bandwidth_mbps = 8.0
    rtt_ms = 10.0                     # optional: kwh_per_gb (0) or technology = "4g", tx_power_w (0)
    [[apps]]
    name = "camera"
    source = "phone"
    request_rate_per_s = 1.0
    slo_ms = 100.0
    [[apps.options]]
    name = "local"
    local = { service_ms = 50.0, energy_j = 1.0, memory_bytes = 1e6 }
    [[apps.options]]
    name = "offload"
    upload_bytes = 20000
    download_bytes = 1000
    remote.edge = { service_ms = 5.0, energy_j = 2.0, memory_bytes = 1e6 }

:func:`multinode_result` solves it with :func:`~workbench.placement.multinode.solve_placement` and
returns one JSON-ready dict.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.catalog import devices as catalog
from workbench.catalog import network
from workbench.errors import ParameterError, UnknownNameError
from workbench.placement.multinode import solve_placement
from workbench.placement.multinode_heuristics import compare_heuristics
from workbench.placement.multinode_model import (
    OBJECTIVES,
    App,
    Cost,
    Link,
    MultinodeProblem,
    Node,
    Option,
    weights_of,
)
from workbench.placement.problem_checks import INTENSITY_KEYS, ProblemError, Validator

TOP_KEYS = {"kind", "objective", "time_limit_s", "nodes", "links", "apps", "at", "name", "description"}
NODE_KEYS = {"name", "tier", "memory_bytes", "capacity", "idle_power_w", "pue", "embodied_kgco2e", "lifetime_years",
             "lifetime_utilization", "device", "note"} | INTENSITY_KEYS
LINK_KEYS = {"a", "b", "bandwidth_mbps", "rtt_ms", "kwh_per_gb", "technology", "tx_power_w", "note"}
APP_KEYS = {"name", "source", "request_rate_per_s", "slo_ms", "options", "note"}
OPTION_KEYS = {"name", "local", "remote", "upload_bytes", "download_bytes", "note"}
COST_KEYS = {"service_ms", "energy_j", "memory_bytes"}


@dataclass(frozen=True)
class MultinodeFile:
    """A validated multi-node problem file: the model, the objective, the time limit and each node's carbon source."""

    problem: MultinodeProblem
    objective: object = "carbon_g"
    time_limit_s: float | None = None
    carbon_by_node: dict | None = None
    source: str = "<problem>"


def _objective(v: Validator, raw) -> object:
    obj = raw.get("objective", "carbon_g")
    try:
        weights_of({k: v.value(x, f"[objective].{k}") for k, x in obj.items()} if isinstance(obj, dict) else obj)
    except (ParameterError, UnknownNameError) as exc:
        raise ProblemError(f"{v.source}: objective: {exc} Fix: one of {', '.join(OBJECTIVES)}, or a table of weights "
                           "over them.") from None
    return obj


def parse_multinode_problem(raw: dict, *, source: str = "<problem>", base_dir=None, at=None) -> MultinodeFile:
    """Validate a multi-node problem given as the dict ``tomllib`` gives (format in the module docstring).

    Parameters
    ----------
    raw : dict
    source : str
        The file's name in messages.
    base_dir : path-like, optional
        Where a relative ``carbon_signal`` path starts.
    at : str, datetime, float or None
        The time at which nodes with a ``carbon_signal`` take their intensity (wins over the file's).

    Raises
    ------
    ProblemError
        An unknown or missing key, a bad number, an unknown node, device, country or technology, a remote
        part on a node not linked to the source (each message names the file, the table and the fix).
    """
    v = Validator(source, base_dir, at)
    v.keys(raw, TOP_KEYS, "the problem")
    v.top_at = raw.get("at")
    objective = _objective(v, raw)
    limit = v.number(raw, "time_limit_s", "the problem", required=False, positive=True)
    raw_nodes = v.array(raw, "nodes", "the problem", "add [[nodes]] tables with name, tier, memory_bytes (or device) "
                        "and a carbon intensity.")
    if (v.at is not None or v.top_at is not None) and not any("carbon_signal" in n for n in raw_nodes):
        v.fail("a time is given but no node names a carbon_signal. Fix: add carbon_signal = \"intensity.csv\" to a "
               "node, or drop the time.")
    try:
        nodes, carbon = zip(*(_node(v, n, i) for i, n in enumerate(raw_nodes)), strict=True)
        links = [_link(v, lk, i) for i, lk in enumerate(raw.get("links") or [])]
        apps = [_app(v, a, i) for i, a in enumerate(v.array(raw, "apps", "the problem", "add [[apps]] tables with "
                                                            "name, source, request_rate_per_s, slo_ms and options."))]
        problem = MultinodeProblem(nodes, links, apps)
    except ProblemError:
        raise
    except (ParameterError, UnknownNameError) as exc:
        raise ProblemError(f"{source}: {exc}") from None
    return MultinodeFile(problem=problem, objective=objective, time_limit_s=limit, source=source,
                         carbon_by_node={n.name: c for n, c in zip(nodes, carbon, strict=True)})


def _node(v: Validator, t: dict, i: int) -> tuple[Node, dict]:
    where = f"[[nodes]] #{i + 1}"
    v.keys(t, NODE_KEYS, where)
    name = v.string(t, "name", where)
    if name is None:
        v.fail(f"{where} lacks its name. Fix: add name = \"...\".")
    where = f"[[nodes]] #{i + 1} ({name!r})"
    intensity, _, label = v.intensity(t, where)
    kw = {}
    device = v.string(t, "device", where)
    if device is not None:
        dev = catalog.get_device(device)
        kw = {"memory_bytes": float(dev.ram_bytes), "idle_power_w": float(dev.idle_power_w),
              "embodied_kgco2e": float(dev.embodied_kgco2e), "lifetime_years": dev.lifetime_years}
    for key in ("memory_bytes", "capacity", "idle_power_w", "pue", "embodied_kgco2e", "lifetime_years",
                "lifetime_utilization"):
        if key in t:
            kw[key] = v.value(t[key], f"{where}.{key}", positive=key in ("memory_bytes", "capacity", "lifetime_years"))
    if "memory_bytes" not in kw:
        v.fail(f"{where} lacks memory_bytes. Fix: add memory_bytes = 4e9, or device = \"pixel-4\" for the catalog's.")
    tier = t.get("tier")
    if isinstance(tier, bool) or not isinstance(tier, int) or tier < 0:
        v.fail(f"{where}.tier = {tier!r} must be a whole number >= 0 (0 on the device side). Fix: e.g. tier = 0.")
    node = Node(name, tier, carbon_intensity_g_per_kwh=intensity, **kw)
    return node, {"carbon_intensity_g_per_kwh": intensity, "carbon_source": label}


def _link(v: Validator, lk: dict, i: int) -> Link:
    where = f"[[links]] #{i + 1}"
    v.keys(lk, LINK_KEYS, where)
    a, b = v.string(lk, "a", where), v.string(lk, "b", where)
    if a is None or b is None:
        v.fail(f"{where} needs a and b, the names of the nodes it joins. Fix: add a = \"phone\" and b = \"edge\".")
    tech = v.string(lk, "technology", where)
    if tech is not None and "kwh_per_gb" in lk:
        v.fail(f"{where} gives both technology = {tech!r} and kwh_per_gb = {lk['kwh_per_gb']!r}. Fix: give one.")
    kwh = network.energy_kwh_per_gb(tech) if tech is not None else v.number(lk, "kwh_per_gb", where, required=False,
                                                                            default=0.0)
    return Link(a, b, v.number(lk, "bandwidth_mbps", where, positive=True), rtt_ms=v.number(lk, "rtt_ms", where,
                required=False, default=0.0), kwh_per_gb=kwh,
                tx_power_w=v.number(lk, "tx_power_w", where, required=False, default=0.0))


def _cost(v: Validator, c, where: str) -> Cost:
    v.keys(c, COST_KEYS, where)
    return Cost(**{k: v.number(c, k, where, required=False, default=0.0) for k in COST_KEYS})


def _app(v: Validator, a: dict, i: int) -> App:
    where = f"[[apps]] #{i + 1}"
    v.keys(a, APP_KEYS, where)
    name = v.string(a, "name", where)
    if name is None:
        v.fail(f"{where} lacks its name. Fix: add name = \"...\".")
    where = f"[[apps]] #{i + 1} ({name!r})"
    options = []
    for j, o in enumerate(v.array(a, "options", where, "add [[apps.options]] tables with name, local and remote.")):
        ow = f"{where} option #{j + 1}"
        v.keys(o, OPTION_KEYS, ow)
        remote = o.get("remote", {})
        if not isinstance(remote, dict):
            v.fail(f"{ow}.remote must be a table of node = {{service_ms, energy_j, memory_bytes}}, got {remote!r}.")
        options.append(Option(v.string(o, "name", ow, default=f"option{j}"),
                              local=_cost(v, o.get("local", {}), f"{ow}.local"),
                              remote={n: _cost(v, c, f"{ow}.remote.{n}") for n, c in remote.items()},
                              upload_bytes=v.number(o, "upload_bytes", ow, required=False, default=0.0),
                              download_bytes=v.number(o, "download_bytes", ow, required=False, default=0.0)))
    source = v.string(a, "source", where)
    if source is None:
        v.fail(f"{where} lacks its source, the node where its requests arise. Fix: add source = \"phone\".")
    return App(name, source, v.number(a, "request_rate_per_s", where, positive=True),
               v.number(a, "slo_ms", where, positive=True), options)


def multinode_result(file: MultinodeFile, *, objective=None, heuristics: bool = False) -> dict:
    """Solve a multi-node problem file with the MILP; one JSON-ready dict.

    Parameters
    ----------
    file : MultinodeFile
    objective : str or None
        Overrides the file's objective (a name of :data:`~workbench.placement.multinode_model.OBJECTIVES`).
    heuristics : bool
        Add ``heuristics``: each heuristic's value, feasibility and gap to the optimum.

    Returns
    -------
    dict
        ``kind`` (``"multinode"``), ``objective``, ``value``, the four metrics ``latency_ms``,
        ``device_energy_j``, ``energy_j``, ``carbon_g`` (rate-weighted means per request), ``assignment``
        (one row per app: app, source, option, remote_node, ...), ``nodes``, ``links``, ``solver``,
        ``optimal``, ``status``, ``gap``, ``dual_bound``, ``solve_s``, ``carbon_by_node``.

    Raises
    ------
    InfeasibleError
        ``infeasible: ...`` naming the constraint (SLO of app Y, memory of node X, ...).
    ProblemError
        An unknown objective.
    """
    obj = file.objective if objective is None else objective
    try:
        weights_of(obj)
    except (ParameterError, UnknownNameError) as exc:
        raise ProblemError(f"objective: {exc}") from None
    r = solve_placement(file.problem, obj, time_limit_s=file.time_limit_s)
    out = {"kind": "multinode", "objective": obj, "value": r.value, **r.metrics,
           "assignment": r.assignment.to_dicts(), "nodes": r.nodes.to_dicts(), "links": r.links.to_dicts(),
           "solver": r.solver, "optimal": r.optimal, "status": r.status, "gap": r.gap, "dual_bound": r.dual_bound,
           "solve_s": r.solve_s, "carbon_by_node": file.carbon_by_node}
    if heuristics:
        out["heuristics"] = compare_heuristics(file.problem, obj, optimum=r).to_dicts()
    return out


__all__ = ["MultinodeFile", "multinode_result", "parse_multinode_problem"]
