"""nn-Meter importer against the real file, plus error fixtures."""

from __future__ import annotations

import pytest

from workbench import datasets
from workbench.errors import ImportFormatError


@pytest.fixture(scope="module")
def nn_meter(shared_dir):
    return datasets.load("nn-meter", shared_dir / "nn-meter-model-latency" / "nnmeter_model_latency_wide.csv")


@pytest.mark.shared_data
def test_row_counts(nn_meter):
    counts = dict(nn_meter.group_by("device_name").len().iter_rows())
    # non-null means per device column; the Adreno 630 loses resnet2's 1,500 identical repeats of resnet
    assert counts == {"pixel-4": 25621, "xiaomi-mi-9": 24002, "pixel-3-xl": 25502 - 1500, "intel-ncs2": 25717}
    assert nn_meter.height == 99342
    assert nn_meter["measurement_id"].n_unique() == nn_meter.height


@pytest.mark.shared_data
def test_values_checked_by_hand(nn_meter):
    # first data line: alexnet,alexnet_0,84.5299,4.955,11.9766,0.0130413,16.185405,0.0795741...,10.134,0
    rows = {r["device_name"]: r for r in nn_meter.filter(nn_meter["model"] == "alexnet_0").iter_rows(named=True)}
    assert rows["pixel-4"]["latency_ms_mean"] == 84.5299
    assert rows["pixel-4"]["latency_cv"] == pytest.approx(4.955 / 84.5299, rel=1e-12)
    assert rows["xiaomi-mi-9"]["latency_cv"] == pytest.approx(0.0130413 / 11.9766, rel=1e-12)
    assert rows["intel-ncs2"]["latency_ms_mean"] == 10.134
    assert rows["intel-ncs2"]["latency_cv"] is None  # the VPU log has no std (all zeros)
    assert rows["intel-ncs2"]["device_class"] == "edge-accelerator"
    assert {r["device_class"] for k, r in rows.items() if k != "intel-ncs2"} == {"phone"}
    assert rows["pixel-3-xl"]["accelerator"] == "Adreno 630 GPU"
    assert set(nn_meter["energy_method"]) == {"none"}
    assert nn_meter["source"][0].startswith("nn-meter")
    # a leading tab in the raw file (mobilenetv2_0 on the VPU: "\t22.643") is read as the number
    v = nn_meter.filter((nn_meter["model"] == "mobilenetv2_0") & (nn_meter["device_name"] == "intel-ncs2"))
    assert v["latency_ms_mean"].to_list() == [22.643]


HEADER = ("model_family_file,model_id,cortexA76cpu_tflite21_mean,cortexA76cpu_tflite21_std,"
          "adreno640gpu_tflite21_mean,adreno640gpu_tflite21_std,adreno630gpu_tflite21_mean,"
          "adreno630gpu_tflite21_std,myriadvpu_openvino2019r2_mean,myriadvpu_openvino2019r2_std\n")


def test_small_fixture_and_bad_rows(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "vgg,vgg_1,10,1,,,2,0.5,3,0\n")
    df = datasets.load("nn-meter", good)
    assert df.height == 3 and df["latency_cv"].to_list() == [0.1, 0.25, None]
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "vgg,vgg_1,10,1,,,2,0.5,3,0\nvgg,vgg_2,abc,1,,,,,,\nvgg,vgg_3,-4,1,,,,,,\n")
    with pytest.raises(ImportFormatError, match=r"2 malformed row\(s\).*line 3: column 'cortexA76cpu_tflite21_mean' "
                                                r"= 'abc' is not a number.*line 4"):
        datasets.load("nn-meter", bad)
    missing = tmp_path / "missing.csv"
    missing.write_text("model_family_file,model_id\nvgg,vgg_1\n")
    with pytest.raises(ImportFormatError, match=r"missing column\(s\) \['cortexA76cpu_tflite21_mean'"):
        datasets.load("nn-meter", missing)
