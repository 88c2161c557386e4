"""The worked example of ``docs/adaptive.md`` (benchmark and notebook 08): a split model × strategy variants on
5Gophers mobility and CAISO North carbon.

:func:`example_space`: a zoo model split between a battery device and a remote tier over a 5G access link
(per-layer costs from :mod:`workbench.placement.zoo_costs`, roofline lower bounds unless a store holds measured
runs), × the strategy variants of :data:`VARIANTS` (or a store's measured variant rows,
:func:`variants_from_store`), Pareto-pruned. :func:`example_scenario`: the 5Gophers walking
trace then the two car traces (Verizon), stretched by ``time_scale``, resampled to ``step_s``; Verizon RTT in file
order; CAISO North; Poisson requests; optional battery. Every assumption is stated in the provenance.
:func:`synthetic_scenario`: seeded stand-in traces of the same shape for a checkout without the public data
(a fresh clone without ``../shared/data``), labelled as assumptions, never as data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from workbench.adaptive import traces as tr
from workbench.adaptive.pareto import pareto_prune
from workbench.adaptive.scenario import Scenario, battery, make_scenario
from workbench.adaptive.space import ConfigurationSpace, space_from_variants, variants_from_rows
from workbench.errors import ParameterError
from workbench.placement.problem import ChainProblem, parse_problem
from workbench.placement.traces import RADIO_POWER_W
from workbench.store import Store

TRADEOFFS = ("benchmarks/tradeoffs.py, 2026-11-27 (docs/strategies.md): digits test accuracy, FLOPs ratio to the "
             "variant's own baseline")
"""Where the variants' figures come from."""

VARIANTS = [
    # cnn 16-32 (the cascade's large model): 618,496 FLOPs, 97.2 %
    {"variant": "cnn-fp32", "accuracy": 0.972, "compute_scale": 1.0, "cut_scale": 1.0, "threshold": None},
    # cascade mlp → cnn at t = 0.7 (chosen on validation): 63,255 expected FLOPs, 97.5 %
    {"variant": "cascade-t0.7", "accuracy": 0.975, "compute_scale": 63_255 / 618_496, "cut_scale": 1.0,
     "threshold": 0.7},
    # early-exit cnn 8-32-64 at t = 0.85: 114,654 of 677,888 FLOPs, 96.4 %
    {"variant": "early-exit-t0.85", "accuracy": 0.964, "compute_scale": 114_654 / 677_888, "cut_scale": 1.0,
     "threshold": 0.85},
    # mlp 128-64 structured pruning 0.5: 12,928 of 34,048 FLOPs, 95.6 %
    {"variant": "mlp-pruned-0.5", "accuracy": 0.956, "compute_scale": 12_928 / 34_048, "cut_scale": 1.0,
     "threshold": None},
    # mlp int8 (dynamic): same FLOPs, 95.8 %; its cuts travel as int8 (a quarter)
    {"variant": "mlp-int8", "accuracy": 0.958, "compute_scale": 1.0, "cut_scale": 0.25, "threshold": None},
]
"""Strategy variants and their measured effects (on digits; transferred onto the split model's costs)."""


def example_problem(model: str = "mobilenetv2-w1.5-d3-r128", device: str = "raspberry-pi-4b",
                    remote: str = "a100-sxm4-40gb", store=None) -> ChainProblem:
    """The split problem: ``model`` on ``device`` → ``remote`` over a 5G link (LTE radio power, 5G kWh/GB).

    The link's 100 Mbit/s and 80 ms are placeholders: the traces replace them.
    """
    return parse_problem({
        "name": f"{model} on {device} → {remote}",
        "model": {"zoo": model, **({"store": str(store)} if store else {})},
        "tiers": [{"name": "device", "device": device, "carbon_intensity_g_per_kwh": 0},
                  {"name": "remote", "device": remote, "carbon_intensity_g_per_kwh": 0}],
        "links": [{"bandwidth_mbps": 100.0, "rtt_ms": 80.0, "tx_power_w": RADIO_POWER_W["5g"], "technology": "5g"}],
    })


def example_space(problem: ChainProblem, variants=None) -> tuple[ConfigurationSpace, ConfigurationSpace]:
    """Every variant (default :data:`VARIANTS`, sourced to :data:`TRADEOFFS`) at every split of ``problem``.

    Returns
    -------
    (ConfigurationSpace, ConfigurationSpace)
        The full space and its Pareto-pruned subset.
    """
    rows = variants if variants is not None else [{**v, "source": TRADEOFFS} for v in VARIANTS]
    full = space_from_variants(problem, rows)
    return full, pareto_prune(full)


