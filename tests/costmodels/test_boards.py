"""Energy per inference of an unseen board (workbench.costmodels.boards): features, board-out evaluation."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

from workbench.costmodels.boards import BOARD_FEATURES, board_energy_data, clock_mhz, evaluate_board_out
from workbench.errors import ParameterError, UnknownNameError


def _board_rows(n_boards: int = 5, benchmarks: int = 3, seed: int = 0) -> pl.DataFrame:
    """Boards whose energy per inference is exactly power × latency, with power = 1e-3 W/MHz × clock."""
    rng = np.random.default_rng(seed)
    rows = []
    for b in range(n_boards):
        mhz = float(rng.uniform(50, 500))
        for k in range(benchmarks):
            lat_ms = float(rng.uniform(100, 2000))
            rows.append({"measurement_id": f"b{b}-{k}", "model": f"bench{k}", "device_name": f"board{b}",
                         "device_class": "mcu", "source": "synthetic", "latency_ms_mean": lat_ms,
                         "latency_ms_p50": None, "energy_j": 1e-3 * mhz * lat_ms / 1e3, "energy_scope": "inference",
                         "config_json": json.dumps({"processor_frequency": f"{mhz:.3f} MHz"}),
                         "cpu_model": "Cortex-M4", "accelerator": None})
    # a stream-scope row must never be used as an energy per inference
    rows.append({**rows[0], "measurement_id": "stream", "energy_scope": "stream", "energy_j": 1e3})
    return pl.DataFrame(rows, schema_overrides={"latency_ms_p50": pl.Float64, "accelerator": pl.String})


def test_clock_mhz_parses_descriptions():
    assert clock_mhz("336 MHZ") == 336.0
    assert clock_mhz("Broadcom BCM2711 @ 1.5Ghz") == 1500.0
    assert math.isnan(clock_mhz(None)) and math.isnan(clock_mhz("Cortex-M4"))


def test_board_energy_data_keeps_inference_rows_and_builds_features():
    rows = _board_rows()
    X, y, meta = board_energy_data(rows)
    assert list(X.columns) == list(BOARD_FEATURES)
    assert len(y) == 15 and "stream" not in set(meta["measurement_id"])  # the stream row is dropped
    first = rows.filter(pl.col("measurement_id") == "b0-0").row(0, named=True)
    i = list(meta["measurement_id"]).index("b0-0")
    # the clock comes from config_json's processor_frequency (written with 3 decimals)
    assert X["cpu_mhz"].iloc[i] == pytest.approx(float(json.loads(first["config_json"])["processor_frequency"][:-4]))
    assert X["latency_ms"].iloc[i] == first["latency_ms_mean"] and y[i] == first["energy_j"]
    assert (X["has_accelerator"] == 0).all()


def test_board_out_recovers_an_exact_power_law():
    pred, table = evaluate_board_out(_board_rows(n_boards=6), ridge_alpha=0.0)
    overall = table[(table["device_class"] == "all") & (table["device_name"] == "all")].set_index("kind")
    # energy = 1e-3 · clock · latency exactly; the model works on log1p of the features, which differs
    # from log by < 1/x (x ≥ 50 MHz, ≥ 100 ms here), so a board never seen is predicted within a few %
    assert overall.loc["board-features", "mape"] < 0.03
    # latency alone cannot know each board's power: it misses by much more
    assert overall.loc["latency-only", "mape"] > 5 * overall.loc["board-features", "mape"]
    assert set(pred["kind"]) == {"board-features", "latency-only"} and len(pred) == 2 * 18
    assert {"lower", "upper"} <= set(pred.columns)
    assert (pred["lower"] <= pred["y_pred"]).all() and (pred["y_pred"] <= pred["upper"]).all()
    per_board = table[(table["kind"] == "board-features") & (table["device_name"] != "all")]
    assert sorted(per_board["device_name"]) == [f"board{b}" for b in range(6)]
    assert per_board["n"].tolist() == [3] * 6


def test_point_predictions_do_not_depend_on_the_interval():
    rows = _board_rows(n_boards=6)
    with_iv, _ = evaluate_board_out(rows)
    without, _ = evaluate_board_out(rows, interval=None)
    np.testing.assert_allclose(with_iv["y_pred"], without["y_pred"], rtol=1e-12)  # the same fitted estimator
    assert "lower" not in without.columns


def test_bad_input_is_refused():
    with pytest.raises(UnknownNameError, match="board-features"):
        evaluate_board_out(_board_rows(), kinds=["board-feature"])
    with pytest.raises(ParameterError, match="at least 10"):
        board_energy_data(_board_rows(n_boards=2))
    with pytest.raises(ParameterError, match="interval"):
        evaluate_board_out(_board_rows(), interval=90)
    with pytest.raises(ParameterError, match="energy_scope"):
        board_energy_data(_board_rows().drop("energy_scope"))


def test_mlperf_tiny_figures_of_the_documentation(shared_data):
    from workbench import datasets

    rows = datasets.load("mlperf-tiny", shared_data / "mlperf-tiny")
    pred, table = evaluate_board_out(rows, interval=None)
    overall = table[(table["device_class"] == "all") & (table["device_name"] == "all")].set_index("kind")
    # docs/costmodels.md (benchmark of 2026-11-26): 112 rows, 10 boards, MAPE 3.31 with board features,
    # 1.36 with latency alone; deterministic (no random draw), so to the printed precision
    assert overall.loc["board-features", "n"] == 112
    assert pred[pred["kind"] == "board-features"]["device_name"].nunique() == 10
    assert overall.loc["board-features", "mape"] == pytest.approx(3.31, abs=0.005)
    assert overall.loc["latency-only", "mape"] == pytest.approx(1.36, abs=0.005)
