"""Result tables of a replay, shared by ``benchmarks/adaptive.py`` and notebook 08: every number computed here.

- :func:`trace_frame`: a scenario's traces per interval, with the part (tuning or evaluation) each belongs to;
- :func:`trace_long`: the same, one row per interval and trace (for one chart per trace);
- :func:`front_by_variant`: how many configurations of each variant are on the Pareto front;
- :func:`compare`: the summary with each policy's saving against static and distance to the oracle;
- :func:`best_adaptive`: the cheapest adaptive policy that misses no more often than static (the benchmark's rule);
- :func:`timeline`: the per-interval outcomes with hours from the start and energy per request.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.adaptive.scenario import Scenario
from workbench.adaptive.space import ConfigurationSpace

ADAPTIVE = ("reactive", "predictive", "mpc", "predictive-conformal")
"""Policies that adapt, all causal (static, the oracle and the non-causal ``clairvoyant`` references are
yardsticks)."""


def trace_frame(scenario: Scenario, tuning_intervals: int) -> pl.DataFrame:
    """One row per interval: ``interval``, ``hours`` (from the start), ``bandwidth_mbps``, ``rtt_ms``,
    ``carbon_g_per_kwh``, ``requests``, ``part`` (``tuning`` for the first ``tuning_intervals``)."""
    n = len(scenario)
    return pl.DataFrame({"interval": np.arange(n), "hours": (scenario.times_s - scenario.times_s[0]) / 3600,
                         "bandwidth_mbps": scenario.bandwidth_mbps, "rtt_ms": scenario.rtt_ms,
                         "carbon_g_per_kwh": scenario.carbon_g_per_kwh, "requests": scenario.requests,
                         "part": np.where(np.arange(n) < tuning_intervals, "tuning", "evaluation")})


def trace_long(traces: pl.DataFrame, *, floor: float = 0.1) -> pl.DataFrame:
    """:func:`trace_frame` as ``hours``, ``part``, ``trace``, ``value`` rows; values below ``floor`` raised to it
    (so that a log axis can show a 0 Mbit/s outage)."""
    return (traces.unpivot(index=["hours", "part"], on=["bandwidth_mbps", "rtt_ms", "carbon_g_per_kwh"],
                           variable_name="trace")
            .with_columns(pl.col("value").clip(floor)))


def front_by_variant(space: ConfigurationSpace) -> pl.DataFrame:
    """Per variant: configurations on the front (``on_front``), its accuracy, the least device energy [J]."""
    return space.table.group_by("variant").agg(pl.len().alias("on_front"), pl.col("accuracy").first(),
                                               pl.col("device_energy_j").min().alias("device_energy_j_min"))


def compare(summary: pl.DataFrame) -> pl.DataFrame:
    """The replay summary with ``energy_saving_vs_static`` (1 − device energy per request ÷ static's),
    ``gap_to_oracle_energy`` (÷ the oracle's − 1) and ``carbon_saving_vs_static`` (per request)."""
    row = {r["policy"]: r for r in summary.iter_rows(named=True)}
    static, oracle = row["static"], row["oracle"]
    return summary.with_columns(
        energy_saving_vs_static=1 - pl.col("device_energy_j_per_request") / static["device_energy_j_per_request"],
        gap_to_oracle_energy=pl.col("device_energy_j_per_request") / oracle["device_energy_j_per_request"] - 1,
        carbon_saving_vs_static=1 - pl.col("carbon_g_per_request") / static["carbon_g_per_request"])


def best_adaptive(compared: pl.DataFrame) -> dict | None:
    """The row of the adaptive policy with the least device energy per request among those whose SLO miss rate
    is no higher than static's; None when none qualifies."""
    static = compared.filter(pl.col("policy") == "static")["slo_miss_rate"][0]
    ok = compared.filter(pl.col("policy").is_in(ADAPTIVE), pl.col("slo_miss_rate") <= static + 1e-12)
    return ok.sort("device_energy_j_per_request").row(0, named=True) if ok.height else None


def timeline(intervals: pl.DataFrame, start_s: float) -> pl.DataFrame:
    """Per-interval outcomes with ``hours`` from ``start_s`` [s], ``offloaded`` (1 when anything runs remotely)
    and ``device_energy_j_per_request`` [J] (floored at 1e-5 J for a log axis)."""
    return intervals.with_columns(
        hours=(pl.col("time_s") - start_s) / 3600,
        offloaded=pl.col("config").str.contains(" on remote").cast(pl.Float64),
        device_energy_j_per_request=(pl.col("device_energy_j") / pl.col("served").clip(1e-12)).clip(1e-5))
