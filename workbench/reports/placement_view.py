"""Notebook 06, placement: where to split a zoo model between phone, edge and cloud, and when to run jobs.

The numbers come from :mod:`workbench.placement` (the chain semantics of ``docs/placement.md``, implemented once in
:func:`~workbench.placement.chain_semantics.evaluate`); this module only builds the problems, turns results into
polars tables and writes notes whose every number is computed from those tables:

- :func:`link_section`: bandwidth and RTT per access technology (5Gophers traces, else the documented defaults);
- :func:`zoo_problem`, :func:`with_access_link`: a zoo model on catalog devices, one tier optionally priced by this
  CPU's measured per-layer latencies from the run store; every problem carries its ``cost_sources``;
- :func:`split_table` (every monotone assignment with its metrics and its Pareto flag, latency vs carbon),
  :func:`bandwidth_sweep`, :func:`heuristics_frame`, :func:`shifting_section`, and a note for each.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from workbench.catalog import network
from workbench.catalog.devices import display_name
from workbench.errors import UnknownNameError
from workbench.placement import chain
from workbench.placement.chain_semantics import describe_assignment, evaluate
from workbench.placement.problem import ChainProblem, Link, parse_problem
from workbench.placement.shifting import shifting_benchmark
from workbench.placement.signal import load_signal
from workbench.placement.traces import RADIO_POWER_W, TRACE_DIR, link_profiles, profiles_table, trace_dir
from workbench.placement.zoo_costs import store_run
from workbench.reports.data import SHARED_DATA_ENV
from workbench.reports.sections import listed, num, percent, spelled

TECHNOLOGIES = ("3g", "4g", "5g", "wifi")
"""Access technologies compared (keys of :func:`workbench.placement.traces.link_profiles`)."""


METRICS = ("latency_ms", "device_energy_j", "energy_j", "carbon_g", "transfer_bytes")
SIGNAL_FILE = Path("vessim-carbon-signal") / "watttime_example.csv"
"""The CAISO North series under the shared data folder (WattTime marginal, lbs/MWh, 5 min)."""


@dataclass(frozen=True)
class Section:
    """A section's tables, the files it read, and its note (or why it was skipped)."""

    available: bool
    note: str
    table: pl.DataFrame | None = None
    files: tuple[Path, ...] = ()
    profiles: dict | None = None
    all_profiles: dict | None = None
    """Every technology :func:`link_section` could give, also those not asked for (e.g. for the sweep)."""

    def profile(self, technology: str):
        """The link profile of ``technology``.

        Raises
        ------
        UnknownNameError
            A technology this section has no profile of (e.g. 5G without the traces).
        """
        found = self.all_profiles or {}
        if technology not in found:
            raise UnknownNameError("link technology", technology, found,
                                   "5G needs the 5Gophers traces in datasets_dir; 3G and Wi-Fi have defaults")
        return found[technology]


def link_section(data_dir, technologies=TECHNOLOGIES) -> Section:
    """Link profiles of ``technologies``: from the 5Gophers traces where ``data_dir`` holds them, else the defaults."""
    has_traces = data_dir is not None and (Path(data_dir) / TRACE_DIR).is_dir()
    profiles = link_profiles(data_dir if has_traces else None)
    present = {t: profiles[t] for t in technologies if t in profiles}
    missing = [t for t in technologies if t not in profiles]
    files = tuple(sorted(trace_dir(data_dir).glob("*.csv"))) if has_traces else ()
    where = (f"the 5Gophers traces in `{trace_dir(data_dir)}` where they have a figure, else the defaults"
             if has_traces else
             f"the documented defaults only (no `{TRACE_DIR}/` found: set `datasets_dir` or ${SHARED_DATA_ENV} "
             "to the project's `../shared/data` for the traces)")
    figures = "; ".join(f"{t}: {num(p.bandwidth_mbps, '.4g')} Mbit/s, RTT {num(p.rtt_ms, '.4g')} ms, radio "
                        f"{num(RADIO_POWER_W.get(t, 0.0), '.3g')} W" for t, p in present.items())
    note = (f"**Links** (median bandwidth and RTT of each access technology) from {where}: {figures}. The traces "
            "are downlink throughput, optimistic for offloading an input uplink.")
    if missing:
        note += f" Left out (no figure without the traces): {', '.join(missing)}."
    return Section(True, note, profiles_table(present), files, present, profiles)


