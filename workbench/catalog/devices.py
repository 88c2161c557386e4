"""Device catalog: cited specifications of the devices of the edge–network–cloud continuum.

The catalog is a long table (``workbench/catalog/data/devices.csv``): one row per device × figure
with ``value``, optional ``low``/``high``, ``unit``, ``basis`` and ``source``. Sources are keys of
``references.csv`` (the project's bibliography), optionally followed by ``": note"``.
:func:`get_device` turns the rows of one device into a :class:`Device`.

Bases (how a figure was obtained): see :data:`BASES`. Devices without a published embodied
footprint carry bill-of-materials figures (die area, node, DRAM, flash, ICs, board); their
``embodied_kgco2e`` is computed by :func:`workbench.catalog.embodied.component_model` and marked
``embodied_is_estimate=True``.

Users add devices from a TOML or CSV file (:func:`load_user_devices`); see ``docs/data.md``.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import polars as pl

from workbench.catalog import embodied as _embodied
from workbench.errors import ImportFormatError, ParameterError, UnknownNameError
from workbench.schema import DEVICE_CLASSES
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

_CSV_COLUMNS = ("device", "figure", "value", "low", "high", "unit", "basis", "source")


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
        """Peak rate for ``dtype`` [FLOP/s]; :class:`UnknownNameError` lists the dtypes given."""
        try:
            return self.peak_flops_per_s[dtype]
        except KeyError:
            raise UnknownNameError(
                f"dtype for device {self.name!r}", dtype, self.peak_flops_per_s,
                "the catalog gives peak rates only for these",
            ) from None

    def embodied_share_kgco2e(self, seconds: float) -> float:
        """Embodied footprint amortised over ``seconds`` of use, linearly over the lifetime [kgCO2e].

        ``embodied_kgco2e × seconds / (lifetime_years × 8760 h × 3600 s)``.
        """
        if self.embodied_kgco2e is None or not self.lifetime_years:
            raise ParameterError(
                f"device {self.name!r} has no embodied footprint or lifetime; add them in a user device file."
            )
        if not seconds >= 0:
            raise ParameterError(f"seconds must be >= 0, got {seconds!r}.")
        life_s = self.lifetime_years * HOURS_PER_YEAR * SECONDS_PER_HOUR
        return self.embodied_kgco2e * seconds / life_s


# ---------------------------------------------------------------------------------------- reading
def _data_text(name: str) -> str:
    return resources.files("workbench.catalog").joinpath("data", name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def references() -> dict[str, str]:
    """The project's bibliography: reference key → citation (``data/references.csv``)."""
    rows = list(csv.DictReader(io.StringIO(_data_text("references.csv"))))
    return {r["key"]: r["citation"] for r in rows}


def cite(source: str) -> str:
    """Expand ``"key"`` or ``"key: note"`` into the full citation (unknown keys are kept as given)."""
    key, _, note = source.partition(":")
    ref = references().get(key.strip())
    if ref is None:
        return source
    return f"{ref} — {note.strip()}" if note.strip() else ref


