"""Cost-model estimators (scikit-learn API): baselines, log-space regressions, per-layer models.

This module gathers the estimators, which live one family per module (import from either):

- :mod:`~workbench.costmodels.baselines`: ``FlopsProportionalCostModel``, ``RooflineCostModel``;
- :mod:`~workbench.costmodels.regressions`: ``LogLinearCostModel``, ``TreeCostModel``;
- :mod:`~workbench.costmodels.additive`: ``LayerAdditiveCostModel``, ``ResidualBoostedCostModel``;
- :mod:`~workbench.costmodels.layerwise`: ``LayerwiseCostModel``;
- :mod:`~workbench.costmodels.base`: the base class ``CostModel``, ``FeatureMismatchError``,
  ``fit_intercept_scale`` and ``operator_fit_params``.

The scikit-learn contract
-------------------------
Every estimator takes ``X`` as a pandas DataFrame of features (:func:`workbench.costmodels.features.
feature_frame`) or a 2-D array whose columns are the ones named in ``features``; ``y`` is the target
in its unit (``latency_ms``: ms per forward call). ``__init__`` only stores arguments, parameters are
checked in ``fit``, learned attributes end in ``_``, and ``predict`` before ``fit`` raises
``sklearn.exceptions.NotFittedError``, so pipelines, ``clone`` and cross-validation work
(``tests/costmodels/test_estimators.py`` runs ``sklearn.utils.estimator_checks.check_estimator``).

All models except the baselines work in log space or minimise *relative* error: latencies span five
orders of magnitude, and the metrics that matter (MAPE, share within ±10 %) are relative.

References
----------
Per-layer additive latency: Kang et al., "Neurosurgeon", ASPLOS 2017 (per-layer-type regression
models summed over a network); Zhang et al., "nn-Meter", MobiSys 2021 (kernel-level predictors
summed over the kernels of a model). Roofline: Williams, Waterman, Patterson, CACM 52(4), 2009.
"""

from __future__ import annotations

from workbench.costmodels.additive import LayerAdditiveCostModel, ResidualBoostedCostModel
from workbench.costmodels.base import CostModel, FeatureMismatchError, fit_intercept_scale, operator_fit_params
from workbench.costmodels.baselines import FlopsProportionalCostModel, RooflineCostModel
from workbench.costmodels.layerwise import LayerwiseCostModel
from workbench.costmodels.regressions import LogLinearCostModel, TreeCostModel

__all__ = [
    "CostModel",
    "FeatureMismatchError",
    "FlopsProportionalCostModel",
    "LayerAdditiveCostModel",
    "LayerwiseCostModel",
    "LogLinearCostModel",
    "ResidualBoostedCostModel",
    "RooflineCostModel",
    "TreeCostModel",
    "fit_intercept_scale",
    "operator_fit_params",
]
