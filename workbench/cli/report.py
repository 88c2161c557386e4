"""``workbench report``: render the report notebooks with papermill into ``reports/NAME/``."""

from __future__ import annotations

import argparse
import sys

# workbench.reports.render (papermill, jupyter_client, polars) is imported by the command, not here,
# so that `workbench --help` stays fast.


def register(sub) -> None:
    """Add the ``report`` subcommand to ``sub`` (the parser's subparsers)."""
    p = sub.add_parser(
        "report", help="render the report notebooks (papermill) into reports/NAME/",
        description="Execute notebooks/NN_*.ipynb with papermill on this environment's kernel and write "
                    "reports/NAME/: executed notebooks, offline HTML without code, figures (SVG/PDF/PNG), "
                    "tables (CSV) and manifest.json. The previous report of that name is replaced only when "
                    "every notebook ran; a failed render is kept in reports/NAME.failed/.")
    p.add_argument("--params", metavar="FILE", help="TOML/JSON/YAML file overriding the notebooks' parameters")
    p.add_argument("--name", default="default", help="report name: output goes to REPORTS_DIR/NAME/ (default default)")
    p.add_argument("--reports-dir", default="reports", help="parent folder of reports (default reports)")
    p.add_argument("--notebooks", default="notebooks", metavar="DIR", help="folder of NN_*.ipynb (default notebooks)")
    p.add_argument("--notebook", action="append", metavar="NB",
                   help="render only this notebook (stem or number; repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """``workbench report``: render the report notebooks (:func:`workbench.reports.render.render_report`).

    Parameters
    ----------
    args : argparse.Namespace
        ``name``, ``params``, ``notebooks``, ``reports_dir``, ``notebook`` (list or None), ``no_progress``.

    Returns
    -------
    int
        0; the report folder is named on stderr.

    Raises
    ------
    ReportFailedError
        A notebook failed (the previous report is untouched; the partial one is in ``NAME.failed/``).
    ParameterError, UnknownNameError
        Bad parameters, report or notebook names.
    """
    from workbench.reports.render import render_report

    out = render_report(args.name, params=args.params, notebooks_dir=args.notebooks, reports_dir=args.reports_dir,
                        select=args.notebook, progress=not args.no_progress and sys.stderr.isatty())
    print(f"report written to {out}/ (open {out}/index.html)", file=sys.stderr)
    return 0
