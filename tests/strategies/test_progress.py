"""Progress hooks of compress and cascade: the same models and rows with and without; no bar off a terminal."""

from __future__ import annotations

import io
import sys

import pytest

from tests.progress_fakes import FakeTerminal, Recorder
from workbench.cli import main
from workbench.strategies.compression_experiments import run_compression
from workbench.strategies.staged_experiments import run_cascade, run_early_exit

# latency and energy are measured again on each run; everything else is a function of the seed
DETERMINISTIC = ["model", "strategy", "dtype", "batch_size", "params", "flops", "weight_bytes", "accuracy"]


def test_compression_is_the_same_with_a_progress_hook(splits, fast_settings):
    kw = dict(methods=("int8-dynamic", "prune-structured"), epochs=2, fine_tune_epochs=1, splits=splits,
              settings=fast_settings)
    rec = Recorder()
    plain, hooked = run_compression("mlp", **kw), run_compression("mlp", progress=rec, **kw)
    assert rec.calls == [(2, "compress")]
    assert hooked.rows.select(DETERMINISTIC).to_dicts() == plain.rows.select(DETERMINISTIC).to_dicts()
    assert hooked.summary["int8_size_ratio"] == plain.summary["int8_size_ratio"]


@pytest.mark.slow
@pytest.mark.parametrize("run, prefix", [(run_cascade, "cascade"), (run_early_exit, "early-exit-confidence")])
def test_staged_is_the_same_with_a_progress_hook(splits, fast_settings, run, prefix):
    kw = dict(thresholds=(0.5, 0.9), epochs=2, splits=splits, settings=fast_settings)
    rec = Recorder()
    plain, hooked = run(**kw), run(progress=rec, **kw)
    assert rec.calls == [(2, prefix)]  # one step per measured threshold
    assert hooked.rows.select(DETERMINISTIC).to_dicts() == plain.rows.select(DETERMINISTIC).to_dicts()
    cols = ["threshold", "accuracy", "expected_flops"]
    assert hooked.test_sweep.select(cols).to_dicts() == plain.test_sweep.select(cols).to_dicts()


@pytest.mark.slow
def test_cli_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    common = ["cascade", "--kind", "cascade", "--threshold", "0.8", "--epochs", "1", "--repeats", "2", "--warmup",
              "0", "--meter", "none", "--store", str(tmp_path / "runs")]
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(common) == 0
    assert "cascade:" in term.getvalue() and "0/1" in term.getvalue()  # drawn, then cleared (leave=False)
    term.seek(0)
    term.truncate(0)
    assert main([*common, "--no-progress"]) == 0  # JSON output: tests/test_cli_progress.py
    assert "cascade:" not in term.getvalue() and "it/s" not in term.getvalue()
    pipe = io.StringIO()  # not a terminal: a pipe, a log file
    monkeypatch.setattr(sys, "stderr", pipe)
    assert main(common) == 0
    assert "cascade:" not in pipe.getvalue() and "it/s" not in pipe.getvalue()
    assert "row(s) appended" in pipe.getvalue()  # the command's own lines still come
    capsys.readouterr()
