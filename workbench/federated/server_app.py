"""The Flower ServerApp: Flower's FedAvg, FedProx and FedAdam, recording every message for the ledger.

The strategies are Flower's (``flwr.serverapp.strategy``); :class:`Recording` is a mixin that wraps
their ``configure_train`` and ``aggregate_train`` without changing what they compute:

- ``configure_train``: Flower builds the round's messages; the mixin re-addresses them to the clients
  the selection policy picks (:mod:`.selection`; as many as Flower sampled), counts each message's bytes
  (``sum(record.count_bytes())`` over its content, as Flower's ``message_size_mod`` does) and keeps
  the global arrays.
- ``aggregate_train``: the mixin records, per reply, the bytes that came back, the client's
  measurements or its error (a client that raised: Flower's error reply; the round goes on without it),
  decodes compressed updates (:func:`~.compression.decode_reply`) and times Flower's aggregation.

One ServerApp runs several *experiments* (one ``strategy.start`` each) in one simulation, so that Ray
starts once for all of them; a query round first maps Flower's node ids to the clients' partitions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAdam, FedAvg, FedProx

from workbench.federated.compression import decode_reply
from workbench.federated.config import FederatedConfig
from workbench.federated.selection import Selector
from workbench.strategies.data import accuracy, build_model, load_digits_splits

NODE_WAIT_S = 120.0
"""Longest wait for every virtual client to register before the query round [s]."""


def content_bytes(msg: Message) -> int:
    """Bytes of a message's content: ``count_bytes()`` summed over its records (Flower's ``message_size_mod``)."""
    return int(sum(record.count_bytes() for record in msg.content.values()))


def failure_reason(reason: str) -> str:
    """The client's own message out of Flower's error reason (which wraps Ray's traceback), at most 300 chars."""
    text = reason.rsplit("Message: ", 1)[-1].strip()
    return text.splitlines()[0][:300] if text else reason[-300:]


class Recording:
    """Mixin over a Flower strategy: re-address messages by policy, record bytes, measurements and failures."""

    def attach(self, exp: str, pid_of: dict[int, int], selector: Selector, sink: list) -> None:
        """Set the experiment id, node → client map, selection policy and the list records go to."""
        self._exp, self._pid_of, self._selector, self._sink = exp, pid_of, selector, sink
        self._global: ArrayRecord | None = None
        self._down: dict[int, int] = {}

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid):
        """Flower's messages, re-addressed to the clients the policy picks; bytes down recorded."""
        msgs = list(super().configure_train(server_round, arrays, config, grid))
        if msgs:
            node_of = {p: n for n, p in self._pid_of.items()}
            chosen = self._selector.select(server_round, len(msgs))
            content = msgs[0].content
            msgs = [Message(content=content, message_type=MessageType.TRAIN, dst_node_id=node_of[p]) for p in chosen]
        self._global = arrays
        self._down = {m.metadata.dst_node_id: content_bytes(m) for m in msgs}
        return msgs

    def aggregate_train(self, server_round: int, replies):
        """Record every reply (bytes up, measurements or error), decode updates, time Flower's aggregation."""
        replies = list(replies)
        for r in replies:
            node = r.metadata.src_node_id
            rec = {"experiment": self._exp, "round": server_round, "client": self._pid_of[node],
                   "bytes_down": self._down.get(node, 0)}
            if r.has_error():
                rec.update(status="failed", bytes_up=0, error=failure_reason(str(r.error.reason)))
            else:
                m = r.content["metrics"]
                rec.update(status="ok", bytes_up=content_bytes(r), error=None, num_examples=int(m["num-examples"]),
                           train_time_s=float(m["train-time-s"]), train_cpu_s=float(m["train-cpu-s"]),
                           train_loss=float(m["train-loss"]))
            self._sink.append(rec)
        answered = {r.metadata.src_node_id for r in replies}
        for node in set(self._down) - answered:  # no reply at all (timeout): the ledger says so
            self._sink.append({"experiment": self._exp, "round": server_round, "client": self._pid_of[node],
                               "bytes_down": self._down[node], "bytes_up": 0, "status": "no-reply", "error": None})
        self._selector.record([self._pid_of[r.metadata.src_node_id] for r in replies if not r.has_error()])
        t0, c0 = time.perf_counter(), time.thread_time()
        for r in replies:
            decode_reply(r, self._global)
        out = super().aggregate_train(server_round, replies)
        self._sink.append({"experiment": self._exp, "round": server_round, "client": -1, "status": "server",
                           "phase": "aggregate", "server_time_s": time.perf_counter() - t0,
                           "server_cpu_s": time.thread_time() - c0})
        return out


class RecordingFedAvg(Recording, FedAvg):
    """Flower's FedAvg (McMahan et al., AISTATS 2017), recorded."""


class RecordingFedProx(Recording, FedProx):
    """Flower's FedProx (Li et al., MLSys 2020), recorded."""


class RecordingFedAdam(Recording, FedAdam):
    """Flower's FedAdam (Reddi et al., ICLR 2021), recorded."""


