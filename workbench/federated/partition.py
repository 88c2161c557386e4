"""Split a training set over virtual clients: IID, or non-IID by label with a Dirichlet prior.

Flower Datasets (``flwr-datasets``) has these partitioners, but it is not installed here and it works
on Hugging Face datasets; the digits set is a small numpy array, so the two partitioners are written
here, in numpy, with the same definitions:

- ``iid``: a seeded permutation cut into ``n`` near-equal parts (sizes differ by at most one).
- ``dirichlet``: for every label, a draw of client proportions from Dir(α·1) splits that label's
  samples (Hsu, Qi & Brown, "Measuring the Effects of Non-Identical Data Distribution for Federated
  Visual Classification", arXiv:1909.06335, 2019; Flower Datasets' ``DirichletPartitioner``). Small α
  gives each client few labels; large α tends to IID. Draws are repeated (up to
  :data:`MAX_DRAWS`) until every client holds at least ``min_size`` samples, as Flower Datasets does.
"""

from __future__ import annotations

import numpy as np

from workbench.errors import ParameterError

MAX_DRAWS = 100
"""Dirichlet draws tried before giving up on every client holding ``min_size`` samples."""


def _check(n_samples: int, n_clients: int) -> None:
    if n_clients < 1:
        raise ParameterError(f"{n_clients} clients: at least one is needed. Fix: [clients] count = 10.")
    if n_clients > n_samples:
        raise ParameterError(f"{n_clients} clients but only {n_samples} training samples: some clients would hold "
                             f"no data. Fix: at most {n_samples} clients.")


def iid_partition(n_samples: int, n_clients: int, seed: int = 0) -> list[np.ndarray]:
    """Indices of each client's samples, shuffled and cut into near-equal parts.

    Parameters
    ----------
    n_samples : int
        Size of the training set [samples].
    n_clients : int
        Number of clients (1 ≤ n_clients ≤ n_samples).
    seed : int
        Seed of the permutation.

    Returns
    -------
    list of numpy.ndarray
        One sorted int64 index array per client; together they cover every sample once.

    Examples
    --------
    >>> [len(p) for p in iid_partition(10, 3)]
    [4, 3, 3]
    """
    _check(n_samples, n_clients)
    perm = np.random.default_rng(seed).permutation(n_samples)
    return [np.sort(p).astype(np.int64) for p in np.array_split(perm, n_clients)]


def dirichlet_partition(labels, n_clients: int, alpha: float, seed: int = 0, min_size: int = 1) -> list[np.ndarray]:
    """Indices of each client's samples, split label by label with Dirichlet(α) proportions.

    Parameters
    ----------
    labels : array-like of int
        Label of every training sample.
    n_clients : int
        Number of clients (1 ≤ n_clients ≤ len(labels)).
    alpha : float
        Concentration α > 0 (0.1: about one or two labels per client; 100: close to IID).
    seed : int
        Seed of the draws.
    min_size : int
        Fewest samples a client may hold [samples].

    Returns
    -------
    list of numpy.ndarray
        One sorted int64 index array per client; together they cover every sample once.

    Raises
    ------
    ParameterError
        α ≤ 0, more clients than samples, or no draw in :data:`MAX_DRAWS` gives every client ``min_size``.
    """
    y = np.asarray(labels)
    _check(len(y), n_clients)
    if not (isinstance(alpha, (int, float)) and np.isfinite(alpha) and alpha > 0):
        raise ParameterError(f"alpha = {alpha!r} must be > 0. Fix: e.g. alpha = 0.5 (smaller: more skewed).")
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    for _ in range(MAX_DRAWS):
        parts: list[list[int]] = [[] for _ in range(n_clients)]
        for c in classes:
            idx = rng.permutation(np.flatnonzero(y == c))
            p = rng.dirichlet(np.full(n_clients, float(alpha)))
            cuts = (np.cumsum(p)[:-1] * len(idx)).astype(int)
            for k, chunk in enumerate(np.split(idx, cuts)):
                parts[k].extend(chunk.tolist())
        if min(len(p) for p in parts) >= min_size:
            return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]
    raise ParameterError(f"no Dirichlet(alpha={alpha}) draw in {MAX_DRAWS} gave each of {n_clients} clients "
                         f"{min_size} sample(s). Fix: fewer clients or a larger alpha.")


def partition(labels, n_clients: int, kind: str, *, alpha: float = 0.5, seed: int = 0) -> list[np.ndarray]:
    """:func:`iid_partition` (``kind="iid"``) or :func:`dirichlet_partition` (``kind="dirichlet"``)."""
    if kind == "iid":
        return iid_partition(len(labels), n_clients, seed)
    if kind == "dirichlet":
        return dirichlet_partition(labels, n_clients, alpha, seed)
    raise ParameterError(f"partition {kind!r} is not one of iid, dirichlet. Fix: partition = \"iid\".")


def label_counts(labels, parts: list[np.ndarray], n_classes: int = 10) -> np.ndarray:
    """Samples per client (rows) and label (columns), to show how skewed a partition is."""
    y = np.asarray(labels)
    return np.stack([np.bincount(y[p], minlength=n_classes) for p in parts])
