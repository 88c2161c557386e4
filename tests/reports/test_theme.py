"""The figure theme: print sizes, palette and shapes, readable units, device names, fonts of exported SVGs."""

from __future__ import annotations

import altair as alt
import polars as pl
import pytest

from workbench.reports import theme
from workbench.reports.figures import chart_svg, min_printed_font_pt, svg_width_px


def test_font_for_width_is_the_inverse_of_printed_size():
    assert theme.font_px_for_width(252) == pytest.approx(8.0)  # 252 px printed at 252 pt: 1 px = 1 pt
    assert theme.printed_font_pt(16, 504) == pytest.approx(8.0)


def test_palette_is_eight_colours_and_shapes_extend_it():
    assert len(theme.PALETTE) == 8 == len(set(theme.PALETTE))
    enc = theme.series_encoding("s", [f"v{i:02d}" for i in range(13)])
    colours, shapes = enc["color"].to_dict()["scale"]["range"], enc["shape"].to_dict()["scale"]["range"]
    assert len(set(zip(colours, shapes, strict=True))) == 13  # every series distinct
    assert "shape" not in theme.series_encoding("s", ["a", "b"])


def test_readable_unit_picks_a_prefix():
    df, unit = theme.readable_unit(pl.DataFrame({"e": [0.002, 0.004]}), ["e"], "J")
    assert unit == "mJ" and df["e"].to_list() == pytest.approx([2.0, 4.0])  # exact decimal scaling, rel 1e-12
    assert theme.readable_unit(pl.DataFrame({"e": [5.0]}), ["e"], "J")[1] == "J"


@pytest.mark.parametrize("name,label", [("NVIDIA A100-SXM4-40GB", "A100"), ("A100", "A100"),
                                        ("NVIDIA GeForce RTX 4090", "RTX 4090"), ("NVIDIA H100 80GB HBM3", "H100"),
                                        ("Raspberry Pi 4", "Raspberry Pi 4B"),  # a catalog alias: its first alias
                                        ("a100-sxm4-40gb", "A100"), ("pixel-4", "Pixel4"), ("my laptop", "my laptop")])
def test_one_name_per_device(name, label):
    assert theme.device_label(name) == label


def test_exported_svg_text_prints_at_8pt_even_for_a_wide_chart():
    df = pl.DataFrame({"x": [f"a rather long category name {i}" for i in range(12)], "y": list(range(12)),
                       "c": [f"series {i}" for i in range(12)]}).to_pandas()
    chart = alt.Chart(df, title="wide").mark_point().encode(x="x:N", y="y:Q", color="c:N").properties(width=900)
    svg = chart_svg(chart, "t")
    assert svg_width_px(svg) > 900 and min_printed_font_pt(svg) >= 8.0
