"""Regression cost models per device class: latency, energy and memory of a model on a device.

Modules: :mod:`~workbench.costmodels.features` (feature frames from store rows and the per-layer
table), :mod:`~workbench.costmodels.estimators` (baselines, log-space regressions, per-layer
additive model), :mod:`~workbench.costmodels.intervals` (conformal intervals),
:mod:`~workbench.costmodels.validation` (metrics, leave-one-family-out),
:mod:`~workbench.costmodels.fewshot` (calibrating a new device from k measurements),
:mod:`~workbench.costmodels.persistence` (JSON model files) and
:mod:`~workbench.costmodels.workflow` (fit from a store, predict zoo models). See
``docs/costmodels.md``.
"""

from workbench.costmodels.estimators import (
    FeatureMismatchError,
    FlopsProportionalCostModel,
    LayerAdditiveCostModel,
    LayerwiseCostModel,
    LogLinearCostModel,
    ResidualBoostedCostModel,
    RooflineCostModel,
    TreeCostModel,
)
from workbench.costmodels.features import TARGETS, feature_frame, training_data
from workbench.costmodels.fewshot import FewShotCalibrator, evaluate_fewshot, wide_latencies
from workbench.costmodels.intervals import ConformalCostModel
from workbench.costmodels.persistence import TargetMismatchError, VersionMismatchError, load, save
from workbench.costmodels.validation import leave_one_group_out, mape, metrics, rmse, summarize, within

__all__ = [
    "TARGETS", "ConformalCostModel", "FeatureMismatchError", "FewShotCalibrator", "FlopsProportionalCostModel",
    "LayerAdditiveCostModel", "LayerwiseCostModel", "LogLinearCostModel", "ResidualBoostedCostModel", "RooflineCostModel",
    "TargetMismatchError", "TreeCostModel", "VersionMismatchError", "evaluate_fewshot", "feature_frame",
    "leave_one_group_out", "load", "mape", "metrics", "rmse", "save", "summarize", "training_data",
    "wide_latencies", "within",
]
