"""Adaptive configuration: choose a model variant, an exit threshold and a split point as conditions change.

Modules (see ``docs/adaptive.md``):

- :mod:`~workbench.adaptive.space`: the configuration space (variants × thresholds × splits, from explicit rows,
  the strategies' result rows and placement problems), Pareto pruning;
- :mod:`~workbench.adaptive.traces`: bandwidth (5Gophers), RTT, carbon intensity and request series, validated
  and resampled to a common step with their provenance;
- :mod:`~workbench.adaptive.scenario`: every trace on one grid, the energy budget (battery or per-hour cap), the
  latency target, the tuning/evaluation split, and the one rule for an interval's outcome;
- :mod:`~workbench.adaptive.history`: what a policy may see (the past only);
- :mod:`~workbench.adaptive.policies` (static best, reactive, predictive; the non-causal clairvoyant yardstick) and :mod:`~workbench.adaptive.mpc`
  (model-predictive with a carbon forecast);
- :mod:`~workbench.adaptive.oracle`: the offline oracle (dynamic programming over intervals), the oracle at a
  given miss count, and brute force;
- :mod:`~workbench.adaptive.replay`: the replay simulator and its frames;
- :mod:`~workbench.adaptive.rows`: a replay's results as measurement-schema rows for the run store;
- :mod:`~workbench.adaptive.config_file`: the TOML file of ``workbench adapt``;
- :mod:`~workbench.adaptive.tables`: result tables (savings against static, gap to the oracle);
- :mod:`~workbench.adaptive.example`: the worked example of the benchmark and notebook 08.
"""

from workbench.adaptive.clairvoyant import Clairvoyant
from workbench.adaptive.mpc import CarbonMPC
from workbench.adaptive.oracle import OBJECTIVES, Plan, brute_force, oracle_plan, plan, plan_max_misses
from workbench.adaptive.pareto import pareto_prune
from workbench.adaptive.policies import Policy, Predictive, Reactive, StaticBest
from workbench.adaptive.replay import ReplayResult, decisions_per_s, replay, run, summarise
from workbench.adaptive.rows import replay_rows
from workbench.adaptive.scenario import EnergyBudget, Scenario, battery, hourly_cap, make_scenario
from workbench.adaptive.space import (
    ConfigurationSpace,
    space_from_table,
    space_from_variants,
    split_configurations,
    variants_from_rows,
)

__all__ = [
    "OBJECTIVES", "CarbonMPC", "Clairvoyant", "ConfigurationSpace", "EnergyBudget", "Plan", "Policy", "Predictive", "Reactive",
    "ReplayResult", "Scenario", "StaticBest", "battery", "brute_force", "decisions_per_s", "hourly_cap",
    "make_scenario", "oracle_plan", "replay_rows", "pareto_prune", "plan", "plan_max_misses", "replay", "run", "space_from_table",
    "space_from_variants", "split_configurations", "summarise", "variants_from_rows",
]
