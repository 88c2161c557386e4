"""``workbench.files.json_safe``: NaN and infinities become null, everything else passes unchanged."""

from __future__ import annotations

import json
import math

import numpy as np

from workbench.files import json_safe


def test_non_finite_floats_become_none_at_any_depth():
    obj = {"a": math.nan, "b": [1.5, math.inf, (-math.inf, 2)], "c": {"d": np.float64("nan"), "e": "x"}, "f": 3}
    out = json_safe(obj)
    assert out == {"a": None, "b": [1.5, None, [None, 2]], "c": {"d": None, "e": "x"}, "f": 3}
    assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_finite_values_are_left_as_they_are():
    assert json_safe(0.1) == 0.1 and json_safe(True) is True and json_safe(None) is None and json_safe("nan") == "nan"