def zoo_problem(model: str, tiers, devices, intensities, *, store=None, measured_tier: str | None = None,
                measured_device: str | None = None, backhaul_mbps: float = 1000.0,
                backhaul_rtt_ms: float = 10.0) -> ChainProblem:
    """A chain problem of zoo ``model`` on catalog ``devices`` (roofline costs), one per tier in ``tiers``.

    ``measured_tier`` (a name in ``tiers``) is priced instead by the per-layer latencies measured on
    ``measured_device`` (this CPU's ``device_name``) where ``store`` holds such a run (else it keeps its catalog
    device and roofline costs). The first link is a placeholder for :func:`with_access_link`; the others are a
    wired backhaul of ``backhaul_mbps`` [Mbit/s] and ``backhaul_rtt_ms`` [ms].
    """
    tiers, devs = list(tiers), list(devices)
    costs = ["roofline"] * len(tiers)
    if measured_tier and measured_device and store is not None and store_run(store, model, measured_device) is not None:
        if measured_tier not in tiers:
            raise UnknownNameError("measured tier", measured_tier, tiers)
        i = tiers.index(measured_tier)
        devs[i], costs[i] = measured_device, "store"
    d = {"model": {"zoo": model} | ({"store": str(store)} if store is not None else {}),
         "tiers": [{"name": n, "device": dv, "costs": c, "carbon_intensity_g_per_kwh": float(g)}
                   for n, dv, c, g in zip(tiers, devs, costs, intensities, strict=True)],
         "links": [{"bandwidth_mbps": 1.0, "rtt_ms": 0.0}] + [
             {"bandwidth_mbps": float(backhaul_mbps), "rtt_ms": float(backhaul_rtt_ms), "technology": "fixed"}
             for _ in tiers[2:]]}
    return parse_problem(d, source=f"zoo {model}")


def with_access_link(problem: ChainProblem, technology: str, bandwidth_mbps: float, rtt_ms: float) -> ChainProblem:
    """``problem`` with its first link set to an access link: radio power of
    :data:`workbench.placement.traces.RADIO_POWER_W` and the
    catalog's network energy [kWh/GB] of ``technology`` (0 where the catalog has none, e.g. 3G)."""
    try:
        kwh = network.energy_kwh_per_gb(technology)
    except UnknownNameError:
        kwh = 0.0
    link = Link(bandwidth_mbps=float(bandwidth_mbps), rtt_ms=float(rtt_ms), tx_power_w=RADIO_POWER_W.get(technology, 0.0),
                kwh_per_gb=kwh, technology=technology)
    return replace(problem, links=(link, *problem.links[1:]))


def short_sources(problem: ChainProblem) -> str:
    """Each tier's cost source in a few words: ``phone: roofline, edge: store (measured), cloud: roofline``."""
    labels = problem.cost_sources or (problem.cost_source,) * len(problem.tiers)
    kind = lambda lab: "store (measured)" if lab.startswith("store") else lab.split(" ")[0]  # noqa: E731
    return ", ".join(f"{t.name}: {kind(lab)}" for t, lab in zip(problem.tiers, labels, strict=True))


def cost_sources_table(problems: dict[str, ChainProblem]) -> pl.DataFrame:
    """One row per model (the key) × tier: its device (display name) and the full label of where its per-layer
    costs came from."""
    rows = [{"model": m, "tier": t.name, "tier_index": i, "device": display_name(t.device),
             "cost_source": (p.cost_sources or (p.cost_source,) * len(p.tiers))[i]}
            for m, p in problems.items() for i, t in enumerate(p.tiers)]
    return pl.DataFrame(rows).sort("model", "tier_index")


