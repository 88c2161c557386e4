"""One Flower simulation shared by the federated tests, run the way a user runs it: ``workbench federate``.

``data/shared.toml`` holds six experiments (``[experiments.<id>]`` tables) that run in one simulation, 4
clients, 2 rounds, one Ray actor: FedAvg IID with an injected client failure, FedProx non-IID, FedAdam with
int8 updates, FedAvg with int8+deflate updates, FedAvg with the German clients on an hourly
carbon-intensity series, FedAvg with top-k updates and carbon-aware selection of half the clients. The
session fixture calls ``workbench.cli.main(["federate", shared.toml, "--store", DIR, "--format", "json"])``
in this process (Ray starts once for the CLI's test and every other) and keeps what ``run_many`` returned.
``FLWR_HOME`` points at a temporary folder.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from workbench.federated.config_file import load_experiments

DATA = Path(__file__).parent / "data"
SHARED = DATA / "shared.toml"
SIGNAL = DATA / "deu_ci_2020-06-01.csv"
"""Six hours of the Vessim German 2020 series (``ger_ci_2020.csv``, 15-min slots), cut by ``data/make_signal.py``."""
EXPERIMENTS = load_experiments(SHARED)
"""Experiment id → validated configuration of the shared run."""
CLIENTS, ROUNDS = EXPERIMENTS["fedavg"].clients, EXPERIMENTS["fedavg"].rounds


@pytest.fixture(scope="session")
def fl_cli(tmp_path_factory):
    """The shared run through the CLI: ``{"rc", "stdout", "stderr", "store", "result"}``.

    ``result`` is the :class:`~workbench.federated.FederatedResult` the command's ``run_many`` returned
    (recorded by a wrapper around it: the command itself runs unchanged).
    """
    import workbench.federated as federated
    from workbench.cli import main
    from workbench.store import Store

    seen = []
    real = federated.run_many

    def recording(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    store_dir = tmp_path_factory.mktemp("fl-store") / "runs"
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLWR_HOME", str(tmp_path_factory.mktemp("flwr-home")))
        mp.setattr(federated, "run_many", recording)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(["federate", str(SHARED), "--store", str(store_dir), "--format", "json"])
    assert rc == 0 and len(seen) == 1, err.getvalue()[-2000:]
    return {"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue(), "store": Store(store_dir),
            "result": seen[0]}


@pytest.fixture(scope="session")
def fl(fl_cli):
    """The shared run: ``(FederatedResult, Store)``."""
    return fl_cli["result"], fl_cli["store"]


__all__ = ["CLIENTS", "EXPERIMENTS", "ROUNDS", "SHARED", "SIGNAL", "fl", "fl_cli"]
