"""Float64 datapackages for the workbench's own databases.

Brightway 2.5 keeps exchange amounts as Python floats in its SQLite store, but ``Database.process()``
writes them into the datapackage as float32 (``bw_processing.utils.resolve_dict_iterator``), so an
LCA of the processed database carries a relative rounding error of up to about 6e-8 per
coefficient. The workbench's footprints must agree with hand computation to 1e-9, so for its own
(small) databases it builds the same matrices — technosphere with production, flipped inputs and
implicit production, biosphere, stats_arrays distributions — as in-memory float64 datapackages from
the very dicts it writes with bw2data, and hands them to ``bw2calc.LCA`` together with the
project's biosphere and LCIA-method datapackages. Characterisation factors stay Brightway's
(the fossil-CO2 factors used here are 1.0, exact in float32).

Brightway (``bw2data``, ``bw2calc``, ``bw_processing``, ``stats_arrays``) is imported inside the functions
that use it: importing ``bw2data`` fixes its data directory, which :func:`workbench.lca.project.activate`
chooses first.
"""

from __future__ import annotations

import numpy as np

_DIST_FIELDS = ("uncertainty type", "loc", "scale", "shape", "minimum", "maximum", "negative")


def _dist_row(exc: dict) -> tuple:
    kind = int(exc.get("uncertainty type", 0) or 0)
    amount = float(exc["amount"])
    return (kind, exc.get("loc", amount if kind in (0, 1) else np.nan), exc.get("scale", np.nan),
            exc.get("shape", np.nan), exc.get("minimum", np.nan), exc.get("maximum", np.nan),
            bool(exc.get("negative", False)))


def datapackage(data: dict, ids: dict, name: str):
    """In-memory float64 ``bw_processing`` datapackage for a bw2data-style ``{key: dataset}`` dict.

    Parameters
    ----------
    data : dict
        ``{(database, code): dataset}`` as passed to ``bw2data.Database.write``.
    ids : dict
        ``{(database, code): node id}`` for every node referenced by ``data`` (activities and flows).
    name : str
        Datapackage name.

    Returns
    -------
    bw_processing.Datapackage
    """
    import bw_processing as bwp

    tech_idx, tech_amt, tech_flip, tech_dist = [], [], [], []
    bio_idx, bio_amt, bio_dist = [], [], []
    for key, ds in data.items():
        col = ids[key]
        has_production = False
        for exc in ds.get("exchanges", []):
            row = ids[tuple(exc["input"])]
            kind = exc["type"]
            if kind in ("production", "technosphere"):
                has_production = has_production or kind == "production"
                tech_idx.append((row, col))
                tech_amt.append(float(exc["amount"]))
                tech_flip.append(kind == "technosphere")  # inputs enter the technosphere matrix negated
                tech_dist.append(_dist_row(exc))
            elif kind == "biosphere":
                bio_idx.append((row, col))
                bio_amt.append(float(exc["amount"]))
                bio_dist.append(_dist_row(exc))
            else:
                raise ValueError(f"exchange type {kind!r} is not handled here")
        if not has_production:  # implicit production of 1, as bw2data assumes
            tech_idx.append((col, col))
            tech_amt.append(1.0)
            tech_flip.append(False)
            tech_dist.append(_dist_row({"amount": 1.0}))
    dp = bwp.create_datapackage(name=name, sum_intra_duplicates=True, sum_inter_duplicates=False)
    for matrix, idx, amt, flip, dist in (("technosphere_matrix", tech_idx, tech_amt, tech_flip, tech_dist),
                                          ("biosphere_matrix", bio_idx, bio_amt, None, bio_dist)):
        if not idx:
            continue
        kwargs = {}
        if flip is not None:
            kwargs["flip_array"] = np.array(flip, dtype=bool)
        dp.add_persistent_vector(
            matrix=matrix, name=f"{name} {matrix}",
            indices_array=np.array(idx, dtype=bwp.INDICES_DTYPE),
            data_array=np.array(amt, dtype=np.float64),
            distributions_array=np.array(dist, dtype=bwp.UNCERTAINTY_DTYPE), **kwargs)
    return dp


def node_ids(bd, db_name: str) -> dict:
    """``{(db_name, code): id}`` for every node of a database (one query)."""
    from bw2data.backends import ActivityDataset

    q = ActivityDataset.select(ActivityDataset.code, ActivityDataset.id).where(ActivityDataset.database == db_name)
    return {(db_name, code): i for code, i in q.tuples()}
