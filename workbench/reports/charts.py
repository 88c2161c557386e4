"""Altair chart builders shared by the report notebooks.

Charts carry no timestamps and take their data sorted, so the same table gives the same SVG.
Units are in axis titles, rescaled to a readable SI prefix where the title ends in ``[B]``, ``[J]``,
``[W]`` or ``[FLOPs]`` (:func:`workbench.reports.theme.readable_unit`). Series are coloured from the
theme's eight colour-blind-safe colours, with shapes beyond the eighth series
(:func:`workbench.reports.theme.series_encoding`). Columns ``provenance`` / ``*_provenance`` travel
with the rows into every chart, so that a figure's provenance is read from the rows behind it.
The report theme (fonts, palette, sizes) is applied at export (:mod:`workbench.reports.figures`).
"""

from __future__ import annotations

import math
import re

import pandas as pd
import polars as pl

from workbench.reports import theme
from workbench.reports.provenance import is_state_column

# altair takes about 2 s to import: each builder imports it, so that importing this module stays cheap

WIDTH, HEIGHT = theme.PANEL_WIDTH_PX, theme.PANEL_HEIGHT_PX

_UNIT = re.compile(r"\[(B|J|W|FLOPs)\]\s*$")


def _with_prov(table: pl.DataFrame, cols: list[str]) -> list[str]:
    """``cols`` and the table's provenance columns."""
    return list(dict.fromkeys(list(cols) + [c for c in table.columns if is_state_column(c)]))


def _pd(table: pl.DataFrame, cols: list[str]):
    return table.select(_with_prov(table, cols)).to_pandas()


def scaled(table: pl.DataFrame, cols: list[str | None], title: str) -> tuple[pl.DataFrame, str]:
    """``cols`` of ``table`` in a readable SI prefix of the unit that ends ``title`` (``[B]`` → ``[MB]``),
    the title updated; other titles leave the table as it is."""
    m = _UNIT.search(title or "")
    if not m:
        return table, title
    present = [c for c in cols if c and c in table.columns]
    out, unit = theme.readable_unit(table, present, m.group(1))
    return out, title[:m.start()] + f"[{unit}]"


def _width(values) -> int:
    """Width of a panel with a category axis [px]: wider for many categories, so that labels keep their room."""
    return max(WIDTH, 26 * len(set(values)))


def _x_axis(values):
    """A category axis whose labels run vertically when any is long (so they never widen the figure)."""
    import altair as alt

    return alt.Axis(labelAngle=-90 if max((len(str(v)) for v in values), default=0) > 10 else -30)


def _series(field: str, values, title: str | None = None, *, shape: bool = True, sort=None) -> dict:
    """Colour (and shape beyond eight series) encodings of ``field`` (see :func:`theme.series_encoding`)."""
    return theme.series_encoding(field, values if sort is None else sort, title=title, shape=shape)


def _tooltip(table: pl.DataFrame, cols: list[str]) -> list:
    """Tooltip fields ``cols`` (those of ``table``), numbers to four significant digits: what an interactive
    view (``NotebookOutput.figure(..., interactive=True)``) shows on hover; the static figure is unchanged."""
    import altair as alt

    out = []
    for c in dict.fromkeys(cols):
        if c not in table.columns:
            continue
        dt = table.schema[c]
        out.append(alt.Tooltip(f"{c}:Q", format=".4~g") if dt.is_float() else
                   alt.Tooltip(f"{c}:Q") if dt.is_numeric() else alt.Tooltip(f"{c}:N"))
    return out


