"""Cloud and edge accelerators of notebook 02 (workbench.reports.accelerators_view), on small frames built here."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.reports._schema_rows import rows
from workbench.datasets.public import PublicData
from workbench.errors import UnknownNameError
from workbench.reports import accelerators_view as av


def test_accelerator_energy_units_and_token_rows():
    mi = rows([
        {"source": "mlperf-inference v4.1", "model": "llama", "task": "llm-serving", "scenario": "Offline",
         "device_name": "sys", "device_class": "cloud-gpu", "accelerator": "GPU-X", "energy_j": 0.2,
         "energy_scope": "token", "power_w": 5000.0, "energy_method": "dataset"},
        {"source": "mlperf-inference v4.1", "model": "resnet50", "task": "image-classification", "scenario": "Offline",
         "device_name": "sys", "device_class": "cloud-gpu", "accelerator": "GPU-X", "energy_j": 0.01,
         "energy_scope": "inference", "power_w": 5000.0, "energy_method": "dataset"},
        {"source": "mlperf-inference v4.1", "model": "resnet50", "task": "image-classification", "scenario": "Server",
         "device_name": "cpu-sys", "device_class": "server-cpu", "energy_method": "none"},
    ])
    me = rows([
        {"source": "ml-energy v3", "model": m, "task": "llm-serving", "device_name": "H100",
         "device_class": "cloud-gpu", "accelerator": "H100", "energy_j": e, "energy_scope": "request",
         "energy_method": "dataset",
         "config_json": json.dumps({"energy_per_token_j": t})} for m, e, t in (("a", 100.0, 0.5), ("b", 300.0, 1.5))
    ] + [{"source": "ml-energy v3", "model": "sd", "task": "text-to-image", "device_name": "H100",
          "device_class": "cloud-gpu", "energy_j": 400.0, "energy_scope": "inference", "energy_method": "dataset"}])
    data = PublicData(None, {"mlperf-inference": mi, "ml-energy": me})
    t = av.accelerator_energy(data)
    got = {(r["dataset"], r["energy_per"]): r for r in t.iter_rows(named=True)}
    assert set(got) == {("MLPerf Inference", "token"), ("MLPerf Inference", "sample"), ("ML.ENERGY", "request"),
                        ("ML.ENERGY", "token"), ("ML.ENERGY", "image")}
    req = got[("ML.ENERGY", "request")]
    assert (req["results"], req["energy_j_median"], req["energy_j_min"], req["energy_j_max"]) == (
        2, 200.0, 100.0, 300.0)
    assert got[("ML.ENERGY", "token")]["energy_j_median"] == pytest.approx(1.0, rel=1e-12)
    assert got[("MLPerf Inference", "token")]["scope"] == "whole system, wall power"
    tokens = av.energy_series(t, "token")
    assert tokens.select("device", "series").rows() == [("GPU-X", "MLPerf Inf. v4.1 Offline"),
                                                        ("H100", "ml-energy v3")]


def test_inference_performance_per_accelerator_and_benchmark_latency():
    mi = rows([
        {"source": "v", "model": "resnet50", "task": "ic", "scenario": "Offline", "device_name": "8gpu",
         "device_class": "cloud-gpu", "throughput_per_s": 80000.0, "energy_method": "none",
         "config_json": json.dumps({"nodes": 1.0, "accelerators_per_node": 8.0})},
        {"source": "v", "model": "resnet50", "task": "ic", "scenario": "Offline", "device_name": "cpu",
         "device_class": "server-cpu", "throughput_per_s": 500.0, "energy_method": "none",
         "config_json": json.dumps({"nodes": 2.0})},
        {"source": "v", "model": "resnet50", "task": "ic", "scenario": "SingleStream", "device_name": "edge",
         "device_class": "edge-accelerator", "latency_ms_p90": 0.5, "energy_method": "none", "config_json": "{}"},
        {"source": "v", "model": "resnet50", "task": "ic", "scenario": "SingleStream", "device_name": "edge",
         "device_class": "edge-accelerator", "latency_ms_p90": 1.5, "energy_method": "none", "config_json": "{}"},
    ])
    p = av.inference_performance(mi)
    offline = p.filter(pl.col("scenario") == "Offline")
    per_acc = dict(offline.select("device_class", "samples_per_s_per_accelerator_median").rows())
    # 80,000 samples/s over 8 GPUs; a CPU-only system of 2 nodes counts per node
    assert per_acc == {"cloud-gpu": 10000.0, "server-cpu": 250.0}
    lat = av.benchmark_latency(mi, "resnet50").row(0, named=True)
    assert (lat["results"], lat["latency_ms"], lat["latency_ms_min"], lat["latency_ms_max"]) == (2, 1.0, 0.5, 1.5)
    with pytest.raises(UnknownNameError, match="resnet50"):
        av.benchmark_latency(mi, "resnet5")
    with pytest.raises(UnknownNameError, match="SingleStream"):
        av.benchmark_latency(mi, "resnet50", "Offline")
