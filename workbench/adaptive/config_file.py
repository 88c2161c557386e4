"""The TOML file of ``workbench adapt``: a configuration space, traces, a budget and policies, validated.

One declared contract (:data:`TOP_KEYS`, :data:`SPACE_KEYS`, :data:`TRACE_SOURCES`, :data:`BUDGET_KEYS`); every
bad key or value is one :class:`~workbench.errors.ParameterError` (or the trace readers'
:class:`~workbench.errors.ImportFormatError`) naming the table, the key and the fix. Paths are relative to the
file's folder. Format (``docs/adaptive.md``)::

    latency_target_ms = 150
    step_s = 300                       # interval length [s]
    intervals = 400                    # optional (default: what the bandwidth trace covers)
    objective = "device_energy_j"      # device_energy_j | energy_j | carbon_g
    accuracy_floor = 0.965             # optional (default 0)
    tuning_fraction = 0.5              # optional
    probability = 0.95                 # optional: the predictive policies' target probability
    deferrable_fraction = 0.3          # optional (default 0): share of requests that is deferrable batch work
    defer_deadline_intervals = 12      # optional (default 0): intervals within which deferred work is served
    policies = ["static", "reactive", "predictive", "mpc"]   # optional (default: all)
    [space]                            # optional: a placement problem × variants
    problem = "split.toml"
    prune = true                       # optional (default true): Pareto pruning
    [[space.variants]]
    variant = "fp32"
    accuracy = 0.972
    compute_scale = 1.0                # optional; cut_scale, threshold, source too
    [[configurations]]                 # and/or explicit rows (workbench.adaptive.space.COLUMNS)
    name = "local"
    accuracy = 0.9
    device_ms = 40
    device_energy_j = 0.2
    [traces.bandwidth]                 # gophers = DIR (trace, carrier, time_scale, max_gap_steps) | csv | values
    gophers = "../shared/data"
    [traces.rtt]                       # gophers = DIR (carrier, how) | csv | values | value
    value = 50
    [traces.carbon]                    # csv (time,g_per_kwh) | values | value
    value = 300
    [traces.requests]                  # rate_per_s (seed) | counts
    rate_per_s = 0.2
    [budget]                           # optional: battery_wh (soc, harvest_w) | hourly_cap_wh
    battery_wh = 10
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from workbench.adaptive import traces as tr
from workbench.adaptive.clairvoyant import Clairvoyant
from workbench.adaptive.mpc import CarbonMPC
from workbench.adaptive.oracle import check_objective
from workbench.adaptive.pareto import pareto_prune
from workbench.adaptive.policies import Predictive, Reactive, StaticBest
from workbench.adaptive.scenario import Scenario, battery, hourly_cap, make_scenario
from workbench.adaptive.space import ConfigurationSpace, space_from_table, space_from_variants
from workbench.errors import ParameterError
from workbench.files import read_user_file
from workbench.placement.problem import load_problem

TOP_KEYS = {"latency_target_ms", "step_s", "intervals", "objective", "accuracy_floor", "tuning_fraction", "probability",
            "deferrable_fraction", "defer_deadline_intervals",
            "policies", "space", "configurations", "traces", "budget", "name", "description"}
SPACE_KEYS = {"problem", "prune", "variants"}
TRACE_SOURCES = {"bandwidth": {"gophers", "csv", "values"}, "rtt": {"gophers", "csv", "values", "value"},
                 "carbon": {"csv", "values", "value"}, "requests": {"rate_per_s", "counts"},
                 "slowdown": {"values", "value"}, "harvest": {"values", "value"}}
"""Trace name → the keys that say where it comes from (exactly one)."""
TRACE_OPTIONS = {"trace", "carrier", "time_scale", "max_gap_steps", "how", "seed", "radio_type", "fill_gaps_s"}
BUDGET_KEYS = {"battery_wh", "soc", "harvest_w", "hourly_cap_wh"}
POLICIES = ("static", "reactive", "predictive", "mpc", "clairvoyant")
"""Policy names of the file and of ``--policy`` (``clairvoyant`` is not causal: a yardstick, never an adaptive
result)."""
DEFAULT_POLICIES = ("static", "reactive", "predictive", "mpc")
"""Policies replayed when the file names none."""


@dataclass(frozen=True)
class AdaptConfig:
    """A validated file: the space (pruned if asked), the scenario, the policies' settings."""

    space: ConfigurationSpace
    configurations: int
    scenario: Scenario
    objective: str
    accuracy_floor: float
    tuning_fraction: float
    probability: float
    policies: tuple[str, ...]
    source: str


