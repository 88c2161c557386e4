"""Key findings of each report page: three to five sentences computed from the page's own tables.

Each function takes the tables a notebook already built and returns the sentences its page opens
with (:meth:`workbench.reports.output.NotebookOutput.findings`); the index page repeats them. Every
number is computed here from those tables, never typed: a finding that cannot be computed (a
skipped dataset, an empty table) is left out rather than written with a stale number.
"""

from __future__ import annotations

import polars as pl

from workbench.reports.provenance import ENERGY_METHOD_STATE as _STATE
from workbench.reports.sections import listed, num, percent, spelled


def _ratio_range(wide: pl.DataFrame, metric: str, ratio_col: str) -> tuple[float, str, float, str] | None:
    r = wide.filter((pl.col("metric") == metric) & pl.col(ratio_col).is_not_null()).sort(ratio_col)
    if r.height == 0:
        return None
    return r[ratio_col][0], r["model"][0], r[ratio_col][-1], r["model"][-1]


def _energy_phrase(provenance_values) -> str:
    states = sorted({v for v in provenance_values if v})
    if states == ["estimated"]:
        return "TDP estimates (rated power × load; no power sensor here), not measurements"
    if states == ["measured"]:
        return "measured with a power sensor"
    return "a mix of " + ", ".join(states) if states else "not available"


def overview_findings(size: pl.DataFrame, measured: pl.DataFrame, runs: pl.DataFrame, baseline: str) -> list[str]:
    """Findings of 00: weight and latency ratios of the scenarios to ``baseline``, and what the energy is."""
    out = []
    others = [c.split("_")[1] for c in size.columns if c.startswith("ratio_")]
    for other in others[:1]:
        col = f"ratio_{other}_to_{baseline}"
        w = _ratio_range(size, "weight_bytes", col)
        if w:
            out.append(f"{other} stores {num(w[0], '.2f')}× ({w[1]}) to {num(w[2], '.2f')}× ({w[3]}) the weight bytes "
                       f"of {baseline} across {spelled(size['model'].n_unique())} models.")
        lat = _ratio_range(measured, "latency_ms_p50", col)
        if lat:
            r = measured.filter((pl.col("metric") == "latency_ms_p50") & pl.col(col).is_not_null())
            slower = r.filter(pl.col(col) > 1).height
            out.append(f"Its median latency is {num(lat[0], '.2f')}× ({lat[1]}) to {num(lat[2], '.2f')}× ({lat[3]}) "
                       f"that of {baseline} on this CPU: slower for {spelled(slower)} of {spelled(r.height)} models.")
        e = _ratio_range(measured, "energy_j", col)
        if e:
            out.append(f"Energy per inference changes by {num(e[0], '.2f')}× to {num(e[2], '.2f')}×; these energy "
                       f"figures are {_energy_phrase(runs['energy_method'].replace_strict(_STATE, default=None).to_list())}.")
    fast = runs.sort("latency_ms_p50").row(0, named=True) if runs.height else None
    if fast:
        slow = runs.sort("latency_ms_p50").row(-1, named=True)
        out.append(f"Latency spans {num(fast['latency_ms_p50'], '.3g')} ms ({fast['model']} {fast['dtype']}) to "
                   f"{num(slow['latency_ms_p50'], '.3g')} ms ({slow['model']} {slow['dtype']}) per call.")
    return out


def resource_findings(measured: pl.DataFrame, shares: pl.DataFrame) -> list[str]:
    """Findings of 01: latency and memory ranges, what the energy is, where FLOPs misjudge time."""
    out = []
    if measured.height:
        m = measured.sort("memory_peak_bytes")
        out.append(f"Peak memory of one call ranges from {num(m['memory_peak_bytes'][0] / 1e6, '.3g')} MB "
                   f"({m['model'][0]} {m['dtype'][0]}) to {num(m['memory_peak_bytes'][-1] / 1e6, '.3g')} MB "
                   f"({m['model'][-1]} {m['dtype'][-1]}).")
        t = measured.sort("throughput_per_s", descending=True)
        out.append(f"Throughput is highest for {t['model'][0]} {t['dtype'][0]} at {num(t['throughput_per_s'][0], '.3g')} "
                   f"inferences/s and lowest for {t['model'][-1]} {t['dtype'][-1]} at "
                   f"{num(t['throughput_per_s'][-1], '.3g')} inferences/s.")
        cv = measured["latency_cv"].drop_nulls()
        if cv.len():
            out.append(f"Timing spread over the repeats (coefficient of variation) is {percent(cv.median())} in the "
                       f"median configuration and {percent(cv.max())} at worst.")
        out.append(f"Energy figures are {_energy_phrase(measured['energy_provenance'].to_list())}.")
    fp32 = shares.filter(pl.col("dtype") == "fp32") if shares.height else shares
    if fp32.height:
        g = fp32.with_columns((pl.col("latency_share") - pl.col("flops_share")).alias("gap")).sort("gap")
        r = g.row(-1, named=True)
        out.append(f"FLOPs under-estimate {r['layer_type']} most: {percent(r['latency_share'])} of {r['model']}'s "
                   f"fp32 latency for {percent(r['flops_share'])} of its FLOPs.")
    return out[:5]


