"""Per-layer costs of a zoo model on catalog devices: from a store, a fitted cost model, or roofline bounds.

A chain problem may name a zoo model (``[model] zoo = "resnet8"``) and give each tier a ``device``
instead of listing layers with explicit costs. The layers are the model's executed leaf modules in
execution order (:func:`workbench.measure.features.layer_breakdown`, batch 1, fp32): their FLOPs,
parameters and output bytes are counted, never timed here. Each tier's per-layer latency [ms] and
energy [J] come from one of three sources (``costs`` of the tier; default ``"store"`` where a store is
given and holds a run of the model on the device, else ``"roofline"``), and the source is recorded
per tier (:attr:`ZooCosts.cost_sources`):

- ``"store"``: the per-layer ``latency_ms`` of the latest profiler run of the model at batch 1, fp32
  on the device (``device_name`` equal to the tier's device) in a :class:`~workbench.store.Store`, at the
  tier's ``threads`` if given (else the latest run of any thread count, which the label names);
  the run's ``energy_j`` is split over the layers by latency share (labelled so: per-layer energy is
  not measured). A run without energy gets latency × the catalog's max power, labelled.
- ``"costmodel"``: a fitted cost model file (:func:`workbench.costmodels.persistence.load`, target
  ``latency_ms``) given as the tier's ``cost_model``. A layerwise model predicts each layer's
  latency (``predict_layers``; its per-call intercept is spread over the layers in proportion, so
  that the layers add up to the network's prediction); any other kind predicts the network, which
  is split over the layers by their roofline shares on the tier's device. Energy: latency × the
  catalog's max power.
- ``"roofline"``: time = max(FLOPs / peak fp32 FLOP/s, bytes / memory bandwidth) per layer, bytes being
  the layer's weights (4 B per parameter), input and output (Williams, Waterman, Patterson, CACM 52(4),
  2009); energy = time × the catalog's max power. A lower bound, not a prediction: real kernels on
  models this small are slower.

Cut sizes are activation bytes (fp32); ``int8_cuts`` divides every cut, the input included, by 4.
Skip connections are ignored: the chain is the execution order, so a cut inside a residual block
undercounts the bytes crossing it (the DAG solver, :mod:`~workbench.placement.dag`, handles those).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from workbench.catalog.devices import get_device
from workbench.errors import ParameterError, UnknownNameError
from workbench.store import Store

COST_SOURCES = ("store", "costmodel", "roofline")
"""Where a tier's per-layer costs may come from (see the module docstring)."""

FP32_BYTES = 4
"""Bytes per fp32 element (weights and activations of the zoo models as built)."""

INT8_CUT_FACTOR = 4
"""An int8-compressed cut is a quarter of its fp32 size."""


@dataclass(frozen=True)
class ZooLayer:
    """One executed leaf layer: name, type, FLOPs [FLOP], parameters, input and output [bytes, fp32]."""

    name: str
    layer_type: str
    flops: float
    params: int
    input_bytes: float
    output_bytes: float
    shape: dict


@dataclass(frozen=True)
class ZooCosts:
    """A zoo model's layers with costs per tier: ``latency_ms[i][t]`` [ms], ``energy_j[i][t]`` [J],
    ``weight_bytes[i]`` [bytes], cut sizes (``input_bytes``, ``output_bytes[i]`` [bytes], int8 if asked),
    and ``cost_sources[t]``, one label per tier saying where its costs came from."""

    model: str
    names: tuple[str, ...]
    input_bytes: float
    output_bytes: tuple[float, ...]
    weight_bytes: tuple[float, ...]
    latency_ms: tuple[tuple[float, ...], ...]
    energy_j: tuple[tuple[float, ...], ...]
    cost_sources: tuple[str, ...]


def zoo_layers(model: str) -> tuple[float, list[ZooLayer]]:
    """The input [bytes] and the executed leaf layers of zoo ``model`` at batch 1, fp32 (counted, not timed).

    Raises
    ------
    UnknownNameError
        ``model`` is not a zoo name (``workbench models`` lists them).
    """
    from workbench.measure import features, zoo  # imports torch

    spec = zoo.resolve(model)
    net, x = spec.build(), spec.example_input(1)
    recs = features.layer_breakdown(net, x, repeats=1)
    layers = [ZooLayer(r.name, r.type, float(r.flops), int(r.params), float(r.input_bytes), float(r.output_bytes),
                       {k: getattr(r, k) for k in features.SHAPE_ATTRIBUTES}) for r in recs]
    return float(x.numel() * x.element_size()), layers


