"""The foreground inventory: the workbench's own Brightway database of electricity and devices.

Activities (database :data:`FOREGROUND`, all emissions are the real biosphere3 flow
"Carbon dioxide, fossil" to ``("air",)``, so characterisation is Brightway's):

``electricity|grid|<ISO3>`` — "market for electricity, grid mix" [kilowatt hour]
    Where the grid data give a generation mix, the market takes ``share_s`` kWh from
    ``electricity|<source>|<ISO3>`` for every source ``s``; otherwise it emits the reported intensity
    directly (structure unknown).
``electricity|<source>|<ISO3>`` — "electricity production, <source>" [kilowatt hour]
    Emits ``f_s × k / 1000`` kg CO2-eq per kWh, where ``f_s`` is the life-cycle intensity of the
    source [g/kWh] and ``k = I_reported / Σ_s share_s f_s`` attributes the country's *reported*
    intensity ``I_reported`` to its sources in proportion to their life-cycle factors. Thus one kWh
    of the market emits exactly the reported intensity (the value of
    ``workbench.catalog.grid.carbon_intensity_g_per_kwh``), and a contribution analysis still
    splits it by generation source. The unscaled mix-derived intensity ``Σ share_s f_s`` and ``k``
    are kept on the market activity (``mix_intensity_g_per_kwh``, ``calibration_factor``): they
    differ because the reported intensities (Ember/OWID via codecarbon) and the per-source factors
    (codecarbon's carbon_intensity_per_source.json, mostly WNA 2011) come from different studies.
``manufacturing|<device>`` — "device manufacturing, <device>" [unit]
    Emits the catalog's ``embodied_kgco2e`` (cradle-to-gate); a lognormal distribution is attached
    when the catalog gives a low–high range (read as the 5th–95th percentiles).

Greenhouse gases are entered as CO2-equivalents on the fossil CO2 flow: the source figures are
CO2-eq totals, not per-gas inventories. Categories other than climate change therefore see only
CO2 (documented in docs/lca.md).

Brightway (``bw2data``, ``bw2calc``, ``bw_processing``, ``stats_arrays``) is imported inside the functions
that use it: importing ``bw2data`` fixes its data directory, which :func:`workbench.lca.project.activate`
chooses first.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field

from workbench.catalog import devices as cat_devices
from workbench.catalog import grid as cat_grid
from workbench.errors import ParameterError, WorkbenchError
from workbench.lca import matrices
from workbench.lca.database import write_database

FOREGROUND = "workbench-foreground"
"""Name of the foreground Brightway database."""

CO2_FOSSIL_AIR = ("Carbon dioxide, fossil", ("air",))
"""The biosphere3 flow all foreground emissions use (name, categories)."""

Z_95 = 1.6448536269514722
"""Standard normal quantile of 0.95: a 5th–95th percentile range spans 2 × 1.645 σ."""


@dataclass(frozen=True)
class GridInput:
    """One country's grid, as numbers (from the catalog, or given explicitly in tests)."""

    iso3: str
    carbon_intensity_g_per_kwh: float
    mix: dict[str, float] | None = None
    country: str = ""
    source: str = ""


@dataclass(frozen=True)
class DeviceInput:
    """One device's embodied emissions [kg CO2-eq per unit], with an optional low–high range."""

    name: str
    embodied_kgco2e: float
    embodied_kgco2e_low: float | None = None
    embodied_kgco2e_high: float | None = None
    source: str = ""


@dataclass(frozen=True)
class ForegroundInputs:
    """Everything the foreground database is built from."""

    grids: dict[str, GridInput]
    source_intensity_g_per_kwh: dict[str, float]
    devices: dict[str, DeviceInput] = field(default_factory=dict)
    source_citations: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """SHA-256 of the inputs: the database is rewritten when it changes."""
        blob = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def lognormal_sigma(rel_sd: float) -> float:
    """σ of the log of a lognormal with coefficient of variation ``rel_sd``."""
    return math.sqrt(math.log1p(rel_sd**2))


def lognormal_sigma_from_range(low: float, high: float) -> float:
    """σ of a lognormal whose 5th and 95th percentiles are ``low`` and ``high`` (both > 0)."""
    return math.log(high / low) / (2 * Z_95)