def _unknown(table: dict, valid: set, where: str) -> None:
    if bad := sorted(set(table) - valid):
        raise ParameterError(f"{where}: unknown key(s) {bad}. Fix: use {', '.join(sorted(valid))}.")


def make_policies(names, *, objective: str, accuracy_floor: float, probability: float) -> list:
    """Unfitted policies by name (:data:`POLICIES`), with the file's objective, floor and probability; static's
    tolerated tuning miss rate is 1 − probability (the same SLO)."""
    made = {"static": lambda: StaticBest(objective=objective, accuracy_floor=accuracy_floor,
                                         slo_miss_max=1 - probability),
            "reactive": lambda: Reactive(objective=objective, accuracy_floor=accuracy_floor),
            "predictive": lambda: Predictive(objective=objective, accuracy_floor=accuracy_floor,
                                             probability=probability),
            "mpc": lambda: CarbonMPC(accuracy_floor=accuracy_floor, probability=probability),
            "clairvoyant": lambda: Clairvoyant(objective=objective, accuracy_floor=accuracy_floor)}
    for n in names:
        if n not in made:
            raise ParameterError(f"unknown policy {n!r}. Fix: choose among {', '.join(POLICIES)}.")
    return [made[n]() for n in names]


def _space(data: dict, base: Path, where: str) -> ConfigurationSpace:
    rows = list(data.get("configurations", []))
    spec = data.get("space")
    parts = []
    if spec is not None:
        _unknown(spec, SPACE_KEYS, f"{where} [space]")
        if "problem" not in spec or not spec.get("variants"):
            raise ParameterError(f"{where} [space]: give problem = \"FILE.toml\" and at least one [[space.variants]] "
                                 "(variant, accuracy). Fix: or list [[configurations]] instead.")
        parts.append(space_from_variants(load_problem(base / spec["problem"]), spec["variants"]))
    if rows:
        parts.append(space_from_table(rows, source=f"{where} [[configurations]]"))
    if not parts:
        raise ParameterError(f"{where}: the configuration space is empty. Fix: add [[configurations]] rows or a "
                             "[space] with a placement problem and [[space.variants]].")
    table = [r for p in parts for r in p.table.to_dicts()]
    return space_from_table(table, source=" + ".join(p.source for p in parts))


def _one_source(name: str, t: dict, where: str) -> str:
    given = [k for k in TRACE_SOURCES[name] if k in t]
    if len(given) != 1:
        raise ParameterError(f"{where} [traces.{name}]: give exactly one of {', '.join(sorted(TRACE_SOURCES[name]))}"
                             f" (got {given or 'none'}).")
    _unknown(t, TRACE_SOURCES[name] | TRACE_OPTIONS, f"{where} [traces.{name}]")
    return given[0]


def _csv_series(path: Path, name: str) -> tr.Series:
    df = pl.read_csv(read_user_file(path, f"{name} trace", ParameterError, fix="give a CSV file time_s,value."))
    if df.width < 2:
        raise ParameterError(f"{path}: {df.width} column(s). Fix: give two columns, time [s] and {name}.")
    return tr.make_series(df[:, 0].to_numpy(), df[:, 1].to_numpy(), name, str(path))


