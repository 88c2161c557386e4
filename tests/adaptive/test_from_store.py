"""The configuration space from a store's strategy variant rows (benchmarks/adaptive.py --from-store)."""

from __future__ import annotations

import tomllib
import uuid
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from tests.placement._chain_cases import HAND_TOML
from workbench import schema
from workbench.adaptive.example import example_space, variants_from_store
from workbench.errors import ParameterError
from workbench.placement.problem import parse_problem
from workbench.store import Store

T0 = datetime(2026, 11, 29, tzinfo=timezone.utc)


def _row(model, strategy, accuracy, flops, dtype="fp32", minutes=0, **kw):
    return {"measurement_id": uuid.uuid4().hex, "run_id": "r", "timestamp_utc": T0 + timedelta(minutes=minutes),
            "source": "profiler", "model": model, "strategy": strategy, "accuracy": accuracy, "flops": flops,
            "batch_size": 1, "dtype": dtype, "energy_method": "none", "device_name": "host",
            "device_class": "desktop-cpu", **kw}


def _store(tmp_path, rows):
    Store(tmp_path).append(schema.from_records(rows))
    return tmp_path


def test_variants_from_store_build_the_space(tmp_path):
    st = _store(tmp_path, [
        _row("cnn", "baseline", 0.97, 1000.0), _row("cnn", "int8-dynamic", 0.96, 1000.0, dtype="int8"),
        _row("cnn", "pruned-structured-0.5", 0.95, 500.0),
        # an older run of the baseline at another accuracy: the latest row counts
        _row("cnn", "baseline", 0.90, 1000.0, minutes=-10),
        # a profiler row without a strategy is not a variant
        {**_row("cnn", None, None, 1000.0)},
    ])
    v = variants_from_store(st).sort("variant")
    assert v["variant"].to_list() == ["cnn/baseline", "cnn/int8-dynamic", "cnn/pruned-structured-0.5"]
    assert v["accuracy"].to_list() == [0.97, 0.96, 0.95]
    assert v["compute_scale"].to_list() == [1.0, 1.0, 0.5] and v["cut_scale"].to_list() == [1.0, 0.25, 1.0]
    assert all(str(tmp_path) in s for s in v["source"])
    problem = parse_problem(tomllib.loads(HAND_TOML))
    full, pruned = example_space(problem, v)
    # three variants × the hand problem's ten splits
    assert len(full) == 30 and 0 < len(pruned) <= 30
    pruned_half = full.table.filter(pl.col("variant") == "cnn/pruned-structured-0.5",
                                    pl.col("split").str.starts_with("conv1–fc on phone"))
    assert pruned_half["device_energy_j"][0] == pytest.approx(0.5 * 1.7, rel=1e-12)  # (0.5 + 1.0 + 0.2) J × 0.5


def test_a_store_without_strategy_rows(tmp_path):
    st = _store(tmp_path, [_row("cnn", None, None, 1000.0)])
    with pytest.raises(ParameterError, match="no strategy row"):
        variants_from_store(st)
    with pytest.raises(ParameterError, match="for resnet"):
        variants_from_store(_store(tmp_path / "b", [_row("cnn", "baseline", 0.9, 1.0)]), models=["resnet"])
