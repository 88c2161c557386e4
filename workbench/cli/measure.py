"""``workbench models``, ``workbench profile``, ``workbench kernels``, ``workbench runs`` and ``workbench schema``."""

from __future__ import annotations

import argparse
import io
import sys

from workbench.errors import ParameterError, UnknownNameError

# At the top only the standard library and workbench.errors: polars, and the store, schema and catalog
# built on it, take ~0.7 s to import (torch, Brightway and scikit-learn far more), so each command imports
# what it needs and `workbench --help` stays at ~0.1 s.


def register(sub) -> None:
    """Add the ``models``, ``profile``, ``kernels``, ``runs`` and ``schema`` subcommands to ``sub``."""
    p = sub.add_parser("models", help="list zoo models, one name per line (each usable with --model)")
    p.add_argument("--all", action="store_true", help="list every width × depth × resolution variant")
    p.add_argument("--family", action="append", help="only these families (repeatable)")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("profile", help="profile zoo models or your own on this machine into the store")
    p.add_argument("--model", action="append", metavar="NAME",
                   help="zoo model (repeatable; see `workbench models`); or --module / --onnx below")
    p.add_argument("--batch-size", type=int, action="append", metavar="N",
                   help="batch size (repeatable for a sweep; default 1)")
    p.add_argument("--repeats", type=int, default=50, help="timed calls per configuration (default 50)")
    p.add_argument("--warmup", type=int, default=10, help="untimed calls first (default 10)")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    p.add_argument("--dtype", default="fp32", help="fp32 or int8 (torchao dynamic quantization)")
    p.add_argument("--meter", default="auto",
                   help="energy meter: auto, codecarbon, rapl, nvml, replay, none (default auto)")
    p.add_argument("--trace", help="power trace CSV (time_s, power_w) for --meter replay")
    p.add_argument("--energy-window", type=float, default=1.0, metavar="SECONDS",
                   help="seconds of back-to-back calls under the energy meter (default 1)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--normalise", default="auto", choices=("auto", "envelope", "reference", "duet", "none"),
                   help="how latency_ms_norm, the latency robust to other processes, is estimated: auto (default: "
                        "envelope with --threads 1, none with more), envelope (the fastest call on the thread's "
                        "CPU clock in blocks interleaved with a reference workload), "
                        "reference (each block relative to the reference around it), duet (reference on "
                        "another core at the same time), none (back-to-back calls, raw only)")
    p.add_argument("--blocks", type=int, default=10, help="model blocks interleaved with the reference (default 10)")
    p.add_argument("--device-class", default=None, help="override the detected device class")
    p.add_argument("--store", default="data/runs", help="store directory (default data/runs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from workbench.cli.runtimes import add_runtime_arguments

    add_runtime_arguments(p)
    from workbench.cli.fleet import add_fleet_arguments

    add_fleet_arguments(p)
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("kernels", help="profile the operator benchmark (conv/linear/GRU/attention blocks at sizes "
                                       "from a generic prior) into the store, for per-layer cost models")
    p.add_argument("--n", type=int, default=600, help="blocks, drawn round robin over the kinds (default 600)")
    p.add_argument("--seed", type=int, default=0, help="the same seed draws the same blocks (default 0)")
    p.add_argument("--repeats", type=int, default=60, help="timed calls per block (default 60)")
    p.add_argument("--warmup", type=int, default=10, help="untimed calls first (default 10)")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    p.add_argument("--store", default="data/runs", help="store directory (default data/runs)")
    p.set_defaults(func=cmd_kernels)

    p = sub.add_parser("runs", help="list and export the measurements in a store")
    p.add_argument("--store", default="data/runs", help="store directory (default data/runs)")
    p.add_argument("--filter", action="append", default=[], metavar="EXPR",
                   help="COLUMN OP VALUE with OP one of = != < <= > >= (repeatable, all must hold)")
    p.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table")
    p.add_argument("--columns", help="comma-separated columns to keep")
    p.add_argument("--output", "-o", help="write to this file instead of stdout (required for parquet)")
    p.add_argument("--overwrite", action="store_true", help="replace --output if it exists (default: refuse)")
    p.add_argument("--skip-corrupt", action="store_true", help="skip unreadable files with a warning")
    p.add_argument("--check", action="store_true",
                   help="check every file of the store (content hashes, full decoding) and list corrupt files and "
                        "debris left by killed writers; exit 1 if anything is found")
    p.add_argument("--remove-debris", action="store_true",
                   help="with --check: remove per-layer files without their run and stale temporary files "
                        "(run files are never removed)")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("schema", help="print the glossary of the measurement table")
    p.add_argument("--format", choices=("table", "csv", "markdown"), default="table")
    p.set_defaults(func=cmd_schema)


def cmd_models(args: argparse.Namespace) -> int:
    """``workbench models``: zoo model names, one a line, each usable with ``--model``.

    Parameters
    ----------
    args : argparse.Namespace
        ``all`` (every width × depth × resolution variant), ``family`` (list of families, or None).

    Returns
    -------
    int
        0; the names are printed on stdout.

    Raises
    ------
    UnknownNameError
        An unknown family.
    """
    from workbench.measure import zoo

    if args.family:
        for f in args.family:
            if f not in zoo.FAMILIES:
                raise UnknownNameError("family", f, zoo.FAMILIES)
    names = zoo.grid_names(args.family) if args.all else [
        n for n in zoo.default_names() if not args.family or zoo.resolve(n).family in args.family
    ]
    print("\n".join(names))
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    """``workbench profile``: profile zoo models on this machine and append the runs to the store.

    Parameters
    ----------
    args : argparse.Namespace
        ``model`` (names), ``batch_size`` (list or None for 1), ``repeats``, ``warmup``, ``threads``,
        ``dtype``, ``meter``, ``trace``, ``energy_window`` [s], ``device``, ``device_class``,
        ``normalise``, ``blocks``, ``store`` (directory), ``no_progress``.

    Returns
    -------
    int
        0; a summary table is printed on stdout and the number of rows written on stderr.

    Raises
    ------
    UnknownNameError
        An unknown model, dtype or meter (every model name is checked before any work).
    ParameterError
        Bad settings (e.g. ``repeats`` < 1).
    MeterError
        The energy meter asked for is unavailable here (e.g. ``rapl`` without counters).
    StoreError
        A store directory that cannot be written.
    """
    from workbench.cli.fleet import profile_on_fleet
    from workbench.cli.runtimes import profile_runtime
    from workbench.measure import profiler, zoo
    from workbench.measure.energy import get_meter
    from workbench.store import Store

    if not (args.model or args.module or args.onnx):
        raise ParameterError("nothing to profile. Fix: --model NAME (a zoo model), --module PATH_OR_MODULE:FACTORY "
                             "--input-shape 3x224x224 (your own), or --onnx FILE.")
    for m in args.model or ():  # validate every name before any work
        zoo.resolve(m)
    settings = profiler.ProfileSettings(
        batch_sizes=tuple(args.batch_size or (1,)), repeats=args.repeats, warmup=args.warmup,
        threads=args.threads, dtype=args.dtype, device=args.device, energy_window_s=args.energy_window,
        device_class=args.device_class, normalise=args.normalise, blocks=args.blocks,
    )
    code = profile_on_fleet(args, settings)  # --ray/--on: profile on the cluster's nodes (docs/cluster.md)
    if code is not None:
        return code
    store = Store(args.store)
    store.check_writable()
    meter = get_meter(args.meter, trace=args.trace) if args.meter == "replay" else get_meter(args.meter)
    df = profile_runtime(args, settings, meter, store)  # --runtime onnxruntime, --module, --onnx; None otherwise
    if df is None:
        df = profiler.profile(args.model, settings=settings, meter=meter, store=store,
                               progress=not args.no_progress and sys.stderr.isatty())
    cols = ["model", "strategy", "batch_size", "dtype", "latency_ms_p50", "latency_ms_norm", "latency_method",
            "contended_blocks", "latency_cv", "memory_peak_bytes", "energy_j", "energy_method"]
    _print_table(df.select(cols))
    print(f"{df.height} row(s) appended to {store.path}", file=sys.stderr)
    return 0


def cmd_kernels(args: argparse.Namespace) -> int:
    """``workbench kernels``: profile the operator benchmark blocks and append them to the store.

    Parameters
    ----------
    args : argparse.Namespace
        ``n`` (blocks), ``seed``, ``repeats``, ``warmup``, ``threads``, ``store`` (directory).

    Returns
    -------
    int
        0; the blocks and layer rows written are counted on stderr.

    Raises
    ------
    ParameterError
        Bad settings (e.g. ``n`` < 1), checked before any work.
    StoreError
        A store directory that cannot be written.
    """
    from workbench.measure import kernels
    from workbench.store import Store

    nets = kernels.kernel_nets(args.n, seed=args.seed)  # validates n before any work
    store = Store(args.store)
    store.check_writable()
    df, layers = kernels.profile_kernels(nets, repeats=args.repeats, warmup=args.warmup, threads=args.threads,
                                         store=store)
    by_kind = {k: sum(n.kind == k for n in nets) for k in kernels.KINDS}
    print(f"{df.height} operator block(s) {by_kind} and {layers.height} layer row(s) appended to {store.path}",
          file=sys.stderr)
    return 0


def _print_table(df) -> None:
    import polars as pl  # see the note at the top

    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=60):
        print(df)


