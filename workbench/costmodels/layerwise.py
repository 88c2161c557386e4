"""Latency as a sum of per-layer latencies learned from per-layer measurements: the ``layerwise`` kind.

:class:`LayerwiseCostModel` fits a tree ensemble on the profiler's per-layer breakdown
(:data:`workbench.store.LAYER_SCHEMA`), not on whole networks, and turns the sum of a network's
predicted layer latencies into the network's with a fitted intercept and scale
(:func:`~workbench.costmodels.base.fit_intercept_scale`). Latency only: the per-layer table has
no energy or memory. The additive model fitted on whole networks is
:class:`~workbench.costmodels.additive.LayerAdditiveCostModel`.

References
----------
Zhang et al., "nn-Meter: towards accurate latency prediction of deep-learning model inference on
diverse edge devices", MobiSys 2021 (kernel-level predictors summed over the kernels of a model).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.utils.validation import check_is_fitted

from workbench.costmodels.base import CostModel, _check_y, _frame, fit_intercept_scale
from workbench.costmodels.ensembles import _export_ensemble, _predict_ensemble
from workbench.errors import ParameterError
from workbench.store import LAYER_SHAPE_COLUMNS


class LayerwiseCostModel(CostModel):
    """Latency as the sum of per-layer predictions learned from per-layer measurements (nn-Meter style).

    A gradient-boosted regressor maps each layer's ``log1p`` FLOPs, parameters and output bytes (per
    forward call), its layer type (one-hot) and, when every training layer has them, its shape
    (:data:`LAYER_SHAPE_COLUMNS`: ``log1p`` input bytes, kernel area, stride, ``log1p`` groups and
    channels, a depthwise flag; ``shape_columns_`` says which were used) to the ``log`` of its
    measured latency (the profiler's per-layer breakdown, :data:`workbench.store.LAYER_SCHEMA`).
    Shapes tell a 3×3 depthwise convolution from a 1×1 pointwise one of the same FLOPs, which
    counts alone cannot. A network's latency is
    ``intercept_ + scale_ · Σ layer predictions``, both fitted by non-negative least squares on
    relative error over the training networks (the per-layer hook timings miss the work done
    outside leaf modules and add their own overhead). Latency only: the per-layer table has no
    energy or memory.

    ``fit`` and ``predict`` need the per-layer table as ``layers=`` with ``measurement_id`` equal
    to the index of ``X`` (:func:`~workbench.costmodels.features.feature_frame` indexes by it).
    ``fit(..., operator_rows=mask)`` marks rows that are operator-benchmark blocks
    (:mod:`workbench.measure.kernels`) rather than networks: their layers train the per-layer
    regressor, but ``intercept_`` and ``scale_`` describe a whole network's call and are fitted on
    the network rows alone. (On this project's CPU cache, 600 three-layer blocks otherwise outweigh
    465 networks in that fit and pull ``scale_`` to the blocks' ratio of call to layer-sum time.)

    Parameters
    ----------
    n_estimators, max_depth, learning_rate, random_state
        Of the per-layer ``GradientBoostingRegressor``.
    """

    def __init__(self, n_estimators: int = 300, max_depth: int = 4, learning_rate: float = 0.05,
                 random_state: int = 0):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.random_state = random_state

    @staticmethod
    def _layers(layers, index) -> pd.DataFrame:
        if layers is None:
            raise ParameterError(
                "LayerwiseCostModel needs the per-layer table: fit(X, y, layers=store.read_layers()) and "
                "predict(X, layers=...), with measurement_id matching X's index."
            )
        lay = layers.to_pandas() if not isinstance(layers, pd.DataFrame) else layers
        lay = lay[lay["measurement_id"].isin(set(index))]
        missing = set(index) - set(lay["measurement_id"])
        if missing:
            raise ParameterError(f"no per-layer rows for measurement(s) {sorted(missing)[:3]}; "
                                 "profile them with the per-layer breakdown (the profiler records it).")
        return lay

    def _layer_design(self, lay: pd.DataFrame, batch: np.ndarray) -> np.ndarray:
        cols = [np.log1p(lay["flops"].to_numpy(float) * batch), np.log1p(lay["params"].to_numpy(float)),
                np.log1p(lay["output_bytes"].to_numpy(float) * batch)]
        shape = getattr(self, "shape_columns_", [])  # files saved before shapes were recorded have none
        if shape:
            lacking = [c for c in shape if c not in lay]
            if lacking or lay["input_bytes"].isna().any():
                ids = [] if lacking or "measurement_id" not in lay else sorted(
                    set(lay.loc[lay["input_bytes"].isna(), "measurement_id"]))[:3]
                raise ParameterError(
                    f"this layerwise model was fitted on per-layer shapes {shape}; the per-layer rows "
                    + (f"lack column(s) {lacking}" if lacking else f"of measurement(s) {ids} have none")
                    + " (profiled before shapes were recorded). Fix: re-profile, fill them for zoo models "
                    "with workbench.costmodels.training.with_layer_shapes(rows, layers), or refit.")
            val = {c: pd.to_numeric(lay[c], errors="coerce").fillna(0.0).to_numpy(float) for c in shape}
            for c in shape:
                v = val[c] * batch if c == "input_bytes" else val[c]
                cols.append(v if c in ("kernel_area", "stride") else np.log1p(v))
            if "groups" in val and "in_channels" in val:
                cols.append(((val["groups"] > 1) & (val["groups"] == val["in_channels"])).astype(float))
        types = lay["layer_type"].to_numpy()
        cols += [(types == t).astype(float) for t in self.layer_types_]
        return np.column_stack(cols)

    def _sum_per_network(self, X: pd.DataFrame, lay: pd.DataFrame) -> np.ndarray:
        bmap = (X["batch_size"] if "batch_size" in X else pd.Series(1.0, index=X.index)).astype(float)
        batch = lay["measurement_id"].map(bmap).to_numpy(float)
        pred = np.exp(_predict_ensemble(self.layer_model_, self._layer_design(lay, batch)))
        sums = pd.Series(pred).groupby(lay["measurement_id"].to_numpy()).sum()
        return sums.reindex(X.index).to_numpy(float)

    def fit(self, X, y, layers=None, operator_rows=None):
        """Fit the per-layer regressor on measured layer latencies, then ``intercept_`` and ``scale_``.

        Parameters
        ----------
        X : pandas DataFrame, shape (n_rows, n_features)
            Feature frame indexed by ``measurement_id``; ``batch_size`` [samples per call] is read
            when present (else 1).
        y : array, shape (n_rows,)
            Latency per forward call [ms], finite and > 0.
        layers : polars or pandas DataFrame
            Per-layer table (:data:`workbench.store.LAYER_SCHEMA`) with ``latency_ms`` [ms per
            forward call], ``flops`` [FLOP per inference], ``params``, ``output_bytes`` [B per
            inference] and optionally the shape columns, for every ``measurement_id`` of X.
        operator_rows : array of bool, shape (n_rows,), optional
            Operator-benchmark rows: their layers train the per-layer regressor, but not
            ``intercept_`` and ``scale_``.

        Returns
        -------
        self : LayerwiseCostModel

        Raises
        ------
        ParameterError
            No ``layers``, a row of X without per-layer rows, a table without ``latency_ms``,
            ``operator_rows`` of the wrong length or marking every row, or a target ≤ 0.
        """
        y = _check_y(y)
        X = _frame(X)
        nets = np.ones(len(y), bool) if operator_rows is None else ~np.asarray(operator_rows, bool)
        if nets.shape != y.shape or not nets.any():
            raise ParameterError(f"operator_rows must mark some, not all, of the {y.size} rows as operator blocks "
                                 f"(got {nets.size} entries, {int(nets.size - nets.sum())} set): the network-level "
                                 "intercept and scale need whole networks.")
        lay = self._layers(layers, X.index)
        if "latency_ms" not in lay or lay["latency_ms"].isna().all():
            raise ParameterError("the per-layer table has no latency_ms: LayerwiseCostModel predicts latency only.")
        lay = lay[lay["latency_ms"].notna()]
        self.layer_types_ = sorted(lay["layer_type"].unique())
        has_shapes = all(c in lay for c in LAYER_SHAPE_COLUMNS) and bool(lay["input_bytes"].notna().all())
        self.shape_columns_ = list(LAYER_SHAPE_COLUMNS) if has_shapes else []
        bmap = (X["batch_size"] if "batch_size" in X else pd.Series(1.0, index=X.index)).astype(float)
        batch = lay["measurement_id"].map(bmap).to_numpy(float)
        gbm = GradientBoostingRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                        learning_rate=self.learning_rate, random_state=self.random_state)
        gbm.fit(self._layer_design(lay, batch), np.log(np.maximum(lay["latency_ms"].to_numpy(float), 1e-6)))
        self.layer_model_ = _export_ensemble(gbm)
        self.intercept_, self.scale_ = fit_intercept_scale(self._sum_per_network(X, lay)[nets], y[nets])
        self.feature_names_in_ = list(X.columns)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict(self, X, layers=None):
        """Predicted latency, ``intercept_ + scale_ ·`` the sum of each network's predicted layer latencies.

        Parameters
        ----------
        X : pandas DataFrame, shape (n_rows, n_features)
            Feature frame indexed by ``measurement_id`` (``batch_size`` [samples per call] is read).
        layers : polars or pandas DataFrame
            Per-layer table of those measurements (``latency_ms`` is not needed); with the shape
            columns when the model was fitted with them (``shape_columns_``).

        Returns
        -------
        numpy array, shape (n_rows,)
            Latency per forward call [ms].

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ParameterError
            No ``layers``, a row of X without per-layer rows, or layers without the shapes the model
            was fitted on.
        """
        check_is_fitted(self, "layer_model_")
        X = _frame(X, self.feature_names_in_)
        return self.intercept_ + self.scale_ * self._sum_per_network(X, self._layers(layers, X.index))

    def predict_layers(self, layers, batch_size: int = 1) -> np.ndarray:
        """Predicted latency of each layer [ms] (× ``scale_``), in the given order.

        Parameters
        ----------
        layers : polars or pandas DataFrame
            Per-layer rows of one network (``layer_type``, ``flops`` [FLOP per inference],
            ``output_bytes`` [B per inference], ``params`` if known, and the shape columns when the
            model was fitted with them), e.g. from :func:`~workbench.costmodels.features.zoo_features`.
        batch_size : int
            Samples per forward call.

        Returns
        -------
        numpy array, shape (n_layers,)
            Latency of each layer [ms] (without the per-call ``intercept_``).
        """
        check_is_fitted(self, "layer_model_")
        lay = layers.to_pandas() if not isinstance(layers, pd.DataFrame) else layers
        lay = lay.assign(params=lay["params"] if "params" in lay else 0)
        d = self._layer_design(lay, np.full(len(lay), float(batch_size)))
        return self.scale_ * np.exp(_predict_ensemble(self.layer_model_, d))

    def predict_span(self, layers, start: int = 0, stop: int | None = None, batch_size: int = 1) -> float:
        """Predicted latency of layers ``start:stop`` run as one call [ms] (``intercept_`` added once)."""
        return float(self.predict_layers(layers, batch_size)[start:stop].sum() + self.intercept_)
