"""The compression experiment: train → compress → measure → rows in the store (small, fast settings)."""

import json

import polars as pl
import pytest

from workbench.errors import ParameterError, UnknownNameError
from workbench.strategies.compression_experiments import COMPRESSION_METHODS, COMPRESSORS, run_compression


def test_run_compression_writes_one_row_per_variant(tmp_store, splits, fast_settings):
    res = run_compression("mlp", epochs=8, fine_tune_epochs=1, splits=splits, settings=fast_settings, store=tmp_store)
    stored = tmp_store.read()
    assert stored.height == res.rows.height == 8  # base, 2×int8, 2×pruned, teacher, student alone, distilled
    assert set(stored["strategy"]) == {"baseline", "int8-dynamic", "int8-static", "prune-unstructured-0.5",
                                       "prune-structured-0.5", "distilled-from-digits-cnn-16-32"}
    assert set(stored["source"]) == {"profiler"} and set(stored["task"]) == {"image-classification"}
    by = {r["strategy"]: r for r in stored.filter(pl.col("model") == "digits-mlp-128-64").iter_rows(named=True)}
    base = by["baseline"]
    assert by["int8-dynamic"]["dtype"] == "int8" and by["int8-dynamic"]["flops"] == base["flops"] == 34048
    assert base["weight_bytes"] / by["int8-dynamic"]["weight_bytes"] >= 3.5
    assert by["prune-unstructured-0.5"]["params"] == base["params"] == 17226  # zeros still stored
    cfg = json.loads(by["prune-unstructured-0.5"]["config_json"])
    assert cfg["sparsity"] == pytest.approx(8512 / 17226, abs=1e-9)  # half of each weight matrix, no biases
    assert by["prune-structured-0.5"]["params"] == 6570 and by["prune-structured-0.5"]["flops"] == 12928
    for r in stored.iter_rows(named=True):
        assert 0.5 < r["accuracy"] <= 1.0 and r["latency_ms_p50"] > 0 and r["energy_method"] == "none"
    assert res.summary["int8_size_ratio"] == pytest.approx(base["weight_bytes"] / by["int8-dynamic"]["weight_bytes"])
    assert len(tmp_store.read_layers()) > 0


def test_the_methods_offered_are_the_registry_and_bad_arguments_fail_before_training(splits, fast_settings):
    assert COMPRESSION_METHODS == tuple(COMPRESSORS) == ("int8-dynamic", "int8-static", "prune-unstructured",
                                                         "prune-structured", "distill")
    with pytest.raises(UnknownNameError, match="compression method"):
        run_compression("mlp", ["int4"], splits=splits, settings=fast_settings)
    with pytest.raises(ParameterError, match="no compression method"):
        run_compression("mlp", [], splits=splits, settings=fast_settings)
    with pytest.raises(ParameterError, match=r"pruning amount must be a fraction in \[0, 1\), got 1"):
        run_compression("mlp", ["prune-structured"], amount=1, splits=splits, settings=fast_settings)
    with pytest.raises(ParameterError, match="settings must be a ProfileSettings"):
        run_compression("mlp", splits=splits, settings={"repeats": 3})
