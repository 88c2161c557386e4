"""Notebook 04 (life-cycle footprint per request): the inputs from the workbench's own numbers, and the findings.

The footprint of ``requests`` requests (1,000 by default) of each zoo model variant on each device class is
priced by :mod:`workbench.lca.per_request` (Brightway unit impacts, Monte Carlo, tornado). Its inputs,
energy per inference [J] and device time per inference [s], come from two places:

- **this machine** (:func:`own_inputs`): the profiler rows of the run store (the same runs notebook 01 reads),
  energy as the row's ``energy_method`` says (on a machine without a power sensor, codecarbon's TDP × load:
  *estimated*, never measured), time the median latency per sample; the embodied footprint, lifetime and class
  are those of the catalog device of the same class among the page's devices (the row says which);
- **catalog devices** (:func:`projected_inputs`): a roofline projection of the same rows' counted features
  (FLOPs, weight and activation bytes per inference) onto each catalog device: time = max(FLOPs / peak of the
  variant's dtype, (weight + activation bytes) / memory bandwidth) (Williams, Waterman, Patterson, CACM 52(4),
  2009), energy = time × the catalog's maximum power. *Predicted*, and a lower bound: kernels of models this
  small run well below peak, so real energy per inference is higher.

Each input row carries ``energy_provenance`` (a :mod:`workbench.reports.provenance` state), which every table
and figure built from it inherits.
"""

from __future__ import annotations

import polars as pl

from workbench.catalog import devices as catalog
from workbench.errors import ParameterError, UnknownNameError
from workbench.reports import provenance as pv
from workbench.reports.sections import num, percent
from workbench.reports.theme import device_labels
from workbench.schema import DEVICE_CLASSES

INPUT_COLUMNS = ("model", "variant", "device", "catalog_device", "device_class", "energy_j", "latency_s",
                 "energy_provenance", "energy_source")
"""Columns of the inputs frame (:func:`own_inputs`, :func:`projected_inputs`)."""

ROOFLINE = "roofline lower bound on the catalog device (FLOPs / peak, bytes / bandwidth) × catalog max power"
IMPORTED = "device catalog (embodied footprint, lifetime, peak, bandwidth, max power), grid intensities, PUE, " \
           "network kWh/GB (cited sources)"
LCA = "Brightway LCA (IPCC 2021 GWP100) of the energy and the embodied share; Monte Carlo and tornado ranges " \
      "as stated (workbench.lca.per_request)"

_SCHEMA = {"model": pl.String, "variant": pl.String, "device": pl.String, "catalog_device": pl.String,
           "device_class": pl.String, "energy_j": pl.Float64, "latency_s": pl.Float64,
           "energy_provenance": pl.String, "energy_source": pl.String}


def _catalog_by_class(devices: list[str]) -> dict[str, str]:
    """Class → the first of ``devices`` of that class, else the catalog's first device of the class (by name)."""
    out = {}
    for name in [*devices, *catalog.device_names()]:
        dev = catalog.get_device(name)
        out.setdefault(dev.device_class, dev.name)
    return out


def own_inputs(runs: pl.DataFrame, devices: list[str]) -> pl.DataFrame:
    """Inputs from the profiler rows of the run store (see the module docstring).

    Parameters
    ----------
    runs : polars.DataFrame
        Profiler rows (:func:`workbench.reports.data.ensure_runs`); rows without a per-inference energy are
        left out.
    devices : list of str
        Catalog devices of the page; a row's embodied footprint and lifetime are those of the first one of
        its class, else of the catalog's first device of its class by name (a row whose ``device_name`` is a
        catalog device uses that device).

    Returns
    -------
    polars.DataFrame
        :data:`INPUT_COLUMNS`; ``variant`` is the dtype, ``energy_j`` [J per inference], ``latency_s`` [s per
        inference] (median latency / batch size), ``energy_provenance`` the state of the row's
        ``energy_method``, ``energy_source`` how it was obtained (and which catalog device stands in).

    Raises
    ------
    ParameterError
        A row whose class has no device in the catalog (the message names the class and the fix).
    """
    by_class = _catalog_by_class(devices)
    rows = []
    if runs.height:
        usable = runs.filter(pl.col("energy_j").is_not_null() & (pl.col("energy_scope") == "inference")
                             & pl.col("latency_ms_p50").is_not_null())
        for r in usable.sort("device_name", "model", "dtype", "batch_size").iter_rows(named=True):
            state = pv.ENERGY_METHOD_STATE.get(r["energy_method"])
            if state is None:
                continue
            try:
                cat = catalog.get_device(r["device_name"]).name
                stand_in = ""
            except UnknownNameError:
                cat = by_class.get(r["device_class"])
                if cat is None:
                    raise ParameterError(
                        f"the runs of {r['device_name']!r} are of class {r['device_class']!r}, and the catalog has "
                        "no device of that class, so their embodied footprint has no figure. Fix: register a "
                        "device of that class (docs/data.md) and name it in `devices`.") from None
                stand_in = f"; embodied footprint and lifetime of {cat} (catalog, same class)"
            rows.append({"model": r["model"], "variant": r["dtype"], "device": r["device_name"],
                         "catalog_device": cat, "device_class": r["device_class"],
                         "energy_j": float(r["energy_j"]),
                         "latency_s": float(r["latency_ms_p50"]) / 1e3 / int(r["batch_size"]),
                         "energy_provenance": state,
                         "energy_source": pv.ENERGY_METHOD_DETAIL.get(r["energy_method"], r["energy_method"])
                         + " (this machine)" + stand_in})
    return pl.DataFrame(rows, schema=_SCHEMA)


