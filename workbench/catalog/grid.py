"""Grid carbon intensity and generation mix by country, from the installed codecarbon package.

Read at first use from ``codecarbon/data/private_infra/global_energy_mix.json`` and
``carbon_intensity_per_source.json`` through :mod:`importlib.resources` (never copied into the
workbench). codecarbon builds the per-country table from Our World in Data's energy dataset
(``owid/energy-data``, series *carbon intensity of electricity*, life-cycle gCO2e/kWh); the year
of each country's figure is in the table (mostly 2022/2023).

References
----------
codecarbon (MIT), version installed in the environment (pinned in pyproject.toml), data files named above.
"""

from __future__ import annotations

import functools
import json
from importlib import metadata, resources

import polars as pl

from workbench.checks import check_number
from workbench.errors import ParameterError, UnknownNameError

UNIT = "gCO2e/kWh"

MAX_PLAUSIBLE_G_PER_KWH = 2000.0
"""Largest plausible grid intensity [gCO2e/kWh]: an override or a scenario above it is refused unless allowed.

The highest national figure in codecarbon's table (Our World in Data / Ember) is Turkmenistan's, 1,306
gCO2e/kWh (2022), and the dirtiest source in codecarbon's per-source table, coal, is 995 gCO2e/kWh:
2,000 is about 1.5 times the worst country."""

MAX_PLAUSIBLE_REASON = ("the highest national grid intensity in codecarbon's data, Turkmenistan's, is 1,306 "
                        "g/kWh, and coal power 995 g/kWh; is the value in g/MWh or mg/kWh?")
"""Why :data:`MAX_PLAUSIBLE_G_PER_KWH` is the bound, as error messages say it."""

MIX_SOURCES = {
    "coal": "coal_TWh",
    "natural_gas": "gas_TWh",
    "petroleum": "oil_TWh",
    "nuclear": "nuclear_TWh",
    "hydroelectricity": "hydroelectricity_TWh",
    "solar": "solar_TWh",
    "wind": "wind_TWh",
    "biofuel": "biofuel_TWh",
    "other_renewable": "other_renewable_exc_biofuel_TWh",
}
"""Generation source (named as in codecarbon's carbon_intensity_per_source.json where it has one)
→ column of global_energy_mix.json [TWh]. ``other_renewable`` (geothermal, tidal, ...) has no
factor of its own in codecarbon's table."""


def _codecarbon_file(*parts: str) -> str:
    try:
        return resources.files("codecarbon").joinpath("data", *parts).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:  # pragma: no cover - codecarbon is pinned
        raise ParameterError(
            f"cannot read codecarbon's data file {'/'.join(parts)} ({exc}). Fix: install the pinned "
            "codecarbon (pip install -e .), or pass an explicit override."
        ) from None


def codecarbon_version() -> str:
    """Version of the installed codecarbon package whose data the grid tables read."""
    return metadata.version("codecarbon")


def source_label() -> str:
    """Citation of the grid figures."""
    return (
        f"codecarbon {codecarbon_version()} data/private_infra/global_energy_mix.json "
        "(Our World in Data energy data, carbon intensity of electricity, life cycle)"
    )


@functools.lru_cache(maxsize=1)
def _mix() -> dict[str, dict]:
    return json.loads(_codecarbon_file("private_infra", "global_energy_mix.json"))


@functools.lru_cache(maxsize=1)
def _per_source() -> dict:
    return json.loads(_codecarbon_file("private_infra", "carbon_intensity_per_source.json"))


def resolve_country(iso3: str) -> str:
    """The ISO3 code for a code (any case) or English country name; UnknownNameError with close matches."""
    table = _mix()
    key = str(iso3).strip().upper()
    if key in table:
        return key
    by_name = {v.get("country_name", "").lower(): k for k, v in table.items()}
    hit = by_name.get(str(iso3).strip().lower())
    if hit:
        return hit
    names = list(table) + [v.get("country_name", "") for v in table.values()]
    raise UnknownNameError("country", iso3, names, "`workbench grid` (ISO 3166-1 alpha-3 codes, e.g. FRA, USA)")


