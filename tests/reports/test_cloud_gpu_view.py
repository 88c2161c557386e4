"""The cloud GPU of notebook 03 (workbench.reports.cloud_gpu_view), on the committed H200 measurements."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.conftest import REPO
from workbench.costmodels.features import training_data
from workbench.errors import ParameterError
from workbench.reports import cloud_gpu_view as gv
from workbench.store import Store

GPU_STORE = REPO / "data" / "measurements" / "cloud-gpu-h200"
GPU_VARIANTS = [f"{f}-w{w}-d1-r{r}" for f, r in (("mlp", 8), ("lenet", 16), ("vgg", 16)) for w in (0.25, 0.5)]


def test_cloud_gpu_section_scores_the_committed_measurements_like_this_cpu():
    sec = gv.cloud_gpu_section(GPU_STORE, GPU_VARIANTS, kinds=["flops"])
    assert sec.available and len(sec.files) == 2 and sec.extra["device_class"] == "cloud-gpu"
    assert sec.predictions.columns[:7] == ["kind", "model", "model_family", "latency_ms", "predicted_latency_ms",
                                           "lower_latency_ms", "upper_latency_ms"]
    # the measured latency of each variant is the faster of its two passes, read back from the store
    rows = Store(GPU_STORE).read().filter(pl.col("model").is_in(GPU_VARIANTS))
    fastest = dict(rows.group_by("model").agg(pl.col("latency_ms_p50").min()).iter_rows())
    assert dict(zip(sec.predictions["model"], sec.predictions["latency_ms"], strict=True)) == fastest
    # FLOPs-proportional: within a held-out family, predicted latency / FLOPs is the one slope fitted on the others
    X, y, meta = training_data(rows, None, target="latency_ms")
    ratio = sec.predictions["predicted_latency_ms"].to_numpy() / X.set_index(meta["model"]).loc[
        sec.predictions["model"].to_list(), "flops"].to_numpy()
    fam = sec.predictions["model_family"].to_numpy()
    for f in set(fam):  # one fitted slope per held-out family
        assert np.ptp(ratio[fam == f]) <= 1e-9 * ratio[fam == f].max()
    # repeatability: the share of variants whose passes agree within ±10 %, from the rows themselves
    two = rows.group_by("model").agg(pl.col("latency_ms_p50").max() / pl.col("latency_ms_p50").min())
    assert sec.extra["repeat_n"] == 6
    assert sec.extra["repeat_within10"] == pytest.approx(float((two["latency_ms_p50"] < 1.1).mean()))
    assert "H200" in sec.note and "nvml" in sec.note and "agree within ±10 %" in sec.note
    # the note's counts are those of the rows read
    assert f"**{len(GPU_VARIANTS)} zoo grid variants of 3 families measured on *H200***" in sec.note
    assert f"Of the {sec.extra['repeat_n']} variants measured more than once, " in sec.note
    assert f"{sec.extra['repeat_within10']:.0%} agree within" in sec.note


def test_cloud_gpu_section_without_a_store_says_how_to_enable_it(tmp_path):
    sec = gv.cloud_gpu_section(tmp_path / "nowhere")
    assert not sec.available and sec.metrics is None and "gpu_measurements" in sec.note
    with pytest.raises(ParameterError, match="none of the 1 requested variants"):
        gv.cloud_gpu_section(GPU_STORE, ["mlp-w9-d9-r9"])
    with pytest.raises(ParameterError, match="interval"):
        gv.cloud_gpu_section(GPU_STORE, interval=10)
