"""Argument checks shared by every layer: one rule for what counts as an integer, a number, a coverage.

Every public function that takes a count, a size or a fraction checks it with these, so the rules
agree everywhere: ``True`` is not an integer (Python says it is; a caller who passes it made a
mistake), NaN is not a number, and each message names the parameter, the value and the fix.
Only :mod:`workbench.errors` is imported, so any module may use them.
"""

from __future__ import annotations

import math
import numbers

from workbench.errors import ParameterError


def _fix(fix: str) -> str:
    return f" Fix: {fix}" if fix else ""


def check_int(value, name: str, *, minimum: int | None = 1, maximum: int | None = None, fix: str = "") -> int:
    """``value`` as a Python ``int`` if it is an integer in ``[minimum, maximum]``.

    Parameters
    ----------
    value : object
        The argument to check. ``bool`` is refused; numpy integers are accepted.
    name : str
        The parameter's name, for the message.
    minimum, maximum : int or None
        Inclusive bounds; None for none. The default ``minimum=1`` asks for a positive integer.
    fix : str
        A hint appended to the message after ``Fix:``.

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        Not an integer, a bool, or out of range.

    Examples
    --------
    >>> check_int(3, "repeats")
    3
    >>> check_int(0, "warmup", minimum=0)
    0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be an integer, got {value!r}.{_fix(fix)}")
    value = int(value)
    if minimum is not None and value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
        raise ParameterError(f"{name} must be {what}, got {value!r}.{_fix(fix)}")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be an integer ≤ {maximum}, got {value!r}.{_fix(fix)}")
    return value


def check_number(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
                 exclusive: bool = False, fix: str = "") -> float:
    """``value`` as a ``float`` if it is a finite real number within the bounds.

    Parameters
    ----------
    value : object
        The argument to check. ``bool`` and NaN are refused, as is infinity.
    name : str
        The parameter's name, for the message.
    minimum, maximum : float or None
        Bounds; None for none.
    exclusive : bool
        Whether the bounds themselves are excluded (``(minimum, maximum)``) or included.
    fix : str
        A hint appended to the message after ``Fix:``.

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        Not a real number, not finite, or out of range.

    Examples
    --------
    >>> check_number(0.5, "threshold", minimum=0, maximum=1)
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value!r}.{_fix(fix)}")
    value = float(value)
    lo_bad = minimum is not None and (value <= minimum if exclusive else value < minimum)
    hi_bad = maximum is not None and (value >= maximum if exclusive else value > maximum)
    if lo_bad or hi_bad:
        left, right = ("(", ")") if exclusive else ("[", "]")
        lo = "-inf" if minimum is None else f"{minimum:g}"
        hi = "inf" if maximum is None else f"{maximum:g}"
        raise ParameterError(f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}.{_fix(fix)}")
    return value


def check_interval(interval, name: str = "interval") -> float:
    """A prediction-interval coverage: a fraction in (0, 1), e.g. 0.9 for 90 % intervals.

    The workbench names coverage ``interval`` everywhere (never a miscoverage ``alpha``); this is
    its one check.

    Raises
    ------
    ParameterError
        Not a number in (0, 1).

    Examples
    --------
    >>> check_interval(0.9)
    0.9
    """
    return check_number(interval, name, minimum=0, maximum=1, exclusive=True,
                        fix=f"give the nominal coverage as a fraction, e.g. {name}=0.9 for 90 % intervals.")
