"""The ``workbench`` command line: the thinnest layer (parse arguments, call the library, print).

Each concern registers its subcommands from its own module (listed in :data:`COMMAND_MODULES`),
so the parser stays small and each module imports heavy libraries only when its command runs.
Every error the library raises on purpose (:class:`workbench.errors.WorkbenchError`) is printed as
one ``error: ...`` line on stderr with exit code 2. Anything else is a bug: one line says so and
where the full traceback was written, with exit code 1 (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path

from workbench import __version__
from workbench.errors import WorkbenchError

COMMAND_MODULES = [
    "workbench.cli.measure",
    "workbench.cli.fleet",
    "workbench.cli.report",
    "workbench.cli.costmodels",
    "workbench.cli.lca",
    "workbench.cli.strategies",
    "workbench.cli.data",
    "workbench.cli.placement",
    "workbench.cli.shifting",
    "workbench.cli.federated",
    "workbench.cli.adaptive",
]


def build_parser() -> argparse.ArgumentParser:
    """The ``workbench`` argument parser, with the subcommands of every module of :data:`COMMAND_MODULES`.

    Returns
    -------
    argparse.ArgumentParser
        Each subcommand sets ``func``, the function that runs it with the parsed arguments.
    """
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Measure, predict and assess AI workloads across the edge–network–cloud continuum.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``workbench`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 for an error the library raised on purpose (printed as one
        ``error: ...`` line on stderr; argparse exits with 2 itself for bad arguments), 1 for an
        unexpected error (a bug: see :func:`report_bug`).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `workbench runs | head`
        return 0
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, the traceback kept in a file
        if args.debug:
            raise
        print(report_bug(exc, args.command), file=sys.stderr)
        return 1


def report_bug(exc: BaseException, command: str | None) -> str:
    """Write the traceback of an unexpected error to a file; return the one line that points to it.

    Parameters
    ----------
    exc : BaseException
        The error, with its traceback.
    command : str or None
        The subcommand that raised it.

    Returns
    -------
    str
        ``error: internal error in `workbench COMMAND` (Type: message) ...`` naming the file.
    """
    text = "".join(traceback.format_exception(exc))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    where = Path(tempfile.gettempdir()) / f"workbench-error-{stamp}.txt"
    try:
        where.write_text(f"workbench {__version__}, command {command!r}\n{text}", encoding="utf-8")
        kept = f"the full traceback is in {where}"
    except OSError:
        kept = "the traceback could not be written to a file"
    first = (str(exc).splitlines() or [""])[0][:200]
    return (f"error: internal error in `workbench {command}` ({type(exc).__name__}: {first}). This is a bug in "
            f"the workbench, not in your input: {kept}; please report it with that file. "
            "Rerun with --debug to see the traceback here.")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