def latency_vs_flops_chart(table: pl.DataFrame, *, title: str = "Measured latency vs FLOPs"):
    """Log–log scatter of median latency [ms] against FLOPs per inference, coloured by family,
    shaped by dtype, with a bar from the median to the 95th percentile of the timed repeats."""
    import altair as alt

    t, x_title = scaled(table, ["flops"], "forward FLOPs per inference [FLOPs]")
    data = _pd(t, ["model", "model_family", "flops", "latency_ms_p50", "latency_ms_p95", "energy_j", "dtype"])
    base = alt.Chart(data).encode(
        x=alt.X("flops:Q", scale=alt.Scale(type="log"), title=x_title),
        color=_series("model_family", t["model_family"].to_list(), "family", shape=False)["color"])
    bars = base.mark_rule(strokeWidth=2, opacity=0.6).encode(
        y=alt.Y("latency_ms_p50:Q", scale=alt.Scale(type="log")), y2="latency_ms_p95:Q")
    dots = base.mark_point(filled=True, size=70).encode(
        y=alt.Y("latency_ms_p50:Q", scale=alt.Scale(type="log"), title="median latency [ms]"),
        shape=alt.Shape("dtype:N"), tooltip=["model", "flops", "latency_ms_p50", "latency_ms_p95", "energy_j", "dtype"])
    return (bars + dots).properties(width=WIDTH, height=HEIGHT, title=title)


def grouped_bar_chart(table: pl.DataFrame, *, x: str, y: str, color: str, title: str, y_title: str,
                      log: bool = False, column: str | None = None, x_sort: list | None = None):
    """Bars of ``y`` per ``x``, one bar per ``color`` value side by side (optionally one panel per
    ``column`` value). With ``log=True`` the bars become dots (a bar has no base on a log axis).
    ``color == x``: one full-width bar per ``x`` value, coloured by it. ``x_sort``: the ``x`` values left to
    right (default: sorted)."""
    import altair as alt

    cols = list(dict.fromkeys([x, y, color] + ([column] if column else [])))
    table, y_title = scaled(table, [y], y_title)
    data = _pd(table.filter(pl.col(y).is_not_null()), cols)
    enc = {
        "x": alt.X(f"{x}:N", title=None, sort=x_sort or sorted(table[x].unique().to_list()),
                   axis=_x_axis(table[x].unique())),
        **({} if color == x else {"xOffset": alt.XOffset(f"{color}:N")}),
        "y": alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(type="log") if log else alt.Undefined),
        **_series(color, table[color].to_list(), color, shape=log),
        "tooltip": cols,
    }
    mark = alt.Chart(data).mark_point(filled=True, size=90, opacity=1) if log else alt.Chart(data).mark_bar()
    chart = mark.encode(**enc).properties(width=_width(table[x].to_list()), height=HEIGHT)
    if column:
        chart = chart.facet(row=alt.Row(f"{column}:N", title=None))
    return chart.properties(title=title)


def side_by_side(charts: list, *, title: str | None = None):
    """Charts one above the other (one per scenario or metric: a figure one paper column wide), sharing
    colour scales."""
    import altair as alt

    c = alt.vconcat(*charts).resolve_scale(color="shared")
    return c.properties(title=title) if title else c