def cost_note(problems: dict[str, ChainProblem]) -> str:
    """Which source priced each tier of each model, and the bias that mixing sources brings."""
    table = cost_sources_table(problems)
    parts = [f"{r['model']}, {r['tier']} ({r['device']}): {r['cost_source']}" for r in table.iter_rows(named=True)]
    measured = table.filter(pl.col("cost_source").str.starts_with("store"))
    bias = (" Measured latencies include framework overheads that the roofline lower bounds leave out, so the "
            f"comparison favours the roofline tiers over the measured tier(s) ({listed(measured, 'tier')})."
            if measured.height and measured.height < table.height else "")
    return "**Cost sources** per model and tier: " + "; ".join(parts) + "." + bias


def _label(problem: ChainProblem, model: str, technology: str) -> dict:
    return {"model": model, "technology": technology, "costs": short_sources(problem)}


def is_measured(problems) -> bool:
    """Whether any tier of ``problems`` (a dict of problems) is priced by measured store costs."""
    return any(lab.startswith("store") for p in problems.values() for lab in p.cost_sources)


def this_cpu_device() -> str:
    """This machine's ``device_name`` as the profiler records it (the store's key for runs made here)."""
    from workbench.measure.profiler import device_info  # imports torch

    return device_info()["device_name"]


def _metrics_row(problem: ChainProblem, a) -> dict:
    m = evaluate(problem, a)
    counts = {f"{t.name}_layers": sum(1 for x in a if x == i) for i, t in enumerate(problem.tiers)}
    return {**counts, "assignment": describe_assignment(problem, a), **{k: float(m[k]) for k in METRICS},
            "feasible": m["feasible"]}