def cmd_runs(args: argparse.Namespace) -> int:
    """``workbench runs``: list or export the measurements of a store.

    Parameters
    ----------
    args : argparse.Namespace
        ``store`` (directory), ``filter`` (``COLUMN OP VALUE`` expressions), ``format`` (``table``,
        ``csv``, ``json`` or ``parquet``), ``columns`` (comma-separated, or None), ``output`` (a file,
        or None for stdout), ``skip_corrupt``.

    Returns
    -------
    int
        0.

    Raises
    ------
    UnknownNameError
        An unknown column in ``columns`` or a filter.
    ParameterError
        A malformed filter, ``parquet`` without ``output``, or an ``output`` inside the store.
    CorruptFileError
        An unreadable run file (unless ``skip_corrupt``).
    StoreError
        ``output`` exists (without ``overwrite``) or cannot be written; nothing is written then.
    """
    from workbench import schema
    from workbench.store import Store

    store = Store(args.store)
    if args.check or args.remove_debris:
        return _check_store(store, remove=args.remove_debris)
    if args.output and store.contains(args.output):
        raise ParameterError(f"--output {args.output} lies inside the store {store.path}, where it would be read "
                             "back as a run (every row twice). Fix: write the export outside the store directory.")
    df = store.read(skip_corrupt=args.skip_corrupt, filters=args.filter or None)
    if args.columns:
        cols = [c.strip() for c in args.columns.split(",") if c.strip()]
        for c in cols:
            if c not in schema.COLUMN_NAMES:
                raise UnknownNameError("column", c, schema.COLUMN_NAMES, "workbench schema")
        df = df.select(cols)
    if args.format == "table":
        _print_table(df)
    elif args.format == "csv":
        _emit(df.write_csv().encode(), args.output, args.overwrite)
    elif args.format == "json":
        _emit((df.write_json() + "\n").encode(), args.output, args.overwrite)
    else:
        if not args.output:
            raise ParameterError("--format parquet writes binary data: give --output FILE.")
        buf = io.BytesIO()
        df.write_parquet(buf)
        _emit(buf.getvalue(), args.output, args.overwrite)
    return 0