def catalog_inputs() -> ForegroundInputs:
    """Read grids, per-source intensities and devices from :mod:`workbench.catalog`."""
    table = cat_grid.grid_table()
    grids = {}
    for row in table.iter_rows(named=True):
        iso3 = row["iso3"]
        try:
            mix = cat_grid.energy_mix(iso3)
        except WorkbenchError:
            mix = None
        grids[iso3] = GridInput(iso3=iso3, carbon_intensity_g_per_kwh=float(row["carbon_intensity_g_per_kwh"]),
                                mix=dict(mix) if mix else None, country=str(row.get("country") or ""),
                                source=str(row.get("source") or ""))
    src = cat_grid.source_intensity_g_per_kwh()
    citations = {}
    if hasattr(cat_grid, "source_intensity_table"):
        for row in cat_grid.source_intensity_table().iter_rows(named=True):
            citations[str(row.get("source"))] = str(row.get("citation") or "")
    devices = {}
    for row in cat_devices.list_devices().iter_rows(named=True):
        dev = cat_devices.get_device(row["name"])
        devices[dev.name] = DeviceInput(
            name=dev.name, embodied_kgco2e=float(dev.embodied_kgco2e),
            embodied_kgco2e_low=_opt(dev.embodied_kgco2e_low), embodied_kgco2e_high=_opt(dev.embodied_kgco2e_high),
            source=str(dev.sources.get("embodied_kgco2e", "")) if dev.sources else "")
    return ForegroundInputs(grids=grids, source_intensity_g_per_kwh={k: float(v) for k, v in src.items()},
                            devices=devices, source_citations=citations)