def roofline_time_s(flops: float, moved_bytes: float, peak_flops_per_s: float,
                    bandwidth_bytes_per_s: float) -> float:
    """Roofline time of one inference [s]: max(FLOPs / peak [FLOP/s], bytes moved [B] / bandwidth [B/s]).

    Examples
    --------
    >>> roofline_time_s(2e9, 1e6, 1e12, 1e11)
    0.002
    """
    return max(flops / peak_flops_per_s, moved_bytes / bandwidth_bytes_per_s)


def projected_inputs(runs: pl.DataFrame, devices: list[str]) -> pl.DataFrame:
    """Roofline projections of the profiled model variants onto catalog ``devices`` (see the module docstring).

    Parameters
    ----------
    runs : polars.DataFrame
        Profiler rows with the counted ``flops``, ``weight_bytes``, ``activation_bytes`` per inference and
        ``dtype``; one projection per model × dtype (batch 1 rows preferred).
    devices : list of str
        Catalog device names.

    Returns
    -------
    polars.DataFrame
        :data:`INPUT_COLUMNS`, ``energy_provenance`` = ``predicted``. A dtype without its own peak in the
        catalog is projected at the fp32 peak (``energy_source`` says so); a device without fp32 peak, memory
        bandwidth or maximum power gets no rows.

    Raises
    ------
    UnknownNameError
        An unknown catalog device.
    """
    devs = [catalog.get_device(d) for d in devices]
    rows = []
    if runs.height:
        feats = (runs.filter(pl.col("flops").is_not_null() & pl.col("weight_bytes").is_not_null())
                 .sort("batch_size", "model", "dtype").unique(["model", "dtype"], keep="first", maintain_order=True)
                 .sort("model", "dtype"))
        for dev in devs:
            bw, power = dev.memory_bandwidth_bytes_per_s, dev.max_power_w
            if not dev.peak_flops_per_s.get("fp32") or not bw or not power:
                continue
            for r in feats.iter_rows(named=True):
                peak = dev.peak_flops_per_s.get(r["dtype"])
                at = r["dtype"]
                if not peak:
                    peak, at = dev.peak_flops_per_s["fp32"], "fp32 (no catalog peak for " + r["dtype"] + ")"
                moved = float(r["weight_bytes"]) + float(r["activation_bytes"] or 0.0)
                t = roofline_time_s(float(r["flops"]), moved, float(peak), float(bw))
                rows.append({"model": r["model"], "variant": r["dtype"], "device": dev.name, "catalog_device": dev.name,
                             "device_class": dev.device_class, "energy_j": t * float(power), "latency_s": t,
                             "energy_provenance": "predicted",
                             "energy_source": f"roofline at the {at} peak {peak:.3g} FLOP/s, {bw:.3g} B/s, "
                                              f"× max power {power:g} W"})
    return pl.DataFrame(rows, schema=_SCHEMA)


def provenance_of(frame: pl.DataFrame) -> dict:
    """Provenance of a table or figure built from the inputs: the energy states its rows carry, the catalog
    figures (imported) and the LCA (estimated)."""
    states = set(frame["energy_provenance"].drop_nulls().to_list()) if "energy_provenance" in frame.columns else set()
    parts = [pv.make(imported=IMPORTED, estimated=LCA)]
    if "estimated" in states:
        parts.append(pv.make(estimated="energy per inference: codecarbon TDP × load model (this machine)"))
    if "measured" in states:
        parts.append(pv.make(measured="energy per inference: power sensor (this machine)"))
    if "predicted" in states:
        parts.append(pv.make(predicted="energy and time per inference: " + ROOFLINE))
    return pv.merge(*parts)


