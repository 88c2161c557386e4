"""Resolution of a scenario against the catalog: every default filled, every number explicit.

:func:`resolve` turns a validated :class:`~workbench.lca.scenario.Scenario` (what the file says, see
:mod:`workbench.lca.scenario`) into a :class:`ResolvedScenario`: the grid intensity of the country
[g CO2-eq/kWh], each device's IT energy [kWh], PUE, embodied emissions [kg CO2-eq/device] and
lifetime [years], each network transfer's energy per GB [kWh/GB], each with the source it came
from (the scenario, or which catalog table). Unknown names (country, device, technology, PUE kind)
are reported here with close matches, still before anything is written to the Brightway project,
as are the plausibility checks that need the catalog's figures or derived numbers (``hours``
beyond the device's lifetime, a device's or the scenario's energy beyond
:data:`workbench.lca.bounds.MAX_ENERGY_KWH`; see :mod:`workbench.lca.bounds`).
:func:`embodied_share` is the amortisation rule the footprint and the vectorised sweep share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from workbench.catalog import devices as catalog
from workbench.catalog import grid, network
from workbench.catalog import pue as cat_pue
from workbench.errors import UnknownNameError
from workbench.lca.bounds import BOUNDS, MAX_ENERGY_KWH, OVERRIDE_HINT, describe
from workbench.lca.scenario import DeviceSpec, ImplausibleValueError, Scenario, ScenarioError
from workbench.units import HOURS_PER_YEAR, J_PER_KWH

DEFAULT_PUE = 1.0
"""PUE when a device gives none: no facility overhead (edge devices; say ``pue`` for data centres)."""
DEFAULT_UTILIZATION = 1.0
"""Utilization when none is given: the device is busy all its service life (lowest embodied share)."""


@dataclass(frozen=True)
class ResolvedDevice:
    """A device group with every number explicit (per device unless named ``*_group``)."""

    name: str
    count: float
    energy_kwh: float               # IT energy per device [kWh]
    energy_method: str              # "power_w*hours" | "energy_kwh" | "per-inference"
    hours: float | None
    power_w: float | None
    pue: float
    pue_source: str
    embodied_kgco2e: float
    embodied_source: str            # "scenario" | "catalog"
    embodied_kgco2e_low: float | None
    embodied_kgco2e_high: float | None
    lifetime_years: float | None
    utilization: float
    in_catalog: bool

    @property
    def embodied_included(self) -> bool:
        """Whether embodied emissions are amortised (they need ``hours`` and ``lifetime_years``)."""
        return self.hours is not None and self.lifetime_years is not None

    @property
    def embodied_share(self) -> float:
        """Share of one device's embodied emissions charged to this scenario: hours / (lifetime h × utilization)."""
        if not self.embodied_included:
            return 0.0
        return embodied_share(self.hours, self.lifetime_years, self.utilization)

    @property
    def energy_kwh_group(self) -> float:
        """IT energy of the whole group [kWh]."""
        return self.count * self.energy_kwh

    @property
    def facility_energy_kwh_group(self) -> float:
        """Energy the group draws from the grid, PUE included [kWh]."""
        return self.count * self.energy_kwh * self.pue


