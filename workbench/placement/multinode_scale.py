"""Random multi-application placement instances: for the brute-force oracle tests and the scale benchmark.

Nodes come in three tiers (devices, edge servers, one or more clouds): the further out, the faster,
the more memory, the cleaner or dirtier the grid at random, and the longer the round trip. Every
application arises on a device and has one all-local option plus ``n_options − 1`` splits whose
remote part may run on any edge or cloud node. ``tightness`` in (0, 1] scales memory, capacity and
bandwidth down so that constraints bind (and some instances are infeasible). Each app's SLO is drawn
around its all-local latency and raised, where needed, to 1.05 × its fastest option, so that every
app alone has an SLO-meeting option.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from workbench.checks import check_int, check_number
from workbench.placement.multinode import solve_placement
from workbench.placement.multinode_costs import candidates
from workbench.placement.multinode_model import App, Cost, Link, MultinodeProblem, Node, Option


def random_instance(n_apps: int, n_nodes: int, n_options: int, seed: int, *,
                    tightness: float = 0.5) -> MultinodeProblem:
    """A random, reproducible :class:`~workbench.placement.multinode_model.MultinodeProblem`.

    Parameters
    ----------
    n_apps : int
    n_nodes : int, ≥ 2
        About half devices, the rest edge servers and at least one cloud.
    n_options : int
        Options per app: one all-local plus ``n_options − 1`` splits.
    seed : int
    tightness : float, in (0, 1]
        1 makes memory, capacity and bandwidth scarce; small values make them ample.

    Returns
    -------
    MultinodeProblem

    Examples
    --------
    >>> len(random_instance(3, 3, 2, seed=0).apps)
    3
    """
    n_apps = check_int(n_apps, "n_apps")
    n_nodes = check_int(n_nodes, "n_nodes", minimum=2)
    n_options = check_int(n_options, "n_options")
    tightness = check_number(tightness, "tightness", minimum=0, maximum=1, exclusive=False)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    n_dev = max(1, n_nodes // 2)
    n_cloud = max(1, (n_nodes - n_dev) // 3)
    tiers = [0] * n_dev + [1] * (n_nodes - n_dev - n_cloud) + [2] * n_cloud
    speed = {0: 1.0, 1: 4.0, 2: 10.0}          # work per ms relative to a device
    scarce = 1.0 + 4.0 * (1.0 - tightness)     # 1 when tight, 5 when ample
    nodes = []
    for i, t in enumerate(tiers):
        nodes.append(Node(
            name=f"{('dev', 'edge', 'cloud')[t]}{i}", tier=t,
            memory_bytes=float(rng.uniform(0.5, 1.5) * (50e6, 400e6, 4e9)[t] * scarce),
            capacity=float(rng.uniform(0.6, 1.0) * (1, 2, 8)[t] * scarce),
            idle_power_w=float(rng.uniform(0.0, (0.5, 10.0, 30.0)[t])),
            pue=float((1.0, rng.uniform(1.1, 1.6), rng.uniform(1.05, 1.3))[t]),
            carbon_intensity_g_per_kwh=float(rng.uniform(20, 600)),
            embodied_kgco2e=float(rng.uniform(0.5, 1.5) * (60, 1500, 4000)[t]),
            lifetime_years=float(rng.uniform(3, 6)),
            lifetime_utilization=float(rng.uniform(0.3, 1.0))))
    remote_nodes = [n for n in nodes if n.tier > 0]
    links = []
    for d in nodes[:n_dev]:
        for r in remote_nodes:
            far = r.tier == 2
            links.append(Link(d.name, r.name, bandwidth_mbps=float(rng.uniform(5, 100) * scarce),
                              rtt_ms=float(rng.uniform(40, 120) if far else rng.uniform(2, 20)),
                              kwh_per_gb=float(rng.uniform(0.01, 0.2)), tx_power_w=float(rng.uniform(0, 2))))
    apps = []
    for a in range(n_apps):
        src = nodes[int(rng.integers(n_dev))]
        work_ms = float(rng.uniform(5, 80))             # whole model on a device [ms]
        model_bytes = float(rng.uniform(5e6, 60e6))
        power_w = float(rng.uniform(1, 5))
        opts = [Option("local", Cost(work_ms, power_w * work_ms / 1e3, model_bytes))]
        cuts = np.sort(rng.uniform(0, 1, n_options - 1))
        for j, f in enumerate(cuts):                    # fraction f of the work stays local
            remote = {}
            for r in remote_nodes:
                ms = work_ms * (1 - f) / speed[r.tier]
                remote[r.name] = Cost(ms, ms / 1e3 * float(rng.uniform(30, 300)) / speed[r.tier] * 2,
                                      model_bytes * (1 - f))
            opts.append(Option(f"split{j}", Cost(work_ms * f, power_w * work_ms * f / 1e3, model_bytes * f),
                               remote, upload_bytes=float(rng.uniform(1e4, 6e5) * (1 - f / 2)),
                               download_bytes=float(rng.uniform(1e2, 1e4))))
        apps.append(App(f"app{a}", src.name, request_rate_per_s=float(rng.uniform(0.5, 10)),
                        slo_ms=float(rng.uniform(0.6, 1.5) * work_ms + rng.uniform(0, 60)), options=opts))
    problem = MultinodeProblem(nodes, links, apps)
    cand = candidates(problem)                          # every app gets at least one SLO-meeting option
    apps = [replace(a, slo_ms=max(a.slo_ms, 1.05 * float(cand.latency_ms[cand.app == i].min())))
            for i, a in enumerate(apps)]
    return MultinodeProblem(nodes, links, apps)


def benchmark_scale(n_apps: int = 20, n_nodes: int = 10, n_options: int = 4, *, seed: int = 0,
                    objective="carbon_g", tightness: float = 0.5, repeats: int = 3) -> dict:
    """Time the MILP on a random instance: the figure ``benchmarks/placement.py`` reports.

    Parameters
    ----------
    n_apps, n_nodes, n_options, seed, tightness
        As for :func:`random_instance`.
    objective : str or dict
        As for :func:`~workbench.placement.multinode.solve_placement`.
    repeats : int
        Solves timed; the median is reported.

    Returns
    -------
    dict
        ``milp_solve_s_{n_apps}apps_{n_nodes}nodes`` [s] (median wall time of
        :func:`~workbench.placement.multinode.solve_placement`, costs and model building included; target
        < 10 s for 20 × 10), ``highs_s`` [s] (HiGHS alone), ``n_candidates``, ``status``, ``optimal``,
        ``gap`` and ``value``.

    Raises
    ------
    InfeasibleError
        The instance drawn has no feasible placement (try another seed or a smaller tightness).
    """
    problem = random_instance(n_apps, n_nodes, n_options, seed, tightness=tightness)
    times, highs, res = [], [], None
    for _ in range(check_int(repeats, "repeats")):
        t0 = time.perf_counter()
        res = solve_placement(problem, objective)
        times.append(time.perf_counter() - t0)
        highs.append(res.solve_s)
    return {f"milp_solve_s_{n_apps}apps_{n_nodes}nodes": float(np.median(times)),
            "highs_s": float(np.median(highs)), "n_candidates": len(candidates(problem).app),
            "status": res.status, "optimal": res.optimal, "gap": res.gap, "value": res.value}
