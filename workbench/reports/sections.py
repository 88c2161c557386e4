"""What a report section returns, and how its notes write the numbers they compute.

A view turns results into tables and a Markdown note. Every number in a note is computed from the
data or from the constant the computation used, never typed into the prose: :func:`num` formats a
figure (``n/a`` for a missing one), :func:`spelled` writes a small count as a word, :func:`percent`
writes a fraction as the notes do (``0.9`` → ``90 %``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import polars as pl

from workbench.checks import check_int
from workbench.datasets.public import DATASET_FOLDERS, PublicData
from workbench.reports.data import SHARED_DATA_ENV

WITHIN10_TOLERANCE = 0.10
"""Relative tolerance of the ``within10`` metric (:func:`workbench.costmodels.validation.within`) [1]."""

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def spelled(n: int) -> str:
    """A count as prose writes it: a word up to twelve, digits above (``9`` → ``"nine"``, ``465`` → ``"465"``).

    Raises
    ------
    ParameterError
        ``n`` is not an integer ≥ 0.
    """
    n = check_int(n, "n", minimum=0)
    return _WORDS[n] if n < len(_WORDS) else str(n)


def percent(fraction: float) -> str:
    """A fraction as the notes write a percentage: ``0.9`` → ``"90 %"``, ``0.1`` → ``"10 %"``."""
    return f"{100 * fraction:.3g} %"


def num(v, spec: str) -> str:
    """``v`` formatted with ``spec``; "n/a" for a missing or NaN figure ("∞" for an open interval)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float) and math.isinf(v):
        return "∞"
    return format(v, spec)


def listed(rows: pl.DataFrame, col: str) -> str:
    """The distinct values of ``rows[col]`` as text, sorted, comma-separated (``"fp32"``, ``"1"``)."""
    return ", ".join(sorted({str(v) for v in rows[col].drop_nulls().to_list()}))


def metric_frame(m: pd.DataFrame, key: list[str]) -> pl.DataFrame:
    """A metrics frame of :mod:`workbench.costmodels.validation` as a report table: ``key`` columns, then
    ``n``, ``mape``, ``within10``, ``rmse``, ``coverage``, ``median_interval_factor`` where present."""
    cols = {"n": "n", "mape": "mape", "within10": "within10", "rmse": "rmse", "coverage": "coverage",
            "median_width_factor": "median_interval_factor"}
    out = m[key + [c for c in cols if c in m.columns]].rename(columns=cols)
    return pl.from_pandas(out.reset_index(drop=True))


@dataclass(frozen=True)
class DatasetSection:
    """One dataset-based section: its tables, the files it read, or why it was skipped."""

    available: bool
    note: str
    files: tuple[Path, ...] = ()
    predictions: pl.DataFrame | None = None
    metrics: pl.DataFrame | None = None
    extra: dict = field(default_factory=dict)


def skipped_section(what: str, kind: str, data: PublicData) -> DatasetSection:
    """The section ``what`` skipped because ``data`` lacks dataset ``kind``, with how to enable it."""
    folder = DATASET_FOLDERS[kind]
    if data.data_dir is None:
        where = (f"no public datasets folder was found (parameter `datasets_dir`, ${SHARED_DATA_ENV}, "
                 "or `../shared/data` beside the checkout)")
    elif not (data.data_dir / folder).is_dir():
        where = f"`{data.data_dir}` has no `{folder}/` folder"
    else:
        where = f"`{data.data_dir}`: {data.skipped.get(kind, 'no rows')}"
    return DatasetSection(False, f"**Skipped: {what}** — {where}. To enable it, set the notebook parameter "
                                 f"`datasets_dir` (or the environment variable `{SHARED_DATA_ENV}`) to the folder "
                                 f"holding `{folder}/` (the project's `../shared/data`).")
