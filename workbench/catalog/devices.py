"""Device catalog: cited specifications of the devices of the edge–network–cloud continuum.

The catalog is a long table (``workbench/catalog/data/devices.csv``): one row per device × figure
with ``value``, optional ``low``/``high``, ``unit``, ``basis`` and ``source``. Sources are keys of
``references.csv`` (the project's bibliography), optionally followed by ``": note"``.
:func:`get_device` looks a device up as a :class:`Device`.

Bases (how a figure was obtained): see :data:`BASES`. Devices without a published embodied
footprint carry bill-of-materials figures (die area, node, DRAM, flash, ICs, board); their
``embodied_kgco2e`` is computed by :func:`workbench.catalog.embodied.component_model` and marked
``embodied_is_estimate=True``.

Users add devices from a TOML or CSV file (:func:`load_user_devices`); see ``docs/data.md``.

This module holds the lookups and the process's registry of user devices. The record and the
vocabulary of figures live in :mod:`workbench.catalog.device_record`, reading and validating
device tables in :mod:`workbench.catalog.device_tables`; their public names are importable from
here too.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from workbench.catalog.device_record import (
    BASES,
    BOM_FIGURES,
    DTYPES,
    FIGURES,
    REQUIRED_FIGURES,
    SPEC_FIGURES,
    TEXT_FIELDS,
    Device,
)
from workbench.catalog.device_tables import builtin_devices, cite, read_device_file, references
from workbench.errors import ImportFormatError, UnknownNameError
from workbench.schema import DEVICE_CLASSES

__all__ = [
    "BASES", "BOM_FIGURES", "DTYPES", "FIGURES", "REQUIRED_FIGURES", "SPEC_FIGURES", "TEXT_FIELDS", "Device",
    "cite", "clear_user_devices", "device_names", "display_name", "figures_table", "get_device", "list_devices",
    "load_user_devices", "read_device_file", "references",
]

_USER: dict[str, Device] = {}


def _all() -> dict[str, Device]:
    return {**builtin_devices(), **_USER}


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

    Parameters
    ----------
    name : str
        Catalog name (``"a100-sxm4-40gb"``) or alias (``"A100"``) of a catalog or registered user device.

    Returns
    -------
    Device

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


_DISPLAY_RULES = (
    (re.compile(r"^(?:nvidia\s+)?(?:geforce\s+)?(rtx\s*\d{4}\w*)", re.I),
     lambda m: "RTX " + re.sub(r"^rtx\s*", "", m.group(1), flags=re.I).upper()),
    (re.compile(r"^(?:nvidia\s+)?(?:tesla\s+)?(gh200|gb200|gb300|a100|h100|h200|h20|b200|l40s|l40|l4|a10g?|t4|v100|a30|a40)"
                r"(?![0-9a-z])", re.I), lambda m: m.group(1).upper()),
    (re.compile(r"^(?:nvidia\s+)?jetson[\s_-]+agx[\s_-]+orin", re.I), lambda m: "Jetson AGX Orin"),
    (re.compile(r"^(?:nvidia\s+)?jetson[\s_-]+orin[\s_-]+nx", re.I), lambda m: "Jetson Orin NX"),
    (re.compile(r"^(?:nvidia\s+)?jetson[\s_-]+orin[\s_-]+nano", re.I), lambda m: "Jetson Orin Nano"),
)


_VENDOR_NOISE = (
    (re.compile(r"\((?:R|TM)\)", re.I), ""),                        # Intel(R) Xeon(R), Arc(TM)
    (re.compile(r"\s+CPU\s*@\s*[\d.]+\s*GHz\s*$", re.I), ""),          # "... CPU @ 2.40GHz"
    (re.compile(r"\s+\d+-Core\s+Processor\s*$", re.I), ""),            # "AMD Ryzen 9 7950X 16-Core Processor"
    (re.compile(r"^\d+(?:st|nd|rd|th)\s+Gen\s+", re.I), ""),             # "13th Gen Intel Core i9-13900K"
    (re.compile(r"^NVIDIA\s+(?=RTX\b)", re.I), ""),                     # "NVIDIA RTX A5000"
    (re.compile(r"\s+GPU\s*$", re.I), ""),                              # "... A5000 GPU"
)
"""Marketing noise of published CPU/GPU strings that are not catalog devices (trademark signs, clock
suffixes, core counts, generation prefixes), removed so that a table column of them reads as device names."""


def display_name(name: str | None) -> str | None:
    """One short name per device for every table and figure: the names datasets, the catalog and our
    own measurements give one device become one.

    NVIDIA GPUs by their chip (``"NVIDIA A100-SXM4-40GB"``, ``"a100-sxm4-40gb"`` and ``"A100"`` are
    ``"A100"``; ``"NVIDIA GeForce RTX 4090"`` is ``"RTX 4090"``), Jetson modules by their family; any
    other catalog device (by name or alias, see :func:`get_device`) by its first alias, which is the
    name its dataset uses (``"pixel-4"`` → ``"Pixel4"``, ``"stm32l4r5zi"`` → ``"NUCLEO-L4R5ZI"``);
    anything else is kept as given, without trademark signs, clock suffixes, core counts and generation
    prefixes (``"Intel(R) Xeon(R) Gold 6240R CPU @ 2.40GHz"`` → ``"Intel Xeon Gold 6240R"``).

    Examples
    --------
    >>> [display_name(n) for n in ("NVIDIA A100-SXM4-40GB", "a100-sxm4-40gb", "A100", "NVIDIA H100 80GB HBM3")]
    ['A100', 'A100', 'A100', 'H100']
    >>> display_name("jetson-orin-nano-8gb"), display_name("intel-ncs2"), display_name("my laptop")
    ('Jetson Orin Nano', 'NCS2', 'my laptop')
    """
    if name is None:
        return None
    s = str(name).strip()
    for pattern, label in _DISPLAY_RULES:
        m = pattern.match(s)
        if m:
            return label(m)
    hit = _index().get(_norm(s))
    if hit is not None:
        dev = _all()[hit]
        first = dev.aliases[0] if dev.aliases else dev.name
        return display_name(first) if first != s and _norm(first) != _norm(s) else first
    for pattern, repl in _VENDOR_NOISE:
        s = pattern.sub(repl, s)
    return re.sub(r"\s{2,}", " ", s).strip()


def list_devices(device_class: str | None = None) -> pl.DataFrame:
    """The catalog as a table, one row per device (optionally one class).

    Parameters
    ----------
    device_class : str, optional
        Only devices of this class (a key of :data:`workbench.schema.DEVICE_CLASSES`).

    Returns
    -------
    polars.DataFrame
        Columns name, device_class, vendor, peak_flops_per_s_<dtype> [FLOP/s] for every dtype any
        device has, memory_bandwidth_bytes_per_s [B/s], ram_bytes [B], idle_power_w, max_power_w [W],
        embodied_kgco2e(_low/_high) [kgCO2e], embodied_is_estimate, lifetime_years [year], origin,
        description; sorted by device class, then name.

    Raises
    ------
    UnknownNameError
        An unknown device class.
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
    """Every figure of one device (or of all) in long form, with its unit, basis and full citation.

    Parameters
    ----------
    name : str, optional
        Device name or alias (see :func:`get_device`); None for every device.

    Returns
    -------
    polars.DataFrame
        Columns device, figure, value, low, high (in the figure's ``unit``), unit, basis, source.

    Raises
    ------
    UnknownNameError
        An unknown device name.
    """
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
    devices = read_device_file(path)
    if register:
        clash = [d.name for d in devices if d.name in builtin_devices() and not replace]
        if clash:
            raise ImportFormatError(
                f"{Path(path)}: device(s) {clash} already exist in the catalog. Fix: rename them, or pass "
                "replace=True to shadow the catalog entry in this process."
            )
        for d in devices:
            _USER[d.name] = d
    return devices


def clear_user_devices() -> None:
    """Forget the user devices registered in this process."""
    _USER.clear()
