"""nn-Meter views of notebook 02 (workbench.reports.nn_meter_view): small frames built here, and the shared data."""

from __future__ import annotations

import polars as pl
import pytest

from tests.reports._schema_rows import rows
from workbench.datasets.public import load_public_data
from workbench.errors import ParameterError, UnknownNameError
from workbench.reports import nn_meter_view as nv


@pytest.fixture
def nm():
    recs = []
    for i, lat in enumerate([1.0, 2.0, 4.0, 8.0, 16.0]):
        fam = "a" if i < 3 else "b"
        recs.append({"source": "nn-meter", "model": f"m{i}", "model_family": fam, "device_name": "ref",
                     "device_class": "phone", "latency_ms_mean": lat, "energy_method": "none", "dtype": "fp32"})
        # "gpu" is 4x faster on family a, 2x on family b; ranking preserved
        recs.append({"source": "nn-meter", "model": f"m{i}", "model_family": fam, "device_name": "gpu",
                     "device_class": "phone", "accelerator": "G", "latency_ms_mean": lat / (4 if fam == "a" else 2),
                     "energy_method": "none", "dtype": "fp32"})
    return rows(recs)


def test_nn_meter_ratios_and_rank_correlation(nm):
    by_device, by_family = nv.nn_meter_ratios(nm, "ref")
    r = by_device.row(0, named=True)
    assert (r["device_name"], r["models"]) == ("gpu", 5)
    assert r["ratio_median"] == pytest.approx(0.25, rel=1e-12) and r["spearman"] == pytest.approx(1.0, abs=1e-12)
    assert dict(by_family.select("model_family", "ratio_median").rows()) == {"a": 0.25, "b": 0.5}
    with pytest.raises(UnknownNameError, match="ref"):
        nv.nn_meter_ratios(nm, "reff")


def test_nn_meter_histogram_shares_and_summary(nm):
    h = nv.nn_meter_histogram(nm, bins_per_decade=1)
    # bins are decades: ref has 1, 2, 4, 8 ms in [1, 10) and 16 ms in [10, 100)
    ref = h.filter(pl.col("device_name") == "ref")
    assert ref.select("latency_ms_low", "latency_ms_high", "models").rows() == [(1.0, 10.0, 4), (10.0, 100.0, 1)]
    assert ref["latency_ms"].to_list() == pytest.approx([10 ** 0.5, 10 ** 1.5], rel=1e-12)
    assert h.group_by("device_name").agg(pl.col("share").sum())["share"].to_list() == pytest.approx([1.0, 1.0])
    s = nv.nn_meter_summary(nm)
    assert s.select("device_name", "processor", "models", "latency_ms_median").rows() == [
        ("gpu", "G", 5, 1.0), ("ref", "CPU", 5, 4.0)]
    with pytest.raises(ParameterError):
        nv.nn_meter_histogram(nm, bins_per_decade=0)


def test_nn_meter_ratios_on_the_shared_data(shared_data):
    nm_dev, _ = nv.nn_meter_ratios(load_public_data(shared_data, ["nn-meter"]).frames["nn-meter"])
    assert nm_dev["device_name"].to_list() == ["Mi9", "NCS2", "Pixel3XL"]  # display names (catalog.display_name)
    assert nm_dev["reference"].unique().to_list() == ["Pixel4"]
    # the phone GPUs are faster than the phone CPU on almost every model, and rank models alike
    assert (nm_dev.filter(pl.col("device_name") != "NCS2")["ratio_p95"] < 1).all()
    assert (nm_dev.filter(pl.col("device_name") != "NCS2")["spearman"] > 0.95).all()
