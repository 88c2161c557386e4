"""MLPerf Tiny, MLPerf Inference and ML.ENERGY importers against the real files in ../shared/data:
exact row counts, and converted values checked by hand against the raw lines (quoted in comments)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from workbench import datasets
from workbench.datasets._common import content_id, identity_key
from workbench.errors import ImportFormatError

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def tiny(shared_dir):
    return datasets.load("mlperf-tiny", shared_dir / "mlperf-tiny")


@pytest.fixture(scope="module")
def inference(shared_dir):
    return datasets.load("mlperf-inference", shared_dir / "mlperf-inference")


@pytest.fixture(scope="module")
def mlenergy(shared_dir):
    return datasets.load("ml-energy", shared_dir / "ml-energy-leaderboard")


def _row(df, kind, scope="", **identity):
    """The row of one source result, found by its content id (the identity columns' values as in the file)."""
    mid = content_id(kind, identity_key(kind, scope or kind, identity.items()))
    hit = df.filter(pl.col("measurement_id") == mid)
    assert hit.height == 1, identity
    return hit.row(0, named=True)


def _tiny(df, system, bench, version="0.5", org="reference"):
    return _row(df, "mlperf-tiny", version=version, division="closed", organization=org, system_dir=system,
                benchmark=bench, model_variant="")


def _inference(df, scenario):
    return _row(df, "mlperf-inference", version="v5.1", ID="5.1-0370", Model="resnet", Scenario=scenario)


def test_mlperf_tiny_counts(tiny):
    # 249 rows, of which 9 are identical Syntiant (v1.0 → v1.1) and Krai/cTuning resubmissions
    assert tiny.height == 240
    assert tiny.filter(pl.col("energy_j").is_not_null()).height == 112  # 118 energy rows − 6 duplicates
    assert set(tiny["energy_scope"].drop_nulls()) == {"inference"}  # no sww rows in v0.5–v1.1
    assert set(tiny["energy_method"]) == {"dataset", "none"}
    assert tiny.filter(pl.col("config_json").str.contains('"resubmissions"')).height == 9
    assert tiny["measurement_id"].n_unique() == 240


def test_mlperf_tiny_values_by_hand(tiny):
    # line 14: 0.5,closed,reference,Nucleo-L4R5ZI,ad,,10.0516,99.487,416.312,96.154,40.095437,...
    r = _tiny(tiny, "Nucleo-L4R5ZI", "ad")
    assert (r["model"], r["task"], r["source"]) == ("fc-autoencoder", "anomaly-detection", "mlperf-tiny v0.5")
    assert r["latency_ms_mean"] == 10.0516 and r["throughput_per_s"] == 99.487
    assert r["energy_j"] == pytest.approx(416.312e-6, rel=1e-12)  # µJ → J
    assert r["power_w"] == pytest.approx(0.040095437, rel=1e-12)  # mW → W
    assert (r["device_name"], r["device_class"], r["energy_scope"]) == ("stm32l4r5zi", "mcu", "inference")
    assert json.loads(r["config_json"])["energy_mode_throughput_per_s"] == 96.154
    # line 15: ...,ic,,704.2254,1.42,29207.01,1.42,41.47691...,86.5,0.99,...
    r = _tiny(tiny, "Nucleo-L4R5ZI", "ic")
    assert r["accuracy"] == pytest.approx(0.865, rel=1e-12) and r["energy_j"] == pytest.approx(0.02920701, rel=1e-12)
    # line 2: PCL Scepu02 ad 13.6509 ms, no energy run
    r = _tiny(tiny, "dividiti-closed-pcl-scepu02", "ad", org="PengChengLaboratory")
    assert r["energy_method"] == "none" and r["energy_j"] is None and r["device_class"] == "mcu"


def test_mlperf_tiny_classes(tiny):
    classes = dict(tiny.group_by("device_class").len().iter_rows())
    assert classes == {"mcu": 198, "edge-accelerator": 29, "edge-cpu": 12, "phone": 1}
    rpi = tiny.filter(pl.col("device_name") == "raspberry-pi-4b")
    assert rpi.height > 0 and set(rpi["device_class"]) == {"edge-cpu"}


def test_mlperf_tiny_stream_energy_is_not_per_inference(tmp_path, shared_dir):
    # a v1.3-style streaming wake word row: its energy covers the whole stream
    src = (shared_dir / "mlperf-tiny" / "mlperf_tiny_summary.csv").read_text().splitlines()
    header, line = src[0], src[13]  # line 14 above
    sww = line.replace(",ad,,10.0516,", ",sww,,10.0516,")
    p = tmp_path / "tiny.csv"
    p.write_text("\n".join([header, line, sww]) + "\n")
    df = datasets.load("mlperf-tiny", p)
    assert df["energy_scope"].to_list() == ["inference", "stream"]
    assert df["task"].to_list() == ["anomaly-detection", "streaming-wake-word"]


def test_mlperf_inference_counts(inference):
    assert inference.height == 2385
    scopes = dict(inference.group_by("energy_scope").len().iter_rows())
    assert scopes == {None: 2330, "inference": 37, "token": 18}  # the 55 power rows
    assert inference.filter(pl.col("scenario") == "SingleStream")["latency_ms_p90"].null_count() == 0
    assert inference.filter(pl.col("scenario") == "MultiStream")["latency_ms_p99"].null_count() == 0
    assert set(inference["scenario"]) == {"Offline", "Server", "SingleStream", "MultiStream", "Interactive"}


def test_mlperf_inference_values_by_hand(inference):
    # line 2344: ...,resnet,mobilenet-v1-precision_float-1.0-128,SingleStream,...,4.77892,Latency (ms),
    #            155.1423475863,millijoules,...
    r = _inference(inference, "SingleStream")
    assert (r["scenario"], r["latency_ms_p90"], r["model"]) == ("SingleStream", 4.77892,
                                                                "mobilenet-v1-precision_float-1.0-128")
    assert r["energy_j"] == pytest.approx(0.1551423475863, rel=1e-12) and r["energy_scope"] == "inference"
    assert (r["device_class"], r["task"]) == ("laptop", "image-classification")
    # line 2342: MultiStream 42.193952 ms per 8-sample query, 1241.1387806903 mJ per query
    r = _inference(inference, "MultiStream")
    assert r["latency_ms_p99"] == 42.193952
    assert r["energy_j"] == pytest.approx(1.2411387806903 / 8, rel=1e-12)
    # line 2343: Offline 220.502 samples/s at 34.1764831261 W → J per sample
    r = _inference(inference, "Offline")
    assert r["throughput_per_s"] == 220.502 and r["power_w"] == 34.1764831261
    assert r["energy_j"] == pytest.approx(34.1764831261 / 220.502, rel=1e-12)
    h100 = inference.filter(pl.col("device_name") == "h100-sxm5-80gb")
    assert h100.height == 298 and set(h100["device_class"]) == {"cloud-gpu"}


@pytest.mark.parametrize("accelerator, suite, cls", [
    ("NVIDIA GeForce RTX 4090", "edge", "desktop-gpu"),  # a desktop card in the edge suite is not an edge module
    ("NVIDIA RTX 4000 Ada-PCIe-20GB", "datacenter", "desktop-gpu"),
    ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "edge", "cloud-gpu"),
    ("Intel(R) Arc(TM) 140T GPU", "edge", "laptop"),  # integrated in a laptop's Core Ultra
    ("[MAXSUN] MS-Intel Arc Pro B60 Dual 48G Turbo", "edge", "desktop-gpu"),
    ("NVIDIA Jetson AGX Thor 128G", "edge", "edge-accelerator"),
    ("UntetherAI speedAI240 Slim", "edge", "edge-accelerator"),  # unknown: the suite decides
    ("UntetherAI speedAI240 Slim", "datacenter", "cloud-gpu"),
])
def test_mlperf_inference_device_classes(accelerator, suite, cls):
    from workbench.datasets.mlperf_inference import device_of

    assert device_of(accelerator, None, suite) == (accelerator, cls)


