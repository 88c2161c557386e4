"""A measured variant's counted features as the *units* a cost model prices.

A static variant (a compressed model) is one unit of weight 1: its row's FLOPs, parameters,
bytes, batch size and dtype, and its per-layer rows. A dynamic variant (an early-exit network at
a threshold, a cascade) takes a different path per sample: it is one unit per fixed path, from the
path features its row records (``config_json["path_features"]``, written by
:func:`workbench.strategies.staged_experiments.path_features`), weighted by the path's exit rate
on the test split. :mod:`.projection` prices the units with cost models and :mod:`.roofline`
bounds them; both weigh the units of a variant by these weights.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl

from workbench.costmodels.features import DTYPE_BYTES, feature_frame
from workbench.errors import SchemaError, UnknownNameError, WorkbenchError
from workbench.schema import as_polars
from workbench.store import LAYER_SCHEMA, LAYER_SHAPE_COLUMNS, with_layer_columns

BASE_FEATURES = ("flops", "params", "weight_bytes", "activation_bytes")
"""The counted features every unit carries (NaN in the feature frame where a row lacks one)."""

LAYER_COLUMNS = {c: t for c, t in LAYER_SCHEMA.items() if c != "layer_name"}
"""The per-layer columns a priced unit carries (the store's, less the layer name)."""

_UNIT_SCHEMA = {"measurement_id": pl.String, "flops": pl.Float64, "params": pl.Float64, "weight_bytes": pl.Float64,
                "activation_bytes": pl.Float64, "batch_size": pl.Int64, "dtype": pl.String}

Plan = list[tuple[str, list[str], list[float]]]
"""Per variant: ``(measurement_id, unit ids, weights)``."""


class ProjectionFeatureError(WorkbenchError, ValueError):
    """A variant lacks a feature the cost model needs."""


def variant_config(text) -> dict:
    """A row's ``config_json`` as a dict.

    Parameters
    ----------
    text : str or None
        The ``config_json`` value.

    Returns
    -------
    dict
        The parsed object; empty when missing, not JSON, or not a JSON object.
    """
    if not text:
        return {}
    try:
        c = json.loads(text)
    except ValueError:
        return {}
    return c if isinstance(c, dict) else {}


def is_dynamic(cfg: dict) -> bool:
    """Whether a variant's configuration is that of a dynamic model.

    Parameters
    ----------
    cfg : dict
        The variant's configuration (:func:`variant_config`).

    Returns
    -------
    bool
        True when it records exit rates and cumulative FLOPs per stage (early exit, cascades).
    """
    return "exit_rates" in cfg and "cumulative_flops" in cfg


def _static_unit(r: dict) -> dict:
    """The one unit of a static variant: its row's features."""
    return {"measurement_id": r["measurement_id"], **{c: r.get(c) for c in BASE_FEATURES},
            "batch_size": r.get("batch_size") or 1, "dtype": r.get("dtype")}


def _path_units(r: dict, cfg: dict) -> tuple[list[dict], list[dict], list[float]]:
    """The units of a dynamic variant (one per path, batch 1), their per-layer rows, and the exit rates."""
    mid = r["measurement_id"]
    paths = cfg.get("path_features")
    if not paths:
        raise ProjectionFeatureError(
            f"variant {r['model']!r} / {r['strategy']!r} (measurement {mid}) is a dynamic model whose row has no "
            "per-path features (config_json['path_features']): it was measured by an older workbench. "
            "Fix: re-run it (`workbench cascade ...`) so that each exit path's features are recorded.")
    rates = [float(v) for v in cfg["exit_rates"]]
    if len(rates) != len(paths):
        raise SchemaError(f"measurement {mid}: {len(rates)} exit rates but {len(paths)} path feature sets.")
    units, layers = [], []
    for k, p in enumerate(paths):
        uid = f"{mid}#path{k}"
        units.append({"measurement_id": uid, **{c: p.get(c) for c in BASE_FEATURES}, "batch_size": 1,
                      "dtype": r.get("dtype")})
        # [type, flops, params, output_bytes, *shapes]; rows from before shapes were recorded have 4
        layers += [{"measurement_id": uid, "layer_index": i, "layer_type": t, "flops": float(f),
                    "params": int(pa), "output_bytes": int(ob), "latency_ms": None,
                    **dict(zip(LAYER_SHAPE_COLUMNS, shape, strict=False))}
                   for i, (t, f, pa, ob, *shape) in enumerate(p.get("layers", []))]
    return units, layers, rates


def _check_dtypes(units: pl.DataFrame) -> None:
    """Every unit's dtype has a known byte width (the feature frame's ``dtype_bytes``)."""
    unknown = sorted(set(units["dtype"].drop_nulls().to_list()) - set(DTYPE_BYTES) - {""})
    if unknown:
        raise UnknownNameError("dtype", unknown[0], DTYPE_BYTES)


def _layer_table(layers, static_ids: list[str], path_layers: list[dict]) -> pl.DataFrame | None:
    """Per-layer rows of every unit: the static variants' from ``layers``, the paths' from their features."""
    parts = []
    if layers is not None and static_ids:
        lay = as_polars(layers)
        if lay.height:
            parts.append(with_layer_columns(lay).filter(pl.col("measurement_id").is_in(static_ids))
                         .select([pl.col(c).cast(t) for c, t in LAYER_COLUMNS.items()]))
    if path_layers:
        parts.append(pl.DataFrame(path_layers, schema=LAYER_COLUMNS))
    return pl.concat([t.cast(parts[0].schema) for t in parts]) if parts else None


def variant_units(rows: pl.DataFrame, layers=None) -> tuple[pd.DataFrame, pd.DataFrame, Plan]:
    """The units to price for every variant row, their per-layer table, and how units make variants.

    Parameters
    ----------
    rows : polars.DataFrame
        Measured variant rows (schema of :mod:`workbench.schema`).
    layers : polars or pandas DataFrame, optional
        Their per-layer rows (``StrategyResult.layers``, ``Store.read_layers()``); dynamic rows
        carry their paths' layers themselves.

    Returns
    -------
    X : pandas.DataFrame
        Feature frame of every unit (:func:`workbench.costmodels.features.feature_frame`), indexed
        by unit id (the measurement id; ``<id>#path<k>`` for path ``k`` of a dynamic row), NaN
        where a row lacks a base feature.
    layer_table : pandas.DataFrame
        Per-layer rows of the units (:data:`LAYER_COLUMNS`), empty when none.
    plan : list of (str, list of str, list of float)
        Per variant, in row order: its measurement id, its unit ids and their weights [1] (1 for a
        static row, the exit rates for a dynamic one).

    Raises
    ------
    ProjectionFeatureError
        A dynamic row without per-path features.
    SchemaError
        A dynamic row whose exit rates and path feature sets differ in number.
    UnknownNameError
        A dtype of unknown byte width.
    """
    unit_rows, path_layers, plan, static_ids = [], [], [], []
    for r in rows.iter_rows(named=True):
        cfg = variant_config(r.get("config_json"))
        mid = r["measurement_id"]
        if is_dynamic(cfg):
            units, unit_layers, rates = _path_units(r, cfg)
            unit_rows += units
            path_layers += unit_layers
            plan.append((mid, [u["measurement_id"] for u in units], rates))
        else:
            unit_rows.append(_static_unit(r))
            static_ids.append(mid)
            plan.append((mid, [mid], [1.0]))
    units = pl.DataFrame(unit_rows, schema=_UNIT_SCHEMA)
    null_mask = units.select([pl.col(c).is_null() for c in BASE_FEATURES]).to_pandas()
    filled = units.with_columns([pl.col(c).fill_null(0.0) for c in BASE_FEATURES])
    _check_dtypes(filled)
    table = _layer_table(layers, static_ids, path_layers)
    X = feature_frame(filled, table if table is not None and table.height else None)
    for i, c in enumerate(BASE_FEATURES):
        X.loc[null_mask.iloc[:, i].to_numpy(), c] = np.nan
    layer_pdf = table.to_pandas() if table is not None else pd.DataFrame(columns=list(LAYER_COLUMNS))
    return X, layer_pdf, plan
