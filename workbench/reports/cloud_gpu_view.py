"""Notebook 03, cloud GPU: the own-CPU leave-one-family-out latency evaluation on the project's H200 runs.

:func:`cloud_gpu_section` reads a committed measurement store (``data/measurements/cloud-gpu-h200``,
its ``README.md`` says how the runs were taken) and scores it exactly as
:func:`workbench.reports.own_cpu_view.evaluate_own_cpu` scores this CPU, plus how well the
variants measured more than once agree with themselves: the ceiling of any model's accuracy.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.checks import check_interval
from workbench.costmodels.training import check_training_kinds
from workbench.errors import ParameterError
from workbench.reports.own_cpu_view import family_out_tables
from workbench.reports.sections import WITHIN10_TOLERANCE, DatasetSection, listed, num, percent
from workbench.reports.theme import device_labels
from workbench.store import Store

REPEAT_TOLERANCE = 0.10
"""Two runs of a variant *agree* when the slower is at most this much slower than the faster [1]."""


def cloud_gpu_section(path, models=None, *, kinds=("flops", "additive", "layerwise"),
                      interval: float = 0.9) -> DatasetSection:
    """Cloud GPU from the project's own measurements (``data/measurements/cloud-gpu-h200``): the same
    leave-one-family-out latency evaluation as on this CPU, on rows measured on a lent NVIDIA H200.

    Parameters
    ----------
    path : str or Path
        A measurement store of GPU runs (its ``README.md`` says how they were taken).
    models : list of str, optional
        Only these zoo variants (e.g. this CPU's training draw, so the two sections compare the
        same networks); default all the store holds.
    kinds : list of str
        Cost-model kinds, as for :func:`workbench.reports.own_cpu_view.evaluate_own_cpu`.
    interval : float
        Nominal coverage of the conformal intervals [1] (0.9: 90 % intervals).

    Returns
    -------
    DatasetSection
        ``predictions`` and ``metrics`` with the columns of
        :class:`~workbench.reports.own_cpu_view.OwnCpuEvaluation`'s; ``extra``: ``device_name``,
        ``device_class``, ``repeat_within10`` (share of the variants measured more than once whose
        fastest and slowest latencies agree within :data:`REPEAT_TOLERANCE`, the ceiling of any
        model's ``within10``) and ``repeat_n``. Not available (with a note saying how to enable
        it) when ``path`` holds no store.

    Raises
    ------
    ParameterError
        None of ``models`` is in the store, a bad ``interval`` or a kind that cannot be fitted here.
    UnknownNameError
        An unknown kind.
    """
    kinds = check_training_kinds(kinds)
    interval = check_interval(interval)
    what = "cloud GPU, the project's own measurements"
    path = Path(path)
    store = Store(path)
    if not path.is_dir() or not store.files():
        return DatasetSection(False, f"**Skipped: {what}** — `{path}` holds no measurement store. Fix: set "
                                     "the notebook parameter `gpu_measurements` to the repository's "
                                     "`data/measurements/cloud-gpu-h200` (relative to `notebooks/`).")
    rows, layers = store.read(), store.read_layers()
    if models is not None:
        rows = rows.filter(pl.col("model").is_in(list(models)))
        if rows.height == 0:
            raise ParameterError(f"none of the {len(models)} requested variants is in {path}. Fix: pass zoo grid "
                                 "variants (workbench models --all) or models=None for all.")
        layers = layers.filter(pl.col("measurement_id").is_in(rows["measurement_id"].implode()))
    _, y, meta, p, m = family_out_tables(rows, layers, kinds, interval)
    lat = pl.col("latency_ms_p50")
    repeated = rows.group_by("model").agg(lat.min().alias("lo"), lat.max().alias("hi"), pl.len().alias("n"))
    repeated = repeated.filter(pl.col("n") >= 2)
    agree = (float((repeated["hi"] / repeated["lo"] < 1 + REPEAT_TOLERANCE).mean()) if repeated.height
             else float("nan"))
    device = listed(rows.pipe(device_labels, "device_name"), "device_name")
    dates = ", ".join(sorted({t.date().isoformat() for t in rows["timestamp_utc"].to_list()}))
    best = m.filter(pl.col("model_family") == "all").sort("mape").row(0, named=True)
    batch = listed(rows, "batch_size")
    note = (f"**{len(y)} zoo grid variants of {meta['model_family'].nunique()} families measured on *{device}*** "
            f"(device class {listed(rows, 'device_class')}; {dates}), batch size {batch}, {listed(rows, 'dtype')}, "
            f"energy method {listed(rows, 'energy_method')} (`{path.name}/README.md` says how they were taken). "
            f"Each family is predicted by models fitted on the others, with {percent(interval)} conformal intervals, "
            f"as on this CPU. The lowest MAPE is {best['kind']}'s ({num(best['mape'], '.2f')}, within "
            f"±{percent(WITHIN10_TOLERANCE)}: {num(best['within10'], '.0%')}, coverage {num(best['coverage'], '.0%')}). "
            f"At batch size {batch} these networks keep the GPU nearly idle: latency follows the number and kind "
            f"of kernels launched far more than FLOPs. Of the {repeated.height} variants measured more than once, "
            f"{num(agree, '.0%')} agree within "
            f"±{percent(REPEAT_TOLERANCE)}: no model can be judged more precisely than that. These rows are "
            "measurements, but not of this machine.")
    return DatasetSection(True, note, tuple(sorted(store.files())), p, m,
                          {"device_name": device, "device_class": rows["device_class"][0],
                           "repeat_within10": agree, "repeat_n": repeated.height})
