"""A chain placement's footprint by the LCA engine: the placement written as ``workbench footprint`` scenarios.

Issue 15, section 3 ("Carbon, one formula"): operational = energy × PUE × grid intensity, embodied =
device embodied × busy time ÷ (lifetime × utilisation), network = bytes × kWh/GB × intensity of the
sending tier, computed with the lca package so that a placement's footprint equals what
``workbench footprint`` gives for the same deployment.

**The mapping.** A :mod:`workbench.lca` scenario has *one* grid (``[location]``): its devices and its
network transfers are all charged at that grid (``docs/lca.md``, section 2: ``dc|i`` and ``network|j``
both draw on the scenario's ``grid`` node). Tiers of a chain problem have different intensities, so a
placement of ``requests`` requests becomes one scenario *per tier* t that computes or sends something
(:func:`placement_scenarios`), and its footprint is the sum of theirs:

- ``[location]``: the tier's ``country`` when its intensity is the catalog's for that country (the
  Brightway grid market, which emits exactly that intensity), else ``carbon_intensity_g_per_kwh``
  (explicit; the country, if any, is a label);
- one ``[[devices]]`` group (count 1) with the tier's PUE and its IT energy [kWh] = (energy_j of its
  layers + transmit energy of the link it sends) × requests / 3.6e6, as ``energy_kwh``; with
  embodied figures for the tier (``embodied``), as ``power_w`` × ``hours`` instead, ``hours`` = busy
  time = Σ latency_ms of its layers × requests / 3.6e6 (what :mod:`workbench.placement.multinode_costs`
  uses too: compute time, not transmit time), so that the engine amortises ``embodied_kgco2e`` by
  ``hours / (lifetime_years × 8760 × utilization)`` (:func:`workbench.lca.resolution.embodied_share`);
- one ``[[network]]`` entry for the link k = t + 1 it sends over, if crossed: ``gigabytes`` =
  (b_k + r) × requests / 1e9 and the link's ``kwh_per_gb``: the network energy is charged at the
  sending tier's grid, without PUE, as section 5 of the issue says and the lca network model does.

The scenario format has no per-entry intensity, so one scenario per tier is the exact mapping (one
scenario with several tiers would charge every tier and link at one grid).

:func:`placement_footprint` sums the tiers' footprints, computed by ``engine="brightway"``
(:func:`workbench.lca.footprint.footprint_dict`: a Brightway database per tier scenario and
``bw2calc.LCA``, what ``workbench footprint`` prints) or ``engine="sweep"``
(:func:`workbench.lca.sweep.evaluate` on the resolved scenarios, no Brightway: the same linear model,
with the grid's unit impact = its intensity). The tests check, to 1e-9 relative, that operational +
network equals ``chain_semantics.evaluate(...)["carbon_g"]`` × requests, by both engines and by the CLI.
Brightway is imported only by the ``brightway`` engine (through :mod:`workbench.lca`'s lazy loader).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

from workbench import lca
from workbench.catalog import grid
from workbench.placement.chain_semantics import check_assignment, describe_assignment, inputs_bytes
from workbench.placement.problem import ChainProblem, ProblemError
from workbench.units import J_PER_KWH

MS_PER_HOUR = 3.6e6
"""Milliseconds in an hour: busy time [ms] → hours."""

EMBODIED_KEYS = ("device", "embodied_kgco2e", "lifetime_years", "utilization")
"""Keys of one tier's entry in ``embodied``: a catalog ``device`` (its embodied figure and lifetime), or
``embodied_kgco2e`` [kg CO2-eq/device] and ``lifetime_years`` [year]; ``utilization`` [-] optional (default 1)."""

ENGINES = ("brightway", "sweep")


@dataclass(frozen=True)
class TierScenario:
    """One tier's part of a placement as a ``workbench footprint`` scenario.

    Attributes
    ----------
    tier : str
        The tier's name.
    link : str or None
        The link it sends over (``"phone->edge"``), if crossed.
    data : dict
        The scenario as ``tomllib`` would read it (what :func:`workbench.lca.footprint.footprint_dict` accepts).
    """

    tier: str
    link: str | None
    data: dict

    def to_toml(self) -> str:
        """The scenario as TOML text, readable by ``workbench footprint`` (floats written exactly, by ``repr``)."""
        return scenario_toml(self.data)

    def scenario(self):
        """The validated :class:`workbench.lca.scenario.Scenario`."""
        return lca.parse_scenario(self.data, source=f"<placement tier {self.tier}>")


def _check_requests(requests) -> float:
    if isinstance(requests, bool) or not isinstance(requests, (int, float)) or not math.isfinite(requests) \
            or requests <= 0:
        raise ProblemError(f"requests = {requests!r} must be a finite number > 0 (the number of requests the "
                           "placement serves). Fix: give e.g. requests=1000.")
    return float(requests)


def _embodied_entry(problem: ChainProblem, embodied) -> dict:
    if embodied is None:
        return {}
    if embodied == "devices":  # the catalog devices of the tiers that name one (zoo problems)
        return {t.name: {"device": t.device} for t in problem.tiers if getattr(t, "device", None)}
    if not isinstance(embodied, Mapping):
        raise ProblemError(f"embodied must map tier names to their figures, or be \"devices\", got {embodied!r}. "
                           "Fix: e.g. embodied={'edge': {'embodied_kgco2e': 150.0, 'lifetime_years': 5.0}}.")
    out = {}
    for name, entry in embodied.items():
        if name not in problem.tier_names:
            raise ProblemError(f"embodied names tier {name!r}, which the problem lacks. Fix: use one of "
                               f"{', '.join(problem.tier_names)}.")
        if not isinstance(entry, Mapping) or not entry:
            raise ProblemError(f"embodied[{name!r}] must be a non-empty table of {', '.join(EMBODIED_KEYS)}, got "
                               f"{entry!r}.")
        unknown = sorted(set(entry) - set(EMBODIED_KEYS))
        if unknown:
            raise ProblemError(f"embodied[{name!r}] has unknown key(s) {unknown}. Fix: use {', '.join(EMBODIED_KEYS)}.")
        if "device" not in entry and ("embodied_kgco2e" not in entry or "lifetime_years" not in entry):
            raise ProblemError(f"embodied[{name!r}] needs a catalog device, or embodied_kgco2e and lifetime_years. "
                               "Fix: add device = \"...\" or both figures.")
        out[name] = dict(entry)
    return out


def _location(tier) -> dict:
    if tier.country is not None and grid.carbon_intensity_g_per_kwh(tier.country) == tier.carbon_intensity_g_per_kwh:
        return {"country": tier.country}
    loc = {"carbon_intensity_g_per_kwh": float(tier.carbon_intensity_g_per_kwh)}
    if tier.country is not None:
        loc["country"] = tier.country
    return loc


def placement_scenarios(problem: ChainProblem, assignment, *, requests=1, embodied=None, name: str | None = None,
                        allow_implausible: bool = False) -> tuple[TierScenario, ...]:
    """A chain placement as ``workbench footprint`` scenarios, one per tier (see the module docstring).

    Parameters
    ----------
    problem : ChainProblem
    assignment : sequence of str or int
        One tier (name or index) per layer, non-decreasing.
    requests : float [requests]
        Number of requests the placement serves (> 0); every energy and byte count is multiplied by it.
    embodied : mapping or "devices", optional
        Tier name → ``{"embodied_kgco2e": [kg CO2-eq/device], "lifetime_years": [year],
        "utilization": [-]}`` or ``{"device": "<catalog name>"}`` (see :data:`EMBODIED_KEYS`);
        ``"devices"``: the catalog figures of each tier's ``device`` (zoo problems). Tiers without
        embodied figures carry no embodied emissions (as section 5's ``carbon_g``).
    name : str, optional
        Prefix of the scenarios' names (default the problem's name, or ``"placement"``).
    allow_implausible : bool
        Write ``allow_implausible = true`` (hand-written costs may imply e.g. more than 1 MW per device).

    Returns
    -------
    tuple of TierScenario
        In tier order, only tiers that run a layer or send over a crossed link.

    Raises
    ------
    ProblemError
        A bad assignment, ``requests`` not > 0, or a malformed ``embodied``.

    Examples
    --------
    >>> from workbench.placement.problem import parse_problem
    >>> p = parse_problem({"model": {"input_bytes": 1e6, "layers": [{"output_bytes": 10, "latency_ms": [5, 1],
    ...     "energy_j": [3.6, 36.0]}]}, "tiers": [{"name": "phone", "carbon_intensity_g_per_kwh": 300},
    ...     {"name": "cloud", "carbon_intensity_g_per_kwh": 50}],
    ...     "links": [{"bandwidth_mbps": 8, "rtt_ms": 20, "kwh_per_gb": 0.1}]})
    >>> [(s.tier, s.data["location"], len(s.data.get("network", []))) for s in placement_scenarios(p, ["cloud"])]
    [('phone', {'carbon_intensity_g_per_kwh': 300.0}, 1), ('cloud', {'carbon_intensity_g_per_kwh': 50.0}, 0)]
    """
    a = check_assignment(problem, assignment)
    n = _check_requests(requests)
    emb = _embodied_entry(problem, embodied)
    tiers, links, layers = problem.tiers, problem.links, problem.layers
    ins, r = inputs_bytes(problem), layers[-1].output_bytes
    energy_j, busy_ms, runs = [0.0] * len(tiers), [0.0] * len(tiers), [False] * len(tiers)
    for layer, t in zip(layers, a, strict=True):
        energy_j[t] += layer.energy_j[t]
        busy_ms[t] += layer.latency_ms[t]
        runs[t] = True
    sent = {}
    for k in range(1, a[-1] + 1):  # link k crossed: tier k - 1 sends b_k, gets r back (chain_semantics.evaluate)
        link = links[k - 1]
        b = ins[next(i for i, t in enumerate(a) if t >= k)]
        energy_j[k - 1] += link.tx_power_w * b * 8 / (link.bandwidth_mbps * 1000) / 1000
        sent[k - 1] = (link, b + r)
    label = name or problem.name or "placement"
    where = describe_assignment(problem, a)
    out = []
    for t, tier in enumerate(tiers):
        if not runs[t] and t not in sent:
            continue
        data = {"name": f"{label}: tier {tier.name}", "functional_unit": f"{n:g} request(s), {where}",
                "location": _location(tier)}
        if allow_implausible:
            data["allow_implausible"] = True
        if runs[t] or energy_j[t] > 0:
            data["devices"] = [_device(tier, energy_j[t] * n / J_PER_KWH, busy_ms[t] * n / MS_PER_HOUR,
                                       emb.get(tier.name))]
        link_name = None
        if t in sent:
            link, nbytes = sent[t]
            link_name = f"{tier.name}->{tiers[t + 1].name}"
            data["network"] = [{"gigabytes": nbytes * n / 1e9, "technology": link.technology or "fixed",
                                "kwh_per_gb": float(link.kwh_per_gb),
                                "note": f"link {link_name}; kwh_per_gb from the placement problem"
                                        + ("" if link.technology else " (technology is only a label)")}]
        out.append(TierScenario(tier=tier.name, link=link_name, data=data))
    return tuple(out)


def _device(tier, energy_kwh: float, hours: float, emb: dict | None) -> dict:
    """The tier's device group: IT energy [kWh], and busy ``hours`` [h] when embodied figures are given."""
    dev = {"name": (emb or {}).get("device") or getattr(tier, "device", None) or tier.name, "count": 1,
           "pue": float(tier.pue)}
    if emb is not None and hours > 0:
        dev["power_w"] = energy_kwh * 1000.0 / hours  # the engine computes power_w × hours / 1000 [kWh]
        dev["hours"] = hours
        dev.update({k: float(v) for k, v in emb.items() if k != "device"})
    else:
        dev["energy_kwh"] = energy_kwh
        if emb is None or "embodied_kgco2e" not in emb:
            dev["embodied_kgco2e"] = 0.0  # no embodied figure (and no catalog default for a tier's name)
        else:
            dev["embodied_kgco2e"] = float(emb["embodied_kgco2e"])
    dev["note"] = f"tier {tier.name}: its layers' energy + transmit energy"
    return dev