def _device(name: str, why: str):
    try:
        return get_device(name)
    except UnknownNameError as exc:
        raise ParameterError(f"device {name!r} is needed for {why} but is not in the catalog: {exc} Fix: name a "
                             "catalog device (`workbench devices`) or register it (docs/data.md).") from None


def roofline_layer_ms(layer: ZooLayer, peak_flops_per_s: float, bandwidth_bytes_per_s: float) -> float:
    """Roofline time of one layer [ms]: max(FLOPs / peak [FLOP/s], (weights + input + output) [B] / bandwidth [B/s])."""
    moved = layer.params * FP32_BYTES + layer.input_bytes + layer.output_bytes
    return max(layer.flops / peak_flops_per_s, moved / bandwidth_bytes_per_s) * 1e3


def roofline_costs(layers: list[ZooLayer], device: str) -> tuple[list[float], list[float], str]:
    """Roofline latency [ms] and energy [J] per layer on catalog ``device``, and the label of the source.

    Raises
    ------
    ParameterError
        The device is not in the catalog, or the catalog lacks its fp32 peak, bandwidth or max power.
    """
    dev = _device(device, "roofline costs")
    peak, bw, power = dev.peak_flops_per_s.get("fp32"), dev.memory_bandwidth_bytes_per_s, dev.max_power_w
    if not peak or not bw or not power:
        raise ParameterError(f"device {device!r}: the catalog lacks its fp32 peak ({peak}), memory bandwidth ({bw}) "
                             f"or max power ({power}), so no roofline cost. Fix: choose another device, or give "
                             "costs = \"store\" or \"costmodel\" for this tier.")
    ms = [roofline_layer_ms(la, peak, bw) for la in layers]
    label = (f"roofline lower bound on {dev.name} (catalog: {peak:.3g} FLOP/s fp32, {bw:.3g} B/s; "
             f"energy = time x max power {power:g} W)")
    return ms, [m / 1e3 * power for m in ms], label


def store_run(store, model: str, device: str, threads: int | None = None):
    """The latest profiler row of ``model`` at batch 1, fp32 on ``device`` in ``store`` (a dict), or None.

    Parameters
    ----------
    store : Store or path
    model, device : str
        The zoo name and the stored ``device_name``.
    threads : int or None
        Only runs with this many intra-op CPU threads (the store's ``threads``); None: the latest run
        whatever its thread count (:func:`store_costs` then says which count it used).
    """
    rows = Store.coerce(store).read().filter(
        (pl.col("source") == "profiler") & (pl.col("model") == model) & (pl.col("batch_size") == 1)
        & (pl.col("dtype") == "fp32") & (pl.col("device_name") == device))
    if threads is not None:
        rows = rows.filter(pl.col("threads") == threads)
    return None if rows.height == 0 else rows.sort("timestamp_utc").row(-1, named=True)


def stored_thread_counts(store, model: str, device: str) -> list[int]:
    """The thread counts of the profiler runs of ``model`` at batch 1, fp32 on ``device`` in ``store``, ascending."""
    rows = Store.coerce(store).read().filter(
        (pl.col("source") == "profiler") & (pl.col("model") == model) & (pl.col("batch_size") == 1)
        & (pl.col("dtype") == "fp32") & (pl.col("device_name") == device))
    return sorted({int(t) for t in rows["threads"].drop_nulls().to_list()})


