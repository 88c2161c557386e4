"""Operator benchmark: reproducible blocks that cover the zoo's layer types, profiled into the store."""

from __future__ import annotations

import json

import pytest

from workbench import schema
from workbench.errors import ParameterError
from workbench.measure import features, kernels, zoo


def _types(model, x) -> set[str]:
    return {r.type for r in features.layer_breakdown(model, x, repeats=1)}


def test_blocks_are_reproducible_bounded_and_cover_every_zoo_layer_type():
    nets = kernels.kernel_nets(80, seed=0, max_flops=5e7)  # seed 0: the benchmark's
    again = kernels.kernel_nets(80, seed=0, max_flops=5e7)
    assert [(n.name, n.config) for n in nets] == [(n.name, n.config) for n in again]
    assert [(n.name, n.config) for n in kernels.kernel_nets(8, seed=4)] != [(n.name, n.config) for n in nets[:8]]
    assert [n.kind for n in nets[:4]] == list(kernels.KINDS)  # round robin over kinds
    default = kernels.kernel_nets(5)
    assert [n.name for n in default[:2]] == ["kernel-conv-0000", "kernel-linear-0001"]
    assert [n.config for n in kernels.kernel_nets(40)[:5]] == [n.config for n in default]  # a prefix is stable
    other = [n.name for n in kernels.kernel_nets(2, seed=1)] + [n.name for n in kernels.kernel_nets(1, kinds=("gru",))]
    assert len(set(other)) == 3 and not set(other) & {n.name for n in default}  # other draws: other names
    assert other[0].startswith("kernel-conv-0000-")
    covered, depthwise = set(), 0
    for n in nets:
        m, x = n.build(), n.example_input()
        assert features.count_flops(m, x) <= 5e7
        covered |= _types(m, x)
        depthwise += n.kind == "conv" and n.config["groups"] == n.config["cin"] > 1
    zoo_types = set()
    for fam in zoo.FAMILIES:
        spec = zoo.resolve(fam)
        zoo_types |= _types(spec.build(), spec.example_input(1))
    assert zoo_types <= covered, f"layer types no block exercises: {sorted(zoo_types - covered)}"
    assert depthwise >= 2


def test_profiled_blocks_are_schema_rows_with_layer_shapes(tmp_store):
    nets = kernels.kernel_nets(4, seed=0)
    rows, layers = kernels.profile_kernels(nets, repeats=3, warmup=1, threads=1, layer_repeats=1, store=tmp_store)
    schema.validate(rows)
    assert rows["model"].to_list() == [n.name for n in nets]
    assert set(rows["model_family"]) == {kernels.FAMILY} and set(rows["source"]) == {"profiler"}
    assert rows["latency_ms_p50"].min() > 0 and set(rows["energy_method"]) == {"none"}
    cfg = json.loads(rows["config_json"][2])
    assert cfg["kernel_kind"] == "gru" and cfg["hidden"] == nets[2].config["hidden"]
    gru = layers.filter(layers["layer_type"] == "GRU")
    assert gru["in_channels"].to_list() == [nets[2].config["din"]]
    assert gru["out_channels"].to_list() == [nets[2].config["hidden"]]
    assert layers["input_bytes"].null_count() == 0
    assert tmp_store.read().height == 4 and tmp_store.read_layers().height == layers.height


def test_bad_arguments_name_the_value():
    with pytest.raises(ParameterError, match="n >= 1 blocks, got 0"):
        kernels.kernel_nets(0)
    with pytest.raises(ParameterError, match=r"unknown kernel kind\(s\) \['lstm'\]"):
        kernels.kernel_nets(2, kinds=("conv", "lstm"))
    with pytest.raises(ParameterError, match="fp32 blocks, got dtype 'int8'"):
        kernels.profile_kernels(kernels.kernel_nets(1), dtype="int8")
