"""The configuration space: every {model variant, exit/cascade threshold, split point / tier} as one row.

A configuration is described by the coefficients that make its cost a function of the run-time conditions
(the access link's bandwidth b [Mbit/s] and RTT ρ [ms], the device's slowdown s ≥ 0 [1], from
:mod:`workbench.adaptive.conditions`):

- latency_ms = device_ms × s + remote_ms + offloads × (ρ + (uplink_bytes + downlink_bytes) × 8 / (b × 1000))
- device_energy_j = device_energy_j × s + tx_power_w × uplink_bytes × 8 / (b × 1000) / 1000
- energy_j = device_energy_j(b, s) + remote_energy_j + (uplink_bytes + downlink_bytes) / 1e9 × kwh_per_gb × 3.6e6

``uplink_bytes`` is what crosses the access link (link 1 of a placement problem) outwards, ``downlink_bytes``
the result coming back. ``remote_ms`` and ``remote_energy_j`` hold the compute beyond the device and every link
beyond the access link at the problem's fixed figures. These are the chain semantics of
:mod:`workbench.placement.chain_semantics` with link 1 left variable, so that at the problem's own link 1 the
figures equal :func:`~workbench.placement.chain_semantics.evaluate` (tested to 1e-9).

Columns of :attr:`ConfigurationSpace.table` (:data:`COLUMNS`): ``name``, ``variant``, ``threshold`` (exit or
cascade threshold, null for static variants), ``split`` (tier of each run of layers), ``accuracy`` [1], the
coefficients above, and three labels saying how the numbers were obtained (``accuracy_source``,
``latency_source``, ``energy_source``: measured, projected, or given in a table).

Builders: :func:`space_from_table` (explicit rows, a TOML file's ``[[configurations]]``),
:func:`split_configurations` (every monotone assignment of a placement problem), :func:`space_from_variants`
(variants × splits, the variants' measured effects applied to the problem's costs), and
:func:`variants_from_rows` (the strategies' result rows as variants). :func:`pareto_prune` keeps the
configurations no other one beats at every bandwidth, RTT and slowdown.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from workbench.errors import ParameterError
from workbench.placement.chain_semantics import describe_assignment, inputs_bytes
from workbench.placement.problem import ChainProblem
from workbench.units import J_PER_KWH

COEFFICIENTS = ("device_ms", "remote_ms", "device_energy_j", "remote_energy_j", "uplink_bytes", "downlink_bytes",
                "tx_power_w", "kwh_per_gb")
"""Cost coefficients of a configuration (units in the names; ``tx_power_w`` [W], ``kwh_per_gb`` [kWh/GB])."""

COLUMNS = ("name", "variant", "threshold", "split", "accuracy", *COEFFICIENTS, "offloads",
           "accuracy_source", "latency_source", "energy_source")
"""Columns of a configuration table, in order."""

OPTIONAL_DEFAULTS = {"variant": None, "threshold": None, "split": "", "remote_ms": 0.0, "remote_energy_j": 0.0,
                     "uplink_bytes": 0.0, "downlink_bytes": 0.0, "tx_power_w": 0.0, "kwh_per_gb": 0.0,
                     "offloads": None, "accuracy_source": "given", "latency_source": "given",
                     "energy_source": "given"}
"""Keys a configuration row may omit, with their defaults (``offloads``: true when any byte crosses)."""

MAX_ASSIGNMENTS = 200_000
"""Most monotone assignments :func:`split_configurations` enumerates (C(L + T − 1, T − 1) of them)."""


@dataclass(frozen=True)
class ConfigurationSpace:
    """A validated table of configurations (:data:`COLUMNS`) and its coefficients as numpy arrays.

    Attributes
    ----------
    table : polars.DataFrame
        One row per configuration.
    source : str
        Where the table came from.
    """

    table: pl.DataFrame
    source: str = "table"

    def __len__(self) -> int:
        return self.table.height

    @cached_property
    def names(self) -> list[str]:
        """Configuration names, in row order."""
        return self.table["name"].to_list()

    @cached_property
    def accuracy(self) -> np.ndarray:
        """Accuracy of each configuration [1]."""
        return self.table["accuracy"].to_numpy().astype(float)

    @cached_property
    def offloads(self) -> np.ndarray:
        """1.0 where the configuration crosses the access link, else 0.0."""
        return self.table["offloads"].to_numpy().astype(float)

    def column(self, name: str) -> np.ndarray:
        """A coefficient column as a float array."""
        return self.table[name].to_numpy().astype(float)

    def subset(self, index) -> ConfigurationSpace:
        """The configurations at ``index`` (a list of row numbers or a boolean mask), same source."""
        idx = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.asarray(index, dtype=int)
        return ConfigurationSpace(self.table[idx.tolist()], self.source)


def _finite(value, what: str, *, low: float = 0.0, high: float = math.inf) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{what} = {value!r} is not a number. Fix: give a number in [{low:g}, {high:g}].") from None
    if not math.isfinite(v) or v < low or v > high:
        raise ParameterError(f"{what} = {value!r} is outside [{low:g}, {high:g}]. Fix: give a finite number in "
                             "that range.")
    return v


def space_from_table(rows, source: str = "table") -> ConfigurationSpace:
    """A configuration space from explicit rows (dicts, or a polars frame), validated.

    Parameters
    ----------
    rows : list of dict or polars.DataFrame
        Each row has ``name``, ``accuracy`` [1], ``device_ms`` [ms], ``device_energy_j`` [J] and optionally the
        keys of :data:`OPTIONAL_DEFAULTS`.
    source : str
        A description kept on the space.

    Returns
    -------
    ConfigurationSpace

    Raises
    ------
    ParameterError
        No rows, a missing or unknown key, a repeated name, a number that is not finite and ≥ 0, an accuracy
        outside [0, 1].

    Examples
    --------
    >>> s = space_from_table([{"name": "local", "accuracy": 0.9, "device_ms": 40, "device_energy_j": 0.2}])
    >>> len(s), s.names
    (1, ['local'])
    """
    rows = rows.to_dicts() if isinstance(rows, pl.DataFrame) else list(rows)
    if not rows:
        raise ParameterError(f"the configuration space ({source}) is empty. Fix: give at least one configuration "
                             "(name, accuracy, device_ms, device_energy_j), or loosen the accuracy floor.")
    out, seen = [], set()
    for i, row in enumerate(rows):
        where = f"configuration {i} ({row.get('name', '?')!r}) of {source}"
        unknown = set(row) - set(COLUMNS)
        if unknown:
            raise ParameterError(f"{where}: unknown key(s) {sorted(unknown)}. Fix: use {', '.join(COLUMNS)}.")
        missing = [k for k in ("name", "accuracy", "device_ms", "device_energy_j") if row.get(k) is None]
        if missing:
            raise ParameterError(f"{where}: missing {', '.join(missing)}. Fix: give every configuration a name, "
                                 "its accuracy [1], device_ms [ms] and device_energy_j [J].")
        r = {**OPTIONAL_DEFAULTS, **{k: v for k, v in row.items() if v is not None}}
        name = str(r["name"])
        if name in seen:
            raise ParameterError(f"{where}: name {name!r} repeats. Fix: give each configuration its own name.")
        seen.add(name)
        r["name"] = name
        r["accuracy"] = _finite(r["accuracy"], f"{where}: accuracy", high=1.0)
        for k in COEFFICIENTS:
            r[k] = _finite(r[k], f"{where}: {k}")
        if r["threshold"] is not None:
            r["threshold"] = _finite(r["threshold"], f"{where}: threshold", high=1.0)
        if r["offloads"] is None:
            r["offloads"] = r["uplink_bytes"] + r["downlink_bytes"] > 0 or r["remote_ms"] > 0
        r["variant"] = str(r["variant"]) if r["variant"] is not None else name
        out.append({k: r[k] for k in COLUMNS})
    schema = {c: (pl.Float64 if c in COEFFICIENTS or c in ("accuracy", "threshold") else
                  pl.Boolean if c == "offloads" else pl.Utf8) for c in COLUMNS}
    return ConfigurationSpace(pl.DataFrame(out, schema=schema), source)


def _assignments(n_layers: int, n_tiers: int):
    """Monotone assignments as split points: s_1 ≤ … ≤ s_(T−1), layers [s_(k−1), s_k) on tier k − 1."""
    for cuts in itertools.combinations_with_replacement(range(n_layers + 1), n_tiers - 1):
        yield cuts


def split_configurations(problem: ChainProblem, *, variant: str = "fp32", accuracy: float = 1.0,
                         compute_scale: float = 1.0, cut_scale: float = 1.0, threshold: float | None = None,
                         accuracy_source: str = "given", scale_source: str = "") -> list[dict]:
    """Every monotone assignment of a placement problem as configuration rows (link 1 left variable).

    Parameters
    ----------
    problem : ChainProblem
        The split's layers, tiers and links (:mod:`workbench.placement.problem`); link 1 is the access link
        whose bandwidth and RTT the traces give, the other links keep the problem's figures.
    variant : str
        The model variant's name (prefix of every configuration name).
    accuracy : float
        The variant's accuracy [1].
    compute_scale : float
        Multiplies every layer's latency and energy (a variant's cost relative to the problem's model).
    cut_scale : float
        Multiplies every tensor crossing a link, the input included (0.25 for int8 cuts).
    threshold : float or None
        The variant's exit or cascade threshold.
    accuracy_source, scale_source : str
        How the accuracy and the scales were obtained (kept in the labels).

    Returns
    -------
    list of dict
        Rows for :func:`space_from_table`, one per assignment.

    Raises
    ------
    ParameterError
        More than :data:`MAX_ASSIGNMENTS` assignments, or a negative scale.
    """
    compute_scale = _finite(compute_scale, "compute_scale")
    cut_scale = _finite(cut_scale, "cut_scale")
    layers, tiers, links = problem.layers, problem.tiers, problem.links
    n, t_count = len(layers), len(tiers)
    if math.comb(n + t_count - 1, t_count - 1) > MAX_ASSIGNMENTS:
        raise ParameterError(f"{problem.name or problem.source}: {n} layers on {t_count} tiers give "
                             f"{math.comb(n + t_count - 1, t_count - 1)} assignments (> {MAX_ASSIGNMENTS}). Fix: "
                             "merge layers into blocks, or use fewer tiers.")
    lat = np.array([layer.latency_ms for layer in layers], float) * compute_scale
    eng = np.array([layer.energy_j for layer in layers], float) * compute_scale
    cum_lat = np.vstack([np.zeros(t_count), np.cumsum(lat, axis=0)])
    cum_eng = np.vstack([np.zeros(t_count), np.cumsum(eng, axis=0)])
    ins = [b * cut_scale for b in inputs_bytes(problem)]
    result = layers[-1].output_bytes * cut_scale
    label = scale_source or ("problem costs" if compute_scale == 1 else f"problem costs × {compute_scale:g}")
    cost_src = f"{problem.cost_source}; {label}"
    rows = []
    for cuts in _assignments(n, t_count):
        bounds = (0, *cuts, n)
        dev_ms = remote_ms = dev_j = remote_j = 0.0
        for t in range(t_count):
            a, b = bounds[t], bounds[t + 1]
            ms, j = cum_lat[b, t] - cum_lat[a, t], cum_eng[b, t] - cum_eng[a, t]
            if t == 0:
                dev_ms, dev_j = ms, j
            else:
                remote_ms, remote_j = remote_ms + ms, remote_j + j
        last = max(t for t in range(t_count) if bounds[t + 1] > bounds[t])
        up = ins[cuts[0]] if last >= 1 else 0.0
        for k in range(2, last + 1):  # links beyond the access link, at the problem's figures
            link, b_k = links[k - 1], ins[cuts[k - 1]]
            remote_ms += link.rtt_ms + (b_k + result) * 8 / (link.bandwidth_mbps * 1000)
            remote_j += link.tx_power_w * b_k * 8 / (link.bandwidth_mbps * 1000) / 1000
            remote_j += (b_k + result) / 1e9 * link.kwh_per_gb * J_PER_KWH
        assignment = [t for t in range(t_count) for _ in range(bounds[t + 1] - bounds[t])]
        split = describe_assignment(problem, assignment)
        rows.append({"name": f"{variant} | {split}", "variant": variant, "threshold": threshold, "split": split,
                     "accuracy": accuracy, "device_ms": dev_ms, "remote_ms": remote_ms, "device_energy_j": dev_j,
                     "remote_energy_j": remote_j, "uplink_bytes": up, "downlink_bytes": result if last >= 1 else 0.0,
                     "tx_power_w": links[0].tx_power_w if links else 0.0,
                     "kwh_per_gb": links[0].kwh_per_gb if links else 0.0, "offloads": last >= 1,
                     "accuracy_source": accuracy_source, "latency_source": cost_src, "energy_source": cost_src})
    return rows


VARIANT_KEYS = ("variant", "accuracy", "compute_scale", "cut_scale", "threshold", "source")
"""Columns of a variants table (:func:`variants_from_rows`, :func:`space_from_variants`)."""


def variants_from_rows(rows: pl.DataFrame, *, scale_by: str = "flops", batch_size: int = 1) -> pl.DataFrame:
    """The strategies' result rows (``StrategyResult.rows``) as a variants table, each relative to its baseline.

    Parameters
    ----------
    rows : polars.DataFrame
        Schema rows of :mod:`workbench.strategies` runs: ``model``, ``strategy``, ``accuracy``, ``batch_size``,
        ``dtype`` and the ``scale_by`` column. Each model's ``baseline`` row is its reference.
    scale_by : str
        ``"flops"`` (expected FLOPs for early exits and cascades), ``"latency_ms_p50"`` or ``"energy_j"``:
        ``compute_scale`` = the variant's value ÷ its baseline's.
    batch_size : int
        The batch size of the rows used.

    Returns
    -------
    polars.DataFrame
        :data:`VARIANT_KEYS`: ``variant`` (``model/strategy``), ``accuracy`` [1, measured on the test split],
        ``compute_scale`` [1], ``cut_scale`` (0.25 for int8 rows: their cuts travel as int8, an assumption),
        ``threshold`` (parsed from ``-t<t>`` strategy names), ``source``.

    Raises
    ------
    ParameterError
        A missing column, no baseline for a model, or no rows at ``batch_size``.
    """
    need = {"model", "strategy", "accuracy", "batch_size", "dtype", scale_by}
    if missing := need - set(rows.columns):
        raise ParameterError(f"strategy rows lack column(s) {sorted(missing)}. Fix: pass StrategyResult.rows of "
                             "run_compression, run_early_exit or run_cascade.")
    rows = rows.filter(pl.col("batch_size") == batch_size)
    if rows.is_empty():
        raise ParameterError(f"no strategy row at batch_size {batch_size}. Fix: measure at batch size {batch_size}.")
    out = []
    for model in sorted(set(rows["model"].to_list())):
        mine = rows.filter(pl.col("model") == model)
        base = mine.filter(pl.col("strategy") == "baseline")
        if base.is_empty():
            continue  # a model without its own baseline (a student) is priced through its own row only
        ref = float(base[scale_by][0])
        for r in mine.iter_rows(named=True):
            m = re.search(r"-t([0-9.]+)$", r["strategy"])
            out.append({"variant": f"{model}/{r['strategy']}", "accuracy": float(r["accuracy"]),
                        "compute_scale": float(r[scale_by]) / ref if ref > 0 else 1.0,
                        "cut_scale": 0.25 if str(r["dtype"]).startswith("int8") else 1.0,
                        "threshold": float(m.group(1)) if m else None,
                        "source": f"measured test accuracy; {scale_by} ÷ baseline's ({model}, batch {batch_size})"})
    if not out:
        raise ParameterError("no strategy row has a baseline of its model. Fix: include the baseline rows.")
    return pl.DataFrame(out, schema={"variant": pl.Utf8, "accuracy": pl.Float64, "compute_scale": pl.Float64,
                                     "cut_scale": pl.Float64, "threshold": pl.Float64, "source": pl.Utf8})


def space_from_variants(problem: ChainProblem, variants) -> ConfigurationSpace:
    """Variants × splits: every variant at every monotone assignment of ``problem``.

    Parameters
    ----------
    problem : ChainProblem
        The base model's per-layer costs on each tier (measured, a cost model or roofline: its labels are kept).
    variants : polars.DataFrame or list of dict
        :data:`VARIANT_KEYS` (``compute_scale``, ``cut_scale``, ``threshold``, ``source`` optional).

    Returns
    -------
    ConfigurationSpace
        Labels say the costs are the problem's scaled by the variant's measured ratio (a projection).
    """
    variants = variants.to_dicts() if isinstance(variants, pl.DataFrame) else list(variants)
    rows = []
    for v in variants:
        scale = float(v.get("compute_scale") or 1.0)
        rows += split_configurations(
            problem, variant=str(v["variant"]), accuracy=v["accuracy"], compute_scale=scale,
            cut_scale=float(v.get("cut_scale") or 1.0), threshold=v.get("threshold"),
            accuracy_source=v.get("source") or "given",
            scale_source=f"projected: × {scale:.4g} ({v.get('source') or 'given ratio'})" if scale != 1 else "")
    return space_from_table(rows, source=f"{problem.name or problem.source} × {len(variants)} variant(s)")
