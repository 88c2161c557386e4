"""Traces: validation (gaps, unsorted, negative), resampling by hand, the 5Gophers and CAISO readers, requests."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.adaptive import traces as tr
from workbench.errors import ImportFormatError, ParameterError, UnknownNameError


@pytest.mark.parametrize("times, values, match", [
    ([0, 1, 5, 6], [1, 1, 1, 1], "gap of 4 s between t = 1 s and t = 5 s"),
    ([0, 2, 1, 3], [1, 1, 1, 1], "sample 2 \\(t = 1 s\\) comes before sample 1"),
    ([0, 1, 1, 2], [1, 1, 1, 1], "repeats"),
    ([0, 1, 2, 3], [1, -2, 1, 1], "sample 1 \\(t = 1 s\\) is negative"),
    ([0, 1, 2, 3], [1, np.nan, 1, 1], "sample 1 has value nan"),
    ([0], [1], "at least two samples"),
])
def test_bad_series(times, values, match):
    with pytest.raises(ImportFormatError, match=match):
        tr.make_series(times, values, "bandwidth_mbps")


def test_resample_means_and_holds():
    s = tr.make_series([0, 1, 2, 3], [1.0, 3.0, 5.0, 7.0], "bandwidth_mbps", "hand")
    # 2-s intervals: means (1 + 3) / 2 and (5 + 7) / 2
    assert tr.resample(s, 2.0, 2).values.tolist() == [2.0, 6.0]
    # 0.5-s intervals: where no sample starts inside, the last one before is held
    assert tr.resample(s, 0.5, 8).values.tolist() == [1.0, 1.0, 3.0, 3.0, 5.0, 5.0, 7.0, 7.0]
    assert "resampled to 2 × 2 s" in tr.resample(s, 2.0, 2).source
    with pytest.raises(ParameterError, match="not inside the trace"):
        tr.resample(s, 2.0, 3)


def test_concat_shifts_and_keeps_sources():
    a = tr.make_series([0, 1], [1.0, 2.0], "bandwidth_mbps", "A")
    b = tr.make_series([10, 11], [3.0, 4.0], "bandwidth_mbps", "B")
    c = tr.concat([a, b])
    assert c.times_s.tolist() == [0.0, 1.0, 2.0, 3.0] and c.values.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert c.source == "A; then B"


def test_poisson_requests_seeded():
    a = tr.poisson_requests(2.0, 1.0, 1000, seed=7)
    assert a.tolist() == tr.poisson_requests(2.0, 1.0, 1000, seed=7).tolist()
    # mean 2 per interval; the sample mean of 1000 draws has sd √(2/1000) ≈ 0.045: 5 sd is 0.22
    assert abs(a.mean() - 2.0) < 0.22


def test_gophers_walking(shared_data):
    s = tr.gophers_bandwidth(shared_data, "walking")
    assert len(s) == 603 and s.times_s[0] == 1.0 and s.times_s[-1] == 603.0
    assert s.values[:2].tolist() == [92.1, 150.0]  # the file's first two rows
    assert "mobility_walking.csv" in s.source and "CC BY 4.0" in s.source
    stretched = tr.gophers_bandwidth(shared_data, "walking", time_scale=300)
    assert stretched.times_s[1] - stretched.times_s[0] == 300.0 and "a workbench assumption" in stretched.source


def test_gophers_car_gap_is_refused_unless_tolerated(shared_data):
    # mobility_car_1.csv lacks seconds 103-108
    with pytest.raises(ImportFormatError, match="gap of 7 s"):
        tr.gophers_bandwidth(shared_data, "car_1", carrier="verizon")
    s = tr.gophers_bandwidth(shared_data, "car_1", carrier="verizon", max_gap_steps=10)
    assert len(s) == 120 and "6 missing second(s)" in s.source
    with pytest.raises(UnknownNameError):
        tr.gophers_bandwidth(shared_data, "car_1", carrier="att")


def test_gophers_rtt_and_carbon(shared_data):
    r = tr.gophers_rtt(shared_data, 3, carrier="sprint")
    assert r.values.tolist() == [40.0, 37.8, 39.9]  # the file's first Sprint rows
    c = tr.carbon_series(shared_data / "vessim-carbon-signal" / "watttime_example.csv")
    # 425.01605069 lbs/MWh × 0.45359237 = 192.78 g/kWh (the first slot)
    assert c.values[0] == pytest.approx(425.01605069 * 0.45359237, rel=1e-12)
    assert len(c) == 8928