def _check_store(store, *, remove: bool) -> int:
    """``workbench runs --check``: print what :meth:`Store.check` finds; exit 0 when clean, else 1."""
    if not store.path.is_dir():
        raise ParameterError(f"store {store.path} does not exist. Fix: give an existing --store directory.")
    found = store.check()
    print(f"{store.path}: {found.runs} run file(s) and {found.layer_files} per-layer file(s) read in full")
    for path, reason in found.corrupt:
        print(f"corrupt: {path}: {reason} (move it out of the store, or read with --skip-corrupt)")
    for path in found.orphan_layers:
        print(f"debris: {path} (per-layer file without its run: a writer stopped between the two files)")
    for path in found.stale_tmp:
        print(f"debris: {path} (temporary file of a writer that is gone)")
    if remove:
        removed = store.remove_debris()
        print(f"removed {len(removed)} debris file(s); run files are never removed")
        return 1 if found.corrupt else 0
    return 0 if found.clean else 1


def _emit(data: bytes, output: str | None, overwrite: bool = False) -> None:
    from workbench.files import write_file_atomic

    if output:
        write_file_atomic(output, data, overwrite=overwrite)
    else:
        sys.stdout.write(data.decode())


def cmd_schema(args: argparse.Namespace) -> int:
    """``workbench schema``: the glossary of the measurement table (column, dtype, unit, meaning).

    Parameters
    ----------
    args : argparse.Namespace
        ``format`` (``table``, ``csv`` or ``markdown``).

    Returns
    -------
    int
        0; the glossary is printed on stdout.
    """
    from workbench.schema import glossary

    g = glossary()
    if args.format == "csv":
        sys.stdout.write(g.write_csv())
    elif args.format == "markdown":
        print("| column | dtype | unit | required | meaning |\n|---|---|---|---|---|")
        for r in g.iter_rows(named=True):
            print(f"| `{r['name']}` | {r['dtype']} | {r['unit']} | {'yes' if r['required'] else ''} | {r['meaning']} |")
    else:
        _print_table(g)
    return 0
