"""The early-exit and cascade experiments: train, sweep thresholds, choose on validation, measure every threshold.

- :func:`run_early_exit` — a BranchyNet-style CNN: threshold sweep on validation and test,
  threshold chosen on validation, measured rows for every threshold and for the full model.
- :func:`run_cascade` — a small model deferring to a large one, same procedure.

Both are *staged* (dynamic) models: they take a different path per sample, so their latency is
measured by running the real dynamic model on every test image, one call per image at batch size
1 (:func:`measure_dynamic`); their ``flops`` is the *expected* FLOPs per sample on the test split
(from the measured exit rates), and ``memory_peak_bytes`` is that of the deepest path. Each row
also records every fixed path's features (:func:`path_features`), which
:mod:`workbench.strategies.projection` prices path by path on other devices.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import polars as pl
import torch
from torch import nn

from workbench.errors import ParameterError, UnknownNameError
from workbench.measure import timing
from workbench.measure.features import count_flops, count_params, weight_bytes
from workbench.measure.profiler import ProfileSettings, measure_module
from workbench.store import LAYER_SHAPE_COLUMNS
from workbench.strategies import cascades, exits
from workbench.strategies.data import MODELS, DigitsSplits, build_model, train_classifier
from workbench.strategies.recording import TRAINING, StrategyResult, StrategyRun, model_label, start_run

# ---------------------------------------------------------------------------------------------- dynamic timing

def measure_dynamic(module: nn.Module, x: torch.Tensor, *, settings: ProfileSettings, meter=None) -> dict:
    """Measure a dynamic (early-exit or cascade) model on real samples, one call per sample at batch 1.

    Latency statistics are over one call per image of ``x`` (after ``settings.warmup`` calls), so
    they reflect the mix of paths the data takes. Energy per inference is the meter's average power
    × the loop's wall time ÷ calls, over a window of ``settings.energy_window_s`` cycling through ``x``.

    Parameters
    ----------
    module : nn.Module
        The dynamic model (an :class:`~workbench.strategies.cascades.EarlyExitClassifier`, a
        :class:`~workbench.strategies.cascades.Cascade`), or any model.
    x : Tensor
        Images (N, 1, 8, 8), each timed once.
    settings : ProfileSettings
        ``warmup`` [calls], ``threads``, ``energy_window_s`` [s].
    meter : EnergyMeter, optional
        Energy meter; None measures no energy.

    Returns
    -------
    dict
        Schema fields: ``batch_size`` (1), ``threads``, latency p50/p95/mean/cv, ``repeats`` (calls
        timed), ``throughput_per_s``, and energy fields when a meter is given.

    Raises
    ------
    ParameterError
        An empty ``x``.
    """
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



# ---------------------------------------------------------------------------------------------- staged rows

def _staged_rows(run: StrategyRun, staged, *, test_sweep: pl.DataFrame, chosen: float, label: str, family: str,
                 strategy_prefix: str, cum_flops: list[float], path_modules: list[nn.Module],
                 extra_config: dict, val_sweep: pl.DataFrame, progress=None) -> pl.DataFrame:
    """Measure the dynamic model at every swept threshold; add rows; return the test sweep with latencies."""
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
    sweep = test_sweep.iter_rows(named=True)
    for r in sweep if progress is None else progress(sweep, total=test_sweep.height, desc=strategy_prefix):
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
                                   pl.Series("pareto_latency", exits.pareto_front(measured, test_sweep["accuracy"])))


def path_features(module: nn.Module, layer_rows: list[dict], flops: float) -> dict:
    """Counted features of one fixed path of a dynamic model (what a sample leaving there executes).

    ``params`` and ``weight_bytes`` [B] count the executed leaf modules only (an exit path does not
    run the later stages), ``activation_bytes`` [B per sample] sums their outputs, ``flops`` [FLOP
    per sample] is the path's counted FLOPs, and ``layers`` lists ``[layer_type, flops, params,
    output_bytes, *LAYER_SHAPE_COLUMNS]`` per executed layer (shapes null where not applicable):
    the inputs of :mod:`workbench.strategies.projection`, which prices each path with a cost model
    and weighs the paths by their exit rates.

    Parameters
    ----------
    module : nn.Module
        The fixed path (e.g. :class:`~workbench.strategies.cascades.ExitPath`).
    layer_rows : list of dict
        Its per-layer rows from :func:`workbench.measure.profiler.measure_module`.
    flops : float
        Its counted FLOPs per sample [FLOP].

    Returns
    -------
    dict
        ``flops``, ``params``, ``weight_bytes``, ``activation_bytes`` and ``layers`` as above.
    """
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


def _threshold_grid(criterion: str, thresholds: Sequence[float] | None) -> tuple[float, ...]:
    """The thresholds to sweep (the criterion's default grid when None), checked before any training."""
    exits.check_criterion(criterion)
    grid = tuple(exits.DEFAULT_THRESHOLDS[criterion] if thresholds is None else thresholds)
    for t in grid:
        exits.check_threshold(t)
    if not grid:
        raise ParameterError("no thresholds to sweep. Fix: pass e.g. thresholds=(0.8, 0.9, 0.99).")
    return grid


def _final_accuracy(stage_logits: list[torch.Tensor], y: torch.Tensor) -> float:
    """Accuracy of the last stage (the model the staged classifier replaces) [1]."""
    return float((stage_logits[-1].argmax(1) == y).float().mean())


def run_early_exit(*, channels: Sequence[int] = (8, 32, 64), criterion: str = "confidence",
                   thresholds: Sequence[float] | None = None, max_accuracy_drop_pt: float = 0.0,
                   epochs: int = 30, seed: int = 0, splits: DigitsSplits | None = None,
                   settings: ProfileSettings | None = None, meter=None, store=None,
                   progress=None) -> StrategyResult:
    """Train a BranchyNet-style CNN on digits, sweep exit thresholds, measure and store every variant.

    The threshold is chosen on the validation split as the one with the fewest expected FLOPs whose
    accuracy is within ``max_accuracy_drop_pt`` of the full model's (:func:`exits.choose_threshold`);
    the summary reports it on the test split. Rows: the full model without side exits (``baseline``,
    measured with the profiler) and the dynamic model at every threshold (``early-exit-<criterion>-t<t>``).

    Parameters
    ----------
    channels : sequence of int
        Channels of the CNN's three stages (:func:`~workbench.strategies.cascades.early_exit_cnn`).
    criterion : str
        Exit criterion, ``"confidence"`` or ``"entropy"`` (:data:`~workbench.strategies.exits.CRITERIA`).
    thresholds : sequence of float, optional
        Thresholds in [0, 1] to sweep [1]; default the criterion's grid (:data:`~workbench.strategies.exits.DEFAULT_THRESHOLDS`).
    max_accuracy_drop_pt : float
        Validation accuracy loss accepted when choosing the threshold [percentage points].
    epochs : int
        Joint training epochs of all exits [epochs].
    seed : int
        Seed of weight initialisation and batch order.
    splits : DigitsSplits, optional
        Data (default: :func:`~workbench.strategies.data.load_digits_splits`, seed 0).
    settings : ProfileSettings, optional
        Measurement settings; default ``ProfileSettings()``. Dynamic rows are at batch 1 whatever its batch sizes.
    meter : str or EnergyMeter or None
        Energy meter; ``None`` measures no energy.
    store : Store or path, optional
        Where to append the rows (one run file).
    progress : callable, optional
        ``progress(iterable, total=, desc=)`` wrapping the measured thresholds, e.g. ``tqdm``.

    Returns
    -------
    StrategyResult
        ``val_sweep`` and ``test_sweep`` (:func:`exits.sweep`; the test sweep adds the measured
        ``latency_ms_p50`` [ms], ``expected_latency_ms`` [ms] and ``pareto_latency``), ``models``
        (``net``, ``early_exit`` at the chosen threshold) and ``summary`` with ``early_exit_threshold``,
        ``early_exit_threshold_met_on_val``, ``early_exit_accuracy`` [1], ``early_exit_accuracy_drop_pt``,
        ``early_exit_expected_flops`` [FLOP], ``early_exit_flops_reduction`` [×],
        ``early_exit_exit_rates``, ``early_exit_latency_speedup`` [×] (full model ÷ dynamic model,
        median latency at batch 1) and their references.

    Raises
    ------
    UnknownNameError
        An unknown criterion (before any training).
    ParameterError
        A threshold outside [0, 1], no thresholds, or ``settings`` that is not a ProfileSettings.
    StoreError
        A store that is not writable (before any training).
    """
    grid = _threshold_grid(criterion, thresholds)
    run, store = start_run(splits=splits, settings=settings, meter=meter, store=store)
    splits = run.splits
    torch.manual_seed(seed)
    net = cascades.train_early_exit(cascades.early_exit_cnn(channels), splits, epochs=epochs, seed=seed)
    sample = splits.test.x[:1]
    cum = cascades.cumulative_flops(net, sample)
    full = cascades.ExitPath(net, net.n_exits - 1, side_heads=False).eval()
    full_flops = count_flops(full, sample)
    label = "digits-early-exit-cnn-" + "-".join(map(str, channels))
    cfg = {"channels": list(channels), "epochs": epochs, "seed": seed, **TRAINING,
           "training": "joint, equal exit weights (BranchyNet)"}
    val_logits = cascades.stage_logits(net, splits.val.x)
    test_logits = cascades.stage_logits(net, splits.test.x)
    ref_val, ref_test = _final_accuracy(val_logits, splits.val.y), _final_accuracy(test_logits, splits.test.y)
    val_sweep = exits.sweep(val_logits, splits.val.y, cum, criterion=criterion, thresholds=grid,
                            reference_flops=full_flops)
    test_sweep = exits.sweep(test_logits, splits.test.y, cum, criterion=criterion, thresholds=grid,
                             reference_flops=full_flops)
    chosen = exits.choose_threshold(val_sweep, ref_val, max_accuracy_drop_pt)
    [base_row] = run.measure_static(full, model=label, family="cnn", strategy="baseline", acc=ref_test,
                                    config={**cfg, "variant": "full network, no side exits"})[:1]
    base_dyn = measure_dynamic(full, splits.test.x, settings=run.settings, meter=None)
    staged = cascades.EarlyExitClassifier(net, chosen["threshold"], criterion)
    paths = [cascades.ExitPath(net, k).eval() for k in range(net.n_exits)]
    test_sweep = _staged_rows(run, staged, test_sweep=test_sweep, chosen=chosen["threshold"], label=label,
                              family="cnn", strategy_prefix=f"early-exit-{criterion}", cum_flops=cum,
                              path_modules=paths, extra_config={**cfg, "max_accuracy_drop_pt": max_accuracy_drop_pt},
                              val_sweep=val_sweep, progress=progress)
    rows, layers = run.finish(store)
    summary = _staged_summary("early_exit", chosen, test_sweep, ref_test, full_flops, base_dyn["latency_ms_p50"])
    summary["early_exit_baseline_latency_ms_p50_profiler"] = base_row["latency_ms_p50"]
    return StrategyResult(rows, layers, summary, val_sweep, test_sweep, models={"net": net, "early_exit": staged})


def run_cascade(*, small: str = "mlp", large: str = "cnn", criterion: str = "confidence",
                thresholds: Sequence[float] | None = None, max_accuracy_drop_pt: float = 0.0,
                epochs: int = 30, seed: int = 0, splits: DigitsSplits | None = None,
                settings: ProfileSettings | None = None, meter=None, store=None, progress=None) -> StrategyResult:
    """Train a small and a large digits model, sweep the cascade's deferral threshold, measure and store.

    The small model answers when its exit criterion passes, else the large model answers. The
    reference is the large model alone (``baseline`` rows for both models, measured with the
    profiler); the threshold is chosen on validation as in :func:`run_early_exit`, and the dynamic
    cascade is measured at every threshold (``cascade-t<t>`` rows).

    Parameters
    ----------
    small, large : str
        Digits models (:data:`~workbench.strategies.data.MODELS`): the one answering first, the one it defers to.
    criterion : str
        Exit criterion, ``"confidence"`` or ``"entropy"``.
    thresholds : sequence of float, optional
        Thresholds in [0, 1] to sweep [1]; default the criterion's grid.
    max_accuracy_drop_pt : float
        Validation accuracy loss accepted when choosing the threshold [percentage points].
    epochs : int
        Training epochs of each model [epochs].
    seed : int
        Seed of weight initialisation and batch order.
    splits : DigitsSplits, optional
        Data (default: :func:`~workbench.strategies.data.load_digits_splits`, seed 0).
    settings, meter, store, progress
        As in :func:`run_early_exit`.

    Returns
    -------
    StrategyResult
        As :func:`run_early_exit`, with ``cascade_*`` summary keys (the reference is the large
        model) and ``models`` ``small``, ``large`` and ``cascade`` (at the chosen threshold).

    Raises
    ------
    UnknownNameError
        An unknown model or criterion (before any training).
    ParameterError
        A threshold outside [0, 1], no thresholds, or ``settings`` that is not a ProfileSettings.
    StoreError
        A store that is not writable (before any training).
    """
    for n in (small, large):
        if n not in MODELS:
            raise UnknownNameError("digits model", n, MODELS)
    grid = _threshold_grid(criterion, thresholds)
    run, store = start_run(splits=splits, settings=settings, meter=meter, store=store)
    splits = run.splits
    train_cfg = {"epochs": epochs, "seed": seed, **TRAINING}
    m_small = train_classifier(build_model(small, seed), splits, epochs=epochs, seed=seed)
    m_large = train_classifier(build_model(large, seed), splits, epochs=epochs, seed=seed)
    cas = cascades.Cascade([m_small, m_large], 0.9, criterion)
    sample = splits.test.x[:1]
    cum = cascades.cumulative_flops(cas, sample)
    val_logits = cascades.stage_logits(cas, splits.val.x)
    test_logits = cascades.stage_logits(cas, splits.test.x)
    ref_val, ref_test = _final_accuracy(val_logits, splits.val.y), _final_accuracy(test_logits, splits.test.y)
    large_flops = cum[1] - cum[0]
    val_sweep = exits.sweep(val_logits, splits.val.y, cum, criterion=criterion, thresholds=grid,
                            reference_flops=large_flops)
    test_sweep = exits.sweep(test_logits, splits.test.y, cum, criterion=criterion, thresholds=grid,
                             reference_flops=large_flops)
    chosen = exits.choose_threshold(val_sweep, ref_val, max_accuracy_drop_pt)
    s_label, l_label = model_label(small), model_label(large)
    run.measure_static(m_small, model=s_label, family=MODELS[small][0], strategy="baseline",
                       acc=float((test_logits[0].argmax(1) == splits.test.y).float().mean()),
                       config={**MODELS[small][2], **train_cfg, "role": "cascade stage 0"})
    run.measure_static(m_large, model=l_label, family=MODELS[large][0], strategy="baseline", acc=ref_test,
                       config={**MODELS[large][2], **train_cfg, "role": "cascade stage 1 (reference)"})
    base_dyn = measure_dynamic(m_large, splits.test.x, settings=run.settings, meter=None)
    cas.thresholds = [chosen["threshold"]]
    paths = [m_small, _Sequence2(m_small, m_large)]
    test_sweep = _staged_rows(run, cas, test_sweep=test_sweep, chosen=chosen["threshold"],
                              label=f"cascade-{s_label}-{l_label}", family="cascade", strategy_prefix="cascade",
                              cum_flops=cum, path_modules=paths,
                              extra_config={**train_cfg, "models": [s_label, l_label],
                                            "max_accuracy_drop_pt": max_accuracy_drop_pt},
                              val_sweep=val_sweep, progress=progress)
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
