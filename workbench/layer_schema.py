"""The per-layer table: one row per executed leaf layer of a measurement, beside the measurement table.

:mod:`workbench.schema` declares the measurement table; this module declares its per-layer
breakdown (:data:`LAYER_SCHEMA`), the shape columns every module reading or writing them uses, and
its validation. The store writes it next to each run (:mod:`workbench.store`).
"""

from __future__ import annotations

import polars as pl

from workbench.errors import SchemaError
from workbench.schema import as_polars

LAYER_SCHEMA: dict[str, pl.DataType] = {
    "measurement_id": pl.String(),
    "layer_index": pl.Int64(),
    "layer_name": pl.String(),
    "layer_type": pl.String(),
    "flops": pl.Float64(),
    "params": pl.Int64(),
    "output_bytes": pl.Int64(),
    "latency_ms": pl.Float64(),
    "input_bytes": pl.Int64(),
    "kernel_area": pl.Int64(),
    "stride": pl.Int64(),
    "groups": pl.Int64(),
    "in_channels": pl.Int64(),
    "out_channels": pl.Int64(),
}
"""Per-layer breakdown: one row per executed leaf module, in execution order, per sample for
``flops``/``input_bytes``/``output_bytes`` and per forward call of the measurement's batch for
``latency_ms``. The layer's shape: ``kernel_area`` (elements of one filter window, kh·kw),
``stride`` (first dimension), ``groups`` (convolutions), ``in_channels``/``out_channels`` (channels,
features or hidden size); null where the layer has no such attribute."""


LAYER_SHAPE_COLUMNS = ("input_bytes", "kernel_area", "stride", "groups", "in_channels", "out_channels")
"""The per-layer shape columns (the one list every module that reads or writes them uses)."""


LAYER_REQUIRED = ("measurement_id", "layer_index", "layer_name", "layer_type", "flops", "params",
                  "output_bytes", "latency_ms")
"""Columns every per-layer file has; the shape columns (added later) read as null from older files."""


def with_layer_columns(layers: pl.DataFrame) -> pl.DataFrame:
    """``layers`` with each :data:`LAYER_SCHEMA` column it lacks added as nulls of that column's type."""
    return layers.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in LAYER_SCHEMA.items()
                               if c not in layers.columns)


def layer_frame(records: list[dict]) -> pl.DataFrame:
    """A per-layer table with :data:`LAYER_SCHEMA` from row dicts (absent keys, e.g. shapes, become null)."""
    return pl.DataFrame(records, schema=LAYER_SCHEMA)


def validate_layers(layers, measurement_ids: set[str]) -> pl.DataFrame:
    """Check a per-layer table against :data:`LAYER_SCHEMA` and the run's measurement ids; return it conformed.

    Raises
    ------
    SchemaError
        A missing column, a column of the wrong type, rows of another run, or negative values.
    """
    layers = as_polars(layers)
    missing = [c for c in LAYER_REQUIRED if c not in layers.columns]
    if missing:
        raise SchemaError(f"per-layer table is missing column(s) {missing}; it needs {list(LAYER_REQUIRED)} "
                          f"(and may have {[c for c in LAYER_SCHEMA if c not in LAYER_REQUIRED]}).")
    layers = with_layer_columns(layers)
    try:
        layers = layers.select([pl.col(c).cast(t, strict=True) for c, t in LAYER_SCHEMA.items()])
    except Exception as exc:
        raise SchemaError(f"per-layer table has a column of the wrong type: {exc}") from None
    unknown = set(layers["measurement_id"].to_list()) - measurement_ids
    if unknown:
        raise SchemaError(
            f"per-layer rows refer to measurement_id(s) {sorted(unknown)[:3]} that the run does not contain."
        )
    for c in ("flops", "params", "output_bytes", "latency_ms", *LAYER_SHAPE_COLUMNS):
        if bool((layers[c] < 0).fill_null(False).any()):
            raise SchemaError(f"per-layer column {c!r} has negative values; check units and signs.")
    return layers
