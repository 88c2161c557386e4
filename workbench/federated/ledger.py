"""The per-client resource and carbon ledger: one row per client × round, one per server phase × round.

From what the simulation recorded (:mod:`.server_app`: bytes of the real messages, measured training
times, failures) and the client's profile (catalog device, country grid, access network), each client
row holds (units in the names; how each number was obtained in :data:`HOW`):

- ``bytes_down``, ``bytes_up`` [B]: the serialized messages (``count_bytes()`` of their records);
- ``train_time_s``, ``train_cpu_s`` [s] and ``energy_here_j`` [J]: local training *measured here*
  (energy = calibrated J per CPU-second × CPU time, :mod:`.local_power`, method ``energy_here_method``);
- ``train_flops`` [FLOP] = 3 × forward FLOPs × samples × epochs (backward ≈ 2 × forward; Kaplan et al.,
  "Scaling Laws for Neural Language Models", 2020, section 2.1) and ``train_bytes`` [B] (weights read
  and written 3 × per step, activations 3 × per sample);
- ``compute_s``, ``compute_energy_j``: the same work *predicted* on the client's catalog device by the
  roofline, ``max(FLOPs / peak fp32, bytes / memory bandwidth) / roofline_efficiency`` (Williams et al.,
  CACM 2009; with efficiency 1 a lower bound, as :mod:`workbench.placement.zoo_costs` uses it), times the
  device's catalog maximum power;
- ``download_s``, ``upload_s`` [s]: bytes × 8 / link bandwidth + RTT (5Gophers traces or the defaults of
  :mod:`workbench.placement.traces`); ``radio_energy_j`` = radio power (Huang et al., MobiSys 2012) × those
  times; ``network_energy_j`` = GB × kWh/GB of the access technology (:mod:`workbench.catalog.network`);
- ``operational_g`` = (compute + radio energy) × grid intensity (the country's annual average, or its
  carbon-intensity series at the round's time: :mod:`.intensity`); ``network_g`` = network energy × the
  client's grid intensity (charged where the bytes are sent, as :mod:`workbench.placement.footprint`);
  ``embodied_g`` = catalog embodied × busy time ÷ lifetime (busy = compute + download + upload).

Server rows (``client = -1``): aggregation (Flower's ``aggregate_train``) and central evaluation, timed here,
energy from the same calibration, × PUE × the server's grid; embodied share of the server device for
that time.
"""

from __future__ import annotations

import math

import polars as pl
import torch

from workbench.catalog import network
from workbench.catalog.devices import get_device
from workbench.federated.config import FederatedConfig
from workbench.federated.intensity import ClientIntensity
from workbench.federated.local_power import LocalPower
from workbench.measure.features import count_flops, weight_bytes
from workbench.placement.traces import RADIO_POWER_W, link_profiles
from workbench.strategies.data import INPUT_SHAPE, build_model
from workbench.units import J_PER_KWH

TRAIN_FLOPS_PER_FORWARD = 3.0
"""Training FLOPs per forward FLOP (forward + backward ≈ 3 × forward; Kaplan et al. 2020, section 2.1)."""

HOW = {
    "bytes_down": "measured: count_bytes() of the message's records", "bytes_up": "measured: same, the reply",
    "train_time_s": "measured here (wall)", "train_cpu_s": "measured here (thread CPU time)",
    "energy_here_j": "calibrated J per CPU-second × CPU time (energy_here_method)",
    "train_flops": "counted: 3 × forward FLOPs × samples × epochs",
    "compute_s": "predicted: roofline on the client's catalog device ÷ roofline_efficiency",
    "compute_energy_j": "predicted: compute_s × catalog max power",
    "download_s": "predicted: bytes × 8 / bandwidth + RTT", "upload_s": "predicted: same, uplink",
    "radio_energy_j": "predicted: radio power × transfer time", "network_energy_j": "catalog kWh/GB × bytes",
    "operational_g": "(compute + radio energy) × grid intensity", "network_g": "network energy × grid intensity",
    "embodied_g": "catalog embodied × busy_s / lifetime",
}
"""Ledger column → how its numbers are obtained."""


