"""Partition a layer DAG between a device and a server by a minimum s–t cut (DADS).

A chain split (:mod:`workbench.placement.chain`) cuts a network at one point of its layer order; a
network with skip connections (ResNet, MobileNetV2) has better cuts that follow its DAG. DADS
(Hu et al., INFOCOM 2019) finds the best two-tier partition as a minimum s–t cut; this module
builds that cut with networkx for the objective below, and checks it against brute force.

Semantics (one uplink, latency objective). Each node of a :class:`LayerGraph` runs on the device
or on the server; the input (node 0) is on the device. The assignment must be monotone: data never
flows back from the server to the device, so no device node consumes a server node's output (a
partition, not a schedule with ping-pong). With ``ms_per_byte = 8 / (bandwidth_mbps × 1000)``:

- latency_ms = Σ device_ms of the device nodes + Σ server_ms of the server nodes
  + ms_per_byte × transfer_bytes + rtt_ms if any node runs on the server;
- transfer_bytes = Σ output_bytes of every device node with at least one consumer on the server
  (each tensor is sent once, however many server nodes consume it)
  + Σ output_bytes of every result node (``graph.outputs``) on the server (the result returns to
  the device over the same link).

All on the device costs Σ device_ms and sends nothing. In a chain this is exactly the chain split of
the problem file with two tiers (``b_1`` sent once, the result ``r`` back, one RTT).

The cut (:func:`min_cut_partition`). Source s is the device side, sink t the server side; a node
left on the source side of the cut runs on the device. A cut pays the capacity of the edges it
severs from the source side to the sink side, so

- s → v with capacity server_ms of v (+ its result's transfer if v is a result node): severed
  exactly when v is on the server side; v → t with capacity device_ms of v: severed when v stays on
  the device;
- for each tensor (node u's output, if anything consumes it) an auxiliary node a_u with
  u → a_u of capacity ms_per_byte × output_bytes of u and a_u → v of infinite capacity for each
  consumer v: if any consumer is on the server, a_u must be too, so u → a_u is severed once when u
  is on the device, however many consumers are on the server;
- v → u of infinite capacity for each edge u → v: severed (forbidden) when v is on the device and u
  on the server, which is the flow back; s → input of infinite capacity pins the input to the device.

The cut's value is then the latency without the RTT. The RTT is a constant paid when anything goes
to the server, which a cut cannot express: the answer is the better of the cut's assignment plus
the RTT and all on the device (exact: every assignment using the server costs at least the cut
value plus the RTT).

References
----------
.. [1] C. Hu, W. Bao, D. Wang, F. Liu, "Dynamic Adaptive DNN Surgery for Inference Acceleration on
   the Edge", IEEE INFOCOM 2019, section IV (the min-cut construction).
.. [2] Y. Kang et al., "Neurosurgeon: Collaborative Intelligence Between the Cloud and Mobile
   Edge", ASPLOS 2017 (the chain split).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import networkx as nx
import numpy as np

from workbench.checks import check_number
from workbench.errors import ParameterError
from workbench.placement.dag_graph import (
    INPUT,
    LayerGraph,
    TracedNode,
    costs_from_layers,
    graph_from_dict,
    graph_from_module,
)

__all__ = ["DEVICE", "SERVER", "INPUT", "DagPartition", "LayerGraph", "TracedNode", "brute_force",
           "costs_from_layers", "evaluate", "graph_from_dict", "graph_from_module", "min_cut_partition",
           "topological_split"]

DEVICE, SERVER = "device", "server"
"""The two tiers' names in an assignment."""

BRUTE_FORCE_MAX_NODES = 21
"""Brute force enumerates 2^(n−1) assignments; beyond this many nodes it refuses."""


