"""The notebook's tables add up to the ledger."""

import math

import polars as pl

from tests.federated.conftest import CLIENTS, ROUNDS
from workbench.federated import tables


def test_accuracy_vs_carbon_accumulates_the_ledger(fl):
    res, _ = fl
    t = tables.accuracy_vs_carbon(res, {"epochs": 2, "accuracy": 0.9, "total_g": 1.0})
    avg = t.filter(pl.col("experiment") == "fedavg").sort("round")
    assert avg["round"].to_list() == list(range(ROUNDS + 1))
    assert avg["cumulative_g"].is_sorted()
    last = math.fsum(res.ledger.filter(pl.col("experiment") == "fedavg")["total_g"].to_list())
    assert math.isclose(avg["cumulative_g"][-1], last, rel_tol=1e-12)
    assert t.filter(pl.col("experiment") == "centralised").rows() == [("centralised", "centralised", 2, 0.9, 1.0)]


def test_bytes_and_carbon_per_client_add_up(fl):
    res, _ = fl
    led = res.ledger.filter(pl.col("role") == "client")
    b = tables.bytes_per_round(res.ledger)
    assert b["bytes_up"].sum() == led["bytes_up"].sum() and b["bytes_down"].sum() == led["bytes_down"].sum()
    per = tables.carbon_per_client(res.ledger, "fedavg")
    assert per.height == CLIENTS and per.filter(pl.col("client") == 1)["rounds_trained"].item() == ROUNDS - 1
    assert math.isclose(per["total_g"].sum(), led.filter(pl.col("experiment") == "fedavg")["total_g"].sum(),
                        rel_tol=1e-12)
