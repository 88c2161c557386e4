"""Notebook 08 (adaptive configuration): how each table's numbers were obtained, and the page's findings.

The tables themselves come from :mod:`workbench.adaptive.tables`; this module only states their provenance
(:mod:`workbench.reports.provenance` states) and turns a replay's comparison into computed sentences.
Nothing here is measured at render time: the costs are roofline bounds on catalog devices, the variants'
accuracy and FLOPs ratios are the figures ``benchmarks/tradeoffs.py`` measured on digits, and the traces
are read from public files, so a second render gives the same numbers.
"""

from __future__ import annotations

import polars as pl

_TRACES = ("5Gophers 4G/5G walking and driving throughput and RTT; WattTime CAISO North carbon signal (vessim); "
           "requests: seeded Poisson arrivals")
_COSTS = "latency and energy: roofline lower bounds on the catalog devices (workbench.placement.zoo_costs)"
_VARIANTS = "variant accuracy and FLOPs ratios: benchmarks/tradeoffs.py on digits (test split)"
_REPLAY = "replay of the policies over the evaluation half of the traces (workbench.adaptive.replay)"

TRACE_TITLES = {"bandwidth_mbps": ("access bandwidth", "Mbit/s"), "rtt_ms": ("round-trip time", "ms"),
                "carbon_g_per_kwh": ("grid intensity", "g CO2-eq/kWh")}
"""Trace column → (panel title, axis title) of the traces figure."""

PROVENANCE = {
    "traces": {"imported": [_TRACES]},
    "configurations": {"predicted": [_COSTS], "measured": [_VARIANTS]},
    "front_by_variant": {"predicted": [_COSTS], "measured": [_VARIANTS]},
    "intervals": {"predicted": [_COSTS, _REPLAY], "imported": [_TRACES]},
    "summary": {"predicted": [_COSTS, _REPLAY], "imported": [_TRACES]},
    "device_energy_over_time": {"predicted": [_COSTS, _REPLAY], "imported": [_TRACES]},
    "energy_by_policy": {"predicted": [_COSTS, _REPLAY], "imported": [_TRACES]},
}
"""Artefact name → provenance (state → details). None of them is fresh: pass ``fresh=False``."""

_SYNTHETIC = ("synthetic traces (seeded; workbench.adaptive.example.synthetic_scenario), standing in for the public "
              "5Gophers and CAISO traces, which were not found")


def provenance(name: str, *, synthetic: bool = False) -> dict:
    """:data:`PROVENANCE` of artefact ``name``; with ``synthetic`` traces, their ``imported`` state becomes
    ``estimated`` (an assumption, not a dataset)."""
    prov = {k: list(v) for k, v in PROVENANCE[name].items()}
    if synthetic and "imported" in prov:
        prov.pop("imported")
        prov.setdefault("estimated", []).append(_SYNTHETIC)
    return prov
TRACE_TITLES = {t: (title, f"{title} [{unit}]") for t, (title, unit) in TRACE_TITLES.items()}


def findings(compared: pl.DataFrame, *, configurations: int, on_front: int, variants: int,
             synthetic: bool = False) -> list[str]:
    """Three or four computed sentences for the top of notebook 08.

    Parameters
    ----------
    compared : polars.DataFrame
        :func:`workbench.adaptive.tables.compare` of a replay summary (one row per policy, ``static`` and
        ``oracle`` among them).
    configurations, on_front, variants : int
        Size of the configuration space, of its Pareto front, and the number of model variants.
    synthetic : bool
        The replay ran on synthetic traces (the public ones were not found): the first sentence says so.

    Returns
    -------
    list of str
    """
    from workbench.adaptive.tables import best_adaptive

    rows = {r["policy"]: r for r in compared.iter_rows(named=True)}
    static, oracle = rows["static"], rows["oracle"]
    out = [f"{configurations:,} configurations ({variants} variants × split points) reduce to {on_front} on the "
           f"Pareto front of accuracy, latency and energy"
           + (" (replayed on seeded synthetic traces: the public traces were not found)." if synthetic else ".")]
    best = best_adaptive(compared)
    if best is None:
        out.append(f"No adaptive policy missed the latency target as rarely as static "
                   f"({static['slo_miss_rate']:.2%} of requests).")
    else:
        out.append(f"{best['policy'].capitalize()} uses {best['energy_saving_vs_static']:.1%} less device energy per "
                   f"request than the static choice, missing the latency target for {best['slo_miss_rate']:.2%} "
                   f"of requests (static {static['slo_miss_rate']:.2%}), at {best['accuracy']:.1%} accuracy "
                   f"(static {static['accuracy']:.1%}).")
        out.append(f"It stays {best['gap_to_oracle_energy']:.1%} above the oracle that knows the whole trace "
                   f"({oracle['device_energy_j_per_request']:.3g} J per request).")
        if "clairvoyant" in rows:
            cv = rows["clairvoyant"]
            out.append(f"A reference told each interval's actual conditions (not causal) is "
                       f"{cv['gap_to_oracle_energy']:.1%} above the oracle, so "
                       f"{_share(best['gap_to_oracle_energy'], cv['gap_to_oracle_energy'])} of {best['policy']}'s gap "
                       f"is the price of not knowing the current interval's link, which no forecast of the past "
                       f"removes.")
    policies = compared.filter(~pl.col("policy").is_in(["oracle", "clairvoyant"]))  # not the yardsticks
    greenest = policies.sort("carbon_g_per_request").row(0, named=True)
    out.append(f"The lowest carbon per request is {greenest['policy']}'s, {greenest['carbon_g_per_request']:.3g} g: "
               f"{greenest['carbon_saving_vs_static']:.2%} below static's {static['carbon_g_per_request']:.3g} g.")
    return out


def _share(gap: float, reference_gap: float) -> str:
    """The share of ``gap`` that a reference with ``reference_gap`` closes, as a percentage (or "none")."""
    if not gap > 0:
        return "none"
    return f"{min(max(1 - reference_gap / gap, 0.0), 1.0):.0%}"
