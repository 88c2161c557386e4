"""The ``workbench`` command line: the thinnest layer (parse arguments, call the library, print).

Each concern registers its subcommands from its own module (listed in :data:`COMMAND_MODULES`),
so the parser stays small and each module imports heavy libraries only when its command runs.
Every error the library raises on purpose (:class:`workbench.errors.WorkbenchError`) is printed as
one ``error: ...`` line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from workbench import __version__
from workbench.errors import WorkbenchError

COMMAND_MODULES = [
    "workbench.cli.measure",
    "workbench.cli.report",
    "workbench.cli.costmodels",
    "workbench.cli.lca",
    "workbench.cli.strategies",
    "workbench.cli.data",
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
        ``error: ...`` line on stderr); argparse exits with 2 itself for bad arguments.
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
