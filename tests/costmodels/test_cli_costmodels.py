"""``workbench fit``, ``predict`` and ``evaluate`` end to end on a small profiled store."""

from __future__ import annotations

import json

import pytest

from tests.costmodels.conftest import MODELS
from workbench.cli import main


def test_fit_predict_evaluate(store_dir, tmp_path, capsys):
    out = tmp_path / "cm.json"
    assert main(["fit", "--target", "latency_ms", "--store", str(store_dir), "--out", str(out),
                 "--kind", "loglinear", "--interval", "0.8"]) == 0
    doc = json.loads(out.read_text())
    assert doc["metadata"]["target"] == "latency_ms" and doc["metadata"]["n_train"] == len(MODELS)
    assert len(doc["metadata"]["training_data_sha256"]) == 64
    capsys.readouterr()
    assert main(["predict", "--cost-model", str(out), "--model", "mlp-w0.5-d2-r16", "--format", "json"]) == 0
    got = capsys.readouterr()
    rec = json.loads(got.out)[0]
    # the profiler's rows carry the normalised latency, so the model predicts it and says so
    assert "latency_ms is normalised milliseconds" in got.err
    assert rec["model"] == "mlp-w0.5-d2-r16"
    assert rec["lower_latency_ms"] < rec["predicted_latency_ms"] < rec["upper_latency_ms"]
    # the per-layer model uses the store's per-layer breakdown, and the zoo model's layers to predict
    lw = tmp_path / "lw.json"
    assert main(["fit", "--target", "latency_ms", "--store", str(store_dir), "--out", str(lw), "--kind", "layerwise"]) == 0
    capsys.readouterr()
    assert main(["predict", "--cost-model", str(lw), "--model", "autoencoder-w0.5-d2-r320", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["predicted_latency_ms"] > 0
    assert main(["fit", "--target", "memory_peak_bytes", "--store", str(store_dir), "--out", str(lw),
                 "--kind", "layerwise"]) == 2
    assert "latency only" in capsys.readouterr().err
    assert main(["evaluate", "--store", str(store_dir), "--kind", "flops", "--kind", "additive",
                 "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert [r["kind"] for r in table] == ["flops", "additive"] and all(r["n"] == len(MODELS) for r in table)


def test_cli_errors(store_dir, tmp_path, capsys):
    out = tmp_path / "cm.json"
    main(["fit", "--target", "memory_peak_bytes", "--store", str(store_dir), "--out", str(out), "--kind", "loglinear"])
    capsys.readouterr()
    assert main(["predict", "--cost-model", str(out), "--model", "mlp", "--target", "latency_ms"]) == 2
    assert "predicts 'memory_peak_bytes'" in capsys.readouterr().err
    assert main(["fit", "--target", "latency_ms", "--store", str(store_dir), "--out", str(out),
                 "--kind", "lstm"]) == 2
    assert "unknown cost-model kind 'lstm'" in capsys.readouterr().err
    assert main(["fit", "--target", "latency_ms", "--store", str(store_dir), "--out", str(out),
                 "--device-class", "cloud-gpu"]) == 2
    assert "no rows with 'latency_ms_p50' for device_class='cloud-gpu'" in capsys.readouterr().err
    assert main(["predict", "--cost-model", str(tmp_path / "none.json"), "--model", "mlp"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_parser_is_light_and_targets_agree():
    """Building the parser must not import scikit-learn (the CLI imports heavy libraries per command)."""
    import subprocess
    import sys

    code = ("import sys; from workbench.cli import build_parser; build_parser(); "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
    from workbench.cli import build_parser
    from workbench.costmodels.features import TARGETS

    fit = build_parser()._subparsers._group_actions[0].choices["fit"]
    target = next(a for a in fit._actions if a.dest == "target")
    assert sorted(target.choices) == sorted(TARGETS)


def test_fit_fills_layer_shapes_of_runs_stored_before_they_were_recorded(store_dir, tmp_path, capsys):
    import polars as pl

    from workbench.costmodels.workflow import fit_from_store
    from workbench.store import LAYER_REQUIRED, LAYER_SHAPE_COLUMNS, Store

    src = Store(store_dir)
    rows, layers = src.read(), src.read_layers()
    old = rows.filter(pl.col("model") == MODELS[0])["measurement_id"].implode()
    mixed = Store(tmp_path / "mixed")
    mixed.append(rows.filter(~pl.col("measurement_id").is_in(old)),
                 layers=layers.filter(~pl.col("measurement_id").is_in(old)))
    # an older run: its per-layer table has the original columns only
    mixed.append(rows.filter(pl.col("measurement_id").is_in(old)),
                 layers=layers.filter(pl.col("measurement_id").is_in(old)).select(LAYER_REQUIRED))
    missing = mixed.read_layers()["input_bytes"].null_count()
    assert missing == layers.filter(pl.col("measurement_id").is_in(old)).height > 0
    saved = fit_from_store(mixed, target="latency_ms", kind="layerwise", interval=None)
    assert saved.estimator.shape_columns_ == list(LAYER_SHAPE_COLUMNS)  # filled from the zoo definition
    assert mixed.read_layers()["input_bytes"].null_count() == missing  # read, never rewritten
    # `workbench evaluate` reads the store the same way
    assert main(["evaluate", "--store", str(mixed.path), "--kind", "layerwise", "--interval", "0",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n"] == len(MODELS)
    assert main(["evaluate", "--store", str(mixed.path), "--jobs", "0"]) == 2
    assert "n_jobs must be a non-zero integer" in capsys.readouterr().err


def test_predict_your_own_module_by_its_counted_features(store_dir, tmp_path, capsys):
    # a user's factory that returns the very network of a zoo model predicts exactly what the zoo name does
    (tmp_path / "my_models.py").write_text(
        "from workbench.measure import zoo\n\ndef build():\n    return zoo.resolve('mlp-w0.5-d2-r16').build()\n")
    out = tmp_path / "cm.json"
    assert main(["fit", "--target", "latency_ms", "--store", str(store_dir), "--out", str(out),
                 "--kind", "loglinear", "--interval", "0.8"]) == 0
    capsys.readouterr()
    assert main(["predict", "--cost-model", str(out), "--model", "mlp-w0.5-d2-r16",
                 "--module", f"{tmp_path / 'my_models.py'}:build", "--input-shape", "1x16x16", "--format", "json"]) == 0
    zoo_rec, own_rec = json.loads(capsys.readouterr().out)
    assert own_rec["model"] == "build"
    assert own_rec["predicted_latency_ms"] == pytest.approx(zoo_rec["predicted_latency_ms"], rel=1e-12)
    assert own_rec["upper_latency_ms"] == pytest.approx(zoo_rec["upper_latency_ms"], rel=1e-12)
    assert main(["predict", "--cost-model", str(out), "--module", f"{tmp_path / 'my_models.py'}:build"]) == 2
    assert "--module needs --input-shape" in capsys.readouterr().err
    assert main(["predict", "--cost-model", str(out)]) == 2
    assert "nothing to predict" in capsys.readouterr().err
