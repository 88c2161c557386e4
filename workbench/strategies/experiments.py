"""Orchestrators: train on digits, apply a strategy, measure every variant, write schema rows to the store.

- :func:`run_compression` — baseline fp32 model, int8 dynamic/static, unstructured and structured
  pruning, and a distilled student next to the same student trained alone.
- :func:`run_early_exit` — a BranchyNet-style CNN: threshold sweep on validation and test,
  threshold chosen on validation, measured rows for every threshold and for the full model.
- :func:`run_cascade` — a small model deferring to a large one, same procedure.

Static variants are measured with :func:`workbench.measure.profiler.measure_module`. Dynamic
(early-exit, cascade) variants take a different path per sample, so their latency is measured
by running the real dynamic model on every test image, one call per image at batch size 1
(:func:`measure_dynamic`); their ``flops`` is the *expected* FLOPs per sample on the test split
(from the measured exit rates), and ``memory_peak_bytes`` is that of the deepest path.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import polars as pl
import torch
from torch import nn

from workbench import schema
from workbench.errors import ParameterError, UnknownNameError
from workbench.store import LAYER_SHAPE_COLUMNS, layer_frame
from workbench.strategies import cascades, compression
from workbench.strategies.data import (
    DATASET_SOURCE,
    INPUT_SHAPE,
    MODELS,
    DigitsSplits,
    accuracy,
    build_model,
    load_digits_splits,
    train_classifier,
)

TASK = "image-classification"
COMPRESSION_METHODS = ("int8-dynamic", "int8-static", "prune-unstructured", "prune-structured", "distill")


@dataclass
class StrategyResult:
    """What a strategy run produced.

    Attributes
    ----------
    rows : polars.DataFrame
        Measurement rows (schema of :mod:`workbench.schema`), also appended to the store if one was given.
    layers : polars.DataFrame or None
        Per-layer rows of the statically measured variants.
    summary : dict
        Headline figures (accuracy drops in percentage points, size ratios, speed-ups, FLOP reductions).
    val_sweep, test_sweep : polars.DataFrame or None
        Threshold sweeps (early exit and cascades).
    models : dict
        The trained and transformed models, by strategy.
    """

    rows: pl.DataFrame
    layers: pl.DataFrame | None
    summary: dict
    val_sweep: pl.DataFrame | None = None
    test_sweep: pl.DataFrame | None = None
    models: dict = field(default_factory=dict)


class _Run:
    """Identity columns shared by the rows of one run, and the rows collected so far."""

    def __init__(self, settings, meter, splits: DigitsSplits):
        from workbench.measure.profiler import device_info, software_versions
        from workbench.store import new_run_id

        self.settings, self.meter, self.splits = settings, meter, splits
        self.run_id = new_run_id()
        self.dev = device_info(settings.device, settings.device_class)
        self.versions = json.dumps(software_versions(), sort_keys=True)
        self.rows: list[dict] = []
        self.layers: list[dict] = []

    def row(self, fields: dict, *, model: str, family: str, strategy: str, acc: float, config: dict,
            dtype: str = "fp32") -> dict:
        energy = fields.pop("_energy_details", None)
        config = {**self.splits.config(), "dataset_source": DATASET_SOURCE, **config}
        if energy:
            config["energy"] = energy
        row = {"measurement_id": uuid.uuid4().hex, "run_id": self.run_id,
               "timestamp_utc": datetime.now(timezone.utc), "source": "profiler", "model": model,
               "model_family": family, "task": TASK, "strategy": strategy,
               "input_shape": "x".join(map(str, INPUT_SHAPE)), "dtype": dtype, **fields, **self.dev,
               "accuracy": acc, "software_versions": self.versions,
               "config_json": json.dumps(config, sort_keys=True, default=float)}
        self.rows.append(row)
        return row

    def measure_static(self, module: nn.Module, *, model: str, family: str, strategy: str, acc: float,
                       config: dict, dtype: str = "fp32", flops: float | None = None) -> list[dict]:
        """Measure ``module`` with the profiler at every batch size of the settings; add the rows."""
        from workbench.measure.profiler import measure_module

        sample = self.splits.test.x[:1]
        out = []
        for b in self.settings.batch_sizes:
            fields, layer_rows = measure_module(module, sample, batch_size=b, settings=self.settings,
                                                meter=self.meter, flops=flops)
            r = self.row(fields, model=model, family=family, strategy=strategy, acc=acc, config=config, dtype=dtype)
            self.layers += [{"measurement_id": r["measurement_id"], **lr} for lr in layer_rows]
            out.append(r)
        return out

    def finish(self, store) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        df = schema.from_records(self.rows)
        layers = layer_frame(self.layers) if self.layers else None
        if store is not None:
            store.append(df, layers=layers)
        return df, layers


def _prepare(splits, settings, meter, store, kwargs):
    from workbench.measure.energy import get_meter
    from workbench.measure.profiler import ProfileSettings
    from workbench.store import Store

    if settings is not None and kwargs:
        raise ParameterError(f"pass either settings= or its fields ({sorted(kwargs)}), not both.")
    settings = settings or ProfileSettings(**kwargs)
    splits = splits or load_digits_splits()
    if isinstance(meter, str):
        meter = get_meter(meter)
    if isinstance(store, (str, os.PathLike)):
        store = Store(store)
    if store is not None:
        store.check_writable()
    return splits, settings, meter, store


def _model_label(name: str) -> str:
    cfg = MODELS[name][2]
    dims = cfg.get("hidden", cfg.get("channels"))
    return f"digits-{MODELS[name][0]}-" + "-".join(map(str, dims))


# ---------------------------------------------------------------------------------------------- dynamic timing

def measure_dynamic(module: nn.Module, x: torch.Tensor, *, settings, meter=None) -> dict:
    """Measure a dynamic (early-exit or cascade) model on real samples, one call per sample at batch 1.

    Latency statistics are over one call per image of ``x`` (after ``settings.warmup`` calls), so
    they reflect the mix of paths the data takes. Energy per inference is the meter's average power
    × the loop's wall time ÷ calls, over a window of ``settings.energy_window_s`` cycling through ``x``.

    Returns
    -------
    dict
        Schema fields: ``batch_size`` (1), ``threads``, latency p50/p95/mean/cv, ``repeats`` (calls
        timed), ``throughput_per_s``, and energy fields when a meter is given.
    """
    from workbench.measure import timing

    if len(x) == 0:
        raise ParameterError("the timing set is empty. Fix: pass at least one image, e.g. splits.test.x.")
    module.eval()
    samples = [x[i:i + 1] for i in range(len(x))]
    times = []
    with timing.num_threads(settings.threads), torch.inference_mode():
        for i in range(settings.warmup):
            module(samples[i % len(samples)])
        for s in samples:
            t0 = time.perf_counter_ns()
            module(s)
            times.append((time.perf_counter_ns() - t0) / 1e6)
        lat = timing.summarize(times)
        fields = {"batch_size": 1, "threads": settings.threads or torch.get_num_threads(),
                  "latency_ms_p50": lat.latency_ms_p50, "latency_ms_p95": lat.latency_ms_p95,
                  "latency_ms_mean": lat.latency_ms_mean, "latency_cv": lat.latency_cv, "repeats": lat.repeats,
                  "throughput_per_s": 1e3 / lat.latency_ms_mean, "energy_method": "none"}
        if meter is not None and settings.energy_window_s > 0:
            n = 0
            meter.start()
            t0 = time.perf_counter()
            while True:
                module(samples[n % len(samples)])
                n += 1
                if time.perf_counter() - t0 >= settings.energy_window_s:
                    break
            loop_s = time.perf_counter() - t0
            reading = meter.stop()
            fields.update(energy_j=reading.power_w * loop_s / n, power_w=reading.power_w,
                          energy_method=reading.method, energy_scope="inference",
                          _energy_details={**reading.details, "window_s": loop_s, "calls": n})
    return fields


# ---------------------------------------------------------------------------------------------- compression

def run_compression(model: str = "mlp", methods: Sequence[str] = COMPRESSION_METHODS, *, amount: float = 0.5,
                    epochs: int = 30, fine_tune_epochs: int = 5, seed: int = 0, teacher: str = "cnn",
                    student: str = "mlp-small", temperature: float = 2.0, alpha: float = 0.5,
                    calibration_size: int = 256, splits: DigitsSplits | None = None, settings=None,
                    meter=None, store=None, **settings_kwargs) -> StrategyResult:
    """Train ``model`` on digits, compress it with each method, measure every variant, store the rows.

    Parameters
    ----------
    model : str
        Digits model to compress (``mlp``, ``cnn``, ``mlp-small``; see :data:`workbench.strategies.data.MODELS`).
    methods : list of str
        Any of :data:`COMPRESSION_METHODS`.
    amount : float
        Pruning fraction in [0, 1) (of weights for unstructured, of neurons/filters for structured).
    epochs, fine_tune_epochs : int
        Training epochs of every model; fine-tuning epochs after pruning (0 for none).
    teacher, student : str
        Models of the distillation experiment; the student is also trained alone with the same
        seed and epochs for the comparison.
    temperature, alpha : float
        Distillation temperature and weight of the soft loss (Hinton et al. 2015).
    calibration_size : int
        Training images used to calibrate static int8 activation scales.
    settings : ProfileSettings, optional
        Measurement settings (or pass their fields as keywords, e.g. ``repeats=20``).
    meter : str or EnergyMeter or None
        Energy meter (``"auto"``, ``"codecarbon"``, ...); ``None`` measures no energy.
    store : Store or path, optional
        Where to append the rows (one run file).

    Returns
    -------
    StrategyResult
        ``summary`` holds ``baseline_accuracy``, ``int8_size_ratio`` (fp32 ÷ int8 weight bytes),
        ``int8_accuracy_drop_pt``, ``int8_static_accuracy_drop_pt``, ``pruned_*_speedup`` (baseline ÷
        pruned median latency at the first batch size), ``pruned_*_accuracy_drop_pt``,
        ``distilled_accuracy_gain_pt`` (distilled − alone).
    """
    if model not in MODELS:
        raise UnknownNameError("digits model", model, MODELS)
    for m in methods:
        if m not in COMPRESSION_METHODS:
            raise UnknownNameError("compression method", m, COMPRESSION_METHODS)
    if not methods:
        raise ParameterError(f"no compression method given. Fix: choose from {list(COMPRESSION_METHODS)}.")
    compression._check_amount(amount)
    if "distill" in methods:
        for n in (teacher, student):
            if n not in MODELS:
                raise UnknownNameError("digits model", n, MODELS)
    splits, settings, meter, store = _prepare(splits, settings, meter, store, settings_kwargs)
    run = _Run(settings, meter, splits)
    train_cfg = {"epochs": epochs, "seed": seed, "optimizer": "adam", "lr": 1e-3, "batch_size": 64}
    family, _, arch = MODELS[model]
    label = _model_label(model)
    base = train_classifier(build_model(model, seed), splits, epochs=epochs, seed=seed)
    base_acc = accuracy(base, splits.test)
    sample = splits.test.x[:1]
    from workbench.measure.features import count_flops

    base_flops = count_flops(base, sample)
    models = {"baseline": base}
    [base_row] = run.measure_static(base, model=label, family=family, strategy="baseline", acc=base_acc,
                                    config={**arch, **train_cfg})[:1]
    summary = {"model": label, "baseline_accuracy": base_acc}

    def ft(m):
        if fine_tune_epochs > 0:
            train_classifier(m, splits, epochs=fine_tune_epochs, seed=seed + 1)

    for method in methods:
        if method == "int8-dynamic":
            q = compression.quantize_int8_dynamic(base)
            acc = accuracy(q, splits.test)
            [r] = run.measure_static(q, model=label, family=family, strategy="int8-dynamic", acc=acc, dtype="int8",
                                     flops=base_flops, config={**arch, **train_cfg, "quantization": "torchao "
                                     "Int8DynamicActivationInt8WeightConfig", "weight_granularity": "per-row",
                                     "activation": "dynamic per-token", "quantized_layers": "nn.Linear"})[:1]
            models[method] = q
            summary["int8_size_ratio"] = base_row["weight_bytes"] / r["weight_bytes"]
            summary["int8_accuracy_drop_pt"] = (base_acc - acc) * 100
            summary["int8_dynamic_accuracy"] = acc
        elif method == "int8-static":
            calib = splits.train.x[:calibration_size]
            q = compression.quantize_int8_static(base, calib)
            acc = accuracy(q, splits.test)
            [r] = run.measure_static(q, model=label, family=family, strategy="int8-static", acc=acc, dtype="int8",
                                     flops=base_flops, config={**arch, **train_cfg, "quantization": "torchao "
                                     "Int8StaticActivationInt8WeightConfig", "weight_granularity": "per-row",
                                     "activation": "static per-tensor symmetric, absmax/127",
                                     "calibration_images": len(calib), "calibration_split": "train",
                                     "quantized_layers": "nn.Linear"})[:1]
            models[method] = q
            summary["int8_static_size_ratio"] = base_row["weight_bytes"] / r["weight_bytes"]
            summary["int8_static_accuracy_drop_pt"] = (base_acc - acc) * 100
            summary["int8_static_accuracy"] = acc
        elif method == "prune-unstructured":
            p = compression.prune_unstructured(base, amount, fine_tune=ft)
            acc = accuracy(p, splits.test)
            nz = compression.nonzero_params(p)
            [r] = run.measure_static(p, model=label, family=family, strategy=f"prune-unstructured-{amount:g}",
                                     acc=acc, config={**arch, **train_cfg, "amount": amount, "criterion": "l1",
                                     "scope": "per-layer", "fine_tune_epochs": fine_tune_epochs,
                                     "nonzero_params": nz, "sparsity": 1 - nz / _param_count(p),
                                     "note": "dense storage and dense kernels: zeros are still stored and computed"})[:1]
            models[method] = p
            summary["pruned_unstructured_speedup"] = base_row["latency_ms_p50"] / r["latency_ms_p50"]
            summary["pruned_unstructured_accuracy_drop_pt"] = (base_acc - acc) * 100
            summary["pruned_unstructured_nonzero_fraction"] = nz / _param_count(p)
        elif method == "prune-structured":
            p = compression.prune_structured(base, amount)
            ft(p)
            p.eval()
            acc = accuracy(p, splits.test)
            [r] = run.measure_static(p, model=label, family=family, strategy=f"prune-structured-{amount:g}",
                                     acc=acc, config={**arch, **train_cfg, "amount": amount, "criterion": "l1-norm "
                                     "of neurons/filters", "fine_tune_epochs": fine_tune_epochs,
                                     "params_before": base_row["params"]})[:1]
            models[method] = p
            summary["pruned_structured_speedup"] = base_row["latency_ms_p50"] / r["latency_ms_p50"]
            summary["pruned_structured_params_ratio"] = base_row["params"] / r["params"]
            summary["pruned_structured_flops_ratio"] = base_row["flops"] / r["flops"]
            summary["pruned_structured_accuracy_drop_pt"] = (base_acc - acc) * 100
        elif method == "distill":
            t_model = base if teacher == model else train_classifier(build_model(teacher, seed), splits,
                                                                     epochs=epochs, seed=seed)
            t_acc = accuracy(t_model, splits.test)
            if teacher != model:
                run.measure_static(t_model, model=_model_label(teacher), family=MODELS[teacher][0],
                                   strategy="baseline", acc=t_acc, config={**MODELS[teacher][2], **train_cfg})
            s_family, _, s_arch = MODELS[student]
            alone = train_classifier(build_model(student, seed), splits, epochs=epochs, seed=seed)
            distilled = compression.distill(build_model(student, seed), t_model, splits, temperature=temperature,
                                            alpha=alpha, epochs=epochs, seed=seed)
            a_alone, a_dist = accuracy(alone, splits.test), accuracy(distilled, splits.test)
            run.measure_static(alone, model=_model_label(student), family=s_family, strategy="baseline",
                               acc=a_alone, config={**s_arch, **train_cfg, "role": "student trained alone"})
            run.measure_static(distilled, model=_model_label(student), family=s_family,
                               strategy=f"distilled-from-{_model_label(teacher)}", acc=a_dist,
                               config={**s_arch, **train_cfg, "teacher": _model_label(teacher),
                                       "teacher_accuracy": t_acc, "temperature": temperature, "alpha": alpha})
            models.update(teacher=t_model, student_alone=alone, student_distilled=distilled)
            summary.update(teacher_accuracy=t_acc, student_alone_accuracy=a_alone,
                           student_distilled_accuracy=a_dist, distilled_accuracy_gain_pt=(a_dist - a_alone) * 100)
    rows, layers = run.finish(store)
    return StrategyResult(rows, layers, summary, models=models)


def _param_count(model: nn.Module) -> int:
    """Number of parameter elements (zeros included)."""
    return int(sum(p.numel() for p in model.parameters()))


# ---------------------------------------------------------------------------------------------- staged

def _staged_rows(run: _Run, staged, *, test_sweep: pl.DataFrame, chosen: float, label: str, family: str,
                 strategy_prefix: str, cum_flops: list[float], path_modules: list[nn.Module],
                 extra_config: dict, val_sweep: pl.DataFrame) -> pl.DataFrame:
    """Measure the dynamic model at every swept threshold; add rows; return the test sweep with latencies."""
    from workbench.measure import timing
    from workbench.measure.features import count_params, weight_bytes
    from workbench.measure.profiler import measure_module

    settings = run.settings
    sample = run.splits.test.x[:1]
    # latency of each fixed path (a sample leaving at stage k), for the expected latency from exit rates
    path_lat, paths = [], []
    for k, pm in enumerate(path_modules):
        f, layer_rows = measure_module(pm, sample, batch_size=1, settings=settings, meter=None, flops=0.0)
        path_lat.append(f["latency_ms_p50"])
        paths.append(path_features(pm, layer_rows, cum_flops[k]))
    with timing.num_threads(settings.threads):
        mem = timing.peak_memory_bytes(path_modules[-1].eval(), sample, device=settings.device)
    measured, expected = [], []
    val_by_t = {r["threshold"]: r for r in val_sweep.iter_rows(named=True)}
    for r in test_sweep.iter_rows(named=True):
        t = r["threshold"]
        staged.thresholds = [t] * (len(cum_flops) - 1)
        fields = measure_dynamic(staged, run.splits.test.x, settings=settings, meter=run.meter)
        exp_lat = float(np.dot(r["exit_rates"], path_lat))
        exp_act = float(np.dot(r["exit_rates"], [p["activation_bytes"] for p in paths]))
        fields.update(params=count_params(staged), weight_bytes=weight_bytes(staged), flops=r["expected_flops"],
                      activation_bytes=int(round(exp_act)), memory_peak_bytes=mem, memory_method="torch-profiler")
        v = val_by_t.get(t, {})
        run.row(fields, model=label, family=family, strategy=f"{strategy_prefix}-t{t:g}", acc=r["accuracy"],
                config={**extra_config, "criterion": r["criterion"], "threshold": t,
                        "chosen_on_validation": t == chosen, "val_accuracy": v.get("accuracy"),
                        "val_expected_flops": v.get("expected_flops"), "exit_rates": r["exit_rates"],
                        "exit_accuracies": r["exit_accuracies"], "cumulative_flops": cum_flops,
                        "flops_kind": "expected per sample over the test split's exit rates",
                        "latency_kind": "one call per test image at batch 1 through the dynamic model",
                        "expected_latency_ms_from_paths": exp_lat, "path_latency_ms_p50": path_lat,
                        "memory_kind": "deepest path", "path_features": paths,
                        "activation_bytes_kind": "expected per sample over the test split's exit rates"})
        measured.append(fields["latency_ms_p50"])
        expected.append(exp_lat)
    staged.thresholds = [chosen] * (len(cum_flops) - 1)
    return test_sweep.with_columns(pl.Series("latency_ms_p50", measured),
                                   pl.Series("expected_latency_ms", expected),
                                   pl.Series("pareto_latency", cascades.pareto_front(measured, test_sweep["accuracy"])))


def path_features(module: nn.Module, layer_rows: list[dict], flops: float) -> dict:
    """Counted features of one fixed path of a dynamic model (what a sample leaving there executes).

    ``params`` and ``weight_bytes`` [B] count the executed leaf modules only (an exit path does not
    run the later stages), ``activation_bytes`` [B per sample] sums their outputs, ``flops`` [FLOP
    per sample] is the path's counted FLOPs, and ``layers`` lists ``[layer_type, flops, params,
    output_bytes, *LAYER_SHAPE_COLUMNS]`` per executed layer (shapes null where not applicable):
    the inputs of :mod:`workbench.strategies.projection`, which prices each path with a cost model
    and weighs the paths by their exit rates.
    """
    from workbench.measure.features import weight_bytes

    names = list(dict.fromkeys(lr["layer_name"] for lr in layer_rows))
    return {"flops": float(flops), "params": int(sum(lr["params"] for lr in layer_rows)),
            "weight_bytes": int(sum(weight_bytes(module.get_submodule(n)) for n in names)),
            "activation_bytes": int(sum(lr["output_bytes"] for lr in layer_rows)),
            "layers": [[lr["layer_type"], float(lr["flops"]), int(lr["params"]), int(lr["output_bytes"]),
                        *(lr.get(k) for k in LAYER_SHAPE_COLUMNS)] for lr in layer_rows]}


def _staged_summary(prefix: str, chosen: dict, test_sweep: pl.DataFrame, ref_acc: float, ref_flops: float,
                    ref_latency: float) -> dict:
    row = test_sweep.filter(pl.col("threshold") == chosen["threshold"]).row(0, named=True)
    return {f"{prefix}_threshold": chosen["threshold"], f"{prefix}_threshold_met_on_val": chosen["met"],
            f"{prefix}_accuracy": row["accuracy"], f"{prefix}_reference_accuracy": ref_acc,
            f"{prefix}_accuracy_drop_pt": (ref_acc - row["accuracy"]) * 100,
            f"{prefix}_expected_flops": row["expected_flops"], f"{prefix}_reference_flops": ref_flops,
            f"{prefix}_flops_reduction": ref_flops / row["expected_flops"],
            f"{prefix}_exit_rates": row["exit_rates"],
            f"{prefix}_latency_ms_p50": row.get("latency_ms_p50"),
            f"{prefix}_reference_latency_ms_p50": ref_latency,
            f"{prefix}_latency_speedup": (ref_latency / row["latency_ms_p50"]) if row.get("latency_ms_p50") else None}


def run_early_exit(*, channels: Sequence[int] = (8, 32, 64), criterion: str = "confidence",
                   thresholds: Sequence[float] | None = None, max_accuracy_drop_pt: float = 0.0,
                   epochs: int = 30, seed: int = 0, splits: DigitsSplits | None = None, settings=None,
                   meter=None, store=None, **settings_kwargs) -> StrategyResult:
    """Train a BranchyNet-style CNN on digits, sweep exit thresholds, measure and store every variant.

    The threshold is chosen on the validation split as the one with the fewest expected FLOPs whose
    accuracy is within ``max_accuracy_drop_pt`` of the full model's (:func:`cascades.choose_threshold`);
    the summary reports it on the test split. Rows: the full model without side exits (``baseline``,
    measured with the profiler) and the dynamic model at every threshold (``early-exit-<criterion>-t<t>``).
    """
    cascades.check_criterion(criterion)
    grid = tuple(cascades.DEFAULT_THRESHOLDS[criterion] if thresholds is None else thresholds)
    for t in grid:
        cascades.check_threshold(t)
    if not grid:
        raise ParameterError("no thresholds to sweep. Fix: pass e.g. thresholds=(0.8, 0.9, 0.99).")
    splits, settings, meter, store = _prepare(splits, settings, meter, store, settings_kwargs)
    run = _Run(settings, meter, splits)
    torch.manual_seed(seed)
    net = cascades.train_early_exit(cascades.early_exit_cnn(channels), splits, epochs=epochs, seed=seed)
    sample = splits.test.x[:1]
    cum = cascades.cumulative_flops(net, sample)
    full = cascades.ExitPath(net, net.n_exits - 1, side_heads=False).eval()
    from workbench.measure.features import count_flops

    full_flops = count_flops(full, sample)
    label = "digits-early-exit-cnn-" + "-".join(map(str, channels))
    cfg = {"channels": list(channels), "epochs": epochs, "seed": seed, "optimizer": "adam", "lr": 1e-3,
           "batch_size": 64, "training": "joint, equal exit weights (BranchyNet)"}
    val_logits = cascades.stage_logits(net, splits.val.x)
    test_logits = cascades.stage_logits(net, splits.test.x)
    ref_val = float((val_logits[-1].argmax(1) == splits.val.y).float().mean())
    ref_test = float((test_logits[-1].argmax(1) == splits.test.y).float().mean())
    val_sweep = cascades.sweep(val_logits, splits.val.y, cum, criterion=criterion, thresholds=grid,
                               reference_flops=full_flops)
    test_sweep = cascades.sweep(test_logits, splits.test.y, cum, criterion=criterion, thresholds=grid,
                                reference_flops=full_flops)
    chosen = cascades.choose_threshold(val_sweep, ref_val, max_accuracy_drop_pt)
    [base_row] = run.measure_static(full, model=label, family="cnn", strategy="baseline", acc=ref_test,
                                    config={**cfg, "variant": "full network, no side exits"})[:1]
    base_dyn = measure_dynamic(full, splits.test.x, settings=settings, meter=None)
    staged = cascades.EarlyExitClassifier(net, chosen["threshold"], criterion)
    paths = [cascades.ExitPath(net, k).eval() for k in range(net.n_exits)]
    test_sweep = _staged_rows(run, staged, test_sweep=test_sweep, chosen=chosen["threshold"], label=label,
                              family="cnn", strategy_prefix=f"early-exit-{criterion}", cum_flops=cum,
                              path_modules=paths, extra_config={**cfg, "max_accuracy_drop_pt": max_accuracy_drop_pt},
                              val_sweep=val_sweep)
    rows, layers = run.finish(store)
    summary = _staged_summary("early_exit", chosen, test_sweep, ref_test, full_flops, base_dyn["latency_ms_p50"])
    summary["early_exit_baseline_latency_ms_p50_profiler"] = base_row["latency_ms_p50"]
    return StrategyResult(rows, layers, summary, val_sweep, test_sweep, models={"net": net, "early_exit": staged})


def run_cascade(*, small: str = "mlp", large: str = "cnn", criterion: str = "confidence",
                thresholds: Sequence[float] | None = None, max_accuracy_drop_pt: float = 0.0,
                epochs: int = 30, seed: int = 0, splits: DigitsSplits | None = None, settings=None,
                meter=None, store=None, **settings_kwargs) -> StrategyResult:
    """Train a small and a large digits model, sweep the cascade's deferral threshold, measure and store.

    The small model answers when its exit criterion passes, else the large model answers. The
    reference is the large model alone (``baseline`` rows for both models, measured with the profiler).
    """
    for n in (small, large):
        if n not in MODELS:
            raise UnknownNameError("digits model", n, MODELS)
    cascades.check_criterion(criterion)
    grid = tuple(cascades.DEFAULT_THRESHOLDS[criterion] if thresholds is None else thresholds)
    for t in grid:
        cascades.check_threshold(t)
    if not grid:
        raise ParameterError("no thresholds to sweep. Fix: pass e.g. thresholds=(0.8, 0.9, 0.99).")
    splits, settings, meter, store = _prepare(splits, settings, meter, store, settings_kwargs)
    run = _Run(settings, meter, splits)
    train_cfg = {"epochs": epochs, "seed": seed, "optimizer": "adam", "lr": 1e-3, "batch_size": 64}
    m_small = train_classifier(build_model(small, seed), splits, epochs=epochs, seed=seed)
    m_large = train_classifier(build_model(large, seed), splits, epochs=epochs, seed=seed)
    cas = cascades.Cascade([m_small, m_large], 0.9, criterion)
    sample = splits.test.x[:1]
    cum = cascades.cumulative_flops(cas, sample)
    val_logits = cascades.stage_logits(cas, splits.val.x)
    test_logits = cascades.stage_logits(cas, splits.test.x)
    ref_val = float((val_logits[-1].argmax(1) == splits.val.y).float().mean())
    ref_test = float((test_logits[-1].argmax(1) == splits.test.y).float().mean())
    large_flops = cum[1] - cum[0]
    val_sweep = cascades.sweep(val_logits, splits.val.y, cum, criterion=criterion, thresholds=grid,
                               reference_flops=large_flops)
    test_sweep = cascades.sweep(test_logits, splits.test.y, cum, criterion=criterion, thresholds=grid,
                                reference_flops=large_flops)
    chosen = cascades.choose_threshold(val_sweep, ref_val, max_accuracy_drop_pt)
    s_label, l_label = _model_label(small), _model_label(large)
    run.measure_static(m_small, model=s_label, family=MODELS[small][0], strategy="baseline",
                       acc=float((test_logits[0].argmax(1) == splits.test.y).float().mean()),
                       config={**MODELS[small][2], **train_cfg, "role": "cascade stage 0"})
    run.measure_static(m_large, model=l_label, family=MODELS[large][0], strategy="baseline", acc=ref_test,
                       config={**MODELS[large][2], **train_cfg, "role": "cascade stage 1 (reference)"})
    base_dyn = measure_dynamic(m_large, splits.test.x, settings=settings, meter=None)
    cas.thresholds = [chosen["threshold"]]
    paths = [m_small, _Sequence2(m_small, m_large)]
    test_sweep = _staged_rows(run, cas, test_sweep=test_sweep, chosen=chosen["threshold"],
                              label=f"cascade-{s_label}-{l_label}", family="cascade", strategy_prefix="cascade",
                              cum_flops=cum, path_modules=paths,
                              extra_config={**train_cfg, "models": [s_label, l_label],
                                            "max_accuracy_drop_pt": max_accuracy_drop_pt},
                              val_sweep=val_sweep)
    rows, layers = run.finish(store)
    summary = _staged_summary("cascade", chosen, test_sweep, ref_test, large_flops, base_dyn["latency_ms_p50"])
    return StrategyResult(rows, layers, summary, val_sweep, test_sweep,
                          models={"small": m_small, "large": m_large, "cascade": cas})


class _Sequence2(nn.Module):
    """The deferred path of a two-model cascade: the small model runs, then the large one answers."""

    def __init__(self, first: nn.Module, second: nn.Module):
        super().__init__()
        self.first, self.second = first, second

    def forward(self, x):
        self.first(x)
        return self.second(x)
