"""Names of the cost-model kinds (no heavy imports, so the CLI parser can list them cheaply)."""

KINDS = {
    "flops": "FLOPs-proportional baseline",
    "roofline": "roofline baseline (needs catalog peaks: the device must be in the catalog)",
    "loglinear": "power law in log space on FLOPs, params, weight and activation bytes",
    "loglinear-flops": "power law in FLOPs alone (2 coefficients: for few distinct models, e.g. 4 per MLPerf Tiny board)",
    "loglinear-layers": "power law in log space on base and per-layer-type features",
    "gbm": "gradient-boosted trees in log space on base and per-layer-type features",
    "rf": "random forest in log space on base and per-layer-type features",
    "additive": "per-layer-type additive model (Neurosurgeon/nn-Meter style)",
    "additive+gbm": "additive model × gradient-boosted correction of its log ratio",
    "layerwise": "sum of per-layer latencies predicted by trees fitted on the per-layer breakdown (latency only)",
}
"""Cost-model kinds for :func:`make_estimator` and ``workbench fit --kind``."""

DEFAULT_KIND = "layerwise"
"""Default kind for latency: the best kind of the benchmark (docs/costmodels.md)."""


def default_kind(target: str) -> str:
    """``layerwise`` for latency (it learns from per-layer latencies), ``additive`` for other targets."""
    return DEFAULT_KIND if target == "latency_ms" else "additive"