def _parse_rows(
    rows: list[dict], origin: str, *, resolve_keys: bool, first_line: int = 2, label: str = "line"
) -> dict[str, dict]:
    """Validate long-format rows and group them by device. Errors name the line of the file."""
    problems: list[str] = []
    grouped: dict[str, dict] = {}
    for i, r in enumerate(rows):
        line = first_line + i  # file line (CSV, header = line 1) or entry number (TOML)
        dev = (r.get("device") or "").strip()
        fig = (r.get("figure") or "").strip()
        if not dev or not fig:
            problems.append(f"{label} {line}: 'device' and 'figure' must not be empty")
            continue
        d = grouped.setdefault(dev, {"text": {}, "figures": {}, "lines": {}})
        if fig in d["text"] or fig in d["figures"]:
            problems.append(f"{label} {line}: figure {fig!r} given twice for device {dev!r}")
            continue
        if fig in TEXT_FIELDS:
            d["text"][fig] = (r.get("value") or "").strip()
            continue
        if fig not in FIGURES:
            problems.append(
                f"{label} {line}: unknown figure {fig!r} for device {dev!r}; valid figures: "
                f"{sorted(FIGURES) + list(TEXT_FIELDS)}"
            )
            continue
        unit = (r.get("unit") or "").strip()
        if unit != FIGURES[fig]:
            problems.append(f"{label} {line}: figure {fig!r} must be in {FIGURES[fig]!r}, got unit {unit!r}")
            continue
        basis = (r.get("basis") or "").strip()
        if basis not in BASES:
            problems.append(f"{label} {line}: basis {basis!r} of {dev}/{fig} is not one of {sorted(BASES)}")
            continue
        source = (r.get("source") or "").strip()
        if not source:
            problems.append(f"{label} {line}: figure {fig!r} of device {dev!r} has no source; every figure needs one")
            continue
        if resolve_keys and source.partition(":")[0].strip() not in references():
            problems.append(f"{label} {line}: source key {source.partition(':')[0]!r} is not in references.csv")
            continue
        vals = {}
        for col in ("value", "low", "high"):
            text = (r.get(col) or "")
            text = text.strip() if isinstance(text, str) else text
            if text in ("", None):
                vals[col] = None
                continue
            try:
                v = float(text)
            except (TypeError, ValueError):
                v = math.nan
            if not math.isfinite(v) or v < 0:
                problems.append(f"{label} {line}: {col} of {dev}/{fig} must be a number >= 0 [{unit}], got {text!r}")
                v = None
            vals[col] = v
        if vals["value"] is None:
            if not any(p.startswith(f"{label} {line}:") for p in problems):
                problems.append(f"{label} {line}: figure {fig!r} of device {dev!r} has no value")
            continue
        if (vals["low"] is not None and vals["low"] > vals["value"]) or (
            vals["high"] is not None and vals["high"] < vals["value"]
        ):
            problems.append(f"{label} {line}: {dev}/{fig} needs low <= value <= high, got {vals}")
            continue
        d["figures"][fig] = {**vals, "basis": basis, "source": source}
        d["lines"][fig] = line
    if problems:
        raise ImportFormatError(
            f"{origin}: {len(problems)} problem(s) in the device table: " + "; ".join(problems[:20])
            + (" ..." if len(problems) > 20 else "")
        )
    return grouped