def scenario_toml(data: dict) -> str:
    """A scenario dict (top-level keys, ``[location]``, ``[[devices]]``, ``[[network]]``) as TOML text.

    Numbers are written with ``repr`` (exact round trip), strings as JSON strings (valid TOML basic strings).
    """
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            if not math.isfinite(v):
                raise ProblemError(f"cannot write {v!r} to a scenario file: every number must be finite.")
            return repr(v)
        return json.dumps(str(v), ensure_ascii=False)

    lines = [f"{k} = {value(v)}" for k, v in data.items() if not isinstance(v, (dict, list))]
    for k, v in data.items():
        if isinstance(v, dict):
            lines += ["", f"[{k}]"] + [f"{kk} = {value(vv)}" for kk, vv in v.items()]
        elif isinstance(v, list):
            for entry in v:
                lines += ["", f"[[{k}]]"] + [f"{kk} = {value(vv)}" for kk, vv in entry.items()]
    return "\n".join(lines) + "\n"


def placement_footprint(problem: ChainProblem, assignment, *, requests=1, embodied=None, engine: str = "brightway",
                        method=None, lca_dir=None, allow_implausible: bool = False) -> dict:
    """Footprint [g CO2-eq] of a chain placement serving ``requests`` requests, computed by the lca engine.

    The sum of the footprints of :func:`placement_scenarios` (one scenario per tier).

    Parameters
    ----------
    problem, assignment, requests, embodied, allow_implausible
        As in :func:`placement_scenarios`.
    engine : {"brightway", "sweep"}
        ``"brightway"``: :func:`workbench.lca.footprint.footprint_dict` per tier scenario (one
        ``bw2calc.LCA`` each, what ``workbench footprint`` prints; needs the Brightway project,
        built on first use). ``"sweep"``: :func:`workbench.lca.sweep.evaluate` on the resolved
        scenarios (no Brightway; grid unit impact = intensity / 1000 [kg CO2-eq/kWh], embodied
        [kg CO2-eq/device] as resolved: for a country grid and a catalog device that is what the
        Brightway foreground emits, to 1e-9).
    method : tuple or "A | B | C" string, optional
        LCIA method of the ``brightway`` engine (default IPCC 2021 GWP100; scores are then g CO2-eq).
    lca_dir : path-like, optional
        Brightway data directory of the ``brightway`` engine.

    Returns
    -------
    dict
        ``total_g``, ``operational_g``, ``network_g``, ``embodied_g`` [g CO2-eq] for all requests;
        ``operational_g_by_tier``, ``embodied_g_by_tier`` (tier name → g), ``network_g_by_link``
        (``"a->b"`` → g); ``tiers`` (per tier scenario: ``tier``, ``link``, ``energy_kwh`` (grid
        electricity incl. PUE and network), ``operational_g``, ``embodied_g``, ``network_g``,
        ``total_g``); ``requests``, ``assignment`` (tier names), ``engine``, ``method``.

    Raises
    ------
    ProblemError
        A bad assignment, ``requests``, ``embodied`` or ``engine``.
    ScenarioError, UnknownNameError
        The lca refuses a tier scenario (e.g. an implausible value; an unknown catalog device).
    """
    if engine not in ENGINES:
        raise ProblemError(f"engine = {engine!r} is not a footprint engine. Fix: give one of {', '.join(ENGINES)}.")
    scenarios = placement_scenarios(problem, assignment, requests=requests, embodied=embodied,
                                    allow_implausible=allow_implausible)
    rows, method_name = [], None
    for s in scenarios:
        if engine == "brightway":
            out = lca.footprint_dict(s.data, method=method, lca_dir=lca_dir)
            method_name = out["method"]
        else:
            out = lca.evaluate_resolved(lca.resolve(s.scenario()))
        rows.append({"tier": s.tier, "link": s.link, "energy_kwh": out["energy_kwh"],
                     **{f"{k}_g": out[f"{k}_kgco2e"] * 1e3 for k in ("operational", "embodied", "network", "total")}})
    total = {k: math.fsum(row[f"{k}_g"] for row in rows) for k in ("operational", "embodied", "network", "total")}
    return {
        **{f"{k}_g": v for k, v in total.items()},
        "operational_g_by_tier": {row["tier"]: row["operational_g"] for row in rows},
        "embodied_g_by_tier": {row["tier"]: row["embodied_g"] for row in rows},
        "network_g_by_link": {row["link"]: row["network_g"] for row in rows if row["link"] is not None},
        "tiers": rows, "requests": float(requests),
        "assignment": [problem.tiers[t].name for t in check_assignment(problem, assignment)],
        "engine": engine, "method": method_name if engine == "brightway" else "lca.sweep.evaluate (kg CO2-eq)",
    }