@dataclass(frozen=True)
class DagPartition:
    """A two-tier partition of a :class:`LayerGraph` and its cost (module docstring: the semantics).

    Attributes
    ----------
    assignment : dict
        Node name → ``"device"`` or ``"server"``, in node order.
    latency_ms : float
        End-to-end latency [ms per inference], RTT included when the server is used.
    transfer_bytes : int
        Bytes sent over the link [B per inference]: tensors up, the result back.
    solver : str
        ``"min_cut"``, ``"brute_force"``, ``"topological_split"`` or ``"given"``.
    cut_value_ms : float or None
        The minimum cut's value [ms] (latency of the cut's own assignment without the RTT; the answer
        is all on the device instead when the RTT makes that better). None for the other solvers.
    """

    assignment: dict[str, str]
    latency_ms: float
    transfer_bytes: int
    solver: str
    cut_value_ms: float | None = field(default=None)

    @property
    def server_nodes(self) -> list[str]:
        """Names of the nodes on the server, in node order."""
        return [k for k, v in self.assignment.items() if v == SERVER]

    def to_dict(self) -> dict:
        """A plain dict (JSON-ready)."""
        return {"assignment": dict(self.assignment), "latency_ms": self.latency_ms,
                "transfer_bytes": self.transfer_bytes, "solver": self.solver, "cut_value_ms": self.cut_value_ms}


def _link(bandwidth_mbps, rtt_ms) -> tuple[float, float]:
    """(ms per byte, RTT [ms]) after checking both arguments."""
    bw = check_number(bandwidth_mbps, "bandwidth_mbps", minimum=0, exclusive=True,
                      fix="give the uplink's bandwidth in Mbit/s, e.g. bandwidth_mbps=10.0.")
    rtt = check_number(rtt_ms, "rtt_ms", minimum=0, fix="give the round-trip time in ms, 0 for none.")
    return 8.0 / (bw * 1000.0), rtt


def _rows(graph: LayerGraph, server: np.ndarray, ms_per_byte: float, rtt_ms: float):
    """Latency [ms], transfer bytes and feasibility of each row of the boolean matrix ``server``
    (assignments × nodes, True = on the server): the module docstring's formula, vectorised."""
    dev = np.asarray(graph.device_ms)
    srv = np.asarray(graph.server_ms)
    out_b = np.asarray(graph.output_bytes, dtype=np.int64)
    crossing = np.zeros_like(server)
    for u, vs in enumerate(graph.consumers()):
        if vs:
            crossing[:, u] = ~server[:, u] & server[:, vs].any(axis=1)
    outs = list(graph.outputs)
    nbytes = crossing.astype(np.int64) @ out_b + server[:, outs].astype(np.int64) @ out_b[outs]
    latency = (np.where(server, srv, dev).sum(axis=1) + nbytes * ms_per_byte
               + np.where(server.any(axis=1), rtt_ms, 0.0))
    feasible = ~server[:, 0]
    for u, v in graph.edges:
        feasible &= ~(server[:, u] & ~server[:, v])
    return latency, nbytes, feasible


def _result(graph, server_row, ms_per_byte, rtt_ms, solver, cut_value_ms=None) -> DagPartition:
    latency, nbytes, _ = _rows(graph, server_row[None, :], ms_per_byte, rtt_ms)
    assignment = {name: SERVER if s else DEVICE for name, s in zip(graph.names, server_row, strict=True)}
    return DagPartition(assignment, float(latency[0]), int(nbytes[0]), solver, cut_value_ms)


