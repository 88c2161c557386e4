"""Time shifting: brute-force and hand-computed oracles, forecast error, jobs, and the real series."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import numpy as np
import pytest

from workbench.errors import ImportFormatError, InfeasibleError, ParameterError, UnknownNameError
from workbench.placement.jobs import Job, parse_jobs, periodic_jobs, working_hours_jobs
from workbench.placement.shifting import (
    forecast_with_error,
    job_window,
    schedule_job,
    shift_jobs,
    shifting_benchmark,
)
from workbench.placement.signal import CarbonSignal, load_signal

H = 3600.0


def _sig(values, step_s=H, start_s=0.0):
    return CarbonSignal.from_values(values, step_s=step_s, start_s=start_s)


# ---------------------------------------------------------------- hand-computed cases

def test_hand_computed_two_hour_job():
    # intensities 4, 1, 3, 2, 5 g/kWh in hourly slots; 2 h at 1 kW = 1 kWh per slot, window 0–5 h.
    # baseline: slots 0, 1 → 4 + 1 = 5 g. Non-interruptible windows: 5, 4, 5, 7 → start 1 h, 1 + 3 = 4 g,
    # saving 1 − 4/5 = 0.2. Interruptible: the two cheapest slots 1 and 3 → 1 + 2 = 3 g, saving 0.4.
    s = _sig([4.0, 1.0, 3.0, 2.0, 5.0])
    job = Job("j", release_s=0, duration_s=2 * H, power_w=1000, deadline_s=5 * H)
    r = schedule_job(job, s)
    assert (r.slots.tolist(), r.baseline_g, r.emissions_g) == ([1, 2], 5.0, 4.0)
    assert r.saving == pytest.approx(0.2, abs=1e-12)  # exact arithmetic but for the float division
    assert r.runs(s) == [(H, 3 * H)]
    r = schedule_job(job, s, interruptible=True)
    assert (r.slots.tolist(), r.emissions_g) == ([1, 3], 3.0)
    assert r.saving == pytest.approx(0.4, abs=1e-12)
    assert r.runs(s) == [(H, 2 * H), (3 * H, 4 * H)]
    assert r.energy_kwh == pytest.approx(2.0, rel=1e-12)


def test_hand_computed_partial_slot():
    # 1.5 h at 2 kW on 4, 1, 3, 2, 5: slot weights 1 h and 0.5 h → 2 kWh and 1 kWh.
    # baseline start 0: 2×4 + 1×1 = 9 g. Starts: 0 → 9, 1 → 2×1 + 3 = 5, 2 → 2×3 + 2 = 8, 3 → 2×2 + 5 = 9
    # → start 1 h, 5 g. Interruptible: full hour in slot 1 (2 g), half hour in slot 3 (1 kWh × 2 = 2 g) → 4 g.
    s = _sig([4.0, 1.0, 3.0, 2.0, 5.0])
    job = Job("j", release_s=0, duration_s=1.5 * H, power_w=2000, deadline_s=5 * H)
    r = schedule_job(job, s)
    assert (r.slots.tolist(), r.slot_s.tolist(), r.baseline_g, r.emissions_g) == ([1, 2], [H, 0.5 * H], 9.0, 5.0)
    r = schedule_job(job, s, interruptible=True)
    assert (r.slots.tolist(), r.slot_s.tolist(), r.emissions_g) == ([1, 3], [H, 0.5 * H], 4.0)


def test_window_snaps_to_the_grid():
    # release 0.5 h → slot 1; deadline 4.5 h → end of slot 3: 3 slots for a 3 h job, no choice left.
    s = _sig([1.0, 9.0, 9.0, 9.0, 1.0])
    job = Job("j", release_s=0.5 * H, duration_s=3 * H, power_w=1000, deadline_s=4.5 * H)
    i0, i1, w = job_window(job, s)
    assert (i0, i1, w.tolist()) == (1, 4, [H, H, H])
    assert schedule_job(job, s).slots.tolist() == [1, 2, 3]
    tight = Job("t", release_s=0.5 * H, duration_s=3.5 * H, power_w=1000, deadline_s=4.5 * H)
    with pytest.raises(InfeasibleError, match=r"^infeasible: job 't' needs 3.5 h but its window on the signal's "
                                              r"60-min grid is 3 h.*Fix: move the deadline to 18000 s or later"):
        job_window(tight, s)


def test_job_outside_the_signal():
    s = _sig([1.0, 2.0, 3.0])
    with pytest.raises(ParameterError, match="not inside the signal"):
        schedule_job(Job("j", release_s=0, duration_s=H, power_w=1, deadline_s=4 * H), s)
    with pytest.raises(ParameterError, match="not inside the signal"):
        schedule_job(Job("j", release_s=-H, duration_s=H, power_w=1, deadline_s=2 * H), s)


# ---------------------------------------------------------------- brute-force oracle

def _brute_non_interruptible(c, i0, i1, w):
    return min(float(np.dot(w, c[k:k + len(w)])) for k in range(i0, i1 - len(w) + 1))


def _brute_interruptible(c, i0, i1, w):
    # every set of len(w) slots of the window, and every choice of the slot that runs the shorter remainder
    best = np.inf
    for subset in itertools.combinations(range(i0, i1), len(w)):
        for short in range(len(w)):
            secs = np.full(len(w), w[0])
            secs[short] = w[-1]
            best = min(best, float(np.dot(secs, c[list(subset)])))
    return best


@pytest.mark.parametrize("case", range(60))
def test_scheduler_equals_brute_force_on_small_random_signals(case, global_random_seed):
    rng = np.random.default_rng(global_random_seed * 1000 + case)
    n = int(rng.integers(2, 13))  # ≤ 12 slots
    c = rng.uniform(0, 800, n).round(int(rng.integers(0, 3)))  # rounding makes ties
    s = _sig(c, step_s=900.0)
    n_slots = int(rng.integers(1, n + 1))
    duration = (n_slots - rng.choice([0.0, 0.3, 0.5])) * 900.0
    i0 = int(rng.integers(0, n - n_slots + 1))
    i1 = int(rng.integers(i0 + n_slots, n + 1))
    job = Job("r", release_s=i0 * 900.0, duration_s=duration, power_w=float(rng.uniform(10, 2000)),
              deadline_s=i1 * 900.0)
    _, _, w = job_window(job, s)
    kwh_per_s = job.power_w / 3.6e6
    for interruptible, brute in ((False, _brute_non_interruptible), (True, _brute_interruptible)):
        r = schedule_job(job, s, interruptible=interruptible)
        expected = brute(c, i0, i1, w) * kwh_per_s
        # rtol: sums of ≤ 12 products in a different order
        assert r.emissions_g == pytest.approx(expected, rel=1e-9, abs=1e-12)
        # the reported emissions are Σ energy [kWh] × intensity of the slots the schedule names
        assert r.emissions_g == pytest.approx(float(np.dot(r.slot_s, c[r.slots])) * kwh_per_s, rel=1e-12)
        assert r.slot_s.sum() == pytest.approx(duration, rel=1e-12)
        assert r.slots.min() >= i0 and r.slots.max() < i1 and len(set(r.slots.tolist())) == len(r.slots)
        assert r.saving >= -1e-12  # the oracle never loses to running at once
        if not interruptible:
            assert np.all(np.diff(r.slots) == 1)
            non_int = r.emissions_g
    assert r.emissions_g <= non_int * (1 + 1e-12)  # pausing never costs more


# ---------------------------------------------------------------- forecast error

def test_zero_forecast_error_gives_the_oracle():
    rng = np.random.default_rng(1)
    s = _sig(rng.uniform(50, 500, 200), step_s=300.0)
    jobs = periodic_jobs(s, every_h=1, durations_h=(0.5, 1, 2.25), window_h=6)
    a = shift_jobs(jobs, s, forecast_error=0.0)
    assert a["saving"] == a["oracle_saving"] and a["shifted_g"] == a["oracle_g"]
    fc = forecast_with_error(s, 0.0)
    assert all(schedule_job(j, s, forecast=fc).emissions_g == o.emissions_g for j, o in zip(jobs, a["oracle"],
                                                                                            strict=True))


def test_forecast_decides_but_the_actual_series_scores(global_random_seed):
    rng = np.random.default_rng(global_random_seed)
    s = _sig(rng.uniform(50, 500, 300), step_s=300.0)
    for interruptible in (False, True):
        jobs = periodic_jobs(s, every_h=1, durations_h=(0.5, 1, 3), window_h=8, interruptible=interruptible)
        res = shift_jobs(jobs, s, forecast_error=0.3, seed=global_random_seed)
        for sh, o in zip(res["schedules"], res["oracle"], strict=True):
            # the oracle is optimal on the actual series, so no forecast can beat it; both share the baseline
            assert o.emissions_g <= sh.emissions_g * (1 + 1e-12)
            assert o.baseline_g == sh.baseline_g
            assert sh.emissions_g == pytest.approx(float(np.dot(sh.slot_s, s.g_per_kwh[sh.slots]))
                                                   * sh.job.power_w / 3.6e6, rel=1e-12)
        assert res["oracle_saving"] >= res["saving"] and res["oracle_saving"] > 0
        assert any(sh.slots.tolist() != o.slots.tolist() for sh, o in zip(res["schedules"], res["oracle"],
                                                                          strict=True))


def test_forecast_noise_is_seeded_and_has_the_given_spread():
    s = _sig(np.full(20_000, 200.0), step_s=60.0)
    a, b = forecast_with_error(s, 0.05, seed=3), forecast_with_error(s, 0.05, seed=3)
    assert np.array_equal(a.g_per_kwh, b.g_per_kwh) and "σ=0.05" in a.source
    rel = a.g_per_kwh / 200.0 - 1
    # 20,000 draws: the sample σ is within ~1 % of 0.05 (standard error 0.05/√(2·20000) ≈ 2.5e-4)
    assert rel.std() == pytest.approx(0.05, rel=0.03) and abs(rel.mean()) < 0.002
    m = forecast_with_error(_sig([100.0, 300.0] * 5000, step_s=60.0), 0.05, seed=0, noise="mean")
    assert (m.g_per_kwh - np.tile([100.0, 300.0], 5000)).std() == pytest.approx(0.05 * 200, rel=0.05)
    with pytest.raises(UnknownNameError):
        forecast_with_error(s, 0.05, noise="gaussian")
    with pytest.raises(ParameterError, match="error"):
        forecast_with_error(s, -0.1)
    other = _sig(np.full(10, 200.0), step_s=60.0)
    with pytest.raises(ParameterError, match="grid"):
        schedule_job(Job("j", 0, 60, 1, 600), other, forecast=forecast_with_error(s, 0.05))


# ---------------------------------------------------------------- jobs

def _job(**kw):
    t = {"name": "a", "release": "2023-06-08 09:00", "duration_h": 2, "power_w": 100, "deadline_h": 24} | kw
    return {"jobs": [{k: v for k, v in t.items() if v is not None}]}


def test_job_tables():
    (j,) = parse_jobs(_job())
    assert (j.release_s, j.duration_s, j.power_w, j.deadline_s, j.interruptible) == (
        1_686_214_800.0, 2 * H, 100.0, 1_686_214_800.0 + 24 * H, False)
    (j,) = parse_jobs(_job(power_w=None, energy_kwh=3.0, duration_h=None, duration_s=5400,
                           deadline_h=None, deadline=datetime(2023, 6, 8, 12, tzinfo=timezone.utc),
                           interruptible=True))
    assert (j.power_w, j.deadline_s - j.release_s, j.interruptible) == (2000.0, 3 * H, True)  # 3 kWh / 1.5 h


@pytest.mark.parametrize(("kw", "error", "match"), [
    ({"deadline_h": 1.5}, InfeasibleError, r"^infeasible: job 'a' needs 2 h but its window is 1.5 h.*Fix: move "
                                           r"the deadline at least 0.5 h later"),
    ({"deadline_h": None, "deadline": "2023-06-08 08:00"}, InfeasibleError, "window is -1 h"),
    ({"durations_h": 2}, ImportFormatError, "unknown key 'durations_h'. Did you mean 'duration_h'"),
    ({"deadline": "2023-06-09 09:00"}, ImportFormatError, "exactly one of deadline"),
    ({"duration_s": 60}, ImportFormatError, "exactly one of duration_s and duration_h"),
    ({"power_w": None}, ImportFormatError, "missing power_w or energy_kwh"),
    ({"energy_kwh": 1}, ImportFormatError, "both power_w and energy_kwh"),
    ({"power_w": float("nan")}, ImportFormatError, "power_w must be a finite number"),
    ({"power_w": -3}, ImportFormatError, "power_w must be in"),
    ({"duration_h": "2"}, ImportFormatError, "duration_h must be a number"),
    ({"interruptible": "yes"}, ImportFormatError, "interruptible must be true or false"),
    ({"release": "soon"}, ImportFormatError, "'soon' is neither an ISO 8601 time"),
    ({"release": None}, ImportFormatError, "missing release"),
])
def test_bad_job_tables(kw, error, match):
    with pytest.raises(error, match=match):
        parse_jobs(_job(**kw), source="jobs.toml")


def test_bad_job_files():
    with pytest.raises(ImportFormatError, match="no \\[\\[jobs\\]\\] tables"):
        parse_jobs({"jobs": []})
    with pytest.raises(ImportFormatError, match="used twice"):
        parse_jobs({"jobs": _job()["jobs"] * 2})
    with pytest.raises(ImportFormatError, match="top-level"):
        parse_jobs({"job": []})


def test_working_hours_deadlines():
    # 2023-06-09 is a Friday. From the signal's start (Fri 00:00 UTC, local = UTC): releases 9:00, 13:00 (every
    # 4 h until 17:00). 9:00 + 2 h = 11:00 is in working hours: deadline 11:00, no slack. 13:00 + 6 h = 19:00
    # is after 17:00 on a Friday: deadline Monday 9:00.
    fri = datetime(2023, 6, 9, tzinfo=timezone.utc).timestamp()
    s = CarbonSignal.from_values(np.full(5 * 24, 100.0), step_s=H, start_s=fri, time_kind="datetime")
    jobs = working_hours_jobs(s, every_h=4, durations_h=(2, 6))
    mon9 = datetime(2023, 6, 12, 9, tzinfo=timezone.utc).timestamp()
    assert [(j.release_s - fri, j.deadline_s - fri) for j in jobs[:2]] == [(9 * H, 11 * H), (13 * H, mon9 - fri)]
    assert all(j.deadline_s <= s.end_s for j in jobs)
    # local time 9:00 in UTC−7 is 16:00 UTC
    assert working_hours_jobs(s, utc_offset_h=-7, every_h=4)[0].release_s - fri == 16 * H


def test_periodic_jobs_stay_inside_the_signal():
    s = _sig(np.ones(48))
    jobs = periodic_jobs(s, every_h=6, durations_h=(1, 2), window_h=12)
    assert [j.release_s / H for j in jobs] == [0, 6, 12, 18, 24, 30, 36]
    assert [j.duration_s / H for j in jobs[:3]] == [1, 2, 1]
    assert jobs[-1].deadline_s == s.end_s


# ---------------------------------------------------------------- the real series

PAPER = "Wiesner et al. 2021, ML jobs in working hours, 5 % error: 2.45–5.91 % (non-interruptible), " \
        "5.71–9.03 % (interruptible) over CAL/FR/GER/GB; Germany 5.91 % / 7.93 %"


@pytest.fixture(scope="module")
def series():
    from tests.conftest import SHARED_DATA

    d = SHARED_DATA / "vessim-carbon-signal"
    if not d.is_dir():
        pytest.skip(f"public datasets not found at {d}")
    return {"CAISO": (load_signal(d / "watttime_example.csv"), -7.0),
            "Germany": (load_signal(d / "ger_ci_2020.csv", fill_gaps_up_to_s=900), 0.0)}


@pytest.mark.parametrize("region", ["CAISO", "Germany"])
def test_benchmark_job_set_on_the_real_series(shared_data, series, region):
    signal, _ = series[region]
    b = shifting_benchmark(signal, forecast_error=0.05, repeats=3)
    got = {k: round(100 * v, 2) for k, v in b.items() if k.startswith("shift_saving")}
    msg = f"{region}, {b['n_jobs']} jobs ({b['jobs']}), savings in %: {got}; paper: {PAPER}"
    print(msg)
    ni, it = b["shift_saving_noninterruptible"], b["shift_saving_interruptible"]
    assert 0 < ni <= b["shift_saving_noninterruptible_oracle"] + 1e-12, msg
    assert 0 < it <= b["shift_saving_interruptible_oracle"] + 1e-12, msg
    assert b["shift_saving_noninterruptible_oracle"] <= b["shift_saving_interruptible_oracle"], msg
    # a 24 h window over a daily cycle: well above the paper's working-hours setup, below "everything free"
    assert 0.05 < ni < 0.6 and 0.05 < it < 0.6, msg


@pytest.mark.parametrize("region", ["CAISO", "Germany"])
def test_paper_like_setup_on_the_real_series(shared_data, series, region):
    # The paper's scenario II as its simulator draws it: releases every 30 min in working hours (Mon–Fri
    # 9–17 local), durations 4–89.5 h in 30-min steps (here each once, in a fixed shuffled order), deadline
    # the next working morning, noise N(0, 5 % of the mean) added. Not tuned: the parameters are the paper's.
    signal, offset = series[region]
    durations = np.random.default_rng(0).permutation(np.arange(4, 90, 0.5))
    out = {}
    for flag in (False, True):
        jobs = working_hours_jobs(signal, utc_offset_h=offset, every_h=0.5, durations_h=durations,
                                  interruptible=flag)
        b = shifting_benchmark(signal, jobs=jobs, forecast_error=0.05, repeats=2, noise="mean")
        key = "interruptible" if flag else "noninterruptible"
        out[key], out[f"{key}_oracle"] = b[f"shift_saving_{key}"], b[f"shift_saving_{key}_oracle"]
    msg = (f"{region}, {len(jobs)} jobs, savings in %: { {k: round(100 * v, 2) for k, v in out.items()} }; "
           f"paper: {PAPER}")
    print(msg)
    assert 0 < out["noninterruptible"] <= out["interruptible"], msg
    assert 0.01 < out["noninterruptible"] < 0.2 and 0.01 < out["interruptible"] < 0.2, msg


def test_benchmark_keys_on_a_synthetic_day_cycle():
    # a clean daily cycle (min at 12:00) over 5 days in 15-min slots: the oracle finds the trough
    t = np.arange(5 * 96) / 4.0
    s = _sig(300 + 200 * np.cos(2 * np.pi * (t - 12) / 24 + np.pi), step_s=900.0)
    b = shifting_benchmark(s, forecast_error=0.05, repeats=2)
    assert b["n_jobs"] == 17 and b["jobs"].startswith("one job every 6 h") and b["repeats"] == 2
    for key in ("noninterruptible", "interruptible"):
        assert 0 < b[f"shift_saving_{key}"] <= b[f"shift_saving_{key}_oracle"] + 1e-12
    same = shifting_benchmark(s, forecast_error=0.05, repeats=2)
    assert same == b  # seeded: the same numbers every run
    with pytest.raises(ParameterError, match="repeats"):
        shifting_benchmark(s, repeats=0)