def _trace(name: str, t: dict | None, base: Path, step_s: float, n: int | None, where: str):
    """(values per interval or a callable of n, source)."""
    if t is None:
        return None
    key = _one_source(name, t, where)
    unit = {"bandwidth": "bandwidth_mbps", "rtt": "rtt_ms", "carbon": "carbon_g_per_kwh", "slowdown": "slowdown",
            "harvest": "harvest_j"}.get(name, name)
    if key == "value":
        return (lambda k: np.full(k, float(t["value"]))), f"constant {t['value']} ({where})"
    if key in ("values", "counts"):
        return np.asarray(t[key], dtype=float), f"given per interval ({where})"
    if key == "rate_per_s":
        return (lambda k: tr.poisson_requests(t["rate_per_s"], step_s, k, seed=t.get("seed", 0))), \
            f"Poisson {t['rate_per_s']}/s, seed {t.get('seed', 0)}"
    if key == "gophers" and name == "rtt":
        return (lambda k: tr.gophers_rtt(base / t["gophers"], k, carrier=t.get("carrier"), step_s=step_s,
                                         how=t.get("how", "sequence")).values), "5Gophers RTT"
    if key == "gophers":
        s = tr.gophers_bandwidth(base / t["gophers"], t.get("trace", "walking"), carrier=t.get("carrier", "verizon"),
                                 time_scale=t.get("time_scale", 1.0), radio_type=t.get("radio_type"),
                                 max_gap_steps=t.get("max_gap_steps", 1.5))
    elif name == "carbon":
        s = tr.carbon_series(base / t["csv"], fill_gaps_up_to_s=t.get("fill_gaps_s", 0.0))
    else:
        s = _csv_series(base / t["csv"], unit)
    k = n or int((s.times_s[-1] - s.times_s[0] + np.median(np.diff(s.times_s))) // step_s)
    r = tr.resample(s, step_s, k)
    return r.values, r.source


def parse_config(data: dict, *, source: str = "<config>", base_dir=None) -> AdaptConfig:
    """Validate a parsed TOML document (see the module docstring) into an :class:`AdaptConfig`.

    Raises
    ------
    ParameterError
        A missing or unknown key, a bad value, an empty space, an unknown policy, a bad budget.
    ImportFormatError
        A trace with gaps, unsorted times or negative values.
    """
    base = Path(base_dir or ".")
    where = source
    _unknown(data, TOP_KEYS, where)
    for k in ("latency_target_ms", "step_s"):
        if k not in data:
            raise ParameterError(f"{where}: missing {k}. Fix: add {k} = <number> at the top.")
    step = float(data["step_s"])
    objective = check_objective(data.get("objective", "device_energy_j"))
    names = tuple(data.get("policies", DEFAULT_POLICIES))
    make_policies(names, objective=objective, accuracy_floor=0.0, probability=0.95)  # names checked early
    full = _space(data, base, where)
    space = pareto_prune(full) if (data.get("space") or {}).get("prune", True) else full
    traces = data.get("traces") or {}
    _unknown(traces, set(TRACE_SOURCES), f"{where} [traces]")
    for need in ("bandwidth", "rtt", "carbon", "requests"):
        if need not in traces:
            raise ParameterError(f"{where}: missing [traces.{need}]. Fix: give one of "
                                 f"{', '.join(sorted(TRACE_SOURCES[need]))}.")
    n = data.get("intervals")
    got = {k: _trace(k, traces.get(k), base, step, n, where) for k in TRACE_SOURCES}
    first = got["bandwidth"][0]
    n = n or (len(first) if not callable(first) else None)
    if n is None:
        raise ParameterError(f"{where}: intervals is needed when the bandwidth is a constant. Fix: intervals = N.")
    arrays = {k: (None if v is None else (v[0](n) if callable(v[0]) else v[0])) for k, v in got.items()}
    budget = _budget(data.get("budget"), step, where)
    harvest = arrays["harvest"]
    if budget is not None and (data["budget"].get("harvest_w") is not None):
        harvest = np.full(n, float(data["budget"]["harvest_w"]) * step)
    scenario = make_scenario(step_s=step, bandwidth_mbps=arrays["bandwidth"], rtt_ms=arrays["rtt"],
                             carbon_g_per_kwh=arrays["carbon"], requests=arrays["requests"],
                             latency_target_ms=data["latency_target_ms"], slowdown=arrays["slowdown"],
                             harvest_j=harvest, budget=budget,
                             provenance={k: v[1] for k, v in got.items() if v is not None},
                             deferrable_fraction=data.get("deferrable_fraction", 0.0),
                             defer_deadline_intervals=data.get("defer_deadline_intervals", 0))
    return AdaptConfig(space, len(full), scenario, objective, float(data.get("accuracy_floor", 0.0)),
                       float(data.get("tuning_fraction", 0.5)), float(data.get("probability", 0.95)), names, source)


def _budget(b: dict | None, step: float, where: str):
    if b is None:
        return None
    _unknown(b, BUDGET_KEYS, f"{where} [budget]")
    if ("battery_wh" in b) == ("hourly_cap_wh" in b):
        raise ParameterError(f"{where} [budget]: give battery_wh (with soc, harvest_w) or hourly_cap_wh, not both "
                             "nor neither.")
    return battery(b["battery_wh"], soc=b.get("soc", 1.0)) if "battery_wh" in b else hourly_cap(b["hourly_cap_wh"], step)


def load_config(path) -> AdaptConfig:
    """Read and validate an adapt TOML file (paths inside are relative to its folder).

    Raises
    ------
    ParameterError
        No such file, not TOML, or any invalid key or value (:func:`parse_config`).
    """
    path = Path(path)
    raw = read_user_file(path, "adapt file", ParameterError, fix="give the path of an adapt TOML file "
                         "(docs/adaptive.md).", suffix=".toml")
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"{path} is not UTF-8 TOML: {exc}. Fix: check the line named.") from None
    return parse_config(data, source=str(path), base_dir=path.parent)
