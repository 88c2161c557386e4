"""The training set of the cost models: which zoo variants, their runs on this machine, and the tables to fit on.

:func:`training_variants` draws zoo grid variants per family; :func:`training_runs` returns every
stored run of them on this machine at one thread count, profiling what the store lacks
(:func:`workbench.measure.campaign.profile_missing`), with operator-benchmark blocks if asked;
:func:`read_training_tables` reads a whole store. Zoo runs stored before the profiler recorded
layer shapes get them from the model definitions (:func:`with_layer_shapes`), so one older run
does not make a whole store fit without shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.checks import check_int
from workbench.costmodels.features import zoo_features
from workbench.costmodels.kinds import KINDS
from workbench.errors import ParameterError, UnknownNameError, WorkbenchError
from workbench.schema import as_polars
from workbench.store import LAYER_SCHEMA, LAYER_SHAPE_COLUMNS, Store, with_layer_columns

TARGET = "latency_ms"
"""The quantity the cost models of :func:`training_runs` predict: median latency per call
(``latency_ms_p50``) [ms]."""

TRAINING_DTYPE = "fp32"
TRAINING_BATCH_SIZE = 1
"""Numeric format and batch size [samples] of the training runs."""


def training_variants(variants_per_family: int, *, families=None, seed: int = 0) -> list[str]:
    """Zoo grid variants drawn at random (fixed ``seed``) from each family's width × depth × resolution grid.

    Parameters
    ----------
    variants_per_family : int
        Variants per family [models] (all of a family's grid when it has fewer).
    families : list of str, optional
        Zoo families (default: all, :data:`workbench.measure.zoo.FAMILIES`).
    seed : int
        Seed of the draw; the same seed gives the same variants.

    Returns
    -------
    list of str
        Variant names, families in zoo order, each family's variants in grid order.

    Raises
    ------
    ParameterError
        ``variants_per_family`` is not a positive integer.
    UnknownNameError
        An unknown family.
    """
    from workbench.measure import zoo  # imports torch

    variants_per_family = check_int(variants_per_family, "variants_per_family",
                                    fix="e.g. 5 (a leave-one-family-out evaluation needs a few per family).")
    fams = list(families) if families is not None else list(zoo.FAMILIES)
    for f in fams:
        if f not in zoo.FAMILIES:
            raise UnknownNameError("zoo family", f, zoo.FAMILIES)
    rng = np.random.default_rng(seed)
    out = []
    for f in fams:
        names = zoo.grid_names([f])
        pick = np.sort(rng.choice(len(names), size=min(variants_per_family, len(names)), replace=False))
        out += [names[i] for i in pick]
    return out


def check_training_kinds(kinds) -> list[str]:
    """Cost-model ``kinds`` that can be fitted on :func:`training_runs`, without repeats.

    Raises
    ------
    UnknownNameError
        A kind that is not in :data:`workbench.costmodels.kinds.KINDS`.
    ParameterError
        No kind, or ``roofline`` (it needs this CPU's peaks, which the device catalog does not hold).
    """
    kinds = list(dict.fromkeys(kinds))
    if not kinds:
        raise ParameterError("no cost-model kind given. Fix: e.g. ['flops', 'additive', 'layerwise'] "
                             f"(of {list(KINDS)}).")
    for k in kinds:
        if k not in KINDS:
            raise UnknownNameError("cost-model kind", k, KINDS)
        if k == "roofline":
            raise ParameterError("kind 'roofline' needs this CPU's peak FLOP/s and bandwidth, which the device "
                                 "catalog does not hold for the machine profiling now. Fix: drop 'roofline' "
                                 "(benchmarks/costmodel_accuracy.py measures the peaks and scores it).")
    return kinds


@dataclass(frozen=True)
class TrainingRuns:
    """Profiler rows of one configuration on this machine: fp32, batch size 1, one thread count."""

    rows: pl.DataFrame
    """Every matching run (repeated measurements of a model included) [schema columns]."""
    layers: pl.DataFrame
    """Per-layer rows of those runs (``Store.read_layers()``; zoo runs stored before layer shapes were
    recorded get them from the model definitions, :func:`with_layer_shapes`)."""
    device_name: str
    threads: int
    """Intra-op threads of the runs [1]."""
    profiled: tuple[str, ...] = ()
    """Models profiled by this call (empty when the store held them all)."""


def read_runs(store, models, device_name: str, threads: int) -> pl.DataFrame:
    """Every stored profiler run of ``models`` on ``device_name`` with the training runs' settings
    (:data:`TRAINING_DTYPE`, :data:`TRAINING_BATCH_SIZE`, ``threads`` intra-op threads)."""
    return Store.coerce(store).read(
        filters=(pl.col("source") == "profiler") & (pl.col("device_name") == device_name)
        & (pl.col("dtype") == TRAINING_DTYPE) & (pl.col("batch_size") == TRAINING_BATCH_SIZE)
        & (pl.col("threads") == threads) & pl.col("model").is_in(list(models)))


def training_runs(store, models, *, threads: int | None = None, repeats: int = 20, warmup: int = 3,
                  measure: str = "missing", progress: bool = False, operator_blocks: int = 0,
                  operator_seed: int = 0) -> TrainingRuns:
    """Runs of ``models`` on this machine (fp32, batch size 1, ``threads``), profiling what the store lacks.

    A model counts as present only when the store holds a run of it with the same thread count, so a
    cost model never mixes thread counts. Unlike :func:`workbench.reports.data.ensure_runs` (the latest
    run per configuration), every matching run is returned: the cost models pick the lowest of
    repeated measurements. Profiling goes through :func:`workbench.measure.campaign.profile_missing`
    with no energy meter (latency is the target; this machine's energy would be a TDP estimate, i.e.
    latency again) and stores the per-layer breakdown the layer-based cost models need.

    Parameters
    ----------
    store : Store or path
        Run store to read, and to append new measurements to.
    models : list of str
        Zoo names.
    threads : int or None
        Intra-op threads [1]; None: torch's default on this machine (what notebooks 00 and 01 use).
    repeats, warmup : int
        Timed and untimed forward calls per model [calls].
    measure : {"missing", "never", "always"}
        Profile the models without a matching run / none (raise if any lacks one) / all again.
    progress : bool
        Progress bar on stderr while profiling zoo models.
    operator_blocks, operator_seed : int
        Also this many operator-benchmark blocks [blocks] (:func:`workbench.measure.kernels.kernel_nets`,
        family :data:`workbench.schema.OPERATOR_FAMILY`; 0: none), profiled the same way. The cost
        models train on them and never score them, so a held-out family's operators (a GRU, an
        attention layer) are known even when its architecture is not.

    Returns
    -------
    TrainingRuns
        Rows sorted by model and measurement id, their per-layer table, this device, the thread count
        and the models profiled by this call.

    Raises
    ------
    ParameterError
        ``measure="never"`` and a model has no matching run (the message names them), or bad arguments.
    UnknownNameError
        An unknown measure mode or zoo model.
    """
    from workbench.measure import campaign, kernels  # imports torch

    models = list(dict.fromkeys(models))
    operator_blocks = check_int(operator_blocks, "operator_blocks", minimum=0, fix="e.g. 40, or 0 for none.")
    if measure not in campaign.MEASURE_MODES:
        raise UnknownNameError("measure mode", measure, campaign.MEASURE_MODES)
    n_threads = campaign.thread_count(threads)
    store = Store.coerce(store)
    zoo_runs = campaign.profile_missing(store, models, dtypes=(TRAINING_DTYPE,), batch_sizes=(TRAINING_BATCH_SIZE,),
                                        threads=n_threads, repeats=repeats, warmup=warmup, meter="none",
                                        energy_window_s=0.0, measure=measure, progress=progress)
    device = zoo_runs.device_name
    nets = {n.name: n for n in kernels.kernel_nets(operator_blocks, seed=operator_seed)} if operator_blocks else {}
    present = set(read_runs(store, list(nets), device, n_threads)["model"].to_list()) if nets else set()
    todo_ops = list(nets) if measure == "always" else [m for m in nets if m not in present]
    if todo_ops and measure == "never":
        shown = ", ".join(todo_ops[:5]) + (" ..." if len(todo_ops) > 5 else "")
        raise ParameterError(f"the store {store.path} has no fp32 batch-1 run with {n_threads} thread(s) on "
                             f"{device} of {shown} and measure='never'. Fix: measure='missing'.")
    if todo_ops:
        kernels.profile_kernels([nets[m] for m in todo_ops], repeats=repeats, warmup=warmup, threads=n_threads,
                                store=store)
    have = read_runs(store, models + list(nets), device, n_threads)
    ids = have["measurement_id"].to_list()
    layers = store.read_layers()
    if layers.height:
        layers = layers.filter(pl.col("measurement_id").is_in(ids))
        if layers["input_bytes"].null_count():  # runs stored before layer shapes were recorded
            layers = with_layer_shapes(have, layers)
    profiled = tuple(m for m, _, _ in zoo_runs.profiled) + tuple(todo_ops)
    return TrainingRuns(have.sort("model", "measurement_id"), layers, device, n_threads, profiled)


def read_training_tables(store, *, skip_corrupt: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A store's rows and per-layer table for fitting: zoo runs stored before the profiler recorded
    layer shapes get them from their definitions (:func:`with_layer_shapes`), so one older run does
    not make a whole store fit without shapes. The store itself is not changed.

    Parameters
    ----------
    store : Store or path
        The run store.
    skip_corrupt : bool
        Skip unreadable run and per-layer files with a warning (``Store.read(skip_corrupt=True)``)
        instead of raising (CLI: ``--skip-corrupt``).

    Raises
    ------
    CorruptFileError
        A file of the store cannot be read (without ``skip_corrupt``).
    """
    store = Store.coerce(store)
    rows, layers = store.read(skip_corrupt=skip_corrupt), store.read_layers(skip_corrupt=skip_corrupt)
    if layers.height and layers["input_bytes"].null_count():
        layers = with_layer_shapes(rows, layers)
    return rows, layers


def with_layer_shapes(rows, layers) -> pl.DataFrame:
    """Fill missing per-layer shapes (input bytes, kernel, stride, groups, channels) of zoo models.

    Per-layer tables written before the profiler recorded shapes have them null. Shapes are static
    (they follow from the model definition), so for rows whose ``model`` is a zoo model they are
    computed from the definition and joined on layer index and type, where the stored breakdown has
    as many layers as the definition. Other rows (dataset models, compressed variants whose layers
    differ) are left as they are. Nothing in the store is changed: the filled table is returned.

    Parameters
    ----------
    rows : polars or pandas DataFrame
        Measurement rows with ``measurement_id`` and ``model``.
    layers : polars or pandas DataFrame
        Their per-layer table (:data:`workbench.store.LAYER_SCHEMA`).
    """
    from workbench.measure import zoo  # imports torch

    shape_cols = list(LAYER_SHAPE_COLUMNS)
    lay = as_polars(layers)
    lay = with_layer_columns(lay)
    lacking = lay.filter(pl.col("input_bytes").is_null())["measurement_id"].unique().to_list()
    r = as_polars(rows)
    models = dict(r.filter(pl.col("measurement_id").is_in(lacking)).select("measurement_id", "model").iter_rows())

    def is_zoo(name) -> bool:
        try:
            return bool(name) and zoo.resolve(name) is not None
        except WorkbenchError:
            return False

    known = sorted({m for m in models.values() if is_zoo(m)})
    if not known:
        return lay.select(list(LAYER_SCHEMA))
    _, shapes = zoo_features(known)
    static = (pl.from_pandas(shapes[["measurement_id", "layer_index", "layer_type", *shape_cols]])
              .rename({"measurement_id": "model"})
              .with_columns(pl.col(c).cast(LAYER_SCHEMA[c]) for c in ["layer_index", *shape_cols]))
    counts = dict(static.group_by("model").len().iter_rows())
    stored = dict(lay.filter(pl.col("measurement_id").is_in(list(models))).group_by("measurement_id").len().iter_rows())
    same = [(mid, m) for mid, m in models.items() if m in counts and stored.get(mid) == counts[m]]
    ids = pl.DataFrame(same, schema={"measurement_id": pl.String, "model": pl.String}, orient="row")
    fill = ids.join(static, on="model").drop("model")
    out = lay.join(fill, on=["measurement_id", "layer_index", "layer_type"], how="left", suffix="__zoo")
    out = out.with_columns(pl.coalesce(c, f"{c}__zoo").alias(c) for c in shape_cols)
    return out.select(list(LAYER_SCHEMA))
