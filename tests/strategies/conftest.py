"""Shared, module-scoped trained models for the strategy tests (trained once: a few seconds on 1 thread)."""

from __future__ import annotations

import pytest

from workbench.strategies.data import build_model, load_digits_splits, train_classifier


@pytest.fixture(scope="session")
def splits():
    return load_digits_splits(seed=0)


@pytest.fixture(scope="session")
def trained_mlp(splits):
    return train_classifier(build_model("mlp", seed=0), splits, epochs=30, seed=0)


@pytest.fixture(scope="session")
def fast_settings():
    from workbench.measure.profiler import ProfileSettings

    return ProfileSettings(repeats=3, warmup=1, layer_repeats=1, energy_window_s=0.0, threads=1)
