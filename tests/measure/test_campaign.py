"""profile_missing: profiles only what the store lacks on this device, at one thread count."""

from __future__ import annotations

import pytest

from workbench.errors import ParameterError, UnknownNameError
from workbench.measure.campaign import missing_configurations, profile_missing, thread_count


def test_missing_configurations_are_those_this_device_has_no_row_of():
    import polars as pl

    have = pl.DataFrame({"model": ["a", "a", "b"], "dtype": ["fp32", "int8", "fp32"], "batch_size": [1, 1, 1],
                         "device_name": ["here", "here", "elsewhere"]})
    assert missing_configurations(have, ["a", "b"], ["fp32", "int8"], [1], "here") == [
        ("b", "fp32", 1), ("b", "int8", 1)]


def test_profile_missing_profiles_once_per_thread_count(tmp_store):
    kw = dict(repeats=2, warmup=1, meter="none", energy_window_s=0.0)
    first = profile_missing(tmp_store, ["mlp"], threads=1, **kw)
    assert first.profiled == (("mlp", "fp32", 1),) and first.threads == 1
    assert first.rows["model"].to_list() == ["mlp"] and first.rows["device_name"][0] == first.device_name
    again = profile_missing(tmp_store, ["mlp"], threads=1, measure="never", **kw)
    assert again.profiled == () and again.rows["measurement_id"].to_list() == first.rows["measurement_id"].to_list()
    with pytest.raises(ParameterError, match="no run of mlp/fp32/bs1 with 2 thread"):
        profile_missing(tmp_store, ["mlp"], threads=2, measure="never", **kw)
    always = profile_missing(tmp_store, ["mlp"], threads=1, measure="always", **kw)
    assert always.profiled == (("mlp", "fp32", 1),) and always.rows.height == 2  # every run, not the latest
    with pytest.raises(UnknownNameError):
        profile_missing(tmp_store, ["mlp"], measure="sometimes")
    with pytest.raises(UnknownNameError):
        profile_missing(tmp_store, ["mlpp"])
    with pytest.raises(ParameterError, match="no model"):
        profile_missing(tmp_store, [])


def test_thread_count():
    import torch

    assert thread_count(None) == torch.get_num_threads() and thread_count(3) == 3
    for bad in (0, True, 1.5):
        with pytest.raises(ParameterError, match="threads"):
            thread_count(bad)
