"""A small profiled store shared by the cost-model CLI and progress tests (profiled once per session, read only)."""

from __future__ import annotations

import pytest

MODELS = [f"mlp-w{w}-d{d}-r{r}" for w in (0.25, 1) for d in (1, 2) for r in (8, 16)] + \
         [f"autoencoder-w{w}-d{d}-r320" for w in (0.25, 0.5, 1) for d in (2, 3)]


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory):
    from workbench.measure.profiler import profile

    d = tmp_path_factory.mktemp("runs")
    profile(MODELS, repeats=5, warmup=1, layer_repeats=1, threads=1, meter="none", store=d)
    return d
