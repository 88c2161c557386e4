"""The command line: models, profile, runs, schema."""

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import polars as pl
import pytest

from workbench import schema
from workbench.cli import main
from workbench.store import Store


def run(*args):
    return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True, text=True, timeout=300)


def test_models_lists_names_usable_with_model(capsys):
    assert main(["models"]) == 0
    names = capsys.readouterr().out.split()
    assert "resnet8" in names and "dscnn-kws" in names and len(names) >= 10
    assert main(["models", "--all", "--family", "resnet"]) == 0
    assert len(capsys.readouterr().out.split()) == 5 * 3 * 3


def test_unknown_model_exits_nonzero_with_valid_names(tmp_path):
    r = run("profile", "--model", "resnett", "--store", str(tmp_path / "s"))
    assert r.returncode == 2
    assert "unknown model 'resnett'" in r.stderr and "resnet8" in r.stderr
    assert not (tmp_path / "s").exists() or not list((tmp_path / "s").glob("*.parquet"))


def test_profile_then_export(tmp_path, capsys):
    store = str(tmp_path / "runs")
    assert main(["profile", "--model", "mlp", "--model", "lenet", "--batch-size", "1", "--batch-size", "2",
                 "--repeats", "3", "--warmup", "1", "--meter", "none", "--store", store, "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["runs", "--store", store, "--format", "csv", "--filter", "model=lenet",
                 "--columns", "model,batch_size,latency_ms_p50"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "model,batch_size,latency_ms_p50" and len(out) == 3
    assert main(["runs", "--store", store, "--format", "json", "--filter", "batch_size=2"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert sorted(r["model"] for r in recs) == ["lenet", "mlp"]
    pq = tmp_path / "out.parquet"
    assert main(["runs", "--store", store, "--format", "parquet", "-o", str(pq)]) == 0
    assert pl.read_parquet(pq).height == 4


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["profile", "--model", "mlp", "--repeats", "0", "--store", str(tmp_path)]) == 2
    assert "repeats must be a positive integer" in capsys.readouterr().err
    assert main(["runs", "--store", str(tmp_path), "--format", "parquet"]) == 2
    assert main(["runs", "--store", str(tmp_path), "--filter", "modle=x"]) == 2
    assert "Did you mean 'model'" in capsys.readouterr().err


def test_schema_markdown(capsys):
    assert main(["schema", "--format", "markdown"]) == 0
    assert "| `energy_method` |" in capsys.readouterr().out


def test_kernels_profiles_the_operator_benchmark(tmp_path, capsys):
    from workbench.store import Store

    assert main(["kernels", "--n", "4", "--repeats", "2", "--warmup", "0", "--store", str(tmp_path)]) == 0
    assert "4 operator block(s) {'conv': 1, 'linear': 1, 'gru': 1, 'attention': 1}" in capsys.readouterr().err
    df = Store(tmp_path).read()
    assert df["model"].to_list() == ["kernel-conv-0000", "kernel-linear-0001", "kernel-gru-0002",
                                     "kernel-attention-0003"]
    assert main(["kernels", "--n", "0", "--store", str(tmp_path)]) == 2
    assert "n >= 1 blocks, got 0" in capsys.readouterr().err


def test_runs_export_never_lands_in_the_store_nor_overwrites(tmp_path, capsys):
    store = tmp_path / "runs"
    Store(store).append(schema.from_records([
        {"measurement_id": "a-0", "run_id": "a", "timestamp_utc": datetime(2026, 1, 1, tzinfo=timezone.utc),
         "source": "profiler", "model": "m", "energy_method": "none", "device_name": "cpu",
         "device_class": "server-cpu"}]))
    before = sorted(p.name for p in store.rglob("*"))
    assert main(["runs", "--store", str(store), "--format", "parquet", "-o", str(store / "all.parquet")]) == 2
    assert "inside the store" in capsys.readouterr().err
    assert sorted(p.name for p in store.rglob("*")) == before and Store(store).read().height == 1
    out = tmp_path / "all.csv"
    assert main(["runs", "--store", str(store), "--format", "csv", "-o", str(out)]) == 0
    first = out.read_bytes()
    assert main(["runs", "--store", str(store), "--format", "json", "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == first
    assert main(["runs", "--store", str(store), "--format", "json", "-o", str(out), "--overwrite"]) == 0
    assert out.read_bytes().startswith(b"[")
    assert main(["runs", "--store", str(store), "--format", "csv", "-o", str(tmp_path / "missing" / "x.csv")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_an_unexpected_error_is_one_line_naming_the_traceback_file(monkeypatch, capsys):
    import workbench.cli.measure as measure_cli

    def boom(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(measure_cli, "cmd_schema", boom)
    assert main(["schema"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error in `workbench schema` (ZeroDivisionError" in err
    path = err.split("the full traceback is in ")[1].split(";")[0]
    assert "ZeroDivisionError: division by zero" in open(path, encoding="utf-8").read()
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "schema"])


def test_runs_check_names_corrupt_files_and_removes_only_debris(tmp_path, capsys):
    store = Store(tmp_path / "runs")
    rows = schema.from_records([
        {"measurement_id": "a-0", "run_id": "a", "timestamp_utc": datetime(2026, 1, 1, tzinfo=timezone.utc),
         "source": "profiler", "model": "m", "energy_method": "none", "device_name": "cpu",
         "device_class": "server-cpu"}])
    layers = pl.DataFrame({"measurement_id": ["a-0"], "layer_index": [0], "layer_name": ["0"],
                           "layer_type": ["Linear"], "flops": [10.0], "params": [1], "output_bytes": [4],
                           "latency_ms": [0.1]})
    run = store.append(rows, layers=layers)
    assert main(["runs", "--store", str(store.path), "--check"]) == 0
    assert "1 run file(s) and 1 per-layer file(s) read in full" in capsys.readouterr().out
    # debris of a killed writer, and a damaged copy of the run
    orphan = store.path / "layers" / "20260101T000000Z-gone-abcdef.parquet"
    orphan.write_bytes((store.path / "layers" / f"{run.name.split('.')[0]}.parquet").read_bytes())
    (store.path / ".tmp").mkdir(exist_ok=True)
    stale = store.path / ".tmp" / "999999999-dead.parquet"
    stale.write_bytes(b"half")
    damaged = store.path / f"20260102T000000Z-b-abcdef.{'0' * 16}.parquet"
    damaged.write_bytes(run.read_bytes())
    assert main(["runs", "--store", str(store.path), "--check"]) == 1
    out = capsys.readouterr().out
    assert f"corrupt: {damaged}: content hash" in out
    assert f"debris: {orphan}" in out and f"debris: {stale}" in out
    assert orphan.exists() and stale.exists()  # --check alone changes nothing
    assert main(["runs", "--store", str(store.path), "--check", "--remove-debris"]) == 1  # corrupt file remains
    assert "removed 2 debris file(s)" in capsys.readouterr().out
    assert not orphan.exists() and not stale.exists() and damaged.exists() and run.exists()


def test_import_into_a_store_with_a_damaged_file_names_it_and_the_way_out(tmp_path, capsys):
    store = tmp_path / "runs"
    store.mkdir()
    (store / "20260101T000000Z-x-abcdef.parquet").write_bytes(b"not parquet")
    csv = tmp_path / "emissions.csv"
    csv.write_text("timestamp,project_name,run_id,duration,emissions,energy_consumed,country_iso_code\n"
                   "2026-01-01T00:00:00,p,r1,10,0.001,0.002,FRA\n")
    assert main(["import", "codecarbon", str(csv), "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "20260101T000000Z-x-abcdef.parquet" in err
    assert "--check" in err and "skip_corrupt" not in err and len(list(store.iterdir())) == 1


def test_runs_export_never_replaces_a_device(tmp_path, capsys):
    store = tmp_path / "runs"
    Store(store).append(schema.from_records([
        {"measurement_id": "a-0", "run_id": "a", "timestamp_utc": datetime(2026, 1, 1, tzinfo=timezone.utc),
         "source": "profiler", "model": "m", "energy_method": "none", "device_name": "cpu",
         "device_class": "server-cpu"}]))
    for extra in ([], ["--overwrite"]):
        assert main(["runs", "--store", str(store), "--format", "csv", "-o", "/dev/full", *extra]) == 2
        assert "/dev/full is not a regular file" in capsys.readouterr().err
    assert os.path.exists("/dev/full") and not os.path.isfile("/dev/full")