def store_costs(layers: list[ZooLayer], model: str, device: str, store,
                threads: int | None = None) -> tuple[list[float], list[float], str]:
    """Measured per-layer latency [ms] of the latest stored run and its energy [J] split by latency share.

    ``threads`` selects runs with that many intra-op threads (None: the latest of any count); the label
    says the thread count of the run used and, where the store holds others, which.

    Raises
    ------
    ParameterError
        No such run in the store (at that thread count: the counts it has are named), or a run whose layers
        differ from the model's.
    """
    store = Store.coerce(store)
    row = store_run(store, model, device, threads)
    counts = stored_thread_counts(store, model, device)
    if row is None:
        at = "" if threads is None else f" with threads = {threads} (it has threads {counts})" if counts else ""
        raise ParameterError(f"store {store.path} has no profiler run of {model!r} at batch 1, fp32 on device "
                             f"{device!r}{at}. Fix: profile it there (`workbench profile --model {model} "
                             f"{'' if threads is None else f'--threads {threads} '}--store ...`), give threads = one "
                             "of those counts, or give costs = \"roofline\" or \"costmodel\" for this tier.")
    lay = store.read_layers().filter(pl.col("measurement_id") == row["measurement_id"]).sort("layer_index")
    if lay.height != len(layers):
        raise ParameterError(f"store run {row['measurement_id']} of {model!r} on {device!r} has {lay.height} "
                             f"per-layer rows; the model has {len(layers)} layers. Fix: re-profile it with this "
                             "workbench.")
    ms = [float(v) for v in lay["latency_ms"].to_list()]
    total = sum(ms)
    others = [c for c in counts if c != row["threads"]]
    chosen = "asked" if threads is not None else "the latest run's" + (
        f"; the store also has threads {others}: give threads = N to choose" if others else "")
    label = (f"store: measured per-layer latency_ms (run {row['run_id']}, measurement {row['measurement_id']}, "
             f"threads {row['threads']} ({chosen}))")
    if row.get("energy_j") is not None:
        energy = [row["energy_j"] * m / total if total > 0 else row["energy_j"] / len(ms) for m in ms]
        return ms, energy, label + f"; energy_j {row['energy_j']:.4g} J of the run split by latency share"
    power = _device(device, "the energy of a store run without energy_j").max_power_w
    return ms, [m / 1e3 * power for m in ms], label + f"; no energy measured: latency x catalog max power {power:g} W"


def _layer_frame(layers: list[ZooLayer]):
    import pandas as pd  # only the cost models take pandas frames

    return pd.DataFrame([{"measurement_id": "zoo", "layer_index": i, "layer_type": la.layer_type,
                          "flops": la.flops, "params": la.params, "output_bytes": la.output_bytes,
                          **la.shape, "input_bytes": la.input_bytes} for i, la in enumerate(layers)])


def costmodel_costs(layers: list[ZooLayer], model: str, device: str, path) -> tuple[list[float], list[float], str]:
    """Per-layer latency [ms] predicted by the cost model in file ``path``, energy = latency × max power [J].

    Raises
    ------
    ParameterError
        The device is not in the catalog (its max power is needed).
    CostModelFileError, TargetMismatchError
        The file is not a latency cost model (from :func:`workbench.costmodels.persistence.load`).
    """
    # scikit-learn behind the cost models: imported when a tier asks for one
    from workbench.costmodels.factory import needs_layers
    from workbench.costmodels.features import align_features, zoo_features
    from workbench.costmodels.persistence import load

    dev = _device(device, "a cost model's energy (its max power)")
    saved = load(path, target="latency_ms")
    est = saved.estimator
    inner = est if hasattr(est, "predict_layers") else getattr(est, "estimator", None)
    if inner is not None and hasattr(inner, "predict_layers"):
        per = [float(v) for v in inner.predict_layers(_layer_frame(layers))]
        total = sum(per)
        network = total + float(inner.intercept_)
        ms = [p / total * network for p in per] if total > 0 else [network / len(per)] * len(per)
        how = "per-layer predictions (predict_layers), the per-call intercept spread in proportion"
    else:
        X, lay = zoo_features([model])
        X = X.assign(peak_flops_per_s=dev.peak_flops_per_s.get("fp32", 0.0),
                     memory_bandwidth_bytes_per_s=dev.memory_bandwidth_bytes_per_s or 0.0)
        kw = {"layers": lay} if needs_layers(est) else {}
        network = float(saved.predict(align_features(X, saved.features)[saved.features], **kw)[0])
        shares, _, _ = roofline_costs(layers, device)
        ms = [s / sum(shares) * network for s in shares]
        how = "network prediction split over the layers by roofline shares (this kind predicts whole networks)"
    label = (f"costmodel {path} ({type(est).__name__}, device class {saved.metadata.get('device_class')!r}): {how}; "
             f"energy = latency x catalog max power {dev.max_power_w:g} W of {dev.name}")
    return ms, [m / 1e3 * dev.max_power_w for m in ms], label


