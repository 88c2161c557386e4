"""The training tables of the cost models: a store's rows and per-layer table, ready to fit on.

Zoo runs stored before the profiler recorded layer shapes get them from the model definitions
(:func:`with_layer_shapes`), so one older run does not make a whole store fit without shapes.
"""

from __future__ import annotations

import polars as pl

from workbench.costmodels.features import zoo_features
from workbench.errors import WorkbenchError
from workbench.schema import as_polars
from workbench.store import LAYER_SCHEMA, LAYER_SHAPE_COLUMNS, Store, with_layer_columns


def read_training_tables(store) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A store's rows and per-layer table for fitting: zoo runs stored before the profiler recorded
    layer shapes get them from their definitions (:func:`with_layer_shapes`), so one older run does
    not make a whole store fit without shapes. The store itself is not changed."""
    store = Store.coerce(store)
    rows, layers = store.read(), store.read_layers()
    if layers.height and layers["input_bytes"].null_count():
        layers = with_layer_shapes(rows, layers)
    return rows, layers


def with_layer_shapes(rows, layers) -> pl.DataFrame:
    """Fill missing per-layer shapes (input bytes, kernel, stride, groups, channels) of zoo models.

    Per-layer tables written before the profiler recorded shapes have them null. Shapes are static
    (they follow from the model definition), so for rows whose ``model`` is a zoo model they are
    computed from the definition and joined on layer index and type, where the stored breakdown has
    as many layers as the definition. Other rows (dataset models, compressed variants whose layers
    differ) are left as they are. Nothing in the store is changed: the filled table is returned.

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Measurement rows with ``measurement_id`` and ``model``.
    layers : polars or pandas DataFrame
        Their per-layer table (:data:`workbench.store.LAYER_SCHEMA`).
    """
    from workbench.measure import zoo  # imports torch

    shape_cols = list(LAYER_SHAPE_COLUMNS)
    lay = as_polars(layers)
    lay = with_layer_columns(lay)
    lacking = lay.filter(pl.col("input_bytes").is_null())["measurement_id"].unique().to_list()
    r = as_polars(rows)
    models = dict(r.filter(pl.col("measurement_id").is_in(lacking)).select("measurement_id", "model").iter_rows())

    def is_zoo(name) -> bool:
        try:
            return bool(name) and zoo.resolve(name) is not None
        except WorkbenchError:
            return False

    known = sorted({m for m in models.values() if is_zoo(m)})
    if not known:
        return lay.select(list(LAYER_SCHEMA))
    _, shapes = zoo_features(known)
    static = (pl.from_pandas(shapes[["measurement_id", "layer_index", "layer_type", *shape_cols]])
              .rename({"measurement_id": "model"})
              .with_columns(pl.col(c).cast(LAYER_SCHEMA[c]) for c in ["layer_index", *shape_cols]))
    counts = dict(static.group_by("model").len().iter_rows())
    stored = dict(lay.filter(pl.col("measurement_id").is_in(list(models))).group_by("measurement_id").len().iter_rows())
    same = [(mid, m) for mid, m in models.items() if m in counts and stored.get(mid) == counts[m]]
    ids = pl.DataFrame(same, schema={"measurement_id": pl.String, "model": pl.String}, orient="row")
    fill = ids.join(static, on="model").drop("model")
    out = lay.join(fill, on=["measurement_id", "layer_index", "layer_type"], how="left", suffix="__zoo")
    out = out.with_columns(pl.coalesce(c, f"{c}__zoo").alias(c) for c in shape_cols)
    return out.select(list(LAYER_SCHEMA))
