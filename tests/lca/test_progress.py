"""The Monte Carlo progress hook: same draws with and without it; no bar unless stderr is a terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.progress_fakes import FakeTerminal, Recorder
from workbench.cli import main
from workbench.lca.footprint import footprint_dict

SCENARIO = Path(__file__).resolve().parents[2] / "data" / "scenarios" / "example.toml"


def test_monte_carlo_is_the_same_with_a_progress_hook(lca_dir):
    rec = Recorder()
    plain = footprint_dict(SCENARIO, lca_dir=lca_dir, monte_carlo=20, seed=3)
    hooked = footprint_dict(SCENARIO, lca_dir=lca_dir, monte_carlo=20, seed=3, progress=rec)
    assert hooked == plain  # every percentile equal: the hook only wraps the loop
    assert rec.calls == [(20, "Monte Carlo")]


def test_cli_bar_only_on_a_terminal(lca_dir, capsys, monkeypatch):
    argv = ["footprint", str(SCENARIO), "--lca-dir", str(lca_dir), "--monte-carlo", "5", "--seed", "1"]
    assert main(argv) == 0  # under pytest stderr is not a terminal
    piped = capsys.readouterr()
    assert "Monte Carlo:" not in piped.err and "it/s" not in piped.err
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(argv) == 0
    on_terminal = capsys.readouterr()
    assert "Monte Carlo:" in term.getvalue() and "0/5" in term.getvalue()  # drawn, then cleared (leave=False)
    assert on_terminal.out == piped.out  # the same table, the bar never on stdout
    term.seek(0)
    term.truncate(0)
    assert main([*argv, "--no-progress"]) == 0
    assert capsys.readouterr().out == piped.out
    assert main([*argv, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["monte_carlo"]["iterations"] == 5
    assert term.getvalue() == ""  # neither with --no-progress nor with JSON output