def zoo_costs(model: str, devices, *, costs=None, cost_models=None, store=None, int8_cuts: bool = False,
              threads=None) -> ZooCosts:
    """Per-layer costs of zoo ``model`` on each tier's device, with the source of each tier's costs.

    Parameters
    ----------
    model : str
        A zoo name (``workbench models``), e.g. ``"resnet8"``.
    devices : sequence of str
        One device per tier, in tier order (catalog names; for ``"store"`` a stored ``device_name``).
    costs : sequence of str or None, optional
        Per tier one of :data:`COST_SOURCES` or None (default: ``"store"`` where ``store`` holds a run
        of the model on the device, else ``"roofline"``).
    cost_models : sequence of path or None, optional
        Per tier the cost-model file for ``"costmodel"``.
    store : Store or path, optional
        Where measured runs are read (never written).
    int8_cuts : bool
        Cut sizes (the input and every layer's output) divided by 4.
    threads : sequence of int or None, optional
        Per tier the thread count of the stored run to use (``"store"`` only; None: the latest run).

    Returns
    -------
    ZooCosts

    Raises
    ------
    UnknownNameError
        An unknown zoo model or cost source.
    ParameterError
        A source that cannot give costs for a tier (the message says which and how to fix it).

    Examples
    --------
    >>> c = zoo_costs("lenet", ["pixel-4", "a100-sxm4-40gb"])  # doctest: +SKIP
    >>> c.cost_sources[0][:8]  # doctest: +SKIP
    'roofline'
    """
    devices = list(devices)
    n = len(devices)
    costs = list(costs) if costs is not None else [None] * n
    cost_models = list(cost_models) if cost_models is not None else [None] * n
    threads = list(threads) if threads is not None else [None] * n
    if len(costs) != n or len(cost_models) != n or len(threads) != n:
        raise ParameterError(f"one cost source, one cost model and one thread count (or None) per tier: {n} devices, "
                             f"{len(costs)} sources, {len(cost_models)} cost models, {len(threads)} thread counts. "
                             f"Fix: give lists of {n}.")
    input_bytes, layers = zoo_layers(model)
    lat, en, labels = [], [], []
    for t, (device, source, path, nthreads) in enumerate(zip(devices, costs, cost_models, threads, strict=True)):
        if source is None:
            stored = store is not None and (nthreads is not None or store_run(store, model, device) is not None)
            source = "store" if stored else "roofline"
        if nthreads is not None and source != "store":
            raise ParameterError(f"tier {t} ({device!r}) gives threads = {nthreads} but its costs are {source!r}; "
                                 "threads selects stored runs. Fix: give costs = \"store\" and a store, or drop threads.")
        if source not in COST_SOURCES:
            raise UnknownNameError(f"cost source of tier {t}", source, COST_SOURCES)
        if source == "store":
            if store is None:
                raise ParameterError(f"tier {t} ({device!r}) asks for costs = \"store\" but no store is given. "
                                     "Fix: add store = \"data/runs\" to [model].")
            ms, j, label = store_costs(layers, model, device, store, nthreads)
        elif source == "costmodel":
            if path is None:
                raise ParameterError(f"tier {t} ({device!r}) asks for costs = \"costmodel\" without a cost_model "
                                     "file. Fix: add cost_model = \"model.json\" (written by `workbench fit --out`).")
            ms, j, label = costmodel_costs(layers, model, device, path)
        else:
            ms, j, label = roofline_costs(layers, device)
        lat.append(ms)
        en.append(j)
        labels.append(label)
    cut = INT8_CUT_FACTOR if int8_cuts else 1
    return ZooCosts(
        model=model, names=tuple(la.name for la in layers), input_bytes=input_bytes / cut,
        output_bytes=tuple(la.output_bytes / cut for la in layers),
        weight_bytes=tuple(float(la.params * FP32_BYTES) for la in layers),
        latency_ms=tuple(tuple(lat[t][i] for t in range(n)) for i in range(len(layers))),
        energy_j=tuple(tuple(en[t][i] for t in range(n)) for i in range(len(layers))),
        cost_sources=tuple(labels))


__all__ = ["COST_SOURCES", "ZooCosts", "ZooLayer", "costmodel_costs", "roofline_costs", "roofline_layer_ms",
           "store_costs", "store_run", "stored_thread_counts", "zoo_costs", "zoo_layers"]
