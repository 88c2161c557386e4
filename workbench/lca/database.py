"""Writing the workbench's own Brightway databases (foreground, scenarios) quietly.

Used by :mod:`workbench.lca.inventory` and :mod:`workbench.lca.footprint`; imports no other module of
:mod:`workbench.lca`. ``bw2data`` is imported inside :func:`write_database`: importing it points
Brightway at a data directory, which only :func:`workbench.lca.project.activate` may choose.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings


def write_database(name: str, data: dict) -> None:
    """``bw2data.Database(name).write(data)`` without bw2data's progress bar and feedback on stdout.

    bw2data prints a tqdm bar on stderr and its feedback logger writes to the stdout it binds at
    first use; both are captured here (and shown again only if the write fails), so that the
    CLI's JSON on stdout stays clean.

    Parameters
    ----------
    name : str
        Database name in the current Brightway project (replaced if it exists).
    data : dict
        ``{(database, code): dataset}`` as ``bw2data.Database.write`` takes it (amounts in the units
        the datasets name).

    Raises
    ------
    Exception
        Whatever bw2data raises (e.g. an exchange naming an unknown node); the captured output is
        written to stderr first.
    """
    import bw2data as bd

    captured = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            warnings.simplefilter("ignore")
            bd.Database(name).write(data)
    except BaseException:
        sys.stderr.write(captured.getvalue())
        raise
