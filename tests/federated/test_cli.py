"""``workbench federate CONFIG.toml --store DIR --format json``: a successful run (the shared one, conftest.py)."""

import json
import math

import polars as pl

from tests.federated.conftest import CLIENTS, EXPERIMENTS, ROUNDS


def test_json_summary_is_the_only_output_and_names_every_experiment(fl_cli):
    lines = fl_cli["stdout"].strip().splitlines()
    assert fl_cli["rc"] == 0 and len(lines) == 1
    out = json.loads(lines[0])
    res = fl_cli["result"]
    assert out["run_id"] == res.summary["run_id"] and out["energy_method"] == "tdp-estimate"
    assert set(out["experiments"]) == set(EXPERIMENTS) == set(out["history"])
    assert out["client_rounds"] == res.ledger.filter(pl.col("role") == "client").height
    assert out["startup_s"] > 0 and out["wall_s"] > out["startup_s"]
    for exp, cfg in EXPERIMENTS.items():
        e = out["experiments"][exp]
        assert e["strategy"] == cfg.label() and e["clients"] == CLIENTS and e["rounds"] == ROUNDS
        assert [h["round"] for h in out["history"][exp]] == list(range(ROUNDS + 1))
        assert e["final_accuracy"] == out["history"][exp][-1]["accuracy"]
        # the carbon total is its parts (float sums in a different order: 1e-12 relative)
        assert math.isclose(e["total_g"], e["operational_g"] + e["network_g"] + e["embodied_g"], rel_tol=1e-12)
    assert out["experiments"]["fedavg"]["failed_client_rounds"] == 1


def test_store_holds_one_row_per_client_round_and_server_phase(fl_cli):
    stored = fl_cli["store"].read()
    out = json.loads(fl_cli["stdout"])
    assert set(stored["run_id"].unique().to_list()) == {out["run_id"]}
    for exp, cfg in EXPERIMENTS.items():
        rows = stored.filter(pl.col("config_json").str.contains(f'"experiment": "{exp}"', literal=True))
        per_round = math.ceil(cfg.fraction * CLIENTS)
        # clients × rounds, one aggregation per round, one evaluation per round and one of the initial model
        assert rows.height == per_round * ROUNDS + ROUNDS + (ROUNDS + 1), exp
        methods = rows["energy_method"].to_list()
        failed = out["experiments"][exp]["failed_client_rounds"]
        # honest: codecarbon's TDP estimate here, "none" only where a client raised (no energy measured)
        assert methods.count("none") == failed and set(methods) - {"none"} == {"tdp-estimate"}
