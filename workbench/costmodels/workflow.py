"""Fitting cost models for the command line: fit from a store or from rows, save the result.

These are the functions behind ``workbench fit``. The estimators come from
:mod:`~workbench.costmodels.factory`, the training tables from :mod:`~workbench.costmodels.training`,
evaluation (``workbench evaluate``) lives in :mod:`~workbench.costmodels.validation`.
"""

from __future__ import annotations

import pandas as pd
import polars as pl

from workbench.costmodels.base import operator_fit_params
from workbench.costmodels.factory import make_estimator, needs_layers
from workbench.costmodels.features import data_hash, training_data, training_layers
from workbench.costmodels.intervals import ConformalCostModel
from workbench.costmodels.kinds import default_kind
from workbench.costmodels.persistence import SavedCostModel, save
from workbench.costmodels.training import read_training_tables
from workbench.costmodels.twins import with_zoo_features
from workbench.errors import ParameterError
from workbench.schema import as_polars
from workbench.store import Store


def fit_from_store(store, *, target: str = "latency_ms", device_class: str | None = None,
                   device_name: str | None = None, kind: str | None = None, interval: float | None = 0.9,
                   family_out_calibration: bool = True, zoo_twins: dict[str, str] | None = None) -> SavedCostModel:
    """Fit a cost model on the measurements of a store.

    Parameters
    ----------
    store : workbench.store.Store or path
        The measurement store (its per-layer table is read too; layer shapes of older zoo runs are
        filled, see :func:`~workbench.costmodels.training.read_training_tables`).
    target : str
        ``latency_ms`` [ms per forward call], ``energy_j`` [J per inference] or
        ``memory_peak_bytes`` [B].
    device_class, device_name : str, optional
        Which rows to fit on.
    kind : str, optional
        See :data:`~workbench.costmodels.kinds.KINDS`; default
        :func:`~workbench.costmodels.kinds.default_kind` of the target.
    interval : float or None
        Nominal coverage of the conformal prediction intervals, in (0, 1) (0.9: 90 %); None for
        point predictions only.
    family_out_calibration : bool
        Calibrate the intervals on held-out model families (when the rows have two or more).
    zoo_twins : dict, optional
        Dataset model name → zoo model: imported rows without FLOPs get their zoo twin's features
        first (:func:`workbench.costmodels.twins.with_zoo_features`), e.g. MLPerf Tiny rows.

    Returns
    -------
    SavedCostModel
        The fitted estimator with metadata (target, device class, features, training-data hash,
        ``store``).

    Raises
    ------
    UnknownNameError
        Unknown target, device class or kind.
    ParameterError
        No rows match, ``interval`` not in (0, 1), or kind ``layerwise`` for a target other
        than latency.
    """
    store = Store.coerce(store)
    rows, layers = read_training_tables(store)
    saved = fit_from_rows(rows, layers, target=target, device_class=device_class,
                          device_name=device_name, kind=kind, interval=interval,
                          family_out_calibration=family_out_calibration, zoo_twins=zoo_twins)
    saved.metadata["store"] = str(store.path)
    return saved


