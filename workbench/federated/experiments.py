"""Experiments the workbench answers about federated learning: centralised baseline, IID vs non-IID,
compressed updates, carbon-aware selection; all FL variants in one Flower simulation (:func:`run_many`).

The centralised baseline uploads every client's raw training data once over the client's own network
(the bytes of an ArrayRecord of its uint8 8×8 images and labels, what a device would send), then trains
the same model on the whole training split here, on one thread, for as many epochs as a client trains in
the FL run (rounds × local epochs), timed and priced like the server: energy = calibrated J per CPU-second
× CPU time (:mod:`.local_power`), × PUE × the server's grid, plus the server device's embodied share.
"""

from __future__ import annotations

import math
import time

import numpy as np
import polars as pl
import torch
from flwr.app import Array, ArrayRecord

from workbench.catalog import grid, network
from workbench.catalog.devices import get_device
from workbench.federated.config import FederatedConfig, parse_config
from workbench.federated.ledger import round_times
from workbench.federated.local_power import LocalPower
from workbench.federated.partition import partition
from workbench.federated.runner import run_many
from workbench.measure.timing import num_threads
from workbench.placement.traces import RADIO_POWER_W, link_profiles
from workbench.strategies.data import accuracy, build_model, cross_entropy_loss, fit, load_digits_splits
from workbench.units import J_PER_KWH


def raw_upload_bytes(cfg: FederatedConfig) -> list[int]:
    """Bytes each client sends to upload its raw training data once (uint8 pixels and labels) [B]."""
    train = load_digits_splits().train
    x = np.rint(train.x.numpy() * 16).astype(np.uint8)
    y = train.y.numpy().astype(np.uint8)
    parts = partition(y, cfg.clients, cfg.partition, alpha=cfg.alpha, seed=cfg.seed)
    return [ArrayRecord({"x": Array(np.ascontiguousarray(x[p])), "y": Array(np.ascontiguousarray(y[p]))})
            .count_bytes() for p in parts]


def _train_to(cfg: FederatedConfig, epochs: int, lr: float, target: float | None) -> tuple:
    """Train as :func:`~workbench.strategies.data.fit` does (one Adam, one seeded batch order) for at most
    ``epochs`` epochs, evaluating after each when ``target`` is given and stopping at the first epoch whose
    test accuracy reaches it. Returns ``(accuracy, epochs run, CPU s, wall s)``; evaluations count in both."""
    splits = load_digits_splits()
    model = build_model(cfg.model, seed=cfg.seed)
    if target is None:  # exactly fit()
        c0, t0 = time.thread_time(), time.perf_counter()
        fit(model, splits.train, epochs=epochs, lr=lr, batch_size=cfg.batch_size, seed=cfg.seed)
        cpu_s, wall_s = time.thread_time() - c0, time.perf_counter() - t0
        return accuracy(model, splits.test), epochs, cpu_s, wall_s
    train, gen = splits.train, torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    c0, t0 = time.thread_time(), time.perf_counter()
    acc, done = 0.0, 0
    with num_threads(1):
        while done < epochs:
            model.train()
            perm = torch.randperm(len(train), generator=gen)
            for i in range(0, len(train), cfg.batch_size):
                idx = perm[i:i + cfg.batch_size]
                loss = cross_entropy_loss(model, train.x[idx], train.y[idx], idx)
                opt.zero_grad()
                loss.backward()
                opt.step()
            done += 1
            acc = accuracy(model.eval(), splits.test)
            if acc >= target:
                break
    return acc, done, time.thread_time() - c0, time.perf_counter() - t0


def centralised(config, power: LocalPower, *, epochs: int | None = None, lr: float = 1e-3,
                target_accuracy: float | None = None) -> dict:
    """The centralised baseline of a configuration (see the module docstring).

    Parameters
    ----------
    config : dict or FederatedConfig
    power : LocalPower
        The calibration of training energy here (a federated run's ``power``).
    epochs : int, optional
        Training epochs (default: rounds × local epochs); with ``target_accuracy``, the most it may take.
    lr : float
        Adam learning rate (the default of :func:`workbench.strategies.data.fit`).
    target_accuracy : float, optional
        Stop at the first epoch whose test accuracy reaches this [1] (e.g. the FL run's final accuracy):
        the baseline *to the same target*. Its evaluations after each epoch are priced too.

    Returns
    -------
    dict
        ``accuracy`` [1], ``epochs`` (run), ``reached`` (target reached, or None without one),
        ``train_cpu_s`` [s], ``upload_bytes`` [B], and ``operational_g``, ``network_g``, ``embodied_g``,
        ``total_g`` [g CO2e].
    """
    cfg = parse_config(config)
    epochs = int(epochs or cfg.rounds * cfg.local_epochs)
    acc, epochs, cpu_s, wall_s = _train_to(cfg, epochs, lr, target_accuracy)
    links = link_profiles(cfg.data_dir or None)
    op_g = net_g = emb_g = 0.0
    sizes = raw_upload_bytes(cfg)
    for client, nbytes in enumerate(sizes):
        prof = cfg.client_profile(client)
        tech, ci = prof["network"].split("-")[0], grid.carbon_intensity_g_per_kwh(prof["country"])
        link = links[prof["network"]]
        up_s = nbytes * 8 / (link.bandwidth_mbps * 1e6) + link.rtt_ms / 1e3
        op_g += RADIO_POWER_W[tech] * up_s / J_PER_KWH * ci
        net_g += nbytes / 1e9 * network.energy_kwh_per_gb(tech) * ci
        emb_g += get_device(prof["device"]).embodied_share_kgco2e(up_s) * 1e3
    server = get_device(cfg.server_device)
    ci_s = grid.carbon_intensity_g_per_kwh(cfg.server_country)
    op_g += (power.energy_j_of(cpu_s) or 0.0) * cfg.server_pue / J_PER_KWH * ci_s
    emb_g += server.embodied_share_kgco2e(wall_s) * 1e3
    return {"accuracy": acc, "epochs": epochs, "reached": None if target_accuracy is None else acc >= target_accuracy,
            "train_cpu_s": cpu_s, "upload_bytes": int(sum(sizes)),
            "operational_g": op_g, "network_g": net_g, "embodied_g": emb_g, "total_g": op_g + net_g + emb_g}


