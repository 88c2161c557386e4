"""Scenario files: a declarative TOML description of a training run or a deployment, read and validated.

Parsing and validation are pure (no Brightway, no catalog): every bad input is reported here, before
anything is written to the Brightway project, as a :class:`ScenarioError` naming the file, the table
and the key. The result, a :class:`Scenario`, is what the file says; :func:`workbench.lca.resolution.resolve`
then fills the defaults from the catalog (device embodied emissions and lifetime, grid intensity,
network energy per GB, PUE kinds), giving a :class:`~workbench.lca.resolution.ResolvedScenario` in
which every number is explicit and says where it came from.

Format (all device quantities are *per device*; the group multiplies by ``count``)::

    name = "example"
    functional_unit = "1 training run"      # optional
    method = "IPCC 2021 | climate change | global warming potential (GWP100)"   # optional
    [location]
    country = "FRA"                         # ISO3; or carbon_intensity_g_per_kwh = 57 (or both:
                                            # the explicit intensity wins, the country is a label)
    [[devices]]
    name = "A100"                           # catalog name or any name (then give embodied_kgco2e)
    count = 8
    power_w = 400                           # average draw per device [W] ...
    hours = 100                             # ... over its busy hours [h]
    # energy_kwh = 40                       # or: energy per device [kWh]
    # energy_per_inference_j = 0.5          # or: energy per inference [J] ...
    # inferences = 1e6                      # ... × inferences per device
    pue = 1.2                               # number >= 1, or a catalog PUE kind ("hyperscale")
    embodied_kgco2e = 150                   # per device; catalog default when omitted
    lifetime_years = 6                      # catalog default when omitted
    utilization = 0.85                      # embodied share = hours / (lifetime hours × utilization)
    [[network]]
    gigabytes = 10.0
    technology = "fixed"                    # catalog.network.TECHNOLOGIES
    # kwh_per_gb = 0.03                     # override the catalog figure
    [uncertainty]                           # optional: spreads used by --monte-carlo
    grid_rel_sd = 0.15

Every number must be finite; each quantity also has a plausibility bound (:mod:`workbench.lca.bounds`,
e.g. ``power_w`` <= 1 MW per device, a grid intensity <= 2,000 g/kWh, ``hours`` within the device's
lifetime) beyond which the scenario is refused as a likely unit slip, unless it says
``allow_implausible = true`` at its top level.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from workbench.catalog.network import YEAR_RANGE
from workbench.checks import check_int
from workbench.errors import ParameterError
from workbench.lca.bounds import OVERRIDE_HINT, bound_for, describe
from workbench.lca.scenario_file import ImplausibleValueError, ScenarioError, ScenarioFormatError, read_scenario_text

TOP_KEYS = {"name", "functional_unit", "description", "method", "location", "devices", "network", "uncertainty",
            "allow_implausible"}
LOCATION_KEYS = {"country", "carbon_intensity_g_per_kwh"}
DEVICE_KEYS = {"name", "count", "power_w", "hours", "energy_kwh", "energy_per_inference_j", "inferences", "pue",
               "embodied_kgco2e", "lifetime_years", "utilization", "note"}
NETWORK_KEYS = {"gigabytes", "technology", "kwh_per_gb", "year", "note"}

DEFAULT_UNCERTAINTY = {
    # Our assumptions (not from a source), used only by Monte Carlo; override per scenario.
    "grid_rel_sd": 0.15,       # relative sd of the grid intensity (annual averages vs. hourly reality)
    "power_rel_sd": 0.10,      # relative sd of the average device draw
    "pue_halfwidth": 0.10,     # triangular PUE: mode ± halfwidth (lower end clipped at 1)
    "embodied_rel_sd": 0.30,   # when the catalog gives no low–high range
    "lifetime_rel_sd": 0.20,   # relative sd of the service life
    "network_rel_sd": 0.50,    # network energy per GB spans an order of magnitude in the literature
}
UNCERTAINTY_KEYS = set(DEFAULT_UNCERTAINTY)


@dataclass(frozen=True)
class DeviceSpec:
    """One ``[[devices]]`` entry as written (validated, defaults not yet filled)."""

    name: str
    count: float = 1.0
    power_w: float | None = None
    hours: float | None = None
    energy_kwh: float | None = None
    energy_per_inference_j: float | None = None
    inferences: float | None = None
    pue: float | str | None = None
    embodied_kgco2e: float | None = None
    lifetime_years: float | None = None
    utilization: float | None = None


@dataclass(frozen=True)
class NetworkSpec:
    """One ``[[network]]`` entry as written: ``gigabytes`` [GB] over ``technology`` (validated)."""

    gigabytes: float
    technology: str
    kwh_per_gb: float | None = None
    year: int | None = None


@dataclass(frozen=True)
class Scenario:
    """A validated scenario (what the file says)."""

    name: str
    functional_unit: str = "1 run"
    country: str | None = None
    carbon_intensity_g_per_kwh: float | None = None
    devices: tuple[DeviceSpec, ...] = ()
    network: tuple[NetworkSpec, ...] = ()
    uncertainty: dict = field(default_factory=lambda: dict(DEFAULT_UNCERTAINTY))
    method: str | None = None
    description: str = ""
    allow_implausible: bool = False     # values beyond the plausibility bounds were accepted on purpose
    source: str = "<scenario>"          # the file (or "<scenario>"), for messages about its values


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_scenario(path: str | Path, *, allow_implausible: bool = False) -> Scenario:
    """Read and validate a scenario TOML file.

    Parameters
    ----------
    path : path-like
        The file (any extension; UTF-8, with or without a byte-order mark).
    allow_implausible : bool
        Accept values beyond their plausibility bounds (as ``allow_implausible = true`` in the file).

    Raises
    ------
    ScenarioError
        No such file, a directory, an unreadable or empty file; missing or unknown keys, values of
        the wrong type or outside their range (:class:`ImplausibleValueError` beyond a plausibility bound).
    ScenarioFormatError
        The file is not UTF-8 text or not valid TOML (message gives line and column).
    """
    return parse_scenario(read_scenario_text(path), source=str(path), allow_implausible=allow_implausible)


def parse_scenario(text_or_dict: str | dict, *, source: str = "<scenario>",
                   allow_implausible: bool = False) -> Scenario:
    """Validate a scenario given as TOML text or as an already-parsed dict (see module docstring).

    Parameters
    ----------
    text_or_dict : str or dict
        TOML text, or the dict ``tomllib`` would give.
    source : str
        Name of the scenario in messages (the file's path).
    allow_implausible : bool
        Accept values beyond their plausibility bounds (as ``allow_implausible = true`` in the scenario).

    Raises
    ------
    ScenarioFormatError
        Not valid TOML (line and column given).
    ScenarioError
        Missing, unknown or malformed keys; a value out of range (:class:`ImplausibleValueError`
        beyond a plausibility bound, see :mod:`workbench.lca.bounds`).
    """
    if isinstance(text_or_dict, str):
        try:
            raw = tomllib.loads(text_or_dict)
        except tomllib.TOMLDecodeError as exc:
            msg = str(exc)
            m = _TOML_POS.search(msg)
            line, col = (int(m.group(1)), int(m.group(2))) if m else (None, None)
            raise ScenarioFormatError(source, _TOML_POS.sub("", msg).strip(), line, col) from None
    elif isinstance(text_or_dict, dict):
        raw = text_or_dict
    else:
        raise ScenarioError(f"a scenario is TOML text or a dict, got {type(text_or_dict).__name__}")
    if not raw:
        raise ScenarioError(f"{source}: the scenario is empty (no keys). Fix: give at least name, [location] and "
                            "one [[devices]] or [[network]] entry (start from data/scenarios/example.toml).")
    return _validate(raw, source, allow_implausible)


def _check_keys(table: dict, allowed: set, where: str, source: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(f"{source}: unknown key {key!r} in {where}.{hint} Valid keys: "
                                f"{', '.join(sorted(allowed))}.")


def _number(table: dict, key: str, where: str, source: str, *, required: bool = False, positive: bool = False,
            default=None, allow: bool = False):
    """``table[key]`` as a finite float >= 0 (> 0 if ``positive``) within its plausibility bound unless ``allow``."""
    if key not in table:
        if required:
            raise ScenarioError(f"{source}: {where} lacks the required key {key!r}. Add e.g. `{key} = ...`.")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f"{source}: {where}.{key} must be a number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ScenarioError(f"{source}: {where}.{key} must be finite, got {value!r}.")
    if value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ScenarioError(f"{source}: {where}.{key} = {value:g} is negative{' or zero' if positive else ''}; "
                            f"it must be {bound}.")
    plausible = bound_for(key)
    if plausible is not None and value > plausible.maximum and not allow:
        raise ImplausibleValueError(f"{source}: {where}.{key} = {describe(value, plausible)}. Fix: correct the value, "
                                    f"or {OVERRIDE_HINT}.")
    return value


def _year(table: dict, where: str, source: str) -> int | None:
    """The optional integer ``year`` of a table (the shared rule of :func:`workbench.checks.check_int`)."""
    if "year" not in table:
        return None
    try:
        return check_int(table["year"], f"{source}: {where}.year", minimum=YEAR_RANGE[0], maximum=YEAR_RANGE[1],
                         fix=f"write the year as a whole number without quotes between {YEAR_RANGE[0]} and "
                             f"{YEAR_RANGE[1]} (the catalog's trend range), e.g. year = 2024.")
    except ParameterError as exc:  # the same message, as the scenario's own error class
        raise ScenarioError(str(exc)) from None


def _string(table: dict, key: str, where: str, source: str, *, required: bool = False, default=None):
    if key not in table:
        if required:
            raise ScenarioError(f"{source}: {where} lacks the required key {key!r}. Add e.g. `{key} = \"...\"`.")
        return default
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{source}: {where}.{key} must be a non-empty string, got {value!r}.")
    return value.strip()


def _validate(raw: dict, source: str, allow_implausible: bool = False) -> Scenario:
    _check_keys(raw, TOP_KEYS, "the scenario", source)
    allow = raw.get("allow_implausible", False)
    if not isinstance(allow, bool):
        raise ScenarioError(f"{source}: allow_implausible must be true or false, got {allow!r}. Fix: write "
                            "allow_implausible = true (no quotes) to accept values beyond the plausibility bounds.")
    allow = allow or bool(allow_implausible)
    name = _string(raw, "name", "the scenario", source, required=True)
    fu = _string(raw, "functional_unit", "the scenario", source, default="1 run")
    method = _string(raw, "method", "the scenario", source)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(f"{source}: description must be a string, got {description!r}.")
    loc = raw.get("location")
    if not isinstance(loc, dict):
        got = "" if loc is None else f" (location = {loc!r} is not a table)"
        raise ScenarioError(f"{source}: the scenario lacks a [location] table{got}; add [location] with "
                            "country = \"ISO3\" or carbon_intensity_g_per_kwh = <number>.")
    _check_keys(loc, LOCATION_KEYS, "[location]", source)
    country = _string(loc, "country", "[location]", source)
    intensity = _number(loc, "carbon_intensity_g_per_kwh", "[location]", source, allow=allow)
    if country is None and intensity is None:
        raise ScenarioError(f"{source}: [location] needs country = \"ISO3\" (e.g. \"FRA\") or "
                            "carbon_intensity_g_per_kwh = <g CO2-eq per kWh>.")

    devices_raw = raw.get("devices", [])
    network_raw = raw.get("network", [])
    if not isinstance(devices_raw, list) or not all(isinstance(d, dict) for d in devices_raw):
        raise ScenarioError(f"{source}: devices must be an array of tables ([[devices]]).")
    if not isinstance(network_raw, list) or not all(isinstance(d, dict) for d in network_raw):
        raise ScenarioError(f"{source}: network must be an array of tables ([[network]]).")
    if not devices_raw and not network_raw:
        raise ScenarioError(f"{source}: the scenario has no [[devices]] and no [[network]] entry; add at least one.")

    devices = tuple(_device(d, f"devices[{i}]", source, allow) for i, d in enumerate(devices_raw))
    network = []
    for i, n in enumerate(network_raw):
        where = f"network[{i}]"
        _check_keys(n, NETWORK_KEYS, where, source)
        network.append(NetworkSpec(
            gigabytes=_number(n, "gigabytes", where, source, required=True, allow=allow),
            technology=_string(n, "technology", where, source, required=True),
            kwh_per_gb=_number(n, "kwh_per_gb", where, source, allow=allow), year=_year(n, where, source)))

    unc_raw = raw.get("uncertainty", {})
    if not isinstance(unc_raw, dict):
        raise ScenarioError(f"{source}: [uncertainty] must be a table.")
    _check_keys(unc_raw, UNCERTAINTY_KEYS, "[uncertainty]", source)
    unc = dict(DEFAULT_UNCERTAINTY)
    for key in unc_raw:
        unc[key] = _number(unc_raw, key, "[uncertainty]", source, allow=allow)
    return Scenario(name=name, functional_unit=fu, country=country, carbon_intensity_g_per_kwh=intensity,
                    devices=devices, network=tuple(network), uncertainty=unc, method=method,
                    description=description, allow_implausible=allow, source=source)


def _device(d: dict, where: str, source: str, allow: bool = False) -> DeviceSpec:
    _check_keys(d, DEVICE_KEYS, where, source)
    name = _string(d, "name", where, source, required=True)
    where = f"{where} ({name})"
    count = _number(d, "count", where, source, positive=True, default=1.0, allow=allow)
    power = _number(d, "power_w", where, source, allow=allow)
    hours = _number(d, "hours", where, source, allow=allow)
    energy = _number(d, "energy_kwh", where, source, allow=allow)
    e_inf = _number(d, "energy_per_inference_j", where, source, allow=allow)
    n_inf = _number(d, "inferences", where, source, allow=allow)
    modes = [m for m, present in (("power_w", power is not None), ("energy_kwh", energy is not None),
                                  ("energy_per_inference_j", e_inf is not None)) if present]
    if len(modes) > 1:
        raise ScenarioError(f"{source}: {where} gives energy in several ways ({', '.join(modes)}); keep one of "
                            "power_w (+ hours), energy_kwh, or energy_per_inference_j (+ inferences).")
    if not modes:
        raise ScenarioError(f"{source}: {where} lacks its energy: give power_w and hours, or energy_kwh, or "
                            "energy_per_inference_j and inferences.")
    if power is not None and hours is None:
        raise ScenarioError(f"{source}: {where} lacks the required key 'hours' (busy hours per device) that "
                            "goes with power_w.")
    if (e_inf is None) != (n_inf is None):
        missing = "inferences" if n_inf is None else "energy_per_inference_j"
        raise ScenarioError(f"{source}: {where} lacks the required key {missing!r}: per-inference energy needs "
                            "both energy_per_inference_j [J] and inferences.")
    pue = d.get("pue")
    if pue is not None:
        if isinstance(pue, str):
            pue = pue.strip()
        else:
            pue = _number(d, "pue", where, source, allow=True)  # below 1 is the first thing to say
            if pue < 1:
                raise ScenarioError(f"{source}: {where}.pue = {pue:g} is below 1; a PUE is facility energy / IT "
                                    "energy >= 1 (use 1 for no overhead).")
            pue = _number(d, "pue", where, source, allow=allow)
    util = _number(d, "utilization", where, source)
    if util is not None and not 0 < util <= 1:
        raise ScenarioError(f"{source}: {where}.utilization = {util:g} is outside (0, 1]; it is the busy "
                            "fraction of the device's service life (e.g. 0.85).")
    return DeviceSpec(name=name, count=count, power_w=power, hours=hours, energy_kwh=energy,
                      energy_per_inference_j=e_inf, inferences=n_inf, pue=pue,
                      embodied_kgco2e=_number(d, "embodied_kgco2e", where, source, allow=allow),
                      lifetime_years=_number(d, "lifetime_years", where, source, positive=True, allow=allow),
                      utilization=util)
