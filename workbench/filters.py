"""Row filters as the command line writes them: ``COLUMN OP VALUE`` over the measurement schema.

``workbench runs --filter 'latency_ms_p50<5'`` and :meth:`workbench.store.Store.read` (``filters=``)
accept a list of such strings, all of which must hold; each value is cast to its column's dtype.
"""

from __future__ import annotations

import re

import polars as pl

from workbench import schema
from workbench.errors import SchemaError, UnknownNameError

_FILTER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|!=|==|=|<|>)\s*(.*?)\s*$")


def parse_filters(filters: list[str]) -> pl.Expr:
    """Turn ``["model=resnet8", "latency_ms_p50<5"]`` into one polars expression (all must hold)."""
    expr = pl.lit(True)
    for text in filters:
        m = _FILTER.match(text)
        if not m:
            raise SchemaError(
                f"cannot parse filter {text!r}. Use COLUMN OP VALUE with OP one of = != < <= > >=, "
                "e.g. --filter device_class=server-cpu --filter latency_ms_p50<5."
            )
        col, op, raw = m.groups()
        if col not in schema.POLARS_SCHEMA:
            raise UnknownNameError("column", col, schema.COLUMN_NAMES, "workbench schema")
        dtype = schema.POLARS_SCHEMA[col]
        try:
            value = pl.Series([raw]).cast(dtype, strict=True)[0] if dtype != pl.String() else raw
        except Exception:
            raise SchemaError(f"filter {text!r}: {raw!r} is not a valid {dtype} for column {col!r}.") from None
        c = pl.col(col)
        expr = expr & {
            "=": c == value, "==": c == value, "!=": c != value,
            "<": c < value, "<=": c <= value, ">": c > value, ">=": c >= value,
        }[op]
    return expr
