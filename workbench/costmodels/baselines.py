"""Baseline cost models: the target proportional to FLOPs, and the roofline bound scaled by one factor.

Both have one learned number and no per-layer knowledge; every other model of the package is
judged against them (docs/costmodels.md). They fit the factor as a geometric mean of ratios, so
they too minimise relative rather than absolute error.

References
----------
Roofline: Williams, Waterman, Patterson, "Roofline: an insightful visual performance model for
multicore architectures", CACM 52(4), 2009.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from workbench.checks import check_number
from workbench.costmodels.base import CostModel, _check_y, _frame
from workbench.errors import ParameterError


class FlopsProportionalCostModel(CostModel):
    """Baseline: the target is proportional to FLOPs per forward call, ``y = coef_ · flops · batch_size``.

    ``coef_`` [target unit per FLOP] is the geometric mean of ``y / (flops · batch_size)`` (the
    least-squares fit in log space), so it minimises relative rather than absolute error.
    Rows without FLOPs (0) are ignored when fitting and predicted as 0.
    """

    def fit(self, X, y):
        """Fit ``coef_`` on the rows with FLOPs.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            Features with ``flops`` [FLOP per inference] and optionally ``batch_size`` [samples per call].
        y : array, shape (n_rows,)
            Target per forward call [target unit, e.g. ms], finite and > 0.

        Returns
        -------
        self : FlopsProportionalCostModel

        Raises
        ------
        ParameterError
            A target ≤ 0 or not finite, a negative feature, no ``flops`` column, or no row with FLOPs.
        """
        y = _check_y(y)
        self.feature_names_in_ = self._fit_names(X)
        df = _frame(X, self.feature_names_in_)
        cols = ["flops"] + (["batch_size"] if "batch_size" in df.columns else [])
        a = self._select(df, cols, fitting=True)
        work = a[:, 0] * (a[:, 1] if a.shape[1] > 1 else 1.0)
        ok = work > 0
        if not ok.any():
            raise ParameterError("FlopsProportionalCostModel needs rows with flops > 0.")
        self.coef_ = float(np.exp(np.mean(np.log(y[ok]) - np.log(work[ok]))))
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict(self, X):
        """Predicted target per forward call, ``coef_ · flops · batch_size``.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            Features with the columns the model was fitted on.

        Returns
        -------
        numpy array, shape (n_rows,)
            Prediction [target unit]; 0 for rows without FLOPs.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        FeatureMismatchError
            X lacks a fitted column or holds one the model was not fitted on.
        """
        check_is_fitted(self, "coef_")
        df = _frame(X, self.feature_names_in_)
        self._select(df, None, fitting=False)
        work = df["flops"].to_numpy(float) * (df["batch_size"].to_numpy(float) if "batch_size" in df else 1.0)
        return self.coef_ * work


class RooflineCostModel(CostModel):
    """Baseline: roofline time ``max(FLOPs / peak, bytes / bandwidth)`` scaled by a fitted factor.

    ``flops · batch_size`` FLOPs at ``peak_flops_per_s`` against ``weight_bytes + activation_bytes ·
    batch_size`` bytes moved at ``memory_bandwidth_bytes_per_s``; the result in ms is multiplied by
    ``scale_`` (geometric mean of measured / roofline time; 1 would be a device at its peaks).

    Parameters
    ----------
    peak_flops_per_s : float, optional
        Peak [FLOP/s]; when None, X must hold a ``peak_flops_per_s`` column (catalog features).
    memory_bandwidth_bytes_per_s : float, optional
        Memory bandwidth [B/s]; when None, X must hold ``memory_bandwidth_bytes_per_s``.
    fit_scale : bool
        Fit ``scale_``; otherwise ``scale_ = 1`` (the pure roofline bound, a lower bound on latency).
    """

    def __init__(self, peak_flops_per_s: float | None = None, memory_bandwidth_bytes_per_s: float | None = None,
                 fit_scale: bool = True):
        self.peak_flops_per_s = peak_flops_per_s
        self.memory_bandwidth_bytes_per_s = memory_bandwidth_bytes_per_s
        self.fit_scale = fit_scale

    def _bound_ms(self, df: pd.DataFrame) -> np.ndarray:
        b = df["batch_size"].to_numpy(float) if "batch_size" in df else 1.0
        peak = self.peak_flops_per_s if self.peak_flops_per_s is not None else df["peak_flops_per_s"].to_numpy(float)
        bw = (self.memory_bandwidth_bytes_per_s if self.memory_bandwidth_bytes_per_s is not None
              else df["memory_bandwidth_bytes_per_s"].to_numpy(float))
        compute_s = df["flops"].to_numpy(float) * b / peak
        memory_s = (df["weight_bytes"].to_numpy(float) + df["activation_bytes"].to_numpy(float) * b) / bw
        return np.maximum(compute_s, memory_s) * 1e3

    def fit(self, X, y):
        """Fit ``scale_``, the geometric mean of measured over roofline time.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            Features with ``flops`` [FLOP per inference], ``weight_bytes`` [B], ``activation_bytes``
            [B per inference], optionally ``batch_size`` [samples per call], and the device peaks
            ``peak_flops_per_s`` [FLOP/s] and ``memory_bandwidth_bytes_per_s`` [B/s] where the
            constructor was given none.
        y : array, shape (n_rows,)
            Latency per forward call [ms], finite and > 0.

        Returns
        -------
        self : RooflineCostModel

        Raises
        ------
        ParameterError
            A peak given to the constructor that is not a positive number, a target ≤ 0, a negative
            feature, or a needed column missing from X.
        """
        y = _check_y(y)
        for name in ("peak_flops_per_s", "memory_bandwidth_bytes_per_s"):
            v = getattr(self, name)
            if v is not None:
                check_number(v, name, minimum=0, exclusive=True,
                             fix=f"give the device's {name} (see workbench.catalog.devices), or None to read it "
                                 "from X.")
        self.feature_names_in_ = self._fit_names(X)
        df = _frame(X, self.feature_names_in_)
        need = ["flops", "weight_bytes", "activation_bytes"]
        need += [n for n in ("peak_flops_per_s", "memory_bandwidth_bytes_per_s") if getattr(self, n) is None]
        self._select(df, need, fitting=True)
        bound = self._bound_ms(df)
        ok = bound > 0
        self.scale_ = float(np.exp(np.mean(np.log(y[ok]) - np.log(bound[ok])))) if self.fit_scale else 1.0
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict(self, X):
        """Predicted latency per forward call, ``scale_ ·`` the roofline bound.

        Parameters
        ----------
        X : pandas DataFrame or 2-D array, shape (n_rows, n_features)
            Features with the columns the model was fitted on.

        Returns
        -------
        numpy array, shape (n_rows,)
            Latency [ms].

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        FeatureMismatchError
            X lacks a fitted column or holds one the model was not fitted on.
        """
        check_is_fitted(self, "scale_")
        df = _frame(X, self.feature_names_in_)
        self._select(df, None, fitting=False)
        return self.scale_ * self._bound_ms(df)
