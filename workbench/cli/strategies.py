"""``workbench compress`` and ``workbench cascade``: train on digits, apply a strategy, measure, store."""

from __future__ import annotations

import argparse
import json
import sys

from workbench.cli.progress import add_progress_flag, progress_bar
from workbench.errors import ParameterError

# At the top only the standard library, workbench.errors and the stdlib-only workbench.cli.progress:
# workbench.strategies pulls in torch, and polars (with the store, schema and catalog built on it) takes
# ~0.7 s, so each command imports what it needs and building the parser stays fast.


def _add_measure_args(p) -> None:
    p.add_argument("--epochs", type=int, default=30, help="training epochs of every model (default 30)")
    p.add_argument("--seed", type=int, default=0, help="seed of weight initialisation and batch order (the splits are fixed)")
    p.add_argument("--batch-size", type=int, action="append", metavar="N",
                   help="batch size to measure static variants at (repeatable; default 1)")
    p.add_argument("--repeats", type=int, default=50, help="timed calls per configuration (default 50)")
    p.add_argument("--warmup", type=int, default=10, help="untimed calls first (default 10)")
    p.add_argument("--threads", type=int, default=1,
                   help="intra-op threads while measuring (default 1: these models are tiny)")
    p.add_argument("--meter", default="auto",
                   help="energy meter: auto, codecarbon, rapl, nvml, none (default auto)")
    p.add_argument("--energy-window", type=float, default=1.0, metavar="SECONDS",
                   help="seconds of back-to-back calls under the energy meter per variant (default 1)")
    p.add_argument("--store", default="data/runs", help="store directory (default data/runs)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object only")
    p.add_argument("--project", action="append", metavar="FILE",
                   help="cost model file (`workbench fit ... --out FILE`; repeatable): project every variant onto "
                        "its device and store the predicted rows beside the measured ones")
    p.add_argument("--roofline", action="append", metavar="DEVICE",
                   help="catalog device (repeatable): print each variant's roofline lower bound from the catalog "
                        "peaks (a bound, not a prediction; not stored)")
    p.add_argument("--ignore-versions", action="store_true",
                   help="load --project files written with other numpy/scikit-learn/workbench versions")
    add_progress_flag(p)


def register(sub) -> None:
    """Add the ``compress`` and ``cascade`` subcommands to ``sub``."""
    p = sub.add_parser("compress", help="train a digits model, compress it (int8, pruning, distillation), "
                                        "measure every variant into the store")
    p.add_argument("--model", default="mlp", help="digits model: mlp, cnn, mlp-small (default mlp)")
    p.add_argument("--method", action="append", metavar="NAME",
                   help="compression method (repeatable; default all): int8-dynamic, int8-static, "
                        "prune-unstructured, prune-structured, distill; and, asked for by name, ort-int8 (the "
                        "baseline exported to ONNX Runtime, fp32 and int8 static/dynamic)")
    p.add_argument("--amount", type=float, default=0.5, help="pruning fraction in [0, 1) (default 0.5)")
    p.add_argument("--fine-tune-epochs", type=int, default=5, help="epochs of fine-tuning after pruning (default 5)")
    p.add_argument("--teacher", default="cnn", help="distillation teacher (default cnn)")
    p.add_argument("--student", default="mlp-small", help="distillation student (default mlp-small)")
    p.add_argument("--temperature", type=float, default=2.0, help="distillation temperature (default 2)")
    p.add_argument("--alpha", type=float, default=0.5, help="weight of the distillation soft loss (default 0.5)")
    _add_measure_args(p)
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("cascade", help="early-exit network or model cascade: threshold sweep chosen on "
                                       "validation, reported on test, measured into the store")
    p.add_argument("--kind", choices=("early-exit", "cascade"), default="early-exit",
                   help="BranchyNet-style early exits, or a small model deferring to a large one")
    p.add_argument("--criterion", default="confidence", help="confidence (>= t leaves) or entropy (<= t leaves)")
    p.add_argument("--threshold", type=float, action="append", metavar="T",
                   help="threshold in [0, 1] to sweep (repeatable; default a grid per criterion)")
    p.add_argument("--max-drop-pt", type=float, default=0.0,
                   help="accuracy loss accepted on validation when choosing the threshold [points] (default 0)")
    p.add_argument("--channels", default="8,32,64", help="early-exit CNN channels per stage (default 8,32,64)")
    p.add_argument("--small", default="mlp", help="cascade: first (small) model (default mlp)")
    p.add_argument("--large", default="cnn", help="cascade: second (large) model (default cnn)")
    _add_measure_args(p)
    p.set_defaults(func=cmd_cascade)


def _settings(args):
    from workbench.measure.profiler import ProfileSettings

    return ProfileSettings(batch_sizes=tuple(args.batch_size or (1,)), repeats=args.repeats, warmup=args.warmup,
                           threads=args.threads, energy_window_s=args.energy_window, layer_repeats=5)


def _store_and_meter(args):
    from workbench.measure.energy import get_meter
    from workbench.store import Store

    store = Store(args.store)
    store.check_writable()
    return store, get_meter(args.meter)


def _check_projection_args(args) -> None:
    """Load the --project files and look up the --roofline devices before any training (fail early)."""
    if args.project:
        from workbench.strategies.pricing import load_cost_models

        load_cost_models(list(args.project), check_versions=not args.ignore_versions)
    if args.roofline:
        from workbench.catalog.devices import get_device

        for d in args.roofline:
            get_device(d)


