"""Fleet profiling on a real Ray cluster: two nodes on this machine, each carrying another device resource.

One module-scoped :class:`ray.cluster_utils.Cluster` (a head without CPUs, a ``device:test-pi`` node and a
``device:test-jetson`` node of one CPU each, on this machine's own address, no dashboard) serves every test here, including
the Ray backend of :func:`workbench.execution.map_tasks` (its other backends are in ``tests/test_execution.py``).
Nodes are killed with SIGKILL in the middle of a task, as a power cut would.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import polars as pl
import pytest

from tests.test_execution import _day_cycle_signal
from workbench.errors import ClusterError, ParameterError
from workbench.execution import map_tasks
from workbench.measure.fleet import FleetTask, profile_fleet, profile_on_node, resource_name
from workbench.measure.profiler import ProfileSettings
from workbench.placement.shifting import shifting_benchmark
from workbench.store import Store

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Tip. In future versions of Ray:FutureWarning")]

PI, JETSON = "device:test-pi", "device:test-jetson"
TINY = ProfileSettings(repeats=3, warmup=1, layer_repeats=1, normalise="none", energy_window_s=0.0, threads=1)


@pytest.fixture(scope="module")
def fleet():
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    temp = tempfile.mkdtemp(prefix="wbray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    # node death seen within ~3 s (default ~30 s); generous enough for a loaded 2-core machine
    config = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000, "health_check_failure_threshold": 3}
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": False, "temp_dir": temp, "_system_config": config})
    nodes = {PI: cluster.add_node(num_cpus=1, resources={PI: 1}),
             JETSON: cluster.add_node(num_cpus=1, resources={JETSON: 1})}
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        yield cluster, nodes
    finally:
        ray.shutdown()
        cluster.shutdown()


def _draw(size, seed):
    return np.random.default_rng(seed).normal(size=size)


def test_map_tasks_gives_the_same_bits_on_every_backend(fleet):
    fn = partial(_draw, 1000)
    seeds = list(range(6))
    serial = map_tasks(fn, seeds, backend="serial")  # = processes: tests/test_execution.py
    on_ray = map_tasks(fn, seeds, backend="ray")  # the connection the fixture opened is reused
    for a, c in zip(serial, on_ray, strict=True):
        assert a.tobytes() == c.tobytes()
    assert serial[0].tobytes() != serial[1].tobytes()  # seeded per item, not one stream
    assert map_tasks(fn, seeds[:2], backend="ray", resources=[{PI: 1}, {JETSON: 1}])[1].tobytes() == serial[1].tobytes()
    signal = _day_cycle_signal()  # a routed sweep: the time-shifting benchmark's forecast draws
    assert (shifting_benchmark(signal, forecast_error=0.05, repeats=2, backend="ray")
            == shifting_benchmark(signal, forecast_error=0.05, repeats=2))


def test_each_device_profiles_on_the_node_that_carries_it(fleet, tmp_path):
    cluster, nodes = fleet
    store = Store(tmp_path / "runs")
    run = profile_fleet(["mlp"], on=[PI, "test-jetson"], settings=TINY, meter="none", store=store)
    where = {o.resource: o.node_id for o in run.outcomes}
    assert [o.status for o in run.outcomes] == ["ok", "ok"]
    assert where == {PI: nodes[PI].node_id, JETSON: nodes[JETSON].node_id}
    stored = store.read()
    assert len(store.files()) == 1 and stored.height == 2 and stored["run_id"].n_unique() == 1
    assert sorted(stored["measurement_id"].to_list()) == sorted(run.rows["measurement_id"].to_list())
    recorded = {r["fleet"]["resource"]: r["fleet"]["node_id"] for r in map(_config, stored["config_json"])}
    assert recorded == where
    assert store.read_layers()["measurement_id"].is_in(stored["measurement_id"].implode()).all()
    assert run.summary()["node_id"].to_list() == [nodes[PI].node_id, nodes[JETSON].node_id]


def _config(text):
    import json

    return json.loads(text)


def test_a_resource_no_node_carries_is_named_and_nothing_runs(fleet, tmp_path):
    store = Store(tmp_path / "runs")
    with pytest.raises(ClusterError, match=r"device:raspberry-pi-5.*device:test-jetson.*device:test-pi"):
        profile_fleet(["mlp"], on="raspberry-pi-5", settings=TINY, meter="none", store=store)
    assert store.files() == []
    with pytest.raises(ParameterError, match="empty device resource"):
        resource_name("")


def _stall_first_attempt(resource: str, marker: str):
    """A node task that, on ``resource``, signals through ``marker`` and hangs on its first attempt only."""
    def task(t: FleetTask):
        if t.resource == resource and not os.path.exists(marker):
            with open(marker, "w") as f:
                f.write(str(os.getpid()))
            time.sleep(600)
        return profile_on_node(t)
    return task


def _campaign_killing(marker: str, kill, **kwargs):
    """Run :func:`profile_fleet` in a thread; when its stalled task has started (``marker``), call ``kill()``
    here (Ray starts and stops nodes from the main thread only); return the campaign's result."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(profile_fleet, ["mlp"], **kwargs)
        deadline = time.monotonic() + 120
        while not os.path.exists(marker) and time.monotonic() < deadline and not future.done():
            time.sleep(0.05)
        assert os.path.exists(marker), "the stalled task never started"
        kill()
        return future.result(timeout=180)