def share_chart(shares: pl.DataFrame, *, row: str, color: str, share_cols: dict[str, str], title: str):
    """Stacked horizontal bars of shares [1] per ``row`` value, one panel per share column
    (``share_cols`` maps column name → panel title), coloured by ``color``."""
    import altair as alt

    panels = []
    for col, label in share_cols.items():
        data = _pd(shares, [row, color, col])
        panels.append(
            alt.Chart(data, title=label).mark_bar().encode(
                y=alt.Y(f"{row}:N", title=None, sort=sorted(shares[row].unique().to_list())),
                x=alt.X(f"{col}:Q", title="share of total", scale=alt.Scale(domain=[0, 1]),
                        stack="zero", axis=alt.Axis(values=[0, 0.5, 1], format="%")),
                color=_series(color, shares[color].to_list(), color, shape=False)["color"],
                order=alt.Order(f"{color}:N"),
                tooltip=[row, color, alt.Tooltip(f"{col}:Q", format=".1%")],
            ).properties(width=WIDTH // 1.5, height=max(80, 34 * shares[row].n_unique()))
        )
    return side_by_side(panels, title=title)


def interval_dot_chart(table: pl.DataFrame, *, x: str, y: str, low: str, high: str, color: str, title: str,
                       y_title: str, log: bool = True, x_sort: list | None = None):
    """Dots of ``y`` per ``x`` (one per ``color`` value side by side) with a ``low``–``high`` interval
    (e.g. Monte Carlo 5th–95th percentiles); ``x_sort``: the ``x`` values left to right (default: sorted)."""
    import altair as alt

    table, y_title = scaled(table, [y, low, high], y_title)
    data = _pd(table, list(dict.fromkeys([x, y, low, high, color])))
    scale = alt.Scale(type="log") if log else alt.Undefined
    xs = alt.X(f"{x}:N", title=None, sort=x_sort or sorted(table[x].unique().to_list()),
               axis=_x_axis(table[x].unique()))
    base = alt.Chart(data).encode(x=xs, xOffset=alt.XOffset(f"{color}:N"),
                                  **_series(color, table[color].to_list(), color))
    dots = base.mark_point(filled=True, size=80, opacity=1).encode(
        y=alt.Y(f"{y}:Q", title=y_title, scale=scale), tooltip=[x, color, y, low, high])
    bars = base.mark_rule(strokeWidth=2).encode(y=alt.Y(f"{low}:Q", scale=scale), y2=f"{high}:Q")
    return (bars + dots).properties(width=_width(table[x].to_list()), height=HEIGHT, title=title)


def tradeoff_chart(table: pl.DataFrame, *, x: str, y: str, color: str, title: str, x_title: str, y_title: str,
                   log_x: bool = True, line: bool = False, y_low: str | None = None, y_high: str | None = None,
                   x_low: str | None = None, x_high: str | None = None, shapes: bool = False,
                   details: list[str] | None = None, log_y: bool = False):
    """Accuracy-versus-cost scatter (``y`` against ``x``), optionally joined by a line in ``x`` order,
    with optional ``y_low``–``y_high`` bars (e.g. Wilson intervals) and ``x_low``–``x_high`` bars (e.g.
    the spread of latency over repeats). ``shapes=True``: one open shape per ``color`` value, drawn in
    decreasing size, so that points at the same place stay visible. ``details``: further columns
    shown in the tooltips (what a point is: a placement's assignment, a cascade's threshold). ``log_y`` for
    values spanning orders of magnitude (> 0)."""
    import altair as alt

    table, x_title = scaled(table, [x, x_low, x_high], x_title)
    extra = [c for c in (details or []) if c in table.columns]
    cols = list(dict.fromkeys(extra + [c for c in (x, y, color, y_low, y_high, x_low, x_high) if c]))
    data = _pd(table, cols)
    tips = _tooltip(table, cols)
    values = sorted(table[color].unique().to_list(), key=str)
    xs = alt.Scale(type="log") if log_x else alt.Scale(zero=False)
    ys = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    enc = _series(color, values, color)
    base = alt.Chart(data).encode(x=alt.X(f"{x}:Q", title=x_title, scale=xs), color=enc["color"], tooltip=tips)
    layers = []
    if line:
        layers.append(base.mark_line(color="#999").encode(y=alt.Y(f"{y}:Q", scale=ys), color=alt.value("#999"),
                                                          order=f"{x}:Q"))
    if y_low and y_high:
        layers.append(base.mark_rule(strokeWidth=1.5, opacity=0.6).encode(y=alt.Y(f"{y_low}:Q", scale=ys),
                                                                          y2=f"{y_high}:Q"))
    if x_low and x_high:
        layers.append(base.mark_rule(strokeWidth=1.5, opacity=0.6).encode(
            x=alt.X(f"{x_low}:Q", scale=xs), x2=f"{x_high}:Q", y=alt.Y(f"{y}:Q", scale=ys)))
    if shapes:  # sizes from a column of their own: a size legend on the colour field would hide the legend
        sizes = {v: 260 - 170 * i / max(1, len(values) - 1) for i, v in enumerate(values)}
        sized = data.assign(marker_size=[sizes[v] for v in data[color]])
        layers.append(alt.Chart(sized).mark_point(filled=False, strokeWidth=2, opacity=1).encode(
            x=alt.X(f"{x}:Q", title=x_title, scale=xs), y=alt.Y(f"{y}:Q", title=y_title, scale=ys),
            color=enc["color"], tooltip=tips,
            shape=alt.Shape(f"{color}:N", title=color, scale=alt.Scale(domain=values, range=[
                theme.SHAPES[i % len(theme.SHAPES)] for i in range(len(values))])),
            size=alt.Size("marker_size:Q", legend=None, scale=None)))
    else:
        layers.append(base.mark_point(filled=True, size=80, opacity=1).encode(
            y=alt.Y(f"{y}:Q", title=y_title, scale=ys), **({"shape": enc["shape"]} if "shape" in enc else {})))
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT, title=title)


