"""DAG partition by minimum s–t cut: equal to brute force on random DAGs, hand-computed cases, a zoo model."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from workbench.errors import ParameterError, UnknownNameError
from workbench.placement.dag import (
    DEVICE,
    SERVER,
    LayerGraph,
    brute_force,
    costs_from_layers,
    evaluate,
    graph_from_dict,
    graph_from_module,
    min_cut_partition,
    topological_split,
)

# Latencies are sums of a few dozen floats: 1e-9 relative (and 1e-9 ms absolute near 0) is far above
# rounding and far below any difference between two assignments in these tests.
TOL = {"rel": 1e-9, "abs": 1e-9}


def _random_graph(rng: np.random.Generator, n: int) -> LayerGraph:
    """A random DAG of n nodes (node 0 the input): each node consumes 1–3 earlier nodes, sometimes
    far back (skip connections); costs and sizes spread so that every kind of optimum occurs."""
    edges = set()
    for v in range(1, n):
        k = int(rng.integers(1, min(v, 3) + 1))
        edges.update((int(u), v) for u in rng.choice(v, size=k, replace=False))
    dev = np.r_[0.0, rng.uniform(0, 10, n - 1) * (rng.random(n - 1) > 0.1)]
    srv = np.r_[0.0, rng.uniform(0, 4, n - 1) * (rng.random(n - 1) > 0.1)]
    out_b = rng.integers(0, 20_000, n) * (rng.random(n) > 0.1)
    outputs = None
    if rng.random() < 0.3:  # explicit result nodes, possibly consumed elsewhere too
        outputs = tuple(int(i) for i in rng.choice(np.arange(1, n), size=int(rng.integers(1, n)), replace=False))
    return LayerGraph(tuple(f"n{i}" for i in range(n)), tuple(dev), tuple(srv), tuple(int(b) for b in out_b),
                      tuple(sorted(edges)), outputs)


def test_min_cut_equals_brute_force_on_random_dags(global_random_seed):
    rng = np.random.default_rng(global_random_seed)
    kinds = {"all device": 0, "all server": 0, "split": 0}
    for _ in range(300):
        n = int(rng.integers(2, 17))
        graph = _random_graph(rng, n)
        bw = float(rng.choice([0.3, 2.0, 8.0, 40.0, 1000.0]))
        rtt = float(rng.choice([0.0, 1.0, 5.0, 30.0]))
        cut = min_cut_partition(graph, bandwidth_mbps=bw, rtt_ms=rtt)
        oracle = brute_force(graph, bandwidth_mbps=bw, rtt_ms=rtt)
        assert cut.latency_ms == pytest.approx(oracle.latency_ms, **TOL), (n, bw, rtt, graph)
        # the reported numbers are those of the reported assignment, which is monotone
        again = evaluate(graph, cut.assignment, bandwidth_mbps=bw, rtt_ms=rtt)
        assert (again.latency_ms, again.transfer_bytes) == (cut.latency_ms, cut.transfer_bytes)
        # the cut's value is the optimum without the RTT
        no_rtt = brute_force(graph, bandwidth_mbps=bw, rtt_ms=0.0)
        assert cut.cut_value_ms == pytest.approx(no_rtt.latency_ms, **TOL)
        on_server = len(cut.server_nodes)
        kinds["all device" if on_server == 0 else "all server" if on_server == n - 1 else "split"] += 1
    assert min(kinds.values()) >= 15, kinds  # every kind of answer was exercised (23 or more on seeds 0–199)


def test_float_capacities_do_not_mislead_the_cut():
    # Found by the test above: with float capacities, networkx's minimum_cut put the cut's sides where
    # flow == capacity failed by rounding and returned a 315 ms partition for this 24.5 ms optimum.
    g = LayerGraph(("n0", "n1", "n2", "n3"), (0.0, 8.637522850703713, 6.922282757683613, 8.943902218315085),
                   (0.0, 0.5712951485214495, 2.22312143275083, 3.866895097592678), (0, 6496, 2953, 11562),
                   ((0, 1), (0, 2), (0, 3), (1, 2), (2, 3)), (3,))
    oracle = brute_force(g, bandwidth_mbps=0.3)
    assert oracle.latency_ms == pytest.approx(24.50370782670241, **TOL)
    assert min_cut_partition(g, bandwidth_mbps=0.3).latency_ms == pytest.approx(oracle.latency_ms, **TOL)


def _chain(input_bytes, layers):
    return graph_from_dict({"input_bytes": input_bytes, "layers": [
        {"name": f"l{i}", "output_bytes": b, "latency_ms": [d, s]} for i, (d, s, b) in enumerate(layers, 1)]})


def test_a_chain_reduces_to_the_chain_split(global_random_seed):
    rng = np.random.default_rng(global_random_seed)
    for _ in range(50):
        n_layers = int(rng.integers(1, 12))
        layers = [(rng.uniform(0, 10), rng.uniform(0, 3), int(rng.integers(0, 50_000))) for _ in range(n_layers)]
        input_bytes = int(rng.integers(0, 50_000))
        bw, rtt = float(rng.choice([1.0, 10.0, 100.0])), float(rng.choice([0.0, 5.0, 40.0]))
        # the chain split of the problem file with two tiers: layers j.. on the server
        sizes = [input_bytes] + [b for _, _, b in layers]
        r = layers[-1][2]
        best = sum(d for d, _, _ in layers)
        for j in range(n_layers):
            lat = (sum(d for d, _, _ in layers[:j]) + sum(s for _, s, _ in layers[j:])
                   + rtt + (sizes[j] + r) * 8 / (bw * 1000))
            best = min(best, lat)
        cut = min_cut_partition(_chain(input_bytes, layers), bandwidth_mbps=bw, rtt_ms=rtt)
        assert cut.latency_ms == pytest.approx(best, **TOL)
        # a chain's optimal assignment is a prefix on the device
        tiers = list(cut.assignment.values())
        assert tiers == sorted(tiers)  # "device" < "server"


def test_a_two_tier_problem_file_is_a_dag_with_the_chain_solvers_optimum(global_random_seed):
    # The [model] table of a two-tier chain problem file is a valid DAG (no inputs: a chain); the cut
    # must then equal the chain module's dynamic programming, an independent implementation.
    from workbench.placement import chain, problem

    rng = np.random.default_rng(global_random_seed)
    for _ in range(30):
        layers = [{"name": f"l{i}", "output_bytes": int(rng.integers(0, 50_000)),
                   "latency_ms": [float(rng.uniform(0, 10)), float(rng.uniform(0, 3))], "energy_j": [0.0, 0.0]}
                  for i in range(int(rng.integers(1, 10)))]
        link = {"bandwidth_mbps": float(rng.choice([1.0, 10.0, 100.0])), "rtt_ms": float(rng.choice([0.0, 20.0]))}
        model = {"input_bytes": int(rng.integers(0, 50_000)), "layers": layers}
        file = {"model": model, "links": [link], "tiers": [{"name": "device", "carbon_intensity_g_per_kwh": 1.0},
                                                          {"name": "server", "carbon_intensity_g_per_kwh": 1.0}]}
        parsed = problem.parse_problem(file)
        cut = min_cut_partition(graph_from_dict(model), **link)
        assert cut.latency_ms == pytest.approx(chain.solve(parsed, "latency_ms")["latency_ms"], **TOL)
        # and both modules price the cut's assignment alike (tiers named device and server in the file)
        theirs = chain.evaluate(parsed, list(cut.assignment.values())[1:])
        assert theirs["latency_ms"] == pytest.approx(cut.latency_ms, **TOL)
        assert theirs["transfer_bytes"] == cut.transfer_bytes


def test_a_chain_by_hand():
    # input 4000 B; l1 (8, 2 ms, 1000 B); l2 (4, 1 ms, 100 B). At 8 Mbit/s 1000 B take 1 ms.
    g = _chain(4000, [(8.0, 2.0, 1000), (4.0, 1.0, 100)])
    # all device 12; l1,l2 on server 3 + 4 + 0.1 + rtt; l2 on server 8 + 1 + 1 + 0.1 + rtt
    cut = min_cut_partition(g, bandwidth_mbps=8.0, rtt_ms=2.0)
    assert cut.server_nodes == ["l1", "l2"]
    assert cut.latency_ms == pytest.approx(3 + 4.1 + 2, **TOL)
    assert cut.transfer_bytes == 4100
    assert cut.cut_value_ms == pytest.approx(7.1, **TOL)


DIAMOND = {"input_bytes": 4000, "layers": [
    {"name": "a", "output_bytes": 3000, "latency_ms": [1.0, 0.5]},
    {"name": "b", "output_bytes": 100, "latency_ms": [5.0, 0.5], "inputs": ["a"]},
    {"name": "c", "output_bytes": 100, "latency_ms": [5.0, 0.5], "inputs": ["a"]},
    {"name": "d", "output_bytes": 1000, "latency_ms": [2.0, 0.5], "inputs": ["b", "c"]},
]}
"""input → a → (b, c) → d. At 8 Mbit/s, 1000 B take 1 ms. All on the device: 13 ms; a..d on the
server: 2 + 4 (input) + 1 (result) = 7 ms; a on the device, b..d on the server: 1 + 1.5 + 3 (a's
output, sent once) + 1 = 6.5 ms, which would be 9.5 ms if the tensor were paid per consumer."""


def test_a_diamond_sends_a_tensor_once():
    g = graph_from_dict(DIAMOND)
    cut = min_cut_partition(g, bandwidth_mbps=8.0)
    assert cut.assignment == {"input": DEVICE, "a": DEVICE, "b": SERVER, "c": SERVER, "d": SERVER}
    assert cut.latency_ms == pytest.approx(6.5, **TOL)
    assert cut.transfer_bytes == 3000 + 1000
    assert brute_force(g, bandwidth_mbps=8.0).latency_ms == pytest.approx(6.5, **TOL)
    everything = evaluate(g, [DEVICE] + [SERVER] * 4, bandwidth_mbps=8.0)
    assert (everything.latency_ms, everything.transfer_bytes) == (pytest.approx(7.0, **TOL), 5000)


@pytest.mark.parametrize(("rtt_ms", "expected_ms", "server"), [(6.4, 12.9, ["b", "c", "d"]), (6.6, 13.0, [])])
def test_the_rtt_can_make_all_device_best(rtt_ms, expected_ms, server):
    g = graph_from_dict(DIAMOND)
    cut = min_cut_partition(g, bandwidth_mbps=8.0, rtt_ms=rtt_ms)
    assert cut.server_nodes == server
    assert cut.latency_ms == pytest.approx(expected_ms, **TOL)
    assert cut.transfer_bytes == (4000 if server else 0)
    assert cut.cut_value_ms == pytest.approx(6.5, **TOL)  # the cut itself does not see the RTT
    assert brute_force(g, bandwidth_mbps=8.0, rtt_ms=rtt_ms).latency_ms == pytest.approx(expected_ms, **TOL)


def test_the_cut_beats_every_split_of_the_node_order():
    # input → a, input → b, (a, b) → c. a is cheap on the server, b (say, sensor pre-processing) on the
    # device; the best partition runs a and c on the server and b on the device, not a prefix.
    g = graph_from_dict({"input_bytes": 0, "layers": [
        {"name": "a", "output_bytes": 50_000, "latency_ms": [10.0, 1.0], "inputs": ["input"]},
        {"name": "b", "output_bytes": 10, "latency_ms": [1.0, 10.0], "inputs": ["input"]},
        {"name": "c", "output_bytes": 10, "latency_ms": [10.0, 1.0], "inputs": ["a", "b"]}]})
    cut = min_cut_partition(g, bandwidth_mbps=8.0)
    assert cut.server_nodes == ["a", "c"]
    assert cut.latency_ms == pytest.approx(1 + 1 + 1 + 0.02, **TOL)  # b's and c's 10 B: 0.01 ms each
    chain = topological_split(g, bandwidth_mbps=8.0)
    assert chain.latency_ms == pytest.approx(1 + 10 + 1 + 0.01, **TOL)  # a..c on the server: b takes 10 ms


def test_data_never_flows_back():
    g = graph_from_dict(DIAMOND)
    with pytest.raises(ParameterError, match="'b' on the device consumes 'a' on the server"):
        evaluate(g, [DEVICE, SERVER, DEVICE, SERVER, SERVER], bandwidth_mbps=8.0)
    with pytest.raises(ParameterError, match="input .* cannot be on the server"):
        evaluate(g, [SERVER] * 5, bandwidth_mbps=8.0)
    with pytest.raises(ParameterError, match="unknown tier"):
        evaluate(g, [DEVICE, "cloud", SERVER, SERVER, SERVER], bandwidth_mbps=8.0)


@pytest.mark.parametrize("bw", [0, -1.0, math.nan, math.inf, True, "10"])
def test_bad_bandwidth_is_refused(bw):
    g = graph_from_dict(DIAMOND)
    for solver in (min_cut_partition, brute_force, topological_split):
        with pytest.raises(ParameterError, match="bandwidth_mbps"):
            solver(g, bandwidth_mbps=bw)


def test_bad_graphs_are_refused():
    with pytest.raises(ParameterError, match="rtt_ms"):
        min_cut_partition(graph_from_dict(DIAMOND), bandwidth_mbps=1.0, rtt_ms=-1.0)
    with pytest.raises(ParameterError, match="at least one layer"):
        graph_from_dict({"input_bytes": 10, "layers": []})
    with pytest.raises(UnknownNameError, match="'nope'"):
        graph_from_dict({"input_bytes": 10, "layers": [{"name": "a", "output_bytes": 1, "latency_ms": [1, 1],
                                                         "inputs": ["nope"]}]})
    later = {"input_bytes": 10, "layers": [{"name": "a", "output_bytes": 1, "latency_ms": [1, 1], "inputs": ["b"]},
                                           {"name": "b", "output_bytes": 1, "latency_ms": [1, 1]}]}
    with pytest.raises(ParameterError, match="execution order"):
        graph_from_dict(later)
    with pytest.raises(ParameterError, match="device_ms of 'a'"):
        graph_from_dict({"input_bytes": 10, "layers": [{"name": "a", "output_bytes": 1,
                                                         "latency_ms": [math.nan, 1]}]})
    with pytest.raises(ParameterError, match="must be a list of node names"):
        graph_from_dict({"input_bytes": 10, "layers": [{"name": "a", "output_bytes": 1, "latency_ms": [1, 1],
                                                         "inputs": "input"}]})
    with pytest.raises(ParameterError, match=r"\[device_ms, server_ms\]"):
        graph_from_dict({"input_bytes": 10, "layers": [{"name": "a", "output_bytes": 1, "latency_ms": [1, 2, 3]}]})
    with pytest.raises(ParameterError, match="unique"):
        LayerGraph(("in", "a", "a"), (0, 1, 1), (0, 1, 1), (1, 1, 1), ((0, 1), (1, 2)))
    with pytest.raises(ParameterError, match="topological order"):
        LayerGraph(("in", "a", "b"), (0, 1, 1), (0, 1, 1), (1, 1, 1), ((0, 2), (2, 1)))
    with pytest.raises(ParameterError, match="must cost 0 ms"):
        LayerGraph(("in", "a"), (1, 1), (0, 1), (1, 1), ((0, 1),))
    big = LayerGraph(tuple(f"n{i}" for i in range(25)), (0,) * 25, (0,) * 25, (1,) * 25,
                     tuple((i, i + 1) for i in range(24)))
    with pytest.raises(ParameterError, match="min_cut_partition"):
        brute_force(big, bandwidth_mbps=1.0)
    assert min_cut_partition(big, bandwidth_mbps=1.0).latency_ms == 0.0


def test_placement_dag_imports_without_torch():
    code = "import sys, workbench.placement.dag; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- traced torch modules -------------------------------------------------------------------------


def test_a_traced_module_names_layers_by_module_path_and_takes_mapped_costs():
    torch = pytest.importorskip("torch")

    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 4)

        def forward(self, x):
            return torch.flatten(self.fc(self.fc(x)) + x, 1)

    import polars as pl

    dev = pl.DataFrame({"layer_name": ["fc", "fc"], "latency_ms": [3.0, 5.0]})
    srv = pl.DataFrame({"layer_name": ["fc", "fc"], "latency_ms": [0.3, 0.5]})
    costs = costs_from_layers(dev, srv)
    assert costs == {"fc": (3.0, 0.3), "fc#2": (5.0, 0.5)}
    g = graph_from_module(Twice(), torch.zeros(3, 4), cost=costs)
    assert g.names == ("input", "fc", "fc#2", "add", "flatten")
    assert g.device_ms == (0.0, 3.0, 5.0, 0.0, 0.0)  # add and flatten have no cost: 0
    assert g.output_bytes == (16,) * 5  # 4 float32 per sample (batch of 3)
    assert set(g.edges) == {(0, 1), (1, 2), (2, 3), (0, 3), (3, 4)}
    assert g.outputs == (4,)
    with pytest.raises(ParameterError, match="one breakdown only"):
        costs_from_layers(dev, srv.head(1))
    with pytest.raises(ParameterError, match=r"cost names \['conv1'\], which the traced Twice lacks"):
        graph_from_module(Twice(), torch.zeros(3, 4), cost={"conv1": (1.0, 1.0)})
    with pytest.raises(ParameterError, match=r"must be \(device_ms, server_ms\)"):
        graph_from_module(Twice(), torch.zeros(3, 4), cost=lambda node: 1.0)


@pytest.fixture(scope="module")
def resnet8():
    """resnet8 traced, with synthetic costs: server 1e-8 ms per FLOP, the device 10× slower."""
    pytest.importorskip("torch")
    from workbench.measure import features, zoo

    spec = zoo.resolve("resnet8")
    model, x = spec.build(), spec.example_input(batch_size=2)
    layers = features.layer_breakdown(model, x[:1], repeats=1)
    flops = {r.name: r.flops for r in layers}
    graph = graph_from_module(model, x, cost=lambda node: (1e-7 * flops.get(node.target, 0.0),
                                                          1e-8 * flops.get(node.target, 0.0)))
    return graph, layers


def test_resnet8_is_traced_layer_by_layer(resnet8):
    graph, layers = resnet8
    assert graph.names == ("input",) + tuple(r.name for r in layers)  # every leaf layer, by module path
    # per-sample output bytes agree with the per-layer breakdown of one sample
    assert graph.output_bytes[1:] == tuple(r.output_bytes for r in layers)
    assert graph.output_bytes[0] == 3 * 32 * 32 * 4
    adds = [graph.index(f"{b}.add") for b in (3, 4, 5)]
    assert all(sum(v == a for _, v in graph.edges) == 2 for a in adds)  # the residual joins
    assert graph.outputs == (len(graph) - 1,)


@pytest.mark.parametrize("bandwidth_mbps", [0.5, 20.0, 60.0, 200.0, 2000.0])
def test_resnet8_cut_is_no_worse_than_the_best_chain_split(resnet8, bandwidth_mbps):
    graph, _ = resnet8
    cut = min_cut_partition(graph, bandwidth_mbps=bandwidth_mbps, rtt_ms=1.0)
    chain = topological_split(graph, bandwidth_mbps=bandwidth_mbps, rtt_ms=1.0)
    assert cut.latency_ms <= chain.latency_ms * (1 + 1e-12)
    assert evaluate(graph, cut.assignment, bandwidth_mbps=bandwidth_mbps, rtt_ms=1.0).latency_ms == cut.latency_ms


def test_resnet8_goes_to_the_server_at_high_bandwidth_and_stays_at_low(resnet8):
    graph, _ = resnet8
    fast = min_cut_partition(graph, bandwidth_mbps=1e6, rtt_ms=0.0)
    assert fast.server_nodes == list(graph.names[1:])
    assert fast.transfer_bytes == graph.output_bytes[0] + graph.output_bytes[-1]
    slow = min_cut_partition(graph, bandwidth_mbps=1e-3, rtt_ms=0.0)
    assert slow.server_nodes == []
    assert slow.latency_ms == pytest.approx(sum(graph.device_ms), **TOL)


def test_docstring_examples_run():
    import doctest

    from workbench.placement import dag, dag_graph

    for module in (dag, dag_graph):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, (module.__name__, result)
