"""Deployment footprints for the life-cycle notebook: the same service on several devices in
several countries, computed with Brightway (:func:`workbench.lca.footprint_dict`).

The functional unit is *one year of a service answering* ``inferences`` *requests on one dedicated
device*. Assumptions (all parameters, all visible in the report):

- the device is busy ``busy_hours`` per year and draws its catalog ``max_power_w`` while busy
  (an upper bound of its draw; idle time is not counted);
- its embodied footprint (catalog, cited there) is amortised over its catalog lifetime at
  ``utilization`` (:func:`workbench.lca.embodied_share`);
- devices of the data-centre classes (``server-cpu``, ``cloud-gpu``) sit behind a PUE
  (``datacentre_pue``, a catalog PUE kind) and every request travels to them and back over
  ``client_network`` (``request_bytes`` per request, catalog kWh/GB); on-device classes
  (MCU, phone, edge) answer locally, with no transfer and no PUE.

Grid intensities come from the catalog (codecarbon's data, cited there). Monte Carlo draws use
the uncertainty that :mod:`workbench.lca` attaches to grid intensity, power, PUE, embodied
footprint, lifetime and network energy, with a fixed seed, so the percentiles are reproducible.
"""

from __future__ import annotations

import polars as pl

from workbench.catalog import devices as catalog
from workbench.checks import check_number
from workbench.errors import ParameterError

DATACENTRE_CLASSES = ("server-cpu", "cloud-gpu")
"""Device classes that serve from a data centre (PUE and network transfer apply)."""

COMPONENTS = ("operational_kgco2e", "embodied_kgco2e", "network_kgco2e")


def deployment_scenario(device: str, country: str, *, inferences: float, busy_hours: float,
                        utilization: float = 0.5, request_bytes: float = 4096.0,
                        client_network: str = "4g", datacentre_pue: str | float = "hyperscale") -> dict:
    """LCA scenario (dict in the :mod:`workbench.lca.scenario` format) of one device-year of service.

    Parameters
    ----------
    device : str
        Catalog device name (``workbench.catalog.devices.device_names()``).
    country : str
        ISO3 country of the electricity grid.
    inferences : float
        Requests answered in the year [1].
    busy_hours : float
        Hours the device computes in the year, drawing its catalog maximum power [h].
    utilization : float
        Share of its lifetime the device is in use, for the embodied share [1].
    request_bytes : float
        Bytes per request and its answer over the network, for data-centre devices [B].
    client_network : str
        Access technology of the requests (``fixed``, ``wifi``, ``4g``, ``5g``).
    datacentre_pue : str or float
        PUE of data-centre devices: a catalog kind (``hyperscale``...) or a number >= 1.

    Returns
    -------
    dict
        The scenario: ``name``, ``functional_unit``, ``location``, ``devices`` and, for data-centre
        devices, ``network``.

    Raises
    ------
    UnknownNameError
        An unknown device.
    ParameterError
        A device without ``max_power_w``, or ``inferences`` or ``busy_hours`` not a number > 0.
    """
    dev = catalog.get_device(device)
    if dev.max_power_w is None:
        raise ParameterError(f"device {dev.name!r} has no max_power_w in the catalog; add it in a user device file.")
    check_number(inferences, "inferences", minimum=0, exclusive=True, fix="give the requests answered in the year.")
    check_number(busy_hours, "busy_hours", minimum=0, exclusive=True,
                 fix="give the hours the device computes in the year [h].")
    in_dc = dev.device_class in DATACENTRE_CLASSES
    sc = {
        "name": f"{dev.name} in {country}",
        "functional_unit": f"1 year of service, {inferences:g} requests",
        "location": {"country": country},
        "devices": [{"name": dev.name, "count": 1, "power_w": float(dev.max_power_w), "hours": float(busy_hours),
                     "pue": datacentre_pue if in_dc else 1.0, "utilization": float(utilization)}],
    }
    if in_dc:
        sc["network"] = [{"gigabytes": inferences * request_bytes / 1e9, "technology": client_network}]
    return sc


