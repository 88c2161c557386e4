"""Scale-out through workbench.execution: Ray's per-task overhead, a fold evaluation and a sweep on 1 vs 2
workers, identical results on every backend, and rows lost when a fleet node dies mid-task.

Usage::

    .venv/bin/python benchmarks/scaleout.py                 # everything (about 2-3 min on 2 idle cores)
    .venv/bin/python benchmarks/scaleout.py --no-kill       # without the two-node cluster phase

Phases:

1. ``ray_task_overhead_ms``: median wall time of one no-op task through ``map_tasks(backend="ray")`` on a
   local Ray instance of 2 CPUs (submit, schedule, run, fetch), one task at a time.
2. Fold evaluation (the shape of the cost models' leave-one-family-out): a random forest fitted on all groups
   but one and predicting the held-out group, one task per group, on synthetic FLOPs/bytes/latency rows
   (the benchmark must not depend on a measured store). Timed serial, on 2 joblib processes and on 2 Ray
   workers (instances already started; their start-up is reported apart). ``fold_eval_speedup_2workers`` is
   serial ÷ Ray.
3. A sweep: the time-shifting benchmark's forecast draws (:func:`workbench.placement.shifting.shifting_benchmark`)
   on a synthetic 30-day carbon signal, serial / processes / Ray.
4. ``rows_lost_after_node_kill``: a two-node :class:`ray.cluster_utils.Cluster` on this machine, a fleet
   campaign whose ``device:bench-pi`` task is killed with its node (SIGKILL) mid-task, a replacement node
   joining; rows expected minus rows stored.

What bounds the speedup: 2 cores (a speedup of 2 at best), minus the serial part (splitting, pickling the
data to each worker, gathering), minus whatever else runs on the machine (``load_avg_1min`` is reported:
on a machine shared with other jobs the second worker competes with them, not only with the first;
``fold_eval_serial_cpu_share`` is the CPU time the serial run got per second of wall time: 1 on an idle core).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from functools import partial

import numpy as np


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fold_data(n_rows: int, n_groups: int, seed: int = 0):
    """Synthetic cost-model rows: log FLOPs, log bytes, threads → latency [ms] with group offsets."""
    rng = np.random.default_rng(seed)
    groups = np.arange(n_rows) % n_groups
    X = np.column_stack([rng.uniform(5, 10, n_rows), rng.uniform(4, 9, n_rows), rng.integers(1, 5, n_rows)])
    y = 10 ** (X[:, 0] - 7 + 0.2 * X[:, 1] - 1.5) * (1 + 0.1 * groups) / X[:, 2] + rng.lognormal(0, 0.1, n_rows)
    return X, y, groups


def fold(data, n_trees: int, group: int) -> np.ndarray:
    """Predictions for ``group`` by a forest fitted on the other groups (one task)."""
    from sklearn.ensemble import RandomForestRegressor

    X, y, groups = data
    model = RandomForestRegressor(n_estimators=n_trees, random_state=0, n_jobs=1).fit(X[groups != group],
                                                                                        y[groups != group])
    return model.predict(X[groups == group])


def timed(fn, repeats: int) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls [s], and the last result."""
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def sweep_phase(args) -> dict:
    import ray

    from workbench.execution import map_tasks, median_task_overhead_ms, ray_session
    from workbench.placement.shifting import shifting_benchmark
    from workbench.placement.signal import CarbonSignal

    data = fold_data(args.rows, args.groups)
    task, groups = partial(fold, data, args.trees), list(range(args.groups))
    hours = np.arange(30 * 24 * 4) / 4.0
    rng = np.random.default_rng(1)
    sig = CarbonSignal.from_values(300 + 150 * np.cos(2 * np.pi * hours / 24) + rng.normal(0, 10, hours.size),
                                   step_s=900.0, start_s=0.0)
    shift = partial(shifting_benchmark, sig, forecast_error=0.05, repeats=args.draws)
    out = {}
    t0 = time.perf_counter()
    with ray_session(num_cpus=2):
        out["ray_start_s"] = time.perf_counter() - t0
        out["ray_task_overhead_ms"] = median_task_overhead_ms("ray", tasks=args.tasks)
        _log(f"ray: started in {out['ray_start_s']:.1f} s, {out['ray_task_overhead_ms']:.2f} ms per no-op task")
        map_tasks(task, groups[:2], backend="ray")  # warm both workers (imports)
        map_tasks(task, groups[:2], backend="processes", n_jobs=2)
        best = {"serial": np.inf, "processes": np.inf, "ray": np.inf}
        results, cpu_serial = {}, np.inf
        for _ in range(args.repeats):  # interleaved: the machine's other load falls on every backend alike
            for backend in best:
                c0, t0 = time.process_time(), time.perf_counter()
                results[backend] = map_tasks(task, groups, backend=backend, n_jobs=2)
                wall = time.perf_counter() - t0
                if backend == "serial" and wall < best["serial"]:
                    cpu_serial = time.process_time() - c0
                best[backend] = min(best[backend], wall)
        (t_serial, serial), (t_proc, proc) = (best["serial"], results["serial"]), (best["processes"], results["processes"])
        t_ray, on_ray = best["ray"], results["ray"]
        _log(f"folds: serial {t_serial:.2f} s, processes {t_proc:.2f} s, ray {t_ray:.2f} s")
        s_serial, shift_serial = timed(lambda: shift(backend="serial"), 1)
        s_proc, shift_proc = timed(lambda: shift(backend="processes", n_jobs=2), 1)
        s_ray, shift_ray = timed(lambda: shift(backend="ray"), 1)
        _log(f"shifting sweep: serial {s_serial:.2f} s, processes {s_proc:.2f} s, ray {s_ray:.2f} s")
        out["ray_workers"] = int(ray.cluster_resources().get("CPU", 0))
    same_folds = all(a.tobytes() == b.tobytes() == c.tobytes() for a, b, c in zip(serial, proc, on_ray, strict=True))
    out.update({
        "fold_eval_workload": f"random forest ({args.trees} trees), leave one of {args.groups} groups out, "
                              f"{args.rows} synthetic rows",
        "fold_eval_serial_s": t_serial, "fold_eval_serial_cpu_s": cpu_serial,
        "fold_eval_serial_cpu_share": cpu_serial / t_serial, "fold_eval_processes_s": t_proc, "fold_eval_ray_s": t_ray,
        "fold_eval_speedup_2workers": t_serial / t_ray, "fold_eval_speedup_2processes": t_serial / t_proc,
        "shifting_sweep_draws": 2 * args.draws, "shifting_sweep_serial_s": s_serial,
        "shifting_sweep_speedup_2processes": s_serial / s_proc, "shifting_sweep_speedup_2ray": s_serial / s_ray,
        "identical_results": bool(same_folds and shift_serial == shift_proc == shift_ray),
    })
    return out


