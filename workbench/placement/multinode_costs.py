"""What each placement choice costs, per request: the numbers the MILP and the brute force share.

A *candidate* is one (app, option, remote node or ``None``) of a
:class:`~workbench.placement.multinode_model.MultinodeProblem`; :func:`candidates` computes, for every
candidate, the numbers the MILP in :mod:`workbench.placement.multinode` and the brute force both read, so
the two agree by construction, and :func:`evaluate` scores a whole assignment (one candidate per app) exactly.

Per request of candidate ``k`` (app source ``s``, remote node ``n``, link ``l = (s, n)``):

- latency_ms = local.service_ms + remote.service_ms + rtt_ms + (up + down bytes) × 8 / (bandwidth_mbps × 1e3)
- transmit energy [J] = tx_power_w × up bytes × 8 / (bandwidth_mbps × 1e3) / 1e3, spent by ``s``
- network energy [J] = (up + down bytes) / 1e9 × kwh_per_gb × 3.6e6, charged to ``s``
- device_energy_j = local.energy_j + transmit energy
- energy_j = local.energy_j + remote.energy_j + transmit energy + network energy
- carbon_g = Σ_nodes (its energy × pue × intensity / 3.6e6) + network energy × intensity_s / 3.6e6
  + Σ_nodes embodied_kgco2e × 1e3 × :func:`workbench.lca.resolution.embodied_share` (busy hours,
  lifetime_years, lifetime_utilization), busy hours = service_ms / 3.6e6: the footprint's own formula,
  computed by :func:`workbench.lca.sweep.evaluate` (no embodied share for a node without lifetime_years)

The objectives are rate-weighted means per request: Σ_a rate_a × metric_a / Σ_a rate_a, plus the idle power
of every *active* node (a source, or a node hosting a remote part) shared over all requests:
idle_power_w / Σ rate [J per request] (in device_energy_j only for source nodes). Resources: memory of
node n Σ memory_bytes ≤ memory_bytes; utilisation Σ rate × service_ms / 1e3 ≤ capacity; link load
Σ rate × (up + down bytes) × 8 / 1e6 ≤ bandwidth_mbps [Mbit/s].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.lca import sweep as lca_sweep
from workbench.placement.multinode_model import OBJECTIVES, MultinodeProblem, Node
from workbench.units import J_PER_KWH

MS_PER_HOUR = 3.6e6
"""Milliseconds in an hour: busy time [ms] → hours for the embodied share."""


@dataclass(frozen=True)
class Candidates:
    """Every (app, option, remote node) with its per-request metrics and resource use (arrays over candidates)."""

    app: np.ndarray              # app index
    option: list                 # option name
    remote: list                 # remote node name or None
    latency_ms: np.ndarray
    metrics: dict                # objective name -> per-request value of the app's requests (idle excluded)
    memory_bytes: np.ndarray     # (K, nodes)
    utilization: np.ndarray      # (K, nodes) [-]
    load_mbps: np.ndarray        # (K, links) [Mbit/s]
    remote_index: np.ndarray     # node index of the remote part, -1 if all-local
    slo_ok: np.ndarray           # latency ≤ SLO


def _node_carbon_g(node: Node, energy_j: float, service_ms: float, gigabytes: float = 0.0,
                   kwh_per_gb: float = 0.0) -> float:
    """Carbon [g] of one request's part on ``node`` (and the transfer it sends), by the footprint's formula.

    :func:`workbench.lca.sweep.evaluate`: operational = energy × PUE × intensity, embodied = embodied ×
    :func:`~workbench.lca.resolution.embodied_share` (busy hours, lifetime, utilization), network =
    gigabytes × kWh/GB × intensity of this (the sending) node; no embodied share without ``lifetime_years``.
    """
    amortised = node.lifetime_years is not None
    out = lca_sweep.evaluate(
        grid_kgco2e_per_kwh=node.carbon_intensity_g_per_kwh / 1e3, energy_kwh=energy_j / J_PER_KWH,
        pue=node.pue, manufacturing_kgco2e=node.embodied_kgco2e if amortised else 0.0,
        hours=service_ms / MS_PER_HOUR, lifetime_years=node.lifetime_years if amortised else 1.0,
        utilization=node.lifetime_utilization, gigabytes=gigabytes, kwh_per_gb=kwh_per_gb)
    return float(out["total_kgco2e"]) * 1e3


def candidates(problem: MultinodeProblem) -> Candidates:
    """Per-request numbers of every candidate (see the module docstring for the formulas)."""
    idx = {n.name: i for i, n in enumerate(problem.nodes)}
    lidx = {frozenset((lk.a, lk.b)): i for i, lk in enumerate(problem.links)}
    rows = []
    for ai, app in enumerate(problem.apps):
        src = problem.nodes[idx[app.source]]
        for o in app.options:
            for rname in (list(o.remote) or [None]):
                rows.append((ai, app, src, o, rname))
    n_k, n_n, n_l = len(rows), len(problem.nodes), len(problem.links)
    lat, rem = np.zeros(n_k), np.full(n_k, -1)
    met = {m: np.zeros(n_k) for m in OBJECTIVES}
    mem, util, load = np.zeros((n_k, n_n)), np.zeros((n_k, n_n)), np.zeros((n_k, n_l))
    for k, (_ai, app, src, o, rname) in enumerate(rows):
        si, rate = idx[src.name], app.request_rate_per_s
        mem[k, si] += o.local.memory_bytes
        util[k, si] += rate * o.local.service_ms / 1e3
        lat[k] = o.local.service_ms
        dev = o.local.energy_j
        energy = o.local.energy_j
        if rname is None:
            carbon = _node_carbon_g(src, o.local.energy_j, o.local.service_ms)
        else:
            r, lk, c = problem.nodes[idx[rname]], problem.link(src.name, rname), o.remote[rname]
            rem[k] = idx[rname]
            mem[k, idx[rname]] += c.memory_bytes
            util[k, idx[rname]] += rate * c.service_ms / 1e3
            nbytes = o.upload_bytes + o.download_bytes
            load[k, lidx[frozenset((lk.a, lk.b))]] = rate * nbytes * 8 / 1e6
            lat[k] += c.service_ms + lk.rtt_ms + nbytes * 8 / (lk.bandwidth_mbps * 1e3)
            tx_j = lk.tx_power_w * o.upload_bytes * 8 / (lk.bandwidth_mbps * 1e3) / 1e3
            net_j = nbytes / 1e9 * lk.kwh_per_gb * J_PER_KWH
            dev += tx_j
            energy += c.energy_j + tx_j + net_j
            carbon = (_node_carbon_g(src, o.local.energy_j + tx_j, o.local.service_ms, nbytes / 1e9, lk.kwh_per_gb)
                      + _node_carbon_g(r, c.energy_j, c.service_ms))
        met["latency_ms"][k], met["device_energy_j"][k] = lat[k], dev
        met["energy_j"][k], met["carbon_g"][k] = energy, carbon
    slo = np.array([app.slo_ms for (_, app, *_r) in rows])
    return Candidates(app=np.array([r[0] for r in rows]), option=[r[3].name for r in rows],
                      remote=[r[4] for r in rows], latency_ms=lat, metrics=met, memory_bytes=mem,
                      utilization=util, load_mbps=load, remote_index=rem, slo_ok=lat <= slo)


def idle_per_request(problem: MultinodeProblem) -> dict:
    """Objective name → array over nodes: the idle cost an active node adds per request."""
    total = problem.total_rate_per_s
    p = np.array([n.idle_power_w for n in problem.nodes]) / total
    carbon = p * np.array([n.pue * n.carbon_intensity_g_per_kwh for n in problem.nodes]) / J_PER_KWH
    sources = {a.source for a in problem.apps}
    device = np.array([pw if n.name in sources else 0.0 for pw, n in zip(p, problem.nodes, strict=True)])
    return {"latency_ms": np.zeros(len(p)), "device_energy_j": device, "energy_j": p, "carbon_g": carbon}


def evaluate(problem: MultinodeProblem, cand: Candidates, choice) -> tuple[dict, list]:
    """Score an assignment exactly: ``choice[a]`` is the candidate index of app ``a``.

    Returns
    -------
    metrics : dict
        Objective name → rate-weighted mean per request (idle power of active nodes included).
    violations : list of str
        Each broken constraint, named as in :class:`~workbench.errors.InfeasibleError` messages; empty
        when the assignment is feasible.
    """
    choice = np.asarray(choice, dtype=int)
    rates = np.array([problem.apps[a].request_rate_per_s for a in cand.app[choice]])
    total = problem.total_rate_per_s
    idx = {n.name: i for i, n in enumerate(problem.nodes)}
    active = {idx[a.source] for a in problem.apps}
    active |= {int(r) for r in cand.remote_index[choice] if r >= 0}
    idle = idle_per_request(problem)
    act = sorted(active)
    metrics = {m: float(np.dot(rates, cand.metrics[m][choice]) / total + idle[m][act].sum()) for m in OBJECTIVES}
    violations = []
    for k in choice:
        app = problem.apps[cand.app[k]]
        if not cand.slo_ok[k]:
            violations.append(f"SLO of app {app.name} ({cand.latency_ms[k]:.6g} ms > {app.slo_ms:.6g} ms)")
    for ni, node in enumerate(problem.nodes):
        used = cand.memory_bytes[choice, ni].sum()
        if used > node.memory_bytes * (1 + 1e-9):
            violations.append(f"memory of node {node.name} ({used:.6g} B > {node.memory_bytes:.6g} B)")
        used = cand.utilization[choice, ni].sum()
        if used > node.capacity * (1 + 1e-9):
            violations.append(f"utilisation of node {node.name} ({used:.6g} > capacity {node.capacity:.6g})")
    for li, lk in enumerate(problem.links):
        used = cand.load_mbps[choice, li].sum()
        if used > lk.bandwidth_mbps * (1 + 1e-9):
            violations.append(f"bandwidth of link {lk.name} ({used:.6g} Mbit/s > {lk.bandwidth_mbps:.6g} Mbit/s)")
    return metrics, violations
