"""Profile what a run store lacks: zoo models × numeric formats × batch sizes at one thread count.

A report or a cost model reads its measurements from the run store; measuring is a separate step
that only happens for the configurations the store lacks on this device (``measure="missing"``),
so reading the same store twice gives the same rows. ``measure="never"`` refuses to measure (a
store filled elsewhere), ``measure="always"`` profiles every configuration afresh.

A configuration is a model, a numeric format (``dtype``), a batch size and an intra-op thread
count: runs with another thread count never stand in for this one. Two callers share this rule:
:func:`workbench.reports.data.ensure_runs` (the latest run per configuration, for the notebooks)
and :func:`workbench.costmodels.training.training_runs` (every run, for fitting).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import torch

from workbench.checks import check_int
from workbench.errors import ParameterError, UnknownNameError
from workbench.measure import profiler, zoo
from workbench.store import Store

MEASURE_MODES = ("missing", "never", "always")
"""What to profile: the configurations the store lacks on this device / none / all of them again."""


@dataclass(frozen=True)
class Campaign:
    """The profiler rows of a set of configurations after :func:`profile_missing`, and what it profiled."""

    rows: pl.DataFrame
    """Every stored profiler run of the models × dtypes × batch sizes with :attr:`threads` threads, on
    every device of the store (repeated measurements included) [schema columns]."""
    device_name: str
    """This machine (:func:`workbench.measure.profiler.device_info`)."""
    threads: int
    """Intra-op threads of the runs [1]."""
    profiled: tuple[tuple[str, str, int], ...] = ()
    """``(model, dtype, batch_size)`` profiled by this call (empty when the store held them all)."""


def thread_count(threads: int | None) -> int:
    """Intra-op threads a run with ``threads`` uses: ``threads`` itself, or torch's current count for None.

    Raises
    ------
    ParameterError
        ``threads`` is not a positive integer or None.
    """
    if threads is None:
        return int(torch.get_num_threads())
    return check_int(threads, "threads", fix="a positive integer, or None for torch's default on this machine.")


def missing_configurations(have: pl.DataFrame, models, dtypes, batch_sizes, device_name: str) -> list[tuple]:
    """``(model, dtype, batch_size)`` of ``models`` × ``dtypes`` × ``batch_sizes`` that ``have`` holds no
    row of on ``device_name``, in that nested order."""
    got = set(have.filter(pl.col("device_name") == device_name).select("model", "dtype", "batch_size").iter_rows())
    return [(m, d, b) for m in models for d in dtypes for b in batch_sizes if (m, d, b) not in got]


def _shown(todo: list[tuple]) -> str:
    return ", ".join(f"{m}/{d}/bs{b}" for m, d, b in todo[:5]) + (" ..." if len(todo) > 5 else "")


def profile_missing(store, models, *, dtypes=("fp32",), batch_sizes=(1,), threads: int | None = None,
                    repeats: int = 20, warmup: int = 3, meter: str = "auto", energy_window_s: float = 1.0,
                    measure: str = "missing", progress: bool = False) -> Campaign:
    """Profile the configurations of ``models`` × ``dtypes`` × ``batch_sizes`` that the store lacks on this device.

    Parameters
    ----------
    store : Store or path
        Run store to read, and to append new measurements to.
    models : list of str
        Zoo model names; unknown names fail before anything is measured.
    dtypes : list of str
        ``fp32`` and/or ``int8`` (dynamic int8 through torchao).
    batch_sizes : list of int
        Samples per forward call [samples].
    threads : int or None
        Intra-op threads [1]; None: torch's current count on this machine.
    repeats, warmup : int
        Timed and untimed forward calls per configuration [calls].
    meter : str
        Energy meter (:func:`workbench.measure.energy.get_meter`; ``none`` for latency only).
    energy_window_s : float
        Length of the energy measurement window [s].
    measure : {"missing", "never", "always"}
        Profile the configurations this device has no run of / none / all of them again.
    progress : bool
        Progress bar on stderr while profiling.

    Returns
    -------
    Campaign
        The stored rows after profiling (every device of the store, this thread count only) and the
        configurations profiled.

    Raises
    ------
    UnknownNameError
        An unknown measure mode or zoo model.
    ParameterError
        ``measure="never"`` and a configuration has no run on this device (the message names them
        and the fix), no model, or a bad thread count.
    """
    if measure not in MEASURE_MODES:
        raise UnknownNameError("measure mode", measure, MEASURE_MODES)
    models, dtypes, batch_sizes = list(models), list(dtypes), [int(b) for b in batch_sizes]
    if not models:
        raise ParameterError("no model given. Fix: name at least one zoo model (see `workbench models`).")
    for m in models:
        zoo.resolve(m)  # unknown names fail here, before anything is measured
    n_threads = thread_count(threads)
    store = Store.coerce(store)
    device_name = profiler.device_info()["device_name"]

    def read() -> pl.DataFrame:
        return store.read(filters=(pl.col("source") == "profiler") & pl.col("model").is_in(models)
                          & pl.col("dtype").is_in(dtypes) & pl.col("batch_size").is_in(batch_sizes)
                          & (pl.col("threads") == n_threads))

    have = read()
    todo = ([(m, d, b) for m in models for d in dtypes for b in batch_sizes] if measure == "always"
            else missing_configurations(have, models, dtypes, batch_sizes, device_name))
    if todo and measure == "never":
        raise ParameterError(
            f"the store {store.path} has no run of {_shown(todo)} with {n_threads} thread(s) on this device "
            f"({device_name}) and measure='never'. Fix: measure='missing', or `workbench profile` them first.")
    for d in dtypes:
        for b in batch_sizes:
            ms = [m for m, dd, bb in todo if dd == d and bb == b]
            if ms:
                profiler.profile(ms, store=store, meter=meter, progress=progress, batch_sizes=(b,), dtype=d,
                                 repeats=repeats, warmup=warmup, energy_window_s=energy_window_s,
                                 threads=threads)
    if todo:
        have = read()
    return Campaign(have, device_name, n_threads, tuple(todo))
