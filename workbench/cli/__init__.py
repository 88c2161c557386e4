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
    from workbench import __version__

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
