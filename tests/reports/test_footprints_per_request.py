"""Notebook 04's view (workbench.reports.footprint_view) and the tornado chart: inputs from store rows and roofline
projections, provenance, findings."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.reports._schema_rows import own_row, rows
from workbench.catalog import devices as catalog
from workbench.errors import ParameterError, UnknownNameError
from workbench.lca.per_request import per_request_footprints
from workbench.lca.sweep import UnitImpacts
from workbench.lca.tornado import sensitivity
from workbench.reports import breakdown_charts
from workbench.reports import footprint_view as fv
from workbench.reports import provenance as pv
from workbench.reports.sections import percent
from workbench.schema import DEVICE_CLASSES

PI, A100, XEON = "raspberry-pi-4b", "a100-sxm4-40gb", "xeon-platinum-8592plus"


def _runs() -> pl.DataFrame:
    r = [own_row("net", 2.0, 0.5), own_row("net", 1.0, 0.2, dtype="int8"), own_row("other", 3.0, None)]
    r[0].update(flops=2e9, weight_bytes=1_000_000, activation_bytes=0)
    r[1].update(flops=2e9, weight_bytes=250_000, activation_bytes=0)
    return rows(r)


def test_own_inputs_from_store_rows():
    got = fv.own_inputs(_runs(), [PI, XEON])
    assert got.columns == list(fv.INPUT_COLUMNS)
    # the row without energy is left out; time per inference is the median latency / batch size [s]
    assert got.select("model", "variant", "energy_j", "latency_s").rows() == [("net", "fp32", 0.5, 0.002),
                                                                            ("net", "int8", 0.2, 0.001)]
    # a TDP estimate is estimated, never measured; this server CPU borrows the catalog server CPU's embodied figure
    assert set(got["energy_provenance"]) == {"estimated"}
    assert set(got["catalog_device"]) == {XEON} and set(got["device_class"]) == {"server-cpu"}
    assert all("TDP" in s and f"embodied footprint and lifetime of {XEON}" in s for s in got["energy_source"])
    # without a server CPU among the page's devices, the catalog's first server CPU stands in
    assert set(fv.own_inputs(_runs(), [PI])["catalog_device"]) == {XEON}


def test_projected_inputs_are_roofline_bounds():
    got = fv.projected_inputs(_runs(), [PI, A100])
    assert set(got["energy_provenance"]) == {"predicted"}
    pi = got.filter((pl.col("device") == PI) & (pl.col("variant") == "fp32")).row(0, named=True)
    dev = catalog.get_device(PI)
    # 2e9 FLOPs at the Pi's 48 GFLOP/s fp32 peak: compute-bound (1 MB / 12.8 GB/s is 78 us)
    t = max(2e9 / dev.peak_flops_per_s["fp32"], 1e6 / dev.memory_bandwidth_bytes_per_s)
    assert pi["latency_s"] == pytest.approx(2e9 / 48e9, rel=1e-12) == pytest.approx(t, rel=1e-12)
    assert pi["energy_j"] == pytest.approx(t * dev.max_power_w, rel=1e-12)
    # the Pi has no int8 peak in the catalog: projected at its fp32 peak, and the source says so
    pi8 = got.filter((pl.col("device") == PI) & (pl.col("variant") == "int8")).row(0, named=True)
    assert "no catalog peak for int8" in pi8["energy_source"]
    a8 = got.filter((pl.col("device") == A100) & (pl.col("variant") == "int8")).row(0, named=True)
    assert a8["latency_s"] == pytest.approx(2e9 / catalog.get_device(A100).peak_flops_per_s["int8"], rel=1e-12)
    assert fv.roofline_time_s(2e9, 1e6, 1e12, 1e11) == pytest.approx(2e-3, rel=1e-12)
    with pytest.raises(UnknownNameError, match="raspbery"):
        fv.projected_inputs(_runs(), ["raspbery-pi-4b"])


def test_provenance_names_each_state():
    inputs = pl.concat([fv.own_inputs(_runs(), [PI, XEON]), fv.projected_inputs(_runs(), [PI])])
    p = fv.provenance_of(inputs)
    assert sorted(p) == ["estimated", "imported", "predicted"]
    assert pv.shows_tdp_estimate(p)  # so the figure subtitles carry the TDP caveat
    assert sorted(fv.provenance_of(fv.projected_inputs(_runs(), [PI]))) == ["estimated", "imported", "predicted"]
    assert "measured" not in p


def _tables():
    inputs = fv.inputs(_runs(), [PI, XEON, A100])
    assert inputs.height == 2 + 2 * 3  # this machine's two variants, then both projected onto three devices
    unit = UnitImpacts(("FRA", "POL"), np.array([0.05, 0.7]), (A100, PI, XEON), np.array([25.0, 3.0, 27.0]),
                       ("test",))
    table = per_request_footprints(inputs, ["FRA", "POL"], unit=unit, monte_carlo=50, seed=0)
    return inputs, table, sensitivity(inputs, ["FRA", "POL"], unit=unit)


def test_findings_are_computed_sentences():
    _, table, tornado = _tables()
    out = fv.findings(table, tornado)
    assert 3 <= len(out) <= 5
    assert out[0].startswith("1,000 requests cost from ")
    # the grid ratio between the two countries is 0.7 / 0.05 = 14 at most (embodied does not scale with it)
    assert any("as much in POL as in FRA" in s and "14×" in s and "700 vs 50 g/kWh" in s for s in out), out
    assert any("network transfer" in s for s in out)
    s = fv.tornado_summary(tornado)
    assert s["largest_in"].sum() == s["cells"][0] == table.height
    assert any(f"{s['factor'][0]} swings the total most in {s['largest_in'][0]} of {s['cells'][0]}" in x for x in out)
    # medians are taken where a factor applies (PUE and network energy move data-centre totals only), and the
    # sentence's "there" is the median over the cases where the factor swings most
    net = s.filter(pl.col("factor") == "network energy").row(0, named=True)
    dc = tornado.filter((pl.col("factor") == "network energy") & (pl.col("swing_kgco2e") > 0))
    assert dc.height == 3 * 2 * 2  # two variants on the A100, the Xeon and this (server-CPU) machine; two countries
    assert net["median_relative_swing"] == pytest.approx((dc["swing_kgco2e"] / dc["total_kgco2e"]).median(), rel=1e-12)
    lead = s.row(0, named=True)
    assert f"(median swing {percent(lead['median_relative_swing_where_largest'])} of the central value there)" in out[-1]
    assert fv.findings(table.head(0), tornado.head(0)) == [
        "No footprint could be computed: the store holds no profiled rows with energy."]


def test_focus_components_and_tornado_chart():
    _, table, tornado = _tables()
    f = fv.focus(table, None, "fp32")
    assert set(f["model"]) == {"net"} and set(f["variant"]) == {"fp32"}
    with pytest.raises(UnknownNameError, match="nope"):
        fv.focus(table, "nope", None)
    with pytest.raises(ParameterError, match="no footprint rows"):
        fv.focus(table.head(0), None, None)
    shares = fv.component_long(f)
    summed = shares.group_by("device", "country").agg(pl.col("share").sum())["share"].to_numpy()
    np.testing.assert_allclose(summed, 1.0, rtol=1e-12)  # the three components make the whole
    changes = fv.tornado_changes(fv.focus(tornado, None, "fp32"), "FRA")
    assert set(changes["country"]) == {"FRA"}
    e = changes.filter((pl.col("factor") == "energy per inference") & (pl.col("device") == PI)).row(0, named=True)
    assert e["change_at_low_pct"] < 0 < e["change_at_high_pct"]
    spec = breakdown_charts.tornado_chart(changes, factor="factor", low="change_at_low_pct", high="change_at_high_pct", row="device",
                                title="t", x_title="change of the total [%]").to_dict()
    assert spec["facet"]["row"]["field"] == "device"
    data = [r for d in spec["datasets"].values() for r in d]
    assert {r["end"] for r in data} == {"factor at its low value", "factor at its high value"}
    assert {r["energy_provenance"] for r in data} == {"estimated", "predicted"}  # provenance travels with rows
    single = breakdown_charts.tornado_chart(changes.filter(pl.col("device") == PI), factor="factor", low="change_at_low_pct",
                                  high="change_at_high_pct", title="t", x_title="%").to_dict()
    assert "facet" not in single


def test_devices_are_shown_by_their_one_name_along_the_continuum():
    _, table, _ = _tables()
    labelled = fv.with_device_labels(table)
    assert set(labelled.filter(pl.col("device") == A100)["device_label"]) == {"A100"}
    # microcontroller → edge → server CPU → cloud GPU; this machine's rows (server-cpu) beside the Xeon
    order = fv.device_order(labelled)
    classes = [labelled.filter(pl.col("device_label") == d)["device_class"][0] for d in order]
    rank = list(DEVICE_CLASSES)
    assert [rank.index(c) for c in classes] == sorted(rank.index(c) for c in classes)
    assert order[-1] == "A100" and order[0] == "Raspberry Pi 4B"