def predicted_vs_measured_chart(table: pl.DataFrame, *, measured: str, predicted: str, color: str,
                                low: str | None = None, high: str | None = None, column: str | None = None,
                                column_order: list | None = None, title: str, quantity: str):
    """Log–log scatter of ``predicted`` against ``measured`` with the y = x line, one panel per ``column``
    value (e.g. cost-model kind), optional ``low``–``high`` interval bars, coloured by ``color``.

    Both axes share one domain (the range of measured and predicted values, widened by 20 %) in
    every panel; interval bars reaching beyond it are clipped at its edges (open-ended or very wide
    intervals stay readable). ``quantity`` is the axis label with its unit, e.g. ``"latency [ms]"``.
    Panels follow ``column_order`` (values not listed come after, sorted), else sorted values.
    """
    import altair as alt

    m = _UNIT.search(quantity)
    if m:
        table, q2 = scaled(table, [measured, predicted, low, high], quantity)
        quantity = q2
    cols = _with_prov(table, list(dict.fromkeys([c for c in (column, color, measured, predicted, low, high) if c]
                                                + [c for c in ("model", "device_name") if c in table.columns])))
    df = table.select(cols).filter(pl.col(measured).is_not_null() & pl.col(predicted).is_not_null())
    vals = [v for c in (measured, predicted) for v in df[c].to_list() if v is not None and v > 0 and math.isfinite(v)]
    lo_d, hi_d = (min(vals) / 1.2, max(vals) * 1.2) if vals else (1e-3, 1.0)
    scale = alt.Scale(type="log", domain=[lo_d, hi_d], clamp=True)
    if low and high:  # bars clipped to the domain (0 and inf have no place on a log axis); tooltips say the bounds
        df = df.with_columns(pl.col(low).fill_nan(None).fill_null(lo_d).clip(lo_d, hi_d).alias("bar_low"),
                             pl.col(high).fill_nan(None).fill_null(hi_d).clip(lo_d, hi_d).alias("bar_high"),
                             pl.col(low).fill_nan(None), pl.col(high).fill_nan(None))
    tips = _tooltip(df, cols)
    present = sorted(df[column].unique().to_list()) if column else [None]
    groups = ([g for g in (column_order or []) if g in present] + [g for g in present if g not in (column_order or [])]
              if column else present)
    colors = sorted(df[color].unique().to_list())
    diag = pd.DataFrame({"x": [lo_d, hi_d], "y": [lo_d, hi_d]})
    panels = []
    for g in groups:
        sub = df.filter(pl.col(column) == g) if column else df
        data = sub.sort(cols).to_pandas()
        base = alt.Chart(data).encode(
            x=alt.X(f"{measured}:Q", scale=scale, title=f"measured {quantity}"),
            color=_series(color, colors, color)["color"])
        shape = {k: v for k, v in _series(color, colors, color).items() if k == "shape"}
        layers = [alt.Chart(diag).mark_line(color="#888", strokeDash=[4, 3]).encode(
            x=alt.X("x:Q", scale=scale), y=alt.Y("y:Q", scale=scale))]
        if low and high:
            layers.append(base.mark_rule(opacity=0.45).encode(y=alt.Y("bar_low:Q", scale=scale), y2="bar_high:Q"))
        layers.append(base.mark_point(filled=True, size=45, opacity=0.9).encode(
            y=alt.Y(f"{predicted}:Q", scale=scale, title=f"predicted {quantity}"), tooltip=tips, **shape))
        panels.append(alt.layer(*layers).properties(width=HEIGHT, height=HEIGHT,
                                                    title=str(g) if g is not None else ""))
    return alt.vconcat(*panels).resolve_scale(color="shared").properties(title=title)


