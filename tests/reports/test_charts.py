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
    # open-ended bounds (0, inf) are clipped to the domain instead of breaking the log axis
    rows = spec["datasets"]
    bars = [r for v in rows.values() for r in v if "lo" in r]
    assert min(r["lo"] for r in bars) == pytest.approx(1 / 1.2) and max(r["hi"] for r in bars) == pytest.approx(12.0)


def test_series_chart_has_lines_points_and_bars():
    t = pl.DataFrame({"dev": ["a", "a", "b"], "k": [10, 100, 10], "w": [0.5, 0.9, 0.3],
                      "lo": [0.4, 0.8, 0.2], "hi": [0.6, 1.0, 0.4]})
    spec = charts.series_chart(t, x="k", y="w", color="dev", low="lo", high="hi", title="t", x_title="k",
                               y_title="share", y_domain=(0, 1)).to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["rule", "line", "point"]
    assert spec["layer"][1]["encoding"]["y"]["scale"]["domain"] == [0, 1]
