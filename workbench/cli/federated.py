"""``workbench federate``: federated learning on Flower with a per-client resource and carbon ledger."""

from __future__ import annotations

import argparse
import json

# At the top only the standard library: Flower, Ray, torch and polars are imported by the command.


def register(sub) -> None:
    """Add the ``federate`` subcommand to ``sub``."""
    p = sub.add_parser("federate", help="run federated learning on Flower (simulated clients on Ray) and append "
                                        "its per-client ledger (bytes, time, energy, carbon) to the store")
    p.add_argument("config", metavar="CONFIG.toml", help="federated configuration (see docs/federated.md); "
                                                          "[experiments.<id>] tables run several in one simulation")
    p.add_argument("--store", required=True, metavar="DIR", help="store directory the ledger rows are appended to")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--verbose", action="store_true", help="show Flower's log")
    p.set_defaults(func=cmd_federate)


def cmd_federate(args: argparse.Namespace) -> int:
    """``workbench federate``: validate the configuration, simulate, append the ledger, print a summary.

    Parameters
    ----------
    args : argparse.Namespace
        ``config`` (TOML path; with ``[experiments.<id>]`` tables, every experiment in one simulation),
        ``store`` (directory), ``format`` (``table`` or ``json``), ``verbose``.

    Returns
    -------
    int
        0. JSON: the run's summary (run id, wall and start-up time [s], energy method, per experiment:
        final accuracy [1], bytes [B], energies [J], carbon [g CO2e], failed client-rounds) and ``history``.

    Raises
    ------
    WorkbenchError
        A bad configuration (unknown strategy, device, country; fraction outside (0, 1]; zero clients or
        rounds; alpha <= 0; more clients than samples) or an unwritable store: one ``error:`` line, exit 2,
        nothing written.
    """
    from workbench.federated import load_experiments, run_many

    res = run_many(load_experiments(args.config), store=args.store, verbose=args.verbose)
    s = res.summary
    if args.format == "json":
        print(json.dumps({**s, "history": res.history}, default=float))
        return 0
    print(f"run {s['run_id']}: {s['client_rounds']} client-rounds in {s['wall_s']:.1f} s (Ray and clients up "
          f"after {s['startup_s']:.1f} s); energy here: {s['energy_method']} ({s['j_per_cpu_s']:.3g} J per CPU-s)")
    for e in s["experiments"].values():
        print(f"{e['strategy']}: {e['clients']} clients × {e['rounds']} rounds, accuracy {e['final_accuracy']:.4f}, "
              f"{e['failed_client_rounds']} failed client-round(s)")
        print(f"  bytes down {e['bytes_down']:,} B, up {e['bytes_up']:,} B; slowest round {e['round_time_s_max']:.3g} s "
              f"(predicted)")
        print(f"  carbon {e['total_g']:.4g} g CO2e = operational {e['operational_g']:.4g} + network "
              f"{e['network_g']:.4g} + embodied {e['embodied_g']:.4g}")
    print(f"appended {res.rows.height} rows to {args.store}")
    return 0
