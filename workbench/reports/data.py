"""Inputs of the reports: the profiled runs a report reads, measured on demand, and the public datasets folder.

A report reads its measurements from the run store; measuring is a separate step that only happens
when the store lacks a configuration (``measure="missing"``), so rendering the same report twice on
the same store reads the same rows and gives identical tables and figures. ``measure="never"``
refuses to measure (a report on a store filled elsewhere); ``measure="always"`` profiles afresh.
The rule lives in :func:`workbench.measure.campaign.profile_missing`; :func:`ensure_runs` keeps the
latest run of each configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from workbench.errors import ParameterError

CONFIG_KEYS = ("model", "dtype", "batch_size", "device_name")
"""One profiled configuration: the report uses the latest measurement of each."""


def latest_runs(df: pl.DataFrame, keys=CONFIG_KEYS) -> pl.DataFrame:
    """The latest row per configuration ``keys`` (by ``timestamp_utc``, then ``measurement_id``),
    sorted by ``keys``."""
    if df.height == 0:
        return df
    return (df.sort("timestamp_utc", "measurement_id")
              .group_by(list(keys), maintain_order=True).last()
              .select(df.columns)
              .sort(list(keys)))


def ensure_runs(store, models, *, dtypes=("fp32",), batch_sizes=(1,), repeats: int = 20, warmup: int = 3,
                meter: str = "auto", energy_window_s: float = 1.0, threads: int | None = None,
                measure: str = "missing", progress: bool = False) -> pl.DataFrame:
    """Profiled rows for ``models`` × ``dtypes`` × ``batch_sizes``, measuring what the store lacks.

    Parameters
    ----------
    store : Store or path
        Run store to read, and to append new measurements to.
    models : list of str
        Zoo model names.
    dtypes : list of str
        ``fp32`` and/or ``int8`` (dynamic int8 through torchao).
    batch_sizes : list of int
        Samples per forward call [samples].
    repeats, warmup : int
        Timed and untimed forward calls per configuration [calls].
    meter : str
        Energy meter (``auto`` falls back to codecarbon's TDP estimate where no sensor exists).
    energy_window_s : float
        Length of the energy measurement window [s].
    threads : int or None
        Intra-op threads [1]; None: torch's current count.
    measure : {"missing", "never", "always"}
        Measure the configurations this device has no row for / none / all of them again.
    progress : bool
        Progress bar on stderr while profiling.

    Returns
    -------
    polars.DataFrame
        The latest profiler row per model × dtype × batch size × device, for every device in the
        store, sorted by those keys; only runs with ``threads`` intra-op threads (default: torch's
        current count), so a run with another thread count never stands in for this one.

    Raises
    ------
    ParameterError
        With ``measure="never"`` when a configuration is missing on this device, or bad arguments.
    UnknownNameError
        An unknown measure mode or zoo model.
    """
    from workbench.measure.campaign import profile_missing  # imports torch

    campaign = profile_missing(store, models, dtypes=dtypes, batch_sizes=batch_sizes, threads=threads,
                               repeats=repeats, warmup=warmup, meter=meter, energy_window_s=energy_window_s,
                               measure=measure, progress=progress)
    return latest_runs(campaign.rows)


SHARED_DATA_ENV = "WORKBENCH_SHARED_DATA"
"""Environment variable naming the folder of public datasets (the project's ``../shared/data``)."""


def find_datasets_dir(datasets_dir=None, *, start=None) -> Path | None:
    """The folder of public datasets (``mlperf-tiny/``, ``nn-meter-model-latency/`` ...), or None.

    Looked up in order: ``datasets_dir`` when given; else ``$WORKBENCH_SHARED_DATA``; else
    ``<checkout>/../shared/data``, where the checkout is the first folder at or above ``start``
    (default: the working directory, ``notebooks/`` when a report renders) holding
    ``pyproject.toml``. A fresh clone without that folder gets None: reports then show what they
    can from the run store and say which sections were skipped.

    Parameters
    ----------
    datasets_dir : str or Path, optional
        Used as is; it must be an existing folder.
    start : str or Path, optional
        Where to start looking for the checkout.

    Returns
    -------
    Path or None

    Raises
    ------
    ParameterError
        ``datasets_dir`` or ``$WORKBENCH_SHARED_DATA`` names something that is not a folder.
    """
    if datasets_dir is not None:
        p = Path(datasets_dir)
        if not p.is_dir():
            raise ParameterError(f"datasets_dir {str(p)!r} is not a folder. Fix: point it at the folder holding the "
                                 "public datasets (mlperf-tiny/, nn-meter-model-latency/ ..., the project's "
                                 "../shared/data), or set it to None.")
        return p
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        p = Path(env)
        if not p.is_dir():
            raise ParameterError(f"${SHARED_DATA_ENV} = {env!r} is not a folder. Fix: point it at the public "
                                 "datasets (the project's ../shared/data) or unset it.")
        return p
    here = Path(start) if start is not None else Path.cwd()
    for d in [here.resolve(), *here.resolve().parents]:
        if (d / "pyproject.toml").is_file():
            cand = d.parent / "shared" / "data"
            return cand if cand.is_dir() else None
    return None
