"""Regression cost models per device class: latency, energy and memory of a model on a device.

Modules: :mod:`~workbench.costmodels.features` (feature frames from store rows and the per-layer
table), :mod:`~workbench.costmodels.estimators` (the scikit-learn contract; it gathers the
estimators of :mod:`~workbench.costmodels.baselines`, :mod:`~workbench.costmodels.regressions`,
:mod:`~workbench.costmodels.additive` and :mod:`~workbench.costmodels.layerwise`, on
:mod:`~workbench.costmodels.base`), :mod:`~workbench.costmodels.intervals` (conformal intervals),
:mod:`~workbench.costmodels.factory` (a fresh estimator of each kind),
:mod:`~workbench.costmodels.training` (a store's training tables, layer shapes filled),
:mod:`~workbench.costmodels.validation` (metrics, leave-one-family-out, leave-one-benchmark-out),
:mod:`~workbench.costmodels.fewshot` (calibrating a new device from k measurements),
:mod:`~workbench.costmodels.persistence` (JSON model files, checked on load by
:mod:`~workbench.costmodels.integrity`) and
:mod:`~workbench.costmodels.workflow` (fit from a store or rows, save). See
``docs/costmodels.md``.
"""

import importlib

_EXPORTS = {
    "ConformalCostModel": "intervals",
    "CostModelFileError": "persistence",
    "SavedCostModel": "persistence",
    "FeatureMismatchError": "base",
    "FewShotCalibrator": "fewshot",
    "FlopsProportionalCostModel": "baselines",
    "LayerAdditiveCostModel": "additive",
    "LayerwiseCostModel": "layerwise",
    "LogLinearCostModel": "regressions",
    "ResidualBoostedCostModel": "additive",
    "RooflineCostModel": "baselines",
    "TARGETS": "features",
    "TargetMismatchError": "persistence",
    "TreeCostModel": "regressions",
    "UnknownCostModelClassError": "persistence",
    "VersionMismatchError": "persistence",
    "evaluate_fewshot": "fewshot",
    "feature_frame": "features",
    "leave_one_group_out": "validation",
    "load": "persistence",
    "mape": "validation",
    "metrics": "validation",
    "rmse": "validation",
    "save": "persistence",
    "summarize": "validation",
    "training_data": "features",
    "wide_latencies": "fewshot",
    "within": "validation",
}
"""Public name → submodule; imported on first use (PEP 562), so importing one submodule (e.g. the
CLI reading :data:`~workbench.costmodels.kinds.KINDS`) does not import scikit-learn."""

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import the submodule of a public name on first use (PEP 562)."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"workbench.costmodels.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'workbench.costmodels' has no attribute {name!r}")
