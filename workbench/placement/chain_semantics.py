"""The chain split's exact semantics, implemented once: what an assignment of layers to tiers costs.

Tiers are numbered 0..T−1 from the data source outwards; link k (``problem.links[k − 1]``) joins tiers
k−1 and k. An assignment gives each layer i a tier a_i, non-decreasing (data only moves outwards). Let
in_i be the tensor entering layer i (``input_bytes`` for the first, else the previous layer's
``output_bytes``) and r the last layer's ``output_bytes``. Link k is crossed when a_L ≥ k, carrying
b_k = in_j, j the first layer with a_j ≥ k, outwards and the result r back.

- latency_ms = Σ_i latency_ms[a_i] of layer i + Σ_crossed (rtt_ms + (b_k + r) × 8 / (bandwidth_mbps × 1000))
- transmit energy of link k [J] = tx_power_w × b_k × 8 / (bandwidth_mbps × 1000) / 1000, spent by tier k−1
- network energy of link k [J] = (b_k + r) / 1e9 × kwh_per_gb × 3.6e6, charged to tier k−1
- device_energy_j = Σ energy_j of the layers at tier 0 + transmit energy of link 1
- energy_j = Σ layer energies + Σ transmit energies + Σ network energies; transfer_bytes = Σ_crossed (b_k + r)
- carbon_g = Σ_t (its layers' energy + its transmit energy) × pue_t × intensity_t / 3.6e6
  + Σ_k network energy of link k × intensity_(k−1) / 3.6e6
- feasible: Σ weight_bytes of the layers at tier t ≤ memory_bytes of t, and latency_ms ≤ latency_ms_max.

:func:`evaluate` computes these from the formulas; :func:`objective_coefficients` gives the same
objective as a sum of per-layer and per-link terms (what dynamic programming and the MILP optimise),
and the tests check that both agree on every assignment.
"""

from __future__ import annotations

import difflib
import numbers

from workbench.placement.problem import ChainProblem, ProblemError, check_objective
from workbench.units import J_PER_KWH