def variants_from_store(store, *, scale_by: str = "flops", batch_size: int = 1, models=None):
    """The strategy variant rows of a run store (``workbench compress`` and the other strategy commands) as a
    variants table (:func:`~workbench.adaptive.space.variants_from_rows`), instead of :data:`VARIANTS`.

    Parameters
    ----------
    store : path-like or Store
        The run store.
    scale_by : str
        ``"flops"``, ``"latency_ms_p50"`` or ``"energy_j"`` (the variant's ratio to its baseline's).
    batch_size : int
        Rows at this batch size.
    models : list of str, optional
        Only these models' rows (default: every model with a baseline row).

    Returns
    -------
    polars.DataFrame
        :data:`~workbench.adaptive.space.VARIANT_KEYS`; ``source`` names the store.

    Raises
    ------
    ParameterError
        No strategy row with a measured accuracy in the store, or none of ``models``.
    """
    st = Store.coerce(store)
    rows = st.read().filter(pl.col("strategy").is_not_null(), pl.col("accuracy").is_not_null(),
                            pl.col(scale_by).is_not_null())
    if models is not None:
        rows = rows.filter(pl.col("model").is_in(list(models)))
    if rows.is_empty():
        raise ParameterError(f"the store {st.path} holds no strategy row with an accuracy and {scale_by}"
                             f"{' for ' + ', '.join(models) if models else ''}. Fix: run `workbench compress` (or "
                             "another strategy command) with --store first.")
    # several runs of one variant: the latest row counts
    rows = rows.sort("timestamp_utc").unique(["model", "strategy", "batch_size"], keep="last", maintain_order=True)
    v = variants_from_rows(rows, scale_by=scale_by, batch_size=batch_size)
    return v.with_columns(source=pl.format("{} (store {})", pl.col("source"), pl.lit(str(st.path))))