def series_chart(table: pl.DataFrame, *, x: str, y: str, color: str, title: str, x_title: str, y_title: str,
                 low: str | None = None, high: str | None = None, log_x: bool = True,
                 y_domain: tuple[float, float] | None = None, log_y: bool = False, points: bool = True):
    """One line with points per ``color`` value (``y`` against ``x``), optionally with ``low``–``high``
    bars (e.g. the range over random draws); ``log_y`` for values spanning orders of magnitude (> 0);
    ``points=False``: the line alone (time series of hundreds of steps, where markers hide the line and
    swell the SVG)."""
    import altair as alt

    table, y_title = scaled(table, [y, low, high], y_title)
    cols = list(dict.fromkeys([c for c in (color, x, y, low, high) if c]))
    data = table.select(_with_prov(table, cols)).sort(cols).to_pandas()
    xs = alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(type="log") if log_x else alt.Scale(zero=False))
    ys = alt.Scale(type="log") if log_y else alt.Scale(domain=list(y_domain)) if y_domain else alt.Scale(zero=False)
    base = alt.Chart(data).encode(x=xs, color=_series(color, table[color].to_list(), color, shape=False)["color"])
    layers = [base.mark_line(**({} if points else {"strokeWidth": 1.2})).encode(
        y=alt.Y(f"{y}:Q", title=y_title, scale=ys), order=f"{x}:Q")]
    if points:
        layers.append(base.mark_point(filled=True, size=60, opacity=1).encode(y=alt.Y(f"{y}:Q", scale=ys),
                                                                              tooltip=cols))
    if low and high:
        layers.insert(0, base.mark_rule(strokeWidth=2, opacity=0.6).encode(y=alt.Y(f"{low}:Q", scale=ys),
                                                                           y2=f"{high}:Q"))
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT, title=title)


def continuum_chart(points: pl.DataFrame, *, x: str = "zoo_model", group: str = "platform", value: str = "value",
                    quantity: str = "quantity", basis: str = "basis", title: str):
    """One log-scale panel per ``quantity`` value: for each ``x`` × ``group``, every device's point
    (shape: ``basis``, i.e. how the number was obtained), the median across devices (a tick) and the
    range across devices (a bar), groups side by side in each ``x`` slot.

    ``points`` is long: one row per ``x`` × ``group`` × device × ``quantity`` with its ``value``
    (e.g. :func:`workbench.reports.twins_view.twin_points`). The ``quantity`` values are the
    panels' axis titles, units included; panels come in their order of first appearance.
    """
    import altair as alt

    df = points.filter(pl.col(value).is_not_null() & (pl.col(value) > 0))
    groups = sorted(df[group].unique().to_list())
    bases = sorted(df[basis].unique().to_list())
    xs = sorted(df[x].unique().to_list())
    ranges = (df.group_by(quantity, x, group)
                .agg(pl.col(value).min().alias("low"), pl.col(value).median().alias("median"),
                     pl.col(value).max().alias("high"), pl.len().alias("devices"))
                .sort(quantity, x, group))
    panels = []
    for q in df[quantity].unique(maintain_order=True).to_list():
        pts = df.filter(pl.col(quantity) == q).sort(x, group, *[c for c in df.columns if c not in (x, group)])
        rng = ranges.filter(pl.col(quantity) == q)
        scale = alt.Scale(type="log")
        xenc = alt.X(f"{x}:N", title=None, sort=xs, axis=_x_axis(xs))
        off = alt.XOffset(f"{group}:N", sort=groups)
        col = _series(group, groups, group, shape=False)["color"]
        r = alt.Chart(rng.to_pandas()).encode(x=xenc, xOffset=off, color=col)
        layers = [
            r.mark_rule(strokeWidth=2, opacity=0.5).encode(y=alt.Y("low:Q", scale=scale, title=q), y2="high:Q"),
            r.mark_tick(thickness=2, size=16, opacity=1).encode(
                y=alt.Y("median:Q", scale=scale), tooltip=[x, group, "devices", "low", "median", "high"]),
            alt.Chart(pts.to_pandas()).mark_point(size=40, opacity=0.75, filled=True, stroke="white",
                                                  strokeWidth=0.6).encode(
                x=xenc, xOffset=off, color=col, y=alt.Y(f"{value}:Q", scale=scale),
                shape=alt.Shape(f"{basis}:N", title="how obtained", sort=bases),
                tooltip=[c for c in pts.columns if c != quantity]),
        ]
        panels.append(alt.layer(*layers).properties(width=_width(xs), height=HEIGHT))
    return alt.vconcat(*panels).resolve_scale(color="shared", shape="shared").properties(title=title)


