"""Notebook 02, where the numbers come from: own runs, imported rows and public datasets, and how each energy figure was obtained.

:func:`provenance_table` counts rows, models, devices and device classes per origin and dataset
version, and how many rows got their energy which way (``energy_method``); :func:`datasets_note`
and :func:`section_note` say which public datasets were read (files, rows) and which were skipped
and how to enable them. The datasets are read by :func:`workbench.datasets.public.load_public_data`.
"""

from __future__ import annotations

import polars as pl

from workbench.datasets.public import DATASET_FOLDERS, PublicData
from workbench.reports.data import SHARED_DATA_ENV
from workbench.store import Store

DATASET_LABELS = {
    "profiler": "own runs (profiler)",
    "mlperf-tiny": "MLPerf Tiny",
    "mlperf-inference": "MLPerf Inference",
    "ml-energy": "ML.ENERGY",
    "nn-meter": "nn-Meter",
    "codecarbon": "codecarbon emissions.csv",
}


def datasets_note(data: PublicData) -> str:
    """Markdown: which public datasets were read (files, rows) and which were skipped, and how to enable them."""

    parts = []
    if data.frames:
        read = "; ".join(f"{DATASET_LABELS[k]} ({data.frames[k].height:,} rows from "
                         f"{', '.join(f'`{p.name}`' for p in data.files[k])})" for k in data.frames)
        parts.append(f"Public datasets read from `{data.data_dir}`: {read}. Each file is recorded with its "
                     "SHA-256 in the report's manifest.")
    if data.skipped:
        folders = ", ".join(f"`{f}/`" for k, f in DATASET_FOLDERS.items() if k != "codecarbon")
        sk = "; ".join(f"{DATASET_LABELS[k]}: {why}" for k, why in data.skipped.items())
        parts.append(f"**Skipped**: {sk}. Fix: set the parameter `datasets_dir` (or the environment variable "
                     f"`{SHARED_DATA_ENV}`) to the folder holding the public datasets (the project's "
                     f"`../shared/data`: {folders}); users' codecarbon logs are read from "
                     f"`{DATASET_FOLDERS['codecarbon']}/emissions.csv` there, or imported into the run store with `workbench import codecarbon emissions.csv`.")
    return " ".join(parts)


def section_note(data: PublicData, kinds, what: str) -> str:
    """Markdown for a section that needs datasets ``kinds``: the datasets it reads (with rows) when any
    was read, else what was skipped (``what``: the section's content) and how to enable it."""
    kinds = list(kinds)
    if any(data.has(k) for k in kinds):
        return "Read from " + "; ".join(
            f"{DATASET_LABELS[k]} ({data.frames[k].height:,} rows)" if data.has(k) else
            f"not {DATASET_LABELS[k]} ({data.skipped.get(k, 'no rows')})" for k in kinds) + "."
    why = "; ".join(f"{DATASET_LABELS[k]}: {data.skipped.get(k, 'no rows')}" for k in kinds)
    return (f"**Skipped: {what}.** Not available here ({why}). Set `datasets_dir` (or "
            f"`${SHARED_DATA_ENV}`) to the folder holding the public datasets to show it.")


def store_imports(store) -> pl.DataFrame:
    """Rows imported into the run store from datasets (neither profiler runs nor predictions).

    Parameters
    ----------
    store : Store or path
        The run store.

    Returns
    -------
    polars.DataFrame
        Schema rows whose ``source`` is neither ``profiler`` nor ``predicted…``.
    """
    return Store.coerce(store).read(
        filters=(pl.col("source") != "profiler") & ~pl.col("source").str.starts_with("predicted"))


def _provenance_rows(df: pl.DataFrame, origin: str, dataset: str, files: str) -> pl.DataFrame:
    return (df.group_by("source")
              .agg(pl.len().alias("rows"), pl.col("model").n_unique().alias("models"),
                   pl.col("device_name").n_unique().alias("devices"),
                   pl.col("device_class").unique().sort().str.join(", ").alias("device_classes"),
                   pl.col("energy_scope").drop_nulls().value_counts(sort=False).alias("_scopes"))
              .with_columns(pl.lit(origin).alias("origin"), pl.lit(dataset).alias("dataset"),
                            pl.lit(files).alias("files")))


def provenance_table(own: pl.DataFrame, data: PublicData, imported: pl.DataFrame | None = None) -> pl.DataFrame:
    """Where every row of the report comes from and how its energy figure was obtained.

    Parameters
    ----------
    own : polars.DataFrame
        The own profiler runs the report reads (:func:`workbench.reports.data.ensure_runs`).
    data : PublicData
        The public datasets read (:func:`load_public_data`).
    imported : polars.DataFrame, optional
        Rows imported into the run store (:func:`store_imports`).

    Returns
    -------
    polars.DataFrame
        One row per origin × dataset × source (dataset version): ``origin, dataset, source, files,
        rows, models, devices, device_classes, energy_scopes`` and one column ``energy_<method>``
        per energy method present (rows obtained that way [rows]; method names as in
        :data:`workbench.schema.ENERGY_METHODS`, ``-`` written ``_``).
    """
    parts = []
    if own.height:
        parts.append((own, "run store", "profiler", ""))
    if imported is not None and imported.height:
        parts.append((imported, "run store (imported)", "imported", ""))
    for kind, df in data.frames.items():
        if df.height:
            parts.append((df, "datasets folder", kind, ", ".join(p.name for p in data.files.get(kind, ()))))
    keys = ["origin", "dataset", "source"]
    if not parts:
        return pl.DataFrame(schema={k: pl.String for k in keys})
    summary = pl.concat([_provenance_rows(df, o, d, f) for df, o, d, f in parts], how="vertical")
    counts = pl.concat([df.select("source", "energy_method").with_columns(pl.lit(o).alias("origin"),
                                                                          pl.lit(d).alias("dataset"))
                        for df, o, d, _ in parts], how="vertical")
    methods = sorted(counts["energy_method"].unique().to_list())
    wide = (counts.group_by([*keys, "energy_method"]).len()
                  .with_columns(("energy_" + pl.col("energy_method").str.replace_all("-", "_")).alias("m"))
                  .pivot(on="m", index=keys, values="len", aggregate_function="sum"))
    mcols = [f"energy_{m.replace('-', '_')}" for m in methods]
    scopes = [", ".join(f"{s['energy_scope']}: {s['count']}" for s in sorted(v, key=lambda s: s["energy_scope"]))
              for v in summary["_scopes"].to_list()]
    summary = summary.drop("_scopes").with_columns(pl.Series("energy_scopes", scopes, dtype=pl.String))
    out = summary.join(wide, on=keys, how="left").with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in mcols])
    return out.select([*keys, "files", "rows", "models", "devices", "device_classes", "energy_scopes",
                       *mcols]).sort(keys)