def fit_from_rows(rows, layers=None, *, target: str = "latency_ms", device_class: str | None = None,
                  device_name: str | None = None, kind: str | None = None, interval: float | None = 0.9,
                  family_out_calibration: bool = True, zoo_twins: dict[str, str] | None = None,
                  aggregate: str = "min") -> SavedCostModel:
    """Fit a cost model on measurement rows (a store's, or a dataset's with twin features).

    The metadata records the training rows' devices, batch sizes and sources, so that a projection
    (:mod:`workbench.strategies.projection`) can say which device its rows describe.

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Measurement rows (:mod:`workbench.schema`).
    layers : polars or pandas DataFrame, optional
        Their per-layer table (:data:`workbench.store.LAYER_SCHEMA`); needed by the layer kinds.
    target, device_class, device_name, kind, interval, family_out_calibration, zoo_twins
        As in :func:`fit_from_store`.
    aggregate : {"min", "median"}
        How repeated measurements of one configuration become one training row
        (:func:`~workbench.costmodels.features.training_data`).

    Returns
    -------
    SavedCostModel
        The fitted estimator with metadata (target, features, kind, interval, training-data hash,
        ``n_train``, families, devices, batch sizes, sources, models, ...).

    Raises
    ------
    UnknownNameError
        Unknown target, device class or kind.
    ParameterError
        No rows match, ``interval`` not in (0, 1), ``aggregate`` unknown, or kind ``layerwise`` for
        a target other than latency.
    """
    if zoo_twins:
        rows, twin_layers = with_zoo_features(rows, zoo_twins)
        if twin_layers.height:
            lay = None if layers is None else as_polars(layers)
            layers = twin_layers if lay is None or lay.height == 0 else pl.concat(
                [lay, twin_layers.select(lay.columns).cast(lay.schema)], how="vertical")
    X, y, meta = training_data(rows, layers, target=target, device_class=device_class, device_name=device_name,
                               aggregate=aggregate)
    layers = training_layers(rows, layers, aggregate=aggregate)
    kind = kind or default_kind(target)
    est = make_estimator(kind, interval=interval)
    if kind == "layerwise" and target != "latency_ms":
        raise ParameterError(f"kind 'layerwise' predicts latency only (the per-layer table has no {target}). "
                             "Fix: choose another --kind, e.g. additive or loglinear-layers.")
    kw = {"layers": layers} if needs_layers(est) else {}
    groups = meta["model_family"].fillna("").to_numpy() if "model_family" in meta else None
    if isinstance(est, ConformalCostModel) and family_out_calibration and groups is not None \
            and len(set(groups)) >= 2:
        est.fit(X, y, groups=groups, **kw)
    else:
        est.fit(X, y, **operator_fit_params(est, groups), **kw)
    kept = meta["measurement_id"].tolist() if "measurement_id" in meta else []
    src = as_polars(rows)
    used = src.filter(pl.col("measurement_id").is_in(kept)) if kept else src.head(0)
    md = {"device_class": device_class, "device_name": device_name, "kind": kind, "interval": interval,
          "training_data_sha256": data_hash(X, y), "n_train": int(len(y)),
          "families": sorted(set(meta.get("model_family", pd.Series(dtype=str)).dropna())),
          "devices": sorted(set(meta.get("device_name", pd.Series(dtype=str)).dropna())),
          "device_classes": sorted(set(meta.get("device_class", pd.Series(dtype=str)).dropna())),
          "batch_sizes": sorted({int(b) for b in X["batch_size"]}) if "batch_size" in X else [],
          "sources": sorted(set(used["source"].drop_nulls().to_list())) if used.height else [],
          "models": sorted(set(meta.get("model", pd.Series(dtype=str)).dropna())),
          "zoo_twins": dict(zoo_twins) if zoo_twins else None, "aggregate": aggregate,
          "features_from_zoo_twins": bool(used.height) and bool(
              used["config_json"].fill_null("").str.contains('"zoo_twin"', literal=True).any())}
    return SavedCostModel(est, {"target": target, "features": list(X.columns), **md})


def save_fitted(saved: SavedCostModel, path) -> None:
    """Write a :class:`SavedCostModel` from :func:`fit_from_store` to ``path`` (a JSON model file).

    Parameters
    ----------
    saved : SavedCostModel
        From :func:`fit_from_store` or :func:`fit_from_rows`.
    path : str or path-like
        File to write (atomically; parent folders are created).

    Raises
    ------
    UnknownNameError
        The metadata's target is not a cost-model target.
    """
    meta = {k: v for k, v in saved.metadata.items() if k not in ("target", "features")}
    save(saved.estimator, path, target=saved.target, metadata=meta)
