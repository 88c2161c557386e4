"""The cost-model factory: a fresh estimator of each kind (:data:`~workbench.costmodels.kinds.KINDS`).

:mod:`~workbench.costmodels.kinds` holds only the names (so the command line lists them without
importing scikit-learn); this module builds the estimators behind them.
"""

from __future__ import annotations

from workbench.checks import check_interval
from workbench.costmodels.additive import LayerAdditiveCostModel, ResidualBoostedCostModel
from workbench.costmodels.baselines import FlopsProportionalCostModel, RooflineCostModel
from workbench.costmodels.features import BASE_FEATURES, DEVICE_FEATURES
from workbench.costmodels.intervals import ConformalCostModel
from workbench.costmodels.kinds import DEFAULT_KIND, KINDS
from workbench.costmodels.layerwise import LayerwiseCostModel
from workbench.costmodels.regressions import LogLinearCostModel, TreeCostModel
from workbench.errors import ParameterError, UnknownNameError


def make_estimator(kind: str = DEFAULT_KIND, *, interval: float | None = 0.9, random_state: int = 0):
    """A fresh (unfitted) cost model of ``kind``, wrapped for ``interval`` prediction intervals.

    Parameters
    ----------
    kind : str
        A key of :data:`KINDS`.
    interval : float or None
        Nominal coverage of the conformal intervals (0.9 → 90 %); None for point predictions only.
    random_state : int
        Seed of the tree-based kinds.

    Returns
    -------
    estimator
        Unfitted; a :class:`~workbench.costmodels.intervals.ConformalCostModel` around the kind's
        model unless ``interval`` is None.

    Raises
    ------
    UnknownNameError
        ``kind`` is not a key of :data:`KINDS`.
    ParameterError
        ``interval`` is not in (0, 1).
    """
    if kind not in KINDS:
        raise UnknownNameError("cost-model kind", kind, KINDS)
    base_cols = [c for c in BASE_FEATURES if c not in ("batch_size", "dtype_bytes")]
    est = {
        "flops": lambda: FlopsProportionalCostModel(),
        "roofline": lambda: RooflineCostModel(),
        "loglinear": lambda: LogLinearCostModel(features=base_cols),
        "loglinear-flops": lambda: LogLinearCostModel(features=["flops"]),
        "loglinear-layers": lambda: LogLinearCostModel(alpha=1.0),
        "gbm": lambda: TreeCostModel("gbm", random_state=random_state),
        "rf": lambda: TreeCostModel("rf", n_estimators=200, max_depth=None, random_state=random_state),
        "additive": lambda: LayerAdditiveCostModel(),
        "additive+gbm": lambda: ResidualBoostedCostModel(LayerAdditiveCostModel(), random_state=random_state),
        "layerwise": lambda: LayerwiseCostModel(random_state=random_state),
    }[kind]()
    if interval is None:
        return est
    return ConformalCostModel(est, interval=check_interval(interval))


def needs_layers(est) -> bool:
    """Whether ``fit``/``predict`` of ``est`` need the per-layer table (``layers=``)."""
    inner = getattr(est, "estimator", None)
    return isinstance(est, LayerwiseCostModel) or (inner is not None and needs_layers(inner))


def check_kind(kind: str, target: str | None = None, X=None) -> None:
    """Raise unless a model of ``kind`` can be fitted for ``target`` on the feature frame ``X``.

    Parameters
    ----------
    kind : str
        A key of :data:`KINDS`.
    target : str, optional
        The quantity to predict (not checked when None).
    X : pandas DataFrame, optional
        The training features (not checked when None).

    Raises
    ------
    UnknownNameError
        ``kind`` is not a key of :data:`KINDS`.
    ParameterError
        ``layerwise`` for a target other than latency (the per-layer table holds latencies only), or
        ``roofline`` on features without the device peaks (:data:`~workbench.costmodels.features.DEVICE_FEATURES`).
    """
    if kind not in KINDS:
        raise UnknownNameError("cost-model kind", kind, KINDS)
    if kind == "layerwise" and target is not None and target != "latency_ms":
        raise ParameterError(f"kind 'layerwise' predicts latency only (the per-layer table has no {target}). "
                             "Fix: choose another --kind, e.g. additive or loglinear-layers.")
    if kind == "roofline" and X is not None and not set(DEVICE_FEATURES) <= set(X.columns):
        raise ParameterError(
            f"kind 'roofline' needs each row's device peaks {list(DEVICE_FEATURES)}, which the store's feature frame "
            "does not hold. Fix: choose another --kind (e.g. flops, the other one-coefficient baseline), or fit "
            "RooflineCostModel(peak_flops_per_s, memory_bandwidth_bytes_per_s) in Python.")
