"""``--no-progress`` and :mod:`workbench.cli.progress`: a bar on stderr only for a person at a terminal."""

from __future__ import annotations

import argparse
import io
import sys

import pytest

from tests.progress_fakes import FakeTerminal
from workbench.cli import build_parser
from workbench.cli.progress import progress_bar


@pytest.mark.parametrize("argv", [["footprint", "s.toml"], ["compress"], ["cascade"], ["import", "codecarbon", "x"]])
def test_the_flag_exists(argv):
    parser = build_parser()
    assert parser.parse_args(argv).no_progress is False
    assert parser.parse_args([*argv, "--no-progress"]).no_progress is True


def test_no_bar_without_a_terminal_with_the_flag_or_with_json(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a pipe or a log file
    assert progress_bar(argparse.Namespace(no_progress=False)) is None
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    assert progress_bar(argparse.Namespace(no_progress=True)) is None
    assert progress_bar(argparse.Namespace(no_progress=False), json_output=True) is None
    assert progress_bar(argparse.Namespace()) is not None  # a command without the flag


def test_the_bar_yields_the_same_items_and_draws_on_stderr_only(monkeypatch, capsys):
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setenv("TQDM_DISABLE", "1")  # `workbench footprint` sets it to silence Brightway's bars
    wrap = progress_bar(argparse.Namespace(no_progress=False))
    assert list(wrap(iter(range(5)), total=5, desc="draws")) == [0, 1, 2, 3, 4]
    assert "draws" in term.getvalue() and "0/5" in term.getvalue()  # drawn, then cleared (leave=False)
    assert capsys.readouterr().out == ""