def example_scenario(data_dir, *, time_scale: float = 300.0, step_s: float = 300.0, rate_per_s: float = 0.2,
                     target_ms: float = 150.0, seed: int = 0, battery_wh: float | None = None,
                     harvest_w: float = 0.0, intervals: int | None = None, deferrable_fraction: float = 0.0,
                     defer_deadline_intervals: int = 0) -> Scenario:
    """The example's traces on one grid (see the module docstring).

    Parameters
    ----------
    data_dir : path-like
        The shared data directory (5Gophers and vessim folders).
    time_scale : float
        Seconds per trace second (300: one measured second stands for 5 minutes, an assumption).
    step_s : float
        Interval length [s].
    rate_per_s : float
        Poisson request rate [1/s].
    target_ms : float
        Latency target [ms].
    seed : int
        Seed of the requests.
    battery_wh, harvest_w : float, optional
        A battery [Wh] (full at the start) and a constant harvest [W].
    intervals : int, optional
        Fewer intervals than the traces cover.
    deferrable_fraction, defer_deadline_intervals
        Deferrable batch work (:func:`~workbench.adaptive.scenario.make_scenario`); default none.

    Returns
    -------
    Scenario
    """
    data = Path(data_dir)
    parts = [tr.gophers_bandwidth(data, "walking", time_scale=time_scale),
             tr.gophers_bandwidth(data, "car_1", carrier="verizon", time_scale=time_scale, max_gap_steps=10),
             tr.gophers_bandwidth(data, "car_2", carrier="verizon", time_scale=time_scale, max_gap_steps=10)]
    raw = tr.concat(parts, max_gap_steps=10)
    n = int((raw.times_s[-1] - raw.times_s[0] + time_scale) // step_s)
    n = min(n, intervals) if intervals else n
    bw = tr.resample(raw, step_s, n)
    rtt = tr.gophers_rtt(data, n, carrier="verizon", step_s=step_s)
    ci = tr.resample(tr.carbon_series(data / "vessim-carbon-signal" / "watttime_example.csv"), step_s, n)
    req = tr.poisson_requests(rate_per_s, step_s, n, seed=seed)
    budget = battery(battery_wh, soc=1.0) if battery_wh else None
    harvest = np.full(n, harvest_w * step_s) if battery_wh else None
    prov = {"bandwidth_mbps": bw.source, "rtt_ms": rtt.source, "carbon_g_per_kwh": ci.source,
            "requests": f"Poisson {rate_per_s:g}/s × {step_s:g} s, numpy default_rng({seed})"}
    if budget:
        prov["budget"] = f"{budget.description}; harvest {harvest_w:g} W"
    return make_scenario(step_s=step_s, bandwidth_mbps=bw.values, rtt_ms=rtt.values, carbon_g_per_kwh=ci.values,
                         requests=req, latency_target_ms=target_ms, budget=budget, harvest_j=harvest,
                         provenance=prov, deferrable_fraction=deferrable_fraction,
                         defer_deadline_intervals=defer_deadline_intervals)


SYNTHETIC = {"bandwidth_median_mbps": 150.0, "bandwidth_ar1": 0.9, "bandwidth_log_sd": 0.6, "outage_probability": 0.02,
             "outage_mbps": 0.1, "rtt_ms": (40.0, 110.0), "carbon_g_per_kwh": (30.0, 200.0)}
"""Shape of :func:`synthetic_scenario`'s traces (assumptions, chosen to resemble the public traces the example
uses: 5Gophers bandwidth of tens to a thousand Mbit/s with outages, RTT 40–110 ms, CAISO North's 30–200 g/kWh
with a solar dip at midday)."""


def synthetic_scenario(*, step_s: float = 300.0, intervals: int | None = None, rate_per_s: float = 0.2,
                       target_ms: float = 150.0, seed: int = 0, battery_wh: float | None = None,
                       harvest_w: float = 0.0) -> Scenario:
    """Seeded stand-in traces for :func:`example_scenario` where the public data is absent (see :data:`SYNTHETIC`).

    Bandwidth: a log-normal AR(1) around ``bandwidth_median_mbps`` with outages (``outage_mbps``) drawn per
    interval; RTT: uniform in ``rtt_ms``; carbon: a daily cycle from ``carbon_g_per_kwh[1]`` at night to
    ``carbon_g_per_kwh[0]`` at noon; requests: Poisson. Parameters as :func:`example_scenario`; ``intervals``
    defaults to three days.

    Returns
    -------
    Scenario
        Its provenance names every trace ``synthetic`` with its parameters and seed.
    """
    n = int(intervals) if intervals else int(3 * 86400 // step_s)
    rng = np.random.default_rng(seed)
    s = SYNTHETIC
    log_bw = np.empty(n)
    log_bw[0] = 0.0
    for t in range(1, n):
        log_bw[t] = s["bandwidth_ar1"] * log_bw[t - 1] + s["bandwidth_log_sd"] * np.sqrt(
            1 - s["bandwidth_ar1"] ** 2) * rng.standard_normal()
    bw = s["bandwidth_median_mbps"] * np.exp(log_bw)
    bw[rng.random(n) < s["outage_probability"]] = s["outage_mbps"]
    rtt = rng.uniform(*s["rtt_ms"], size=n)
    hours = (np.arange(n) * step_s / 3600.0) % 24.0
    low, high = s["carbon_g_per_kwh"]
    ci = high - (high - low) * np.clip(np.sin(2 * np.pi * (hours - 6.0) / 24.0), 0.0, None)
    req = tr.poisson_requests(rate_per_s, step_s, n, seed=seed)
    budget = battery(battery_wh, soc=1.0) if battery_wh else None
    harvest = np.full(n, harvest_w * step_s) if battery_wh else None
    what = f"synthetic (an assumption, not data; workbench.adaptive.example.SYNTHETIC, numpy default_rng({seed}))"
    prov = {"bandwidth_mbps": f"{what}: log-normal AR(1) around {s['bandwidth_median_mbps']:g} Mbit/s with outages",
            "rtt_ms": f"{what}: uniform {s['rtt_ms'][0]:g}–{s['rtt_ms'][1]:g} ms",
            "carbon_g_per_kwh": f"{what}: daily cycle {low:g}–{high:g} g/kWh, lowest at noon",
            "requests": f"Poisson {rate_per_s:g}/s × {step_s:g} s, numpy default_rng({seed})"}
    if budget:
        prov["budget"] = f"{budget.description}; harvest {harvest_w:g} W"
    return make_scenario(step_s=step_s, bandwidth_mbps=bw, rtt_ms=rtt, carbon_g_per_kwh=ci, requests=req,
                         latency_target_ms=target_ms, budget=budget, harvest_j=harvest, provenance=prov)