def tier_index(problem: ChainProblem, tier, where: str = "tier") -> int:
    """The index of a tier given by name or index; :class:`ProblemError` naming the tiers otherwise."""
    names = problem.tier_names
    if isinstance(tier, numbers.Integral) and not isinstance(tier, bool) and 0 <= tier < len(names):
        return int(tier)
    if isinstance(tier, str) and tier in names:
        return names.index(tier)
    close = difflib.get_close_matches(str(tier), names, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ProblemError(f"{where} = {tier!r} is not a tier of the problem.{hint} Fix: give one of "
                       f"{', '.join(names)} (or its index 0..{len(names) - 1}).")


def check_assignment(problem: ChainProblem, assignment) -> tuple[int, ...]:
    """An assignment (tier names or indices, one per layer) as tier indices, checked.

    Raises
    ------
    ProblemError
        Not one tier per layer, an unknown tier, or a non-monotone assignment (a layer on a tier
        nearer the source than the layer before it).
    """
    n = len(problem.layers)
    if isinstance(assignment, str) or not hasattr(assignment, "__len__") or len(assignment) != n:
        got = len(assignment) if hasattr(assignment, "__len__") and not isinstance(assignment, str) else assignment
        raise ProblemError(f"an assignment gives one tier per layer: the model has {n} layer(s), got {got!r}. "
                           f"Fix: list {n} tier names in layer order (tiers: {', '.join(problem.tier_names)}).")
    a = tuple(tier_index(problem, t, f"assignment[{i}] (layer {problem.layers[i].name!r})")
              for i, t in enumerate(assignment))
    for i in range(1, n):
        if a[i] < a[i - 1]:
            names = problem.tier_names
            raise ProblemError(
                f"assignment is not monotone: layer {i} ({problem.layers[i].name!r}) on {names[a[i]]!r} follows "
                f"layer {i - 1} on {names[a[i - 1]]!r}, but data only moves outwards (tiers in order: "
                f"{', '.join(names)}). Fix: give each layer a tier at or beyond the previous layer's.")
    return a


def describe_assignment(problem: ChainProblem, assignment) -> str:
    """An assignment in words, one run of consecutive layers per tier: ``"conv1–conv2 on phone, fc on edge"``."""
    a = check_assignment(problem, assignment)
    runs, start = [], 0
    for i in range(1, len(a) + 1):
        if i == len(a) or a[i] != a[start]:
            first, last = problem.layers[start].name, problem.layers[i - 1].name
            runs.append(f"{first if i - 1 == start else first + '–' + last} on {problem.tiers[a[start]].name}")
            start = i
    return ", ".join(runs)


def inputs_bytes(problem: ChainProblem) -> list[float]:
    """in_i for every layer: the tensor entering it [bytes]."""
    return [problem.input_bytes] + [layer.output_bytes for layer in problem.layers[:-1]]


def evaluate(problem: ChainProblem, assignment) -> dict:
    """Every metric of one assignment, from the formulas of the module docstring.

    Parameters
    ----------
    problem : ChainProblem
    assignment : sequence of str or int
        One tier (name or index) per layer, non-decreasing.

    Returns
    -------
    dict
        ``assignment`` (tier names), ``latency_ms`` [ms], ``device_energy_j`` [J], ``energy_j`` [J],
        ``carbon_g`` [gCO2e], ``transfer_bytes`` [bytes], ``memory_bytes`` (weights per tier name
        [bytes]), ``feasible`` (bool) and ``violations`` (one sentence per constraint not met).

    Raises
    ------
    ProblemError
        A bad assignment (see :func:`check_assignment`).
    """
    a = check_assignment(problem, assignment)
    tiers, links, layers = problem.tiers, problem.links, problem.layers
    ins, r = inputs_bytes(problem), layers[-1].output_bytes
    latency = sum(layer.latency_ms[t] for layer, t in zip(layers, a, strict=True))
    layer_energy = [0.0] * len(tiers)
    memory = [0.0] * len(tiers)
    for layer, t in zip(layers, a, strict=True):
        layer_energy[t] += layer.energy_j[t]
        memory[t] += layer.weight_bytes
    tx = [0.0] * len(tiers)
    net = [0.0] * len(links)
    transfer = 0.0
    for k in range(1, a[-1] + 1):
        link = links[k - 1]
        b = ins[next(i for i, t in enumerate(a) if t >= k)]
        latency += link.rtt_ms + (b + r) * 8 / (link.bandwidth_mbps * 1000)
        tx[k - 1] += link.tx_power_w * b * 8 / (link.bandwidth_mbps * 1000) / 1000
        net[k - 1] = (b + r) / 1e9 * link.kwh_per_gb * J_PER_KWH
        transfer += b + r
    carbon = sum((layer_energy[t] + tx[t]) * tier.pue * tier.carbon_intensity_g_per_kwh / J_PER_KWH
                 for t, tier in enumerate(tiers))
    carbon += sum(net[k] * tiers[k].carbon_intensity_g_per_kwh / J_PER_KWH for k in range(len(links)))
    violations = [f"memory of tier {tier.name!r}: weights {memory[t]:g} bytes > memory_bytes {tier.memory_bytes:g}"
                  for t, tier in enumerate(tiers) if tier.memory_bytes is not None and memory[t] > tier.memory_bytes]
    if problem.latency_ms_max is not None and latency > problem.latency_ms_max:
        violations.append(f"latency SLO: latency_ms {latency:g} > latency_ms_max {problem.latency_ms_max:g}")
    return {
        "assignment": [tiers[t].name for t in a],
        "latency_ms": latency,
        "device_energy_j": layer_energy[0] + tx[0],
        "energy_j": sum(layer_energy) + sum(tx) + sum(net),
        "carbon_g": carbon,
        "transfer_bytes": transfer,
        "memory_bytes": {tier.name: memory[t] for t, tier in enumerate(tiers)},
        "feasible": not violations,
        "violations": violations,
    }


def objective_coefficients(problem: ChainProblem, objective: str):
    """The objective as a sum of terms: ``cost[i][t]`` for layer i on tier t, ``alpha[k − 1] + beta[k − 1] × b``
    for link k crossed carrying b bytes outwards (the result's way back is in ``alpha``).

    Parameters
    ----------
    problem : ChainProblem
    objective : str
        One of :data:`~workbench.placement.problem.OBJECTIVES`.

    Returns
    -------
    cost : list of list of float
        [objective unit] per layer and tier.
    alpha : list of float
        [objective unit] per crossed link.
    beta : list of float
        [objective unit / byte] per crossed link.
    """
    check_objective(objective)
    tiers, r = problem.tiers, problem.layers[-1].output_bytes
    per_tier = {
        "latency_ms": lambda layer, t: layer.latency_ms[t],
        "device_energy_j": lambda layer, t: layer.energy_j[t] if t == 0 else 0.0,
        "energy_j": lambda layer, t: layer.energy_j[t],
        "carbon_g": lambda layer, t: layer.energy_j[t] * tiers[t].pue * tiers[t].carbon_intensity_g_per_kwh / J_PER_KWH,
    }[objective]
    cost = [[per_tier(layer, t) for t in range(len(tiers))] for layer in problem.layers]
    alpha, beta = [], []
    for k, link in enumerate(problem.links, start=1):
        ms_per_byte = 8 / (link.bandwidth_mbps * 1000)
        tx_j_per_byte = link.tx_power_w * ms_per_byte / 1000
        net_j_per_byte = link.kwh_per_gb * J_PER_KWH / 1e9
        sender = tiers[k - 1]
        if objective == "latency_ms":
            a, b = link.rtt_ms + r * ms_per_byte, ms_per_byte
        elif objective == "device_energy_j":
            a, b = 0.0, tx_j_per_byte if k == 1 else 0.0
        elif objective == "energy_j":
            a, b = r * net_j_per_byte, tx_j_per_byte + net_j_per_byte
        else:
            g_per_j = sender.carbon_intensity_g_per_kwh / J_PER_KWH
            a = r * net_j_per_byte * g_per_j
            b = (tx_j_per_byte * sender.pue + net_j_per_byte) * g_per_j
        alpha.append(a)
        beta.append(b)
    return cost, alpha, beta


def solver_result(problem: ChainProblem, objective: str, assignment, solver: str, optimal: bool, **extra) -> dict:
    """The one result shape of every solver and heuristic: ``objective``, ``value`` (the objective's metric
    from :func:`evaluate`), the metrics of :func:`evaluate`, ``solver``, ``optimal``, ``cost_source``, and
    ``cost_sources`` (tier name → where its costs came from), ``carbon_by_tier`` (tier name →
    ``carbon_intensity_g_per_kwh`` and ``carbon_source``, where the intensity came from) and
    ``extra`` (e.g. ``gap``, the MIP gap, and ``status``)."""
    metrics = evaluate(problem, assignment)
    sources = problem.cost_sources or (problem.cost_source,) * len(problem.tiers)
    carbon = {t.name: {"carbon_intensity_g_per_kwh": t.carbon_intensity_g_per_kwh, "carbon_source": t.carbon_source}
              for t in problem.tiers}
    return {"objective": objective, "value": metrics[objective], **metrics, "solver": solver,
            "optimal": bool(optimal), "cost_source": problem.cost_source,
            "cost_sources": dict(zip(problem.tier_names, sources, strict=True)), "carbon_by_tier": carbon, **extra}