def focus(table: pl.DataFrame, model: str | None, variant: str | None) -> pl.DataFrame:
    """The rows of one model variant (default: the first model and variant of the table, sorted).

    Raises
    ------
    UnknownNameError
        ``model`` or ``variant`` not in the table.
    """
    models = sorted(table["model"].unique().to_list())
    if not models:
        raise ParameterError("no footprint rows to focus on. Fix: profile at least one model (see `models`).")
    model = model or models[0]
    if model not in models:
        raise UnknownNameError("model", model, models, "the models of the footprint table")
    variants = sorted(table.filter(pl.col("model") == model)["variant"].unique().to_list())
    variant = variant or variants[0]
    if variant not in variants:
        raise UnknownNameError("variant", variant, variants, f"the variants of {model}")
    return table.filter((pl.col("model") == model) & (pl.col("variant") == variant))


def component_long(table: pl.DataFrame) -> pl.DataFrame:
    """Long table of each row's three components and their share of its total [1] (``device`` × ``country``)."""
    comps = ["operational_kgco2e", "embodied_kgco2e", "network_kgco2e"]
    keys = ["model", "variant", "device", "device_class", "country", "energy_provenance"]
    long = table.select(*keys, *comps).unpivot(index=keys, on=comps, variable_name="component", value_name="kgco2e")
    long = long.with_columns(pl.col("component").str.replace("_kgco2e", ""))
    total = pl.col("kgco2e").sum().over("model", "variant", "device", "country")
    return long.with_columns((pl.col("kgco2e") / total).fill_nan(0.0).alias("share")).sort(
        "device_class", "device", "country", "component")


def tornado_summary(tornado: pl.DataFrame) -> pl.DataFrame:
    """Per factor: how often it has the largest swing among the rows × countries, and its median relative swing.

    Returns
    -------
    polars.DataFrame
        ``factor``, ``largest_in`` (cells where it swings most), ``cells``, ``median_relative_swing`` [1]
        (swing / central total, over the cells where the factor moves the total at all: PUE and network energy
        only in data centres), ``median_relative_swing_where_largest`` [1] (over the cells where it swings
        most; null where it never does), sorted by ``largest_in`` then swing, descending.
    """
    keys = ["model", "variant", "device", "country"]
    t = tornado.with_columns((pl.col("swing_kgco2e") / pl.col("total_kgco2e")).alias("relative_swing"))
    top = t.sort("swing_kgco2e", descending=True).group_by(keys, maintain_order=True).first()
    counts = top.group_by("factor").len("largest_in")
    cells = top.height
    where_largest = top.group_by("factor").agg(
        pl.col("relative_swing").median().alias("median_relative_swing_where_largest"))
    out = (t.filter(pl.col("swing_kgco2e") > 0).group_by("factor")
           .agg(pl.col("relative_swing").median().alias("median_relative_swing"))
           .join(t.select("factor").unique(), on="factor", how="right")
           .join(counts, on="factor", how="left").join(where_largest, on="factor", how="left")
           .with_columns(pl.col("largest_in").fill_null(0), pl.col("median_relative_swing").fill_null(0.0),
                         pl.lit(cells).alias("cells")))
    return out.select("factor", "largest_in", "cells", "median_relative_swing",
                      "median_relative_swing_where_largest").sort(
        ["largest_in", "median_relative_swing", "factor"], descending=[True, True, False])