def evaluate(graph: LayerGraph, assignment, *, bandwidth_mbps: float, rtt_ms: float = 0.0) -> DagPartition:
    """Latency and transfer of a given assignment (the module docstring's semantics).

    Parameters
    ----------
    graph : LayerGraph
    assignment : mapping or sequence
        Node name → ``"device"``/``"server"`` (every node), or one tier per node in node order.
    bandwidth_mbps : float
        Uplink (and return) bandwidth [Mbit/s], > 0.
    rtt_ms : float
        Round-trip time [ms], paid once when any node runs on the server.

    Returns
    -------
    DagPartition
        With ``solver="given"``.

    Raises
    ------
    ParameterError
        A tier other than device/server, a node missing, the input on the server, or data flowing
        back from the server to the device (the message names the edge).

    Examples
    --------
    >>> g = graph_from_dict({"input_bytes": 1000, "layers": [
    ...     {"name": "a", "output_bytes": 500, "latency_ms": [4.0, 1.0]}]})
    >>> evaluate(g, ["device", "server"], bandwidth_mbps=8.0, rtt_ms=2.0).latency_ms  # 1 + 1.5 + 2
    4.5
    """
    ms_per_byte, rtt = _link(bandwidth_mbps, rtt_ms)
    if isinstance(assignment, Mapping):
        missing = [n for n in graph.names if n not in assignment]
        extra = [n for n in assignment if n not in graph.names]
        if missing or extra:
            raise ParameterError(f"assignment lacks nodes {missing[:5]} and names unknown nodes {extra[:5]}. "
                                 "Fix: give a tier for every node of the graph, and only for them.")
        tiers = [assignment[n] for n in graph.names]
    elif isinstance(assignment, Sequence) and not isinstance(assignment, str):
        if len(assignment) != len(graph):
            raise ParameterError(f"assignment has {len(assignment)} tiers for {len(graph)} nodes. "
                                 "Fix: give one tier per node, the input first.")
        tiers = list(assignment)
    else:
        raise ParameterError(f"assignment must be a mapping or a sequence of tiers, got {assignment!r}.")
    bad = sorted({str(t) for t in tiers if t not in (DEVICE, SERVER)})
    if bad:
        raise ParameterError(f"unknown tier(s) {bad} in the assignment. Fix: use 'device' or 'server'.")
    server = np.array([t == SERVER for t in tiers])
    if server[0]:
        raise ParameterError(f"the input {graph.names[0]!r} is produced on the device; it cannot be on the "
                             "server. Fix: assign it 'device'.")
    for u, v in graph.edges:
        if server[u] and not server[v]:
            raise ParameterError(f"{graph.names[v]!r} on the device consumes {graph.names[u]!r} on the server: "
                                 "data never flows back. Fix: move it to the server too, or its producer back.")
    return _result(graph, server, ms_per_byte, rtt, "given")