DEVICES = ("pixel-4", "raspberry-pi-4b", "jetson-nano", "pixel-3-xl")
COUNTRIES = ("FRA", "SWE", "DEU", "POL", "USA", "IND")
NETWORKS = ("wifi", "4g")
"""The benchmark's client mix, assigned in turn: phones, Raspberry Pis and Jetsons on grids from clean to
coal-heavy, on Wi-Fi and 4G."""


def base_config(*, clients: int = 20, rounds: int = 30, local_epochs: int = 2, model: str = "mlp", seed: int = 0,
                calibration_s: float = 1.0) -> dict:
    """The base configuration of the benchmark and notebook 07 (dict of TOML tables; :func:`variants` varies it)."""
    return {"seed": seed, "model": {"name": model},
            "training": {"rounds": rounds, "local_epochs": local_epochs, "lr": 0.01, "batch_size": 32},
            "clients": {"count": clients, "devices": list(DEVICES), "countries": list(COUNTRIES),
                        "networks": list(NETWORKS)},
            "measure": {"meter": "codecarbon", "calibration_s": calibration_s}}


def variants(base: dict) -> dict[str, dict]:
    """The FL variants of the benchmark, from one base configuration (dict of TOML tables)."""
    def w(**tables):
        out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
        for t, keys in tables.items():
            out[t] = {**out.get(t, {}), **keys}
        return out
    return {
        "iid": w(),
        "noniid": w(data={"partition": "dirichlet", "alpha": 0.5}),
        "int8": w(compression={"method": "int8"}),
        "int8-deflate": w(compression={"method": "int8+deflate"}),
        "topk": w(compression={"method": "topk", "topk_fraction": 0.2}),
        "random-half": w(training={"fraction": 0.5}),
        "carbon-half": w(training={"fraction": 0.5}, selection={"policy": "carbon-aware", "min_participation": 0.3}),
    }


def _uplink(ledger: pl.DataFrame, exp: str) -> float:
    ok = ledger.filter((pl.col("experiment") == exp) & (pl.col("role") == "client") & (pl.col("status") == "ok"))
    return float(ok["bytes_up"].mean())


def _use_g(summary: dict, exp: str) -> float:
    e = summary["experiments"][exp]
    return e["operational_g"] + e["network_g"]


def _to_target(fl_total_g: float, tt: dict | None) -> dict:
    if tt is None:
        return {}
    return {"centralised_to_target_epochs": tt["epochs"], "centralised_to_target_reached": tt["reached"],
            "centralised_to_target_accuracy": tt["accuracy"], "centralised_to_target_total_g": tt["total_g"],
            "fl_vs_centralised_to_target_carbon_ratio": fl_total_g / tt["total_g"]}


def _stragglers(ledger: pl.DataFrame, exp: str) -> dict:
    rt = round_times(ledger).filter(pl.col("experiment") == exp)
    worst = rt.sort("round_time_s", descending=True).row(0, named=True) if rt.height else {}
    return {"round_wall_s_projected_median": float(rt["round_time_s"].median()) if rt.height else math.nan,
            "round_wall_s_projected_max": float(rt["round_time_s"].max()) if rt.height else math.nan,
            "round_straggler_device": worst.get("straggler_device"),
            "round_straggler_network": worst.get("straggler_network")}