def deployment_footprints(devices: list[str], countries: list[str], *, inferences: float, busy_hours: float,
                          utilization: float = 0.5, request_bytes: float = 4096.0, client_network: str = "4g",
                          datacentre_pue: str | float = "hyperscale", monte_carlo: int = 200, seed: int = 0,
                          lca_dir=None, progress: bool = False) -> pl.DataFrame:
    """Footprint of every device × country deployment (see the module docstring for the assumptions).

    Parameters
    ----------
    devices : list of str
        Catalog device names or aliases.
    countries : list of str
        ISO3 countries of the electricity grid.
    inferences, busy_hours, utilization, request_bytes, client_network, datacentre_pue
        The service and its deployment, as in :func:`deployment_scenario` (requests [1], hours [h],
        share [1], bytes per request [B], access technology, PUE kind or number [1]).
    monte_carlo : int
        Monte Carlo draws for the percentiles; below 2, none.
    seed : int
        Seed of the draws (the same seed gives the same percentiles).
    lca_dir : path, optional
        Brightway data directory (see :func:`workbench.lca.project.data_dir`).
    progress : bool
        Print each deployment as it is computed.

    Returns
    -------
    polars.DataFrame
        One row per device × country: ``device, device_class, country, carbon_intensity_g_per_kwh,
        energy_kwh, operational_kgco2e, embodied_kgco2e, network_kgco2e, total_kgco2e``,
        ``total_kgco2e_p5/p50/p95`` (Monte Carlo, if ``monte_carlo`` >= 2), ``g_per_inference``
        (total in grams per request), ``method``; sorted by device class, device, country.

    Raises
    ------
    ParameterError
        No device or no country, or a bad figure (see :func:`deployment_scenario`).
    UnknownNameError
        An unknown device, country, network technology or PUE kind.
    """
    from workbench.lca import footprint_dict  # the LCA layer (Brightway behind it) loads only to compute footprints

    if not devices or not countries:
        raise ParameterError("give at least one device and one country.")
    rows = []
    for name in devices:
        dev = catalog.get_device(name)
        for country in countries:
            sc = deployment_scenario(dev.name, country, inferences=inferences, busy_hours=busy_hours,
                                     utilization=utilization, request_bytes=request_bytes,
                                     client_network=client_network, datacentre_pue=datacentre_pue)
            out = footprint_dict(sc, lca_dir=lca_dir, monte_carlo=monte_carlo if monte_carlo >= 2 else 0, seed=seed)
            mc = out.get("monte_carlo", {}).get("total_kgco2e", {})
            rows.append({
                "device": dev.name, "device_class": dev.device_class, "country": out["country"],
                "carbon_intensity_g_per_kwh": out["carbon_intensity_g_per_kwh"], "energy_kwh": out["energy_kwh"],
                **{c: out[c] for c in COMPONENTS}, "total_kgco2e": out["total_kgco2e"],
                "total_kgco2e_p5": mc.get("p5"), "total_kgco2e_p50": mc.get("p50"), "total_kgco2e_p95": mc.get("p95"),
                "g_per_inference": out["total_kgco2e"] * 1000.0 / inferences, "method": out["method"],
            })
            if progress:
                print(f"footprint: {sc['name']}", flush=True)
    return pl.DataFrame(rows).sort("device_class", "device", "country")


def component_shares(table: pl.DataFrame) -> pl.DataFrame:
    """Long table of each deployment's components and their share of its total [1]."""
    long = table.select("device", "device_class", "country", *COMPONENTS).unpivot(
        index=["device", "device_class", "country"], on=list(COMPONENTS), variable_name="component",
        value_name="kgco2e")
    long = long.with_columns(pl.col("component").str.replace("_kgco2e", ""))
    return long.with_columns((pl.col("kgco2e") / pl.col("kgco2e").sum().over("device", "country")).fill_nan(0.0)
                             .alias("share")).sort("device_class", "device", "country", "component")
