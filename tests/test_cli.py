"""The command line: models, profile, runs, schema."""

import json
import subprocess
import sys

import polars as pl

from workbench.cli import main


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
