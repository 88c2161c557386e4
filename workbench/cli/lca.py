"""``workbench footprint`` and ``workbench lca-setup``: life-cycle assessment of scenario files.

Every ``workbench`` command imports this module to build its parser, so it imports the
:mod:`workbench.lca` package only: the package resolves ``footprint_dict`` and ``setup_project``
on first use (its lazy attribute loader), and Brightway is imported when a command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from workbench import lca
from workbench.cli.progress import add_progress_flag, progress_bar


def register(sub) -> None:
    """Add the ``footprint`` and ``lca-setup`` subcommands to the ``workbench`` parser.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``workbench`` command.
    """
    p = sub.add_parser("footprint", help="life-cycle footprint of a scenario TOML file (Brightway)")
    p.add_argument("scenario", help="scenario file (.toml); examples under data/scenarios/")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")
    p.add_argument("--monte-carlo", type=int, default=0, metavar="N",
                   help="Monte Carlo iterations through Brightway's uncertainty machinery (adds percentiles)")
    p.add_argument("--seed", type=int, default=None, help="seed of the Monte Carlo draws")
    p.add_argument("--method", default=None,
                   help="LCIA method as 'A | B | C' (default: IPCC 2021 | climate change | GWP100)")
    p.add_argument("--lca-dir", default=None,
                   help="Brightway data directory (default $WORKBENCH_LCA_DIR or the user data dir)")
    p.add_argument("--keep", action="store_true", help="keep the scenario database in the Brightway project")
    p.add_argument("--allow-implausible", action="store_true",
                   help="accept values beyond their physical plausibility bounds (e.g. power_w above 1 MW per "
                        "device); same as allow_implausible = true in the scenario")
    add_progress_flag(p)
    p.set_defaults(func=cmd_footprint)

    s = sub.add_parser("lca-setup", help="create (once) the offline Brightway project used by `footprint`")
    s.add_argument("--lca-dir", default=None, help="Brightway data directory (default $WORKBENCH_LCA_DIR)")
    s.add_argument("--methods", default="default", choices=("ipcc", "default", "all"),
                   help="LCIA method families: ipcc (IPCC 2013/2021), default (+ EF 3.1), all (762 methods)")
    s.add_argument("--rebuild", action="store_true", help="delete and rebuild the project")
    s.set_defaults(func=cmd_setup)


def _quiet():
    """Silence Brightway's progress bars and info logs on stderr (the CLI prints its own lines)."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    logging.getLogger("bw2data").setLevel(logging.WARNING)
    try:
        import structlog  # optional (comes with some Brightway versions): configured only when installed

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    except ImportError:  # pragma: no cover
        pass


def cmd_footprint(args: argparse.Namespace) -> int:
    """Run ``workbench footprint``: print the footprint of a scenario file as a table or JSON.

    The scenario argument is always read as a file path (never as TOML text). A SIGTERM while the
    footprint runs exits through the library's cleanup, so the temporary scenario database is deleted.

    Returns
    -------
    int
        0 (errors are raised as :class:`workbench.errors.WorkbenchError`, exit code 2).
    """
    _quiet()
    with _terminate_as_exit():
        out = lca.footprint_dict(Path(args.scenario), method=args.method, lca_dir=args.lca_dir, keep=args.keep,
                                 monte_carlo=args.monte_carlo, seed=args.seed,
                                 allow_implausible=args.allow_implausible,
                                 progress=progress_bar(args, json_output=args.format == "json"))
    if args.format == "json":
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_table(out))
    return 0


@contextlib.contextmanager
def _terminate_as_exit():
    """Turn SIGTERM into ``SystemExit(143)`` inside the block (main thread only), so ``finally`` clauses run.

    Python's default SIGTERM action ends the process at once; raising instead lets the footprint
    delete its scenario database. (``kill -9`` cannot be caught: the next footprint sweeps it.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _exit(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def cmd_setup(args: argparse.Namespace) -> int:
    """Run ``workbench lca-setup``: create (once) the offline Brightway project, report where on stderr.

    Returns
    -------
    int
        0 (errors are raised as :class:`workbench.errors.WorkbenchError`, exit code 2).
    """
    _quiet()
    t0 = time.perf_counter()
    info = lca.setup_project(args.lca_dir, method_set=args.methods, rebuild=args.rebuild)
    print(f"Brightway project {info.project!r} ready in {info.data_dir} ({info.n_methods} LCIA methods, "
          f"set {info.method_set!r}, foreground {info.foreground!r}) in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    return 0


def format_table(out: dict) -> str:
    """Plain-text table of a footprint dict (what ``--format table`` prints)."""
    lines = [f"scenario: {out['scenario']}  (functional unit: {out['functional_unit']})",
             f"method:   {out['method']} [{out['method_unit']}]",
             f"grid:     {out['country'] or 'explicit'} at {out['carbon_intensity_g_per_kwh']:.4g} g CO2-eq/kWh "
             f"({out['intensity_source']})", ""]
    head = f"{'component':<28}{'energy_kwh':>14}{'operational':>14}{'embodied':>14}{'network':>12}{'total':>14}"
    lines += [head, "-" * len(head)]
    for d in out["devices"]:
        label = f"{d['count']:g} x {d['name']}"
        lines.append(f"{label[:27]:<28}{d['energy_kwh']:>14.6g}{d['operational_kgco2e']:>14.6g}"
                     f"{d['embodied_kgco2e']:>14.6g}{0:>12.6g}{d['total_kgco2e']:>14.6g}")
    for n in out["network"]:
        label = f"{n['gigabytes']:g} GB {n['technology']}"
        lines.append(f"{label[:27]:<28}{n['energy_kwh']:>14.6g}{0:>14.6g}{0:>14.6g}{n['kgco2e']:>12.6g}"
                     f"{n['kgco2e']:>14.6g}")
    lines.append("-" * len(head))
    lines.append(f"{'total':<28}{out['energy_kwh']:>14.6g}{out['operational_kgco2e']:>14.6g}"
                 f"{out['embodied_kgco2e']:>14.6g}{out['network_kgco2e']:>12.6g}{out['total_kgco2e']:>14.6g}")
    for d in out["devices"]:
        if not d["embodied_included"]:
            lines.append(f"note: embodied emissions of {d['name']} not amortised (give hours and lifetime_years)")
    if out.get("categories"):
        lines += ["", "other categories:"]
        lines += [f"  {name}: {v['score']:.6g} {v['unit']}" for name, v in out["categories"].items()]
    mc = out.get("monte_carlo")
    if mc:
        lines += ["", f"Monte Carlo ({mc['iterations']} iterations, seed {mc['seed']}):"]
        for key in ("total_kgco2e", "operational_kgco2e", "embodied_kgco2e", "network_kgco2e"):
            s = mc[key]
            lines.append(f"  {key:<20} median {s['p50']:.6g}  95% interval [{s['p2.5']:.6g}, {s['p97.5']:.6g}]")
    return "\n".join(lines) + "\n"
