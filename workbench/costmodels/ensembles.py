"""Fitted tree ensembles as plain node arrays: stored as JSON (no pickles) and evaluated without scikit-learn.

:class:`~workbench.costmodels.regressions.TreeCostModel` and
:class:`~workbench.costmodels.layer_models.LayerwiseCostModel` fit a scikit-learn ensemble, keep
``_export_ensemble(est)`` as their learned state and predict with ``_predict_ensemble``, which
gives what the ensemble's own ``predict`` gives (tested to 1e-10), so a model file
(:mod:`~workbench.costmodels.persistence`) holds numbers only.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor


def _export_ensemble(est) -> dict:
    """Plain arrays of a fitted sklearn tree ensemble (so it persists as JSON without pickles).

    Parameters
    ----------
    est : fitted ``GradientBoostingRegressor`` or ``RandomForestRegressor``

    Returns
    -------
    dict
        ``kind`` ("gbm" or "rf"), ``init`` (the constant start), ``learning_rate`` (weight of each
        tree: 1 / n_trees for a forest) and ``trees`` (per tree: ``left``, ``right``, ``feature``,
        ``threshold``, ``value`` node lists).
    """

    def tree(t):
        tr = t.tree_
        return {"left": tr.children_left.tolist(), "right": tr.children_right.tolist(),
                "feature": tr.feature.tolist(), "threshold": tr.threshold.tolist(),
                "value": tr.value[:, 0, 0].tolist()}

    if isinstance(est, GradientBoostingRegressor):
        return {"kind": "gbm", "init": float(est.init_.constant_.ravel()[0]), "learning_rate": est.learning_rate,
                "trees": [tree(t) for t in est.estimators_[:, 0]]}
    return {"kind": "rf", "init": 0.0, "learning_rate": 1.0 / len(est.estimators_),
            "trees": [tree(t) for t in est.estimators_]}


def _predict_ensemble(state: dict, A: np.ndarray) -> np.ndarray:
    """Prediction of an exported ensemble (:func:`_export_ensemble`) for the rows of ``A`` (its design)."""
    out = np.full(A.shape[0], state["init"], dtype=float)
    for t in state["trees"]:
        left, right = np.asarray(t["left"]), np.asarray(t["right"])
        feat, thr, val = np.asarray(t["feature"]), np.asarray(t["threshold"]), np.asarray(t["value"])
        node = np.zeros(A.shape[0], dtype=int)
        active = left[node] != -1
        while active.any():
            idx = np.nonzero(active)[0]
            n = node[idx]
            go_left = A[idx, feat[n]] <= thr[n]
            node[idx] = np.where(go_left, left[n], right[n])
            active = left[node] != -1
        out += state["learning_rate"] * val[node]
    return out