def _project(result, args, store) -> None:
    """Projected rows (stored) and roofline bounds (printed only) of a strategy run."""
    if args.project:
        from workbench.strategies.projection import project

        proj = project(result.rows, result.layers, list(args.project), check_versions=not args.ignore_versions)
        store.append(proj)
        result.projected = proj
        result.summary["projection"] = proj.select(
            "model", "strategy", "batch_size", "device_name", "device_class", "source", "latency_ms_p50",
            "energy_j", "memory_peak_bytes").to_dicts()
        print(f"{proj.height} projected row(s) appended to {store.path}", file=sys.stderr)
    if args.roofline:
        from workbench.strategies.roofline import roofline_bounds

        b = roofline_bounds(result.rows, list(args.roofline))
        result.roofline = b
        recs = b[["model", "strategy", "batch_size", "device_name", "roofline_bound_ms", "limited_by",
                  "note"]].to_dict(orient="records")
        result.summary["roofline_bounds"] = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                                             for r in recs]  # NaN (no peak for the dtype) → null


def _report(result, cols, args, title) -> None:
    import polars as pl

    if args.json:
        print(json.dumps(result.summary, sort_keys=True, default=float))
        return
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=220, fmt_str_lengths=50):
        if result.test_sweep is not None:
            print(f"{title}: threshold sweep on the test split (threshold chosen on validation)")
            print(result.test_sweep)
        print(result.rows.select(cols))
        proj = getattr(result, "projected", None)
        if proj is not None:
            print("projected onto the cost models' devices (predicted, not measured):")
            print(proj.select("model", "strategy", "batch_size", "device_name", "source", "latency_ms_p50",
                              "energy_j", "accuracy"))
    bounds = getattr(result, "roofline", None)
    if bounds is not None:
        import pandas as pd

        print("roofline lower bounds from catalog peaks (a bound real kernels do not reach; not a prediction):")
        with pd.option_context("display.max_rows", None, "display.width", 220):
            print(bounds[["model", "strategy", "dtype", "batch_size", "device_name", "roofline_bound_ms",
                          "limited_by", "note"]].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(json.dumps(result.summary, sort_keys=True, default=float))


def cmd_compress(args: argparse.Namespace) -> int:
    """``workbench compress``: train, compress with each method, measure into the store, report.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (see :func:`register`).

    Returns
    -------
    int
        0 (errors are raised as :class:`~workbench.errors.WorkbenchError`, exit code 2, before any training).
    """
    from workbench.strategies.compression_experiments import COMPRESSION_METHODS, run_compression

    settings = _settings(args)
    _check_projection_args(args)
    store, meter = _store_and_meter(args)
    res = run_compression(args.model, tuple(args.method) if args.method else COMPRESSION_METHODS,
                          amount=args.amount, epochs=args.epochs, fine_tune_epochs=args.fine_tune_epochs,
                          seed=args.seed, teacher=args.teacher, student=args.student,
                          temperature=args.temperature, alpha=args.alpha, settings=settings, meter=meter,
                          store=store, progress=progress_bar(args, json_output=args.json))
    print(f"{res.rows.height} row(s) appended to {store.path}", file=sys.stderr)
    _project(res, args, store)
    _report(res, ["model", "strategy", "dtype", "batch_size", "params", "flops", "weight_bytes", "latency_ms_p50",
                  "accuracy", "energy_j", "energy_method"], args, "compression")
    return 0


def cmd_cascade(args: argparse.Namespace) -> int:
    """``workbench cascade``: an early-exit network or a cascade, swept, chosen on validation, measured, reported.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (see :func:`register`).

    Returns
    -------
    int
        0 (errors are raised as :class:`~workbench.errors.WorkbenchError`, exit code 2, before any training).
    """
    from workbench.strategies.exits import check_criterion, check_threshold
    from workbench.strategies.staged_experiments import run_cascade, run_early_exit

    settings = _settings(args)
    try:
        channels = tuple(int(c) for c in args.channels.split(","))
    except ValueError:
        raise ParameterError(f"--channels must be three integers like 8,32,64, got {args.channels!r}.") from None
    if len(channels) != 3 or min(channels) <= 0:
        raise ParameterError(f"--channels must be three positive integers like 8,32,64, got {args.channels!r}.")
    check_criterion(args.criterion)
    for t in args.threshold or ():
        check_threshold(t)
    _check_projection_args(args)
    store, meter = _store_and_meter(args)
    common = dict(criterion=args.criterion, thresholds=args.threshold, max_accuracy_drop_pt=args.max_drop_pt,
                  epochs=args.epochs, seed=args.seed, settings=settings, meter=meter, store=store,
                  progress=progress_bar(args, json_output=args.json))
    if args.kind == "early-exit":
        res = run_early_exit(channels=channels, **common)
    else:
        res = run_cascade(small=args.small, large=args.large, **common)
    print(f"{res.rows.height} row(s) appended to {store.path}", file=sys.stderr)
    _project(res, args, store)
    _report(res, ["model", "strategy", "params", "flops", "latency_ms_p50", "accuracy", "energy_j"], args, args.kind)
    return 0
