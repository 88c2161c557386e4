"""The device record of the catalog and the vocabulary of its figures (names, units, bases).

A :class:`Device` holds one device's specifications, each figure with its unit (:data:`FIGURES`),
its basis (:data:`BASES`: how it was obtained) and its source. Reading device tables into records
is :mod:`workbench.catalog.device_tables`; looking devices up is :mod:`workbench.catalog.devices`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from workbench.checks import check_number
from workbench.errors import ParameterError, UnknownNameError
from workbench.units import HOURS_PER_YEAR, SECONDS_PER_HOUR

DTYPES = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4")
"""Numeric types a peak rate may be given for (``peak_flops_per_s_<dtype>``; integer types count
operations per second, one multiply-accumulate = 2 operations, as for FLOPs)."""

SPEC_FIGURES: dict[str, str] = {
    **{f"peak_flops_per_s_{d}": "FLOP/s" for d in DTYPES},
    "memory_bandwidth_bytes_per_s": "B/s",
    "ram_bytes": "B",
    "idle_power_w": "W",
    "max_power_w": "W",
    "embodied_kgco2e": "kgCO2e",
    "lifetime_years": "year",
}
"""Specification figures and their units."""

BOM_FIGURES: dict[str, str] = {
    "die_area_mm2": "mm2",
    "process_node_nm": "nm",
    "dram_gb": "GB",
    "flash_gb": "GB",
    "ic_count": "ICs",
    "pcb_area_cm2": "cm2",
    "pcb_layers": "layers",
}
"""Bill-of-materials figures feeding the embodied-carbon component model, and their units."""

FIGURES: dict[str, str] = {**SPEC_FIGURES, **BOM_FIGURES}
"""Every numeric figure the catalog knows, with its unit."""

TEXT_FIELDS = ("device_class", "vendor", "description", "aliases")
"""Non-numeric rows of a device (``unit`` and ``basis`` are ``-``); ``aliases`` is ``;``-separated."""

BASES = {
    "datasheet": "published by the manufacturer (datasheet, product brief, whitepaper)",
    "pcf": "manufacturer product carbon footprint / environmental report",
    "measurement": "measured and published (benchmark results, measurement reports)",
    "derived": "computed from published figures (formula in the source note)",
    "press": "reported by the press, not by the manufacturer",
    "estimate": "workbench estimate, order of magnitude (reason in the source)",
    "assumption": "workbench assumption where nothing is published",
    "component-model": "computed by workbench.catalog.embodied.component_model from the BOM figures",
}
"""How a figure was obtained."""

REQUIRED_FIGURES = ("max_power_w", "lifetime_years")
"""Figures every device must have (besides a class, one peak rate and an embodied figure or BOM)."""


@dataclass(frozen=True)
class Device:
    """One device of the catalog, with a source for every figure.

    Attributes
    ----------
    name : str
        Catalog name (lower-case, hyphenated), e.g. ``"a100-sxm4-40gb"``.
    device_class : str
        A key of :data:`workbench.schema.DEVICE_CLASSES`.
    peak_flops_per_s : Mapping[str, float]
        Peak rate per dtype [FLOP/s, integer ops/s for int types] (keys of :data:`DTYPES`).
    memory_bandwidth_bytes_per_s : float or None
        Peak memory bandwidth [B/s].
    ram_bytes : int or None
        Memory the device computes from (SRAM for MCUs, DRAM/HBM otherwise) [B].
    idle_power_w, max_power_w : float or None
        Idle and maximum power [W] of the device as described (see ``description``).
    embodied_kgco2e, embodied_kgco2e_low, embodied_kgco2e_high : float or None
        Manufacturing (cradle-to-gate) footprint and its range [kgCO2e].
    embodied_is_estimate : bool
        True when the embodied figure is a workbench estimate (component model or proxy),
        not a manufacturer footprint.
    lifetime_years : float or None
        Typical service life [year] for amortising the embodied footprint.
    sources : Mapping[str, str]
        Figure name → full citation (and note).
    bases : Mapping[str, str]
        Figure name → basis (a key of :data:`BASES`).
    """

    name: str
    device_class: str
    peak_flops_per_s: Mapping[str, float]
    memory_bandwidth_bytes_per_s: float | None
    ram_bytes: int | None
    idle_power_w: float | None
    max_power_w: float | None
    embodied_kgco2e: float | None
    embodied_kgco2e_low: float | None
    embodied_kgco2e_high: float | None
    embodied_is_estimate: bool
    lifetime_years: float | None
    sources: Mapping[str, str]
    bases: Mapping[str, str] = field(default_factory=dict)
    vendor: str = ""
    description: str = ""
    aliases: tuple[str, ...] = ()
    bom: Mapping[str, float] = field(default_factory=dict)
    origin: str = "catalog"
    """``"catalog"`` for the package's table, else the user file the device came from."""

    def peak(self, dtype: str = "fp32") -> float:
        """Peak rate of the device for one numeric type.

        Parameters
        ----------
        dtype : str
            A key of :attr:`peak_flops_per_s` (one of :data:`DTYPES`).

        Returns
        -------
        float
            Peak rate [FLOP/s; integer ops/s for integer types].

        Raises
        ------
        UnknownNameError
            The catalog gives no peak rate for ``dtype`` on this device (the message lists those it gives).
        """
        try:
            return self.peak_flops_per_s[dtype]
        except KeyError:
            raise UnknownNameError(
                f"dtype for device {self.name!r}", dtype, self.peak_flops_per_s,
                "the catalog gives peak rates only for these",
            ) from None

    def embodied_share_kgco2e(self, seconds: float) -> float:
        """Embodied footprint amortised over ``seconds`` of use, linearly over the lifetime.

        ``embodied_kgco2e × seconds / (lifetime_years × 8760 h × 3600 s)``.

        Parameters
        ----------
        seconds : float
            Time of use [s], >= 0.

        Returns
        -------
        float
            The share of the embodied footprint [kgCO2e].

        Raises
        ------
        ParameterError
            The device has no embodied footprint or lifetime, or ``seconds`` is not a finite number >= 0.
        """
        if self.embodied_kgco2e is None or not self.lifetime_years:
            raise ParameterError(
                f"device {self.name!r} has no embodied footprint or lifetime; add them in a user device file."
            )
        seconds = check_number(seconds, "seconds", minimum=0, fix="give the time of use in seconds [s].")
        life_s = self.lifetime_years * HOURS_PER_YEAR * SECONDS_PER_HOUR
        return self.embodied_kgco2e * seconds / life_s

