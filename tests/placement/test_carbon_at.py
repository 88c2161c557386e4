"""A tier on a carbon-intensity series: the intensity of the slot containing the time, from the file or ``--at``."""

from __future__ import annotations

import json

import pytest

from tests.placement._chain_cases import HAND_TOML
from workbench.cli import main
from workbench.placement.chain import solve
from workbench.placement.chain_semantics import evaluate
from workbench.placement.problem import ProblemError, load_problem
from workbench.placement.problem_checks import intensity_at
from workbench.placement.signal import CarbonSignal

SIGNAL_CSV = "time,g_per_kwh\n2024-01-01 00:00,300\n2024-01-01 01:00,100\n2024-01-01 02:00,50\n"
"""Three hourly slots: 300 from 00:00, 100 from 01:00, 50 from 02:00 to 03:00 (UTC)."""

PHONE_ON_SIGNAL = HAND_TOML.replace('name = "phone"\ncarbon_intensity_g_per_kwh = 300',
                                    'name = "phone"\ncarbon_signal = "ci.csv"\nat = 2024-01-01T01:30:00')


def _write(tmp_path, text, name="p.toml"):
    (tmp_path / "ci.csv").write_text(SIGNAL_CSV, encoding="utf-8")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_intensity_at_takes_the_slot_containing_the_time():
    s = CarbonSignal.from_values([300.0, 100.0, 50.0], step_s=3600)
    assert [intensity_at(s, t)[0] for t in (0.0, 3599.9, 3600.0, 10799.0)] == [300.0, 300.0, 100.0, 50.0]
    for t in (-1.0, 10800.0):
        with pytest.raises(ProblemError, match="outside the signal"):
            intensity_at(s, t)


def test_carbon_uses_the_intensity_at_that_time(tmp_path):
    p = load_problem(_write(tmp_path, PHONE_ON_SIGNAL))
    assert p.tiers[0].carbon_intensity_g_per_kwh == 100.0
    assert "at 2024-01-01T01:30:00Z: slot 2024-01-01T01:00:00Z" in p.tiers[0].carbon_source
    # (phone, edge, cloud) by hand (docs/placement.md), the phone at 100 instead of 300 g/kWh: its layer and transmit
    # energy 0.54 J x 100, edge 1.2 J x 1.5 x 100, cloud 0.4 J x 1.2 x 50, link 1's network energy 7.236 J x 100 (the
    # sender's intensity), link 2's 0.378 J x 100; rtol 1e-12: a handful of products and sums
    by_hand = (0.54 * 100 + 180 + 24 + 7.236 * 100 + 0.378 * 100) / 3.6e6
    assert evaluate(p, ["phone", "edge", "cloud"])["carbon_g"] == pytest.approx(by_hand, rel=1e-12)
    # all on the phone: 1.7 J; at 00:30 the slot is 300 g/kWh, at 02:59 it is 50
    for at, g in (("2024-01-01T00:30:00", 300.0), ("2024-01-01 02:59:59", 50.0)):
        q = load_problem(tmp_path / "p.toml", at=at)
        assert q.tiers[0].carbon_intensity_g_per_kwh == g
        assert evaluate(q, ["phone"] * 3)["carbon_g"] == pytest.approx(1.7 * g / 3.6e6, rel=1e-12)


def test_a_time_at_the_top_of_the_file_and_the_solver_result(tmp_path):
    text = "at = 2024-01-01T02:00:00\n" + PHONE_ON_SIGNAL.replace("at = 2024-01-01T01:30:00\n", "")
    p = load_problem(_write(tmp_path, text))
    r = solve(p, "carbon_g")
    assert r["carbon_by_tier"]["phone"]["carbon_intensity_g_per_kwh"] == 50.0
    assert r["carbon_by_tier"]["edge"] == {"carbon_intensity_g_per_kwh": 100.0,
                                           "carbon_source": "carbon_intensity_g_per_kwh"}
    assert r["assignment"] == ["phone"] * 3 and r["value"] == pytest.approx(1.7 * 50 / 3.6e6, rel=1e-12)


def test_workbench_place_at_overrides_the_file(tmp_path, capsys):
    path = _write(tmp_path, PHONE_ON_SIGNAL)
    assert main(["place", str(path), "--objective", "carbon_g", "--format", "json", "--at",
                 "2024-01-01T00:15:00"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["carbon_by_tier"]["phone"]["carbon_intensity_g_per_kwh"] == 300.0
    assert r["value"] == pytest.approx(1.7 * 300 / 3.6e6, rel=1e-12)


BAD = [
    ("no time", PHONE_ON_SIGNAL.replace("at = 2024-01-01T01:30:00\n", ""), [],
     "names carbon_signal = 'ci.csv' but no time"),
    ("outside", PHONE_ON_SIGNAL.replace("01:30:00", "05:00:00"), [],
     "2024-01-01T05:00:00Z is outside the signal"),
    ("both", PHONE_ON_SIGNAL.replace('carbon_signal = "ci.csv"', 'carbon_signal = "ci.csv"\n'
                                     'carbon_intensity_g_per_kwh = 300'), [],
     "gives both carbon_intensity_g_per_kwh = 300.0 and carbon_signal = 'ci.csv'"),
    ("seconds on a date clock", PHONE_ON_SIGNAL.replace("at = 2024-01-01T01:30:00", "at = 3600"), [],
     "is a seconds but the signal"),
    ("missing file", PHONE_ON_SIGNAL.replace("ci.csv", "nope.csv"), [], "nope.csv does not exist"),
    ("at without a signal", HAND_TOML, ["--at", "2024-01-01T01:00:00"], "no tier names a carbon_signal"),
    ("a tier's at without a signal", HAND_TOML.replace('pue = 1.5', 'pue = 1.5\nat = 2024-01-01T01:00:00'), [],
     "gives at = "),
    ("bad --at", PHONE_ON_SIGNAL, ["--at", "noon"], "'noon' is neither an ISO 8601 time nor a number"),
]


@pytest.mark.parametrize("text, extra, needle", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_signal_input_is_one_error_line_with_exit_2(tmp_path, capsys, text, extra, needle):
    path = _write(tmp_path, text)
    code = main(["place", str(path), *extra])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err


@pytest.mark.parametrize("csv, needle", [
    ("time,g_per_kwh\n2024-01-01 01:00,100\n2024-01-01 00:00,300\n2024-01-01 02:00,50\n", "sort the file by time"),
    ("time,g_per_kwh\n2024-01-01 00:00,300\n2024-01-01 01:00,100\n2024-01-01 03:00,50\n", "gap"),
    ("time,g_per_kwh\n2024-01-01 00:00,300\n2024-01-01 01:00,nan\n2024-01-01 02:00,50\n", "nan"),
])
def test_a_bad_signal_is_one_error_line_naming_the_tier(tmp_path, capsys, csv, needle):
    path = _write(tmp_path, PHONE_ON_SIGNAL)
    (tmp_path / "ci.csv").write_text(csv, encoding="utf-8")
    code = main(["place", str(path)])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1, err
    assert "[[tiers]] #1 ('phone').carbon_signal" in lines[0] and needle in lines[0].lower(), err
