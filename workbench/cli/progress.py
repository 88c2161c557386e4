"""Progress bars for commands that take more than a few seconds: tqdm on stderr, for a person watching.

A command adds ``--no-progress`` with :func:`add_progress_flag` and passes :func:`progress_bar`'s answer
to the library as its ``progress`` argument: a callable that wraps an iterable the way ``tqdm`` does,
``progress(iterable, total=N, desc="...")``, and yields the same items in the same order, so results do
not depend on it. No bar is drawn with ``--no-progress``, with JSON output, or when stderr is not a
terminal (a pipe, a log file, a test), and stdout is never written to.
"""

from __future__ import annotations

import sys


def add_progress_flag(parser) -> None:
    """Add ``--no-progress`` to a subcommand's parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    """
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar on stderr (none either when stderr is not a terminal, or with JSON "
                             "output)")


def progress_bar(args, *, json_output: bool = False):
    """The ``progress`` wrapper a command passes to the library, or ``None`` when no bar should be drawn.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (``no_progress`` read when present).
    json_output : bool
        The command prints JSON (no bar then).

    Returns
    -------
    callable or None
        ``progress(iterable, total=None, desc=None)`` → an iterable over the same items that draws a
        tqdm bar on stderr (cleared when done); ``None`` with ``--no-progress``, JSON output or a
        stderr that is not a terminal.
    """
    if getattr(args, "no_progress", False) or json_output or not sys.stderr.isatty():
        return None

    def progress(iterable, total=None, desc=None):
        from tqdm import tqdm

        # disable=False: `workbench footprint` sets TQDM_DISABLE=1 to silence Brightway's own bars
        return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True,
                    disable=False)

    return progress