def run_variants(base: dict, *, store=None, target_max_epochs: int | None = None):
    """Run :func:`variants` in one Flower simulation and the centralised baseline, twice: for as many epochs as
    a client trains (rounds × local epochs) and to the IID FL run's final accuracy.

    Parameters
    ----------
    target_max_epochs : int, optional
        Most epochs of the baseline to the target (default: 4 × rounds × local epochs).

    Returns
    -------
    (FederatedResult, dict)
        The federated run (its ``summary["wall_s"]`` covers the simulation) and :func:`centralised`'s figures,
        with the baseline to the target under ``"to_target"``.
    """
    res = run_many(variants(base), store=store)
    cfg = res.configs["iid"]
    cen = centralised(cfg, res.power)
    cen["to_target"] = centralised(cfg, res.power, target_accuracy=res.summary["experiments"]["iid"]["final_accuracy"],
                                   epochs=target_max_epochs or 4 * cfg.rounds * cfg.local_epochs)
    return res, cen


def headline(res, cen: dict) -> dict:
    """The benchmark's figures from :func:`run_variants`' results.

    Returns
    -------
    dict
        ``clients``, ``rounds``, ``fl_accuracy``, ``centralised_accuracy``, ``accuracy_gap_pt`` (IID, points),
        ``noniid_accuracy_gap_pt``, ``uplink_bytes_ratio_int8``/``_topk`` (fp32 ÷ compressed mean uplink bytes)
        with their accuracy losses [points], ``carbon_aware_reduction`` (1 − carbon-aware ÷ random use-phase
        carbon, operational + network, at equal rounds and clients per round), ``carbon_aware_accuracy_loss_pt``,
        ``fl_vs_centralised_carbon_ratio`` (total g CO2e), the centralised baseline trained to FL's accuracy
        (``centralised_to_target_epochs``, ``_reached``, ``_total_g``, ``fl_vs_centralised_to_target_carbon_ratio``),
        ``uplink_bytes_ratio_int8_deflate`` and its accuracy loss, the IID run's straggler-bound round time
        projected on the clients' devices and links (``round_wall_s_projected_median``/``_max`` [s], and the
        slowest round's device and network), ``ray_startup_s``, ``simulated_client_rounds_per_s``
        (client-rounds ÷ simulation time after start-up), ``energy_method``.
    """
    cfg = res.configs["iid"]
    s = res.summary
    acc = {e: v["final_accuracy"] for e, v in s["experiments"].items()}
    pt = 100.0
    busy = s["wall_s"] - (s["startup_s"] or 0.0)
    return {
        "clients": cfg.clients, "rounds": cfg.rounds, "local_epochs": cfg.local_epochs, "model": cfg.model,
        "fl_accuracy": acc["iid"], "centralised_accuracy": cen["accuracy"],
        "accuracy_gap_pt": (cen["accuracy"] - acc["iid"]) * pt,
        "noniid_accuracy": acc["noniid"], "noniid_accuracy_gap_pt": (cen["accuracy"] - acc["noniid"]) * pt,
        "uplink_bytes_ratio_int8": _uplink(res.ledger, "iid") / _uplink(res.ledger, "int8"),
        "int8_accuracy_loss_pt": (acc["iid"] - acc["int8"]) * pt,
        "uplink_bytes_ratio_int8_deflate": _uplink(res.ledger, "iid") / _uplink(res.ledger, "int8-deflate"),
        "int8_deflate_accuracy_loss_pt": (acc["iid"] - acc["int8-deflate"]) * pt,
        "uplink_bytes_ratio_topk": _uplink(res.ledger, "iid") / _uplink(res.ledger, "topk"),
        "topk_accuracy_loss_pt": (acc["iid"] - acc["topk"]) * pt,
        "carbon_aware_reduction": 1.0 - _use_g(s, "carbon-half") / _use_g(s, "random-half"),
        "carbon_aware_accuracy_loss_pt": (acc["random-half"] - acc["carbon-half"]) * pt,
        "fl_total_g": s["experiments"]["iid"]["total_g"], "centralised_total_g": cen["total_g"],
        "fl_vs_centralised_carbon_ratio": s["experiments"]["iid"]["total_g"] / cen["total_g"],
        **_to_target(s["experiments"]["iid"]["total_g"], cen.get("to_target")),
        **_stragglers(res.ledger, "iid"),
        "failed_client_rounds": sum(v["failed_client_rounds"] for v in s["experiments"].values()),
        "client_rounds": s["client_rounds"], "ray_startup_s": s["startup_s"], "calibration_s": s["calibration_s"],
        "simulation_s": s["wall_s"], "simulated_client_rounds_per_s": s["client_rounds"] / busy if busy > 0 else math.nan,
        "energy_method": s["energy_method"],
    }


def compare(base: dict, *, store=None) -> dict:
    """:func:`headline` of :func:`run_variants`, with the whole wall time ``wall_s`` [s] (simulation, calibration,
    centralised baseline)."""
    t0 = time.perf_counter()
    out = headline(*run_variants(base, store=store))
    return {**out, "wall_s": time.perf_counter() - t0}


__all__ = ["COUNTRIES", "DEVICES", "NETWORKS", "base_config", "centralised", "compare", "headline", "raw_upload_bytes",
           "run_variants", "variants"]
