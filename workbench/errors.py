"""One error hierarchy for the whole workbench.

Every error the workbench raises on purpose derives from :class:`WorkbenchError`, so a caller
can catch one class. Messages name the bad value, the valid options and the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class WorkbenchError(Exception):
    """Base class of every error raised on purpose by the workbench."""


class SchemaError(WorkbenchError, ValueError):
    """A frame does not follow the measurement schema (missing column, wrong dtype, bad value)."""


class StoreError(WorkbenchError):
    """The run store cannot be read or written (unwritable directory, corrupt file, collision)."""


class CorruptFileError(StoreError):
    """A file in the store (or an input file) cannot be parsed."""

    def __init__(self, path, reason: str, fix: str | None = None):
        self.path = path
        self.reason = reason
        fix = fix or ("Move it out of the store or read with skip_corrupt=True (CLI: --skip-corrupt) to read "
                      "the other files.")
        super().__init__(f"corrupt file {path}: {reason}. {fix}")


class UnknownNameError(WorkbenchError, KeyError):
    """A name (model, device, country, dataset kind, ...) is not known."""

    def __init__(self, what: str, name: str, valid: Iterable[str], hint: str = ""):
        valid = sorted(valid)
        self.what, self.name, self.valid = what, name, valid
        close = difflib.get_close_matches(str(name), valid, n=3, cutoff=0.5)
        msg = f"unknown {what} {name!r}."
        if close:
            msg += f" Did you mean {', '.join(repr(c) for c in close)}?"
        if len(valid) <= 40:
            msg += f" Valid {what}s: {', '.join(valid)}."
        else:
            msg += f" {len(valid)} valid {what}s exist; list them with {hint or 'the matching list command'}."
        if hint and len(valid) <= 40:
            msg += f" ({hint})"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return self.args[0]


class ParameterError(WorkbenchError, ValueError):
    """An argument is outside its valid range (repeats <= 0, threshold outside [0, 1], ...)."""


class MeterError(WorkbenchError, RuntimeError):
    """An energy meter backend is unavailable or failed."""


class InfeasibleError(WorkbenchError):
    """No placement or schedule meets the constraints; the message names the one that cannot be met
    (memory of a tier, an application's latency SLO, a job's deadline) and starts with ``infeasible:``."""


class ImportFormatError(WorkbenchError, ValueError):
    """An input file for an importer has missing columns or malformed rows."""



class ClusterError(WorkbenchError, RuntimeError):
    """Work sent beyond this process failed: a Ray head that does not answer, a resource no node carries, a
    version mismatch between nodes, or a task that died or timed out (:mod:`workbench.execution`)."""
