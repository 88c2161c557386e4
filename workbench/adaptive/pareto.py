"""Pareto pruning of a configuration space: keep a configuration unless another is no worse in accuracy, latency
and energy at every bandwidth, RTT and slowdown (:func:`dominance_vectors`), by a sort-based skyline
(:func:`skyline`) that stays fast on hundreds of thousands of rows; :func:`pareto_prune_brute` is the pairwise
definition it is tested against.
"""

from __future__ import annotations

import numpy as np

from workbench.adaptive.space import ConfigurationSpace
from workbench.errors import ParameterError


def dominance_vectors(space: ConfigurationSpace) -> np.ndarray:
    """Per configuration, the coefficients that must all be ≤ for it to be no worse at every condition:
    −accuracy, device_ms, remote_ms, offloads (the RTT's factor), bytes crossing, device_energy_j, the transmit
    energy's factor, and the fixed remote and network energy."""
    c = space.column
    crossing = c("uplink_bytes") + c("downlink_bytes")
    return np.column_stack([-space.accuracy, c("device_ms"), c("remote_ms"), space.offloads, crossing,
                            c("device_energy_j"), c("tx_power_w") * c("uplink_bytes"),
                            c("remote_energy_j") + crossing * c("kwh_per_gb")])


SKYLINE_BLOCK = 256
"""Candidates compared at once by :func:`skyline` with more than two objectives."""

SKYLINE_FRONT_CHUNK = 32
"""Rows of the front compared with a block at once (memory: block × chunk × d booleans); the front is in sorted
order, so its first chunks drop most rows and the later ones see only those left."""


def skyline(v) -> np.ndarray:
    """Which rows of ``v`` (n × d, smaller is better in every column) no other row dominates; of identical rows
    only the first is kept.

    Rows are sorted by (sum, then each column, then index): a row that dominates another, or equals it and
    comes first, is then strictly earlier (the floating-point sum is monotone in each term, and at equal sums
    the columns decide), so a row is kept exactly when no *kept earlier* row is ≤ it in every column (dominance
    is transitive, so comparing against the kept ones suffices). Two columns: one pass with a running minimum of
    the second column, O(n log n). More: the sorted rows in blocks, each compared with the front so far and with
    itself (block-nested loop), O(n log n + n × front) with numpy doing the inner loops.

    Parameters
    ----------
    v : array_like, shape (n, d)

    Returns
    -------
    numpy.ndarray of bool, shape (n,)

    Examples
    --------
    >>> skyline([[1, 2], [2, 1], [2, 2], [1, 2]]).tolist()
    [True, True, False, False]
    """
    v = np.asarray(v, dtype=float)
    n = len(v)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    if v.ndim != 2:
        raise ParameterError(f"skyline needs an n × d array, got shape {v.shape}.")
    d = v.shape[1]
    keys = [np.arange(n)] + [v[:, k] for k in range(d - 1, -1, -1)] + [v.sum(axis=1)]
    order = np.lexsort(keys)
    w = v[order]
    if d == 1:
        keep[order[0]] = True
        return keep
    if d == 2:
        # sorted by (sum, x, y): an earlier row with y ≤ this one's has x ≤ it too unless its sum is smaller
        # and x larger, so sort by (x, y) instead for the two-column rule
        order = np.lexsort((np.arange(n), v[:, 1], v[:, 0]))
        y = v[order, 1]
        best = np.minimum.accumulate(y)
        kept = np.empty(n, dtype=bool)
        kept[0] = True
        kept[1:] = y[1:] < best[:-1]
        keep[order[kept]] = True
        return keep
    front = np.empty((0, d))
    kept_idx = []
    for b0 in range(0, n, SKYLINE_BLOCK):
        blk = w[b0:b0 + SKYLINE_BLOCK]
        out = np.zeros(len(blk), dtype=bool)
        for f0 in range(0, len(front), SKYLINE_FRONT_CHUNK):
            live = ~out
            if not live.any():
                break
            f = front[f0:f0 + SKYLINE_FRONT_CHUNK]
            out[live] |= np.all(f[None, :, :] <= blk[live][:, None, :], axis=2).any(axis=1)
        # within the block, among the rows the front left: an earlier row ≤ in every column (a row the front
        # dropped is above a front row, which is then below every row it is below)
        live = np.flatnonzero(~out)
        b = blk[live]
        le = np.all(b[None, :, :] <= b[:, None, :], axis=2)           # le[i, j]: row j ≤ row i
        out[live] = (le & np.tri(len(b), k=-1, dtype=bool)).any(axis=1)  # j earlier than i
        survivors = ~out
        front = np.concatenate([front, blk[survivors]])
        kept_idx.append(order[b0:b0 + SKYLINE_BLOCK][survivors])
    keep[np.concatenate(kept_idx)] = True
    return keep


def pareto_prune_brute(space: ConfigurationSpace) -> ConfigurationSpace:
    """:func:`pareto_prune` by comparing every pair (O(n²)): the tests' oracle."""
    v = dominance_vectors(space)
    keep = np.ones(len(v), dtype=bool)
    for i in range(len(v)):
        le = np.all(v <= v[i], axis=1)
        lt = np.any(v < v[i], axis=1)
        same = np.all(v == v[i], axis=1)
        same[i:] = False  # an identical row earlier in the table wins
        if np.any(le & lt) or np.any(same):
            keep[i] = False
    return space.subset(keep)


def pareto_prune(space: ConfigurationSpace) -> ConfigurationSpace:
    """The configurations no other beats on accuracy, latency and energy at every bandwidth, RTT and slowdown.

    Every cost is a sum of non-negative coefficients times non-negative functions of the conditions
    (module docstring), so configuration j dominates i when each coefficient of j (:func:`dominance_vectors`)
    is ≤ i's and one is <; of identical configurations the first is kept. Computed by :func:`skyline`
    (sort-based; :func:`pareto_prune_brute` is the pairwise definition).

    Parameters
    ----------
    space : ConfigurationSpace

    Returns
    -------
    ConfigurationSpace
        The non-dominated rows, in their original order.
    """
    return space.subset(skyline(dominance_vectors(space)))
