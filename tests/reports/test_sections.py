"""How notes write the numbers they compute (workbench.reports.sections)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from workbench.errors import ParameterError
from workbench.reports.sections import metric_frame, num, percent, spelled


def test_spelled_counts():
    assert [spelled(n) for n in (0, 1, 4, 9, 10, 12)] == ["zero", "one", "four", "nine", "ten", "twelve"]
    assert spelled(13) == "13" and spelled(465) == "465"
    for bad in (-1, 2.0, True):
        with pytest.raises(ParameterError):
            spelled(bad)


def test_percent_and_num():
    assert [percent(f) for f in (0.9, 0.1, 0.95, 0.5)] == ["90 %", "10 %", "95 %", "50 %"]
    assert num(None, ".2f") == "n/a" and num(math.nan, ".2f") == "n/a" and num(math.inf, ".2f") == "∞"
    assert num(0.123, ".2f") == "0.12" and num(0.25, ".0%") == "25%"


def test_metric_frame_renames_the_interval_width():
    m = pd.DataFrame({"kind": ["flops"], "n": [3], "mape": [0.5], "median_width_factor": [2.0], "extra": [1]})
    assert metric_frame(m, ["kind"]).columns == ["kind", "n", "mape", "median_interval_factor"]
