"""Progress hooks of fit and evaluate: the same model and metrics with and without; no bar off a terminal."""

import sys

import numpy as np

from tests.progress_fakes import FakeTerminal, Recorder
from workbench.cli import build_parser, main


def test_flags():
    p = build_parser()
    for argv in (["fit", "--target", "energy_j", "--out", "x"], ["evaluate"]):
        assert p.parse_args([*argv, "--no-progress"]).no_progress is True


def test_fit_and_evaluate_same_with_hook(store_dir, tmp_path):
    from workbench.costmodels.features import training_data
    from workbench.costmodels.training import read_training_tables
    from workbench.costmodels.validation import evaluate_family_out
    from workbench.costmodels.workflow import fit_from_store

    rec = Recorder()
    a = fit_from_store(store_dir, target="latency_ms", kind="loglinear")
    b = fit_from_store(store_dir, target="latency_ms", kind="loglinear", progress=rec)
    assert rec.calls and rec.calls[0][1] == "fit: calibration folds"
    assert a.estimator.q_ == b.estimator.q_  # the same folds, the same residuals: equal, not close
    assert np.array_equal(a.estimator.oof_log_ratio_, b.estimator.oof_log_ratio_)
    rows, layers = read_training_tables(store_dir)
    X, y, meta = training_data(rows, layers, target="latency_ms")
    t1 = evaluate_family_out(X, y, meta, kinds=["flops", "loglinear"])[1]
    rec2 = Recorder()
    t2 = evaluate_family_out(X, y, meta, kinds=["flops", "loglinear"], progress=rec2)[1]
    assert rec2.calls == [(2, "evaluate")]
    assert t1.equals(t2)


def test_cli_bar_only_on_terminal(store_dir, tmp_path, capsys, monkeypatch):
    argv = ["evaluate", "--store", str(store_dir), "--kind", "flops", "--kind", "loglinear"]
    assert main(argv) == 0
    piped = capsys.readouterr()
    assert "evaluate:" not in piped.err
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(argv) == 0
    assert "evaluate:" in term.getvalue()
    assert capsys.readouterr().out == piped.out
    assert main(["fit", "--store", str(store_dir), "--target", "latency_ms", "--kind", "loglinear",
                 "--out", str(tmp_path / "m.json")]) == 0
    assert "fit: calibration folds" in term.getvalue()
