"""How every number in a report was obtained: four provenance states, one vocabulary for tables, figures and the manifest.

A report mixes numbers obtained four ways, and a reader must see which is which:

``measured``
    read from an instrument on a real run: the profiler's timer and memory counters, a power sensor
    (RAPL, NVML), a test split scored for accuracy, or a count taken from the model definition
    (parameters, FLOPs, bytes). The detail names the meter.
``estimated``
    computed from a model of the device rather than read from it: codecarbon's TDP × load
    fallback, catalog maximum power × hours, a life-cycle inventory. The detail names the model.
``predicted``
    produced by a cost model (scikit-learn estimators of :mod:`workbench.costmodels`, roofline
    bounds) for a configuration not run. The detail names the model kind.
``imported``
    published by others and read from a dataset (MLPerf Tiny, MLPerf Inference, ML.ENERGY, nn-Meter,
    the device catalog's cited figures). The detail names the dataset and its version.

A provenance is a mapping ``state → sorted details``; :func:`merge` joins several, :func:`describe`
writes one line for a figure's subtitle, :func:`from_energy_methods` maps the schema's
``energy_method`` values (:data:`workbench.schema.ENERGY_METHODS`) to states. Tables may carry the state of each
row in a column named ``provenance`` or ``<quantity>_provenance``; :func:`from_frame` reads those.
"""

from __future__ import annotations

import re
import textwrap

import polars as pl

from workbench.errors import ParameterError

STATES = {
    "measured": "read from an instrument on a real run (timer, power sensor, test split, counter); detail: the meter",
    "estimated": "computed from a device model, not read from a sensor (TDP × load, catalog power × hours, LCA); "
                 "detail: the model",
    "predicted": "produced by a cost model for a configuration not run; detail: the model kind",
    "imported": "published by others and read from a dataset; detail: dataset and version",
}
"""The four provenance states and what each means (also the report's index legend)."""

ENERGY_METHOD_STATE = {
    "rapl": "measured", "nvml": "measured", "external-meter": "measured", "replay": "measured",
    "tdp-estimate": "estimated", "dataset": "imported", "predicted": "predicted",
}
"""``energy_method`` (schema) → provenance state; ``none`` has no energy figure and no state."""

ENERGY_METHOD_DETAIL = {
    "rapl": "energy: RAPL counters", "nvml": "energy: NVML counters", "external-meter": "energy: external meter",
    "replay": "energy: replayed power trace", "tdp-estimate": "energy: codecarbon TDP × load model",
    "predicted": "energy: cost model",
}

TDP_CAVEAT = "Energy on this machine is a TDP estimate (rated power × load), not a sensor reading."
"""The sentence every figure showing estimated energy of this machine carries in its subtitle."""

_COLUMN = re.compile(r"^(?:.+_)?provenance$")


def make(**states) -> dict[str, list[str]]:
    """A provenance from keyword arguments ``state=detail`` (a string or a list of strings).

    Raises
    ------
    ParameterError
        For a state that is not one of :data:`STATES`.

    Examples
    --------
    >>> make(measured="latency: profiler timer", imported=["MLPerf Tiny v1.1"])
    {'imported': ['MLPerf Tiny v1.1'], 'measured': ['latency: profiler timer']}
    """
    out: dict[str, list[str]] = {}
    for state, detail in states.items():
        if state not in STATES:
            raise ParameterError(f"provenance state {state!r} is not one of {sorted(STATES)}. "
                                 "Fix: use measured, estimated, predicted or imported.")
        details = [detail] if isinstance(detail, str) else list(detail or [])
        out[state] = sorted(set(details))
    return dict(sorted(out.items()))


def merge(*provenances: dict | None) -> dict[str, list[str]]:
    """Union of several provenances (states and their details), sorted."""
    out: dict[str, set[str]] = {}
    for p in provenances:
        for state, details in (p or {}).items():
            make(**{state: details})  # validates the state
            out.setdefault(state, set()).update([details] if isinstance(details, str) else details)
    # a bare quantity read from a table column ("energy") adds nothing beside a detail that names it
    return {s: sorted(x for x in d if not (" " not in x and any(o != x and o.startswith(x) for o in d)))
            for s, d in sorted(out.items())}


def from_energy_methods(methods, *, where: str = "") -> dict[str, list[str]]:
    """The provenance of energy figures obtained by ``energy_method`` values (``none`` adds nothing).

    Parameters
    ----------
    methods : iterable of str
        ``energy_method`` values of the rows shown.
    where : str
        Appended to each detail (e.g. ``" (this CPU)"``).
    """
    out: dict[str, list[str]] = {}
    for m in sorted({m for m in methods if m}):
        state = ENERGY_METHOD_STATE.get(m)
        if state is not None and state != "imported":
            out = merge(out, {state: [ENERGY_METHOD_DETAIL[m] + where]})
    return out


