"""Charts of notebook 03 (workbench.reports.charts): panels, shared log domains and clipped interval bounds."""

from __future__ import annotations

import math

import polars as pl
import pytest

from workbench.reports import charts


def test_predicted_vs_measured_chart_panels_and_clipped_bounds():
    t = pl.DataFrame({"kind": ["b", "b", "a"], "fam": ["x", "y", "x"], "m": [1.0, 10.0, 2.0],
                      "p": [2.0, 5.0, 1.0], "lo": [0.0, 4.0, 0.5], "hi": [math.inf, 6.0, 2.0]})
    spec = charts.predicted_vs_measured_chart(t, measured="m", predicted="p", low="lo", high="hi", color="fam",
                                              column="kind", column_order=["b"], title="t",
                                              quantity="latency [ms]").to_dict()
    panels = spec["vconcat"]  # stacked: one paper column wide
    assert [p["title"] for p in panels] == ["b", "a"]  # the given order first, then the rest sorted
    # one shared log domain: the measured/predicted range widened by 20 %
    scale = panels[0]["layer"][-1]["encoding"]["y"]["scale"]
    assert scale["type"] == "log" and scale["domain"] == pytest.approx([1.0 / 1.2, 10.0 * 1.2], rel=1e-12)
    # open-ended bounds (0, inf) are drawn clipped to the domain instead of breaking the log axis
    rows = spec["datasets"]
    bars = [r for v in rows.values() for r in v if "bar_low" in r]
    assert min(r["bar_low"] for r in bars) == pytest.approx(1 / 1.2) and max(r["bar_high"] for r in bars) == 12.0
    # while the tooltips say the bounds as they are (an infinite bound: none)
    assert sorted(r["lo"] for r in bars) == [0.0, 0.5, 4.0] and sorted(r["hi"] is None for r in bars) == [0, 0, 1]
    tips = panels[0]["layer"][-1]["encoding"]["tooltip"]
    assert {t["field"] for t in tips} >= {"m", "p", "lo", "hi", "fam", "kind"}
    assert all(t.get("format") == ".4~g" for t in tips if t["field"] in ("m", "p", "lo", "hi"))


def test_tradeoff_chart_tooltips_name_each_point():
    t = pl.DataFrame({"latency_ms": [1.0, 2.0], "carbon_g": [2.0, 1.0], "technology": ["4g", "5g"],
                      "assignment": ["0 on phone", "0–8 on edge"], "unused": [1, 2]})
    spec = charts.tradeoff_chart(t, x="latency_ms", y="carbon_g", color="technology", title="t", x_title="latency [ms]",
                                 y_title="carbon [g]", details=["assignment", "missing"]).to_dict()
    tips = spec["layer"][-1]["encoding"].get("tooltip") or spec["encoding"]["tooltip"]
    assert [t["field"] for t in tips] == ["assignment", "latency_ms", "carbon_g", "technology"]
    assert "unused" not in str(spec["datasets"])  # only what the figure or its tooltips need travels with it


def test_series_chart_has_lines_points_and_bars():
    t = pl.DataFrame({"dev": ["a", "a", "b"], "k": [10, 100, 10], "w": [0.5, 0.9, 0.3],
                      "lo": [0.4, 0.8, 0.2], "hi": [0.6, 1.0, 0.4]})
    spec = charts.series_chart(t, x="k", y="w", color="dev", low="lo", high="hi", title="t", x_title="k",
                               y_title="share", y_domain=(0, 1)).to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["rule", "line", "point"]
    assert spec["layer"][1]["encoding"]["y"]["scale"]["domain"] == [0, 1]


def test_grouped_bars_coloured_by_their_own_category_fill_the_band_in_the_given_order():
    t = pl.DataFrame({"policy": ["static", "oracle", "mpc"], "j": [3.0, 1.0, 2.0]})
    spec = charts.grouped_bar_chart(t, x="policy", y="j", color="policy", title="t", y_title="J",
                                    x_sort=["static", "mpc", "oracle"]).to_dict()
    assert "xOffset" not in spec["encoding"]  # one full-width bar per policy, not a sliver offset within it
    assert spec["encoding"]["x"]["sort"] == ["static", "mpc", "oracle"]
    by_dtype = charts.grouped_bar_chart(t.with_columns(pl.lit("fp32").alias("dtype")), x="policy", y="j",
                                        color="dtype", title="t", y_title="J").to_dict()
    assert by_dtype["encoding"]["xOffset"]["field"] == "dtype"


def test_series_without_points_is_one_line_layer():
    t = pl.DataFrame({"part": ["a"] * 3, "h": [0.0, 1.0, 2.0], "v": [1.0, 2.0, 3.0]})
    with_points = charts.series_chart(t, x="h", y="v", color="part", title="t", x_title="h", y_title="v",
                                      log_x=False).to_dict()
    line_only = charts.series_chart(t, x="h", y="v", color="part", title="t", x_title="h", y_title="v",
                                    log_x=False, points=False).to_dict()
    assert [layer["mark"]["type"] for layer in with_points["layer"]] == ["line", "point"]
    assert [layer["mark"]["type"] for layer in line_only["layer"]] == ["line"]
