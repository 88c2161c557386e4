"""Tables of notebook 02 (workbench.reports.datasets_view): public datasets beside own runs.

Unit tests on small frames built here (values chosen so that medians, ratios and shares are known
exactly), the fresh-clone path (no datasets folder: own runs only, and a note naming what was
skipped), and checks against ../shared/data through the ``shared_data`` fixture.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from workbench import schema
from workbench.errors import ParameterError, UnknownNameError
from workbench.reports import datasets_view as dv
from workbench.reports.data import SHARED_DATA_ENV, ensure_runs, find_datasets_dir

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def rows(records: list[dict]) -> pl.DataFrame:
    """Schema rows with the required bookkeeping columns filled in."""
    full = []
    for i, r in enumerate(records):
        full.append({"measurement_id": f"m{i}", "run_id": "r", "timestamp_utc": T0, **r})
    return schema.from_records(full)


def tiny_row(bench, model, board, latency_ms, energy_j=None, division="closed", device_class="mcu", version="1.0"):
    return {"source": f"mlperf-tiny v{version}", "model": model, "device_name": board, "device_class": device_class,
            "batch_size": 1, "latency_ms_mean": latency_ms, "energy_j": energy_j,
            "energy_scope": "inference" if energy_j is not None else None,
            "power_w": 0.05 if energy_j is not None else None,
            "energy_method": "dataset" if energy_j is not None else "none",
            "config_json": json.dumps({"benchmark": bench, "division": division})}


def own_row(model, latency_ms, energy_j, method="tdp-estimate", dtype="fp32", device="this-cpu"):
    return {"source": "profiler", "model": model, "dtype": dtype, "batch_size": 1, "device_name": device,
            "device_class": "server-cpu", "latency_ms_p50": latency_ms, "energy_j": energy_j,
            "energy_scope": "inference", "energy_method": method}


@pytest.fixture
def tiny():
    return rows([
        tiny_row("ic", "resnet8", "board-a", 10.0, 1e-3, version="0.7"),
        tiny_row("ic", "resnet8", "board-a", 30.0, None, version="1.0"),
        tiny_row("ic", "resnet8", "board-b", 40.0, 3e-3),
        tiny_row("ic", "RN07", "board-c", 1.0, 1e-5, division="open"),       # open division: no twin
        tiny_row("kws", "ds-cnn", "fpga-d", 2.0, None, device_class="edge-accelerator"),
        tiny_row("sww", "ds-cnn-streaming", "board-a", 5.0, None),         # streaming benchmark: no twin
    ])


# ------------------------------------------------------------------------------------------ twins
def test_twin_boards_median_over_submissions_closed_division_only(tiny):
    b = dv.tiny_twin_boards(tiny)
    assert b.select("zoo_model", "device_name").rows() == [("dscnn-kws", "fpga-d"), ("resnet8", "board-a"),
                                                           ("resnet8", "board-b")]
    a = b.filter(pl.col("device_name") == "board-a").row(0, named=True)
    # board-a: median of 10 and 30 ms; its only energy run gives 1 mJ (exact arithmetic, tight tolerance)
    assert a["submissions"] == 2 and a["energy_submissions"] == 1 and a["rounds"] == "v0.7, v1.0"
    assert a["latency_ms"] == pytest.approx(20.0, rel=1e-12)
    assert (a["latency_ms_min"], a["latency_ms_max"]) == (10.0, 30.0)
    assert a["energy_j"] == pytest.approx(1e-3, rel=1e-12)
    assert set(b["energy_method"]) == {"dataset"} and set(b["basis"]) == {dv.BASIS_SUBMITTER}
    # a subset of models keeps only those twins; no dataset gives an empty table with the columns
    assert dv.tiny_twin_boards(tiny, ["resnet8", "mlp"])["zoo_model"].unique().to_list() == ["resnet8"]
    empty = dv.tiny_twin_boards(None, ["resnet8"])
    assert empty.height == 0 and "latency_ms" in empty.columns


def test_twin_summary_medians_ranges_ratios_and_basis(tiny):
    boards = dv.tiny_twin_boards(tiny)
    own = rows([own_row("resnet8", 2.0, 0.5), own_row("resnet8", 8.0, 0.25, dtype="int8"),
                own_row("mlp", 0.1, 0.01)])
    s = dv.twin_summary(boards, own)
    mcu = s.filter((pl.col("zoo_model") == "resnet8") & (pl.col("platform") == "MLPerf Tiny · mcu")).row(0, named=True)
    # boards a (20 ms, 1 mJ) and b (40 ms, 3 mJ): median 30 ms and 2 mJ; ratios to own fp32 (2 ms, 0.5 J)
    assert mcu["devices"] == 2 and mcu["energy_devices"] == 2
    assert mcu["latency_ms_median"] == pytest.approx(30.0, rel=1e-12)
    assert (mcu["latency_ms_min"], mcu["latency_ms_max"]) == (20.0, 40.0)
    assert mcu["latency_x_own"] == pytest.approx(15.0, rel=1e-12)
    assert mcu["energy_j_median"] == pytest.approx(2e-3, rel=1e-12)
    assert mcu["energy_x_own"] == pytest.approx(4e-3, rel=1e-12)
    assert mcu["energy_basis"] == dv.BASIS_SUBMITTER
    int8 = s.filter(pl.col("platform") == "own runs · server-cpu · int8").row(0, named=True)
    assert int8["latency_x_own"] == pytest.approx(4.0, rel=1e-12)
    assert int8["latency_basis"] == dv.BASIS_HERE and int8["energy_basis"] == dv.BASIS_ESTIMATE
    # a model without twin keeps its own row; the edge-accelerator board has latency but no energy
    assert s.filter(pl.col("zoo_model") == "mlp")["platform"].to_list() == ["own runs · server-cpu · fp32"]
    fpga = s.filter(pl.col("platform") == "MLPerf Tiny · edge-accelerator").row(0, named=True)
    assert fpga["latency_ms_median"] == 2.0 and fpga["energy_devices"] == 0 and fpga["energy_j_median"] is None
    # points: one per device and quantity, latency before energy (panel order of the figure)
    pts = dv.twin_points(boards, own)
    assert pts.filter(pl.col("zoo_model") == "resnet8")["quantity"].unique(maintain_order=True).to_list() == [
        dv.Q_LATENCY, dv.Q_ENERGY]
    assert pts.filter((pl.col("quantity") == dv.Q_ENERGY) & (pl.col("zoo_model") == "resnet8")).height == 4


def test_sensor_energy_is_labelled_measured_and_no_energy_is_left_out():
    own = rows([own_row("resnet8", 2.0, 0.5, method="rapl"), own_row("dscnn-kws", 1.0, None, method="none")])
    pts = dv.twin_points(dv.tiny_twin_boards(None), own)
    assert pts.filter(pl.col("quantity") == dv.Q_ENERGY).select("zoo_model", "basis").rows() == [
        ("resnet8", dv.BASIS_SENSOR)]


def test_energy_window_busy_share_flags_overstated_energy():
    def with_window(r, calls, window_s):
        return {**r, "config_json": json.dumps({"energy": {"calls": calls, "window_s": window_s}})}

    own = rows([with_window(own_row("resnet8", 1.0, 0.5), 6, 1.2),       # 6 ms of 1.2 s: energy overstated
                with_window(own_row("dscnn-kws", 1.0, 0.001), 1000, 1.0),  # busy the whole window
                with_window(own_row("mlp", 1.0, 0.001), 5000, 1.0),        # 5x more calls than the latency allows
                own_row("vit", 1.0, None, method="none")])                  # no window
    share = dv.energy_window_busy_share(own)
    assert share["model"].to_list() == ["dscnn-kws", "mlp", "resnet8"]
    # calls x median latency / window: 1000 x 1 ms / 1 s, 5000 x 1 ms / 1 s, 6 x 1 ms / 1.2 s
    assert share["busy_share"].to_list() == pytest.approx([1.0, 5.0, 0.005], rel=1e-12)
    note = dv.twins_note(["resnet8", "dscnn-kws", "mlp"], own, dv.PublicData(None, skipped={"mlperf-tiny": "x"}))
    assert "`resnet8` fp32 (6 calls in 1.20 s: 0.5% of the window" in note and "overstated" in note
    assert "`mlp` fp32 (5000 calls" in note and "`dscnn-kws` fp32 (1000" not in note


# ------------------------------------------------------------------------------------------ provenance
def test_provenance_counts_rows_devices_and_energy_methods(tiny):
    own = rows([own_row("resnet8", 2.0, 0.5), own_row("mlp", 0.1, 0.01)])
    data = dv.PublicData(Path("/data"), {"mlperf-tiny": tiny}, {"mlperf-tiny": (Path("/data/x.csv"),)}, {})
    p = dv.provenance_table(own, data)
    assert p.columns[-3:] == ["energy_dataset", "energy_none", "energy_tdp_estimate"]
    own_p = p.filter(pl.col("dataset") == "profiler").row(0, named=True)
    assert (own_p["rows"], own_p["models"], own_p["devices"], own_p["energy_tdp_estimate"], own_p["energy_none"]) == (
        2, 2, 1, 2, 0)
    assert own_p["energy_scopes"] == "inference: 2"
    v07, v10 = (p.filter(pl.col("source") == s).row(0, named=True) for s in ("mlperf-tiny v0.7", "mlperf-tiny v1.0"))
    assert (v07["rows"], v07["energy_dataset"], v07["energy_none"]) == (1, 1, 0)
    # v1.0: board-a 30 ms (no energy), board-b (energy), RN07, fpga-d (none), sww (none)
    assert (v10["rows"], v10["energy_dataset"], v10["energy_none"], v10["devices"]) == (5, 2, 3, 4)
    assert v10["device_classes"] == "edge-accelerator, mcu" and v10["files"] == "x.csv"
    assert p["rows"].sum() == own.height + tiny.height


# ------------------------------------------------------------------------------------------ fresh clone
def test_without_datasets_the_own_runs_render_and_the_note_names_what_was_skipped(tmp_path, tmp_store):
    empty = tmp_path / "no-data"
    empty.mkdir()
    data = dv.load_public_data(find_datasets_dir(empty))
    assert data.frames == {} and data.all_files() == []
    assert set(data.skipped) == set(dv.DATASET_FOLDERS)
    # a real (tiny) profiler run; no meter, so the test is quick and needs no sensor
    runs = ensure_runs(tmp_store, ["mlp", "fc-autoencoder-ad"], repeats=2, warmup=1, meter="none", energy_window_s=0.0)
    prov = dv.provenance_table(runs, data, dv.store_imports(tmp_store))
    assert prov.select("origin", "dataset", "rows", "energy_none").rows() == [("run store", "profiler", 2, 2)]
    boards = dv.tiny_twin_boards(data.frames.get("mlperf-tiny"), ["mlp", "fc-autoencoder-ad"])
    summary = dv.twin_summary(boards, runs)
    assert summary["zoo_model"].to_list() == ["fc-autoencoder-ad", "mlp"]
    assert summary["latency_ms_median"].is_not_null().all() and summary["energy_j_median"].is_null().all()
    note = dv.datasets_note(data)
    for label in ("MLPerf Tiny", "MLPerf Inference", "ML.ENERGY", "nn-Meter"):
        assert f"{label}: no folder" in note
    assert "`datasets_dir`" in note and SHARED_DATA_ENV in note
    twins = dv.twins_note(["mlp", "fc-autoencoder-ad"], runs, data)
    assert "MLPerf Tiny was not read" in twins and "`mlp` has no MLPerf Tiny twin" in twins
    assert dv.section_note(data, ["nn-meter"], "nn-Meter latencies").startswith("**Skipped: nn-Meter latencies.**")
    # the dataset sections have nothing to show, and say so instead of failing
    assert dv.accelerator_energy(data).height == 0


def test_find_datasets_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    with pytest.raises(ParameterError, match="is not a folder"):
        find_datasets_dir(tmp_path / "missing")
    # a checkout without ../shared/data beside it: None (a fresh clone)
    repo = tmp_path / "clone"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("")
    assert find_datasets_dir(start=repo / "notebooks") is None
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert find_datasets_dir(start=repo / "notebooks") == (tmp_path / "shared" / "data").resolve()
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "clone"))
    assert find_datasets_dir(start=tmp_path) == repo
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "nope"))
    with pytest.raises(ParameterError, match=SHARED_DATA_ENV):
        find_datasets_dir()


def test_unknown_dataset_kind_is_refused(tmp_path):
    with pytest.raises(UnknownNameError, match="mlperf-tiny"):
        dv.load_public_data(tmp_path, ["mlperf-tinny"])


# ------------------------------------------------------------------------------------------ accelerators
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
    data = dv.PublicData(None, {"mlperf-inference": mi, "ml-energy": me})
    t = dv.accelerator_energy(data)
    got = {(r["dataset"], r["energy_per"]): r for r in t.iter_rows(named=True)}
    assert set(got) == {("MLPerf Inference", "token"), ("MLPerf Inference", "sample"), ("ML.ENERGY", "request"),
                        ("ML.ENERGY", "token"), ("ML.ENERGY", "image")}
    req = got[("ML.ENERGY", "request")]
    assert (req["results"], req["energy_j_median"], req["energy_j_min"], req["energy_j_max"]) == (
        2, 200.0, 100.0, 300.0)
    assert got[("ML.ENERGY", "token")]["energy_j_median"] == pytest.approx(1.0, rel=1e-12)
    assert got[("MLPerf Inference", "token")]["scope"] == "whole system, wall power"
    tokens = dv.energy_series(t, "token")
    assert tokens.select("device", "series").rows() == [("GPU-X", "mlperf-inference v4.1 Offline"),
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
    p = dv.inference_performance(mi)
    offline = p.filter(pl.col("scenario") == "Offline")
    per_acc = dict(offline.select("device_class", "samples_per_s_per_accelerator_median").rows())
    # 80,000 samples/s over 8 GPUs; a CPU-only system of 2 nodes counts per node
    assert per_acc == {"cloud-gpu": 10000.0, "server-cpu": 250.0}
    lat = dv.benchmark_latency(mi, "resnet50").row(0, named=True)
    assert (lat["results"], lat["latency_ms"], lat["latency_ms_min"], lat["latency_ms_max"]) == (2, 1.0, 0.5, 1.5)
    with pytest.raises(UnknownNameError, match="resnet50"):
        dv.benchmark_latency(mi, "resnet5")
    with pytest.raises(UnknownNameError, match="SingleStream"):
        dv.benchmark_latency(mi, "resnet50", "Offline")


# ------------------------------------------------------------------------------------------ nn-Meter
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
    by_device, by_family = dv.nn_meter_ratios(nm, "ref")
    r = by_device.row(0, named=True)
    assert (r["device_name"], r["models"]) == ("gpu", 5)
    assert r["ratio_median"] == pytest.approx(0.25, rel=1e-12) and r["spearman"] == pytest.approx(1.0, abs=1e-12)
    assert dict(by_family.select("model_family", "ratio_median").rows()) == {"a": 0.25, "b": 0.5}
    with pytest.raises(UnknownNameError, match="ref"):
        dv.nn_meter_ratios(nm, "reff")


def test_nn_meter_histogram_shares_and_summary(nm):
    h = dv.nn_meter_histogram(nm, bins_per_decade=1)
    # bins are decades: ref has 1, 2, 4, 8 ms in [1, 10) and 16 ms in [10, 100)
    ref = h.filter(pl.col("device_name") == "ref")
    assert ref.select("latency_ms_low", "latency_ms_high", "models").rows() == [(1.0, 10.0, 4), (10.0, 100.0, 1)]
    assert ref["latency_ms"].to_list() == pytest.approx([10 ** 0.5, 10 ** 1.5], rel=1e-12)
    assert h.group_by("device_name").agg(pl.col("share").sum())["share"].to_list() == pytest.approx([1.0, 1.0])
    s = dv.nn_meter_summary(nm)
    assert s.select("device_name", "processor", "models", "latency_ms_median").rows() == [
        ("gpu", "G", 5, 1.0), ("ref", "CPU", 5, 4.0)]
    with pytest.raises(ParameterError):
        dv.nn_meter_histogram(nm, bins_per_decade=0)


# ------------------------------------------------------------------------------------------ shared data
def test_public_datasets_load_and_twins(shared_data):
    data = dv.load_public_data(shared_data)
    # row counts of ../shared/data as documented in docs/data.md (importer output)
    assert {k: df.height for k, df in data.frames.items()} == {
        "mlperf-tiny": 240, "mlperf-inference": 2385, "ml-energy": 260 + 474 + 1858, "nn-meter": 99342}
    assert "codecarbon" in data.skipped  # the shared folder holds codecarbon's tables, not a user's emissions.csv
    prov = dv.provenance_table(rows([own_row("resnet8", 1.0, 0.1)]), data)
    assert prov.filter(pl.col("origin") == "datasets folder")["rows"].sum() == 240 + 2385 + 2592 + 99342
    # 55 MLPerf Inference results were submitted with power (docs/data.md)
    mi = prov.filter(pl.col("dataset") == "mlperf-inference")
    assert mi["energy_dataset"].sum() == 55 and mi["energy_tdp_estimate"].sum() == 0
    boards = dv.tiny_twin_boards(data.frames["mlperf-tiny"])
    assert sorted(boards["zoo_model"].unique()) == sorted(dv.BENCHMARK_TWINS.values())
    mcu = boards.filter(pl.col("device_class") == "mcu").group_by("zoo_model").len()
    assert mcu["len"].min() >= 10  # every benchmark ran on at least ten microcontroller boards
    # microcontrollers need well under 0.1 J per inference of these models (measured energy)
    assert boards.filter(pl.col("energy_j").is_not_null())["energy_j"].max() < 0.1
    nm_dev, _ = dv.nn_meter_ratios(data.frames["nn-meter"])
    assert nm_dev["device_name"].to_list() == ["intel-ncs2", "pixel-3-xl", "xiaomi-mi-9"]
    # the phone GPUs are faster than the phone CPU on almost every model, and rank models alike
    assert (nm_dev.filter(pl.col("device_name") != "intel-ncs2")["ratio_p95"] < 1).all()
    assert (nm_dev.filter(pl.col("device_name") != "intel-ncs2")["spearman"] > 0.95).all()


@pytest.mark.slow
def test_notebook_renders_on_a_fresh_clone_without_datasets(tmp_path):
    """The notebook's own branch for a machine without ../shared/data: own-runs tables and figure, and
    notes naming what was skipped (CI has the datasets, so test_notebooks.py renders the full path)."""
    from workbench.reports.manifest import read_manifest
    from workbench.reports.render import render_report

    notebooks = Path(__file__).resolve().parents[2] / "notebooks"
    (tmp_path / "empty").mkdir()
    params = {"store": str(tmp_path / "runs"), "notebooks": {"02": {
        "models": ["mlp", "resnet8"], "repeats": 2, "warmup": 1, "meter": "none", "energy_window_s": 0.0,
        "datasets_dir": str(tmp_path / "empty")}}}
    report = render_report("fresh", params=params, notebooks_dir=notebooks, reports_dir=tmp_path / "reports",
                           select=["02"], progress=False)
    m = read_manifest(report)
    assert m["status"] == "ok"
    assert sorted((a["kind"], a["name"]) for a in m["artefacts"]) == [
        ("figure", "twins_latency_energy"), ("table", "provenance"), ("table", "twins_across_continuum")]
    assert [i for i in m["inputs"] if i["role"] == "dataset"] == []
    html = (report / "02_datasets.html").read_text()
    assert "MLPerf Tiny was not read" in html
    assert "Skipped: energy, latency and throughput of cloud and edge accelerators" in html
    assert "Skipped: latency distributions on phones and a VPU" in html
    twins = pl.read_csv(report / "tables" / "02_datasets__twins_across_continuum.csv")
    assert twins["zoo_model"].to_list() == ["mlp", "resnet8"]