def model_work(model_name: str) -> dict:
    """Forward FLOPs per sample [FLOP], weight bytes [B], activation bytes per sample [B] and params of a model."""
    model = build_model(model_name)
    x = torch.zeros(1, *INPUT_SHAPE)
    acts = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: acts.append(out.numel() * out.element_size()))
             for _, m in model.named_modules() if not list(m.children())]
    flops = count_flops(model, x)
    for h in hooks:
        h.remove()
    return {"flops_per_sample": float(flops), "weight_bytes": int(weight_bytes(model)),
            "activation_bytes": int(sum(acts)), "params": int(sum(p.numel() for p in model.parameters()))}


def _link(cfg: FederatedConfig, tech: str, cache: dict):
    key = cfg.data_dir or None
    if key not in cache:
        cache[key] = link_profiles(key)
    return cache[key][tech]


def client_row(rec: dict, cfg: FederatedConfig, work: dict, power: LocalPower, links: dict,
               intensity: ClientIntensity) -> dict:
    """The ledger row of one client × round record (see the module docstring)."""
    prof = cfg.client_profile(rec["client"])
    dev = get_device(prof["device"])
    ci, ci_source = intensity.at(prof["country"], rec["round"])
    link = _link(cfg, prof["network"], links)
    tech = prof["network"].split("-")[0]
    ok = rec["status"] == "ok"
    n = rec.get("num_examples", 0) if ok else 0
    steps = cfg.local_epochs * math.ceil(n / cfg.batch_size) if n else 0
    flops = TRAIN_FLOPS_PER_FORWARD * work["flops_per_sample"] * n * cfg.local_epochs
    tbytes = 3.0 * (steps * work["weight_bytes"] + work["activation_bytes"] * n * cfg.local_epochs)
    compute_s = (max(flops / dev.peak("fp32"), tbytes / dev.memory_bandwidth_bytes_per_s) / cfg.roofline_efficiency
                 if ok else 0.0)
    bps = link.bandwidth_mbps * 1e6
    down_s = rec["bytes_down"] * 8 / bps + link.rtt_ms / 1e3
    up_s = rec["bytes_up"] * 8 / bps + link.rtt_ms / 1e3 if ok else 0.0
    compute_j = compute_s * dev.max_power_w
    radio_j = RADIO_POWER_W[tech] * (down_s + up_s)
    kwh_gb = network.energy_kwh_per_gb(tech)
    net_j = (rec["bytes_down"] + rec["bytes_up"]) / 1e9 * kwh_gb * J_PER_KWH
    busy_s = compute_s + down_s + up_s
    op_g = (compute_j + radio_j) / J_PER_KWH * ci
    net_g = net_j / J_PER_KWH * ci
    emb_g = dev.embodied_share_kgco2e(busy_s) * 1e3
    cpu_s = rec.get("train_cpu_s") if ok else None
    return {
        "experiment": rec["experiment"], "strategy": cfg.label(), "round": rec["round"], "client": rec["client"],
        "role": "client", "status": rec["status"], "error": rec.get("error"), "device_name": dev.name,
        "device_class": dev.device_class, "country": prof["country"], "network": prof["network"],
        "carbon_intensity_g_per_kwh": ci, "intensity_source": ci_source, "pue": 1.0, "num_examples": n, "bytes_down": int(rec["bytes_down"]),
        "bytes_up": int(rec["bytes_up"]), "train_time_s": rec.get("train_time_s") if ok else None,
        "train_cpu_s": cpu_s, "energy_here_j": power.energy_j_of(cpu_s) if ok else None,
        "energy_here_method": power.method if ok else "none", "train_loss": rec.get("train_loss") if ok else None,
        "train_flops": flops, "train_bytes": tbytes, "compute_s": compute_s, "compute_energy_j": compute_j,
        "bandwidth_mbps": link.bandwidth_mbps, "rtt_ms": link.rtt_ms, "download_s": down_s, "upload_s": up_s,
        "radio_energy_j": radio_j, "kwh_per_gb": kwh_gb, "network_energy_j": net_j, "busy_s": busy_s,
        "device_energy_j": compute_j + radio_j, "operational_g": op_g, "network_g": net_g, "embodied_g": emb_g,
        "total_g": op_g + net_g + emb_g, "embodied_kgco2e": dev.embodied_kgco2e, "lifetime_years": dev.lifetime_years,
    }


