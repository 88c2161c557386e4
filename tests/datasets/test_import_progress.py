"""The import progress hook: the same rows with and without it; no bar unless stderr is a terminal."""

from __future__ import annotations

import sys

import pytest

from tests.datasets.test_import_store import _emissions, _write_with_codecarbon
from tests.progress_fakes import FakeTerminal, Recorder
from workbench import datasets
from workbench.cli import main
from workbench.store import Store


def test_import_is_the_same_with_a_progress_hook(tmp_path):
    path = _write_with_codecarbon(tmp_path, [_emissions("a"), _emissions("b", timestamp="2026-01-03T10:00:00")])
    rec = Recorder()
    (plain,) = datasets.import_file("codecarbon", path, tmp_path / "plain")
    (hooked,) = datasets.import_file("codecarbon", path, tmp_path / "hooked", progress=rec)
    assert rec.calls == [(1, "import codecarbon")]  # one file
    assert (hooked.rows_added, hooked.sha256, hooked.notes) == (plain.rows_added, plain.sha256, plain.notes)
    assert plain.rows_added == 2
    a, b = Store(tmp_path / "plain").read(), Store(tmp_path / "hooked").read()
    assert sorted(a["measurement_id"]) == sorted(b["measurement_id"])  # content ids: the same rows
    assert sorted(a["energy_j"]) == sorted(b["energy_j"]) == pytest.approx([0.5 * 3.6e6] * 2, rel=1e-12)
    reads = datasets.read_files("codecarbon", path, progress=rec)
    assert rec.calls[-1] == (1, "read codecarbon") and reads[0].frame.height == 2


def test_cli_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    path = _write_with_codecarbon(tmp_path, [_emissions("cli")])
    assert main(["import", "codecarbon", str(path), "--store", str(tmp_path / "r1")]) == 0
    piped = capsys.readouterr()
    assert "import codecarbon" not in piped.err and "1 row(s) added" in piped.out
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["import", "codecarbon", str(path), "--store", str(tmp_path / "r2")]) == 0
    assert "import codecarbon:" in term.getvalue() and "0/1" in term.getvalue()
    assert "1 row(s) added" in capsys.readouterr().out
    term.seek(0)
    term.truncate(0)
    assert main(["import", "codecarbon", str(path), "--store", str(tmp_path / "r3"), "--no-progress"]) == 0
    assert main(["import", "codecarbon", str(path), "--dry-run", "--no-progress"]) == 0
    assert term.getvalue() == ""
    assert main(["import", "codecarbon", str(path), "--dry-run"]) == 0
    assert "read codecarbon:" in term.getvalue()
    assert "1 row(s) would be imported" in capsys.readouterr().out
