"""The layer DAG that :mod:`workbench.placement.dag` partitions between a device and a server.

A :class:`LayerGraph` holds, for every node (one layer, or one function call such as a residual
``add``), its latency on the device and on the server [ms per inference] and the bytes of the tensor
it outputs [B per inference]; edges are tensor flows from a producer to a consumer. Node 0 is the
input, produced on the device. Nodes are listed in a topological order (every edge goes from a
lower to a higher index), which also proves the graph acyclic.

Build one from explicit data (:func:`graph_from_dict`, the shape of a problem file's ``[model]``
table) or from a PyTorch module (:func:`graph_from_module`, by ``torch.fx`` symbolic tracing).
Per-layer costs of a traced module come from the caller: a mapping from node name to
``(device_ms, server_ms)`` (:func:`costs_from_layers` builds one from two measured per-layer
breakdowns of the store, whose ``layer_name`` is the module path that names a traced layer) or a
callable ``cost(node) -> (device_ms, server_ms)``; a node without a cost costs 0 on both tiers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workbench.checks import check_int, check_number
from workbench.errors import ParameterError, UnknownNameError

INPUT = "input"
"""Name of the input node in :func:`graph_from_dict`."""


@dataclass(frozen=True)
class LayerGraph:
    """A DAG of layers with per-tier latency and output bytes.

    Parameters
    ----------
    names : sequence of str
        Unique node names in a topological order; ``names[0]`` is the input, pinned to the device.
    device_ms, server_ms : sequence of float
        Latency of each node on the device and on the server [ms per inference], finite and ≥ 0.
        The input only holds the input tensor: its latencies must be 0 (give work as a layer).
    output_bytes : sequence of int
        Bytes of each node's output tensor(s) [B per inference], ≥ 0; the input's is the input size.
    edges : sequence of (int, int)
        Tensor flows ``(producer, consumer)`` as node indices with ``producer < consumer``.
    outputs : sequence of int, optional
        Nodes whose output is the result, returned to the device; by default every node other than
        the input that no node consumes.
    """

    names: tuple[str, ...]
    device_ms: tuple[float, ...]
    server_ms: tuple[float, ...]
    output_bytes: tuple[int, ...]
    edges: tuple[tuple[int, int], ...]
    outputs: tuple[int, ...] | None = None

    def __post_init__(self):
        n = len(self.names)
        if n < 2:
            raise ParameterError(f"a layer graph needs the input and at least one layer, got {n} node(s). "
                                 "Fix: add the model's layers.")
        if len(set(self.names)) != n:
            dup = sorted({x for x in self.names if list(self.names).count(x) > 1})
            raise ParameterError(f"node names must be unique, got {dup} more than once. Fix: rename them.")
        for field in ("device_ms", "server_ms", "output_bytes"):
            if len(getattr(self, field)) != n:
                raise ParameterError(f"{field} has {len(getattr(self, field))} values for {n} nodes. "
                                     "Fix: give one value per node, the input first.")
        set_ = object.__setattr__  # frozen: normalise the fields once, here
        set_(self, "names", tuple(str(x) for x in self.names))
        set_(self, "device_ms", tuple(check_number(v, f"device_ms of {self.names[i]!r}", minimum=0)
                                      for i, v in enumerate(self.device_ms)))
        set_(self, "server_ms", tuple(check_number(v, f"server_ms of {self.names[i]!r}", minimum=0)
                                      for i, v in enumerate(self.server_ms)))
        if self.device_ms[0] or self.server_ms[0]:
            raise ParameterError(f"the input node {self.names[0]!r} must cost 0 ms, got device_ms="
                                 f"{self.device_ms[0]!r}, server_ms={self.server_ms[0]!r}. Fix: give the "
                                 "work done on the input as a layer of its own.")
        set_(self, "output_bytes", tuple(check_int(v, f"output_bytes of {self.names[i]!r}", minimum=0)
                                         for i, v in enumerate(self.output_bytes)))
        edges = []
        for e in self.edges:
            u, v = (check_int(k, "an edge's node index", minimum=0, maximum=n - 1) for k in e)
            if u >= v:
                raise ParameterError(f"edge ({u}, {v}) goes from {self.names[u]!r} to {self.names[v]!r}, against "
                                     "the node order. Fix: list nodes in a topological order (producers first).")
            edges.append((u, v))
        set_(self, "edges", tuple(sorted(set(edges))))
        if self.outputs is None:
            consumed = {u for u, _ in self.edges}
            outs = tuple(i for i in range(1, n) if i not in consumed)
        else:
            outs = tuple(sorted({check_int(k, "an output's node index", minimum=0, maximum=n - 1)
                                 for k in self.outputs}))
        set_(self, "outputs", outs)

    def __len__(self) -> int:
        return len(self.names)

    def consumers(self) -> list[list[int]]:
        """For each node, the nodes that consume its output (ascending)."""
        out: list[list[int]] = [[] for _ in self.names]
        for u, v in self.edges:
            out[u].append(v)
        return out

    def index(self, name: str) -> int:
        """Index of the node called ``name``; :class:`~workbench.errors.UnknownNameError` if none is."""
        try:
            return self.names.index(name)
        except ValueError:
            raise UnknownNameError("node", name, self.names) from None


def graph_from_dict(data: Mapping) -> LayerGraph:
    """A :class:`LayerGraph` from explicit data, e.g. a problem file's ``[model]`` table.

    Parameters
    ----------
    data : mapping
        ``input_bytes`` [B] of the input (node ``"input"``, on the device) and ``layers``, a list in
        execution order of mappings with ``name``, ``output_bytes`` [B], ``latency_ms`` =
        ``[device_ms, server_ms]`` [ms] and optionally ``inputs``, the names of the nodes whose
        outputs the layer consumes (default: the previous layer, or the input for the first, so a
        chain needs no ``inputs`` at all). Optional ``outputs``: names of the result nodes (default:
        the layers nothing consumes).

    Returns
    -------
    LayerGraph

    Raises
    ------
    ParameterError
        Missing keys, an input listed after its consumer, bad numbers.
    UnknownNameError
        ``inputs`` or ``outputs`` names a node that does not exist.

    Examples
    --------
    >>> g = graph_from_dict({"input_bytes": 1000, "layers": [
    ...     {"name": "a", "output_bytes": 500, "latency_ms": [4.0, 1.0]},
    ...     {"name": "b", "output_bytes": 10, "latency_ms": [2.0, 0.5], "inputs": ["a", "input"]}]})
    >>> g.names, g.edges
    (('input', 'a', 'b'), ((0, 1), (0, 2), (1, 2)))
    """
    if not isinstance(data, Mapping) or "layers" not in data or "input_bytes" not in data:
        raise ParameterError("a layer graph needs 'input_bytes' and 'layers', got "
                             f"{sorted(data) if isinstance(data, Mapping) else type(data).__name__}. "
                             "Fix: give input_bytes = N and one [[model.layers]] table per layer.")
    layers = list(data["layers"])
    names, dev, srv, out_b, edges = [INPUT], [0.0], [0.0], [data["input_bytes"]], []
    for k, layer in enumerate(layers, start=1):
        if not isinstance(layer, Mapping):
            raise ParameterError(f"layer {k} must be a table (mapping), got {layer!r}. "
                                 "Fix: one [[model.layers]] table per layer.")
        missing = [key for key in ("name", "output_bytes", "latency_ms") if key not in layer]
        if missing:
            raise ParameterError(f"layer {k} lacks {missing}. Fix: give name, output_bytes and "
                                 "latency_ms = [device_ms, server_ms].")
        lat = layer["latency_ms"]
        if isinstance(lat, (str, bytes)) or not isinstance(lat, Sequence) or len(lat) != 2:
            raise ParameterError(f"latency_ms of layer {layer['name']!r} must be [device_ms, server_ms], "
                                 f"got {lat!r}. Fix: give one value per tier, the device first.")
        names.append(str(layer["name"]))
        dev.append(lat[0])
        srv.append(lat[1])
        out_b.append(layer["output_bytes"])
        inputs = layer.get("inputs", [names[-2]])
        if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
            raise ParameterError(f"inputs of layer {names[-1]!r} must be a list of node names, got {inputs!r}. "
                                 f"Fix: e.g. inputs = [{inputs!r}].")
        for src in inputs:
            if src not in names[:-1]:
                if src in {str(x.get("name")) for x in layers}:
                    raise ParameterError(f"layer {names[-1]!r} consumes {src!r}, listed after it. "
                                         "Fix: list layers in execution order.")
                raise UnknownNameError("node", src, names[:-1])
            edges.append((names.index(src), k))
    outputs = None
    if "outputs" in data:
        outputs = []
        for name in data["outputs"]:
            if name not in names:
                raise UnknownNameError("node", name, names)
            outputs.append(names.index(name))
    return LayerGraph(tuple(names), tuple(dev), tuple(srv), tuple(out_b), tuple(edges), outputs)


@dataclass(frozen=True)
class TracedNode:
    """One node of a traced module, as :func:`graph_from_module` passes it to a cost callable.

    ``name`` is the module path for a layer (``"3.conv1"``, the store's ``layer_name``; ``"#2"`` etc.
    is appended for a module's second and later calls), else torch.fx's node name (``"flatten"``);
    ``op`` is torch.fx's (``call_module``, ``call_function``, ``call_method``); ``target`` the module
    path or the function's name; ``layer_type`` the module's class name or the function's name;
    ``output_bytes`` [B per sample]; ``module`` the module itself, or None.
    """

    name: str
    op: str
    target: str
    layer_type: str
    output_bytes: int
    module: object = None


def _tensor_bytes(meta) -> int:
    """Bytes of the tensor(s) described by torch.fx's ``tensor_meta`` (0 for non-tensors)."""
    if hasattr(meta, "shape") and hasattr(meta, "dtype"):  # TensorMetadata (itself a NamedTuple)
        return math.prod(meta.shape) * meta.dtype.itemsize
    if isinstance(meta, (tuple, list)):
        return sum(_tensor_bytes(m) for m in meta)
    if isinstance(meta, dict):
        return sum(_tensor_bytes(m) for m in meta.values())
    return 0


def graph_from_module(model, example_input, cost=None) -> LayerGraph:
    """The layer DAG of a PyTorch module, by ``torch.fx`` symbolic tracing and shape propagation.

    Every leaf module (one without children, e.g. ``Conv2d`` or the zoo's ``Add``) is one node named by
    its module path; function and method calls (``torch.flatten``, ``x + y``) are nodes too; parameter
    and constant lookups are not. ``output_bytes`` is per sample: the traced output's bytes divided by
    ``example_input``'s first dimension.

    Parameters
    ----------
    model : torch.nn.Module
        A module torch.fx can trace (no data-dependent control flow outside leaf modules).
    example_input : torch.Tensor
        One batch of input; its first dimension is the batch size.
    cost : mapping or callable, optional
        ``{node name: (device_ms, server_ms)}`` (see :func:`costs_from_layers`) or
        ``cost(TracedNode) -> (device_ms, server_ms)`` [ms per inference]; a node the mapping lacks
        costs 0. None: every node costs 0.

    Returns
    -------
    LayerGraph

    Raises
    ------
    ParameterError
        The module cannot be traced, has more than one input, or a cost is not a finite number ≥ 0.
    """
    # torch only here: placement must import without torch, so the CLI answers at once.
    import torch
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    class _LeafTracer(torch.fx.Tracer):
        def is_leaf_module(self, m, qualname):  # leaves as in the store's per-layer breakdown
            return not list(m.children())

    try:
        gm = torch.fx.GraphModule(model, _LeafTracer().trace(model))
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                ShapeProp(gm).propagate(example_input)
        finally:
            model.train(was_training)
    except Exception as exc:
        raise ParameterError(f"cannot trace {type(model).__name__} with torch.fx: {exc}. Fix: make it "
                             "traceable or give the graph explicitly (graph_from_dict).") from None
    batch = int(example_input.shape[0]) if example_input.dim() else 1
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise ParameterError(f"{type(model).__name__} takes {len(placeholders)} inputs; graph_from_module "
                             "handles one. Fix: wrap the model so that it takes one tensor.")
    index: dict = {}
    nodes: list[TracedNode] = []
    edges: list[tuple[int, int]] = []
    outputs: list[int] = []
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "output":
            outputs = [index[a] for a in node.all_input_nodes if a in index]
            continue
        if node.op == "get_attr":  # weights and buffers live on both tiers: no node, no transfer
            continue
        nbytes = _tensor_bytes(node.meta.get("tensor_meta")) // batch
        if node.op == "call_module":
            target = str(node.target)
            calls[target] = calls.get(target, 0) + 1
            name = target if calls[target] == 1 else f"{target}#{calls[target]}"
            mod = gm.get_submodule(target)
            traced = TracedNode(name, node.op, target, type(mod).__name__, nbytes, mod)
        else:
            target = getattr(node.target, "__name__", str(node.target))
            traced = TracedNode(INPUT if node.op == "placeholder" else node.name, node.op, target, target, nbytes)
        index[node] = len(nodes)
        nodes.append(traced)
        edges.extend((index[a], index[node]) for a in node.all_input_nodes if a in index)
    if isinstance(cost, Mapping):
        unknown = sorted(set(cost) - {t.name for t in nodes})
        if unknown:
            raise ParameterError(f"cost names {unknown[:5]}, which the traced {type(model).__name__} lacks "
                                 f"(its layers: {[t.name for t in nodes[1:6]]}, ...). Fix: pass the per-layer "
                                 "breakdown of this model, by module path.")
    dev, srv = [0.0], [0.0]
    for traced in nodes[1:]:
        pair = (0.0, 0.0) if cost is None else cost(traced) if callable(cost) else cost.get(traced.name, (0.0, 0.0))
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ParameterError(f"the cost of {traced.name!r} must be (device_ms, server_ms), got {pair!r}. "
                                 "Fix: return one latency per tier, the device first.")
        dev.append(pair[0])
        srv.append(pair[1])
    return LayerGraph(tuple(t.name for t in nodes), tuple(dev), tuple(srv),
                      tuple(t.output_bytes for t in nodes), tuple(edges), outputs or None)


def costs_from_layers(device_layers, server_layers) -> dict[str, tuple[float, float]]:
    """``{layer_name: (device_ms, server_ms)}`` from two measured per-layer breakdowns.

    Parameters
    ----------
    device_layers, server_layers : DataFrame (polars or pandas)
        Rows of :meth:`workbench.store.Store.read_layers` for one measurement each (batch size 1),
        one on the device and one on the server: columns ``layer_name`` and ``latency_ms``.
        A layer called k times has k rows with the same name; its calls get the names ``name``,
        ``name#2``, ..., as in :func:`graph_from_module`.

    Returns
    -------
    dict
        Latency [ms] per layer name on the device and on the server, for the ``cost`` argument of
        :func:`graph_from_module`.

    Raises
    ------
    ParameterError
        A column is missing, or a layer appears in one breakdown and not the other.
    """
    tables = []
    for label, frame in (("device_layers", device_layers), ("server_layers", server_layers)):
        cols = list(frame.columns)
        if "layer_name" not in cols or "latency_ms" not in cols:
            raise ParameterError(f"{label} needs columns layer_name and latency_ms, got {cols}. "
                                 "Fix: pass rows of Store.read_layers() for one measurement.")
        seen: dict[str, int] = {}
        table = {}
        for name, ms in zip(list(frame["layer_name"]), list(frame["latency_ms"]), strict=True):
            seen[name] = seen.get(name, 0) + 1
            table[name if seen[name] == 1 else f"{name}#{seen[name]}"] = ms
        tables.append(table)
    dev, srv = tables
    if dev.keys() != srv.keys():
        odd = sorted(dev.keys() ^ srv.keys())[:5]
        raise ParameterError(f"layers {odd} appear in one breakdown only. Fix: pass breakdowns of the same "
                             "model (one measurement each, batch size 1).")
    return {k: (check_number(dev[k], f"device latency_ms of {k!r}", minimum=0),
                check_number(srv[k], f"server latency_ms of {k!r}", minimum=0)) for k in dev}