def server_row(rec: dict, cfg: FederatedConfig, power: LocalPower, intensity: ClientIntensity) -> dict:
    """The ledger row of one server phase (aggregation or evaluation) of a round, measured here."""
    dev = get_device(cfg.server_device)
    ci, ci_source = intensity.at(cfg.server_country, rec["round"])
    e_j = power.energy_j_of(rec["server_cpu_s"]) or 0.0
    busy_s = rec["server_time_s"]
    op_g = e_j * cfg.server_pue / J_PER_KWH * ci
    emb_g = dev.embodied_share_kgco2e(busy_s) * 1e3
    return {
        "experiment": rec["experiment"], "strategy": cfg.label(), "round": rec["round"], "client": -1,
        "role": f"server-{rec['phase']}", "status": "ok", "error": None, "device_name": dev.name,
        "device_class": dev.device_class, "country": cfg.server_country, "network": None,
        "carbon_intensity_g_per_kwh": ci, "intensity_source": ci_source, "pue": cfg.server_pue, "num_examples": 0, "bytes_down": 0, "bytes_up": 0,
        "train_time_s": rec["server_time_s"], "train_cpu_s": rec["server_cpu_s"],
        "energy_here_j": power.energy_j_of(rec["server_cpu_s"]), "energy_here_method": power.method,
        "train_loss": None, "train_flops": 0.0, "train_bytes": 0.0, "compute_s": busy_s, "compute_energy_j": e_j,
        "bandwidth_mbps": None, "rtt_ms": None, "download_s": 0.0, "upload_s": 0.0, "radio_energy_j": 0.0,
        "kwh_per_gb": None, "network_energy_j": 0.0, "busy_s": busy_s, "device_energy_j": e_j,
        "operational_g": op_g, "network_g": 0.0, "embodied_g": emb_g, "total_g": op_g + emb_g,
        "embodied_kgco2e": dev.embodied_kgco2e, "lifetime_years": dev.lifetime_years,
    }


def ledger_frame(records: list[dict], configs: dict[str, FederatedConfig], power: LocalPower) -> pl.DataFrame:
    """The ledger of a simulation's records: one row per client × round and per server phase × round.

    Parameters
    ----------
    records : list of dict
        :attr:`ServerPlan.records <workbench.federated.server_app.ServerPlan>`.
    configs : dict
        Experiment id → its :class:`FederatedConfig`.
    power : LocalPower
        The calibration of local training energy here.

    Returns
    -------
    polars.DataFrame
        Columns of :func:`client_row` (units in the names; :data:`HOW` says how each was obtained), sorted
        by experiment, round, client.
    """
    works = {cfg.model: model_work(cfg.model) for cfg in configs.values()}
    grids = {e: ClientIntensity(cfg) for e, cfg in configs.items()}
    links: dict = {}
    rows = []
    for r in records:
        e = r["experiment"]
        rows.append(server_row(r, configs[e], power, grids[e]) if r["client"] < 0 else
                    client_row(r, configs[e], works[configs[e].model], power, links, grids[e]))
    return pl.DataFrame(rows, infer_schema_length=None).sort(["experiment", "round", "client", "role"])


def totals(ledger: pl.DataFrame) -> dict:
    """Sums of a ledger's bytes [B], energies [J] and carbon [g CO2e], and its failed client-rounds."""
    s = ledger.select([pl.col(c).sum() for c in ("bytes_down", "bytes_up", "energy_here_j", "device_energy_j",
                                                  "network_energy_j", "operational_g", "network_g", "embodied_g",
                                                  "total_g")]).row(0, named=True)
    s["failed_client_rounds"] = int(ledger.filter(pl.col("status") != "ok").height)
    s["client_rounds"] = int(ledger.filter(pl.col("role") == "client").height)
    return {k: (float(v) if v is not None and not isinstance(v, int) else v) for k, v in s.items()}


def round_times(ledger: pl.DataFrame) -> pl.DataFrame:
    """Per experiment and round: the straggler-bound round time [s] (slowest client's busy time) and who it was."""
    clients = ledger.filter((pl.col("role") == "client") & (pl.col("status") == "ok"))
    return (clients.sort("busy_s", descending=True).group_by(["experiment", "round"], maintain_order=True)
            .agg(pl.col("busy_s").first().alias("round_time_s"), pl.col("client").first().alias("straggler"),
                 pl.col("device_name").first().alias("straggler_device"),
                 pl.col("network").first().alias("straggler_network"))
            .sort(["experiment", "round"]))


__all__ = ["HOW", "TRAIN_FLOPS_PER_FORWARD", "client_row", "ledger_frame", "model_work", "round_times",
           "server_row", "totals"]