def _build(name: str, d: dict, origin: str, *, expand: bool) -> Device:
    text, figs = d["text"], d["figures"]
    where = f"{origin}: device {name!r}"
    cls = text.get("device_class", "")
    if cls not in DEVICE_CLASSES:
        raise UnknownNameError(
            "device class", cls or "<missing>", DEVICE_CLASSES,
            f"{where} needs a 'device_class' row with one of these",
        )
    peaks = {k.removeprefix("peak_flops_per_s_"): v["value"] for k, v in figs.items() if k.startswith("peak_flops")}
    if not peaks:
        raise ImportFormatError(f"{where} has no peak_flops_per_s_<dtype> figure; give at least one (e.g. fp32).")
    missing = [f for f in REQUIRED_FIGURES if f not in figs]
    if missing:
        raise ImportFormatError(f"{where} lacks required figure(s) {missing}; add them with a unit and a source.")

    def src(fig: str) -> str:
        s = figs[fig]["source"]
        return cite(s) if expand else s

    sources = {k: src(k) for k in figs}
    bases = {k: v["basis"] for k, v in figs.items()}
    bom = {k: figs[k]["value"] for k in BOM_FIGURES if k in figs}
    if "embodied_kgco2e" in figs:
        e = figs["embodied_kgco2e"]
        emb, low, high = e["value"], e["low"], e["high"]
        is_estimate = e["basis"] not in ("pcf", "measurement", "datasheet")
    elif "die_area_mm2" in bom and "process_node_nm" in bom:
        est = _embodied.component_model(
            bom["die_area_mm2"], bom["process_node_nm"], dram_gb=bom.get("dram_gb", 0.0),
            flash_gb=bom.get("flash_gb", 0.0), ic_count=bom.get("ic_count", 1),
            pcb_area_cm2=bom.get("pcb_area_cm2", 0.0), pcb_layers=int(bom.get("pcb_layers", 4)),
        )
        emb, low, high, is_estimate = est.central, est.low, est.high, True
        parts = ", ".join(f"{k} {v:.3g}" for k, v in est.breakdown.items() if v)
        bom_desc = ", ".join(f"{k}={v:g}" for k, v in bom.items())
        sources["embodied_kgco2e"] = (
            f"ESTIMATE by the component model (workbench.catalog.embodied; {_embodied.ACT_SOURCE}) over the "
            f"bill of materials {bom_desc} (each with its own source); terms [kgCO2e]: {parts}; range from "
            f"ACT's 99 %/95 % gas abatement and memory factors × {_embodied.LOW_FACTOR}/{_embodied.HIGH_FACTOR}"
        )
        bases["embodied_kgco2e"] = "component-model"
    else:
        raise ImportFormatError(
            f"{where} has neither 'embodied_kgco2e' nor the bill of materials (die_area_mm2 and "
            "process_node_nm at least) to estimate it; add one of them."
        )
    for k in ("embodied_kgco2e_low", "embodied_kgco2e_high"):
        sources[k] = sources["embodied_kgco2e"]
        bases[k] = bases["embodied_kgco2e"]

    def val(fig):
        return figs[fig]["value"] if fig in figs else None

    ram = val("ram_bytes")
    aliases = tuple(a.strip() for a in text.get("aliases", "").split(";") if a.strip())
    return Device(
        name=name, device_class=cls, peak_flops_per_s=MappingProxyType(peaks),
        memory_bandwidth_bytes_per_s=val("memory_bandwidth_bytes_per_s"),
        ram_bytes=int(ram) if ram is not None else None,
        idle_power_w=val("idle_power_w"), max_power_w=val("max_power_w"),
        embodied_kgco2e=emb, embodied_kgco2e_low=low if low is not None else emb,
        embodied_kgco2e_high=high if high is not None else emb, embodied_is_estimate=is_estimate,
        lifetime_years=val("lifetime_years"), sources=MappingProxyType(sources),
        bases=MappingProxyType(bases), vendor=text.get("vendor", ""), description=text.get("description", ""),
        aliases=aliases, bom=MappingProxyType(bom), origin=origin,
    )


