"""The training set of the cost models: a seeded draw of zoo variants, and their runs on this machine.

The run tests profile six tiny zoo variants (three families, 2 timed calls each, ~3 s) into a
temporary store once per module.
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.costmodels._training_runs import small_training_runs
from workbench.costmodels.training import check_training_kinds, training_runs, training_variants
from workbench.errors import ParameterError, UnknownNameError


def test_training_variants_are_a_seeded_draw_per_family():
    from workbench.measure import zoo

    names = training_variants(4, seed=0)
    fams = [zoo.resolve(n).family for n in names]
    assert len(names) == 4 * len(zoo.FAMILIES) and set(fams) == set(zoo.FAMILIES)
    assert all(fams.count(f) == 4 for f in zoo.FAMILIES)
    assert set(names) <= set(zoo.grid_names())
    assert training_variants(4, seed=0) == names and training_variants(4, seed=1) != names
    assert training_variants(500, families=["mlp"]) == zoo.grid_names(["mlp"])  # capped at the grid
    for bad in (0, 2.5, True):
        with pytest.raises(ParameterError, match="variants_per_family"):
            training_variants(bad)
    with pytest.raises(UnknownNameError, match="lenet"):
        training_variants(2, families=["lenett"])


def test_training_kinds_are_checked():
    assert check_training_kinds(["flops", "additive", "flops"]) == ["flops", "additive"]
    with pytest.raises(ParameterError, match="roofline"):
        check_training_kinds(["roofline"])
    with pytest.raises(UnknownNameError, match="layerwise"):
        check_training_kinds(["layerwize"])
    with pytest.raises(ParameterError, match="no cost-model kind"):
        check_training_kinds([])


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    return small_training_runs(tmp_path_factory.mktemp("cm") / "runs")


def test_training_runs_profile_once_with_layers_and_one_thread_count(own):
    store, train, runs = own
    assert runs.threads == 1 and sorted(runs.profiled) == sorted(train)
    assert sorted(runs.rows["model"].to_list()) == sorted(train)
    assert set(runs.rows["threads"].to_list()) == {1} and set(runs.rows["dtype"].to_list()) == {"fp32"}
    assert set(runs.layers["measurement_id"].to_list()) == set(runs.rows["measurement_id"].to_list())
    again = training_runs(store, train, threads=1, repeats=2, warmup=0)  # measure="missing": nothing new
    assert again.profiled == () and again.rows.equals(runs.rows)
    # runs with another thread count do not count: with measure="never" that is an error naming the fix
    with pytest.raises(ParameterError, match="2 thread.*measure='missing'"):
        training_runs(store, train[:1], threads=2, measure="never")
    with pytest.raises(UnknownNameError):
        training_runs(store, train, measure="sometimes")
    with pytest.raises(ParameterError, match="threads"):
        training_runs(store, train, threads=0)


def test_operator_blocks_are_profiled_once_and_kept_apart(own):
    from workbench.schema import OPERATOR_FAMILY

    store, train, _ = own
    runs = training_runs(store, train, threads=1, repeats=2, warmup=0, operator_blocks=4)
    ops = [m for m in runs.rows["model"].to_list() if m.startswith("kernel-")]
    assert sorted(ops) == ["kernel-attention-0003", "kernel-conv-0000", "kernel-gru-0002", "kernel-linear-0001"]
    assert sorted(runs.profiled) == sorted(ops)  # the zoo variants came from the store
    assert set(runs.rows.filter(pl.col("model").is_in(ops))["model_family"]) == {OPERATOR_FAMILY}
    assert runs.layers["input_bytes"].null_count() == 0
    again = training_runs(store, train, threads=1, repeats=2, warmup=0, operator_blocks=4)
    assert again.profiled == ()
    with pytest.raises(ParameterError, match="operator_blocks must be an integer ≥ 0, got -1"):
        training_runs(store, train, operator_blocks=-1)
