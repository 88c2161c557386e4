"""The temporary scenario database never outlives its footprint: failures, full disks, kill -9."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from workbench.cli import main
from workbench.lca import database
from workbench.lca.footprint import footprint_dict
from workbench.lca.project import open_project

SMALL = """
name = "cleanup"
[location]
carbon_intensity_g_per_kwh = 300
[[devices]]
name = "my-gpu"
count = 3
power_w = 250
hours = 40
embodied_kgco2e = 120
lifetime_years = 5
"""


def scenario_dbs(bd) -> set[str]:
    return {name for name in bd.databases if name.startswith(database.SCENARIO_DB_PREFIX)}


@pytest.mark.parametrize("where", ["compute", "datapackage", "interrupt"])
def test_failure_after_the_write_leaves_no_database(lca_dir, bw, monkeypatch, where):
    from workbench.lca import footprint, matrices

    before = set(bw.databases)
    written = []
    real_write = database.write_database

    def spy(name, data):
        real_write(name, data)
        written.append(name)

    def boom(*args, **kwargs):
        assert written and written[-1] in bw.databases  # the database exists when the failure comes
        raise KeyboardInterrupt if where == "interrupt" else RuntimeError(f"simulated failure in {where}")

    monkeypatch.setattr(footprint, "write_database", spy)
    if where == "datapackage":  # inside write_scenario, right after the write (where a failure used to leak)
        monkeypatch.setattr(matrices, "datapackage", boom)
    else:
        monkeypatch.setattr(footprint, "compute", boom)
    with pytest.raises(KeyboardInterrupt if where == "interrupt" else RuntimeError):
        footprint_dict(SMALL, lca_dir=lca_dir, keep=True)  # kept only when the footprint succeeds
    assert written
    assert set(bw.databases) == before


def test_full_disk_is_one_error_line_and_leaves_nothing(lca_dir, bw, tmp_path, monkeypatch, capsys):
    import sqlite3

    import bw2data

    def full(self, data, *args, **kwargs):
        self.register(write_empty=False)  # as bw2data does, before the rows fail to go in
        raise sqlite3.OperationalError("database or disk is full")

    path = tmp_path / "small.toml"
    path.write_text(SMALL, encoding="utf-8")
    before = set(bw.databases)
    monkeypatch.setattr(bw2data.backends.SQLiteBackend, "write", full)
    assert main(["footprint", str(path), "--lca-dir", str(lca_dir)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write the database 'workbench-scenario-")
    assert "database or disk is full" in lines[0] and "--lca-dir" in lines[0]
    assert set(open_project(lca_dir).databases) == before


def test_stale_database_of_a_killed_process_is_swept_and_nothing_else(lca_dir, bw):
    # a real `kill -9` in the middle of a footprint: the scenario database is written, then the process dies
    code = textwrap.dedent(f"""
        import os, signal
        from workbench.lca.footprint import as_resolved, write_scenario
        from workbench.lca.project import open_project
        open_project({str(lca_dir)!r})
        model = write_scenario(as_resolved({SMALL!r}))
        print(model.db_name, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    stale = proc.stdout.strip()
    bd = open_project(lca_dir)  # reads the metadata the killed process wrote
    assert stale in bd.databases and database.is_stale(stale, dict(bd.databases[stale]))

    # what must survive the sweep: a user's database, a kept scenario, one named by an older version,
    # one of a live process (this one), and one from another host that is recent
    kept = footprint_dict(SMALL, lca_dir=lca_dir, keep=True)["database"]
    assert stale not in open_project(lca_dir).databases  # that footprint swept it
    database.write_database("my-inventory", {("my-inventory", "a"): {"name": "a", "unit": "unit",
                                                                      "exchanges": []}})
    legacy = database.SCENARIO_DB_PREFIX + "0123456789"
    database.write_database(legacy, {(legacy, "a"): {"name": "a", "unit": "unit", "exchanges": []}})
    other_host = f"{database.SCENARIO_DB_PREFIX}ffffffff-1-0123abcd"
    database.write_database(other_host, {(other_host, "a"): {"name": "a", "unit": "unit", "exchanges": []}})
    others = set(bd.databases)
    try:
        footprint_dict(SMALL, lca_dir=lca_dir)
        assert set(open_project(lca_dir).databases) == others
        assert open_project(lca_dir).databases[kept][database.KEPT_MARK] is True

        # the other host's database once it is older than STALE_AFTER_S: swept
        old = datetime.datetime.now() - datetime.timedelta(seconds=database.STALE_AFTER_S + 60)
        bd.databases[other_host]["modified"] = old.isoformat()
        bd.databases.flush()
        assert database.sweep_stale_scenarios(bd) == [other_host]
        assert set(bd.databases) == others - {other_host}
    finally:
        for name in (kept, "my-inventory", legacy, other_host):
            if name in bd.databases:
                del bd.databases[name]


def test_own_pid_counts_as_stale_only_when_no_longer_in_use(bw):
    name = database.new_scenario_name()
    assert str(os.getpid()) in name and not database.is_stale(name, {})
    database.release(name)
    assert database.is_stale(name, {})
    assert not database.is_stale(name, {database.KEPT_MARK: True})
    assert not database.is_stale("workbench-foreground", {}) and not database.is_stale("biosphere3", {})


def test_sigterm_during_a_footprint_exits_through_the_cleanup():
    from workbench.cli.lca import _terminate_as_exit

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as info, _terminate_as_exit():
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs at the next bytecode and raises
    assert info.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before
