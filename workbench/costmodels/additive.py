"""Per-layer additive cost models, fitted on whole-network measurements: the ``additive`` and ``additive+gbm`` kinds.

- :class:`LayerAdditiveCostModel`: per-layer-type linear costs fitted on whole-network
  measurements (the per-type columns of the feature frame); ``predict_layers`` gives each layer's
  cost and ``predict_span`` a prefix or suffix run as one call, which DNN partitioning needs;
- :class:`ResidualBoostedCostModel`: any cost model (by default the additive one) times a
  gradient-boosted correction of its log ratio.

The per-layer model fitted on per-layer *measurements* is
:class:`~workbench.costmodels.layerwise.LayerwiseCostModel`.

References
----------
Kang et al., "Neurosurgeon: collaborative intelligence between the cloud and mobile edge",
ASPLOS 2017 (per-layer-type regression models summed over a network); Zhang et al., "nn-Meter:
towards accurate latency prediction of deep-learning model inference on diverse edge devices",
MobiSys 2021 (kernel-level predictors summed over the kernels of a model).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import nnls
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted

from workbench.checks import check_int
from workbench.costmodels.base import CostModel, FeatureMismatchError, _check_y, _frame
from workbench.costmodels.regressions import TreeCostModel
from workbench.errors import ParameterError


class LayerAdditiveCostModel(CostModel):
    """Sum of per-layer-type linear costs (Neurosurgeon / nn-Meter style); predicts any span of layers.

    The cost of one layer of type *T* in a forward call is
    ``a_T + b_T · flops + c_T · bytes`` plus a type-independent part ``a + b · flops + c · bytes``
    (which also prices layer types never seen in training), and a network adds ``intercept_`` once
    (framework overhead of a call). Summed over the layers of a network this is linear in the
    per-type columns ``count__T``, ``flops__T``, ``bytes__T`` of the feature frame, so the
    coefficients are fitted on whole-network measurements by non-negative least squares on
    *relative* error (each row divided by its target). Every coefficient is ≥ 0, so every layer
    costs ≥ 0 and :meth:`predict_layers` gives a per-layer breakdown for partitioning.

    Parameters
    ----------
    generic : bool
        Include the type-independent terms (recommended: they price unseen layer types).
    intercept : bool
        Include the per-call constant ``intercept_`` [target unit].

    Attributes
    ----------
    layer_types_ : list of str
        Layer types seen in training.
    coef_ : dict
        ``{type or "*": (a [unit per layer], b [unit per FLOP], c [unit per B])}``.
    """

    def __init__(self, generic: bool = True, intercept: bool = True):
        self.generic = generic
        self.intercept = intercept

    @staticmethod
    def _types(columns) -> list[str]:
        return sorted({c.split("__", 1)[1] for c in columns if c.startswith("count__")})

    def _design(self, df: pd.DataFrame, types: list[str]) -> np.ndarray:
        cols = []
        for t in types:
            for kind in ("count", "flops", "bytes"):
                name = f"{kind}__{t}"
                cols.append(df[name].to_numpy(float) if name in df else np.zeros(len(df)))
        all_types = self._types(df.columns)
        if self.generic:
            for kind in ("count", "flops", "bytes"):
                cols.append(sum((df[f"{kind}__{t}"].to_numpy(float) for t in all_types), np.zeros(len(df))))
        if self.intercept:
            cols.append(np.ones(len(df)))
        return np.column_stack(cols)

    def fit(self, X, y):
        """Fit the per-type and type-independent coefficients by NNLS on relative error.

        Parameters
        ----------
        X : pandas DataFrame, shape (n_rows, n_features)
            Feature frame with per-layer-type columns ``count__<Type>`` [layers], ``flops__<Type>``
            [FLOP per forward call] and ``bytes__<Type>`` [B per forward call]
            (:func:`~workbench.costmodels.features.feature_frame` with ``layers``).
        y : array, shape (n_rows,)
            Target per forward call [target unit, e.g. ms], finite and > 0.

        Returns
        -------
        self : LayerAdditiveCostModel

        Raises
        ------
        ParameterError
            X has no per-layer-type columns, or a target is ≤ 0 or not finite.
        """
        y = _check_y(y)
        df = _frame(X)
        types = self._types(df.columns)
        if not types:
            raise ParameterError(
                "LayerAdditiveCostModel needs per-layer-type columns (count__<Type>, flops__<Type>, bytes__<Type>). "
                "Fix: build X with feature_frame(rows, layers=store.read_layers())."
            )
        self.feature_names_in_ = list(df.columns)
        A = self._design(df, types)
        # scale columns so NNLS is well conditioned; rows by 1/y for relative error
        col_scale = np.where(A.max(0) > 0, A.max(0), 1.0)
        As = A / col_scale / y[:, None]
        w, _ = nnls(As, np.ones_like(y), maxiter=50 * As.shape[1])
        w = w / col_scale
        self.layer_types_ = types
        k = 3 * len(types)
        self.coef_ = {t: tuple(float(v) for v in w[3 * i:3 * i + 3]) for i, t in enumerate(types)}
        if self.generic:
            self.coef_["*"] = tuple(float(v) for v in w[k:k + 3])
        self.intercept_ = float(w[-1]) if self.intercept else 0.0
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def _layer_cost(self, layer_type: str, flops, out_bytes) -> np.ndarray:
        a, b, c = self.coef_.get(layer_type, (0.0, 0.0, 0.0))
        g = self.coef_.get("*", (0.0, 0.0, 0.0))
        return (a + g[0]) + (b + g[1]) * np.asarray(flops, float) + (c + g[2]) * np.asarray(out_bytes, float)

    def predict(self, X):
        """Predicted target: ``intercept_`` plus the cost of every layer counted in X's per-type columns.

        Parameters
        ----------
        X : pandas DataFrame, shape (n_rows, n_features)
            Feature frame with per-layer-type columns; types unseen in training are priced by the
            type-independent terms (``generic=True``), other columns are ignored.

        Returns
        -------
        numpy array, shape (n_rows,)
            Prediction [target unit].

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        FeatureMismatchError
            A per-layer column of another kind than ``count``, ``flops`` or ``bytes``.
        """
        check_is_fitted(self, "coef_")
        df = _frame(X, self.feature_names_in_)
        types = self._types(df.columns)
        unknown = [c for c in df.columns if "__" in c and c.split("__", 1)[0] not in ("count", "flops", "bytes")]
        if unknown:
            raise FeatureMismatchError([], unknown, type(self).__name__)
        total = np.full(len(df), self.intercept_)
        for t in types:
            n = df[f"count__{t}"].to_numpy(float)
            f = df.get(f"flops__{t}", pd.Series(0.0, index=df.index)).to_numpy(float)
            by = df.get(f"bytes__{t}", pd.Series(0.0, index=df.index)).to_numpy(float)
            a, b, c = self.coef_.get(t, (0.0, 0.0, 0.0))
            g = self.coef_.get("*", (0.0, 0.0, 0.0))
            total += (a + g[0]) * n + (b + g[1]) * f + (c + g[2]) * by
        return total

    def predict_layers(self, layers, batch_size: int = 1) -> np.ndarray:
        """Predicted cost of each layer of one network [target unit], in the given order.

        Parameters
        ----------
        layers : DataFrame
            Per-layer rows of one network (``layer_type``, ``flops`` [FLOP per inference],
            ``output_bytes`` [B per inference]), e.g. from ``Store.read_layers()`` or
            :func:`workbench.measure.features.layer_breakdown`.
        batch_size : int
            Samples per forward call.

        Returns
        -------
        numpy array, shape (n_layers,)
            Cost of each layer [target unit] (without the per-call ``intercept_``).
        """
        check_is_fitted(self, "coef_")
        lay = layers.to_pandas() if hasattr(layers, "to_pandas") and not isinstance(layers, pd.DataFrame) else layers
        out = np.empty(len(lay))
        for i, (t, f, by) in enumerate(zip(lay["layer_type"], lay["flops"], lay["output_bytes"], strict=True)):
            out[i] = self._layer_cost(t, f * batch_size, by * batch_size)
        return out

    def predict_span(self, layers, start: int = 0, stop: int | None = None, batch_size: int = 1) -> float:
        """Predicted cost of layers ``start:stop`` run as one call (a prefix or suffix for partitioning).

        The per-call ``intercept_`` is added once, as each partition is one call on its device.
        """
        per = self.predict_layers(layers, batch_size)
        return float(per[start:stop].sum() + self.intercept_)


class ResidualBoostedCostModel(RegressorMixin, BaseEstimator):
    """A cost model times a gradient-boosted correction: ``ŷ = base(x) · exp(g(x))``.

    ``g`` is fitted on the out-of-fold log ratio ``log(y / base(x))`` so it learns what the base
    model systematically misses (e.g. cache effects) rather than its in-sample noise.

    Parameters
    ----------
    base : cost model, optional
        The model to correct (default :class:`LayerAdditiveCostModel`).
    cv : int
        Folds of the out-of-fold base predictions (≥ 2; at most one per row). With a single training
        row there is no out-of-fold prediction: the correction is 1 and the model is the base model.
    shrink : float
        Exponent of the correction at prediction time (1: all of it, 0: the base model alone).
    random_state : int
        Shuffling of the folds and seed of the correction's trees.
    """

    def __init__(self, base=None, cv: int = 5, shrink: float = 1.0, random_state: int = 0):
        self.base = base
        self.cv = cv
        self.shrink = shrink
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the base model on all rows and the correction on its out-of-fold log ratios.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            The features the base model needs (the additive model: per-layer-type columns).
        y : array, shape (n_rows,)
            Target per forward call [target unit, e.g. ms], finite and > 0.

        Returns
        -------
        self : ResidualBoostedCostModel

        Raises
        ------
        ParameterError
            ``cv`` not an integer ≥ 2, a target ≤ 0 or not finite, or what the base model's ``fit`` raises.
        """
        y = _check_y(y)
        check_int(self.cv, "cv", minimum=2, fix="give the number of folds of the out-of-fold predictions, e.g. cv=5.")
        X = _frame(X)
        base = self.base if self.base is not None else LayerAdditiveCostModel()
        self.base_ = clone(base).fit(X, y)
        if len(y) < 2:  # one row: no out-of-fold prediction, so no correction (a factor of 1)
            r = np.zeros(len(y))
        else:
            oof = np.empty_like(y)
            for tr, te in KFold(min(self.cv, len(y)), shuffle=True, random_state=self.random_state).split(X):
                oof[te] = clone(base).fit(X.iloc[tr], y[tr]).predict(X.iloc[te])
            r = np.log(y) - np.log(np.maximum(oof, 1e-300))
        self.correction_ = TreeCostModel("gbm", n_estimators=200, max_depth=2, random_state=self.random_state).fit(
            X, np.exp(r))
        self.feature_names_in_ = list(X.columns)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict(self, X):
        """Predicted target, ``base(x) · exp(g(x)) ** shrink``.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            Features with the columns the model was fitted on.

        Returns
        -------
        numpy array, shape (n_rows,)
            Prediction [target unit].

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        FeatureMismatchError
            X lacks a fitted column or holds one the models were not fitted on.
        """
        check_is_fitted(self, "base_")
        return self.base_.predict(X) * self.correction_.predict(X) ** self.shrink