def datasets_findings(data, twins: pl.DataFrame, energy: pl.DataFrame | None, latency: pl.DataFrame | None,
                      nn_by_device: pl.DataFrame | None) -> list[str]:
    """Findings of 02: what was read, the continuum's spread for the same models, energy per token by scope."""
    out = []
    if data.frames:
        out.append(f"{spelled(len(data.frames)).capitalize()} public datasets were read, "
                   f"{sum(f.height for f in data.frames.values()):,} rows in all; each keeps its source and version.")
    else:
        out.append("No public dataset was found, so only the runs of this machine are shown.")
    if twins.height and "latency_x_own" in twins.columns:
        t = twins.filter(pl.col("latency_x_own").is_not_null()).sort("latency_x_own")
        if t.height:
            out.append(f"For the same models, the platforms' median latency is {num(t['latency_x_own'][0], '.3g')}× "
                       f"({t['platform'][0]}, {t['zoo_model'][0]}) to {num(t['latency_x_own'][-1], '.3g')}× "
                       f"({t['platform'][-1]}, {t['zoo_model'][-1]}) that of this CPU.")
    if energy is not None and energy.height:
        tok = energy.filter(pl.col("energy_per") == "token")
        for scope in sorted(tok["scope"].unique().to_list()):
            s = tok.filter(pl.col("scope") == scope)
            out.append(f"LLM energy per output token, {scope}: median {num(s['energy_j_median'].median(), '.3g')} J "
                       f"over {spelled(s['device'].n_unique())} devices (GPU-only and whole-system figures are "
                       "not comparable).")
    if latency is not None and latency.height:
        r = latency.sort("latency_ms")
        out.append(f"MLPerf Inference {r['model'][0]} SingleStream latency spans {num(r['latency_ms'][0], '.3g')} ms "
                   f"({r['device_name'][0]}) to {num(r['latency_ms'][-1], '.3g')} ms ({r['device_name'][-1]}).")
    return out[:5]


def cost_model_findings(own_metrics: pl.DataFrame, predicted: pl.DataFrame, accuracy_by_class: pl.DataFrame) -> list[str]:
    """Findings of 03: the best cost model on unseen families, interval coverage, the spread across device classes."""
    out = []
    allf = own_metrics.filter(pl.col("model_family") == "all").sort("mape")
    if allf.height:
        b, w = allf.row(0, named=True), allf.row(-1, named=True)
        out.append(f"On families it never saw, the {b['kind']} cost model predicts this CPU's latency with "
                   f"{percent(b['mape'])} MAPE ({percent(b['within10'])} within ±10 %), against {percent(w['mape'])} "
                   f"for {w['kind']}.")
        if b.get("coverage") is not None:
            out.append(f"Its conformal intervals cover {percent(b['coverage'])} of the measurements "
                       f"(median interval factor {num(b.get('median_interval_factor'), '.3g')}).")
    if predicted.height:
        p = predicted.sort("predicted_latency_ms")
        out.append(f"Predicted without running them, the zoo models range from {num(p['predicted_latency_ms'][0], '.3g')} ms "
                   f"({p['model'][0]}) to {num(p['predicted_latency_ms'][-1], '.3g')} ms ({p['model'][-1]}) per call.")
    if accuracy_by_class.height and "mape" in accuracy_by_class.columns:
        a = accuracy_by_class.filter(pl.col("mape").is_not_null()).sort("mape")
        if a.height:
            out.append(f"Across device classes MAPE runs from {percent(a['mape'][0])} ({a['device_class'][0]}, "
                       f"{a['evaluation'][0]}) to {percent(a['mape'][-1])} ({a['device_class'][-1]}, "
                       f"{a['evaluation'][-1]}).")
    return out[:5]


