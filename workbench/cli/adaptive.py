"""``workbench adapt``: replay adaptive-configuration policies on traces (``docs/adaptive.md``).

Register it with ``"workbench.cli.adaptive"`` in :data:`workbench.cli.COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
import json

# At the top only the standard library: the adaptive package imports numpy, polars and the placement package,
# so the command imports it when it runs and `workbench --help` stays fast.

POLICY_NAMES = ("static", "reactive", "predictive", "mpc", "clairvoyant")
"""``--policy`` choices (the oracle is always added as the yardstick; ``clairvoyant``, which knows the interval
being decided, is a second, non-causal yardstick: workbench.adaptive.config_file.POLICIES)."""

SUMMARY_COLUMNS = ("policy", "slo_miss_rate", "accuracy", "device_energy_j_per_request", "energy_j_per_request",
                   "carbon_g_per_request", "soc_j_end", "deferred", "switches")


def register(sub) -> None:
    """Add the ``adapt`` subcommand to ``sub``."""
    p = sub.add_parser("adapt", help="replay adaptive policies (static, reactive, predictive, carbon MPC) on "
                                     "bandwidth, carbon and battery traces, beside the offline oracle")
    p.add_argument("config", metavar="CONFIG.toml", help="adapt file: configurations, traces, budget "
                                                         "(docs/adaptive.md)")
    p.add_argument("--policy", action="append", choices=POLICY_NAMES, metavar="P",
                   help=f"a policy to replay (repeatable; one of {', '.join(POLICY_NAMES)}; default: the file's, else all "
                        "but clairvoyant, a non-causal yardstick)")
    p.add_argument("--intervals", action="store_true", help="with --format json: add every interval's outcome")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--store", metavar="DIR", default=None,
                   help="append one measurement-schema row per policy (predicted by the replay) to this store")
    p.add_argument("--device-name", default="adaptive device",
                   help="with --store: the device whose energy the rows report (default %(default)r)")
    p.add_argument("--device-class", default="phone",
                   help="with --store: its device class (default %(default)r: the 5Gophers traces are phones')")
    p.set_defaults(func=cmd_adapt)


def cmd_adapt(args: argparse.Namespace) -> int:
    """``workbench adapt``: load the file, replay each policy on the evaluation part, print the summary.

    Parameters
    ----------
    args : argparse.Namespace
        ``config`` (path), ``policy`` (list or None), ``intervals`` (bool), ``format`` (``table`` or ``json``),
        ``store`` (directory or None), ``device_name`` and ``device_class`` (of the stored rows).

    Returns
    -------
    int
        0; with ``json`` one object: ``summary`` (one object per policy and the oracle: ``slo_miss_rate``,
        ``accuracy`` [1], ``device_energy_j_per_request``, ``energy_j_per_request`` [J], ``carbon_g`` [gCO2e], ...),
        ``chosen`` (static's configuration, the filter's noise), ``configurations`` and
        ``configurations_pareto``, ``intervals_evaluated``, ``oracle_exact``, ``provenance`` (trace → source),
        with ``--intervals`` the per-interval rows, and with ``--store`` ``stored`` (the run file and its row
        count: :func:`workbench.adaptive.rows.replay_rows`, appended atomically by :class:`workbench.store.Store`).

    Raises
    ------
    ParameterError, ImportFormatError, InfeasibleError, SchemaError, StoreError
        A bad file, a bad trace (gaps, unsorted, negative), a budget ≤ 0, an empty space, a target no
        configuration meets at any bandwidth (printed as one ``error:`` line, exit 2).
    """
    from workbench.adaptive.config_file import load_config, make_policies
    from workbench.adaptive.replay import run
    from workbench.files import json_safe

    cfg = load_config(args.config)
    names = tuple(args.policy) if args.policy else cfg.policies
    policies = make_policies(dict.fromkeys(names), objective=cfg.objective, accuracy_floor=cfg.accuracy_floor,
                             probability=cfg.probability)
    res = run(cfg.space, cfg.scenario, policies, tuning_fraction=cfg.tuning_fraction, objective=cfg.objective,
              accuracy_floor=cfg.accuracy_floor)
    evaluated = int(res.intervals.filter(res.intervals["policy"] == "oracle").height)
    out = {"summary": [json_safe(r) for r in res.summary.to_dicts()], "chosen": json_safe(res.chosen),
           "configurations": cfg.configurations, "configurations_pareto": len(cfg.space),
           "intervals_evaluated": evaluated, "oracle_exact": res.oracle_exact, "objective": cfg.objective,
           "latency_target_ms": cfg.scenario.latency_target_ms, "provenance": cfg.scenario.provenance}
    if getattr(args, "store", None):
        from workbench.adaptive.rows import replay_rows
        from workbench.store import Store

        rows = replay_rows(res, cfg.space, cfg.scenario, objective=cfg.objective, device_name=args.device_name,
                           device_class=args.device_class)
        out["stored"] = {"path": str(Store(args.store).append(rows)), "rows": rows.height}
    if args.format == "json":
        if args.intervals:
            out["intervals"] = [json_safe(r) for r in res.intervals.to_dicts()]
        print(json.dumps(out, indent=2))
    else:
        print(_table(out))
    return 0


def _table(out: dict) -> str:
    lines = [f"{out['configurations']} configurations, {out['configurations_pareto']} after Pareto pruning; "
             f"{out['intervals_evaluated']} intervals evaluated; target {out['latency_target_ms']:g} ms; "
             f"objective {out['objective']}"]
    widths = [max(len(c), 12) for c in SUMMARY_COLUMNS]
    lines.append("  ".join(c.ljust(w) for c, w in zip(SUMMARY_COLUMNS, widths, strict=True)))
    for row in out["summary"]:
        cells = []
        for c, w in zip(SUMMARY_COLUMNS, widths, strict=True):
            v = row.get(c)
            cells.append((f"{v:.4g}" if isinstance(v, float) else "-" if v is None else str(v)).ljust(w))
        lines.append("  ".join(cells))
    static = out["chosen"].get("static", {}).get("choice_")
    if static:
        lines.append(f"static chose: {static}")
    if "stored" in out:
        lines.append(f"appended {out['stored']['rows']} rows to {out['stored']['path']}")
    return "\n".join(lines)
