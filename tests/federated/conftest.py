"""One Flower simulation shared by the federated tests (Ray's start-up costs 15-40 s on 2 cores).

Five experiments run in that one simulation (:func:`workbench.federated.run_many`), 4 clients, 2 rounds:
FedAvg IID with an injected client failure, FedProx non-IID, FedAdam with int8 updates, FedAvg with the German
clients on an hourly carbon-intensity series, FedAvg with top-k updates and carbon-aware selection of half
the clients. ``FLWR_HOME`` points at a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.lca.conftest import lca_dir  # noqa: F401 - a fixture, used by name

CLIENTS, ROUNDS = 4, 2
SIGNAL = Path(__file__).parent / "data" / "deu_ci_2020-06-01.csv"
"""Six hours of the Vessim German 2020 series (``ger_ci_2020.csv``, 15-min slots), cut by ``data/make_signal.py``."""
BASE = {"seed": 0, "model": {"name": "mlp-small"},
        "training": {"rounds": ROUNDS, "local_epochs": 1, "lr": 0.01, "batch_size": 32},
        "clients": {"count": CLIENTS, "devices": ["pixel-4", "raspberry-pi-4b", "jetson-nano"],
                    "countries": ["FRA", "DEU", "POL"], "networks": ["wifi", "4g"]},
        "measure": {"meter": "codecarbon", "calibration_s": 0.3},
        "simulation": {"num_cpus": 2, "client_num_cpus": 1.0}}


def _with(**tables):
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for table, keys in tables.items():
        out[table] = {**out.get(table, {}), **keys}
    return out


EXPERIMENTS = {
    "fedavg": _with(clients={"fail": [[1, 2]]}),
    "fedprox-noniid": _with(training={"strategy": "fedprox", "proximal_mu": 0.1},
                            data={"partition": "dirichlet", "alpha": 0.5}),
    "fedadam-int8": _with(training={"strategy": "fedadam", "server_lr": 0.01}, compression={"method": "int8"}),
    "signal-deu": _with(carbon={"signals": {"DEU": str(SIGNAL)}, "start": "2020-06-01T00:00",
                                "round_interval_s": 3600.0, "fill_gaps_s": 900.0}),
    "topk-carbon": _with(training={"fraction": 0.5}, compression={"method": "topk", "topk_fraction": 0.05},
                         selection={"policy": "carbon-aware", "min_participation": 0.0}),
}


@pytest.fixture(scope="session")
def fl(tmp_path_factory):
    """The shared run: ``(FederatedResult, Store)``."""
    from workbench.federated import run_many
    from workbench.store import Store

    old = os.environ.get("FLWR_HOME")
    os.environ["FLWR_HOME"] = str(tmp_path_factory.mktemp("flwr-home"))
    try:
        store = Store(tmp_path_factory.mktemp("fl-store") / "runs")
        res = run_many(EXPERIMENTS, store=store)
    finally:
        if old is None:
            os.environ.pop("FLWR_HOME", None)
        else:
            os.environ["FLWR_HOME"] = old
    return res, store