def carbon_intensity_g_per_kwh(iso3: str, *, override: float | None = None, allow_implausible: bool = False) -> float:
    """Life-cycle carbon intensity of a country's electricity [gCO2e/kWh].

    Parameters
    ----------
    iso3 : str
        ISO 3166-1 alpha-3 code (case-insensitive) or the country's English name as in codecarbon.
    override : float, optional
        Use this value instead [gCO2e/kWh] (e.g. a supplier's contract figure or a marginal
        intensity); it is validated and returned unchanged, and the country is not looked up.
    allow_implausible : bool
        Accept an override above :data:`MAX_PLAUSIBLE_G_PER_KWH` (it is refused otherwise).

    Raises
    ------
    UnknownNameError
        Unknown country, with close matches.
    ParameterError
        A negative or non-finite override, or one above :data:`MAX_PLAUSIBLE_G_PER_KWH` without
        ``allow_implausible``.

    Examples
    --------
    >>> round(carbon_intensity_g_per_kwh("FRA"), 3)
    56.039
    >>> carbon_intensity_g_per_kwh("FRA", override=30.0)
    30.0
    """
    if override is not None:
        value = check_number(override, "override carbon intensity [gCO2e/kWh]", minimum=0,
                             fix="give the intensity in gCO2e/kWh, e.g. override=30.0.")
        if value > MAX_PLAUSIBLE_G_PER_KWH and not allow_implausible:
            raise ParameterError(
                f"override carbon intensity {value:g} gCO2e/kWh is above the plausible maximum of "
                f"{MAX_PLAUSIBLE_G_PER_KWH:g} ({MAX_PLAUSIBLE_REASON}). Fix: give it in gCO2e/kWh, or pass "
                "allow_implausible=True if the value is right.")
        return value
    return float(_mix()[resolve_country(iso3)]["carbon_intensity"])


def grid_table() -> pl.DataFrame:
    """Every country: iso3, country, carbon_intensity_g_per_kwh, year, unit, source (sorted by iso3)."""
    src = source_label()
    rows = [
        {"iso3": k, "country": v.get("country_name"), "carbon_intensity_g_per_kwh": float(v["carbon_intensity"]),
         "year": int(v["year"]) if v.get("year") is not None else None, "unit": UNIT, "source": src}
        for k, v in sorted(_mix().items())
    ]
    return pl.DataFrame(rows, schema={"iso3": pl.String, "country": pl.String,
                                      "carbon_intensity_g_per_kwh": pl.Float64, "year": pl.Int64,
                                      "unit": pl.String, "source": pl.String})


def energy_mix(iso3: str) -> dict[str, float]:
    """Share of each generation source in a country's electricity [1], summing to 1.

    Shares are the source's TWh over the sum of the listed sources (:data:`MIX_SOURCES`).

    Raises
    ------
    UnknownNameError
        Unknown country.
    ParameterError
        The country's mix in codecarbon's data has no generation at all.
    """
    key = resolve_country(iso3)
    row = _mix()[key]
    twh = {name: float(row.get(col) or 0.0) for name, col in MIX_SOURCES.items()}
    total = sum(twh.values())
    if total <= 0:
        raise ParameterError(
            f"codecarbon's data gives no generation mix for {key}; use carbon_intensity_g_per_kwh({key!r}) instead."
        )
    return {k: v / total for k, v in twh.items()}


def source_intensity_g_per_kwh() -> dict[str, float]:
    """Life-cycle carbon intensity per generation source [gCO2e/kWh] (codecarbon's table).

    Citations per source: :func:`source_intensity_table`.
    """
    data = _per_source()
    return {k: float(v) for k, v in data.items()
            if not k.endswith("_source") and k != "unit" and isinstance(v, (int, float))}


def source_intensity_table() -> pl.DataFrame:
    """Per-source intensities with their citation: source, carbon_intensity_g_per_kwh, unit, citation."""
    data = _per_source()
    rows = [{"source": k, "carbon_intensity_g_per_kwh": v, "unit": UNIT,
             "citation": f"{data.get(k + '_source', '')} (via codecarbon {codecarbon_version()} "
                         "carbon_intensity_per_source.json)"}
            for k, v in source_intensity_g_per_kwh().items()]
    return pl.DataFrame(rows)
