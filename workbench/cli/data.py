"""``workbench import``, ``workbench devices``, ``workbench grid``, ``workbench network``, ``workbench pue``."""

from __future__ import annotations

import argparse
import sys

from workbench.cli.progress import add_progress_flag, progress_bar
from workbench.errors import CorruptFileError, ParameterError

# At the top only the standard library, workbench.errors and the stdlib-only workbench.cli.progress: polars,
# and the store, schema and catalog built on it, take ~0.7 s to import (torch, Brightway and scikit-learn far
# more), so each command imports what it needs and `workbench --help` stays at ~0.1 s.

_KINDS_HELP = "mlperf-tiny, mlperf-inference, ml-energy, nn-meter, codecarbon"


def register(sub) -> None:
    """Add the ``import``, ``devices``, ``grid``, ``network`` and ``pue`` subcommands to ``sub``."""
    p = sub.add_parser("import", help="import a public dataset or a codecarbon emissions.csv into the store",
                       description="Import a dataset file (or the directory holding it) into the store. "
                                   "Each result is stored once: importing the same content again (whatever "
                                   "its row order or line endings) adds nothing; a file with a malformed row "
                                   f"adds nothing and lists the rows. KIND: {_KINDS_HELP}.")
    p.add_argument("kind", metavar="KIND", help=_KINDS_HELP)
    p.add_argument("path", metavar="PATH", help="dataset file, or directory holding it")
    p.add_argument("--store", default="data/runs", help="store directory (default data/runs)")
    p.add_argument("--dry-run", action="store_true", help="read and validate only; print what would be added")
    p.add_argument("--allow-implausible", action="store_true",
                   help="accept values above the physical plausibility bounds (workbench.bounds), "
                        "e.g. a real 2-day latency; by default they are refused as unit slips")
    add_progress_flag(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("devices", help="list the device catalog (cited specifications)")
    p.add_argument("name", nargs="?", help="show every figure of one device, with its source")
    p.add_argument("--class", dest="device_class", metavar="C", help="only this device class")
    p.add_argument("--user", action="append", default=[], metavar="FILE",
                   help="also load devices from a TOML or CSV file (repeatable)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("grid", help="grid carbon intensity by country (codecarbon data)")
    p.add_argument("iso3", nargs="?", metavar="ISO3", help="one country: intensity, year, source and generation mix")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=cmd_grid)

    p = sub.add_parser("network", help="network transfer energy intensity [kWh/GB] by access technology")
    p.add_argument("--year", type=int, help="year to extrapolate to (default: each figure's base year)")
    p.add_argument("--halving-years", type=float, help="halving time of the trend in years (inf: no trend)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=cmd_network)

    p = sub.add_parser("pue", help="data-centre PUE defaults with sources")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=cmd_pue)


def _out(df, fmt: str) -> None:
    import polars as pl  # see the note at the top

    if fmt == "csv":
        sys.stdout.write(df.write_csv())
    elif fmt == "json":
        sys.stdout.write(df.write_json() + "\n")
    else:
        with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=220, fmt_str_lengths=90,
                       tbl_hide_dataframe_shape=True):
            print(df)


def cmd_import(args: argparse.Namespace) -> int:
    """``workbench import``: import a public dataset or a codecarbon ``emissions.csv`` into the store.

    Parameters
    ----------
    args : argparse.Namespace
        ``kind`` (a dataset kind), ``path`` (file or directory), ``store`` (directory), ``dry_run``,
        ``allow_implausible``, ``no_progress``.

    Returns
    -------
    int
        0; per file, what was added (or would be, with ``dry_run``) or that its rows were already in
        the store is printed, followed by its notes (rows skipped, repeats collapsed, columns ignored).

    Raises
    ------
    UnknownNameError
        An unknown dataset kind.
    ImportFormatError
        A malformed file (nothing is added; the message lists the rows, or says what the file is).
    StoreError
        The store cannot be written.
    """
    from workbench import datasets

    if args.dry_run:
        reads = datasets.read_files(args.kind, args.path, allow_implausible=args.allow_implausible,
                                    progress=progress_bar(args))
        n = sum(r.frame.height for r in reads)
        print(f"{n} row(s) would be imported from {args.path} (dry run: nothing written)")
        for r in reads:
            _notes(r.notes)
        return 0
    try:
        results = datasets.import_file(args.kind, args.path, args.store, allow_implausible=args.allow_implausible,
                                       progress=progress_bar(args))
    except CorruptFileError as exc:  # its usual fix, --skip-corrupt, would let an import store a row twice
        raise CorruptFileError(exc.path, exc.reason, "An import reads every stored id so that no row is stored twice, "
                               "so it cannot skip a damaged file; nothing was imported. Fix: `workbench runs --store "
                               f"{args.store} --check` lists the damaged files; move them out of the store, then "
                               "import again.") from None
    for r in results:
        if r.same_bytes:
            print(f"{r.path}: already imported into {args.store} (sha256 {r.sha256[:12]}…): "
                  f"{r.rows_already} row(s) already in the store, nothing added")
        elif r.skipped:
            print(f"{r.path}: {r.rows_already} row(s) already in the store, nothing added")
        else:
            already = f"; {r.rows_already} row(s) already in the store" if r.rows_already else ""
            print(f"{r.path}: {r.rows_added} row(s) added to {args.store} ({r.run_file.name}){already}")
        _notes(r.notes)
    return 0


