"""Fitting cost models for the command line: fit from a store or from rows, save the result.

These are the functions behind ``workbench fit``. The estimators come from
:mod:`~workbench.costmodels.factory`, the training tables from :mod:`~workbench.costmodels.training`,
evaluation (``workbench evaluate``) lives in :mod:`~workbench.costmodels.validation`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

from workbench.costmodels.base import operator_fit_params
from workbench.costmodels.factory import check_kind, make_estimator, needs_layers
from workbench.costmodels.features import data_hash, training_data, training_layers
from workbench.costmodels.intervals import ConformalCostModel, calibration_rows_needed
from workbench.costmodels.kinds import default_kind
from workbench.costmodels.persistence import SavedCostModel, save
from workbench.costmodels.training import read_training_tables
from workbench.costmodels.twins import with_zoo_features
from workbench.schema import OPERATOR_FAMILY, as_polars
from workbench.store import Store


def fit_from_store(store, *, target: str = "latency_ms", device_class: str | None = None,
                   device_name: str | None = None, kind: str | None = None, interval: float | None = 0.9,
                   family_out_calibration: bool = True, zoo_twins: dict[str, str] | None = None,
                   skip_corrupt: bool = False, before_fit=None, label: str = "auto",
                   progress=None) -> SavedCostModel:
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
    skip_corrupt : bool
        Skip unreadable files of the store with a warning instead of raising.
    before_fit, label, progress
        As in :func:`fit_from_rows`.

    Returns
    -------
    SavedCostModel
        The fitted estimator with metadata (target, device class, features, training-data hash,
        ``store``; ``calibration`` and ``notes``, see :func:`fit_from_rows`).

    Raises
    ------
    UnknownNameError
        Unknown target, device class or kind.
    ParameterError
        No rows match, ``interval`` not in (0, 1), fewer than 2 rows with an interval, or a kind
        the rows cannot feed (:func:`~workbench.costmodels.factory.check_kind`).
    CorruptFileError
        A file of the store cannot be read (without ``skip_corrupt``).
    """
    store = Store.coerce(store)
    rows, layers = read_training_tables(store, skip_corrupt=skip_corrupt)
    saved = fit_from_rows(rows, layers, target=target, device_class=device_class,
                          device_name=device_name, kind=kind, interval=interval,
                          family_out_calibration=family_out_calibration, zoo_twins=zoo_twins,
                          before_fit=before_fit, label=label, progress=progress)
    saved.metadata["store"] = str(store.path)
    return saved


