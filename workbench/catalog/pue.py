"""Data-centre power usage effectiveness (PUE): facility energy / IT energy [1].

Multiply IT energy by :func:`pue` to get facility energy. Devices outside data centres (phones,
MCUs, single-board computers) have no facility overhead: use ``pue("none")`` = 1.0.
"""

from __future__ import annotations

import polars as pl

from workbench.checks import check_number
from workbench.errors import ParameterError, UnknownNameError

MAX_PLAUSIBLE_PUE = 4.0
"""Largest plausible PUE [1]: a figure above it is refused unless allowed.

The Uptime Institute's surveys found an industry average of 2.5 in 2007 and 1.56 in 2024; Shehabi et al.
(2016, LBNL, United States Data Center Energy Usage Report) assume 2.0 for the least efficient rooms
(server closets). A facility drawing four times its IT load is beyond any reported figure."""

MAX_PLAUSIBLE_REASON = ("the Uptime Institute's industry average was 2.5 in 2007 and 1.56 in 2024, and "
                        "LBNL (Shehabi et al. 2016) assumes 2.0 for server closets")
"""Why :data:`MAX_PLAUSIBLE_PUE` is the bound, as error messages say it."""

_TABLE = (
    # kind, pue, year, source
    ("default", 1.56, 2024,
     "Uptime Institute, Global Data Center Survey 2024: industry average annual PUE 1.56"),
    ("enterprise", 1.56, 2024,
     "Uptime Institute, Global Data Center Survey 2024 (average of surveyed, mostly enterprise and colocation sites)"),
    ("hyperscale", 1.10, 2023,
     "Google, data-centre efficiency (google.com/about/datacenters/efficiency): fleet-wide trailing-twelve-month PUE 1.10 in 2023; "
     "taken as representative of large hyperscale fleets"),
    ("google", 1.10, 2023,
     "Google, data-centre efficiency (google.com/about/datacenters/efficiency): fleet-wide trailing-twelve-month PUE 1.10 in 2023"),
    ("aws", 1.15, 2023,
     "Amazon, 2023 Sustainability Report: global AWS data-centre PUE 1.15"),
    ("azure", 1.12, 2023,
     "Microsoft datacenter design PUE 1.12 for new generations, as compiled by Nutanix (2023) and Green Algorithms v3 defaults_PUE.csv"),
    ("none", 1.0, None,
     "No facility overhead: devices outside data centres (edge, phones, MCUs); by definition"),
)


def pue(kind: str = "default") -> float:
    """PUE of a kind of data centre [1] (>= 1).

    Parameters
    ----------
    kind : str
        One of ``pue_table()["kind"]``: default, enterprise, hyperscale, google, aws, azure, none.

    Examples
    --------
    >>> pue()
    1.56
    """
    for k, v, _, _ in _TABLE:
        if k == kind:
            return v
    raise UnknownNameError("PUE kind", kind, [k for k, *_ in _TABLE], "or pass your own figure to the LCA")


def pue_table() -> pl.DataFrame:
    """Every PUE default: kind, pue, year, unit, source."""
    return pl.DataFrame(
        [{"kind": k, "pue": v, "year": y, "unit": "1", "source": s} for k, v, y, s in _TABLE],
        schema={"kind": pl.String, "pue": pl.Float64, "year": pl.Int64, "unit": pl.String, "source": pl.String},
    )


def check_pue(value: float, *, allow_implausible: bool = False) -> float:
    """Validate a user-supplied PUE and return it.

    Parameters
    ----------
    value : float
        Facility energy / IT energy [1].
    allow_implausible : bool
        Accept a PUE above :data:`MAX_PLAUSIBLE_PUE` (it is refused otherwise).

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        Not a finite number >= 1, or above :data:`MAX_PLAUSIBLE_PUE` without ``allow_implausible``.

    Examples
    --------
    >>> check_pue(1.1)
    1.1
    """
    value = check_number(value, "PUE", minimum=1,
                         fix="give facility energy / IT energy as a number >= 1, e.g. 1.1.")
    if value > MAX_PLAUSIBLE_PUE and not allow_implausible:
        raise ParameterError(f"PUE {value:g} is above the plausible maximum of {MAX_PLAUSIBLE_PUE:g} "
                             f"({MAX_PLAUSIBLE_REASON}). Fix: give facility energy / IT energy (e.g. 1.1), or pass "
                             "allow_implausible=True if the value is right.")
    return value
