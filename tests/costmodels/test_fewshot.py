"""Few-shot calibration of a new device: exact recovery on synthetic tables, nn-Meter through its importer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from workbench.costmodels import FewShotCalibrator, evaluate_fewshot, wide_latencies
from workbench.costmodels.features import architecture_of
from workbench.errors import ParameterError, UnknownNameError


def synthetic_wide(n: int, seed: int) -> pd.DataFrame:
    """Known devices a, b; the new device follows log t = 0.5 + 0.9 log a + 0.1 log b + arch offset."""
    rng = np.random.default_rng(seed)
    arch = rng.choice(["net1", "net2", "net3"], n)
    a = np.exp(rng.uniform(0, 5, n))
    b = a * np.exp(rng.normal(0, 0.3, n))
    offset = pd.Series(arch).map({"net1": 0.0, "net2": 0.2, "net3": -0.1}).to_numpy()
    t = np.exp(0.5 + 0.9 * np.log(a) + 0.1 * np.log(b) + offset)
    return pd.DataFrame({"dev-a": a, "dev-b": b, "architecture": arch, "dev-new": t},
                        index=[f"{x}_{i}" for i, x in enumerate(arch)])


def test_calibrator_recovers_exact_map():
    w = synthetic_wide(300, 0)
    m = FewShotCalibrator(alphas=(1e-8,)).fit(w.iloc[:40][["dev-a", "dev-b", "architecture"]], w.iloc[:40]["dev-new"])
    p = m.predict(w.iloc[40:][["dev-a", "dev-b", "architecture"]])
    # noiseless log-linear truth, negligible ridge penalty: relative error at rounding level
    np.testing.assert_allclose(p, w.iloc[40:]["dev-new"], rtol=1e-5)
    np.testing.assert_allclose(m.coef_[:2], [0.9, 0.1], rtol=1e-5)


def test_calibrator_fills_missing_known_device_from_source():
    w = synthetic_wide(200, 1)
    X = w[["dev-a", "dev-b", "architecture"]].copy()
    X.iloc[150:, 1] = np.nan  # dev-b unmeasured for some models
    m = FewShotCalibrator(source="dev-a").fit(X.iloc[:100], w["dev-new"].iloc[:100])
    p = m.predict(X.iloc[150:])
    # dev-b is filled as dev-a × median ratio; its noise (σ=0.3 in log) enters with weight 0.1: ~3 %
    assert np.median(np.abs(p / w["dev-new"].iloc[150:] - 1)) < 0.05
    with pytest.raises(UnknownNameError, match="source device 'dev-z'"):
        FewShotCalibrator(source="dev-z").fit(X.iloc[:100], w["dev-new"].iloc[:100])


def test_evaluate_fewshot_and_errors():
    w = synthetic_wide(400, 2)
    r = evaluate_fewshot(w, "dev-new", ["dev-a", "dev-b"], k=50, seeds=range(3))
    assert r["n_eval"] == 350 and r["within10"] == pytest.approx(1.0)  # exact law: every prediction within 10 %
    with pytest.raises(ParameterError, match="also listed as known"):
        evaluate_fewshot(w, "dev-new", ["dev-new"], k=50)
    with pytest.raises(ParameterError, match="k=500 leaves none"):
        evaluate_fewshot(w, "dev-new", ["dev-a"], k=500)
    with pytest.raises(UnknownNameError, match="'dev-x'"):
        evaluate_fewshot(w, "dev-x", ["dev-a"], k=5)


def test_wide_latencies_from_rows():
    rows = pl.DataFrame({"model": ["m_1", "m_1", "m_2", "m_1"], "device_name": ["a", "b", "a", "a"],
                         "model_family": ["m", "m", "m", "m"], "latency_ms_mean": [1.0, 2.0, 3.0, 5.0]})
    w = wide_latencies(rows, value="latency_ms_mean")
    assert w.loc["m_1", "a"] == 3.0  # median of the two repeats 1 and 5
    assert np.isnan(w.loc["m_2", "b"]) and w.loc["m_2", "architecture"] == "m"
    assert architecture_of("resnet18_12") == "resnet18" and architecture_of("vgg") == "vgg"


@pytest.mark.shared_data
def test_nn_meter_fewshot_adreno640_to_adreno630(shared_data):
    """The two Adreno GPUs are close: k=100 source-only calibration puts ≥ 0.98 within ±10 %."""
    from workbench import datasets

    rows = datasets.load("nn-meter", shared_data / "nn-meter-model-latency")
    wide = wide_latencies(rows, value="latency_ms_mean")
    r = evaluate_fewshot(wide, "pixel-3-xl", ["xiaomi-mi-9"], k=100, seeds=range(2))
    # measured 0.993 (mean of 10 seeds); 0.98 leaves room for the seed-to-seed spread (sd ≈ 0.002)
    assert r["within10"] >= 0.98
