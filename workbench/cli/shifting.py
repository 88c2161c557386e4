"""``workbench shift``: deferrable jobs scheduled on a carbon-intensity signal (carbon-aware time shifting)."""

from __future__ import annotations

import argparse
import json

from workbench.checks import check_number

# At the top only the standard library and the light workbench modules: numpy and the catalog behind the
# signal reader are imported by the command, so that `workbench --help` stays fast.


def register(sub) -> None:
    """Add the ``shift`` subcommand to ``sub``."""
    p = sub.add_parser("shift", help="schedule deferrable jobs on a carbon-intensity signal (best start or "
                                     "cheapest slots) and report the saving against running at once")
    p.add_argument("jobs", metavar="JOBS.toml", help="job file: [[jobs]] tables with name, release, duration_h, "
                                                     "power_w, deadline_h, interruptible")
    p.add_argument("--signal", required=True, metavar="CSV", help="carbon-intensity CSV: time, intensity")
    p.add_argument("--signal-unit", default="auto", choices=("auto", "g_per_kwh", "lbs_per_mwh"),
                   help="unit of the signal's values (default auto: lbs/MWh for WattTime/MOER headers)")
    p.add_argument("--fill-gaps-s", type=float, default=0.0, metavar="SECONDS",
                   help="fill gaps of missing slots up to this long by linear interpolation (default 0: refuse)")
    p.add_argument("--allow-implausible", action="store_true",
                   help="accept intensities above the plausibility bound (2,000 g/kWh)")
    p.add_argument("--forecast-error", type=float, default=0.0, metavar="SIGMA",
                   help="σ of the per-slot relative forecast error, e.g. 0.05 (default 0: perfect forecast)")
    p.add_argument("--seed", type=int, default=0, help="seed of the forecast error (default 0)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_shift)


def cmd_shift(args: argparse.Namespace) -> int:
    """``workbench shift``: schedule each job on the signal (as forecast) and score it on the actual series.

    Parameters
    ----------
    args : argparse.Namespace
        ``jobs`` (path of the TOML job file), ``signal`` (CSV path), ``signal_unit``, ``fill_gaps_s`` [s],
        ``allow_implausible``, ``forecast_error`` [fraction], ``seed``, ``format`` (``table`` or ``json``).

    Returns
    -------
    int
        0. JSON: one object with ``signal`` (source, unit and conversion, step), ``forecast_error``, ``seed``,
        ``jobs`` (per job: window, chosen runs, ``energy_kwh``, ``baseline_g``, ``shifted_g``, ``oracle_g``
        [gCO2], ``saving``, ``oracle_saving`` [fraction]) and ``total``.

    Raises
    ------
    WorkbenchError
        A missing or bad file (unsorted or repeated times, gaps, NaN), a deadline before a job can finish
        (``infeasible: ...``), a job outside the signal; the CLI prints one ``error:`` line and exits 2.
    """
    from workbench.placement.jobs import load_jobs
    from workbench.placement.shifting import shift_jobs
    from workbench.placement.signal import load_signal

    sigma = check_number(args.forecast_error, "--forecast-error", minimum=0, maximum=1,
                         fix="give σ as a fraction, e.g. 0.05.")
    jobs = load_jobs(args.jobs)
    signal = load_signal(args.signal, unit=args.signal_unit, fill_gaps_up_to_s=args.fill_gaps_s,
                         allow_implausible=args.allow_implausible)
    res = shift_jobs(jobs, signal, forecast_error=sigma, seed=args.seed)
    rows = []
    for s, o in zip(res["schedules"], res["oracle"], strict=True):
        j, t = s.job, signal.format_time
        rows.append({"name": j.name, "interruptible": j.interruptible, "release": t(j.release_s),
                     "deadline": t(j.deadline_s), "duration_s": j.duration_s, "power_w": j.power_w,
                     "runs": [[t(a), t(b)] for a, b in s.runs(signal)], "energy_kwh": s.energy_kwh,
                     "baseline_g": s.baseline_g, "shifted_g": s.emissions_g, "oracle_g": o.emissions_g,
                     "saving": s.saving, "oracle_saving": o.saving})
    total = {k: res[k] for k in ("baseline_g", "shifted_g", "oracle_g", "saving", "oracle_saving")}
    if args.format == "json":
        print(json.dumps({"signal": signal.describe(), "forecast_error": sigma, "seed": args.seed,
                          "decided_on": "forecast" if sigma else "actual", "jobs": rows, "total": total}))
        return 0
    d = signal.describe()
    print(f"signal {d['source']}: {d['n_slots']} slots of {d['step_s']:g} s, {d['start']} to {d['end']}, "
          f"unit {d['unit']} ({d['unit_reason']}), mean {d['mean_g_per_kwh']:.1f} g/kWh")
    print(f"forecast error σ = {sigma:g} (seed {args.seed}); emissions scored on the actual series")
    head = ("job", "kind", "start", "runs", "kWh", "baseline_g", "shifted_g", "saving_%", "oracle_%")
    table = [head] + [(r["name"], "interruptible" if r["interruptible"] else "one block", str(r["runs"][0][0]),
                       str(len(r["runs"])), f"{r['energy_kwh']:.3g}", f"{r['baseline_g']:.4g}",
                       f"{r['shifted_g']:.4g}", f"{100 * r['saving']:.2f}", f"{100 * r['oracle_saving']:.2f}")
                      for r in rows]
    table.append(("total", "", "", "", "", f"{total['baseline_g']:.4g}", f"{total['shifted_g']:.4g}",
                  f"{100 * total['saving']:.2f}", f"{100 * total['oracle_saving']:.2f}"))
    widths = [max(len(str(r[i])) for r in table) for i in range(len(head))]
    for r in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0