def own_runs(runs: pl.DataFrame, *, energy: bool = True) -> dict[str, list[str]]:
    """Provenance of profiler runs on this machine: latency and memory measured, energy by its method."""
    p = make(measured="latency, memory: profiler on this machine")
    if energy and "energy_method" in runs.columns and runs.height:
        p = merge(p, from_energy_methods(runs["energy_method"].to_list(), where=" (this machine)"))
    return p


def imported(sources) -> dict[str, list[str]]:
    """Provenance of rows read from datasets; ``sources`` are their ``source`` values (name and version)."""
    s = sorted({str(v) for v in sources if v})
    return make(imported=s) if s else {}


def imported_files(paths) -> dict[str, list[str]]:
    """Provenance of rows read from public data files: each file's dataset and version
    (:func:`workbench.datasets.versions.dataset_version`, e.g. ``"nn-Meter latencies
    (microsoft/nn-Meter 4ca1750, 2021-05-17)"``); empty for no files.

    Examples
    --------
    >>> imported_files(["data/mlperf-tiny/mlperf_tiny_summary.csv"])
    {'imported': ['MLPerf Tiny v0.5–v1.1 (tiny_results_v1.1 c32ef94)']}
    """
    from workbench.datasets.versions import dataset_versions

    return imported(dataset_versions(paths))


def from_frame(frame: pl.DataFrame) -> dict[str, list[str]]:
    """States found in a table's ``provenance`` / ``<quantity>_provenance`` columns (detail: the quantity).

    Raises
    ------
    ParameterError
        A cell holds something other than the four states.
    """
    out: dict[str, set[str]] = {}
    for col in [c for c in frame.columns if _COLUMN.match(c)]:
        for v in frame[col].drop_nulls().unique().to_list():
            if v not in STATES:
                raise ParameterError(f"column {col!r} holds provenance {v!r}, not one of {sorted(STATES)}.")
            details = out.setdefault(v, set())
            if col != "provenance":
                details.add(col[: -len("_provenance")])
    return {s: sorted(d) for s, d in sorted(out.items())}


def describe(provenance: dict | None) -> str:
    """One line for a figure's subtitle, e.g. ``"measured: latency (profiler) · estimated: energy (TDP × load)"``."""
    return " · ".join(f"{state}: {'; '.join(d)}" if d else state for state, d in (provenance or {}).items())


HERE = ("this machine", "this CPU")
"""Words in a provenance detail that say the values come from runs on the rendering machine."""


def is_fresh(provenance: dict | None) -> bool:
    """Whether values of this provenance may change when the report is rendered again on fresh runs:
    a detail of a measured, estimated or predicted state names :data:`HERE` (runs on this machine, or a
    model fitted on them). Counts, catalog models, datasets and seeded simulations are not fresh."""
    return any(h in d for s in ("measured", "estimated", "predicted") for d in (provenance or {}).get(s, [])
               for h in HERE)


def shows_tdp_estimate(provenance: dict | None) -> bool:
    """Whether a provenance includes codecarbon's TDP estimate of this machine's energy."""
    return any("TDP" in d for d in (provenance or {}).get("estimated", []))


def is_state_column(name: str) -> bool:
    """Whether a column name holds provenance states (``provenance`` or ``<quantity>_provenance``)."""
    return bool(_COLUMN.match(name))


def from_chart(chart) -> dict[str, list[str]]:
    """States in the ``provenance`` / ``*_provenance`` fields of the rows behind an altair chart."""
    try:
        spec = chart.to_dict()
    except Exception:  # a chart that does not serialise is reported by its export, not here
        return {}
    rows = [r for d in (spec.get("datasets") or {}).values() for r in d if isinstance(r, dict)]
    cols = sorted({k for r in rows for k in r if _COLUMN.match(k)})
    if not cols:
        return {}
    return from_frame(pl.DataFrame([{c: r.get(c) for c in cols} for r in rows],
                                   schema={c: pl.String for c in cols}))


def subtitle_lines(provenance: dict | None, note: str | None = None, *, width: int = 44) -> list[str]:
    """Subtitle of a figure: its provenance (one line per state), the TDP caveat when it shows estimated
    energy of this machine, and ``note``, wrapped at ``width`` characters."""
    texts = [f"{state}: {'; '.join(d)}" if d else state for state, d in (provenance or {}).items()]
    if shows_tdp_estimate(provenance):
        texts.append(TDP_CAVEAT)
    if note:
        texts.append(note)
    return [line for t in texts for line in textwrap.wrap(t, width)]