def non_dominated(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where no other point is at least as good in both ``x`` and ``y`` and better in one (minimising both)."""
    x, y = np.asarray(x, float)[:, None], np.asarray(y, float)[:, None]
    le = (x.T <= x) & (y.T <= y)
    lt = (x.T < x) | (y.T < y)
    return ~(le & lt).any(axis=1)


def split_table(problems: dict[tuple[str, str], ChainProblem]) -> pl.DataFrame:
    """Every monotone assignment of each problem (key: model, technology) with its metrics, and ``pareto``: whether it
    is on the front of latency vs carbon among the feasible assignments of the same model and technology."""
    frames = []
    for (model, tech), p in problems.items():
        rows = [{**_label(p, model, tech), **_metrics_row(p, a)}
                for a in itertools.combinations_with_replacement(range(len(p.tiers)), len(p.layers))]
        f = pl.DataFrame(rows)
        ok = f["feasible"].to_numpy()
        front = np.zeros(f.height, bool)
        front[ok] = non_dominated(f["latency_ms"].to_numpy()[ok], f["carbon_g"].to_numpy()[ok])
        frames.append(f.with_columns(pl.Series("pareto", front)))
    tiers = [f"{t.name}_layers" for t in next(iter(problems.values())).tiers]
    return pl.concat(frames).sort(["model", "technology", *[pl.col(c) for c in tiers]],
                                  descending=[False, False] + [True] * len(tiers))


def single_splits(splits: pl.DataFrame, source_tier: str, remote_tier: str) -> pl.DataFrame:
    """The rows of :func:`split_table` that cut once: the first layers on ``source_tier``, the rest on
    ``remote_tier`` (all on the source included)."""
    others = [c for c in splits.columns if c.endswith("_layers") and c not in (f"{source_tier}_layers",
                                                                                f"{remote_tier}_layers")]
    keep = pl.all_horizontal([pl.col(c) == 0 for c in others]) if others else pl.lit(True)
    return splits.filter(keep).sort("model", "technology", f"{source_tier}_layers")


def best_rows(splits: pl.DataFrame, objective: str) -> pl.DataFrame:
    """The feasible assignment with the least ``objective`` per model × technology (the first on ties)."""
    return (splits.filter("feasible").sort("model", "technology", objective, maintain_order=True)
            .group_by("model", "technology", maintain_order=True).first())


def split_note(splits: pl.DataFrame, objectives=("latency_ms", "device_energy_j", "carbon_g")) -> str:
    """The best assignment per objective, model and technology, with its figure (all from ``splits``)."""
    units = {"latency_ms": "ms", "device_energy_j": "J", "energy_j": "J", "carbon_g": "g"}
    parts = []
    for o in objectives:
        best = best_rows(splits, o)
        parts.append(f"least {o}: " + "; ".join(
            f"{r['model']} on {r['technology']} {num(r[o], '.3g')} {units[o]} ({r['assignment']})"
            for r in best.iter_rows(named=True)))
    return (f"**Best split** over the {spelled(splits.height)} assignments evaluated (costs: "
            f"{listed(splits, 'costs')}). " + ". ".join(parts) + ".")


def pareto_note(splits: pl.DataFrame) -> str:
    """Size and span of the latency–carbon front per model × technology, and the optimum of each objective on it."""
    parts = []
    for key, g in splits.filter("feasible").group_by("model", "technology", maintain_order=True):
        front = g.filter("pareto")
        parts.append(f"{key[0]} on {key[1]}: {spelled(front.height)} of {spelled(g.height)} assignments, latency "
                     f"{num(front['latency_ms'].min(), '.3g')}–{num(front['latency_ms'].max(), '.3g')} ms, carbon "
                     f"{num(front['carbon_g'].min(), '.3g')}–{num(front['carbon_g'].max(), '.3g')} g"
                     + (" (one assignment is both the fastest and the lowest in carbon)" if front.height == 1 else ""))
    return ("**Pareto front of latency vs carbon** (non-dominated feasible assignments; the fastest and the "
            f"lowest-carbon assignments are on it; costs: {listed(splits, 'costs')}): " + "; ".join(parts) + ".")


def bandwidth_sweep(problem: ChainProblem, model: str, technology: str, rtt_ms: float, bandwidths_mbps,
                    objectives=("latency_ms", "device_energy_j", "carbon_g")) -> pl.DataFrame:
    """The optimal assignment per objective at each access bandwidth [Mbit/s], the RTT and radio of ``technology``."""
    rows = []
    for bw in sorted(float(b) for b in bandwidths_mbps):
        p = with_access_link(problem, technology, bw, rtt_ms)
        for o in objectives:
            r = chain.solve(p, o)
            idx = [p.tier_names.index(t) for t in r["assignment"]]
            rows.append({**_label(p, model, technology), "bandwidth_mbps": bw, "rtt_ms": float(rtt_ms), "objective": o,
                         "value": float(r["value"]), **_metrics_row(p, idx)})
    return pl.DataFrame(rows).sort("model", "objective", "bandwidth_mbps")


def sweep_note(sweep: pl.DataFrame) -> str:
    """Per model and objective, the least bandwidth at which the optimum moves layers off the source tier."""
    src = next(c for c in sweep.columns if c.endswith("_layers"))
    parts = []
    for key, g in sweep.group_by("model", "objective", maintain_order=True):
        n = g["feasible"].len()
        total = int(g.select(pl.sum_horizontal([c for c in g.columns if c.endswith("_layers")])).row(0)[0])
        off = g.filter(pl.col(src) < total)
        where = (f"from {num(off['bandwidth_mbps'].min(), '.3g')} Mbit/s on" if off.height else
                 f"never (all on the {src.removesuffix('_layers')} at each of the {spelled(n)} bandwidths)")
        parts.append(f"{key[0]}, {key[1]}: offloads {where}")
    return (f"**Best split vs bandwidth** ({listed(sweep, 'technology')} RTT {listed(sweep, 'rtt_ms')} ms and radio "
            f"power; costs: {listed(sweep, 'costs')}): " + "; ".join(parts) + ".")


def heuristics_frame(problems: dict[tuple[str, str], ChainProblem], objectives=("latency_ms", "device_energy_j",
                                                                    "carbon_g")) -> pl.DataFrame:
    """The optimum and every heuristic per technology × objective (:func:`workbench.placement.chain.heuristics_table`)."""
    rows = []
    for (model, tech), p in problems.items():
        for o in objectives:
            for r in chain.heuristics_table(p, o):
                idx = [p.tier_names.index(t) for t in r["assignment"]]
                rows.append({**_label(p, model, tech), "objective": o, "solver": r["solver"], "optimal": r["optimal"],
                             "value": float(r["value"]), "gap_to_optimum": float(r["gap_to_optimum"]),
                             "feasible": r["feasible"], "assignment": describe_assignment(p, idx)})
    return pl.DataFrame(rows).sort("model", "technology", "objective", "optimal", "solver",
                                   descending=[False, False, False, True, False])


def heuristics_note(table: pl.DataFrame) -> str:
    """Per heuristic, how often it matches the optimum and its largest gap (from ``table``)."""
    h = table.filter(~pl.col("optimal"))
    parts = []
    for key, g in h.group_by("solver", maintain_order=True):
        hits = g.filter(pl.col("gap_to_optimum") <= 1e-12).height
        parts.append(f"{key[0]} optimal in {spelled(hits)} of {spelled(g.height)} cases, largest gap "
                     f"{percent(g['gap_to_optimum'].max())}")
    return (f"**Heuristics vs the optimum** (gap = (value − optimum) / optimum; {listed(table, 'model')} on "
            f"{listed(table, 'technology')}; costs: {listed(table, 'costs')}): " + "; ".join(sorted(parts)) + ".")


def shifting_section(data_dir, *, forecast_error: float = 0.05, repeats: int = 3, seed: int = 0) -> Section:
    """Time-shifting savings of the benchmark job set on CAISO North, without and with forecast error, or a
    note naming the fix when the series is absent."""
    path = Path(data_dir) / SIGNAL_FILE if data_dir is not None else None
    if path is None or not path.is_file():
        return Section(False, f"**Skipped: time shifting** — no `{SIGNAL_FILE}` (searched "
                              f"`{data_dir if data_dir is not None else 'no datasets folder found'}`). To enable it, "
                              f"set the notebook parameter `datasets_dir` (or ${SHARED_DATA_ENV}) to the project's "
                              "`../shared/data`.")
    signal = load_signal(path)
    b = shifting_benchmark(signal, forecast_error=forecast_error, repeats=repeats, seed=seed)
    table = pl.DataFrame([{"rule": k, "forecast_error": 0.0, "saving": b[f"shift_saving_{k}_oracle"], "draws": 1}
                          for k in ("noninterruptible", "interruptible")]
                         + [{"rule": k, "forecast_error": float(forecast_error), "saving": b[f"shift_saving_{k}"],
                             "draws": repeats} for k in ("noninterruptible", "interruptible")]
                         ).with_columns(pl.lit(b["n_jobs"]).alias("jobs")).sort("rule", "forecast_error")
    sav = {(r["rule"], r["forecast_error"]): r["saving"] for r in table.iter_rows(named=True)}
    note = (f"**Time shifting** on `{path.name}` ({spelled(len(signal))} slots of {num(signal.step_s / 60, 'g')} min, "
            f"read as {signal.unit}, converted to g/kWh; mean {num(float(signal.g_per_kwh.mean()), '.4g')} g/kWh): {spelled(b['n_jobs'])} jobs, {b['jobs']}. Saving against running at "
            f"release: non-interruptible {percent(sav[('noninterruptible', 0.0)])} with a perfect forecast, "
            f"{percent(sav[('noninterruptible', float(forecast_error))])} with {percent(forecast_error)} forecast "
            f"error (mean of {spelled(repeats)} draw{'' if repeats == 1 else 's'}); interruptible {percent(sav[('interruptible', 0.0)])} and "
            f"{percent(sav[('interruptible', float(forecast_error))])}.")
    return Section(True, note, table, (path,))


def bandwidth_sweeps(problems: dict[str, ChainProblem], technology: str, rtt_ms: float, bandwidths_mbps,
                     objectives=("latency_ms", "device_energy_j", "carbon_g")) -> pl.DataFrame:
    """:func:`bandwidth_sweep` of every model's problem (key: model), one table."""
    return pl.concat([bandwidth_sweep(p, m, technology, rtt_ms, bandwidths_mbps, objectives)
                      for m, p in problems.items()])
