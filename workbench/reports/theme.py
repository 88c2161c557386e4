"""One figure theme for every report notebook: print-sized text, a colour-blind-safe palette, readable units, device names.

A figure of a two-column paper is printed :data:`COLUMN_WIDTH_IN` wide (3.5 in = 252 pt). An SVG
``W`` px wide then prints a font of ``f`` px at ``f · 252 / W`` pt, so every text of the figure must
be at least ``W · MIN_FONT_PT / 252`` px: :func:`font_px_for_width` computes it and
:func:`workbench.reports.figures.export_chart` re-renders a figure with larger text until its
narrowest font prints at :data:`MIN_FONT_PT` or more.

Colours are Okabe and Ito's eight (colour-blind safe; Okabe & Ito 2008, "Color Universal Design");
a series beyond the eighth reuses the colours with the next shape (:func:`series_encoding`).
:func:`readable_unit` rescales a column to a readable SI prefix (MB, not 1,000,000 B);
:func:`device_label` gives one short name per device across datasets (the catalog's
:func:`workbench.catalog.devices.display_name`).
"""

from __future__ import annotations

import math

import polars as pl

COLUMN_WIDTH_IN = 3.5
"""Width of one column of a two-column paper [in]."""

MIN_FONT_PT = 8.0
"""Smallest text size once a figure is printed :data:`COLUMN_WIDTH_IN` wide [pt]."""

BASE_FONT_PX = 12.0
"""Text size a figure starts from before it is scaled to print at :data:`MIN_FONT_PT` [px]."""

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#F0E442")
"""Okabe–Ito colours (blue, orange, bluish green, vermillion, sky blue, reddish purple, black, yellow)."""

SHAPES = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "triangle-left", "triangle-right")
"""Point shapes, one per group of :data:`PALETTE`-many series."""

PANEL_WIDTH_PX, PANEL_HEIGHT_PX = 240, 170
"""Size of one chart panel [px]."""

_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))


def font_px_for_width(width_px: float, min_font_pt: float = MIN_FONT_PT,
                      column_width_in: float = COLUMN_WIDTH_IN) -> float:
    """Smallest font [px] that prints at ``min_font_pt`` [pt] when a figure ``width_px`` [px] wide is
    printed ``column_width_in`` [in] wide (72 pt per inch).

    Examples
    --------
    >>> font_px_for_width(504)
    16.0
    """
    return width_px * min_font_pt / (column_width_in * 72.0)


def printed_font_pt(font_px: float, width_px: float, column_width_in: float = COLUMN_WIDTH_IN) -> float:
    """Size [pt] at which a font of ``font_px`` [px] prints when its figure, ``width_px`` [px] wide, is
    printed ``column_width_in`` [in] wide."""
    return font_px * column_width_in * 72.0 / width_px


def config(font_px: float = BASE_FONT_PX) -> dict:
    """Vega-Lite ``config`` of the report theme with every text at least ``font_px`` [px]."""
    f = round(float(font_px), 2)
    big = round(f * 1.15, 2)
    return {
        "font": "sans-serif",
        "view": {"continuousWidth": PANEL_WIDTH_PX, "continuousHeight": PANEL_HEIGHT_PX, "stroke": "#ddd"},
        "range": {"category": list(PALETTE)},
        "axis": {"labelFontSize": f, "titleFontSize": f, "labelLimit": 400, "titleFontWeight": "normal",
                 "gridColor": "#eee"},
        "legend": {"labelFontSize": f, "titleFontSize": f, "orient": "bottom", "direction": "vertical",
                   "columns": 1, "layout": {"bottom": {"anchor": "start", "direction": "vertical"}}, "labelLimit": 2000, "symbolSize": 60, "titleFontWeight": "normal"},
        "header": {"labelFontSize": f, "titleFontSize": f},
        "title": {"fontSize": big, "subtitleFontSize": f, "anchor": "start", "subtitleColor": "#333",
                  "fontWeight": "bold"},
        "text": {"fontSize": f},
        "mark": {"fontSize": f},
        "point": {"size": 60},
        "concat": {"spacing": 18},
    }


def series_encoding(field: str, values, *, title: str | None = None, shape: bool = True) -> dict:
    """Colour (and, for more than :data:`PALETTE`-many values, shape) encodings of a series field.

    Series ``i`` gets colour ``PALETTE[i % 8]`` and shape ``SHAPES[i // 8]``, so that up to 64 series
    stay distinct and one legend lists them.

    Returns
    -------
    dict
        ``{"color": alt.Color, "shape": alt.Shape}`` (``shape`` only when needed and ``shape=True``).
    """
    import altair as alt

    vals = sorted({v for v in values if v is not None}, key=str)
    n = len(PALETTE)
    enc = {"color": alt.Color(f"{field}:N", title=title if title is not None else field,
                              scale=alt.Scale(domain=vals, range=[PALETTE[i % n] for i in range(len(vals))]))}
    if shape and len(vals) > n:
        enc["shape"] = alt.Shape(f"{field}:N", title=title if title is not None else field,
                                 scale=alt.Scale(domain=vals, range=[SHAPES[(i // n) % len(SHAPES)]
                                                                     for i in range(len(vals))]))
    return enc


def readable_unit(frame: pl.DataFrame, columns: list[str], unit: str) -> tuple[pl.DataFrame, str]:
    """Rescale ``columns`` (all in ``unit``) by one SI prefix chosen so that their median is in [1, 1000).

    Returns
    -------
    (polars.DataFrame, str)
        The frame with the columns rescaled, and the prefixed unit (``"MB"``, ``"mJ"``, ``"GFLOPs"``).

    Examples
    --------
    >>> df, u = readable_unit(pl.DataFrame({"b": [2.0e6, 4.0e6]}), ["b"], "B")
    >>> u, df["b"].to_list()
    ('MB', [2.0, 4.0])
    """
    vals = [abs(v) for c in columns if c in frame.columns for v in frame[c].drop_nulls().to_list()
            if v is not None and isinstance(v, (int, float)) and math.isfinite(v) and v != 0]
    if not vals:
        return frame, unit
    med = sorted(vals)[len(vals) // 2]
    factor, prefix = next(((f, p) for f, p in _PREFIXES if med >= f), _PREFIXES[-1])
    if factor == 1.0:
        return frame, unit
    present = [c for c in columns if c in frame.columns]
    return frame.with_columns([(pl.col(c).cast(pl.Float64) / factor).alias(c) for c in present]), f"{prefix}{unit}"


def device_label(name: str | None) -> str | None:
    """One short name per device across datasets and pages: :func:`workbench.catalog.devices.display_name`
    (``"NVIDIA A100-SXM4-80GB"``, ``"a100-sxm4-40gb"`` and ``"A100"`` are all ``"A100"``).

    Examples
    --------
    >>> device_label("NVIDIA A100-SXM4-80GB"), device_label("A100"), device_label("NVIDIA H100 80GB HBM3")
    ('A100', 'A100', 'H100')
    """
    from workbench.catalog.devices import display_name

    return display_name(name)


def device_labels(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """``frame`` with each of ``columns`` (those present; device names, or ``", "``-separated lists of
    them) replaced by :func:`device_label` of each value (each distinct value looked up once)."""
    out = frame
    for column in [c for c in columns if c in frame.columns]:
        values = [v for v in frame[column].unique().to_list() if v is not None]
        mapping = {v: ", ".join(device_label(x) for x in str(v).split(", ")) for v in values}
        out = out.with_columns(pl.col(column).cast(pl.String).replace(mapping))
    return out
