"""Provenance of notebook 02 (workbench.reports.provenance_view): where every row comes from.

Unit tests on small frames built here, the fresh-clone path (no datasets folder: own runs only, and
notes naming what was skipped), and checks against ../shared/data through the ``shared_data`` fixture.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.reports._schema_rows import own_row, rows, tiny_results
from workbench.datasets.public import DATASET_FOLDERS, PublicData, load_public_data
from workbench.reports import accelerators_view, twins_view
from workbench.reports import provenance_view as pv
from workbench.reports.data import SHARED_DATA_ENV, ensure_runs, find_datasets_dir


@pytest.fixture
def tiny():
    return tiny_results()


def test_provenance_counts_rows_devices_and_energy_methods(tiny):
    own = rows([own_row("resnet8", 2.0, 0.5), own_row("mlp", 0.1, 0.01)])
    data = PublicData(Path("/data"), {"mlperf-tiny": tiny}, {"mlperf-tiny": (Path("/data/x.csv"),)}, {})
    p = pv.provenance_table(own, data)
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
    data = load_public_data(find_datasets_dir(empty))
    assert data.frames == {} and data.all_files() == []
    assert set(data.skipped) == set(DATASET_FOLDERS)
    # a real (tiny) profiler run; no meter, so the test is quick and needs no sensor
    runs = ensure_runs(tmp_store, ["mlp", "fc-autoencoder-ad"], repeats=2, warmup=1, meter="none", energy_window_s=0.0)
    prov = pv.provenance_table(runs, data, pv.store_imports(tmp_store))
    assert prov.select("origin", "dataset", "rows", "energy_none").rows() == [("run store", "profiler", 2, 2)]
    boards = twins_view.tiny_twin_boards(data.frames.get("mlperf-tiny"), ["mlp", "fc-autoencoder-ad"])
    summary = twins_view.twin_summary(boards, runs)
    assert summary["zoo_model"].to_list() == ["fc-autoencoder-ad", "mlp"]
    assert summary["latency_ms_median"].is_not_null().all() and summary["energy_j_median"].is_null().all()
    note = pv.datasets_note(data)
    for label in ("MLPerf Tiny", "MLPerf Inference", "ML.ENERGY", "nn-Meter"):
        assert f"{label}: no folder" in note
    assert "`datasets_dir`" in note and SHARED_DATA_ENV in note
    twins = twins_view.twins_note(["mlp", "fc-autoencoder-ad"], runs, data)
    assert "MLPerf Tiny was not read" in twins and "`mlp` has no MLPerf Tiny twin" in twins
    assert pv.section_note(data, ["nn-meter"], "nn-Meter latencies").startswith("**Skipped: nn-Meter latencies.**")
    # the dataset sections have nothing to show, and say so instead of failing
    assert accelerators_view.accelerator_energy(data).height == 0


def test_provenance_of_the_shared_data(shared_data):
    data = load_public_data(shared_data)
    prov = pv.provenance_table(rows([own_row("resnet8", 1.0, 0.1)]), data)
    assert prov.filter(pl.col("origin") == "datasets folder")["rows"].sum() == sum(
        df.height for df in data.frames.values())
    # 55 MLPerf Inference results were submitted with power (docs/data.md)
    mi = prov.filter(pl.col("dataset") == "mlperf-inference")
    assert mi["energy_dataset"].sum() == 55 and mi["energy_tdp_estimate"].sum() == 0
    note = pv.datasets_note(data)
    for kind, df in data.frames.items():
        assert f"{pv.DATASET_LABELS[kind]} ({df.height:,} rows from" in note
    assert f"{pv.DATASET_LABELS['codecarbon']}: {data.skipped['codecarbon']}" in note


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