def make_strategy(cfg: FederatedConfig):
    """The recorded Flower strategy of ``cfg`` (no client-side evaluation; the server evaluates centrally)."""
    common = {"fraction_train": cfg.fraction, "fraction_evaluate": 0.0, "min_train_nodes": 1,
              "min_evaluate_nodes": 0, "min_available_nodes": cfg.clients}
    if cfg.strategy == "fedprox":
        return RecordingFedProx(**common, proximal_mu=cfg.proximal_mu)
    if cfg.strategy == "fedadam":
        return RecordingFedAdam(**common, eta=cfg.server_lr, eta_l=cfg.lr)
    return RecordingFedAvg(**common)


@dataclass
class ServerPlan:
    """The experiments one ServerApp runs, and what it records.

    Attributes
    ----------
    configs : dict
        Experiment id → :class:`FederatedConfig` (all with the same number of clients).
    records : list of dict
        Filled during the run: one per client reply (or failure) and one per server phase and round.
    history : dict
        Filled during the run: experiment id → list of ``{"round", "accuracy", "time_s"}`` (round 0: initial).
    startup_s : float or None
        Seconds from ``started_at`` (else the ServerApp's start) to the query round's replies (Ray's start,
        actors, first messages).
    started_at : float or None
        ``time.perf_counter()`` when the simulation was asked to start (set by the runner, before Ray starts).
    """

    configs: dict
    records: list = field(default_factory=list)
    history: dict = field(default_factory=dict)
    startup_s: float | None = None
    started_at: float | None = None
    results: dict = field(default_factory=dict)


def _node_partition_map(grid: Grid, n_clients: int) -> dict[int, int]:
    """Flower node id → partition id, from a query round (the simulation assigns node ids at random)."""
    deadline = time.perf_counter() + NODE_WAIT_S
    while len(nodes := list(grid.get_node_ids())) < n_clients and time.perf_counter() < deadline:
        time.sleep(0.05)
    msgs = [Message(RecordDict({"config": ConfigRecord({"compression": "none"})}), message_type=MessageType.QUERY,
                    dst_node_id=n) for n in nodes]
    replies = grid.send_and_receive(msgs, timeout=NODE_WAIT_S)
    out = {r.metadata.src_node_id: int(r.content["metrics"]["partition-id"]) for r in replies if not r.has_error()}
    if len(out) < n_clients:
        raise RuntimeError(f"only {len(out)} of {n_clients} virtual clients answered the query round within "
                           f"{NODE_WAIT_S:g} s; the simulation's backend did not start them (see Flower's log).")
    return out


def _train_config(exp: str, cfg: FederatedConfig) -> ConfigRecord:
    return ConfigRecord({"experiment": exp, "local-epochs": cfg.local_epochs, "lr": cfg.lr,
                         "batch-size": cfg.batch_size, "seed": cfg.seed, "compression": cfg.compression,
                         "topk-fraction": cfg.topk_fraction})


def run_experiment(plan: ServerPlan, exp: str, cfg: FederatedConfig, grid: Grid, pid_of: dict[int, int],
                   selector: Selector) -> None:
    """One experiment: Flower's ``strategy.start`` over ``cfg.rounds`` rounds, evaluated centrally each round."""
    test = load_digits_splits().test
    model = build_model(cfg.model, seed=cfg.seed)
    hist = plan.history.setdefault(exp, [])
    t_start = time.perf_counter()

    def evaluate(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        t0, c0 = time.perf_counter(), time.thread_time()
        model.load_state_dict(arrays.to_torch_state_dict())
        acc = accuracy(model, test)
        plan.records.append({"experiment": exp, "round": server_round, "client": -1, "status": "server",
                             "phase": "evaluate", "server_time_s": time.perf_counter() - t0,
                             "server_cpu_s": time.thread_time() - c0})
        hist.append({"round": server_round, "accuracy": acc, "time_s": time.perf_counter() - t_start})
        return MetricRecord({"accuracy": acc})

    strategy = make_strategy(cfg)
    strategy.attach(exp, pid_of, selector, plan.records)
    init = ArrayRecord(build_model(cfg.model, seed=cfg.seed).state_dict())
    plan.results[exp] = strategy.start(grid=grid, initial_arrays=init, num_rounds=cfg.rounds,
                                       train_config=_train_config(exp, cfg), evaluate_fn=evaluate)
    plan.results[exp] = {"final_arrays": plan.results[exp].arrays}


def build_server_app(plan: ServerPlan, selectors: dict[str, Selector]) -> ServerApp:
    """A Flower ServerApp that maps nodes to clients, then runs every experiment of ``plan`` in turn."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        t0 = time.perf_counter()
        n = next(iter(plan.configs.values())).clients
        pid_of = _node_partition_map(grid, n)
        plan.startup_s = time.perf_counter() - (t0 if plan.started_at is None else plan.started_at)
        for exp, cfg in plan.configs.items():
            sel = selectors[exp]
            sel.bind(sorted(pid_of.values()))
            run_experiment(plan, exp, cfg, grid, pid_of, sel)

    return app


def final_weights(plan: ServerPlan, exp: str) -> dict[str, np.ndarray]:
    """The final global model of experiment ``exp`` as named numpy arrays."""
    rec = plan.results[exp]["final_arrays"]
    return {k: a.numpy() for k, a in rec.items()}


__all__ = ["Recording", "RecordingFedAdam", "RecordingFedAvg", "RecordingFedProx", "ServerPlan", "build_server_app",
           "content_bytes", "failure_reason", "final_weights", "make_strategy", "run_experiment"]
