"""The Flower ClientApp: local training of a digits model on one client's partition, with the Message API.

Each virtual client (a Flower SuperNode in the simulation) holds one partition of the digits training
split, chosen by its ``partition-id`` (``Context.node_config``). A ``train`` message carries the global
model (``"arrays"``, an ArrayRecord) and a ``"config"`` ConfigRecord (experiment, round, epochs, learning
rate, FedProx's ``proximal-mu``, compression); the reply carries the local model and a MetricRecord with
``num-examples`` and what was measured here: wall time and thread CPU time of local training [s].

The app object is shipped to Ray's actors with its :class:`ClientPlan` (partition indices, failures to
inject), so keep the plan small: the digits data are loaded in each actor from scikit-learn's bundled
copy (no download) and cached there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from workbench.federated.compression import compression_mod
from workbench.strategies.data import Split, build_model, cross_entropy_loss, fit, load_digits_splits


@dataclass(frozen=True)
class ClientPlan:
    """What every virtual client needs: per experiment, the model name and each client's sample indices.

    Attributes
    ----------
    experiments : dict
        Experiment id → ``{"model": str, "parts": list of int arrays (one per client), "fail": set of
        (client, round)}``.
    split_seed : int
        Seed of :func:`~workbench.strategies.data.load_digits_splits` (the training split partitioned).
    """

    experiments: dict = field(default_factory=dict)
    split_seed: int = 0


@lru_cache(maxsize=2)
def _train_split(seed: int) -> Split:
    return load_digits_splits(seed=seed).train


@lru_cache(maxsize=1)
def _warm_up() -> bool:
    """One training step of a small model, once per actor process: torch's first call (lazy initialisation,
    allocator) would otherwise land in the first measured round."""
    model = build_model("mlp-small")
    x = torch.zeros(4, 1, 8, 8)
    fit(model, Split(x, torch.zeros(4, dtype=torch.int64)), epochs=1, batch_size=4)
    return True


def _proximal_loss(global_params: list[torch.Tensor], mu: float):
    """Cross-entropy + ``mu / 2 · ‖w − w_global‖²`` (FedProx, Li et al., MLSys 2020, eq. 2)."""
    def loss(model, xb, yb, idx):
        base = cross_entropy_loss(model, xb, yb, idx)
        prox = sum(((p - g) ** 2).sum() for p, g in zip(model.parameters(), global_params, strict=True))
        return base + mu / 2 * prox
    return loss


def local_train(plan: ClientPlan, pid: int, msg: Message) -> Message:
    """Train the global model of ``msg`` on client ``pid``'s partition; the reply with its measurements.

    Raises
    ------
    RuntimeError
        Where the plan injects a failure for this client and round (Flower turns it into an error reply).
    """
    cfg = msg.content["config"]
    exp = plan.experiments[str(cfg["experiment"])]
    rnd = int(cfg["server-round"])
    if (pid, rnd) in exp["fail"]:
        raise RuntimeError(f"injected failure: client {pid} in round {rnd}")
    train = _train_split(plan.split_seed)
    idx = torch.from_numpy(np.asarray(exp["parts"][pid], dtype=np.int64))
    data = Split(train.x[idx], train.y[idx])
    model = build_model(exp["model"])
    model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
    _warm_up()
    mu = float(cfg.get("proximal-mu", 0.0))
    loss_fn = _proximal_loss([p.detach().clone() for p in model.parameters()], mu) if mu > 0 else cross_entropy_loss
    t0, c0 = time.perf_counter(), time.thread_time()
    fit(model, data, loss_fn=loss_fn, epochs=int(cfg["local-epochs"]), lr=float(cfg["lr"]),
        batch_size=int(cfg["batch-size"]), seed=int(cfg["seed"]) + 1000 * rnd + pid)
    wall_s, cpu_s = time.perf_counter() - t0, time.thread_time() - c0
    with torch.inference_mode():
        train_loss = float(torch.nn.functional.cross_entropy(model(data.x), data.y))
    metrics = MetricRecord({"num-examples": len(data), "partition-id": pid, "train-time-s": wall_s,
                            "train-cpu-s": cpu_s, "train-loss": train_loss})
    return Message(RecordDict({"arrays": ArrayRecord(model.state_dict()), "metrics": metrics}), reply_to=msg)


def build_client_app(plan: ClientPlan) -> ClientApp:
    """A Flower ClientApp with ``train`` (wrapped by :func:`~.compression.compression_mod`) and ``query``.

    Parameters
    ----------
    plan : ClientPlan
        Partitions and injected failures of every experiment the simulation runs.

    Returns
    -------
    flwr.clientapp.ClientApp
        ``query`` answers the client's ``partition-id`` (the server maps Flower's node ids to clients).
    """
    app = ClientApp(mods=[compression_mod])

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        return local_train(plan, int(context.node_config["partition-id"]), msg)

    @app.query()
    def query(msg: Message, context: Context) -> Message:
        pid = int(context.node_config["partition-id"])
        return Message(RecordDict({"metrics": MetricRecord({"partition-id": pid})}), reply_to=msg)

    return app


__all__ = ["ClientPlan", "build_client_app", "local_train"]