def min_cut_partition(graph: LayerGraph, *, bandwidth_mbps: float, rtt_ms: float = 0.0) -> DagPartition:
    """The latency-optimal monotone device/server partition, by a minimum s–t cut (DADS).

    Parameters
    ----------
    graph : LayerGraph
    bandwidth_mbps : float
        Uplink (and return) bandwidth [Mbit/s], > 0.
    rtt_ms : float
        Round-trip time [ms], paid once when any node runs on the server.

    Returns
    -------
    DagPartition
        With ``solver="min_cut"`` and ``cut_value_ms``; optimal (equal to :func:`brute_force`).

    Raises
    ------
    ParameterError
        Bandwidth ≤ 0, a negative RTT, or a value that is not a finite number.

    Examples
    --------
    >>> g = graph_from_dict({"input_bytes": 1000, "layers": [
    ...     {"name": "a", "output_bytes": 500, "latency_ms": [4.0, 1.0]}]})
    >>> min_cut_partition(g, bandwidth_mbps=8.0, rtt_ms=1.0).server_nodes  # 3.5 ms, not 4 on the device
    ['a']
    """
    ms_per_byte, rtt = _link(bandwidth_mbps, rtt_ms)
    s, t = "s (device)", "t (server)"
    outputs = set(graph.outputs)
    finite: list[tuple[object, object, float]] = []
    infinite: list[tuple[object, object]] = [(s, 0)]  # the input stays on the device
    for v in range(1, len(graph)):
        result_ms = graph.output_bytes[v] * ms_per_byte if v in outputs else 0.0
        finite.append((s, v, graph.server_ms[v] + result_ms))  # severed iff v is on the server
        finite.append((v, t, graph.device_ms[v]))  # severed iff v stays on the device
    for u, consumers in enumerate(graph.consumers()):
        if consumers:
            finite.append((u, ("tensor", u), graph.output_bytes[u] * ms_per_byte))  # paid once per tensor
            infinite += [(("tensor", u), v) for v in consumers]  # a server consumer pulls the tensor over
            infinite += [(v, u) for v in consumers]  # v on the device, u on the server: flow back
    # networkx finds the cut's sides by testing flow == capacity, which rounding breaks for floats
    # (a wrong side, not a small error): the capacities go in as exact integers, each float times
    # the largest denominator among them (a power of two), and the value comes back as a Fraction.
    exact = [Fraction(c) for _, _, c in finite]
    scale = max((f.denominator for f in exact), default=1)
    net = nx.DiGraph()
    net.add_node(t)
    for (u, v, _), f in zip(finite, exact, strict=True):
        net.add_edge(u, v, capacity=f.numerator * (scale // f.denominator))
    net.add_edges_from(infinite)  # no capacity attribute: infinite
    cut_value, (_, server_side) = nx.minimum_cut(net, s, t)
    cut_value_ms = float(Fraction(cut_value, scale))
    server = np.array([v in server_side for v in range(len(graph))])
    best = _result(graph, server, ms_per_byte, rtt, "min_cut", cut_value_ms)
    if server.any():
        local = _result(graph, np.zeros(len(graph), dtype=bool), ms_per_byte, rtt, "min_cut", cut_value_ms)
        if local.latency_ms <= best.latency_ms:
            best = local
    return best


def brute_force(graph: LayerGraph, *, bandwidth_mbps: float, rtt_ms: float = 0.0) -> DagPartition:
    """The oracle: every monotone assignment evaluated, the best kept (ties: the first found, counting
    the assignments as binary numbers with node 1 the lowest bit).

    Parameters
    ----------
    graph : LayerGraph
        At most :data:`BRUTE_FORCE_MAX_NODES` nodes (2^(n−1) assignments, vectorised with numpy).
    bandwidth_mbps : float
        Uplink (and return) bandwidth [Mbit/s], > 0.
    rtt_ms : float
        Round-trip time [ms], paid once when any node runs on the server.

    Returns
    -------
    DagPartition
        With ``solver="brute_force"``.

    Raises
    ------
    ParameterError
        Too many nodes, or a bad bandwidth or RTT.
    """
    ms_per_byte, rtt = _link(bandwidth_mbps, rtt_ms)
    n = len(graph)
    if n > BRUTE_FORCE_MAX_NODES:
        raise ParameterError(f"brute force over {n} nodes means 2^{n - 1} assignments; it takes at most "
                             f"{BRUTE_FORCE_MAX_NODES}. Fix: use min_cut_partition.")
    masks = np.arange(2 ** (n - 1), dtype=np.int64)
    server = np.zeros((masks.size, n), dtype=bool)
    server[:, 1:] = (masks[:, None] >> np.arange(n - 1)) & 1
    latency, _, feasible = _rows(graph, server, ms_per_byte, rtt)
    best = int(np.argmin(np.where(feasible, latency, np.inf)))
    return _result(graph, server[best], ms_per_byte, rtt, "brute_force")


def topological_split(graph: LayerGraph, *, bandwidth_mbps: float, rtt_ms: float = 0.0) -> DagPartition:
    """The best chain split along the node order: a prefix on the device, the rest on the server.

    Every prefix is monotone, so this is a feasible partition; the minimum cut is never worse.

    Parameters
    ----------
    graph : LayerGraph
    bandwidth_mbps : float
        Uplink (and return) bandwidth [Mbit/s], > 0.
    rtt_ms : float
        Round-trip time [ms], paid once when any node runs on the server.

    Returns
    -------
    DagPartition
        With ``solver="topological_split"``.
    """
    ms_per_byte, rtt = _link(bandwidth_mbps, rtt_ms)
    n = len(graph)
    server = np.arange(n)[None, :] >= np.arange(1, n + 1)[:, None]  # row k: nodes ≥ k + 1 on the server
    latency, _, _ = _rows(graph, server, ms_per_byte, rtt)
    return _result(graph, server[int(np.argmin(latency))], ms_per_byte, rtt, "topological_split")
