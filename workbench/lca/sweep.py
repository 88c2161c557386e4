"""Vectorised sweeps over many scenarios: characterised unit impacts once, numpy afterwards.

The footprint of a scenario with one device group and one network transfer is linear in the
Brightway unit impacts (characterised impacts of 1 kWh of a country's grid and of manufacturing
one device):

.. math::

    S = n\\,E\\,\\mathrm{PUE}\\,g_c + n\\,\\frac{h}{L \\cdot 8760 \\cdot u}\\,M_d + G\\,e_t\\,g_c

with ``n`` devices of IT energy ``E`` [kWh] each, grid unit impact ``g_c`` [kg CO2-eq/kWh],
embodied ``M_d`` [kg CO2-eq/device], ``h`` busy hours, lifetime ``L`` [years], utilization ``u``,
``G`` gigabytes at ``e_t`` kWh/GB. :class:`UnitImpacts` computes ``g_c`` and ``M_d`` with
``bw2calc.LCA`` (one factorised technosphere, one solve per node); :func:`evaluate` then applies the
formula to arrays. ``benchmarks/lca_sweep.py`` checks it against one full LCA per scenario.

Brightway (``bw2data``, ``bw2calc``, ``bw_processing``, ``stats_arrays``) is imported inside the functions
that use it: importing ``bw2data`` fixes its data directory, which :func:`workbench.lca.project.activate`
chooses first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.catalog import devices as catalog
from workbench.catalog import network
from workbench.errors import ParameterError, UnknownNameError
from workbench.lca import inventory, project
from workbench.lca.engine import make_lca, score
from workbench.lca.resolution import embodied_share
from workbench.schema import as_polars


@dataclass(frozen=True)
class UnitImpacts:
    """Characterised unit impacts from the Brightway project (in the unit of ``method``).

    Attributes
    ----------
    countries : tuple of str
        ISO3 codes, the order of ``grid_kgco2e_per_kwh``.
    grid_kgco2e_per_kwh : numpy.ndarray
        Impact of 1 kWh of each country's grid market [kg CO2-eq/kWh].
    devices : tuple of str
    manufacturing_kgco2e : numpy.ndarray
        Impact of manufacturing one device [kg CO2-eq/device].
    method : tuple
    """

    countries: tuple
    grid_kgco2e_per_kwh: np.ndarray
    devices: tuple
    manufacturing_kgco2e: np.ndarray
    method: tuple

    @classmethod
    def from_project(cls, countries=None, devices=None, *, method=None, lca_dir=None, foreground_inputs=None):
        """Compute the unit impacts with Brightway (the project is set up if needed).

        Parameters
        ----------
        countries, devices : sequence of str, optional
            Subsets (default: every grid market and device of the foreground).
        method : tuple, optional
            LCIA method (default IPCC 2021 GWP100).
        """
        import bw2data as bd

        project.open_project(lca_dir, foreground_inputs=foreground_inputs)
        method = project.check_method(project.parse_method(method))
        package, ids = inventory.foreground_package(foreground_inputs)
        fg = inventory.FOREGROUND
        all_countries = sorted(code.split("|")[2] for (db, code) in ids if code.startswith("electricity|grid|"))
        all_devices = sorted(code.split("|", 1)[1] for (db, code) in ids if code.startswith("manufacturing|"))
        countries = tuple(all_countries if countries is None else countries)
        devices = tuple(all_devices if devices is None else devices)
        for c in countries:
            if c not in all_countries:
                raise UnknownNameError("country", c, all_countries)
        for d in devices:
            if d not in all_devices:
                raise UnknownNameError("device", d, all_devices)
        first = ids[(fg, f"electricity|grid|{countries[0]}")] if countries else ids[(fg, f"manufacturing|{devices[0]}")]
        lca = make_lca({first: 1.0}, method, [bd.Database("biosphere3").datapackage(), package])
        lca.lci(factorize=True)
        lca.lcia()
        grid = np.array([score(lca, {ids[(fg, f"electricity|grid|{c}")]: 1.0}) for c in countries],
                        dtype=np.float64)
        manuf = np.array([score(lca, {ids[(fg, f"manufacturing|{d}")]: 1.0}) for d in devices], dtype=np.float64)
        return cls(countries, grid, devices, manuf, tuple(method))

    def country_index(self, iso3) -> np.ndarray:
        """Indices into :attr:`countries` for an array of ISO3 codes (unknown codes raise)."""
        return _index(self.countries, iso3, "country")

    def device_index(self, names) -> np.ndarray:
        return _index(self.devices, names, "device")


def _index(known: tuple, values, what: str) -> np.ndarray:
    values = np.asarray(values)
    uniq, inverse = np.unique(values, return_inverse=True)
    lookup = {k: i for i, k in enumerate(known)}
    idx = np.empty(len(uniq), dtype=np.int64)
    for j, v in enumerate(uniq):
        if v not in lookup:
            raise UnknownNameError(what, str(v), known)
        idx[j] = lookup[v]
    return idx[inverse].reshape(values.shape)


def evaluate(*, grid_kgco2e_per_kwh, energy_kwh, count=1.0, pue=1.0, manufacturing_kgco2e=0.0, hours=0.0,
             lifetime_years=1.0, utilization=1.0, gigabytes=0.0, kwh_per_gb=0.0) -> dict:
    """Footprints of many scenarios at once (broadcasting numpy arrays; all inputs per scenario).

    Parameters
    ----------
    grid_kgco2e_per_kwh : array [kg CO2-eq/kWh]
        Unit impact of the grid (e.g. ``unit.grid_kgco2e_per_kwh[unit.country_index(iso3)]``).
    energy_kwh : array [kWh]
        IT energy per device.
    count : array [-]
    pue : array [-]
    manufacturing_kgco2e : array [kg CO2-eq/device]
    hours : array [h]
        Busy hours per device (embodied amortisation).
    lifetime_years : array [year]
    utilization : array [-], in (0, 1]
    gigabytes : array [GB]
    kwh_per_gb : array [kWh/GB]

    Returns
    -------
    dict of numpy.ndarray
        ``operational_kgco2e``, ``embodied_kgco2e``, ``network_kgco2e``, ``total_kgco2e``, ``energy_kwh``.
    """
    g = np.asarray(grid_kgco2e_per_kwh, dtype=np.float64)
    facility = np.multiply(np.multiply(count, energy_kwh), pue)
    operational = facility * g
    embodied = np.multiply(count, embodied_share(np.asarray(hours, dtype=np.float64), lifetime_years,
                                                 utilization)) * manufacturing_kgco2e
    network_kwh = np.multiply(gigabytes, kwh_per_gb)
    network = network_kwh * g
    return {"operational_kgco2e": operational, "embodied_kgco2e": embodied, "network_kgco2e": network,
            "total_kgco2e": operational + embodied + network, "energy_kwh": facility + network_kwh}


def evaluate_resolved(rs) -> dict:
    """One resolved scenario (:func:`workbench.lca.resolve`) through :func:`evaluate`, summed over its devices and
    network transfers: the vectorised engine's answer for what the Brightway engine computes from the same file.

    Returns
    -------
    dict of float
        ``operational_kgco2e``, ``embodied_kgco2e``, ``network_kgco2e``, ``total_kgco2e`` [kg CO2-eq] and
        ``energy_kwh`` [kWh] (facility energy of the devices plus the network's).
    """
    g = rs.carbon_intensity_g_per_kwh / 1e3
    out = dict.fromkeys(("operational_kgco2e", "embodied_kgco2e", "network_kgco2e", "total_kgco2e", "energy_kwh"),
                        0.0)
    parts = [evaluate(grid_kgco2e_per_kwh=g, energy_kwh=d.energy_kwh, count=d.count, pue=d.pue,
                      manufacturing_kgco2e=d.embodied_kgco2e if d.embodied_included else 0.0,
                      hours=d.hours if d.embodied_included else 0.0,
                      lifetime_years=d.lifetime_years if d.embodied_included else 1.0,
                      utilization=d.utilization) for d in rs.devices]
    parts += [evaluate(grid_kgco2e_per_kwh=g, energy_kwh=0.0, gigabytes=nw.gigabytes, kwh_per_gb=nw.kwh_per_gb)
              for nw in rs.network]
    for part in parts:
        for k in out:
            out[k] += float(part[k])
    return out


SWEEP_COLUMNS = ("country", "device", "count", "power_w", "hours", "pue", "lifetime_years", "utilization",
                 "gigabytes", "technology")


def sweep(frame, unit: UnitImpacts | None = None, *, lca_dir=None, method=None):
    """Evaluate a table of scenarios (one device group and one network transfer per row).

    Parameters
    ----------
    frame : polars.DataFrame or pandas.DataFrame
        Columns ``country`` (ISO3), ``device`` (catalog name), ``count``, ``power_w`` [W],
        ``hours`` [h]; optional ``pue`` (default 1), ``lifetime_years`` (default: the catalog's),
        ``utilization`` (default 1), ``embodied_kgco2e`` (default: the catalog's via Brightway),
        ``gigabytes`` (default 0) with ``technology`` (catalog network technology).
    unit : UnitImpacts, optional
        Precomputed unit impacts (default: computed now for every country and device).

    Returns
    -------
    polars.DataFrame
        The input columns plus ``energy_kwh``, ``operational_kgco2e``, ``embodied_kgco2e``,
        ``network_kgco2e``, ``total_kgco2e``.

    Raises
    ------
    SchemaError
        ``frame`` is neither a polars nor a pandas DataFrame.
    ParameterError
        A required column is missing, or a column has values out of range.
    UnknownNameError
        Unknown country, device or network technology.
    """
    df = as_polars(frame)
    missing = [c for c in ("country", "device", "count", "power_w", "hours") if c not in df.columns]
    if missing:
        raise ParameterError(f"sweep frame lacks columns {missing}; required: country, device, count, power_w, "
                             "hours (optional: pue, lifetime_years, utilization, embodied_kgco2e, gigabytes, "
                             "technology)")
    for col in ("count", "power_w", "hours", "pue", "lifetime_years", "gigabytes", "embodied_kgco2e"):
        if col in df.columns and (df[col] < 0).any():
            raise ParameterError(f"sweep column {col!r} has negative values; all must be >= 0")
    if "utilization" in df.columns and ((df["utilization"] <= 0) | (df["utilization"] > 1)).any():
        raise ParameterError("sweep column 'utilization' has values outside (0, 1]")
    if unit is None:
        unit = UnitImpacts.from_project(lca_dir=lca_dir, method=method)
    n = df.height
    dev_names = df["device"].to_numpy()
    g = unit.grid_kgco2e_per_kwh[unit.country_index(df["country"].to_numpy())]
    if "embodied_kgco2e" in df.columns:
        manuf = df["embodied_kgco2e"].to_numpy()
    else:
        manuf = unit.manufacturing_kgco2e[unit.device_index(dev_names)]
    if "lifetime_years" in df.columns:
        life = df["lifetime_years"].to_numpy()
    else:
        life_of = {d: float(catalog.get_device(d).lifetime_years) for d in np.unique(dev_names)}
        life = np.array([life_of[d] for d in dev_names])
    kwh_per_gb = np.zeros(n)
    if "technology" in df.columns:
        techs = df["technology"].to_numpy()
        per_tech = {}
        for t in np.unique(techs):
            if t not in network.TECHNOLOGIES:
                raise UnknownNameError("network technology", str(t), network.TECHNOLOGIES)
            per_tech[t] = float(network.energy_kwh_per_gb(t))
        kwh_per_gb = np.array([per_tech[t] for t in techs])
    col = lambda name, default: df[name].to_numpy() if name in df.columns else default  # noqa: E731
    out = evaluate(grid_kgco2e_per_kwh=g, energy_kwh=df["power_w"].to_numpy() * df["hours"].to_numpy() / 1000.0,
                   count=df["count"].to_numpy(), pue=col("pue", 1.0), manufacturing_kgco2e=manuf,
                   hours=df["hours"].to_numpy(), lifetime_years=life, utilization=col("utilization", 1.0),
                   gigabytes=col("gigabytes", 0.0), kwh_per_gb=kwh_per_gb)
    return df.with_columns(**{k: pl.Series(k, np.broadcast_to(v, (n,)).astype(np.float64)) for k, v in out.items()})