def findings(table: pl.DataFrame, tornado: pl.DataFrame) -> list[str]:
    """Three to five computed sentences for the top of notebook 04.

    Parameters
    ----------
    table : polars.DataFrame
        :func:`workbench.lca.per_request.per_request_footprints` of the inputs.
    tornado : polars.DataFrame
        :func:`workbench.lca.tornado.sensitivity` of the same inputs.
    """
    out = []
    if table.height == 0:
        return ["No footprint could be computed: the store holds no profiled rows with energy."]
    req = f"{table['requests'][0]:,.0f}"
    t = table.sort("total_kgco2e")
    lo, hi = t.row(0, named=True), t.row(-1, named=True)

    def who(r):
        return f"{r['model']} {r['variant']} on {catalog.display_name(r['device'])} ({r['device_class']}, {r['country']})"

    def band(r):
        if r.get("total_kgco2e_p5") is None:
            return ""
        return f", 90 % band {num(r['total_kgco2e_p5'] * 1e3, '.3g')}–{num(r['total_kgco2e_p95'] * 1e3, '.3g')} g"

    out.append(f"{req} requests cost from {num(lo['total_kgco2e'] * 1e3, '.3g')} g CO2-eq ({who(lo)}{band(lo)}) to "
               f"{num(hi['total_kgco2e'] * 1e3, '.3g')} g ({who(hi)}{band(hi)}).")
    countries = sorted(table["country"].unique().to_list())
    if len(countries) >= 2:
        w = table.pivot(on="country", index=["model", "variant", "device"], values="total_kgco2e")
        ratio = (w[countries[-1]] / w[countries[0]]).drop_nulls().drop_nans()
        if ratio.len():
            out.append(f"The same model on the same device costs {num(ratio.min(), '.3g')}× to "
                       f"{num(ratio.max(), '.3g')}× as much in {countries[-1]} as in {countries[0]} (grid intensity "
                       f"{num(table.filter(pl.col('country') == countries[-1])['carbon_intensity_g_per_kwh'][0], '.0f')}"
                       f" vs {num(table.filter(pl.col('country') == countries[0])['carbon_intensity_g_per_kwh'][0], '.0f')}"
                       " g/kWh).")
    by_class = (table.group_by("device_class").agg(pl.col("embodied_share").median().alias("m"))
                .sort("m", "device_class"))
    if by_class.height:
        a, b = by_class.row(0, named=True), by_class.row(-1, named=True)
        out.append(f"The embodied share of the total is smallest on {a['device_class']} (median {percent(a['m'])}) "
                   f"and largest on {b['device_class']} (median {percent(b['m'])}).")
    dc = table.filter(pl.col("network_kgco2e") > 0)
    if dc.height:
        share = (dc["network_kgco2e"] / dc["total_kgco2e"]).median()
        out.append(f"For data-centre devices the network transfer of each request is a median {percent(share)} of "
                   "the total.")
    if tornado.height:
        top = [r for r in tornado_summary(tornado).iter_rows(named=True) if r["largest_in"]][:2]
        said = [f"{r['factor']} swings the total most in {r['largest_in']} of {r['cells']} cases (median swing "
                f"{percent(r['median_relative_swing_where_largest'])} of the central value there)" for r in top]
        out.append("Moved one at a time across its stated range, " + "; ".join(said) + ".")
    return out[:5]


def inputs(runs: pl.DataFrame, devices: list[str]) -> pl.DataFrame:
    """This machine's rows (:func:`own_inputs`) then the projections onto ``devices`` (:func:`projected_inputs`)."""
    return pl.concat([own_inputs(runs, devices), projected_inputs(runs, devices)])


def with_device_labels(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``device_label``: the one short name each device has on every page
    (:func:`workbench.catalog.devices.display_name`: ``a100-sxm4-40gb`` is ``A100``)."""
    return device_labels(frame.with_columns(pl.col("device").alias("device_label")), "device_label")


def device_order(frame: pl.DataFrame) -> list[str]:
    """The ``device_label`` values of ``frame`` along the continuum: by device class in the order of
    :data:`workbench.schema.DEVICE_CLASSES` (microcontroller first, cloud GPU last), then by label."""
    rank = {c: i for i, c in enumerate(DEVICE_CLASSES)}
    pairs = {(rank.get(r["device_class"], len(rank)), r["device_label"]) for r in
             frame.select("device_class", "device_label").iter_rows(named=True)}
    return list(dict.fromkeys(label for _, label in sorted(pairs)))


def tornado_changes(tornado: pl.DataFrame, country: str | None = None) -> pl.DataFrame:
    """The tornado rows (of ``country`` if given) with the change of the total at each end relative to the
    central total (``change_at_low_pct``, ``change_at_high_pct`` [%]), for :func:`workbench.reports.breakdown_charts.tornado_chart`."""
    if country is not None:
        tornado = tornado.filter(pl.col("country") == country)
    return tornado.with_columns(
        ((pl.col("total_at_low_kgco2e") / pl.col("total_kgco2e") - 1.0) * 100.0).alias("change_at_low_pct"),
        ((pl.col("total_at_high_kgco2e") / pl.col("total_kgco2e") - 1.0) * 100.0).alias("change_at_high_pct"))