def fit_from_rows(rows, layers=None, *, target: str = "latency_ms", device_class: str | None = None,
                  device_name: str | None = None, kind: str | None = None, interval: float | None = 0.9,
                  family_out_calibration: bool = True, zoo_twins: dict[str, str] | None = None,
                  aggregate: str = "min", before_fit=None, label: str = "auto",
                  progress=None) -> SavedCostModel:
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
    label : str
        Which milliseconds a latency model learns (:data:`~workbench.costmodels.features.LATENCY_LABELS`;
        default ``auto``: the normalised figure where a row has it). The metadata's ``latency_label``
        counts the training rows of each kind.
    before_fit : callable, optional
        Called with the training features (a DataFrame) once the rows are selected and checked,
        just before the estimator is fitted; what it raises stops the fit. ``workbench fit`` checks
        its output file there, so a refusal costs no fitting and data errors still come first.
    progress : callable, optional
        Wraps the conformal cross-fitting folds (:meth:`~workbench.costmodels.intervals.ConformalCostModel.fit`);
        ``None``: no bar. A model without intervals is one fit, with no bar.

    Returns
    -------
    SavedCostModel
        The fitted estimator with metadata (target, features, kind, interval, training-data hash,
        ``n_train``, families, devices, batch sizes, sources, models, ...). With an interval,
        ``calibration`` says how it was calibrated: ``"family-out"``, or ``"rows"`` (K folds over
        rows) when the rows hold a single model family, which ``notes`` then explains, as it
        explains an interval left unbounded by too few rows for its coverage.

    Raises
    ------
    UnknownNameError
        Unknown target, device class or kind.
    ParameterError
        No rows match, ``interval`` not in (0, 1), ``aggregate`` unknown, fewer than 2 rows with
        an interval, or a kind the rows cannot feed (:func:`~workbench.costmodels.factory.check_kind`:
        ``layerwise`` for a target other than latency, ``roofline`` without device peaks).
    """
    kind = kind or default_kind(target)
    est = make_estimator(kind, interval=interval)  # kind and interval are checked before any work
    check_kind(kind, target)
    if zoo_twins:
        rows, twin_layers = with_zoo_features(rows, zoo_twins)
        if twin_layers.height:
            lay = None if layers is None else as_polars(layers)
            layers = twin_layers if lay is None or lay.height == 0 else pl.concat(
                [lay, twin_layers.select(lay.columns).cast(lay.schema)], how="vertical")
    X, y, meta = training_data(rows, layers, target=target, device_class=device_class, device_name=device_name,
                               aggregate=aggregate, label=label)
    layers = training_layers(rows, layers, aggregate=aggregate)
    check_kind(kind, target, X)
    if before_fit is not None:
        before_fit(X)
    kw = {"layers": layers} if needs_layers(est) else {}
    groups = meta["model_family"].fillna("").to_numpy() if "model_family" in meta else None
    if isinstance(est, ConformalCostModel) and family_out_calibration and groups is not None \
            and len(set(groups)) >= 2:
        est.fit(X, y, groups=groups, progress=progress, **kw)
    elif isinstance(est, ConformalCostModel):
        est.fit(X, y, progress=progress, **operator_fit_params(est, groups), **kw)
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
    if "latency_label" in meta:
        md["latency_label"] = {str(k): int(v) for k, v in meta["latency_label"].value_counts().sort_index().items()}
    if isinstance(est, ConformalCostModel):
        md["calibration"], md["notes"] = est.calibration_, calibration_notes(est, groups, interval)
    return SavedCostModel(est, {"target": target, "features": list(X.columns), **md})


def calibration_notes(est: ConformalCostModel, groups, interval: float) -> list[str]:
    """What a user should know about a fitted model's intervals: a calibration over rows rather than
    families, and an interval left unbounded by too few calibration rows (one sentence each)."""
    notes = []
    fams = sorted({str(g) for g in groups} - {OPERATOR_FAMILY, ""}) if groups is not None else []
    if est.calibration_ == "rows":
        which = f"one model family ({fams[0]!r})" if len(fams) == 1 else "no model family names"
        notes.append(f"the rows hold {which}, so the interval was calibrated on K folds over rows and its "
                     "coverage for a new family is not tested; profile models of a second family to calibrate "
                     "family-out")
    if not np.isfinite(est.q_):
        n = est.oof_log_ratio_.size
        notes.append(f"{n} calibration row(s) are too few for {interval * 100:g} % intervals (they need "
                     f"{calibration_rows_needed(interval)}), so the intervals are unbounded; measure more models "
                     "or lower --interval")
    return notes


def save_fitted(saved: SavedCostModel, path, *, overwrite: bool = False) -> None:
    """Write a :class:`SavedCostModel` from :func:`fit_from_store` to ``path`` (a JSON model file).

    Parameters
    ----------
    saved : SavedCostModel
        From :func:`fit_from_store` or :func:`fit_from_rows`.
    path : str or path-like
        File to write (atomically, :func:`~workbench.costmodels.persistence.save`); its directory must exist.
    overwrite : bool
        Replace an existing file (default: refuse).

    Raises
    ------
    UnknownNameError
        The metadata's target is not a cost-model target.
    StoreError
        ``path`` exists (without ``overwrite``), or cannot be written; nothing was written.
    """
    meta = {k: v for k, v in saved.metadata.items() if k not in ("target", "features")}
    save(saved.estimator, path, target=saved.target, metadata=meta, overwrite=overwrite)