def test_a_killed_node_has_its_task_retried_on_a_node_that_joins(fleet, tmp_path):
    cluster, nodes = fleet
    marker, store, joined = str(tmp_path / "pi-started"), Store(tmp_path / "runs"), []
    dead = nodes[PI]

    def kill():
        cluster.remove_node(dead, allow_graceful=False)
        joined.append(cluster.add_node(num_cpus=1, resources={PI: 1}))

    run = _campaign_killing(marker, kill, on=[PI, JETSON], settings=TINY, meter="none", store=store,
                            task=_stall_first_attempt(PI, marker), retries=2, lost_after_s=60)
    nodes[PI] = joined[0]
    assert [o.status for o in run.outcomes] == ["ok", "ok"], run.summary()
    assert run.outcomes[0].node_id == joined[0].node_id != dead.node_id  # the retry ran on the node that joined
    assert store.read().height == 2 and len(store.files()) == 1


def test_a_killed_node_without_a_replacement_is_reported_and_only_what_ran_is_stored(fleet, tmp_path):
    cluster, nodes = fleet
    marker, store = str(tmp_path / "jetson-started"), Store(tmp_path / "runs")
    t0 = time.monotonic()
    run = _campaign_killing(marker, lambda: cluster.remove_node(nodes.pop(JETSON), allow_graceful=False),
                            on=[PI, JETSON], settings=TINY, meter="none", store=store,
                            task=_stall_first_attempt(JETSON, marker), retries=2, lost_after_s=3)
    assert time.monotonic() - t0 < 90  # reported, not waited on for ever
    summary = run.summary()
    assert summary["status"].to_list() == ["ok", "failed"], summary
    assert summary["error"][1].startswith("lost: no alive node has carried ['device:test-jetson']"), summary
    stored = store.read()
    assert stored.height == 1 and stored["measurement_id"].to_list() == run.rows["measurement_id"].to_list()
    assert stored.filter(pl.col("config_json").str.contains(JETSON)).height == 0


def test_the_command_line_profiles_on_the_fleet_and_says_what_ran_where(fleet, tmp_path, capsys):
    from workbench.cli import main

    cluster, nodes = fleet
    store = tmp_path / "runs"
    code = main(["fleet-profile", "--model", "mlp", "--on", PI, "--ray", cluster.address, "--repeats", "3",
                 "--warmup", "1", "--threads", "1", "--normalise", "none", "--energy-window", "0", "--meter", "none",
                 "--store", str(store)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert nodes[PI].node_id[:12] in out and "ok" in out and "wrote 1 rows (run " in err
    assert Store(store).read()["model"].to_list() == ["mlp"]
    assert main(["fleet-profile", "--model", "mlp", "--on", "device:phone", "--store", str(store)]) == 2
    assert "no node of the cluster carries ['device:phone']" in capsys.readouterr().err
    assert len(Store(store).files()) == 1  # nothing written by the refused campaign
