"""map_tasks: serial and local processes, failures in place, bad input; the Ray backend runs on a real two-node
cluster in ``tests/measure/test_fleet.py`` (one cluster for the suite's Ray tests, to keep their time small)."""

from __future__ import annotations

import socket
from functools import partial

import numpy as np
import pytest

from workbench.errors import ClusterError, ParameterError
from workbench.execution import TaskFailure, check_reachable, map_tasks, ray_session


def _draw(size, seed):
    return np.random.default_rng(seed).normal(size=size)


def _inverse(x):
    return 1.0 / x


def test_serial_and_processes_give_the_same_bits_in_input_order(global_random_seed):
    seeds = [global_random_seed + k for k in (5, 3, 9, 1)]
    serial = map_tasks(partial(_draw, 500), seeds, backend="serial")
    processes = map_tasks(partial(_draw, 500), seeds, backend="processes", n_jobs=2)
    assert [a.tobytes() for a in serial] == [b.tobytes() for b in processes]
    assert serial[0].tobytes() == _draw(500, seeds[0]).tobytes()  # input order, not completion order
    assert map_tasks(abs, [-2, 3, -5]) == [2, 3, 5] and map_tasks(abs, [], backend="processes") == []


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_a_failed_task_raises_or_stands_in_its_place(backend):
    with pytest.raises(ZeroDivisionError):
        map_tasks(_inverse, [1.0, 0.0, 4.0], backend=backend, n_jobs=2)
    out = map_tasks(_inverse, [1.0, 0.0, 4.0], backend=backend, n_jobs=2, errors="return")
    assert out[0] == 1.0 and out[2] == 0.25  # exact: 1/1 and 1/4 are representable
    assert out[1] == TaskFailure(1, "exception", "ZeroDivisionError: float division by zero")


def test_bad_arguments_are_refused_before_anything_runs():
    with pytest.raises(ParameterError, match="'threads' is not one of"):
        map_tasks(abs, [1], backend="threads")
    with pytest.raises(ParameterError, match="n_jobs"):
        map_tasks(abs, [1], backend="processes", n_jobs=0)
    with pytest.raises(ParameterError, match="one per item; got 1 for 2 items"):
        map_tasks(abs, [1, 2], backend="ray", resources=[{"device:x": 1}])
    with pytest.raises(ParameterError, match="retries"):
        map_tasks(abs, [1], retries=-1)
    with pytest.raises(ParameterError, match="errors="):
        map_tasks(abs, [1], errors="ignore")
    with pytest.raises(ParameterError, match="no port"):
        check_reachable("headnode:http")


def test_a_head_that_does_not_answer_is_a_clear_error_at_once():
    with socket.socket() as s:  # a loopback port nobody listens on once this socket closes
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ClusterError, match=rf"no Ray head answers at 127.0.0.1:{port} within 2 s.*nothing was run"):
        with ray_session(f"127.0.0.1:{port}", connect_timeout_s=2):
            pass
    with pytest.raises(ClusterError, match="no Ray head answers"):
        map_tasks(abs, [1], backend="ray", address=f"127.0.0.1:{port}")


def test_a_ray_version_mismatch_is_one_clear_error(monkeypatch):
    ray = pytest.importorskip("ray")

    def init(**kwargs):  # what ray.init raises when the head runs another Ray or Python (check_version_info)
        raise RuntimeError("Version mismatch: The cluster was started with:\n    Ray: 2.55.1\n    Python: 3.11.2\n"
                           "This process on node 192.0.2.2 was started with:\n    Ray: 2.55.1\n    Python: 3.11.7\n")

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    with pytest.raises(ClusterError, match=r"a Ray version mismatch at auto: RuntimeError: Version mismatch: .*"
                                           r"Python: 3\.11\.2 .*Fix: install the same Ray and Python on every node"):
        map_tasks(abs, [1], backend="ray", address="auto")


# ---------------------------------------------------------------- the loops routed through map_tasks

def _day_cycle_signal():
    from workbench.placement.signal import CarbonSignal

    t = np.arange(5 * 96) / 4.0  # 5 days of 15-min slots, minimum at 12:00 each day
    return CarbonSignal.from_values(300 + 200 * np.cos(2 * np.pi * (t - 12) / 24 + np.pi), step_s=900.0)


def test_the_shifting_benchmark_draws_give_the_same_numbers_on_local_processes():
    from workbench.placement.shifting import shifting_benchmark

    signal = _day_cycle_signal()
    serial = shifting_benchmark(signal, forecast_error=0.05, repeats=3)
    assert shifting_benchmark(signal, forecast_error=0.05, repeats=3, backend="processes", n_jobs=2) == serial


def test_adaptive_policies_replayed_in_processes_give_the_same_intervals_and_stay_fitted():
    from workbench.adaptive import CarbonMPC, Predictive, make_scenario, run
    from workbench.adaptive.space import space_from_table

    space = space_from_table([
        {"name": "accurate", "accuracy": 0.95, "device_ms": 10.0, "device_energy_j": 1.0},
        {"name": "cheap", "accuracy": 0.85, "device_ms": 5.0, "device_energy_j": 0.2}])
    sc = make_scenario(step_s=1.0, bandwidth_mbps=50.0, rtt_ms=20.0, requests=[10] * 80, latency_target_ms=60.0,
                       carbon_g_per_kwh=np.tile([100.0, 100.0, 500.0, 500.0], 20))

    def policies():
        return [CarbonMPC(accuracy_target=0.9, horizon=4, period_s=4.0),
                Predictive(objective="carbon_g", accuracy_floor=0.9)]

    fitted_here = policies()
    serial = run(space, sc, fitted_here, objective="carbon_g", oracle=False)
    here = policies()
    elsewhere = run(space, sc, here, objective="carbon_g", oracle=False, backend="processes", n_jobs=2)
    assert elsewhere.intervals.equals(serial.intervals) and elsewhere.summary.equals(serial.summary)
    assert elsewhere.chosen == serial.chosen
    for p, q in zip(here, fitted_here, strict=True):  # the caller's policies are left fitted, as serially
        assert hasattr(p, "space_") and p.allowed_.tolist() == q.allowed_.tolist()
