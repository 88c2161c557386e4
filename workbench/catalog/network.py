"""Energy intensity of moving data over networks [kWh/GB], by access technology, with a year trend.

Each technology has a base figure for a base year with its source. For another year the figure is
extrapolated with an exponential efficiency trend, ``value × 0.5 ** ((year − base_year) / halving_years)``.
The default halving time (2 years) is Aslan et al.'s observed trend for 2000–2015; extrapolating it is
contested (Koomey & Masanet 2021), so callers may pass ``halving_years=math.inf`` to freeze the base
figure, or any other halving time. See ``docs/data.md`` ("Network intensity: changing the year/trend").

Attributional per-GB figures allocate mostly fixed network power to traffic; the marginal energy of
one more GB is much smaller (Malmodin 2020). Use these for attributional LCA, not for marginal decisions.

References
----------
.. [Aslan2018] J. Aslan, K. Mayers, J. G. Koomey, C. France. "Electricity Intensity of Internet Data
   Transmission: Untangling the Estimates." Journal of Industrial Ecology 22(4):785–798, 2018.
.. [EU2020] D. Montevecchi et al. "ICT impact study: Energy-efficient Cloud Computing Technologies and
   Policies for an Eco-friendly Cloud Market." European Commission, 2020 (fixed 0.03 kWh/GB,
   mobile 0.14 kWh/GB), as summarised in Scope3's methodology (methodology.scope3.com/data_transfer).
.. [RAN] "Power consumption evaluation of mobile radio access networks using a bottom-up approach":
   4G base stations about 10 kbit/J (0.23 kWh/GB); 5G 3–4× more efficient per bit (same summary).
.. [Koomey2021] J. Koomey, E. Masanet. "Does not compute: Avoiding pitfalls assessing the Internet's
   energy and carbon impacts." Joule 5(7):1625–1628, 2021.
"""

from __future__ import annotations

import math

import polars as pl

from workbench.checks import check_number
from workbench.errors import UnknownNameError

DEFAULT_HALVING_YEARS = 2.0
"""Years for the energy per GB to halve (Aslan et al. 2018: fixed-line intensity halved every 2 years, 2000–2015)."""

YEAR_RANGE = (2010, 2040)
"""Years the trend may be evaluated for; outside it the extrapolation is meaningless."""

_TABLE = {
    # technology: (kWh/GB, base year, source)
    "fixed": (0.03, 2020,
              "EU ICT impact study 2020 (Montevecchi et al., European Commission): fixed networks 0.03 kWh/GB "
              "(core + fixed access)"),
    "wifi": (0.03, 2020,
             "Fixed network figure of the EU ICT impact study 2020 (0.03 kWh/GB); the home Wi-Fi router draws "
             "nearly constant power, which Malmodin (2020) shows is not proportional to traffic, so no per-GB "
             "term is added"),
    "4g": (0.14, 2020,
           "EU ICT impact study 2020 (Montevecchi et al., European Commission): mobile networks 0.14 kWh/GB "
           "(mostly 4G/LTE traffic); bottom-up RAN studies give 0.23 kWh/GB for 4G base stations alone"),
    "5g": (0.04, 2020,
           "4G figure (0.14 kWh/GB, EU ICT impact study 2020) divided by 3.5: bottom-up RAN evaluation finds 5G "
           "3-4x more efficient per bit than 4G (the IEA cites up to 10x as an expectation)"),
}

_ALIASES = {"ethernet": "fixed", "wired": "fixed", "wi-fi": "wifi", "wlan": "wifi", "lte": "4g", "nr": "5g"}

TECHNOLOGIES: tuple[str, ...] = tuple(_TABLE)
"""Access technologies with a figure: fixed, wifi, 4g, 5g."""


def _resolve(technology: str) -> str:
    key = str(technology).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _TABLE:
        raise UnknownNameError("network technology", technology, list(_TABLE) + list(_ALIASES))
    return key


def energy_kwh_per_gb(technology: str, year: int | None = None, *, halving_years: float | None = None) -> float:
    """Energy to transfer one gigabyte over a technology [kWh/GB].

    Parameters
    ----------
    technology : str
        One of :data:`TECHNOLOGIES` (aliases: ethernet/wired → fixed, wi-fi/wlan → wifi, lte → 4g, nr → 5g).
    year : int, optional
        Year of the transfer; None gives the base figure for its base year.
    halving_years : float, optional
        Halving time of the trend [years] (default :data:`DEFAULT_HALVING_YEARS`); ``math.inf`` keeps
        the base figure for every year.

    Raises
    ------
    UnknownNameError
        Unknown technology.
    ParameterError
        Year outside :data:`YEAR_RANGE`, or a halving time that is not a number > 0 (checked even
        without a year).

    Examples
    --------
    >>> energy_kwh_per_gb("4g")
    0.14
    >>> energy_kwh_per_gb("4g", 2022)
    0.07
    >>> energy_kwh_per_gb("4g", 2022, halving_years=math.inf)
    0.14
    """
    value, base_year, _ = _TABLE[_resolve(technology)]
    h = check_halving_years(halving_years)  # checked even when unused, so that a bad value never passes
    if year is None:
        return value
    year = check_number(year, "year", minimum=YEAR_RANGE[0], maximum=YEAR_RANGE[1],
                        fix=f"give a year between {YEAR_RANGE[0]} and {YEAR_RANGE[1]}; the efficiency trend is "
                            "not meaningful outside that range.")
    if h == math.inf:
        return value
    return value * 0.5 ** ((year - base_year) / h)


def check_halving_years(halving_years: float | None) -> float:
    """The halving time of the trend [years]: :data:`DEFAULT_HALVING_YEARS` for None, else a number > 0.

    ``math.inf`` (no trend) is accepted; zero, a negative time (an efficiency that gets worse
    exponentially), NaN and ``-inf`` are refused.

    Raises
    ------
    ParameterError
        Not a number > 0.

    Examples
    --------
    >>> check_halving_years(None)
    2.0
    >>> check_halving_years(math.inf)
    inf
    """
    if halving_years is None:
        return DEFAULT_HALVING_YEARS
    fix = "give the halving time in years (2 is the observed trend), or inf (math.inf) for no trend."
    if isinstance(halving_years, (int, float)) and not isinstance(halving_years, bool) and halving_years == math.inf:
        return math.inf
    return check_number(halving_years, "halving_years", minimum=0, exclusive=True, fix=fix)


def network_table(year: int | None = None, *, halving_years: float | None = None) -> pl.DataFrame:
    """Every technology: technology, energy_kwh_per_gb (for ``year``), base_year, base_kwh_per_gb,
    halving_years, year, unit, source."""
    h = check_halving_years(halving_years)
    rows = [{"technology": t, "energy_kwh_per_gb": energy_kwh_per_gb(t, year, halving_years=halving_years),
             "base_year": by, "base_kwh_per_gb": v, "halving_years": float(h), "year": year if year else by,
             "unit": "kWh/GB", "source": s}
            for t, (v, by, s) in _TABLE.items()]
    return pl.DataFrame(rows)