def compression_findings(counted: pl.DataFrame, sweep: pl.DataFrame, summary: dict) -> list[str]:
    """Findings of 05: size saved vs accuracy lost per method (with Wilson intervals), the cascade's saving."""
    out = []
    base = counted.filter(pl.col("strategy") == "baseline")
    derived = counted.filter(pl.col("strategy") != "baseline")["model"].to_list()
    if base.height:  # the baseline the variants were derived from (a distillation teacher is a baseline too)
        b = max(base.iter_rows(named=True), key=lambda r: (derived.count(r["model"]), r["model"]))
        out.append(f"The baseline scores {percent(b['accuracy'])} test accuracy (95 % Wilson interval "
                   f"{percent(b['accuracy_low'])}–{percent(b['accuracy_high'])}, {b['test_samples']} samples).")
        c = counted.filter((pl.col("strategy") != "baseline")).with_columns(
            (pl.col("weight_bytes") / b["weight_bytes"]).alias("size_ratio"))
        if c.height:
            s = c.sort("size_ratio").row(0, named=True)
            out.append(f"{s['strategy']} keeps {percent(s['size_ratio'])} of the weight bytes at {percent(s['accuracy'])} "
                       f"accuracy ({percent(s['accuracy_low'])}–{percent(s['accuracy_high'])}).")
            overl = c.filter(pl.col("accuracy_high") >= b["accuracy_low"])
            out.append(f"{spelled(overl.height).capitalize()} of {spelled(c.height)} compressed variants have accuracy "
                       "intervals overlapping the baseline's: their accuracy differences are within sampling noise.")
    if summary.get("cascade_flops_reduction") is not None:
        drop = summary.get("cascade_accuracy_drop_pt")
        change = ("the same accuracy" if drop is None or abs(drop) < 1e-9 else
                  f"{num(abs(drop), '.2g')} points {'less' if drop > 0 else 'more'} accuracy")
        out.append(f"The cascade at threshold {num(summary.get('cascade_threshold'), 'g')} needs "
                   f"{num(summary['cascade_flops_reduction'], '.3g')}× fewer expected FLOPs than the large model alone, "
                   f"at {change}.")
    return out[:5]


def placement_findings(splits: pl.DataFrame, sweep: pl.DataFrame, heur: pl.DataFrame, shift) -> list[str]:
    """Findings of 06: best split per link, where the optimum moves with bandwidth, heuristics' gap, shifting."""
    out = []
    feas = splits.filter("feasible") if "feasible" in splits.columns else splits
    if feas.height:
        best = feas.sort("latency_ms").group_by("technology", maintain_order=True).first().sort("technology")
        if best["assignment"].n_unique() == 1:
            lo, hi = num(best["latency_ms"].min(), ".3g"), num(best["latency_ms"].max(), ".3g")
            out.append(f"On every access link ({listed(best, 'technology')}) the fastest assignment is "
                       f"{best['assignment'][0]} ({lo if lo == hi else f'{lo}–{hi}'} ms).")
        else:
            out.append("Fastest assignment per access link: " + "; ".join(
                f"{r['technology']} {num(r['latency_ms'], '.3g')} ms ({r['assignment']})"
                for r in best.iter_rows(named=True)) + ".")
    h = heur.filter(~pl.col("optimal"))
    if h.height:
        w = h.sort("gap_to_optimum").row(-1, named=True)
        gap = w["gap_to_optimum"]
        above = (f"{num(1 + gap, ',.0f' if gap > 99 else '.3g')}× the optimum" if gap > 1
                 else f"{percent(gap)} above the optimum")
        hits = h.filter(pl.col("gap_to_optimum") <= 1e-12).height
        out.append(f"Heuristics reach the optimum in {spelled(hits)} of {spelled(h.height)} cases; the worst is "
                   f"{w['solver']} on {w['technology']} for {w['objective']}, at {above}.")
    if sweep.height:
        moves = (sweep.group_by("model", "objective").agg((pl.col("assignment").n_unique() - 1).alias("moves"))
                      .sort("moves"))
        r = moves.row(-1, named=True)
        out.append(f"Over {spelled(sweep['bandwidth_mbps'].n_unique())} access bandwidths "
                   f"({num(sweep['bandwidth_mbps'].min(), 'g')}–{num(sweep['bandwidth_mbps'].max(), 'g')} Mbit/s) the "
                   f"optimum for {r['objective']} takes {spelled(r['moves'] + 1)} different assignments ({r['model']}).")
    if getattr(shift, "available", False):
        t = shift.table.sort("saving")
        out.append(f"Carbon-aware time shifting saves {percent(t['saving'][0])} to {percent(t['saving'][-1])} of the "
                   "emissions of running at release (CAISO North).")
    return out[:5]
