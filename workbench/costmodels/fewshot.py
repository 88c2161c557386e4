"""Few-shot calibration of a new device: k measurements there plus full data on known devices.

The measurements of one model on several devices form a row of a *wide* table (model × device,
:func:`wide_latencies`). For a new (target) device with k measured models,
:class:`FewShotCalibrator` regresses ``log`` latency on the target on the ``log`` latencies of
the same model on every known device plus the model's architecture (one-hot), with a ridge
penalty chosen by leave-one-out cross-validation *on the k training rows only*
(``sklearn.linear_model.RidgeCV``). It then predicts every other model that the known devices
measured. This is the "transfer" idea of nn-Meter's and HELP's cross-device studies reduced to a
log-linear map: latencies on different hardware are close to power laws of each other within an
architecture family.

References
----------
Zhang et al., "nn-Meter: towards accurate latency prediction of deep-learning model inference on
diverse edge devices", MobiSys 2021 (devices and the ±10 % metric); Lee et al., "HELP: Hardware-
adaptive efficient latency prediction for NAS via meta-learning", NeurIPS 2021 (few-shot latency
transfer from reference devices).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import RidgeCV
from sklearn.utils.validation import check_is_fitted

from workbench.checks import check_int
from workbench.costmodels.base import FeatureMismatchError, _check_y
from workbench.costmodels.features import architecture_of
from workbench.costmodels.validation import mape, within
from workbench.errors import ParameterError, UnknownNameError
from workbench.schema import as_polars

ARCH_COLUMN = "architecture"


def wide_latencies(rows, *, value: str = "latency_ms_p50") -> pd.DataFrame:
    """Model × device table of ``value`` from measurement rows, with an ``architecture`` column.

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Measurement rows with ``model``, ``device_name`` and ``value``; ``model_family`` if present.
    value : str
        Column to spread (median over repeated rows of one model on one device).

    Returns
    -------
    pandas DataFrame indexed by model: one column per device [unit of ``value``], then
    ``architecture`` (the model id without a trailing ``_<number>``, see
    :func:`workbench.costmodels.features.architecture_of`) and ``model_family``.
    """
    df = as_polars(rows)
    for c in ("model", "device_name", value):
        if c not in df.columns:
            raise ParameterError(f"rows need a {c!r} column for a model × device table; they have {df.columns}.")
    df = df.filter(pl.col(value).is_not_null())
    wide = (df.group_by("model", "device_name").agg(pl.col(value).median())
            .pivot(on="device_name", index="model", values=value).sort("model").to_pandas().set_index("model"))
    wide = wide[sorted(wide.columns)]
    wide[ARCH_COLUMN] = [architecture_of(m) for m in wide.index]
    if "model_family" in df.columns:
        fam = df.group_by("model").agg(pl.col("model_family").first()).to_pandas().set_index("model")["model_family"]
        wide["model_family"] = fam.reindex(wide.index)
    return wide


class FewShotCalibrator(RegressorMixin, BaseEstimator):
    """Predict a new device's latency from the latencies of the same model on known devices.

    ``X`` is a DataFrame with one numeric column per known device (latency [ms], NaN where not
    measured) and optionally a string column ``arch_column``; ``y`` is the latency on the new
    device [ms].

    Parameters
    ----------
    source : str, optional
        Known device used to fill a missing value of another known device (by the median log ratio
        between the two in the training rows); default: the first device column.
    alphas : tuple of float
        Ridge penalties tried by leave-one-out CV on the training rows.
    arch_column : str or None
        Categorical column with the architecture (one-hot encoded; unseen values get none).

    Attributes
    ----------
    devices_ : list of str
    categories_ : list of str
    coef_, intercept_ : fitted log-space coefficients.
    alpha_ : float
        The chosen ridge penalty.
    """

    def __init__(self, source: str | None = None, alphas=(1e-3, 1e-2, 1e-1, 1.0, 10.0),
                 arch_column: str | None = ARCH_COLUMN):
        self.source = source
        self.alphas = alphas
        self.arch_column = arch_column

    def _design(self, X: pd.DataFrame) -> np.ndarray:
        L = np.log(X[self.devices_].to_numpy(dtype=float))
        s = self.devices_.index(self.source_)
        for j in range(len(self.devices_)):
            bad = ~np.isfinite(L[:, j])
            L[bad, j] = L[bad, s] + self.fill_offset_[j]
        if np.any(~np.isfinite(L)):
            raise ParameterError(
                f"rows lack a latency on the source device {self.source_!r}; it is needed to fill the others. "
                "Fix: drop those rows or choose a source every row has."
            )
        cols = [L]
        if self.arch_column is not None:
            arch = X[self.arch_column].astype(str).to_numpy()
            cols.append(np.column_stack([(arch == c).astype(float) for c in self.categories_])
                        if self.categories_ else np.zeros((len(X), 0)))
        return np.column_stack(cols)

    def fit(self, X, y):
        """Fit the log-space ridge map from the known devices' latencies to the new device's.

        Parameters
        ----------
        X : pandas DataFrame, shape (n_rows, n_columns)
            One column per known device: latency of the row's model there [ms], NaN where not
            measured (filled from ``source``); ``arch_column`` (str) when it is not None; a
            ``model_family`` column is ignored.
        y : array, shape (n_rows,)
            Latency of the same models on the new device [ms], finite and > 0.

        Returns
        -------
        self : FewShotCalibrator

        Raises
        ------
        ParameterError
            X not a DataFrame, without a device column or without ``arch_column``, a target ≤ 0, or
            rows without a latency on the source device.
        UnknownNameError
            ``source`` is not a device column of X.
        """
        y = _check_y(y)
        if not isinstance(X, pd.DataFrame):
            raise ParameterError("FewShotCalibrator needs X as a DataFrame with one latency column per known device.")
        if self.arch_column is not None and self.arch_column not in X.columns:
            raise ParameterError(f"X has no {self.arch_column!r} column; pass arch_column=None to fit without it.")
        self.devices_ = [c for c in X.columns if c not in (self.arch_column, "model_family")]
        if not self.devices_:
            raise ParameterError("X holds no known-device latency column.")
        self.source_ = self.source or self.devices_[0]
        if self.source_ not in self.devices_:
            raise UnknownNameError("source device", self.source_, self.devices_)
        L = np.log(X[self.devices_].to_numpy(dtype=float))
        s = self.devices_.index(self.source_)
        self.fill_offset_ = [float(np.nanmedian(L[:, j] - L[:, s])) if np.isfinite(L[:, j] - L[:, s]).any() else 0.0
                             for j in range(L.shape[1])]
        self.categories_ = sorted(set(X[self.arch_column].astype(str))) if self.arch_column is not None else []
        A = self._design(X)
        r = RidgeCV(alphas=np.asarray(self.alphas, dtype=float)).fit(A, np.log(y))
        self.coef_, self.intercept_, self.alpha_ = r.coef_, float(r.intercept_), float(r.alpha_)
        self.feature_names_in_ = list(X.columns)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict(self, X):
        """Predicted latency on the new device.

        Parameters
        ----------
        X : pandas DataFrame, shape (n_rows, n_columns)
            The known devices' latencies [ms] (the columns seen in ``fit``; NaN where not measured)
            and ``arch_column``; architectures unseen in ``fit`` get no one-hot term.

        Returns
        -------
        numpy array, shape (n_rows,)
            Latency on the new device [ms].

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        FeatureMismatchError
            X lacks a known device's column.
        ParameterError
            A row without a latency on the source device.
        """
        check_is_fitted(self, "coef_")
        missing = [c for c in self.devices_ if c not in X.columns]
        if missing:
            raise FeatureMismatchError(missing, [], type(self).__name__)
        return np.exp(self.intercept_ + self._design(X) @ self.coef_)


def evaluate_fewshot(wide: pd.DataFrame, target: str, known: list[str], *, k: int = 100, seeds=range(10),
                     estimator=None) -> dict:
    """Share within ±10 % and MAPE when k random models are measured on ``target``.

    For each seed, k models measured on ``target`` (and on the first known device) are drawn at
    random; the estimator (default :class:`FewShotCalibrator`) is fitted on them with the ``known``
    devices' latencies as features and evaluated on every *other* model measured on ``target``.
    Nothing is tuned on the evaluation rows.

    Returns
    -------
    dict with ``within10`` and ``mape`` (means over seeds), ``within10_per_seed``, ``k``,
    ``n_eval`` (evaluation rows per seed), ``target`` and ``known``.

    Raises
    ------
    UnknownNameError
        A device that is not a column of ``wide``.
    ParameterError
        ``k`` not a positive integer or leaving no model to evaluate, or ``target`` also in ``known``.
    """
    k = check_int(k, "k", fix="give the number of models measured on the new device, e.g. k=100.")
    for d in [target, *known]:
        if d not in wide.columns:
            raise UnknownNameError("device", d, [c for c in wide.columns if c not in (ARCH_COLUMN, "model_family")])
    if target in known:
        raise ParameterError(f"target device {target!r} is also listed as known; remove it from the known devices.")
    cols = list(known) + ([ARCH_COLUMN] if ARCH_COLUMN in wide.columns else [])
    pool = wide[wide[target].notna() & wide[known[0]].notna()]
    if len(pool) <= k:
        raise ParameterError(f"only {len(pool)} models are measured on {target!r}; k={k} leaves none to evaluate.")
    w10, mp = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(pool))
        tr, te = pool.iloc[idx[:k]], pool.iloc[idx[k:]]
        est = estimator if estimator is not None else FewShotCalibrator(source=known[0])
        m = clone(est).fit(tr[cols], tr[target].to_numpy(float))
        p = m.predict(te[cols])
        w10.append(within(te[target], p, 0.10))
        mp.append(mape(te[target], p))
    return {"target": target, "known": list(known), "k": k, "n_eval": len(pool) - k,
            "within10": float(np.mean(w10)), "mape": float(np.mean(mp)), "within10_per_seed": w10}
