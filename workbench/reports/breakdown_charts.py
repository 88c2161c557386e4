"""Charts of how a total breaks down: the share of each component (stacked bars) and the swing of the total when
one factor at a time moves across its range (tornado). Notebook 04 draws its footprints with them; the shared
helpers and the theme come from :mod:`workbench.reports.charts`.
"""

from __future__ import annotations

import polars as pl

from workbench.reports import theme
from workbench.reports.charts import WIDTH, _pd, _series
from workbench.reports.provenance import is_state_column


def stacked_share_chart(long: pl.DataFrame, *, row: str, color: str, value: str, column: str, title: str,
                        row_sort: list | None = None):
    """Stacked horizontal bars of ``value`` (shares [1]) per ``row``, one panel per ``column`` value;
    ``row_sort``: the ``row`` values top to bottom (default: sorted)."""
    import altair as alt

    data = _pd(long, [row, color, value, column])
    return (
        alt.Chart(data).mark_bar().encode(
            y=alt.Y(f"{row}:N", title=None, sort=row_sort or sorted(long[row].unique().to_list())),
            x=alt.X(f"{value}:Q", title="share of total", scale=alt.Scale(domain=[0, 1]), stack="zero",
                    axis=alt.Axis(values=[0, 0.5, 1], format="%")),
            color=_series(color, long[color].to_list(), color, shape=False)["color"],
            order=alt.Order(f"{color}:N"),
            tooltip=[row, column, color, alt.Tooltip(f"{value}:Q", format=".1%")],
        ).properties(width=WIDTH // 1.5, height=max(80, 34 * long[row].n_unique()))
        .facet(row=alt.Row(f"{column}:N", title=None, sort=sorted(long[column].unique().to_list())))
        .properties(title=title)
    )


def tornado_chart(table: pl.DataFrame, *, factor: str, low: str, high: str, title: str, x_title: str,
                  row: str | None = None, factor_order: list | None = None, row_sort: list | None = None):
    """Tornado: per ``factor`` two horizontal bars from zero, one to its ``low`` value and one to its ``high``
    value (e.g. the change of a total when the factor alone moves to its low or high end), coloured by the end,
    one panel per ``row`` value.

    Parameters
    ----------
    table : polars.DataFrame
        One row per factor (per ``row`` value) with ``factor``, ``low``, ``high`` (any unit; ``x_title`` says it).
    factor_order : list, optional
        Factors top to bottom (default: by the largest ``|high − low|`` over the panels, descending).
    row_sort : list, optional
        The ``row`` panels top to bottom (default: sorted).
    """
    import altair as alt

    if factor_order is None:
        swing = table.with_columns((pl.col(high) - pl.col(low)).abs().alias("_swing"))
        factor_order = (swing.group_by(factor).agg(pl.col("_swing").max())
                        .sort(["_swing", factor], descending=[True, False])[factor].to_list())
    keys = list(dict.fromkeys([factor] + ([row] if row else []) + [c for c in table.columns if is_state_column(c)]))
    ends = {low: "factor at its low value", high: "factor at its high value"}
    long = (table.select(*keys, low, high).unpivot(index=keys, on=[low, high], variable_name="end",
                                                   value_name="change")
            .with_columns(pl.col("end").replace_strict(ends)).sort([c for c in (row, factor, "end") if c]))
    data = long.to_pandas()
    base = alt.Chart(data)
    bars = base.mark_bar(height=12, opacity=0.85).encode(
        y=alt.Y(f"{factor}:N", title=None, sort=factor_order), yOffset=alt.YOffset("end:N"),
        x=alt.X("change:Q", title=x_title), x2=alt.datum(0.0),
        color=alt.Color("end:N", title=None, sort=list(ends.values()),
                        scale=alt.Scale(domain=list(ends.values()), range=list(theme.PALETTE[:2]))),
        tooltip=[c for c in keys if c != factor] + [factor, "end", alt.Tooltip("change:Q", format=".3g")])
    zero = base.mark_rule(strokeDash=[4, 3], color="#555555").encode(x=alt.datum(0.0))
    height = max(80, 30 * len(factor_order))
    layered = alt.layer(bars, zero).properties(width=WIDTH, height=height)
    if row:
        return layered.facet(row=alt.Row(f"{row}:N", title=None,
                                         sort=row_sort or sorted(table[row].unique().to_list()))
                             ).properties(title=title)
    return layered.properties(title=title)
