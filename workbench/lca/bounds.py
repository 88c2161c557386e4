"""Physical plausibility bounds of the quantities a scenario gives, each with the source of the bound.

A scenario value beyond its bound is almost always a unit slip (W for kW, g for kg, Wh for J) or a
typo (an extra exponent): the footprint would come out many orders of magnitude off and look like a
result. :func:`workbench.lca.scenario.parse_scenario` and :func:`workbench.lca.resolution.resolve`
therefore refuse it with an :class:`~workbench.lca.scenario.ImplausibleValueError` that names the
value, the bound and its reason, unless the scenario says ``allow_implausible = true`` at its top
level (CLI: ``workbench footprint --allow-implausible``).

The bounds are generous on purpose (an order of magnitude or more above the largest real case):
they catch absurd inputs, not unusual ones. Hard limits are not in this table and no flag lifts
them: a value must be a finite number, ``pue >= 1``, ``utilization`` in (0, 1], and every amount
written to Brightway must fit its float32 storage (:data:`FLOAT32_MAX`).

The grid-intensity and PUE bounds are the catalog's own (:data:`workbench.catalog.grid.MAX_PLAUSIBLE_G_PER_KWH`,
:data:`workbench.catalog.pue.MAX_PLAUSIBLE_PUE`), so a scenario and a catalog override agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.catalog import grid, pue
from workbench.units import HOURS_PER_YEAR


@dataclass(frozen=True)
class Bound:
    """The largest plausible value of one quantity.

    Attributes
    ----------
    maximum : float
        In ``unit``.
    unit : str
    reason : str
        Why a larger value is implausible (the source of the bound), as the error message says it.
    """

    maximum: float
    unit: str
    reason: str


MAX_LIFETIME_YEARS = 50.0
# Servers are written off after 3-6 years (Luccioni et al. 2023 amortise GPUs and servers over 6 years;
# the device catalog's lifetimes are 3-5 years); no computing hardware serves for 50.

MAX_POWER_W = 1e6
# The largest single AI systems draw about 10 kW (NVIDIA DGX H100 datasheet: 10.2 kW maximum system
# power) and a whole GB200 NVL72 rack about 120 kW; the device catalog's largest entry is 700 W (H100/H200
# SXM). 1 MW per device is two orders of magnitude above a DGX H100.

MAX_ENERGY_KWH = 1e12
# 1,000 TWh: about 2.4 times the electricity all data centres in the world used in 2024 (415 TWh, IEA,
# "Energy and AI", 2025). Applies to one device and to the whole scenario.

BOUNDS: dict[str, Bound] = {
    "carbon_intensity_g_per_kwh": Bound(
        grid.MAX_PLAUSIBLE_G_PER_KWH, "g CO2-eq/kWh", grid.MAX_PLAUSIBLE_REASON),
    "count": Bound(
        # more devices than people on Earth (8.0e9 in November 2022, UN World Population Prospects 2022)
        1e10, "devices", "more devices than people on Earth (8.0e9 in 2022, UN World Population Prospects)"),
    "power_w": Bound(
        MAX_POWER_W, "W", "100 times a DGX H100 (10.2 kW, NVIDIA datasheet), the largest single AI system; "
        "is the value in mW, or for the whole group (give it per device, times count)?"),
    "hours": Bound(
        MAX_LIFETIME_YEARS * HOURS_PER_YEAR, "h", f"{MAX_LIFETIME_YEARS:g} years of service, beyond any "
        "computing hardware's life (servers: 3-6 years)"),
    "energy_kwh": Bound(
        MAX_ENERGY_KWH, "kWh", "2.4 times the electricity of every data centre in the world in 2024 "
        "(415 TWh, IEA Energy and AI 2025); is the value in Wh or J?"),
    "energy_per_inference_j": Bound(
        # a DGX H100 (10.2 kW) busy for a whole day is 8.8e8 J; one inference never takes that
        1e9, "J", "a DGX H100 (10.2 kW) busy for more than a day on one inference; is the value in mJ or uJ?"),
    "inferences": Bound(
        # 1e6 inferences/s for 30 years is 9.5e14; MLPerf Inference's fastest single accelerators
        # (ResNet-50, offline) stay below 1e5 samples/s
        1e15, "inferences", "a million inferences per second for 30 years on one device (MLPerf's fastest "
        "accelerators serve under 1e5 per second)"),
    "pue": Bound(pue.MAX_PLAUSIBLE_PUE, "", pue.MAX_PLAUSIBLE_REASON),
    "embodied_kgco2e": Bound(
        # Luccioni et al. (2023) count 150 kg per A100 and 2,500 kg per server; the catalog's devices
        # are under 100 kg each
        1e6, "kg CO2-eq", "400 times the 2,500 kg of a whole GPU server (Luccioni et al. 2023); is the "
        "value in g, or for the whole group (give it per device)?"),
    "lifetime_years": Bound(
        MAX_LIFETIME_YEARS, "years", "beyond any computing hardware's service life (servers: 3-6 years); "
        "is the value in months or hours?"),
    "gigabytes": Bound(
        # Cisco Visual Networking Index (2019): global IP traffic of 4.8 ZB per year forecast for 2022
        1e13, "GB", "twice the world's yearly IP traffic (4.8 ZB in 2022, Cisco VNI); is the value in bytes?"),
    "kwh_per_gb": Bound(
        # Aslan et al. (2018), J. Ind. Ecol. 22(4): published estimates range from 136 kWh/GB (for 2000)
        # down to 0.004 kWh/GB; the catalog's figures are 0.03-0.14 kWh/GB
        200.0, "kWh/GB", "above the highest published estimate, 136 kWh/GB for the year 2000 "
        "(Aslan et al. 2018); is the value in Wh/GB or kWh/TB?"),
    "rel_sd": Bound(
        # a lognormal with relative sd 3 (sigma of the log 1.52) spreads its 2.5-97.5 % range over a factor
        # of about 390; the widest default, network_rel_sd = 0.5, spreads it over a factor of about 6
        3.0, "", "a relative standard deviation of 3 already spreads the 95 % range over a factor of 390; "
        "give it as a fraction (0.15 for 15 %)"),
    "pue_halfwidth": Bound(
        pue.MAX_PLAUSIBLE_PUE - 1.0, "", "the whole plausible range of PUE, 1 to "
        f"{pue.MAX_PLAUSIBLE_PUE:g}"),
}
"""Quantity (the scenario key, or ``rel_sd`` for the ``*_rel_sd`` keys of ``[uncertainty]``) → its bound."""

FLOAT32_MAX = 3.4028234663852886e38
"""Largest amount Brightway can store: ``Database.process()`` writes amounts as float32 (not liftable)."""

OVERRIDE_HINT = ("if the value is right, add allow_implausible = true at the top of the scenario file (CLI: "
                 "--allow-implausible)")
"""The end of every implausible-value message: how to say that the value is meant."""


def bound_for(key: str) -> Bound | None:
    """The bound of a scenario key (``*_rel_sd`` keys share ``rel_sd``); None for keys without one.

    Parameters
    ----------
    key : str
        A key of a scenario table, e.g. ``"power_w"`` or ``"grid_rel_sd"``.

    Returns
    -------
    Bound or None

    Examples
    --------
    >>> bound_for("grid_rel_sd").maximum
    3.0
    >>> bound_for("name") is None
    True
    """
    if key.endswith("_rel_sd"):
        key = "rel_sd"
    return BOUNDS.get(key)


def describe(value: float, bound: Bound) -> str:
    """``"1e+30 kWh is above the plausible maximum of 1e+12 kWh (reason)"``: the core of the message."""
    unit = f" {bound.unit}" if bound.unit else ""
    return f"{value:g}{unit} is above the plausible maximum of {bound.maximum:g}{unit} ({bound.reason})"
