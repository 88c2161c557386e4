"""The shared argument checks: one rule for integers, numbers and coverages everywhere."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest

from workbench.checks import check_int, check_interval, check_number
from workbench.errors import ParameterError, SchemaError
from workbench.schema import as_polars
from workbench.store import Store


@pytest.mark.parametrize("value", [True, False, 1.0, "3", None, 2.5])
def test_check_int_refuses_non_integers_and_bools(value):
    with pytest.raises(ParameterError, match=r"repeats must be an integer, got .*Fix: --repeats 50"):
        check_int(value, "repeats", fix="--repeats 50")


def test_check_int_bounds_and_numpy_integers():
    assert check_int(np.int64(7), "n") == 7 and type(check_int(np.int64(7), "n")) is int
    assert check_int(0, "warmup", minimum=0) == 0
    with pytest.raises(ParameterError, match="n must be a positive integer, got 0"):
        check_int(0, "n")
    with pytest.raises(ParameterError, match="k must be an integer ≥ 2, got 1"):
        check_int(1, "k", minimum=2)
    with pytest.raises(ParameterError, match="k must be an integer ≤ 5, got 6"):
        check_int(6, "k", maximum=5)


@pytest.mark.parametrize("value", [True, math.nan, math.inf, "0.5", None])
def test_check_number_refuses_bools_nan_and_non_numbers(value):
    with pytest.raises(ParameterError, match="threshold must be a finite number"):
        check_number(value, "threshold")


def test_check_number_inclusive_and_exclusive_bounds():
    assert check_number(0, "x", minimum=0, maximum=1) == 0.0
    assert check_number(1, "x", minimum=0, maximum=1) == 1.0
    with pytest.raises(ParameterError, match=r"x must be in \(0, 1\), got 1.0"):
        check_number(1, "x", minimum=0, maximum=1, exclusive=True)
    with pytest.raises(ParameterError, match=r"x must be in \[0, inf\], got -0.5"):
        check_number(-0.5, "x", minimum=0)


def test_check_interval_is_a_coverage_in_the_open_unit_interval():
    assert check_interval(0.9) == 0.9
    for bad in (0, 1, 90, -0.1, True):
        with pytest.raises(ParameterError, match="interval"):
            check_interval(bad)


def test_as_polars_takes_either_kind_and_refuses_others():
    pd_frame = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    out = as_polars(pd_frame)
    assert isinstance(out, pl.DataFrame) and out["a"].to_list() == [1, 2] and out["b"].to_list() == ["x", None]
    pl_frame = pl.DataFrame({"a": [1]})
    assert as_polars(pl_frame) is pl_frame
    assert as_polars(pl_frame.lazy()).equals(pl_frame)
    with pytest.raises(SchemaError, match="expected a polars or pandas DataFrame, got dict"):
        as_polars({"a": [1]})


def test_store_coerce_keeps_a_store_and_opens_a_path(tmp_path):
    st = Store(tmp_path / "runs")
    assert Store.coerce(st) is st
    other = Store.coerce(tmp_path / "other")
    assert isinstance(other, Store) and other.path == tmp_path / "other"
    assert Store.coerce(str(tmp_path / "other")).path == tmp_path / "other"
