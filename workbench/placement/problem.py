"""The chain problem file: tiers, links, a model's layers with costs per tier, constraints, an objective.

One declared contract (:data:`TOP_KEYS`, :data:`MODEL_KEYS`, :data:`LAYER_KEYS`, :data:`TIER_KEYS`,
:data:`LINK_KEYS`, :data:`CONSTRAINT_KEYS`), validated at the edge: :func:`parse_problem` returns a
:class:`ChainProblem` in which every number is explicit (a tier's ``country`` resolved to its grid
intensity with :mod:`workbench.catalog.grid`, a link's ``technology`` to its kWh/GB with
:mod:`workbench.catalog.network`), or raises a :class:`ProblemError` naming the table, the key, the
value and the fix. The semantics of the numbers are those of :mod:`workbench.placement.chain`.

Format (``docs/placement.md``, sections "Chain split" and "Zoo models, cost sources and link traces")::

    objective = "latency_ms"          # latency_ms | device_energy_j | energy_j | carbon_g (default latency_ms)
    [model]
    input_bytes = 150528              # bytes of one input, produced at tier 0
    [[model.layers]]                  # in execution order; name optional, weight_bytes optional (default 0)
    output_bytes = 802816
    latency_ms = [12.5, 3.0, 0.9]     # one value per tier, in tier order [ms]
    energy_j = [0.031, 0.09, 0.12]    # one value per tier [J]
    [[tiers]]                         # in order from the data source outwards
    name = "phone"
    carbon_intensity_g_per_kwh = 300  # or country = "FRA", or carbon_signal = "ci.csv" with at (problem_checks)
    [[links]]                         # one per pair of consecutive tiers, in order
    bandwidth_mbps = 10.0
    rtt_ms = 50.0                     # optional tx_power_w (0), kwh_per_gb (0) or technology = "4g"
    [constraints]                     # optional
    latency_ms_max = 80.0
Or ``[model] zoo = "resnet8"`` (optional ``store``, ``int8_cuts``), per tier ``device = "pixel-4"`` (optional
``costs = "store" | "costmodel" | "roofline"``, ``cost_model``): costs from :mod:`~workbench.placement.zoo_costs`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from pathlib import Path

from workbench.catalog import network
from workbench.catalog.pue import check_pue
from workbench.errors import ParameterError, UnknownNameError
from workbench.placement.problem_checks import (
    INTENSITY_KEYS,
    ProblemError,
    ProblemFormatError,
    Validator,
    read_problem_text,
    toml_table,
)
from workbench.placement.zoo_costs import zoo_costs

OBJECTIVES: tuple[str, ...] = ("latency_ms", "device_energy_j", "energy_j", "carbon_g")
"""What a chain problem may minimise: end-to-end latency [ms], energy of tier 0 [J], total energy [J],
operational + network carbon [gCO2e]."""

TOP_KEYS = {"kind", "objective", "model", "tiers", "links", "constraints", "name", "description", "at"}
MODEL_KEYS = {"input_bytes", "layers", "name", "zoo", "store", "int8_cuts"}
LAYER_KEYS = {"name", "output_bytes", "latency_ms", "energy_j", "weight_bytes"}
TIER_KEYS = {"name", "pue", "memory_bytes", "device", "costs", "cost_model", "threads", "note"} | INTENSITY_KEYS
LINK_KEYS = {"bandwidth_mbps", "rtt_ms", "tx_power_w", "kwh_per_gb", "technology", "note"}
CONSTRAINT_KEYS = {"latency_ms_max"}


@dataclass(frozen=True)
class Tier:
    """One tier: a name, its grid intensity [gCO2e/kWh], PUE [1] and memory limit [bytes] (None: no limit)."""

    name: str
    carbon_intensity_g_per_kwh: float
    pue: float = 1.0
    memory_bytes: float | None = None
    country: str | None = None
    device: str | None = None
    carbon_source: str = "carbon_intensity_g_per_kwh"  # or the country's grid, or a signal at a time


@dataclass(frozen=True)
class Link:
    """The link from tier k−1 to tier k: bandwidth [Mbit/s], round trip [ms], sender's radio power [W],
    network energy intensity [kWh/GB] (``technology`` says where it came from, if from the catalog)."""

    bandwidth_mbps: float
    rtt_ms: float
    tx_power_w: float = 0.0
    kwh_per_gb: float = 0.0
    technology: str | None = None


@dataclass(frozen=True)
class Layer:
    """One layer: its output [bytes], its latency [ms] and energy [J] on each tier, its weights [bytes]."""

    name: str
    output_bytes: float
    latency_ms: tuple[float, ...]
    energy_j: tuple[float, ...]
    weight_bytes: float = 0.0


@dataclass(frozen=True)
class ChainProblem:
    """A validated chain problem (see the module docstring); every figure explicit."""

    objective: str
    input_bytes: float
    layers: tuple[Layer, ...]
    tiers: tuple[Tier, ...]
    links: tuple[Link, ...]
    latency_ms_max: float | None = None
    name: str = ""
    source: str = "<problem>"
    cost_source: str = "problem file"
    cost_sources: tuple[str, ...] = ()  # per tier, where its layer costs came from (empty: all cost_source)

    @property
    def tier_names(self) -> tuple[str, ...]:
        """The tiers' names, in order from the data source outwards."""
        return tuple(t.name for t in self.tiers)


