"""ensure_runs (measures only what the store lacks, never mixes thread counts) and find_datasets_dir."""

from __future__ import annotations

import pytest

from workbench.errors import ParameterError
from workbench.reports.data import SHARED_DATA_ENV, ensure_runs, find_datasets_dir


def test_runs_with_another_thread_count_are_another_configuration(tmp_store):
    kw = dict(repeats=2, warmup=1, meter="none", energy_window_s=0.0)
    one = ensure_runs(tmp_store, ["mlp"], threads=1, **kw)
    assert one.height == 1 and one["threads"].to_list() == [1]
    # same parameters again: read back, nothing measured (the store still holds one run file)
    again = ensure_runs(tmp_store, ["mlp"], threads=1, measure="never", **kw)
    assert again["measurement_id"].to_list() == one["measurement_id"].to_list()
    assert len(list(tmp_store.path.glob("*.parquet"))) == 1
    # a 2-thread report must not take the 1-thread run for its own
    with pytest.raises(ParameterError, match="no run of mlp/fp32/bs1"):
        ensure_runs(tmp_store, ["mlp"], threads=2, measure="never", **kw)
    two = ensure_runs(tmp_store, ["mlp"], threads=2, **kw)
    assert two["threads"].to_list() == [2] and two["measurement_id"][0] != one["measurement_id"][0]


def test_find_datasets_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    with pytest.raises(ParameterError, match="is not a folder"):
        find_datasets_dir(tmp_path / "missing")
    # a checkout without ../shared/data beside it: None (a fresh clone)
    repo = tmp_path / "clone"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("")
    assert find_datasets_dir(start=repo / "notebooks") is None
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert find_datasets_dir(start=repo / "notebooks") == (tmp_path / "shared" / "data").resolve()
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "clone"))
    assert find_datasets_dir(start=tmp_path) == repo
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "nope"))
    with pytest.raises(ParameterError, match=SHARED_DATA_ENV):
        find_datasets_dir()