def _stall_first(marker: str, resource: str, t):
    from workbench.measure.fleet import profile_on_node

    if t.resource == resource and not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(600)
    return profile_on_node(t)


def kill_phase() -> dict:
    import ray
    from ray.cluster_utils import Cluster

    from workbench.measure.fleet import profile_fleet
    from workbench.measure.profiler import ProfileSettings
    from workbench.store import Store

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    pi, jetson = "device:bench-pi", "device:bench-jetson"
    tmp = tempfile.mkdtemp(prefix="wbsc", dir="/tmp")
    marker = os.path.join(tmp, "started")
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": False, "temp_dir": os.path.join(tmp, "r"),
        "_system_config": {"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000,
                           "health_check_failure_threshold": 3}})
    try:
        doomed = cluster.add_node(num_cpus=1, resources={pi: 1})
        cluster.add_node(num_cpus=1, resources={jetson: 1})
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        store = Store(os.path.join(tmp, "runs"))
        settings = ProfileSettings(repeats=3, warmup=1, layer_repeats=1, normalise="none", energy_window_s=0.0,
                                   threads=1)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            fut = pool.submit(profile_fleet, ["mlp", "lenet"], [pi, jetson], settings=settings, meter="none",
                              store=store, task=partial(_stall_first, marker, pi), lost_after_s=60)
            while not os.path.exists(marker) and not fut.done():
                time.sleep(0.05)
            cluster.remove_node(doomed, allow_graceful=False)
            cluster.add_node(num_cpus=1, resources={pi: 1})
            run = fut.result(timeout=300)
        expected = 4  # 2 models x 2 devices, one row each
        stored = store.read().height
        _log(f"kill: {run.summary().select('resource', 'model', 'status', 'node_id')}")
        return {"rows_expected_after_node_kill": expected, "rows_lost_after_node_kill": expected - stored,
                "tasks_failed_after_node_kill": len(run.failed)}
    finally:
        ray.shutdown()
        cluster.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=4000, help="synthetic rows of the fold evaluation")
    ap.add_argument("--groups", type=int, default=8, help="groups (folds)")
    ap.add_argument("--trees", type=int, default=60, help="trees per forest")
    ap.add_argument("--draws", type=int, default=8, help="forecast draws per setting of the shifting sweep")
    ap.add_argument("--tasks", type=int, default=50, help="no-op tasks timed for the overhead")
    ap.add_argument("--repeats", type=int, default=3, help="timed rounds of the backends (best is reported)")
    ap.add_argument("--no-kill", action="store_true", help="skip the two-node cluster phase")
    args = ap.parse_args()
    out = {"cores": os.cpu_count(), "load_avg_1min_before": os.getloadavg()[0]}
    out.update(sweep_phase(args))
    if not args.no_kill:
        out.update(kill_phase())
    out["load_avg_1min_after"] = os.getloadavg()[0]
    out["bound"] = ("2 cores: speedup <= 2 minus the serial part (data pickled to each worker, results gathered) "
                    "and minus other processes competing for the same cores (see load_avg_1min)")
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