def _notes(notes) -> None:
    for note in notes:
        print(f"  note: {note}")


def cmd_devices(args: argparse.Namespace) -> int:
    """``workbench devices``: the device catalog, or every figure of one device with its source.

    Parameters
    ----------
    args : argparse.Namespace
        ``name`` (a device, or None for the list), ``device_class`` (or None), ``user`` (device files
        to load first), ``format`` (``table``, ``csv`` or ``json``).

    Returns
    -------
    int
        0; the table is printed on stdout.

    Raises
    ------
    UnknownNameError
        An unknown device or device class.
    ImportFormatError
        A malformed user device file.
    """
    from workbench.catalog import devices

    for f in args.user:
        devices.load_user_devices(f)
    if args.name:
        _out(devices.figures_table(args.name), args.format)
        return 0
    table = devices.list_devices(args.device_class)
    if args.format == "table":
        keep = ["name", "device_class", "peak_flops_per_s_fp32", "peak_flops_per_s_fp16", "peak_flops_per_s_int8",
                "memory_bandwidth_bytes_per_s", "ram_bytes", "max_power_w", "embodied_kgco2e",
                "embodied_is_estimate", "lifetime_years"]
        table = table.select([c for c in keep if c in table.columns])
    _out(table, args.format)
    return 0


def cmd_grid(args: argparse.Namespace) -> int:
    """``workbench grid``: grid carbon intensity [gCO2e/kWh] by country, or one country with its generation mix.

    Parameters
    ----------
    args : argparse.Namespace
        ``iso3`` (a country code or name, or None for every country), ``format``.

    Returns
    -------
    int
        0; the table is printed on stdout.

    Raises
    ------
    UnknownNameError
        An unknown country.
    """
    import polars as pl

    from workbench.catalog import grid

    if args.iso3:
        iso3 = grid.resolve_country(args.iso3)
        _out(grid.grid_table().filter(pl.col("iso3") == iso3), args.format)
        if args.format == "table":
            try:
                mix = grid.energy_mix(iso3)
            except ParameterError:  # no generation mix for this country: the intensity stands alone
                mix = {}
            shares = sorted(((k, v) for k, v in mix.items() if v), key=lambda kv: -kv[1])
            if shares:
                print("generation mix: " + ", ".join(f"{k} {v:.1%}" for k, v in shares))
        return 0
    _out(grid.grid_table(), args.format)
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    """``workbench network``: transfer energy intensity [kWh/GB] by access technology.

    Parameters
    ----------
    args : argparse.Namespace
        ``year`` (or None for each figure's base year), ``halving_years`` [year] (or None for the
        default trend; ``inf`` for none), ``format``.

    Returns
    -------
    int
        0; the table is printed on stdout.

    Raises
    ------
    ParameterError
        A year outside the trend's range or a halving time that is not > 0.
    """
    from workbench.catalog import network

    _out(network.network_table(args.year, halving_years=args.halving_years), args.format)
    return 0


def cmd_pue(args: argparse.Namespace) -> int:
    """``workbench pue``: the data-centre PUE defaults [1] with their sources.

    Parameters
    ----------
    args : argparse.Namespace
        ``format``.

    Returns
    -------
    int
        0; the table is printed on stdout.
    """
    from workbench.catalog import pue

    _out(pue.pue_table(), args.format)
    return 0
