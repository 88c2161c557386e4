"""Latency cost models learn the normalised milliseconds where rows have them, and say which they predict."""

from __future__ import annotations

import polars as pl
import pytest

from tests.costmodels._stores import synthetic_runs
from workbench.costmodels.features import latency_label_note, training_data
from workbench.costmodels.workflow import fit_from_rows
from workbench.errors import UnknownNameError


@pytest.fixture
def rows_and_layers():
    rows, layers = synthetic_runs(["a", "b"], 4)
    # the first three rows of each family carry a normalised figure at 0.8x the raw median
    norm = [0.8 * v if i % 4 < 3 else None for i, v in enumerate(rows["latency_ms_p50"].to_list())]
    rows = rows.with_columns(pl.Series("latency_ms_norm", norm, dtype=pl.Float64),
                             pl.Series("latency_method", ["envelope-min/thread-cpu" if v is not None else None
                                                          for v in norm], dtype=pl.String))
    return rows, layers


def test_auto_label_takes_the_normalised_figure_where_a_row_has_it(rows_and_layers):
    rows, layers = rows_and_layers
    raw = rows["latency_ms_p50"].to_numpy()
    X, y, meta = training_data(rows, layers)
    by_id = dict(zip(rows["measurement_id"].to_list(), range(rows.height), strict=True))
    for mid, got, kind in zip(meta["measurement_id"], y, meta["latency_label"], strict=True):
        i = by_id[mid]
        want = 0.8 * raw[i] if i % 4 < 3 else raw[i]
        assert got == pytest.approx(want, rel=1e-12)  # the stored figure itself, no arithmetic beyond 0.8x
        assert kind == ("envelope-min/thread-cpu" if i % 4 < 3 else "raw")
    _, y_raw, m_raw = training_data(rows, layers, label="raw")
    assert set(m_raw["latency_label"]) == {"raw"} and sorted(y_raw) == pytest.approx(sorted(raw), rel=1e-12)
    _, y_norm, m_norm = training_data(rows, layers, label="normalised")
    assert len(y_norm) == 6 and set(m_norm["latency_label"]) == {"envelope-min/thread-cpu"}
    with pytest.raises(UnknownNameError, match="unknown latency label 'cpu'"):
        training_data(rows, layers, label="cpu")


def test_rows_without_the_new_columns_train_on_the_raw_figure():
    rows, layers = synthetic_runs(["a", "b"], 3)
    old = rows.drop("latency_ms_norm", "latency_method")  # as a frame from before issue 21
    _, y, meta = training_data(old, layers)
    assert sorted(y) == pytest.approx(sorted(rows["latency_ms_p50"].to_numpy()), rel=1e-12)
    assert set(meta["latency_label"]) == {"raw"}


def test_the_model_file_says_which_milliseconds_it_predicts(rows_and_layers):
    rows, layers = rows_and_layers
    saved = fit_from_rows(rows, layers, target="latency_ms", kind="loglinear", interval=None)
    assert saved.metadata["latency_label"] == {"envelope-min/thread-cpu": 6, "raw": 2}
    note = latency_label_note(saved.metadata)
    assert note.startswith("latency_ms is normalised and raw milliseconds")
    only = fit_from_rows(rows, layers, target="latency_ms", kind="loglinear", interval=None, label="normalised")
    assert latency_label_note(only.metadata).startswith("latency_ms is normalised milliseconds")
    raw = fit_from_rows(rows, layers, target="latency_ms", kind="loglinear", interval=None, label="raw")
    assert latency_label_note(raw.metadata).startswith("latency_ms is raw milliseconds")
    assert "predates" in latency_label_note({"target": "latency_ms"})  # a file written before the labels
    assert latency_label_note({"target": "energy_j"}) is None
