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