def test_mlperf_inference_class_counts(inference):
    classes = dict(inference.group_by("device_class").len().iter_rows())
    assert classes == {"cloud-gpu": 1310, "desktop-cpu": 815, "desktop-gpu": 62, "laptop": 30,
                       "edge-accelerator": 23, "server-cpu": 145}


def test_mlperf_inference_tokens_are_not_samples(inference):
    tok = inference.filter(pl.col("energy_scope") == "token")
    assert tok["throughput_per_s"].null_count() == tok.height
    cfg = json.loads(tok["config_json"][0])
    assert tok["energy_j"][0] == pytest.approx(tok["power_w"][0] / cfg["tokens_per_s"], rel=1e-12)


def test_ml_energy_counts(mlenergy):
    assert dict(mlenergy.group_by("source").len().iter_rows()) == {
        "ml-energy leaderboard v1 (2023)": 260, "ml-energy leaderboard v2 (2024)": 474,
        "ml-energy leaderboard v3 (2026)": 1858}
    assert set(mlenergy["energy_method"]) == {"dataset"}
    scopes = dict(mlenergy.group_by("energy_scope").len().iter_rows())
    assert scopes == {"request": 260 + 356 + 838, "inference": 86 + 32 + 638 + 382}


def test_ml_energy_values_by_hand(mlenergy):
    # v1 line 2: A100,chat,BAIR/koala-13b,21.2077...,265.5732...,12.1433556952537,2144.8338435191445
    r = mlenergy.filter(pl.col("source").str.contains("v1") & (pl.col("model") == "BAIR/koala-13b")
                        & pl.col("config_json").str.contains('"prompt_task": "chat"')
                        & (pl.col("device_name") == "A100")).row(0, named=True)
    assert r["energy_j"] == 2144.8338435191445 and r["energy_scope"] == "request"
    assert r["latency_ms_mean"] is None  # per-response time is not a forward-call latency
    assert json.loads(r["config_json"])["response_latency_ms"] == pytest.approx(12143.3556952537, rel=1e-12)
    # v3 line 2: gpqa, Qwen/Qwen3-14B on B200: 9599.698100812033 J/request, 319.7883095908309 W, p90 ITL 51.68 ms
    r = mlenergy.filter(pl.col("source").str.contains("v3")).row(0, named=True)
    assert (r["model"], r["device_name"], r["dtype"], r["params"]) == ("Qwen/Qwen3-14B", "B200", "bf16", 14_000_000_000)
    assert r["energy_j"] == 9599.698100812033 and r["power_w"] == 319.7883095908309
    assert r["latency_ms_p90"] == 51.68297459313183
    assert json.loads(r["config_json"])["energy_per_token_j"] == 1.3662634337367148
    # v2 line 2: image-to-video on NVIDIA A100-SXM4-40GB, 16915.850124999997 J/video, 46.14 s per batch of 1
    r = mlenergy.filter(pl.col("source").str.contains("v2")).row(0, named=True)
    assert (r["device_name"], r["energy_scope"], r["batch_size"]) == ("a100-sxm4-40gb", "inference", 1)
    assert r["energy_j"] == 16915.850124999997
    assert r["latency_ms_mean"] == pytest.approx(46142.08295941353, rel=1e-12)


def test_ml_energy_unknown_format(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(ImportFormatError, match="match no ML.ENERGY leaderboard generation"):
        datasets.load("ml-energy", p)
