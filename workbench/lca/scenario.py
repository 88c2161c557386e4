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
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from workbench.checks import check_int
from workbench.errors import ImportFormatError, ParameterError


class ScenarioError(ParameterError):
    """A scenario has a missing key, an unknown key, or a value outside its valid range."""


class ScenarioFormatError(ImportFormatError):
    """A scenario file is not valid TOML (line and column given)."""

    def __init__(self, path, reason: str, line: int | None, column: int | None):
        self.path, self.reason, self.line, self.column = path, reason, line, column
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"scenario file {path} is not valid TOML{where}: {reason}. Fix the syntax there "
                         "(strings need quotes, e.g. country = \"FRA\").")


TOP_KEYS = {"name", "functional_unit", "description", "method", "location", "devices", "network", "uncertainty"}
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


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises
    ------
    ScenarioFormatError
        The file is not valid TOML (message gives line and column).
    ScenarioError
        Missing or unknown keys, values of the wrong type or outside their range.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"scenario file {path} does not exist; give the path of a .toml file "
                            "(examples under data/scenarios/)") from None
    except UnicodeDecodeError as exc:
        raise ScenarioFormatError(path, f"not UTF-8 text ({exc.reason})", None, None) from None
    return parse_scenario(text, source=str(path))


def parse_scenario(text_or_dict: str | dict, *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as TOML text or as an already-parsed dict (see module docstring)."""
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
    return _validate(raw, source)


def _check_keys(table: dict, allowed: set, where: str, source: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(f"{source}: unknown key {key!r} in {where}.{hint} Valid keys: "
                                f"{', '.join(sorted(allowed))}.")


def _number(table: dict, key: str, where: str, source: str, *, required: bool = False, positive: bool = False,
            default=None):
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
    return value


def _year(table: dict, where: str, source: str) -> int | None:
    """The optional integer ``year`` of a table (the shared rule of :func:`workbench.checks.check_int`)."""
    if "year" not in table:
        return None
    try:
        return check_int(table["year"], f"{source}: {where}.year", minimum=None,
                         fix="write the year as a whole number without quotes, e.g. year = 2024.")
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


def _validate(raw: dict, source: str) -> Scenario:
    _check_keys(raw, TOP_KEYS, "the scenario", source)
    name = _string(raw, "name", "the scenario", source, required=True)
    fu = _string(raw, "functional_unit", "the scenario", source, default="1 run")
    method = _string(raw, "method", "the scenario", source)
    loc = raw.get("location")
    if not isinstance(loc, dict):
        raise ScenarioError(f"{source}: the scenario lacks a [location] table; add [location] with "
                            "country = \"ISO3\" or carbon_intensity_g_per_kwh = <number>.")
    _check_keys(loc, LOCATION_KEYS, "[location]", source)
    country = _string(loc, "country", "[location]", source)
    intensity = _number(loc, "carbon_intensity_g_per_kwh", "[location]", source)
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

    devices = tuple(_device(d, f"devices[{i}]", source) for i, d in enumerate(devices_raw))
    network = []
    for i, n in enumerate(network_raw):
        where = f"network[{i}]"
        _check_keys(n, NETWORK_KEYS, where, source)
        network.append(NetworkSpec(
            gigabytes=_number(n, "gigabytes", where, source, required=True),
            technology=_string(n, "technology", where, source, required=True),
            kwh_per_gb=_number(n, "kwh_per_gb", where, source), year=_year(n, where, source)))

    unc_raw = raw.get("uncertainty", {})
    if not isinstance(unc_raw, dict):
        raise ScenarioError(f"{source}: [uncertainty] must be a table.")
    _check_keys(unc_raw, UNCERTAINTY_KEYS, "[uncertainty]", source)
    unc = dict(DEFAULT_UNCERTAINTY)
    for key in unc_raw:
        unc[key] = _number(unc_raw, key, "[uncertainty]", source)
    return Scenario(name=name, functional_unit=fu, country=country, carbon_intensity_g_per_kwh=intensity,
                    devices=devices, network=tuple(network), uncertainty=unc, method=method,
                    description=str(raw.get("description", "")))


def _device(d: dict, where: str, source: str) -> DeviceSpec:
    _check_keys(d, DEVICE_KEYS, where, source)
    name = _string(d, "name", where, source, required=True)
    where = f"{where} ({name})"
    count = _number(d, "count", where, source, positive=True, default=1.0)
    power = _number(d, "power_w", where, source)
    hours = _number(d, "hours", where, source)
    energy = _number(d, "energy_kwh", where, source)
    e_inf = _number(d, "energy_per_inference_j", where, source)
    n_inf = _number(d, "inferences", where, source)
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
            pue = _number(d, "pue", where, source)
            if pue < 1:
                raise ScenarioError(f"{source}: {where}.pue = {pue:g} is below 1; a PUE is facility energy / IT "
                                    "energy >= 1 (use 1 for no overhead).")
    util = _number(d, "utilization", where, source)
    if util is not None and not 0 < util <= 1:
        raise ScenarioError(f"{source}: {where}.utilization = {util:g} is outside (0, 1]; it is the busy "
                            "fraction of the device's service life (e.g. 0.85).")
    return DeviceSpec(name=name, count=count, power_w=power, hours=hours, energy_kwh=energy,
                      energy_per_inference_j=e_inf, inferences=n_inf, pue=pue,
                      embodied_kgco2e=_number(d, "embodied_kgco2e", where, source),
                      lifetime_years=_number(d, "lifetime_years", where, source, positive=True),
                      utilization=util)