def check_objective(objective: str, where: str = "objective") -> str:
    """``objective`` if it is one of :data:`OBJECTIVES`, else a :class:`ProblemError` listing them."""
    if objective not in OBJECTIVES:
        close = difflib.get_close_matches(str(objective), OBJECTIVES, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ProblemError(f"{where} = {objective!r} is not an objective.{hint} Fix: give one of "
                           f"{', '.join(OBJECTIVES)}.")
    return objective


def load_problem(path: str | Path, *, at=None) -> ChainProblem:
    """Read and validate a chain problem TOML file.

    Parameters
    ----------
    path : path-like
        The file (UTF-8; a byte-order mark is accepted).
    at : str, datetime, float or None
        The time at which tiers with a ``carbon_signal`` take their intensity (wins over the file's ``at``).

    Returns
    -------
    ChainProblem

    Raises
    ------
    ProblemError
        No such file, a directory, or any invalid key or value (see :func:`parse_problem`).
    ProblemFormatError
        Not UTF-8 text, or not valid TOML.
    """
    path = Path(path)
    return parse_problem(read_problem_text(path), source=str(path), base_dir=path.parent, at=at)


def parse_problem(text_or_dict: str | dict, *, source: str = "<problem>", base_dir=None, at=None) -> ChainProblem:
    """Validate a chain problem given as TOML text or as the dict ``tomllib`` would give.

    Parameters
    ----------
    text_or_dict : str or dict
        The problem (format in the module docstring).
    source : str
        Its name in messages (the file's path).
    base_dir : path-like, optional
        Where relative ``store``, ``cost_model`` and ``carbon_signal`` paths start (the file's folder; default: here).
    at : str, datetime, float or None
        The time at which tiers with a ``carbon_signal`` take their intensity (wins over the file's ``at``).

    Returns
    -------
    ChainProblem

    Raises
    ------
    ProblemFormatError
        Not valid TOML (line and column given).
    ProblemError
        A missing, unknown or malformed key; a value out of range (NaN, negative, zero bandwidth); a
        cost list whose length is not the number of tiers; a link count other than tiers − 1.
    UnknownNameError
        An unknown ``country`` or ``technology`` (with close matches).

    Examples
    --------
    >>> p = parse_problem('''
    ... [model]
    ... input_bytes = 1000
    ... [[model.layers]]
    ... output_bytes = 10
    ... latency_ms = [5.0, 1.0]
    ... energy_j = [0.5, 0.2]
    ... [[tiers]]
    ... name = "phone"
    ... carbon_intensity_g_per_kwh = 300
    ... [[tiers]]
    ... name = "cloud"
    ... country = "FRA"
    ... pue = 1.1
    ... [[links]]
    ... bandwidth_mbps = 8.0
    ... rtt_ms = 20.0
    ... ''')
    >>> p.tier_names, p.links[0].bandwidth_mbps
    (('phone', 'cloud'), 8.0)
    """
    return _Validator(source, base_dir, at).problem(toml_table(text_or_dict, source))


class _Validator(Validator):
    """The checks of one chain problem (:class:`~workbench.placement.problem_checks.Validator`'s, and the chain's)."""

    def problem(self, raw: dict) -> ChainProblem:
        self.keys(raw, TOP_KEYS, "the problem")
        if raw.get("kind", "chain") != "chain":
            self.fail(f"kind = {raw['kind']!r}: this reader takes chain problems. Fix: read the file with "
                      "workbench.placement.problem_files.load_any_problem (or `workbench place`).")
        self.top_at = raw.get("at")
        objective = check_objective(raw.get("objective", "latency_ms"), f"{self.source}: objective")
        tiers = tuple(self.tier(t, i) for i, t in enumerate(
            self.array(raw, "tiers", "the problem", "add [[tiers]] tables with name = ..., in order from the "
                       "data source outwards.")))
        names = [t.name for t in tiers]
        if (self.at is not None or self.top_at is not None) and not any("carbon_signal" in t for t in raw["tiers"]):
            self.fail(f"a time is given (at = {self.at if self.at is not None else self.top_at!r}) but no tier names a "
                      "carbon_signal. Fix: add carbon_signal = \"intensity.csv\" to a tier, or drop the time.")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            self.fail(f"tier names must differ; {dup[0]!r} is given {names.count(dup[0])} times. Fix: rename one.")
        n_links = len(raw.get("links") or [])
        if n_links != len(tiers) - 1:
            self.fail(f"{len(tiers)} tiers need {len(tiers) - 1} [[links]] (one per pair of consecutive tiers, in "
                      f"order), got {n_links}. Fix: give exactly {len(tiers) - 1} [[links]] tables.")
        links = tuple(self.link(lk, k + 1) for k, lk in enumerate(raw.get("links") or []))
        if "model" not in raw:
            self.fail("the problem lacks a [model] table. Fix: add [model] with input_bytes and [[model.layers]].")
        model = self.keys(raw["model"], MODEL_KEYS, "[model]")
        cons = self.keys(raw.get("constraints", {}), CONSTRAINT_KEYS, "[constraints]")
        slo = self.number(cons, "latency_ms_max", "[constraints]", required=False, positive=True)
        kw = dict(objective=objective, tiers=tiers, links=links, latency_ms_max=slo, name=str(raw.get("name", "")),
                  source=self.source)
        if "zoo" in model:
            return self.zoo(model, raw["tiers"], tiers, kw)
        if any(t.device for t in tiers):
            self.fail("a tier names a device but [model] has no zoo model. Fix: add zoo = \"resnet8\" to [model].")
        input_bytes = self.number(model, "input_bytes", "[model]")
        layers = tuple(self.layer(la, i, names) for i, la in enumerate(
            self.array(model, "layers", "[model]", "add [[model.layers]] tables in execution order, each with "
                       "output_bytes, latency_ms and energy_j (one value per tier).")))
        return ChainProblem(input_bytes=input_bytes, layers=layers, **kw)

    def zoo(self, model: dict, raw_tiers: list, tiers: tuple, kw: dict) -> ChainProblem:
        """A zoo model on the tiers' devices, per-layer costs from :func:`~workbench.placement.zoo_costs.zoo_costs`."""
        zoo, int8, extra = self.string(model, "zoo", "[model]"), model.get("int8_cuts", False), {"layers", "input_bytes"}
        if extra & set(model) or not isinstance(int8, bool) or not all(t.device for t in tiers):
            self.fail(f"[model].zoo = {zoo!r} counts the layers and sizes itself and needs a device on every tier. Fix: "
                      "remove layers and input_bytes from [model], give int8_cuts as true or false, and add device = "
                      f"\"pixel-4\" (`workbench devices`) to each [[tiers]] (got model keys {sorted(model)}, "
                      f"int8_cuts = {int8!r}, devices {[t.device for t in tiers]}).")
        try:
            c = zoo_costs(zoo, [t.device for t in tiers], costs=[r.get("costs") for r in raw_tiers], int8_cuts=int8,
                          cost_models=[self.path(r.get("cost_model")) for r in raw_tiers],
                          store=self.path(model.get("store")), threads=[self.threads(r) for r in raw_tiers])
        except (ParameterError, UnknownNameError) as exc:
            raise ProblemError(f"{self.source}: [model].zoo = {zoo!r}: {exc}") from None
        layers = tuple(Layer(name=n, output_bytes=c.output_bytes[i], latency_ms=c.latency_ms[i],
                             energy_j=c.energy_j[i], weight_bytes=c.weight_bytes[i]) for i, n in enumerate(c.names))
        return ChainProblem(input_bytes=c.input_bytes, layers=layers, cost_source=f"zoo {zoo}",
                            cost_sources=c.cost_sources, **kw)

    def tier(self, t: dict, i: int) -> Tier:
        where = f"[[tiers]] #{i + 1}"
        self.keys(t, TIER_KEYS, where)
        name = self.string(t, "name", where)
        if name is None:
            self.fail(f"{where} lacks its name. Fix: add name = \"...\" (e.g. \"phone\", \"edge\", \"cloud\").")
        where = f"[[tiers]] #{i + 1} ({name!r})"
        intensity, country, label = self.intensity(t, where)
        try:
            pue = check_pue(self.number(t, "pue", where, required=False, default=1.0))
        except ParameterError as exc:
            raise ProblemError(f"{self.source}: {where}: {exc}") from None
        memory = self.number(t, "memory_bytes", where, required=False, positive=True)
        return Tier(name=name, carbon_intensity_g_per_kwh=intensity, pue=pue, memory_bytes=memory, country=country,
                    device=self.string(t, "device", where), carbon_source=label)

    def threads(self, t: dict):
        """A tier's ``threads`` (an int ≥ 1) or None."""
        n = t.get("threads")
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            self.fail(f"[[tiers]] {t.get('name')!r}: threads = {n!r} must be a whole number >= 1 (the intra-op thread "
                      "count of the stored run to use). Fix: e.g. threads = 1, or drop it for the latest run.")
        return n

    def link(self, lk: dict, k: int) -> Link:
        where = f"[[links]] #{k} (tier {k - 1} -> tier {k})"
        self.keys(lk, LINK_KEYS, where)
        bw = self.number(lk, "bandwidth_mbps", where, positive=True,
                         fix="give the link's bandwidth in Mbit/s as a number > 0, e.g. bandwidth_mbps = 10.0.")
        rtt = self.number(lk, "rtt_ms", where)
        tx = self.number(lk, "tx_power_w", where, required=False, default=0.0)
        tech = self.string(lk, "technology", where)
        if tech is not None and "kwh_per_gb" in lk:
            self.fail(f"{where} gives both technology = {tech!r} and kwh_per_gb = {lk['kwh_per_gb']!r}. Fix: give one.")
        if tech is not None:
            try:
                kwh = network.energy_kwh_per_gb(tech)
            except UnknownNameError as exc:
                raise ProblemError(f"{self.source}: {where}.technology: {exc}") from None
        else:
            kwh = self.number(lk, "kwh_per_gb", where, required=False, default=0.0)
        return Link(bandwidth_mbps=bw, rtt_ms=rtt, tx_power_w=tx, kwh_per_gb=kwh, technology=tech)

    def layer(self, la: dict, i: int, tiers: list[str]) -> Layer:
        where = f"[[model.layers]] #{i + 1}"
        self.keys(la, LAYER_KEYS, where)
        name = self.string(la, "name", where, default=f"layer{i}")
        where = f"[[model.layers]] #{i + 1} ({name!r})"
        costs = {}
        for key in ("latency_ms", "energy_j"):
            values = la.get(key)
            if not isinstance(values, list) or len(values) != len(tiers):
                got = "it is missing" if values is None else f"got {values!r}"
                self.fail(f"{where}.{key} needs one value per tier ({len(tiers)}: {', '.join(tiers)}), {got}. Fix: "
                          f"give a list of {len(tiers)} numbers in tier order.")
            costs[key] = tuple(self.value(v, f"{where}.{key}[{j}] (tier {tiers[j]!r})") for j, v in enumerate(values))
        return Layer(name=name, output_bytes=self.number(la, "output_bytes", where), latency_ms=costs["latency_ms"],
                     energy_j=costs["energy_j"],
                     weight_bytes=self.number(la, "weight_bytes", where, required=False, default=0.0))


def problem_with(problem: ChainProblem, *, objective: str | None = None) -> ChainProblem:
    """The same problem with another objective (checked), or unchanged for None."""
    if objective is None:
        return problem
    return replace(problem, objective=check_objective(objective))


__all__ = ["OBJECTIVES", "ChainProblem", "Layer", "Link", "ProblemError", "ProblemFormatError", "Tier",
           "check_objective", "load_problem", "parse_problem", "problem_with"]
