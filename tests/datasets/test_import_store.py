"""codecarbon emissions.csv, idempotent and all-or-nothing imports into a store, bad input, CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest
from codecarbon.output_methods.emissions_data import EmissionsData
from codecarbon.output_methods.file import FileOutput

from workbench import datasets
from workbench.cli import main
from workbench.errors import ImportFormatError, UnknownNameError


def _emissions(run_id: str, **over) -> EmissionsData:
    values = dict(
        timestamp="2026-01-02T10:00:00", project_name="resnet-finetune", run_id=run_id, experiment_id="exp",
        duration=3600.0, emissions=0.05, emissions_rate=0.05 / 3600, cpu_power=42.5, gpu_power=250.0,
        ram_power=10.0, cpu_energy=0.04, gpu_energy=0.45, ram_energy=0.01, energy_consumed=0.5,
        water_consumed=0.0, country_name="France", country_iso_code="FRA", region="ile-de-france",
        cloud_provider="", cloud_region="", os="Linux", python_version="3.11", codecarbon_version="3.3.2",
        cpu_count=16, cpu_model="Intel(R) Xeon(R) Platinum 8592+", gpu_count=1, gpu_model="NVIDIA A100-SXM4-40GB",
        longitude=2.3, latitude=48.8, ram_total_size=64.0, tracking_mode="machine",
    )
    values.update(over)
    return EmissionsData(**values)


def _write_with_codecarbon(tmp_path: Path, rows) -> Path:
    out = FileOutput("emissions.csv", str(tmp_path))
    for r in rows:
        out.out(r, None)  # codecarbon's own writer: the file has exactly its header and formatting
    return tmp_path / "emissions.csv"


def test_codecarbon_emissions_csv(tmp_path):
    path = _write_with_codecarbon(tmp_path, [_emissions("run-1")])
    header = path.read_text().splitlines()[0].split(",")
    assert header == [f.name for f in dataclasses.fields(EmissionsData)]
    df = datasets.load("codecarbon", path)
    r = df.row(0, named=True)
    assert r["energy_j"] == pytest.approx(0.5 * 3.6e6, rel=1e-12)  # kWh → J
    assert r["power_w"] == pytest.approx(0.5 * 3.6e6 / 3600, rel=1e-12)  # average = 500 W
    assert (r["energy_scope"], r["energy_method"], r["source"]) == ("run", "dataset", "codecarbon 3.3.2")
    assert (r["device_name"], r["device_class"]) == ("a100-sxm4-40gb", "cloud-gpu")
    cfg = json.loads(r["config_json"])
    assert cfg["implied_carbon_intensity_g_per_kwh"] == pytest.approx(100.0, rel=1e-12)  # 0.05 kg / 0.5 kWh
    assert cfg["gpu_energy_j"] == pytest.approx(0.45 * 3.6e6, rel=1e-12)
    cpu_dir = tmp_path / "cpu"
    cpu_dir.mkdir()
    cpu_run = _emissions("r2", gpu_count=0, gpu_energy=0.0, gpu_model="")
    cpu_only = datasets.load("codecarbon", _write_with_codecarbon(cpu_dir, [cpu_run]))
    # no GPU used: the row describes the CPU, a Xeon → server-cpu (the catalog's Xeon 8592+)
    assert cpu_only.row(0, named=True)["device_name"] == "xeon-platinum-8592plus"
    assert cpu_only.row(0, named=True)["device_class"] == "server-cpu"


def test_import_is_idempotent_and_grown_codecarbon_adds_only_new(tmp_path, tmp_store):
    path = _write_with_codecarbon(tmp_path, [_emissions("run-1")])
    (first,) = datasets.import_file("codecarbon", path, tmp_store)
    assert (first.rows_added, first.skipped) == (1, False)
    (again,) = datasets.import_file("codecarbon", path, tmp_store)
    assert (again.rows_added, again.skipped) == (0, True)
    _write_with_codecarbon(tmp_path, [_emissions("run-2", timestamp="2026-01-03T10:00:00")])  # appends
    (grown,) = datasets.import_file("codecarbon", path, tmp_store)
    assert grown.rows_added == 1
    stored = tmp_store.read()
    assert stored.height == 2
    assert sorted(json.loads(c)["codecarbon_run_id"] for c in stored["config_json"]) == ["run-1", "run-2"]


@pytest.mark.shared_data
def test_import_real_file_twice(shared_dir, tmp_store):
    src = shared_dir / "mlperf-tiny" / "mlperf_tiny_summary.csv"
    (r1,) = datasets.import_file("mlperf-tiny", src, tmp_store)
    (r2,) = datasets.import_file("mlperf-tiny", src.parent, tmp_store)
    assert (r1.rows_added, r2.rows_added, r2.skipped) == (240, 0, True)
    assert tmp_store.read().height == 240
    assert tmp_store.input_hashes() == {r1.sha256}


def test_malformed_rows_import_nothing(tmp_path, tmp_store):
    good = _write_with_codecarbon(tmp_path, [_emissions("ok")])
    datasets.import_file("codecarbon", good, tmp_store)
    text = good.read_text().splitlines()
    bad_row = text[1].replace(",3600.0,", ",-5,", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([text[0], text[1].replace("ok", "ok2"), bad_row.replace("ok", "ok3"), "\n"]))
    with pytest.raises(ImportFormatError, match=r"1 malformed row\(s\).*line 3: column 'duration' = '-5'"):
        datasets.import_file("codecarbon", bad, tmp_store)
    assert tmp_store.read().height == 1  # nothing of the bad file, the earlier import intact


def test_bad_input_errors(tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean 'mlperf-tiny'.*Valid dataset kinds: codecarbon"):
        datasets.load("mlperf_tiny", tmp_path)
    with pytest.raises(ImportFormatError, match="does not exist"):
        datasets.load("codecarbon", tmp_path / "nope.csv")
    with pytest.raises(ImportFormatError, match=r"holds none of the files.*emissions.csv"):
        datasets.load("codecarbon", tmp_path)
    p = tmp_path / "emissions.csv"
    p.write_text("timestamp,project_name,duration\n2026-01-01,x,1\n")
    with pytest.raises(ImportFormatError) as err:
        datasets.load("codecarbon", p)
    msg = str(err.value)
    assert "missing column(s) ['run_id', 'emissions'" in msg and "Expected columns: ['timestamp'" in msg
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ImportFormatError, match=r"the file is empty \(0 bytes\)"):
        datasets.load("mlperf-tiny", empty)


def test_load_as_pandas(tmp_path):
    path = _write_with_codecarbon(tmp_path, [_emissions("p")])
    pdf = datasets.load("codecarbon", path, as_pandas=True)
    assert type(pdf).__module__.startswith("pandas") and len(pdf) == 1


def test_cli(tmp_path, capsys):
    path = _write_with_codecarbon(tmp_path, [_emissions("cli")])
    store = str(tmp_path / "runs")
    assert main(["import", "codecarbon", str(path), "--store", store]) == 0
    assert "1 row(s) added" in capsys.readouterr().out
    assert main(["import", "codecarbon", str(path), "--store", store]) == 0
    assert "already imported" in capsys.readouterr().out
    assert main(["import", "codecarbn", str(path), "--store", store]) == 2
    assert "Did you mean 'codecarbon'" in capsys.readouterr().err
    assert main(["devices", "--class", "mcu", "--format", "csv"]) == 0
    table = pl.read_csv(capsys.readouterr().out.encode())
    assert table.height >= 5 and set(table["device_class"]) == {"mcu"}
    assert main(["devices", "h100", "--format", "csv"]) == 0
    figs = pl.read_csv(capsys.readouterr().out.encode())
    assert (figs["source"].str.len_chars() > 10).all()
    assert main(["grid", "fra", "--format", "csv"]) == 0
    assert "FRA,France" in capsys.readouterr().out
    assert main(["grid", "Frnace"]) == 2
    assert "France" in capsys.readouterr().err
    assert main(["network", "--year", "2022", "--format", "csv"]) == 0
    net = pl.read_csv(capsys.readouterr().out.encode())
    assert net.filter(pl.col("technology") == "4g")["energy_kwh_per_gb"][0] == pytest.approx(0.07, rel=1e-12)
    assert main(["pue", "--format", "csv"]) == 0
    assert "default,1.56" in capsys.readouterr().out
