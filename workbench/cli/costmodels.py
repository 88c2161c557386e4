"""``workbench fit``, ``workbench predict`` and ``workbench evaluate``: regression cost models.

Building the parser imports only :mod:`workbench.costmodels.kinds` (no scikit-learn); each command
imports what it runs when it runs.
"""

from __future__ import annotations

import argparse
import json
import sys

from workbench.costmodels.kinds import KINDS
from workbench.errors import UnknownNameError


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
    p.add_argument("--out", required=True, metavar="FILE", help="model file to write (JSON)")
    p.add_argument("--kind", default=None,
                   help=f"model kind (default: layerwise for latency_ms, additive otherwise). {kinds_help}")
    p.add_argument("--interval", type=float, default=0.9,
                   help="coverage of the conformal prediction interval (default 0.9; 0 for none)")
    p.add_argument("--zoo-twins", metavar="DATASET",
                   help="give imported rows of DATASET (e.g. mlperf-tiny) their zoo twin's FLOPs, sizes and "
                        "per-layer table before fitting (public results publish none)")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("predict", help="predict zoo models with a saved cost model")
    p.add_argument("--cost-model", required=True, metavar="FILE", help="model file from `workbench fit`")
    p.add_argument("--model", action="append", required=True, metavar="NAME",
                   help="zoo model (repeatable; see `workbench models`)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--dtype", default="fp32")
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
    p.add_argument("--kind", action="append", metavar="KIND",
                   help="model kind (repeatable; default: flops, loglinear, additive)")
    p.add_argument("--interval", type=float, default=0.9, help="interval coverage (default 0.9; 0 for none)")
    p.add_argument("--per-family", action="store_true", help="also print metrics per held-out family")
    p.add_argument("--jobs", type=int, default=1,
                   help="held-out families fitted in parallel (-1: one per core; the figures do not change)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=cmd_evaluate)


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
        ``target``, ``store``, ``out``, ``device_class``, ``device_name``, ``kind``, ``interval``
        (coverage in (0, 1); 0 for point predictions only) and ``zoo_twins``.

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
        No rows match, or ``interval`` not in (0, 1).
    """
    from workbench.costmodels.workflow import fit_from_store, save_fitted

    twins = None
    if args.zoo_twins:
        from workbench.costmodels.twins import dataset_twins

        twins = dataset_twins(args.zoo_twins)
    saved = fit_from_store(args.store, target=args.target, device_class=args.device_class,
                           device_name=args.device_name, kind=args.kind, interval=args.interval or None,
                           zoo_twins=twins)
    save_fitted(saved, args.out)
    md = saved.metadata
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
        ``interval``.

    Raises
    ------
    UnknownNameError
        Unknown zoo model or dtype.
    CorruptFileError, VersionMismatchError, TargetMismatchError
        The model file cannot be used (see :func:`workbench.costmodels.persistence.load`).
    """
    import pandas as pd

    from workbench.costmodels.factory import needs_layers
    from workbench.costmodels.features import align_features, zoo_features
    from workbench.costmodels.persistence import load
    from workbench.measure import zoo  # imports torch

    for m in args.model:  # validate names before any work
        zoo.resolve(m)
    saved = load(args.cost_model, target=args.target, check_versions=not args.ignore_versions)
    X, layers = zoo_features(args.model, batch_size=args.batch_size, dtype=args.dtype)
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
    _print(out, args.format)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``workbench evaluate``: leave-one-family-out accuracy of cost models on a store.

    Parameters
    ----------
    args : argparse.Namespace
        ``target``, ``store``, ``device_class``, ``device_name``, ``kind`` (list or None),
        ``interval`` (coverage in (0, 1); 0 for none), ``per_family``, ``jobs`` and ``format``.

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
        No rows match, ``interval`` not in (0, 1), or ``jobs`` 0.
    """
    from workbench.costmodels.features import training_data, training_layers
    from workbench.costmodels.training import read_training_tables
    from workbench.costmodels.validation import evaluate_family_out

    kinds = args.kind or ["flops", "loglinear", "additive"]
    for k in kinds:
        if k not in KINDS:
            raise UnknownNameError("cost-model kind", k, KINDS)
    rows, layers = read_training_tables(args.store)
    X, y, meta = training_data(rows, layers, target=args.target,
                               device_class=args.device_class, device_name=args.device_name)
    layers = training_layers(rows, layers)
    _, table = evaluate_family_out(X, y, meta, kinds=kinds, interval=args.interval or None, layers=layers,
                                   n_jobs=args.jobs)
    if not args.per_family:
        table = table[table["model_family"] == "all"]  # overall and per device class
    _print(table, args.format)
    if args.format == "table":
        print(json.dumps({"rows": int(len(y)), "families": int(meta["model_family"].nunique())}), file=sys.stderr)
    return 0
