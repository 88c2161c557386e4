"""The ledger of the shared simulation (conftest.py): real bytes, measured time, failures, carbon arithmetic."""

import math

import numpy as np
import polars as pl
from flwr.app import ArrayRecord

from tests.federated.conftest import CLIENTS, EXPERIMENTS, ROUNDS, SIGNAL
from workbench.catalog import grid, network
from workbench.catalog.devices import get_device
from workbench.strategies.data import build_model

METRIC_BYTES = 5 * 8 + len("num-examples") + len("partition-id") + len("train-time-s") + len("train-cpu-s") + \
    len("train-loss")
"""MetricRecord.count_bytes() of a reply: 8 B per value plus its key (Flower's count)."""


def _clients(ledger, exp):
    return ledger.filter((pl.col("experiment") == exp) & (pl.col("role") == "client"))


def test_one_row_per_client_and_round(fl):
    res, _ = fl
    for exp in EXPERIMENTS:
        per_round = 2 if exp == "topk-carbon" else CLIENTS  # fraction 0.5 of 4 clients
        c = _clients(res.ledger, exp)
        assert c.height == ROUNDS * per_round
        assert sorted(c["round"].unique().to_list()) == list(range(1, ROUNDS + 1))
        server = res.ledger.filter((pl.col("experiment") == exp) & (pl.col("client") == -1))
        assert server.filter(pl.col("role") == "server-aggregate").height == ROUNDS
        assert server.filter(pl.col("role") == "server-evaluate").height == ROUNDS + 1  # round 0: initial model


def test_bytes_are_those_of_the_serialized_messages(fl):
    res, _ = fl
    arrays = ArrayRecord(build_model("mlp-small").state_dict()).count_bytes()
    c = _clients(res.ledger, "fedavg").filter(pl.col("status") == "ok")
    # fp32 reply: the model's ArrayRecord and the 5 metrics, exactly
    assert set(c["bytes_up"].to_list()) == {arrays + METRIC_BYTES}
    # the train message: the global model and a small ConfigRecord
    assert all(arrays < b < arrays + 400 for b in c["bytes_down"].to_list())


def test_compressed_uplinks_are_smaller(fl):
    res, _ = fl
    up = {e: _clients(res.ledger, e).filter(pl.col("status") == "ok")["bytes_up"].mean() for e in EXPERIMENTS}
    # int8: 1,210 parameters of 1 B instead of 4, one header per packed array: 2.5-4 x fewer bytes
    assert 2.5 < up["fedavg"] / up["fedadam-int8"] < 4.0
    # int8+deflate: the same codes deflated; a trained update's codes cluster near 0, so deflate saves more
    assert up["fedavg-int8-deflate"] < up["fedadam-int8"] and up["fedavg"] / up["fedavg-int8-deflate"] > 3.0
    # top-k 5 %: 61 float32 values + 61 uint16 indices
    assert up["fedavg"] / up["topk-carbon"] > 4.0


def test_a_failing_client_is_in_the_ledger_and_the_round_goes_on(fl):
    res, store = fl
    c = _clients(res.ledger, "fedavg")
    failed = c.filter(pl.col("status") == "failed")
    assert failed.select("client", "round").rows() == [(1, 2)]
    row = failed.row(0, named=True)
    assert "injected failure: client 1 in round 2" in row["error"]
    assert row["bytes_up"] == 0 and row["energy_here_j"] is None and row["bytes_down"] > 0
    assert [h["round"] for h in res.history["fedavg"]] == [0, 1, 2]  # round 2 aggregated the other three
    stored = store.read().filter(pl.col("notes").str.contains("raised"))
    assert stored.height == 1 and stored["energy_method"][0] == "none"


def test_measured_energy_is_calibrated_power_times_cpu_time(fl):
    res, _ = fl
    assert res.power.method == "tdp-estimate"  # no RAPL here: codecarbon's TDP estimate, said so per row
    ok = res.ledger.filter(pl.col("status") == "ok")
    np.testing.assert_allclose(ok["energy_here_j"], ok["train_cpu_s"] * res.power.j_per_cpu_s, rtol=1e-12)
    assert (ok.filter(pl.col("role") == "client")["train_cpu_s"] > 0).all()