def _read_csv_rows(text: str, origin: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFormatError(
            f"{origin}: missing column(s) {missing}; a device CSV needs columns {list(_CSV_COLUMNS)} "
            f"(got {reader.fieldnames}). See docs/data.md, 'Adding devices'."
        )
    return list(reader)


@functools.lru_cache(maxsize=1)
def _builtin() -> dict[str, Device]:
    origin = "workbench/catalog/data/devices.csv"
    grouped = _parse_rows(_read_csv_rows(_data_text("devices.csv"), origin), origin, resolve_keys=True)
    return {name: _build(name, d, "catalog", expand=True) for name, d in grouped.items()}


_USER: dict[str, Device] = {}


def _all() -> dict[str, Device]:
    return {**_builtin(), **_USER}


def _norm(s: str) -> str:
    return "".join(ch for ch in s.lower() if ch.isalnum())


def _index() -> dict[str, str]:
    idx = {}
    for name, dev in _all().items():
        for key in (name, *dev.aliases):
            idx.setdefault(_norm(key), name)
    return idx


def device_names() -> list[str]:
    """Names of every known device (catalog and registered user devices), sorted."""
    return sorted(_all())


def get_device(name: str) -> Device:
    """Look a device up by catalog name or alias (case, spaces and punctuation ignored).

    Raises
    ------
    UnknownNameError
        With close matches among the catalog names.

    Examples
    --------
    >>> get_device("A100").name
    'a100-sxm4-40gb'
    """
    devs = _all()
    if name in devs:
        return devs[name]
    hit = _index().get(_norm(str(name)))
    if hit is not None:
        return devs[hit]
    raise UnknownNameError("device", name, devs, "`workbench devices` (add your own with a TOML/CSV device file)")


def list_devices(device_class: str | None = None) -> pl.DataFrame:
    """The catalog as a table, one row per device (optionally one class).

    Columns: name, device_class, vendor, peak_flops_per_s_<dtype> for every dtype any device has,
    memory_bandwidth_bytes_per_s, ram_bytes, idle_power_w, max_power_w, embodied_kgco2e(_low/_high),
    embodied_is_estimate, lifetime_years, origin, description.
    """
    if device_class is not None and device_class not in DEVICE_CLASSES:
        raise UnknownNameError("device class", device_class, DEVICE_CLASSES)
    devs = [d for d in _all().values() if device_class is None or d.device_class == device_class]
    dtypes = [t for t in DTYPES if any(t in d.peak_flops_per_s for d in _all().values())]
    rows = []
    for d in sorted(devs, key=lambda d: (list(DEVICE_CLASSES).index(d.device_class), d.name)):
        row = {"name": d.name, "device_class": d.device_class, "vendor": d.vendor}
        row.update({f"peak_flops_per_s_{t}": d.peak_flops_per_s.get(t) for t in dtypes})
        row.update({
            "memory_bandwidth_bytes_per_s": d.memory_bandwidth_bytes_per_s, "ram_bytes": d.ram_bytes,
            "idle_power_w": d.idle_power_w, "max_power_w": d.max_power_w,
            "embodied_kgco2e": d.embodied_kgco2e, "embodied_kgco2e_low": d.embodied_kgco2e_low,
            "embodied_kgco2e_high": d.embodied_kgco2e_high, "embodied_is_estimate": d.embodied_is_estimate,
            "lifetime_years": d.lifetime_years, "origin": d.origin, "description": d.description,
        })
        rows.append(row)
    schema = {"name": pl.String, "device_class": pl.String, "vendor": pl.String,
              **{f"peak_flops_per_s_{t}": pl.Float64 for t in dtypes},
              "memory_bandwidth_bytes_per_s": pl.Float64, "ram_bytes": pl.Int64, "idle_power_w": pl.Float64,
              "max_power_w": pl.Float64, "embodied_kgco2e": pl.Float64, "embodied_kgco2e_low": pl.Float64,
              "embodied_kgco2e_high": pl.Float64, "embodied_is_estimate": pl.Boolean,
              "lifetime_years": pl.Float64, "origin": pl.String, "description": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def figures_table(name: str | None = None) -> pl.DataFrame:
    """Every figure of one device (or all) in long form: device, figure, value, low, high, unit, basis, source."""
    devs = [get_device(name)] if name is not None else [_all()[n] for n in device_names()]
    rows = []
    for d in devs:
        vals = {f"peak_flops_per_s_{k}": v for k, v in d.peak_flops_per_s.items()}
        vals.update({k: getattr(d, k) for k in SPEC_FIGURES if not k.startswith("peak") and getattr(d, k) is not None})
        vals.update(d.bom)
        for fig, v in vals.items():
            low = d.embodied_kgco2e_low if fig == "embodied_kgco2e" else None
            high = d.embodied_kgco2e_high if fig == "embodied_kgco2e" else None
            rows.append({"device": d.name, "figure": fig, "value": float(v), "low": low, "high": high,
                         "unit": FIGURES[fig], "basis": d.bases.get(fig, ""), "source": d.sources.get(fig, "")})
    return pl.DataFrame(rows, schema={"device": pl.String, "figure": pl.String, "value": pl.Float64,
                                      "low": pl.Float64, "high": pl.Float64, "unit": pl.String,
                                      "basis": pl.String, "source": pl.String})


# ---------------------------------------------------------------------------------------- user files
def _toml_rows(data: dict, origin: str) -> list[dict]:
    """Turn ``[[device]]`` tables into long rows (the CSV format)."""
    tables = data.get("device")
    if not isinstance(tables, list) or not tables:
        raise ImportFormatError(
            f"{origin}: expected one or more [[device]] tables (see docs/data.md, 'Adding devices'); "
            f"got top-level keys {sorted(data)}."
        )
    rows = []
    for i, t in enumerate(tables, start=1):
        if not isinstance(t, dict) or not t.get("name"):
            raise ImportFormatError(f"{origin}: [[device]] table #{i} has no 'name'.")
        name = str(t["name"])
        sources = t.get("sources", {})
        default_source = t.get("source", "")
        bases = t.get("bases", {})
        default_basis = t.get("basis", "datasheet")
        lows, highs = t.get("low", {}), t.get("high", {})
        for key in TEXT_FIELDS:
            if key in t:
                v = t[key]
                rows.append({"device": name, "figure": key, "value": ";".join(v) if isinstance(v, list) else str(v),
                             "unit": "-", "basis": "-", "source": ""})
        figs = {}
        for key, v in t.items():
            if key in ("name", "sources", "source", "bases", "basis", "low", "high", *TEXT_FIELDS):
                continue
            if key == "peak_flops_per_s":
                if not isinstance(v, dict):
                    raise ImportFormatError(f"{origin}: device {name!r}: peak_flops_per_s must be a table dtype = FLOP/s.")
                figs.update({f"peak_flops_per_s_{k}": x for k, x in v.items()})
            elif key in ("embodied_kgco2e_low", "embodied_kgco2e_high"):
                (lows if key.endswith("low") else highs)["embodied_kgco2e"] = v
            else:
                figs[key] = v
        for fig, v in figs.items():
            rows.append({
                "device": name, "figure": fig, "value": v, "low": lows.get(fig), "high": highs.get(fig),
                "unit": FIGURES.get(fig, "?"), "basis": bases.get(fig, default_basis),
                "source": sources.get(fig, default_source),
            })
    return rows


def load_user_devices(path, *, register: bool = True, replace: bool = False) -> list[Device]:
    """Read devices from a TOML or CSV file, validated like the catalog.

    Parameters
    ----------
    path : str or Path
        ``.toml`` with ``[[device]]`` tables, or ``.csv`` in the catalog's long format
        (columns device, figure, value, low, high, unit, basis, source). See ``docs/data.md``.
    register : bool
        Make the devices visible to :func:`get_device` and :func:`list_devices` in this process.
    replace : bool
        Allow a user device to shadow a catalog device of the same name (otherwise an error).

    Returns
    -------
    list of Device

    Raises
    ------
    ImportFormatError
        Missing columns, unknown figures, wrong units, missing sources, negative or non-numeric
        values (each problem with its line), or a name clash with the catalog.
    UnknownNameError
        A device class that is not one of :data:`workbench.schema.DEVICE_CLASSES`.
    """
    p = Path(path)
    if not p.is_file():
        raise ImportFormatError(f"device file {p} does not exist. Fix: give the path of a .toml or .csv file.")
    origin = str(p)
    if p.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ImportFormatError(f"{origin}: not valid TOML ({exc}).") from None
        rows = _toml_rows(data, origin)
        grouped = _parse_rows(rows, origin, resolve_keys=False, first_line=1, label="figure entry")
    elif p.suffix.lower() == ".csv":
        grouped = _parse_rows(_read_csv_rows(p.read_text(encoding="utf-8"), origin), origin, resolve_keys=False)
    else:
        raise ImportFormatError(f"device file {p} must end in .toml or .csv, got {p.suffix!r}.")
    devices = [_build(name, d, origin, expand=True) for name, d in grouped.items()]
    if register:
        clash = [d.name for d in devices if d.name in _builtin() and not replace]
        if clash:
            raise ImportFormatError(
                f"{origin}: device(s) {clash} already exist in the catalog. Fix: rename them, or pass "
                "replace=True to shadow the catalog entry in this process."
            )
        for d in devices:
            _USER[d.name] = d
    return devices


def clear_user_devices() -> None:
    """Forget the user devices registered in this process."""
    _USER.clear()
