"""A small training set profiled for real: six tiny zoo variants of three families, 2 timed calls each (~3 s)."""

from __future__ import annotations

from pathlib import Path

FAMILIES = ["mlp", "lenet", "autoencoder"]
"""Families of the small training set (two variants each, drawn with seed 0)."""


def small_training_runs(store: Path):
    """``(store, variants, runs)``: :func:`workbench.costmodels.training.training_runs` of two variants per
    family of :data:`FAMILIES`, profiled into ``store`` with 1 thread."""
    from workbench.costmodels.training import training_runs, training_variants

    train = training_variants(2, families=FAMILIES, seed=0)
    return store, train, training_runs(store, train, threads=1, repeats=2, warmup=0)