def test_carbon_by_hand(fl):
    res, _ = fl
    for r in _clients(res.ledger, "fedavg").iter_rows(named=True):
        dev = get_device(r["device_name"])
        ci = grid.carbon_intensity_g_per_kwh(r["country"])
        kwh_gb = network.energy_kwh_per_gb(r["network"])
        # network: GB × kWh/GB × g/kWh
        assert math.isclose(r["network_g"], (r["bytes_down"] + r["bytes_up"]) / 1e9 * kwh_gb * ci, rel_tol=1e-12)
        # operational: (predicted compute + radio) J → kWh × g/kWh
        assert math.isclose(r["operational_g"], (r["compute_energy_j"] + r["radio_energy_j"]) / 3.6e6 * ci,
                            rel_tol=1e-12)
        # embodied: catalog kgCO2e × busy s / lifetime s
        life_s = dev.lifetime_years * 8760 * 3600
        assert math.isclose(r["embodied_g"], dev.embodied_kgco2e * 1e3 * r["busy_s"] / life_s, rel_tol=1e-12)
        if r["status"] == "ok":  # roofline: FLOPs / peak or bytes / bandwidth, whichever is longer
            bound = max(r["train_flops"] / dev.peak("fp32"), r["train_bytes"] / dev.memory_bandwidth_bytes_per_s)
            assert math.isclose(r["compute_s"], bound, rel_tol=1e-12)
            assert math.isclose(r["upload_s"], r["bytes_up"] * 8 / (r["bandwidth_mbps"] * 1e6) + r["rtt_ms"] / 1e3,
                                rel_tol=1e-12)


def test_models_learn(fl):
    res, _ = fl
    h = res.history["fedavg"]
    # mlp-small from 10 % (chance) to well above it after 2 rounds of 1 epoch on 4 IID clients
    assert h[0]["accuracy"] < 0.2 and h[-1]["accuracy"] > 0.35


def test_carbon_aware_selection_takes_the_cleanest_grids(fl):
    res, _ = fl
    chosen = res.summary["experiments"]["topk-carbon"]["selected"]
    # clients 0 and 3 are on the French grid (countries FRA, DEU, POL, FRA in turn), the cleanest of the three
    assert chosen["1"] == [0, 3] and chosen["2"] == [0, 3]


def test_store_rows(fl):
    res, store = fl
    stored = store.read()
    assert stored.height == res.ledger.height == res.rows.height
    ok = stored.filter(pl.col("energy_method") != "none")
    assert set(ok["energy_scope"].unique().to_list()) == {"run"}
    assert set(stored["strategy"].unique().to_list()) == {
        "fl-fedavg-iid", "fl-fedprox-dirichlet0.5", "fl-fedadam-iid-int8", "fl-fedavg-iid-int8+deflate",
        "fl-fedavg-iid-topk-carbon-aware"}


def test_a_carbon_series_prices_each_round_at_its_hour(fl):
    res, _ = fl
    series = pl.read_csv(SIGNAL)["Carbon Intensity"].to_list()  # 15-min slots from 2020-06-01 00:00
    c = _clients(res.ledger, "signal-deu")
    deu = c.filter(pl.col("country") == "DEU").sort("round")
    # round r starts at 00:00 + (r - 1) h: slot 0 for round 1, slot 4 for round 2
    assert deu["carbon_intensity_g_per_kwh"].to_list() == [series[0], series[4]]
    assert deu["intensity_source"].str.contains("2020-06-01T01:00:00Z").to_list() == [False, True]
    fra = c.filter(pl.col("country") == "FRA")
    assert set(fra["carbon_intensity_g_per_kwh"].to_list()) == {grid.carbon_intensity_g_per_kwh("FRA")}
    for r in deu.iter_rows(named=True):
        assert math.isclose(r["network_g"], r["network_energy_j"] / 3.6e6 * r["carbon_intensity_g_per_kwh"],
                            rel_tol=1e-12)
