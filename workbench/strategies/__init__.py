"""Deployment strategies measured on real data: compression (int8, pruning, distillation) and
early exit / cascades. See ``docs/strategies.md``.

Modules: :mod:`.data` (digits splits, small models, training), :mod:`.compression` (pure model
transforms), :mod:`.exits` (exit decisions, expected FLOPs, sweeps, Pareto fronts, threshold
choice), :mod:`.cascades` (early-exit networks and cascades as models: training, logits and FLOPs
per stage), :mod:`.recording` (the rows of one run), the train → transform → measure → store
experiments :mod:`.compression_experiments` and :mod:`.staged_experiments` (early exit, cascades),
:mod:`.variant_features` (a variant's features as units to price), :mod:`.pricing` (pricing units
with saved cost models), :mod:`.projection` (the variants' predicted cost on other devices, as schema
rows) and :mod:`.roofline` (roofline lower bounds on catalog devices without measurements).
"""

from workbench.strategies.cascades import (
    Cascade,
    EarlyExitClassifier,
    EarlyExitNet,
    ExitPath,
    cumulative_flops,
    early_exit_cnn,
    stage_logits,
    train_early_exit,
)
from workbench.strategies.compression import (
    distill,
    distillation_loss,
    int8_weight_dtypes,
    nonzero_params,
    prune_structured,
    prune_unstructured,
    quantize_int8_dynamic,
    quantize_int8_static,
)
from workbench.strategies.compression_experiments import COMPRESSION_METHODS, run_compression
from workbench.strategies.data import (
    DigitsSplits,
    Split,
    accuracy,
    build_model,
    fit,
    load_digits_splits,
    mlp,
    small_cnn,
    train_classifier,
)
from workbench.strategies.exits import (
    CRITERIA,
    choose_threshold,
    exit_rates,
    expected_flops,
    first_exit,
    pareto_front,
    sweep,
)
from workbench.strategies.projection import project
from workbench.strategies.recording import StrategyResult
from workbench.strategies.roofline import roofline_bounds
from workbench.strategies.staged_experiments import measure_dynamic, run_cascade, run_early_exit

__all__ = [
    "CRITERIA", "COMPRESSION_METHODS", "Cascade", "DigitsSplits", "EarlyExitClassifier", "EarlyExitNet", "ExitPath",
    "Split", "StrategyResult", "accuracy", "build_model", "choose_threshold", "cumulative_flops", "distill",
    "distillation_loss", "early_exit_cnn", "expected_flops", "exit_rates", "first_exit", "fit",
    "int8_weight_dtypes", "load_digits_splits", "measure_dynamic", "mlp", "nonzero_params", "pareto_front",
    "project", "prune_structured", "prune_unstructured", "quantize_int8_dynamic", "quantize_int8_static", "run_cascade",
    "roofline_bounds", "run_compression", "run_early_exit", "small_cnn", "stage_logits", "sweep", "train_classifier",
    "train_early_exit",
]
