"""Reading device tables: the package's catalog, its bibliography, and users' TOML or CSV device files.

Every table is long-format rows (device, figure, value, low, high, unit, basis, source) validated
against the vocabulary of :mod:`workbench.catalog.device_record` (each problem named with its line)
and built into :class:`~workbench.catalog.device_record.Device` records: sources expanded into
full citations from ``references.csv``, the embodied footprint estimated from the bill of materials
(:func:`workbench.catalog.embodied.component_model`) where none is published. A user's TOML file
(``[[device]]`` tables) is turned into the same rows first. Registering and looking devices up is
:mod:`workbench.catalog.devices`.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
import tomllib
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from workbench.catalog import embodied as _embodied
from workbench.catalog.device_record import BASES, BOM_FIGURES, FIGURES, REQUIRED_FIGURES, TEXT_FIELDS, Device
from workbench.errors import ImportFormatError, UnknownNameError
from workbench.schema import DEVICE_CLASSES

_CATALOG_ORIGIN = "workbench/catalog/data/devices.csv"  # named in the messages about the package's table

_CSV_COLUMNS = ("device", "figure", "value", "low", "high", "unit", "basis", "source")


# ---------------------------------------------------------------------------------------- bibliography
def _data_text(name: str) -> str:
    """Text of a file of the package's ``catalog/data/`` folder."""
    return resources.files("workbench.catalog").joinpath("data", name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def references() -> dict[str, str]:
    """The project's bibliography (``data/references.csv``), read once per process.

    Returns
    -------
    dict of str to str
        Reference key → full citation.
    """
    rows = list(csv.DictReader(io.StringIO(_data_text("references.csv"))))
    return {r["key"]: r["citation"] for r in rows}


def cite(source: str) -> str:
    """Expand a source into its full citation.

    Parameters
    ----------
    source : str
        ``"key"`` or ``"key: note"``, with ``key`` a key of :func:`references`.

    Returns
    -------
    str
        The citation, followed by ``" — note"`` when there is a note; ``source`` unchanged when
        its key is not in the bibliography.
    """
    key, _, note = source.partition(":")
    ref = references().get(key.strip())
    if ref is None:
        return source
    return f"{ref} — {note.strip()}" if note.strip() else ref


# ---------------------------------------------------------------------------------------- rows to records
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
def builtin_devices() -> dict[str, Device]:
    """The package's catalog (``data/devices.csv``), read and validated once per process.

    Returns
    -------
    dict of str to Device
        Catalog name → device, sources expanded into full citations. The dict is shared (cached):
        do not modify it.

    Raises
    ------
    ImportFormatError, UnknownNameError
        The package's table is malformed (a packaging error, caught by the test suite).
    """
    grouped = _parse_rows(_read_csv_rows(_data_text("devices.csv"), _CATALOG_ORIGIN), _CATALOG_ORIGIN,
                          resolve_keys=True)
    return {name: _build(name, d, "catalog", expand=True) for name, d in grouped.items()}


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


def read_device_file(path: str | os.PathLike) -> list[Device]:
    """Read and validate the devices of a user's TOML or CSV file (without registering them).

    Parameters
    ----------
    path : str or Path
        ``.toml`` with ``[[device]]`` tables, or ``.csv`` in the catalog's long format
        (columns device, figure, value, low, high, unit, basis, source). See ``docs/data.md``.

    Returns
    -------
    list of Device
        In the order of the file; each with ``origin`` the file's path.

    Raises
    ------
    ImportFormatError
        A missing file or another suffix, invalid TOML, missing columns, unknown figures, wrong
        units, missing sources, negative or non-numeric values (each problem with its line).
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
    return [_build(name, d, origin, expand=True) for name, d in grouped.items()]
