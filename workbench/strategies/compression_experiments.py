"""The compression experiment: train a digits model, compress it with each method, measure every variant.

:func:`run_compression` trains the baseline fp32 model, then runs one *compressor* per method
(:data:`COMPRESSORS`): int8 dynamic/static quantization, unstructured and structured pruning, and
a distilled student next to the same student trained alone. A compressor only transforms and
evaluates: it returns the models to measure (:class:`Variant`) and the summary figures it knows
before measuring (:class:`Compressed`). One shared step measures each variant with the profiler
at every batch size of the settings and adds the figures that need the measured row (size
ratios, speed-ups: the baseline's value ÷ the variant's, at the first batch size).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from torch import nn

from workbench.errors import ParameterError, UnknownNameError
from workbench.measure.features import count_flops
from workbench.measure.profiler import ProfileSettings
from workbench.strategies import compression
from workbench.strategies.data import MODELS, DigitsSplits, accuracy, build_model, train_classifier
from workbench.strategies.ort_compression import ort_int8
from workbench.strategies.recording import TRAINING, StrategyResult, StrategyRun, model_label, start_run


@dataclass(frozen=True)
class CompressionSetup:
    """What every compressor starts from: the trained baseline and the experiment's parameters.

    Attributes
    ----------
    base : nn.Module
        The trained fp32 model (never modified).
    name, label, family : str
        Its digits model name (:data:`~workbench.strategies.data.MODELS`), ``model`` column and family.
    accuracy : float
        Its test accuracy [1].
    flops : float
        Its counted FLOPs per sample [FLOP].
    config : dict
        Its architecture and training configuration, for ``config_json``.
    baseline_row : dict
        Its measured row at the first batch size of the settings.
    train_config : dict
        The training configuration alone (epochs, seed, optimiser), for other models' rows.
    splits : DigitsSplits
        The data.
    amount, epochs, fine_tune_epochs, seed, teacher, student, temperature, alpha, calibration_size
        As given to :func:`run_compression`.
    """

    base: nn.Module
    name: str
    label: str
    family: str
    accuracy: float
    flops: float
    config: dict
    baseline_row: dict
    train_config: dict
    splits: DigitsSplits
    amount: float
    epochs: int
    fine_tune_epochs: int
    seed: int
    teacher: str
    student: str
    temperature: float
    alpha: float
    calibration_size: int


@dataclass
class Variant:
    """One model to measure, with the identity of its rows.

    Attributes
    ----------
    model : nn.Module
        The model.
    label, family, strategy : str
        Its ``model``, ``model_family`` and ``strategy`` columns.
    accuracy : float
        Its test accuracy [1].
    config : dict
        Its ``config_json`` entries.
    dtype : str
        Its ``dtype`` column.
    flops : float or None
        FLOPs per sample to record [FLOP]; None counts them (int8 variants record the fp32 model's).
    ratios : dict
        Summary key → column: the key gets the baseline's value ÷ this variant's, at the first batch size.
    """

    model: nn.Module
    label: str
    family: str
    strategy: str
    accuracy: float
    config: dict
    dtype: str = "fp32"
    flops: float | None = None
    ratios: dict[str, str] = field(default_factory=dict)


@dataclass
class Compressed:
    """What a compressor returns: the variants to measure, the models to keep and the known figures.

    Attributes
    ----------
    variants : list of Variant
        Measured in this order.
    models : dict
        Models for :attr:`StrategyResult.models`, by name.
    summary : dict
        Summary figures that need no measurement (accuracies, accuracy drops [percentage points]).
    """

    variants: list[Variant]
    models: dict[str, nn.Module]
    summary: dict


# ---------------------------------------------------------------------------------------------- compressors

def _variant(s: CompressionSetup, model: nn.Module, strategy: str, acc: float, config: dict, **kw) -> Variant:
    """A variant of the baseline model (its label and family, its configuration plus ``config``)."""
    return Variant(model, s.label, s.family, strategy, acc, {**s.config, **config}, **kw)


def _int8_dynamic(s: CompressionSetup) -> Compressed:
    q = compression.quantize_int8_dynamic(s.base)
    acc = accuracy(q, s.splits.test)
    v = _variant(s, q, "int8-dynamic", acc, {
        "quantization": "torchao Int8DynamicActivationInt8WeightConfig", "weight_granularity": "per-row",
        "activation": "dynamic per-token", "quantized_layers": "nn.Linear"},
        dtype="int8", flops=s.flops, ratios={"int8_size_ratio": "weight_bytes"})
    return Compressed([v], {"int8-dynamic": q},
                      {"int8_accuracy_drop_pt": (s.accuracy - acc) * 100, "int8_dynamic_accuracy": acc})


def _int8_static(s: CompressionSetup) -> Compressed:
    calib = s.splits.train.x[:s.calibration_size]
    q = compression.quantize_int8_static(s.base, calib)
    acc = accuracy(q, s.splits.test)
    v = _variant(s, q, "int8-static", acc, {
        "quantization": "torchao Int8StaticActivationInt8WeightConfig", "weight_granularity": "per-row",
        "activation": "static per-tensor symmetric, absmax/127", "calibration_images": len(calib),
        "calibration_split": "train", "quantized_layers": "nn.Linear"},
        dtype="int8", flops=s.flops, ratios={"int8_static_size_ratio": "weight_bytes"})
    return Compressed([v], {"int8-static": q},
                      {"int8_static_accuracy_drop_pt": (s.accuracy - acc) * 100, "int8_static_accuracy": acc})


def _fine_tune(s: CompressionSetup) -> Callable[[nn.Module], None]:
    """Fine-tuning after pruning: ``fine_tune_epochs`` of training (none when 0), batch order seed + 1."""
    def fine_tune(model: nn.Module) -> None:
        if s.fine_tune_epochs > 0:
            train_classifier(model, s.splits, epochs=s.fine_tune_epochs, seed=s.seed + 1)
    return fine_tune


def _param_count(model: nn.Module) -> int:
    """Number of parameter elements (zeros included)."""
    return int(sum(p.numel() for p in model.parameters()))


def _prune_unstructured(s: CompressionSetup) -> Compressed:
    p = compression.prune_unstructured(s.base, s.amount, fine_tune=_fine_tune(s))
    acc = accuracy(p, s.splits.test)
    nz = compression.nonzero_params(p)
    v = _variant(s, p, f"prune-unstructured-{s.amount:g}", acc, {
        "amount": s.amount, "criterion": "l1", "scope": "per-layer", "fine_tune_epochs": s.fine_tune_epochs,
        "nonzero_params": nz, "sparsity": 1 - nz / _param_count(p),
        "note": "dense storage and dense kernels: zeros are still stored and computed"},
        ratios={"pruned_unstructured_speedup": "latency_ms_p50"})
    return Compressed([v], {"prune-unstructured": p},
                      {"pruned_unstructured_accuracy_drop_pt": (s.accuracy - acc) * 100,
                       "pruned_unstructured_nonzero_fraction": nz / _param_count(p)})


def _prune_structured(s: CompressionSetup) -> Compressed:
    p = compression.prune_structured(s.base, s.amount)
    _fine_tune(s)(p)
    p.eval()
    acc = accuracy(p, s.splits.test)
    v = _variant(s, p, f"prune-structured-{s.amount:g}", acc, {
        "amount": s.amount, "criterion": "l1-norm of neurons/filters", "fine_tune_epochs": s.fine_tune_epochs,
        "params_before": s.baseline_row["params"]},
        ratios={"pruned_structured_speedup": "latency_ms_p50", "pruned_structured_params_ratio": "params",
                "pruned_structured_flops_ratio": "flops"})
    return Compressed([v], {"prune-structured": p},
                      {"pruned_structured_accuracy_drop_pt": (s.accuracy - acc) * 100})


def _distill(s: CompressionSetup) -> Compressed:
    """The teacher (measured unless it is the baseline), the student trained alone and the distilled student."""
    teacher = s.base if s.teacher == s.name else train_classifier(build_model(s.teacher, s.seed), s.splits,
                                                                  epochs=s.epochs, seed=s.seed)
    t_acc = accuracy(teacher, s.splits.test)
    t_label, s_label = model_label(s.teacher), model_label(s.student)
    s_family, _, s_arch = MODELS[s.student]
    alone = train_classifier(build_model(s.student, s.seed), s.splits, epochs=s.epochs, seed=s.seed)
    distilled = compression.distill(build_model(s.student, s.seed), teacher, s.splits, temperature=s.temperature,
                                    alpha=s.alpha, epochs=s.epochs, seed=s.seed)
    a_alone, a_dist = accuracy(alone, s.splits.test), accuracy(distilled, s.splits.test)
    variants = [] if s.teacher == s.name else [
        Variant(teacher, t_label, MODELS[s.teacher][0], "baseline", t_acc, {**MODELS[s.teacher][2], **s.train_config})]
    variants += [
        Variant(alone, s_label, s_family, "baseline", a_alone,
                {**s_arch, **s.train_config, "role": "student trained alone"}),
        Variant(distilled, s_label, s_family, f"distilled-from-{t_label}", a_dist,
                {**s_arch, **s.train_config, "teacher": t_label, "teacher_accuracy": t_acc,
                 "temperature": s.temperature, "alpha": s.alpha}),
    ]
    return Compressed(variants, {"teacher": teacher, "student_alone": alone, "student_distilled": distilled},
                      {"teacher_accuracy": t_acc, "student_alone_accuracy": a_alone,
                       "student_distilled_accuracy": a_dist, "distilled_accuracy_gain_pt": (a_dist - a_alone) * 100})


COMPRESSORS: dict[str, Callable[[CompressionSetup], Compressed]] = {
    "int8-dynamic": _int8_dynamic,
    "int8-static": _int8_static,
    "prune-unstructured": _prune_unstructured,
    "prune-structured": _prune_structured,
    "distill": _distill,
}
"""Compression method → compressor (transform and evaluate; :func:`run_compression` measures)."""

COMPRESSION_METHODS = tuple(COMPRESSORS)
"""The compression methods, in the order :func:`run_compression` runs them by default."""

RUN_COMPRESSORS: dict[str, Callable[[StrategyRun, CompressionSetup], dict]] = {"ort-int8": ort_int8}
"""Methods asked for by name that measure and add their own rows to the run: ``ort-int8``, the baseline
exported to ONNX and run on onnxruntime, fp32 and int8 (:mod:`workbench.strategies.ort_compression`)."""


# ---------------------------------------------------------------------------------------------- experiment

def measure_variant(run: StrategyRun, v: Variant) -> dict:
    """Measure one variant with the profiler at every batch size of the run's settings; add its rows.

    Parameters
    ----------
    run : StrategyRun
        The run the rows are added to.
    v : Variant
        The model and the identity of its rows.

    Returns
    -------
    dict
        The variant's row at the first batch size.
    """
    return run.measure_static(v.model, model=v.label, family=v.family, strategy=v.strategy, acc=v.accuracy,
                              config=v.config, dtype=v.dtype, flops=v.flops)[0]


def measure_and_summarise(run: StrategyRun, compressed: Compressed, baseline_row: dict) -> dict:
    """Measure a compressor's variants in order; return its summary figures, the measured ratios first.

    Parameters
    ----------
    run : StrategyRun
        The run the rows are added to.
    compressed : Compressed
        What the compressor returned.
    baseline_row : dict
        The baseline's row at the first batch size.

    Returns
    -------
    dict
        ``{key: baseline_row[col] / row[col]}`` [×] for each of a variant's ``ratios`` (its row at the
        first batch size), then ``compressed.summary``.
    """
    summary = {}
    for v in compressed.variants:
        row = measure_variant(run, v)
        summary.update({key: baseline_row[col] / row[col] for key, col in v.ratios.items()})
    return {**summary, **compressed.summary}


def _check_compression_args(model: str, methods: Sequence[str], amount: float, teacher: str, student: str) -> None:
    """Fail before any training on an unknown model or method, no method, or a bad pruning amount."""
    if model not in MODELS:
        raise UnknownNameError("digits model", model, MODELS)
    for m in methods:
        if m not in COMPRESSORS and m not in RUN_COMPRESSORS:
            raise UnknownNameError("compression method", m, (*COMPRESSION_METHODS, *RUN_COMPRESSORS))
    if not methods:
        raise ParameterError(f"no compression method given. Fix: choose from {list(COMPRESSION_METHODS)}.")
    compression.check_amount(amount)
    if "distill" in methods:
        for n in (teacher, student):
            if n not in MODELS:
                raise UnknownNameError("digits model", n, MODELS)


def run_compression(model: str = "mlp", methods: Sequence[str] = COMPRESSION_METHODS, *, amount: float = 0.5,
                    epochs: int = 30, fine_tune_epochs: int = 5, seed: int = 0, teacher: str = "cnn",
                    student: str = "mlp-small", temperature: float = 2.0, alpha: float = 0.5,
                    calibration_size: int = 256, splits: DigitsSplits | None = None,
                    settings: ProfileSettings | None = None, meter=None, store=None, progress=None) -> StrategyResult:
    """Train ``model`` on digits, compress it with each method, measure every variant, store the rows.

    Parameters
    ----------
    model : str
        Digits model to compress (``mlp``, ``cnn``, ``mlp-small``; see :data:`workbench.strategies.data.MODELS`).
    methods : sequence of str
        Any of :data:`COMPRESSION_METHODS`, run in the order given.
    amount : float
        Pruning fraction in [0, 1) [1] (of weights for unstructured, of neurons/filters for structured).
    epochs : int
        Training epochs of every model [epochs].
    fine_tune_epochs : int
        Fine-tuning epochs after pruning [epochs] (0 for none).
    seed : int
        Seed of weight initialisation and batch order.
    teacher, student : str
        Digits models of the distillation experiment; the student is also trained alone with the
        same seed and epochs for the comparison.
    temperature : float
        Distillation temperature [1] (Hinton et al. 2015).
    alpha : float
        Weight of the distillation soft loss [1], in [0, 1].
    calibration_size : int
        Training images used to calibrate static int8 activation scales [images].
    splits : DigitsSplits, optional
        Data (default: :func:`~workbench.strategies.data.load_digits_splits`, seed 0).
    settings : ProfileSettings, optional
        Measurement settings (batch sizes, repeats, threads, energy window); default ``ProfileSettings()``.
    meter : str or EnergyMeter or None
        Energy meter (``"auto"``, ``"codecarbon"``, ...); ``None`` measures no energy.
    store : Store or path, optional
        Where to append the rows (one run file).
    progress : callable, optional
        ``progress(iterable, total=, desc=)`` wrapping the methods (after the baseline), e.g. ``tqdm``.

    Returns
    -------
    StrategyResult
        ``rows``/``layers`` of every variant at every batch size; ``models`` by method (and
        ``baseline``, ``teacher``, ``student_alone``, ``student_distilled``); ``summary`` holds
        ``baseline_accuracy``, ``int8_size_ratio`` (fp32 ÷ int8 weight bytes [×]),
        ``int8_accuracy_drop_pt``, ``int8_static_accuracy_drop_pt``, ``pruned_*_speedup`` (baseline ÷
        pruned median latency at the first batch size [×]), ``pruned_*_accuracy_drop_pt``,
        ``distilled_accuracy_gain_pt`` (distilled − alone [percentage points]).

    Raises
    ------
    UnknownNameError
        An unknown model, teacher, student or method (before any training).
    ParameterError
        No method, a pruning amount outside [0, 1), or ``settings`` that is not a ProfileSettings.
    StoreError
        A store that is not writable (before any training).
    """
    _check_compression_args(model, methods, amount, teacher, student)
    run, store = start_run(splits=splits, settings=settings, meter=meter, store=store)
    setup = _baseline(run, model, amount=amount, epochs=epochs, fine_tune_epochs=fine_tune_epochs, seed=seed,
                      teacher=teacher, student=student, temperature=temperature, alpha=alpha,
                      calibration_size=calibration_size)
    summary = {"model": setup.label, "baseline_accuracy": setup.accuracy}
    models = {"baseline": setup.base}
    for method in methods if progress is None else progress(methods, total=len(methods), desc="compress"):
        if method in RUN_COMPRESSORS:
            summary.update(RUN_COMPRESSORS[method](run, setup))
            continue
        compressed = COMPRESSORS[method](setup)
        summary.update(measure_and_summarise(run, compressed, setup.baseline_row))
        models.update(compressed.models)
    rows, layers = run.finish(store)
    return StrategyResult(rows, layers, summary, models=models)


def _baseline(run: StrategyRun, model: str, *, epochs: int, seed: int, **params) -> CompressionSetup:
    """Train the named digits model, measure it (``baseline`` rows), gather what every compressor needs."""
    family, _, arch = MODELS[model]
    train_config = {"epochs": epochs, "seed": seed, **TRAINING}
    base = train_classifier(build_model(model, seed), run.splits, epochs=epochs, seed=seed)
    acc = accuracy(base, run.splits.test)
    flops = count_flops(base, run.splits.test.x[:1])
    label, config = model_label(model), {**arch, **train_config}
    base_row = measure_variant(run, Variant(base, label, family, "baseline", acc, config))
    return CompressionSetup(base=base, name=model, label=label, family=family, accuracy=acc, flops=flops,
                            config=config, baseline_row=base_row, train_config=train_config, splits=run.splits,
                            epochs=epochs, seed=seed, **params)