@dataclass(frozen=True)
class ResolvedNetwork:
    """A network transfer with its energy per GB explicit: ``gigabytes`` [GB] × ``kwh_per_gb`` [kWh/GB]."""

    technology: str
    gigabytes: float
    kwh_per_gb: float
    source: str

    @property
    def energy_kwh(self) -> float:
        """Energy of the transfer [kWh]."""
        return self.gigabytes * self.kwh_per_gb


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario with every number explicit and its source named (what the footprint is computed from)."""

    name: str
    functional_unit: str
    country: str | None
    carbon_intensity_g_per_kwh: float      # what the computation's grid emits per kWh
    intensity_source: str                   # "scenario" | catalog citation
    devices: tuple[ResolvedDevice, ...]
    network: tuple[ResolvedNetwork, ...]
    uncertainty: dict
    method: str | None
    explicit_intensity: bool
    allow_implausible: bool = False         # plausibility bounds lifted (the scenario said so)
    source: str = "<scenario>"              # the scenario file, for messages

    @property
    def energy_kwh(self) -> float:
        """Electricity drawn from the grid [kWh]: devices × PUE plus network."""
        return sum(d.facility_energy_kwh_group for d in self.devices) + sum(n.energy_kwh for n in self.network)


def embodied_share(hours, lifetime_years, utilization):
    """Share of a device's embodied emissions charged to ``hours`` of use (works on numpy arrays).

    ``hours / (lifetime_years × 8760 × utilization)``: the device is expected to be busy
    ``utilization`` of its ``lifetime_years`` (Luccioni et al. 2023, JMLR 24(253), §4.1, amortise
    embodied emissions this way with 6 years and 85 %).

    Parameters
    ----------
    hours : float or array [h]
        Busy hours of the device charged to the scenario.
    lifetime_years : float or array [year]
        Service life of the device.
    utilization : float or array [-], in (0, 1]
        Busy fraction of the service life.

    Returns
    -------
    float or numpy.ndarray [-]
        The share (broadcast over the inputs); not checked against 1.

    Examples
    --------
    >>> round(embodied_share(8760.0, 1.0, 1.0), 12)
    1.0
    """
    return hours / (lifetime_years * HOURS_PER_YEAR * utilization)


def resolve(scenario: Scenario) -> ResolvedScenario:
    """Fill the scenario's defaults from the catalog; every number of the result is explicit.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (:func:`workbench.lca.scenario.parse_scenario` or
        :func:`~workbench.lca.scenario.load_scenario`).

    Returns
    -------
    ResolvedScenario
        Grid intensity [g CO2-eq/kWh], per-device IT energy [kWh], PUE [-], embodied emissions
        [kg CO2-eq/device], lifetime [year], utilization [-] and network energy [kWh/GB], each with
        its source.

    Raises
    ------
    UnknownNameError
        Unknown country, technology, PUE kind, or a device neither in the catalog nor given
        ``embodied_kgco2e`` (messages suggest close matches).
    ImplausibleValueError
        ``hours`` beyond the device's lifetime, or a device's or the scenario's energy beyond
        :data:`~workbench.lca.bounds.MAX_ENERGY_KWH`, unless the scenario allows implausible values.
    ScenarioError
        A derived number overflows (not finite), even when implausible values are allowed.
    """
    if scenario.carbon_intensity_g_per_kwh is not None:
        intensity = scenario.carbon_intensity_g_per_kwh
        isrc = "scenario"
        if scenario.country is not None:
            grid.carbon_intensity_g_per_kwh(scenario.country)  # still check the label
    else:
        intensity = float(grid.carbon_intensity_g_per_kwh(scenario.country))
        isrc = _grid_source(scenario.country)
    devices = tuple(_checked(_resolve_device(d), d, f"devices[{i}] ({d.name})", scenario)
                    for i, d in enumerate(scenario.devices))
    nets = []
    for n in scenario.network:
        tech = n.technology
        if tech not in network.TECHNOLOGIES:
            raise UnknownNameError("network technology", tech, network.TECHNOLOGIES)
        if n.kwh_per_gb is not None:
            kwh, src = n.kwh_per_gb, "scenario"
        else:
            kwh = float(network.energy_kwh_per_gb(tech, n.year) if n.year is not None
                        else network.energy_kwh_per_gb(tech))
            src = f"workbench.catalog.network ({tech}{', ' + str(n.year) if n.year else ''})"
        nets.append(ResolvedNetwork(technology=tech, gigabytes=n.gigabytes, kwh_per_gb=kwh, source=src))
    rs = ResolvedScenario(name=scenario.name, functional_unit=scenario.functional_unit, country=scenario.country,
                          carbon_intensity_g_per_kwh=float(intensity), intensity_source=isrc, devices=devices,
                          network=tuple(nets), uncertainty=dict(scenario.uncertainty), method=scenario.method,
                          explicit_intensity=scenario.carbon_intensity_g_per_kwh is not None,
                          allow_implausible=scenario.allow_implausible, source=scenario.source)
    _check_energy(rs.energy_kwh, "the scenario's grid electricity (devices x PUE + network)", scenario)
    return rs


def _check_energy(value: float, what: str, scenario: Scenario) -> None:
    """A derived energy [kWh]: finite always, within :data:`MAX_ENERGY_KWH` unless implausible values are allowed."""
    if not math.isfinite(value):
        raise ScenarioError(f"{scenario.source}: {what} overflows ({value!r} kWh): the scenario's magnitudes "
                            "multiply beyond floating point. Fix: correct the magnitudes (units?).")
    if value > MAX_ENERGY_KWH and not scenario.allow_implausible:
        raise ImplausibleValueError(f"{scenario.source}: {what} = {describe(value, BOUNDS['energy_kwh'])}. "
                                    f"Fix: correct the inputs it is computed from, or {OVERRIDE_HINT}.")


def _checked(d: ResolvedDevice, spec: DeviceSpec, where: str, scenario: Scenario) -> ResolvedDevice:
    """``d`` after the checks that need its resolved figures: energy, and hours against the lifetime."""
    by = {"power_w*hours": "power_w x hours", "energy_kwh": "energy_kwh",
          "per-inference": "energy_per_inference_j x inferences"}[d.energy_method]
    _check_energy(d.energy_kwh, f"{where}: the energy per device ({by})", scenario)
    _check_energy(d.facility_energy_kwh_group, f"{where}: the group's energy (count x energy per device x PUE)",
                  scenario)
    if d.hours is not None and d.lifetime_years is not None and not scenario.allow_implausible:
        life_h = d.lifetime_years * HOURS_PER_YEAR
        if d.hours > life_h:
            origin = "the scenario's" if spec.lifetime_years is not None else "the catalog's"
            raise ImplausibleValueError(
                f"{scenario.source}: {where}.hours = {d.hours:g} h is more than the device's lifetime of "
                f"{d.lifetime_years:g} years ({life_h:g} h, {origin} lifetime_years): one device cannot be busy "
                "longer than it lives (its whole manufacturing would be charged more than once). Fix: give the "
                "busy hours per device, spread the work over more devices (count), or " + OVERRIDE_HINT + ".")
    return d


def _grid_source(iso3: str) -> str:
    try:
        table = grid.grid_table()
        row = table.filter(table["iso3"] == iso3.upper())
        if row.height:
            return f"{row['source'][0]} ({row['year'][0]})"
    except Exception:  # noqa: BLE001 - the citation is informative only
        pass
    return "workbench.catalog.grid"


def _resolve_device(d: DeviceSpec) -> ResolvedDevice:
    try:
        dev = catalog.get_device(d.name)
    except UnknownNameError as exc:
        if d.embodied_kgco2e is None or (d.lifetime_years is None and d.hours is not None):
            missing = "embodied_kgco2e and lifetime_years" if d.embodied_kgco2e is None else "lifetime_years"
            raise UnknownNameError("device", d.name, exc.valid,
                                   hint=f"or give {missing} for a device outside the catalog") from None
        dev = None
    if d.power_w is not None:
        energy, method = d.power_w * d.hours / 1000.0, "power_w*hours"
    elif d.energy_kwh is not None:
        energy, method = d.energy_kwh, "energy_kwh"
    else:
        energy, method = d.energy_per_inference_j * d.inferences / J_PER_KWH, "per-inference"
    pue, pue_src = _resolve_pue(d.pue)
    if d.embodied_kgco2e is not None:
        emb, esrc, low, high = d.embodied_kgco2e, "scenario", None, None
    else:
        emb, esrc = float(dev.embodied_kgco2e), "catalog"
        low, high = _opt(dev.embodied_kgco2e_low), _opt(dev.embodied_kgco2e_high)
    lifetime = d.lifetime_years if d.lifetime_years is not None else (float(dev.lifetime_years) if dev else None)
    return ResolvedDevice(
        name=d.name if dev is None else dev.name, count=d.count, energy_kwh=energy, energy_method=method,
        hours=d.hours, power_w=d.power_w, pue=pue, pue_source=pue_src, embodied_kgco2e=emb,
        embodied_source=esrc, embodied_kgco2e_low=low, embodied_kgco2e_high=high, lifetime_years=lifetime,
        utilization=d.utilization if d.utilization is not None else DEFAULT_UTILIZATION, in_catalog=dev is not None)


def _resolve_pue(pue) -> tuple[float, str]:
    if pue is None:
        return DEFAULT_PUE, "default (no facility overhead)"
    if isinstance(pue, str):
        return float(cat_pue.pue(pue)), f"workbench.catalog.pue ({pue})"
    return float(pue), "scenario"


def _opt(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def with_overrides(scenario: ResolvedScenario, **changes) -> ResolvedScenario:
    """A copy of a resolved scenario with fields replaced (``dataclasses.replace``).

    Parameters
    ----------
    scenario : ResolvedScenario
    **changes
        Field values, in the fields' units (e.g. ``carbon_intensity_g_per_kwh=57.0`` [g CO2-eq/kWh]).

    Returns
    -------
    ResolvedScenario
        A new object; ``scenario`` is unchanged. The values are not validated again.
    """
    return replace(scenario, **changes)
