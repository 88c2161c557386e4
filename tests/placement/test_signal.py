"""Carbon-intensity signals: reading, unit conversion, and every bad file refused with its line and fix."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.catalog.grid import MAX_PLAUSIBLE_G_PER_KWH
from workbench.errors import ImportFormatError, ParameterError, UnknownNameError
from workbench.placement.signal import G_PER_KWH_PER_LB_PER_MWH, CarbonSignal, load_signal, parse_time

T0 = 1_686_182_400.0  # 2023-06-08 00:00:00 UTC


def _write(tmp_path, text, name="ci.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_reads_a_csv_with_free_header_names(tmp_path):
    p = _write(tmp_path, "when,intensity\n2023-06-08 00:00:00,300\n2023-06-08 00:05:00,100.5\n"
                         "2023-06-08 00:10:00,200\n")
    s = load_signal(p)
    assert s.step_s == 300.0
    assert s.times_s.tolist() == [T0, T0 + 300, T0 + 600]
    assert s.g_per_kwh.tolist() == [300.0, 100.5, 200.0]
    assert (s.unit, s.time_kind, s.filled_slots) == ("g_per_kwh", "datetime", 0)
    assert s.format_time(T0 + 300) == "2023-06-08T00:05:00Z"
    assert s.end_s == T0 + 900


def test_headerless_file_in_seconds(tmp_path):
    s = load_signal(_write(tmp_path, "0,10\n60,20\n120,30\n"))
    assert (s.step_s, s.time_kind, s.times_s.tolist()) == (60.0, "seconds", [0.0, 60.0, 120.0])
    assert s.unit_reason == "no header: gCO2/kWh assumed"


def test_offsets_are_converted_to_utc(tmp_path):
    s = load_signal(_write(tmp_path, "t,g\n2023-06-08T02:00:00+02:00,1\n2023-06-08T01:00:00Z,2\n"))
    assert s.times_s.tolist() == [T0, T0 + 3600]


def test_pounds_per_mwh_are_converted(tmp_path):
    text = "time,lbs_co2_per_mwh\n0,1000\n60,500\n"
    s = load_signal(_write(tmp_path, text))
    # 1000 lb/MWh = 1000 × 453.59237 g / 1000 kWh = 453.59237 g/kWh (exact)
    np.testing.assert_allclose(s.g_per_kwh, [453.59237, 226.796185], rtol=1e-12)
    assert s.unit == "lbs_per_mwh" and "pounds" in s.unit_reason
    # the caller's unit wins over the header
    assert load_signal(_write(tmp_path, text), unit="g_per_kwh").g_per_kwh.tolist() == [1000.0, 500.0]
    assert load_signal(_write(tmp_path, "t,x\n0,1000\n60,500\n"), unit="lbs_per_mwh").unit == "lbs_per_mwh"


def test_watttime_headers_are_read_as_pounds(tmp_path):
    s = load_signal(_write(tmp_path, "oootime,Caiso_North\n0,100\n60,200\n"))
    assert s.unit == "lbs_per_mwh" and "WattTime" in s.unit_reason


def test_gap_filled_by_linear_interpolation_when_allowed(tmp_path):
    p = _write(tmp_path, "t,g\n0,100\n60,200\n240,500\n300,400\n")
    with pytest.raises(ImportFormatError, match=r"line 4: gap of 2 missing slot\(s\).*fill_gaps_up_to_s=120"):
        load_signal(p)
    with pytest.raises(ImportFormatError, match="gap"):
        load_signal(p, fill_gaps_up_to_s=60)  # the gap is 120 s long
    s = load_signal(p, fill_gaps_up_to_s=120)
    assert s.times_s.tolist() == [0, 60, 120, 180, 240, 300]
    np.testing.assert_allclose(s.g_per_kwh, [100, 200, 300, 400, 500, 400], rtol=1e-12)  # 200 → 500 in 3 steps
    assert s.filled_slots == 2


@pytest.mark.parametrize(("text", "match"), [
    ("t,g\n0,1\n120,2\n60,3\n", r"line 4 has a time before that of line 3.*Fix: sort"),
    ("t,g\n0,1\n60,2\n60,3\n", r"line 4 repeats the time of line 3"),
    ("t,g\n0,1\n60,2\n150,3\n210,4\n", r"line 4: irregular step of 90 s.*step is 60 s"),
    ("t,g\n0,1\n60,nan\n120,3\n", r"line 3: intensity nan is not a finite number"),
    ("t,g\n0,1\n60,inf\n", r"line 3: intensity inf"),
    ("t,g\n0,1\n60,-5\n", r"line 3: intensity -5 g/kWh is negative"),
    ("t,g\n0,1\n60,2500\n", r"line 3: intensity 2500 g/kWh .* above 2000"),
    ("t,g\n0,1\nyesterday,2\n", r"line 3: 'yesterday' is neither an ISO 8601 time"),
    ("t,g\n0,1\n60,lots\n", r"line 3: intensity 'lots' is not a number"),
    ("t,g\n0,1\n60\n", r"line 3: 1 cell\(s\)"),
    ("t,g\n0,1\n", r"1 data rows"),
    ("t,g\n", r"0 data rows"),
    ("t,g\n0,1\n2023-06-08 00:00,2\n", r"mixes ISO times and numbers"),
])
def test_bad_files_are_refused_naming_the_line(tmp_path, text, match):
    with pytest.raises(ImportFormatError, match=match):
        load_signal(_write(tmp_path, text))


def test_implausible_values_can_be_allowed(tmp_path):
    p = _write(tmp_path, "t,g\n0,1\n60,2500\n")
    assert load_signal(p, allow_implausible=True).g_per_kwh.max() == 2500 > MAX_PLAUSIBLE_G_PER_KWH


def test_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(ImportFormatError, match="does not exist"):
        load_signal(tmp_path / "nope.csv")
    with pytest.raises(UnknownNameError, match="lbs_per_mwh"):
        load_signal(_write(tmp_path, "0,1\n60,2\n"), unit="kg")
    with pytest.raises(ParameterError, match="fill_gaps_up_to_s"):
        load_signal(_write(tmp_path, "0,1\n60,2\n"), fill_gaps_up_to_s=-1)


def test_from_values_validates_like_the_reader():
    s = CarbonSignal.from_values([1.0, 2.0, 3.0], step_s=900, start_s=T0, time_kind="datetime")
    assert s.times_s.tolist() == [T0, T0 + 900, T0 + 1800] and s.describe()["n_slots"] == 3
    with pytest.raises(ImportFormatError, match="slot 1: intensity nan"):
        CarbonSignal.from_values([1.0, float("nan")], step_s=60)
    with pytest.raises(ParameterError, match="step_s"):
        CarbonSignal.from_values([1.0, 2.0], step_s=0)


def test_parse_time_kinds():
    assert parse_time("1970-01-01T00:01:00", "t") == (60.0, "datetime")
    assert parse_time(90, "t") == (90.0, "seconds")
    with pytest.raises(ImportFormatError, match="finite"):
        parse_time(float("nan"), "t")


def test_caiso_north_file(shared_data):
    path = shared_data / "vessim-carbon-signal" / "watttime_example.csv"
    s = load_signal(path)
    assert (len(s), s.step_s, s.unit, s.filled_slots) == (8928, 300.0, "lbs_per_mwh", 0)
    assert s.format_time(s.times_s[0]) == "2023-06-08T00:00:00Z"
    # first row: 425.01605069 lbs/MWh × 0.45359237 = 192.78 g/kWh
    assert s.g_per_kwh[0] == pytest.approx(425.01605069 * G_PER_KWH_PER_LB_PER_MWH, rel=1e-12)


def test_germany_2020_file_has_two_missing_slots(shared_data):
    path = shared_data / "vessim-carbon-signal" / "ger_ci_2020.csv"
    with pytest.raises(ImportFormatError, match=r"line 35135: gap of 1 missing slot.*2 gap\(s\) in all"):
        load_signal(path)
    s = load_signal(path, fill_gaps_up_to_s=900)
    assert (len(s), s.step_s, s.unit, s.filled_slots) == (37149, 900.0, "g_per_kwh", 2)
    i = int(np.flatnonzero(s.times_s == parse_time("2020-12-19 23:15", "t")[0])[0])
    # the filled slot is the mean of its neighbours (linear interpolation at the midpoint)
    assert s.g_per_kwh[i] == pytest.approx((s.g_per_kwh[i - 1] + s.g_per_kwh[i + 1]) / 2, rel=1e-12)