def range_dot_chart(table: pl.DataFrame, *, x: str, y: str, low: str, high: str, color: str, title: str,
                    y_title: str, x_sort: list | None = None, log: bool = True, offset: bool = True,
                    shape_by: str | None = None):
    """A dot at ``y`` with a ``low``–``high`` bar per ``x``, one per ``color`` value side by side
    (``offset=False``: centred, for a ``color`` that does not vary within an ``x``); ``x_sort``
    orders the categories (default: sorted); ``shape_by`` a column whose values the dots' shapes
    tell apart (e.g. what the energy covers)."""
    import altair as alt

    table, y_title = scaled(table, [y, low, high], y_title)
    cols = list(dict.fromkeys([x, color, y, low, high] + [c for c in ("results", "devices", "scope", shape_by)
                                                          if c and c in table.columns]))
    data = table.select(_with_prov(table, cols)).sort(x, color).to_pandas()
    scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    colors = sorted(table[color].unique().to_list())
    base = alt.Chart(data).encode(
        x=alt.X(f"{x}:N", title=None, sort=x_sort or sorted(table[x].unique().to_list()),
                axis=_x_axis(table[x].unique())),
        xOffset=alt.XOffset(f"{color}:N", sort=colors) if offset else alt.Undefined,
        color=_series(color, colors, color)["color"])
    shape = ({"shape": alt.Shape(f"{shape_by}:N", title=shape_by)} if shape_by else
             {k: v for k, v in _series(color, colors, color).items() if k == "shape"})
    bars = base.mark_rule(strokeWidth=2, opacity=0.6).encode(y=alt.Y(f"{low}:Q", scale=scale), y2=f"{high}:Q")
    dots = base.mark_point(filled=True, size=70, opacity=1).encode(y=alt.Y(f"{y}:Q", title=y_title, scale=scale),
                                                                   tooltip=cols, **shape)
    return (bars + dots).properties(width=_width(table[x].to_list()), height=HEIGHT, title=title)


def log_histogram_chart(hist: pl.DataFrame, *, x: str, y: str, color: str, title: str, x_title: str, y_title: str):
    """Step lines of a histogram whose bins are equal in log ``x`` (``x`` the bin centre), one per ``color``."""
    import altair as alt

    data = hist.select(_with_prov(hist, [color, x, y])).sort(color, x).to_pandas()
    return alt.Chart(data).mark_line(interpolate="step", strokeWidth=1.8).encode(
        x=alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(type="log")),
        y=alt.Y(f"{y}:Q", title=y_title),
        color=_series(color, hist[color].to_list(), color, shape=False)["color"],
        order=f"{x}:Q", tooltip=[color, x, y],
    ).properties(width=WIDTH, height=HEIGHT, title=title)
