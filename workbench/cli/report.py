"""``workbench report``: profile the default model set and write a summary under ``reports/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("report", help="render the default report (profiles the default model set)")
    p.add_argument("--name", default="default", help="report name: output goes to reports/NAME/")
    p.add_argument("--reports-dir", default="reports", help="parent directory of reports (default reports)")
    p.add_argument("--store", default="data/runs", help="store the profiled runs are appended to")
    p.add_argument("--repeats", type=int, default=30, help="timed calls per model (default 30)")
    p.add_argument("--meter", default="auto", help="energy meter (default auto)")
    p.add_argument("--model", action="append", help="models to profile (default: the default set)")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from workbench.measure import profiler, zoo
    from workbench.reports.figures import export_chart
    from workbench.reports.summary import latency_vs_flops_chart, summary_table
    from workbench.store import Store

    models = args.model or zoo.default_names()
    out = Path(args.reports_dir) / args.name
    out.mkdir(parents=True, exist_ok=True)
    store = Store(args.store)
    df = profiler.profile(models, repeats=args.repeats, warmup=5, meter=args.meter, store=store, progress=True)
    table = summary_table(df)
    table.write_csv(out / "summary.csv")
    export_chart(latency_vs_flops_chart(table), out / "latency_vs_flops")
    print(f"report written to {out}/ (summary.csv, latency_vs_flops.svg/.pdf/.png)", file=sys.stderr)
    return 0
