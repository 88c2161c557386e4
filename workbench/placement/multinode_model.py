"""The multi-application placement problem: nodes, links, applications and their deployment options.

An application ``a`` has requests arising at its source node at ``request_rate_per_s`` and a latency SLO.
It is deployed with one of its :class:`Option` s (e.g. split points of its DNN): the option's ``local``
part runs on the source node and, unless the option is all-local, its remote part runs on one node chosen
among ``option.remote`` (the node must share a :class:`Link` with the source). Every number is checked
at construction (:mod:`workbench.checks`); :class:`MultinodeProblem` cross-checks the names. What each
choice costs is computed in :mod:`workbench.placement.multinode_costs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from workbench.catalog import devices as catalog
from workbench.catalog import grid
from workbench.checks import check_int, check_number
from workbench.errors import ParameterError, UnknownNameError
from workbench.lca.resolution import DEFAULT_UTILIZATION

OBJECTIVES = ("latency_ms", "device_energy_j", "energy_j", "carbon_g")
"""Objectives a placement can minimise (or weigh in a sum): rate-weighted means per request."""


def _pos(value, name, fix, *, zero=True):
    """A finite number ≥ 0 (``zero=True``) or > 0."""
    return check_number(value, name, minimum=0, exclusive=not zero, fix=fix)


@dataclass(frozen=True)
class Cost:
    """What one part of an application costs on one node, per request.

    Parameters
    ----------
    service_ms : float [ms]
        Busy time of the node per request (also its latency contribution).
    energy_j : float [J]
        IT energy of the node per request.
    memory_bytes : float [B]
        Memory the part holds on the node (weights, buffers), whatever the rate.
    """

    service_ms: float = 0.0
    energy_j: float = 0.0
    memory_bytes: float = 0.0

    def __post_init__(self):
        for f in ("service_ms", "energy_j", "memory_bytes"):
            object.__setattr__(self, f, _pos(getattr(self, f), f"Cost.{f}", "give a number ≥ 0."))


@dataclass(frozen=True)
class Option:
    """One way to deploy an application: a part on its source node and, unless all-local, a remote part.

    Parameters
    ----------
    name : str
        E.g. the split point (``"after conv3"``) or ``"local"``.
    local : Cost
        The part on the source node.
    remote : Mapping[str, Cost]
        Node name → cost of the remote part on that node; empty for an all-local option.
    upload_bytes, download_bytes : float [B]
        Bytes per request sent from the source to the remote node and back (ignored when all-local).
    """

    name: str
    local: Cost = field(default_factory=Cost)
    remote: Mapping[str, Cost] = field(default_factory=dict)
    upload_bytes: float = 0.0
    download_bytes: float = 0.0

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError(f"Option.name must be a non-empty string, got {self.name!r}.")
        for f in ("upload_bytes", "download_bytes"):
            object.__setattr__(self, f, _pos(getattr(self, f), f"option {self.name!r} {f}", "give bytes ≥ 0."))
        if not isinstance(self.local, Cost) or not all(isinstance(c, Cost) for c in self.remote.values()):
            raise ParameterError(f"option {self.name!r}: local and remote costs must be Cost objects. "
                                 "Fix: Option(name, local=Cost(...), remote={'edge': Cost(...)}).")
        object.__setattr__(self, "remote", dict(self.remote))


@dataclass(frozen=True)
class Node:
    """A machine (device, edge server, cloud host).

    Parameters
    ----------
    name : str
    tier : int
        0 on the device side, counting outward (informative; ties in heuristics).
    memory_bytes : float [B], > 0
    capacity : float [-], > 0
        Busy seconds the node can serve per second (1 for one server; 4 for four).
    idle_power_w : float [W]
        Drawn while the node is active (a source, or hosting a remote part).
    pue : float [-], ≥ 1
    carbon_intensity_g_per_kwh : float [g CO2-eq/kWh]
    embodied_kgco2e : float [kg CO2-eq]
        Manufacturing emissions, amortised over busy time when ``lifetime_years`` is given.
    lifetime_years : float or None [year]
    lifetime_utilization : float [-], in (0, 1]
        Busy fraction of the service life (the lca package's ``utilization``).
    """

    name: str
    tier: int
    memory_bytes: float
    capacity: float = 1.0
    idle_power_w: float = 0.0
    pue: float = 1.0
    carbon_intensity_g_per_kwh: float = 0.0
    embodied_kgco2e: float = 0.0
    lifetime_years: float | None = None
    lifetime_utilization: float = DEFAULT_UTILIZATION

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError(f"Node.name must be a non-empty string, got {self.name!r}.")
        w = f"node {self.name!r}"
        check = object.__setattr__
        check(self, "tier", check_int(self.tier, f"{w} tier", minimum=0, fix="0 on the device side, counting outward."))
        check(self, "memory_bytes", _pos(self.memory_bytes, f"{w} memory_bytes", "give bytes > 0.", zero=False))
        check(self, "capacity", _pos(self.capacity, f"{w} capacity", "1 for one server.", zero=False))
        for f in ("idle_power_w", "carbon_intensity_g_per_kwh", "embodied_kgco2e"):
            check(self, f, _pos(getattr(self, f), f"{w} {f}", "give a number ≥ 0."))
        check(self, "pue", check_number(self.pue, f"{w} pue", minimum=1, fix="PUE is ≥ 1 (1 for no overhead)."))
        if self.lifetime_years is not None:
            check(self, "lifetime_years", _pos(self.lifetime_years, f"{w} lifetime_years", "e.g. 4.", zero=False))
        check(self, "lifetime_utilization", check_number(self.lifetime_utilization, f"{w} lifetime_utilization",
                                                         minimum=0, maximum=1, fix="a fraction in (0, 1]."))
        if self.lifetime_utilization == 0:
            raise ParameterError(f"{w} lifetime_utilization must be > 0, got 0. Fix: a fraction in (0, 1].")


def node_from_catalog(name: str, device: str, *, tier: int, country: str | None = None,
                      carbon_intensity_g_per_kwh: float | None = None, pue: float = 1.0, capacity: float = 1.0,
                      lifetime_utilization: float = DEFAULT_UTILIZATION) -> Node:
    """A :class:`Node` with a catalog device's memory, idle power, embodied emissions and lifetime.

    Parameters
    ----------
    name : str
        The node's name in the problem.
    device : str
        A device of :mod:`workbench.catalog.devices` (``workbench devices`` lists them).
    tier : int
    country : str or None
        ISO 3166-1 alpha-3 code whose grid intensity (:mod:`workbench.catalog.grid`) the node draws, or
    carbon_intensity_g_per_kwh : float or None [g CO2-eq/kWh]
        an explicit intensity (one of the two).
    pue, capacity, lifetime_utilization
        As for :class:`Node`.

    Raises
    ------
    UnknownNameError
        Unknown device or country, with close matches.
    ParameterError
        Neither or both of ``country`` and ``carbon_intensity_g_per_kwh``.

    Examples
    --------
    >>> node_from_catalog("edge", "jetson-nano", tier=1, carbon_intensity_g_per_kwh=300.0).lifetime_years
    5.0
    """
    if (country is None) == (carbon_intensity_g_per_kwh is None):
        raise ParameterError(f"node {name!r}: give country or carbon_intensity_g_per_kwh (one of the two), got "
                             f"country={country!r}, carbon_intensity_g_per_kwh={carbon_intensity_g_per_kwh!r}.")
    dev = catalog.get_device(device)
    intensity = grid.carbon_intensity_g_per_kwh(country) if country is not None else carbon_intensity_g_per_kwh
    return Node(name, tier, memory_bytes=float(dev.ram_bytes), capacity=capacity,
                idle_power_w=float(dev.idle_power_w), pue=pue, carbon_intensity_g_per_kwh=intensity,
                embodied_kgco2e=float(dev.embodied_kgco2e), lifetime_years=dev.lifetime_years,
                lifetime_utilization=lifetime_utilization)


@dataclass(frozen=True)
class Link:
    """A link between two nodes (undirected; one per pair).

    Parameters
    ----------
    a, b : str
        Node names.
    bandwidth_mbps : float [Mbit/s], > 0
    rtt_ms : float [ms]
    kwh_per_gb : float [kWh/GB]
        Network energy per GB carried (catalog: :mod:`workbench.catalog.network`).
    tx_power_w : float [W]
        Power the source spends while transmitting its upload.
    """

    a: str
    b: str
    bandwidth_mbps: float
    rtt_ms: float = 0.0
    kwh_per_gb: float = 0.0
    tx_power_w: float = 0.0

    def __post_init__(self):
        w = f"link {self.name}"
        if self.a == self.b:
            raise ParameterError(f"{w} joins a node to itself. Fix: name two different nodes.")
        object.__setattr__(self, "bandwidth_mbps",
                           _pos(self.bandwidth_mbps, f"{w} bandwidth_mbps", "give Mbit/s > 0.", zero=False))
        for f in ("rtt_ms", "kwh_per_gb", "tx_power_w"):
            object.__setattr__(self, f, _pos(getattr(self, f), f"{w} {f}", "give a number ≥ 0."))

    @property
    def name(self) -> str:
        """``"a-b"``, the name used in tables and messages."""
        return f"{self.a}-{self.b}"


@dataclass(frozen=True)
class App:
    """An application: where its requests arise, how many, its latency SLO and its deployment options.

    Parameters
    ----------
    name : str
    source : str
        Node where requests arise.
    request_rate_per_s : float [1/s], > 0
    slo_ms : float [ms], > 0
    options : sequence of Option
    """

    name: str
    source: str
    request_rate_per_s: float
    slo_ms: float
    options: Sequence[Option]

    def __post_init__(self):
        w = f"app {self.name!r}"
        object.__setattr__(self, "request_rate_per_s", _pos(self.request_rate_per_s, f"{w} request_rate_per_s",
                                                            "give requests per second > 0.", zero=False))
        object.__setattr__(self, "slo_ms", _pos(self.slo_ms, f"{w} slo_ms", "give ms > 0.", zero=False))
        object.__setattr__(self, "options", tuple(self.options))
        if not all(isinstance(o, Option) for o in self.options):
            raise ParameterError(f"{w} options must be Option objects. Fix: options=[Option('local', Cost(...))].")
        names = [o.name for o in self.options]
        if not names or len(set(names)) != len(names):
            raise ParameterError(f"{w} options must be non-empty with unique names, got {names}.")


@dataclass(frozen=True)
class MultinodeProblem:
    """Nodes, links and applications, cross-checked: names unique and known, remote nodes linked."""

    nodes: Sequence[Node]
    links: Sequence[Link]
    apps: Sequence[App]

    def __post_init__(self):
        for f in ("nodes", "links", "apps"):
            object.__setattr__(self, f, tuple(getattr(self, f)))
        for what, items in (("node", self.nodes), ("app", self.apps)):
            names = [x.name for x in items]
            if not names or len(set(names)) != len(names):
                raise ParameterError(f"{what} names must be non-empty and unique, got {names}.")
        known = {n.name for n in self.nodes}
        pairs = set()
        for lk in self.links:
            for end in (lk.a, lk.b):
                if end not in known:
                    raise UnknownNameError("node", end, known, hint=f"link {lk.name}")
            if frozenset((lk.a, lk.b)) in pairs:
                raise ParameterError(f"link {lk.name} is given twice. Fix: one link per pair of nodes.")
            pairs.add(frozenset((lk.a, lk.b)))
        for app in self.apps:
            if app.source not in known:
                raise UnknownNameError("node", app.source, known, hint=f"source of app {app.name!r}")
            for o in app.options:
                for n in o.remote:
                    if n not in known:
                        raise UnknownNameError("node", n, known, hint=f"app {app.name!r} option {o.name!r}")
                    if n == app.source:
                        raise ParameterError(f"app {app.name!r} option {o.name!r} puts its remote part on its "
                                             f"source {n!r}. Fix: put that cost in the option's local part.")
                    if self.link(app.source, n) is None:
                        raise ParameterError(f"app {app.name!r} option {o.name!r}: no link between {app.source!r} "
                                             f"and {n!r}. Fix: add Link({app.source!r}, {n!r}, ...) or drop {n!r}.")

    def link(self, a: str, b: str) -> Link | None:
        """The link between nodes ``a`` and ``b``, or None."""
        for lk in self.links:
            if {lk.a, lk.b} == {a, b}:
                return lk
        return None

    @property
    def total_rate_per_s(self) -> float:
        """Σ request rates [1/s]: the denominator of every objective."""
        return sum(a.request_rate_per_s for a in self.apps)


def weights_of(objective) -> dict:
    """``"carbon_g"`` or ``{"latency_ms": 1, "carbon_g": 10}`` → a checked dict of weights."""
    w = {objective: 1.0} if isinstance(objective, str) else dict(objective)
    for name, v in w.items():
        if name not in OBJECTIVES:
            raise UnknownNameError("objective", name, OBJECTIVES)
        check_number(v, f"weight of {name}", minimum=0, fix="weights are ≥ 0.")
    if not w or sum(w.values()) == 0:
        raise ParameterError(f"objective weights must not all be 0, got {w}. Fix: e.g. {{'carbon_g': 1}}.")
    return w
