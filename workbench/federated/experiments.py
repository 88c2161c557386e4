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
from flwr.app import Array, ArrayRecord

from workbench.catalog import grid, network
from workbench.catalog.devices import get_device
from workbench.federated.config import FederatedConfig, parse_config
from workbench.federated.local_power import LocalPower
from workbench.federated.partition import partition
from workbench.federated.runner import run_many
from workbench.placement.traces import RADIO_POWER_W, link_profiles
from workbench.strategies.data import accuracy, build_model, fit, load_digits_splits
from workbench.units import J_PER_KWH


def raw_upload_bytes(cfg: FederatedConfig) -> list[int]:
    """Bytes each client sends to upload its raw training data once (uint8 pixels and labels) [B]."""
    train = load_digits_splits().train
    x = np.rint(train.x.numpy() * 16).astype(np.uint8)
    y = train.y.numpy().astype(np.uint8)
    parts = partition(y, cfg.clients, cfg.partition, alpha=cfg.alpha, seed=cfg.seed)
    return [ArrayRecord({"x": Array(np.ascontiguousarray(x[p])), "y": Array(np.ascontiguousarray(y[p]))})
            .count_bytes() for p in parts]


def centralised(config, power: LocalPower, *, epochs: int | None = None, lr: float = 1e-3) -> dict:
    """The centralised baseline of a configuration (see the module docstring).

    Parameters
    ----------
    config : dict or FederatedConfig
    power : LocalPower
        The calibration of training energy here (a federated run's ``power``).
    epochs : int, optional
        Training epochs (default: rounds × local epochs).
    lr : float
        Adam learning rate (the default of :func:`workbench.strategies.data.fit`).

    Returns
    -------
    dict
        ``accuracy`` [1], ``epochs``, ``train_cpu_s`` [s], ``upload_bytes`` [B], and ``operational_g``,
        ``network_g``, ``embodied_g``, ``total_g`` [g CO2e].
    """
    cfg = parse_config(config)
    epochs = int(epochs or cfg.rounds * cfg.local_epochs)
    splits = load_digits_splits()
    model = build_model(cfg.model, seed=cfg.seed)
    c0, t0 = time.thread_time(), time.perf_counter()
    fit(model, splits.train, epochs=epochs, lr=lr, batch_size=cfg.batch_size, seed=cfg.seed)
    cpu_s, wall_s = time.thread_time() - c0, time.perf_counter() - t0
    acc = accuracy(model, splits.test)
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
    return {"accuracy": acc, "epochs": epochs, "train_cpu_s": cpu_s, "upload_bytes": int(sum(sizes)),
            "operational_g": op_g, "network_g": net_g, "embodied_g": emb_g, "total_g": op_g + net_g + emb_g}


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


def run_variants(base: dict, *, store=None):
    """Run :func:`variants` in one Flower simulation and the centralised baseline.

    Returns
    -------
    (FederatedResult, dict)
        The federated run (its ``summary["wall_s"]`` covers the simulation) and :func:`centralised`'s figures.
    """
    res = run_many(variants(base), store=store)
    return res, centralised(res.configs["iid"], res.power)


def headline(res, cen: dict) -> dict:
    """The benchmark's figures from :func:`run_variants`' results.

    Returns
    -------
    dict
        ``clients``, ``rounds``, ``fl_accuracy``, ``centralised_accuracy``, ``accuracy_gap_pt`` (IID, points),
        ``noniid_accuracy_gap_pt``, ``uplink_bytes_ratio_int8``/``_topk`` (fp32 ÷ compressed mean uplink bytes)
        with their accuracy losses [points], ``carbon_aware_reduction`` (1 − carbon-aware ÷ random use-phase
        carbon, operational + network, at equal rounds and clients per round), ``carbon_aware_accuracy_loss_pt``,
        ``fl_vs_centralised_carbon_ratio`` (total g CO2e), ``ray_startup_s``, ``simulated_client_rounds_per_s``
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
        "uplink_bytes_ratio_topk": _uplink(res.ledger, "iid") / _uplink(res.ledger, "topk"),
        "topk_accuracy_loss_pt": (acc["iid"] - acc["topk"]) * pt,
        "carbon_aware_reduction": 1.0 - _use_g(s, "carbon-half") / _use_g(s, "random-half"),
        "carbon_aware_accuracy_loss_pt": (acc["random-half"] - acc["carbon-half"]) * pt,
        "fl_total_g": s["experiments"]["iid"]["total_g"], "centralised_total_g": cen["total_g"],
        "fl_vs_centralised_carbon_ratio": s["experiments"]["iid"]["total_g"] / cen["total_g"],
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


__all__ = ["centralised", "compare", "headline", "raw_upload_bytes", "run_variants", "variants"]
