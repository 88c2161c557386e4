"""``workbench fit``, ``workbench predict`` and ``workbench evaluate``: regression cost models.

Building the parser imports only :mod:`workbench.costmodels.kinds` (no scikit-learn); each command
imports what it runs when it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from workbench.checks import check_int, check_interval
from workbench.cli.progress import add_progress_flag, progress_bar
from workbench.costmodels.kinds import KINDS
from workbench.errors import ParameterError, UnknownNameError


def register(sub) -> None:
    """Add the ``fit``, ``predict`` and ``evaluate`` commands to the CLI's subparsers.

    Parameters
    ----------
    sub : argparse subparsers action
        From ``ArgumentParser.add_subparsers()``.
    """
    TARGETS = ("energy_j", "latency_ms", "memory_peak_bytes")  # = workbench.costmodels.features.TARGETS (tested)

    kinds_help = "; ".join(f"{k}: {v}" for k, v in KINDS.items())

    p = sub.add_parser("fit", help="fit a cost model on the measurements of a store and save it (JSON)")
    p.add_argument("--target", required=True, choices=sorted(TARGETS), help="quantity to predict")
    p.add_argument("--device-class", help="fit on rows of this device class (see `workbench schema`)")
    p.add_argument("--device-name", help="fit on rows of this device only")
    p.add_argument("--store", default="data/runs", help="store directory (default data/runs)")
    p.add_argument("--skip-corrupt", action="store_true", help="skip unreadable store files with a warning")
    p.add_argument("--out", required=True, metavar="FILE", help="model file to write (JSON; its directory must exist)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists (default: refuse)")
    p.add_argument("--kind", default=None,
                   help=f"model kind (default: layerwise for latency_ms, additive otherwise). {kinds_help}")
    p.add_argument("--interval", default="0.9",
                   help="coverage of the conformal prediction interval, in (0, 1) (default 0.9; 0 for none)")
    p.add_argument("--zoo-twins", metavar="DATASET",
                   help="give imported rows of DATASET (e.g. mlperf-tiny) their zoo twin's FLOPs, sizes and "
                        "per-layer table before fitting (public results publish none)")
    p.add_argument("--label", default="auto", choices=("auto", "normalised", "raw"),
                   help="which milliseconds a latency model learns: auto (default: the normalised latency_ms_norm "
                        "where a row has it, else the raw median), normalised (those rows only) or raw")
    add_progress_flag(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("predict", help="predict zoo models (or your own) with a saved cost model")
    p.add_argument("--cost-model", required=True, metavar="FILE", help="model file from `workbench fit`")
    p.add_argument("--model", action="append", metavar="NAME",
                   help="zoo model (repeatable; see `workbench models`)")
    p.add_argument("--module", action="append", metavar="PATH_OR_MODULE:FACTORY",
                   help="your own model: a function returning an nn.Module, e.g. my_models.py:build (repeatable). "
                        "This imports and runs your code, on purpose: name only factories you trust")
    p.add_argument("--input-shape", metavar="CxHxW", help="one sample's shape for --module, e.g. 3x224x224")
    p.add_argument("--batch-size", type=int, default=1, help="samples per forward call (default 1)")
    p.add_argument("--dtype", default="fp32", help="numeric format of the zoo model (default fp32)")
    p.add_argument("--target", help="refuse the file unless it predicts this target")
    p.add_argument("--ignore-versions", action="store_true",
                   help="load a file written with other numpy/scikit-learn/workbench versions")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="leave-one-family-out accuracy of cost models on a store")
    p.add_argument("--target", default="latency_ms", choices=sorted(TARGETS))
    p.add_argument("--device-class", help="evaluate on rows of this device class")
    p.add_argument("--device-name", help="evaluate on rows of this device only")
    p.add_argument("--store", default="data/runs", help="store directory (default data/runs)")
    p.add_argument("--skip-corrupt", action="store_true", help="skip unreadable store files with a warning")
    p.add_argument("--kind", action="append", metavar="KIND",
                   help="model kind (repeatable; default: flops, loglinear, additive)")
    p.add_argument("--interval", default="0.9", help="interval coverage, in (0, 1) (default 0.9; 0 for none)")
    p.add_argument("--per-family", action="store_true", help="also print metrics per held-out family")
    p.add_argument("--jobs", type=int, default=1,
                   help="held-out families fitted in parallel (-1: one per core; the figures do not change)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    add_progress_flag(p)
    p.set_defaults(func=cmd_evaluate)


def parse_interval(text: str) -> float | None:
    """``--interval``: a coverage in (0, 1), or None for ``0``/``none`` (point predictions only).

    Raises
    ------
    ParameterError
        Not a number, not finite, or outside (0, 1) and not 0.
    """
    if str(text).strip().lower() in ("0", "none"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise ParameterError(f"--interval must be a number, got {text!r}. Fix: give the nominal coverage as a fraction "
                             "in (0, 1), e.g. --interval 0.9 for 90 % intervals, or 0 for none.") from None
    return None if value == 0 else check_interval(value, "--interval")


def store_directory(path: str) -> Path:
    """``--store`` as a path, if it is an existing directory (a command never creates a store by reading it).

    Raises
    ------
    ParameterError
        The directory does not exist, or is a file.
    """
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"--store {path!r} does not exist. Fix: give the store directory that `workbench "
                             "profile` or `workbench import` wrote (default data/runs).")
    if not p.is_dir():
        raise ParameterError(f"--store {path!r} is a file, not a store directory. Fix: give the directory that "
                             "holds the run files (default data/runs).")
    return p


def check_model_output(path: str, store: Path, overwrite: bool) -> Path:
    """``--out`` as a path, checked before any fitting: a file name in an existing, writable directory,
    outside the store, and new unless ``overwrite``.

    Raises
    ------
    ParameterError
        The path is a directory, inside the store, in a missing or read-only directory, or exists
        (without ``overwrite``).
    """
    from workbench.store import Store

    p = Path(path)
    if p.is_dir():
        raise ParameterError(f"--out {path!r} is a directory. Fix: give a file name, e.g. {str(p / 'model.json')!r}.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ParameterError(f"the directory of --out {path!r} ({str(parent)!r}) does not exist; nothing was fitted. "
                             "Fix: create it first, or choose another path.")
    if Store(store).contains(p):
        raise ParameterError(f"--out {path!r} lies inside the store {str(store)!r}; nothing was fitted. Fix: write "
                             "the model file outside the store directory, which holds runs only.")
    if p.exists() and not overwrite:
        raise ParameterError(f"--out {path!r} already exists; nothing was fitted or written. Fix: choose another file "
                             "name, or pass --overwrite to replace it.")
    if not os.access(parent, os.W_OK):
        raise ParameterError(f"the directory of --out {path!r} ({str(parent)!r}) is not writable; nothing was "
                             "fitted. Fix: choose a writable directory.")
    return p


def _warn(caught) -> None:
    for w in caught:  # e.g. "skipping corrupt file ..." from --skip-corrupt: one line each
        print(f"warning: {w.message}", file=sys.stderr)


def _print(df, fmt: str) -> None:
    if fmt == "csv":
        sys.stdout.write(df.to_csv(index=False))
    elif fmt == "json":
        print(df.to_json(orient="records"))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
            print(df.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def cmd_fit(args: argparse.Namespace) -> int:
    """``workbench fit``: fit a cost model on a store's measurements and write it as JSON.

    Parameters
    ----------
    args : argparse.Namespace
        ``target``, ``store``, ``skip_corrupt``, ``out``, ``overwrite``, ``device_class``,
        ``device_name``, ``kind``, ``interval`` (text: a coverage in (0, 1); 0 for point
        predictions only), ``zoo_twins`` and ``label`` (which milliseconds a latency model learns).

    Returns
    -------
    int
        Exit status 0 (errors are raised as :class:`~workbench.errors.WorkbenchError`, which the
        CLI prints with exit status 2).

    Raises
    ------
    UnknownNameError
        Unknown kind, device class or zoo-twin dataset.
    ParameterError
        ``interval`` not 0 or in (0, 1), ``store`` missing, ``out`` unusable (see
        :func:`check_model_output`), no rows match, or too few rows.
    CorruptFileError
        A store file cannot be read (without ``--skip-corrupt``).
    StoreError
        The model file cannot be written; nothing was written.
    """
    from workbench.costmodels.factory import check_kind
    from workbench.costmodels.features import latency_label_note as label_note
    from workbench.costmodels.workflow import fit_from_store, save_fitted

    interval = parse_interval(args.interval)
    if args.kind is not None:
        check_kind(args.kind, args.target)
    store = store_directory(args.store)
    out = check_model_output(args.out, store, overwrite=True)  # the path's directory, before any reading

    def new_file(_):  # once the rows are known to fit on: refuse to replace a file before fitting
        check_model_output(args.out, store, args.overwrite)

    twins = None
    if args.zoo_twins:
        from workbench.costmodels.twins import dataset_twins

        twins = dataset_twins(args.zoo_twins)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            saved = fit_from_store(store, target=args.target, device_class=args.device_class,
                                   device_name=args.device_name, kind=args.kind, interval=interval,
                                   zoo_twins=twins, skip_corrupt=args.skip_corrupt, before_fit=new_file,
                                   label=args.label, progress=progress_bar(args))
        finally:
            _warn(caught)  # files skipped by --skip-corrupt are named even when the fit then fails
    save_fitted(saved, out, overwrite=args.overwrite)
    md = saved.metadata
    for note in [*(md.get("notes") or []), *filter(None, [label_note(md)])]:
        print(f"note: {note}.", file=sys.stderr)
    print(f"fitted {md['kind']} cost model for {args.target} on {md['n_train']} rows "
          f"({len(md['families'])} families, {len(md['devices'])} device(s)); wrote {args.out}", file=sys.stderr)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``workbench predict``: predict zoo models with a saved cost model and print the table.

    Parameters
    ----------
    args : argparse.Namespace
        ``cost_model`` (model file), ``model`` (zoo names), ``batch_size`` [samples per call],
        ``dtype``, ``target``, ``ignore_versions`` and ``format``.

    Returns
    -------
    int
        Exit status 0. The table has ``predicted_<target>`` [target unit] per model and, for a
        model with intervals, ``lower_<target>``, ``upper_<target>`` and their coverage
        ``interval``. For latency, a note on stderr says which milliseconds (normalised or raw, from
        the training labels; :func:`~workbench.costmodels.features.latency_label_note`).

    Raises
    ------
    UnknownNameError
        Unknown zoo model, dtype or target.
    ParameterError
        ``batch_size`` not a positive integer.
    CorruptFileError, VersionMismatchError, TargetMismatchError
        The model file cannot be used (see :func:`workbench.costmodels.persistence.load`).
    """
    import pandas as pd

    from workbench.costmodels.factory import needs_layers
    from workbench.costmodels.features import DTYPE_BYTES, align_features, target_column, zoo_features
    from workbench.costmodels.features import latency_label_note as label_note
    from workbench.costmodels.persistence import load
    from workbench.measure import zoo  # imports torch

    batch_size = check_int(args.batch_size, "--batch-size", fix="give the samples per forward call, e.g. 1.")
    if args.dtype not in DTYPE_BYTES:
        raise UnknownNameError("dtype", args.dtype, DTYPE_BYTES)
    if args.target is not None:
        target_column(args.target)  # a known target, before the file is blamed for predicting another
    models: list = list(args.model or ())
    for m in models:  # validate names before any work
        zoo.resolve(m)
    if args.module:
        from workbench.measure.user_module import UserModelSpec, parse_input_shape

        if not args.input_shape:
            raise ParameterError("--module needs --input-shape. Fix: give one sample's shape, e.g. "
                                 "--input-shape 3x224x224.")
        shape = parse_input_shape(args.input_shape)
        models += [UserModelSpec(m, shape) for m in args.module]
    if not models:
        raise ParameterError("nothing to predict. Fix: --model NAME (a zoo model) or --module PATH_OR_MODULE:FACTORY "
                             "--input-shape 3x224x224 (your own).")
    saved = load(args.cost_model, target=args.target, check_versions=not args.ignore_versions)
    X, layers = zoo_features(models, batch_size=batch_size, dtype=args.dtype)
    X = align_features(X, saved.features)
    kw = {"layers": layers} if needs_layers(saved.estimator) else {}
    pred = saved.predict(X, **kw)
    out = pd.DataFrame({"model": X.index, "batch_size": args.batch_size, "dtype": args.dtype,
                        f"predicted_{saved.target}": pred})
    if hasattr(saved.estimator, "predict_interval"):
        lo, hi = saved.predict_interval(X, **kw)
        cov = saved.metadata.get("interval")
        out[f"lower_{saved.target}"], out[f"upper_{saved.target}"] = lo, hi
        out["interval"] = cov
    note = label_note(saved.metadata)
    if note:
        print(f"note: {note}.", file=sys.stderr)
    _print(out, args.format)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``workbench evaluate``: leave-one-family-out accuracy of cost models on a store.

    Parameters
    ----------
    args : argparse.Namespace
        ``target``, ``store``, ``skip_corrupt``, ``device_class``, ``device_name``, ``kind`` (list
        or None), ``interval`` (text: a coverage in (0, 1); 0 for none), ``per_family``, ``jobs``
        and ``format``.

    Returns
    -------
    int
        Exit status 0; the metrics table (``mape``, ``rmse`` [target unit], ``within10``, and with
        intervals ``coverage``) goes to standard output.

    Raises
    ------
    UnknownNameError
        Unknown kind, target or device class.
    ParameterError
        ``interval`` not 0 or in (0, 1), ``jobs`` 0, ``store`` missing, no rows match, fewer
        than 2 model families, or too few rows for intervals.
    CorruptFileError
        A store file cannot be read (without ``--skip-corrupt``).
    """
    from workbench.costmodels.factory import check_kind
    from workbench.costmodels.features import training_data, training_layers
    from workbench.costmodels.training import read_training_tables
    from workbench.costmodels.validation import check_n_jobs, evaluate_family_out

    interval = parse_interval(args.interval)
    n_jobs = check_n_jobs(args.jobs)
    kinds = args.kind or ["flops", "loglinear", "additive"]
    for k in kinds:
        check_kind(k, args.target)
    store = store_directory(args.store)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rows, layers = read_training_tables(store, skip_corrupt=args.skip_corrupt)
        finally:
            _warn(caught)
    X, y, meta = training_data(rows, layers, target=args.target,
                               device_class=args.device_class, device_name=args.device_name)
    layers = training_layers(rows, layers)
    _, table = evaluate_family_out(X, y, meta, kinds=kinds, interval=interval, layers=layers, n_jobs=n_jobs,
                                   progress=progress_bar(args, json_output=args.format == "json"))
    if not args.per_family:
        table = table[table["model_family"] == "all"]  # overall and per device class
    _print(table, args.format)
    if args.format == "table":
        print(json.dumps({"rows": int(len(y)), "families": int(meta["model_family"].nunique())}), file=sys.stderr)
    return 0