def _opt(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def co2_flow_key(bd) -> tuple[str, str]:
    """``(database, code)`` of "Carbon dioxide, fossil" to air (unspecified) in biosphere3."""
    name, categories = CO2_FOSSIL_AIR
    for node in bd.Database("biosphere3"):
        if node["name"] == name and tuple(node["categories"]) == categories:
            return node.key
    raise WorkbenchError("biosphere3 lacks 'Carbon dioxide, fossil' to air; rebuild the project with "
                         "`workbench lca-setup --rebuild`")


def mix_intensity_g_per_kwh(mix: dict[str, float], source_intensity: dict[str, float]) -> float:
    """Σ share_s × f_s [g CO2-eq/kWh]: the intensity the generation mix implies with per-source factors."""
    missing = sorted(set(mix) - set(source_intensity))
    if missing:
        raise ParameterError(f"generation sources {missing} have no life-cycle intensity; known sources: "
                             f"{sorted(source_intensity)}. Fix the mix or the per-source table.")
    return float(sum(share * source_intensity[s] for s, share in mix.items()))


def foreground_data(inputs: ForegroundInputs, co2_key: tuple[str, str]) -> dict:
    """The foreground database as a bw2data ``{(db, code): dataset}`` dict (pure, no writes).

    Parameters
    ----------
    inputs : ForegroundInputs
    co2_key : (str, str)
        Key of the fossil CO2 flow in biosphere3.

    Returns
    -------
    dict
    """
    data = {}
    for iso3, g in sorted(inputs.grids.items()):
        if g.carbon_intensity_g_per_kwh < 0:
            raise ParameterError(f"grid {iso3}: negative carbon intensity {g.carbon_intensity_g_per_kwh}")
        market = {
            "name": "market for electricity, grid mix", "reference product": "electricity",
            "location": iso3, "unit": "kilowatt hour", "type": "process",
            "carbon_intensity_g_per_kwh": g.carbon_intensity_g_per_kwh, "country": g.country,
            "comment": f"Reported intensity {g.carbon_intensity_g_per_kwh} g CO2-eq/kWh. Source: {g.source}",
            "exchanges": [{"input": (FOREGROUND, f"electricity|grid|{iso3}"), "amount": 1.0, "type": "production"}],
        }
        mix = {s: float(v) for s, v in (g.mix or {}).items() if v > 0}
        # A source without a life-cycle factor cannot carry emissions: it is left out of the
        # structure and the others are renormalised (the calibration keeps the reported total).
        unfactored = {s: v for s, v in mix.items() if s not in inputs.source_intensity_g_per_kwh}
        mix = {s: v for s, v in mix.items() if s not in unfactored}
        if unfactored:
            market["unfactored_sources"] = unfactored
        mix_total = sum(mix.values())
        mix_i = mix_intensity_g_per_kwh(mix, inputs.source_intensity_g_per_kwh) / mix_total if mix else 0.0
        if mix and mix_i > 0:
            k = g.carbon_intensity_g_per_kwh / mix_i
            market["mix_intensity_g_per_kwh"] = mix_i
            market["calibration_factor"] = k
            for s, share in sorted(mix.items()):
                code = f"electricity|{s}|{iso3}"
                f_s = inputs.source_intensity_g_per_kwh[s]
                data[(FOREGROUND, code)] = {
                    "name": f"electricity production, {s}", "reference product": "electricity",
                    "location": iso3, "unit": "kilowatt hour", "type": "process",
                    "source_intensity_g_per_kwh": f_s, "calibration_factor": k,
                    "comment": (f"Life-cycle factor {f_s} g CO2-eq/kWh "
                                f"({inputs.source_citations.get(s, 'per-source table')}) × calibration {k:.6g} "
                                f"so that the {iso3} market matches its reported intensity."),
                    "exchanges": [
                        {"input": (FOREGROUND, code), "amount": 1.0, "type": "production"},
                        {"input": co2_key, "amount": f_s * k / 1000.0, "type": "biosphere"},
                    ],
                }
                market["exchanges"].append({"input": (FOREGROUND, code), "amount": share / mix_total,
                                            "type": "technosphere"})
        else:
            market["exchanges"].append({"input": co2_key, "amount": g.carbon_intensity_g_per_kwh / 1000.0,
                                        "type": "biosphere"})
        data[(FOREGROUND, f"electricity|grid|{iso3}")] = market
    for name, d in sorted(inputs.devices.items()):
        data[(FOREGROUND, f"manufacturing|{name}")] = manufacturing_dataset(
            (FOREGROUND, f"manufacturing|{name}"), name, d.embodied_kgco2e, co2_key,
            low=d.embodied_kgco2e_low, high=d.embodied_kgco2e_high, source=d.source)
    return data


def manufacturing_dataset(key, device: str, embodied_kgco2e: float, co2_key, *, low=None, high=None,
                          sigma: float | None = None, source: str = "") -> dict:
    """A "device manufacturing" dataset emitting ``embodied_kgco2e`` [kg CO2-eq per unit]."""
    exc = {"input": co2_key, "amount": float(embodied_kgco2e), "type": "biosphere"}
    if sigma is None and low and high and high > low > 0:
        sigma = lognormal_sigma_from_range(low, high)
    if sigma and embodied_kgco2e > 0:
        exc.update(lognormal(embodied_kgco2e, sigma))
    return {
        "name": f"device manufacturing, {device}", "reference product": device, "unit": "unit",
        "location": "GLO", "type": "process", "embodied_kgco2e": float(embodied_kgco2e),
        "comment": f"Embodied (cradle-to-gate) emissions per device. Source: {source or 'given by the user'}",
        "exchanges": [{"input": key, "amount": 1.0, "type": "production"}, exc],
    }


def lognormal(median: float, sigma: float) -> dict:
    """stats_arrays lognormal fields with the given median (> 0) and σ of the log."""
    from stats_arrays import LognormalUncertainty  # Brightway's distributions: loaded on first use

    return {"uncertainty type": LognormalUncertainty.id, "loc": math.log(median), "scale": float(sigma)}


_PACKAGES: dict = {}


def _stored_fingerprint(bd) -> str | None:
    return bd.databases[FOREGROUND].get("workbench_fingerprint") if FOREGROUND in bd.databases else None


def ensure_foreground(inputs: ForegroundInputs | None = None) -> str:
    """Write the foreground database into the current project unless it is already up to date.

    Parameters
    ----------
    inputs : ForegroundInputs, optional
        Default: :func:`catalog_inputs`.

    Returns
    -------
    str
        The database name (:data:`FOREGROUND`).
    """
    foreground_package(inputs)
    return FOREGROUND


def foreground_package(inputs: ForegroundInputs | None = None):
    """Ensure the foreground database is written and return its float64 datapackage and node ids.

    Returns
    -------
    (bw_processing.Datapackage, dict)
        The datapackage (see :mod:`workbench.lca.matrices`) and ``{(db, code): id}`` for the
        foreground nodes and the fossil CO2 flow.
    """
    import bw2data as bd

    if inputs is None:
        inputs = catalog_inputs()
    fp = inputs.fingerprint()
    cache_key = (str(bd.projects.dir), bd.projects.current, fp)
    if cache_key in _PACKAGES and _stored_fingerprint(bd) == fp:
        return _PACKAGES[cache_key]
    co2 = co2_flow_key(bd)
    data = foreground_data(inputs, co2)  # validates before anything is written
    if _stored_fingerprint(bd) != fp:
        write_database(FOREGROUND, data)
        bd.databases[FOREGROUND]["workbench_fingerprint"] = fp
        bd.databases.flush()
    ids = matrices.node_ids(bd, FOREGROUND)
    ids[co2] = bd.get_node(database=co2[0], code=co2[1]).id
    _PACKAGES.clear()
    _PACKAGES[cache_key] = (matrices.datapackage(data, ids, FOREGROUND), ids)
    return _PACKAGES[cache_key]
