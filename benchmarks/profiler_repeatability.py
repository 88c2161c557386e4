"""Repeatability of the profiler: the same models profiled in separate sessions (processes), quiet and contended.

Each session profiles :data:`MODELS` once (one intra-op thread by default), the models timed together in
blocks interleaved with a reference workload (:mod:`workbench.measure.interleaved`). Every row records the
wall-clock median (``latency_ms_p50``, raw), the thread-CPU-time median (``latency_ms_cpu_p50``, raw), the
robust figure ``latency_ms_norm`` (``--normalise envelope``, the default: the fastest call on the thread's
CPU clock) and, in ``config_json["latency"]``, the reference-normalised median and the quantiles of the
calls, so that one run compares every estimator on the same calls. The across-session coefficient of
variation of each model's figure is computed per figure, and its median over the models reported.

``--contend`` runs the sessions twice: quietly (as the machine is), then while the benchmark's own
competing load runs: a CPU-bound process pinned to the first core and a memory-streaming process
(copies of 128 MiB) pinned to the last, each switched on and off (SIGSTOP / SIGCONT) in phases of
2–5 s drawn from a seeded generator, so that the noise is reproducible instead of depending on the hour.
``--normalise duet`` runs the sessions in duet mode instead (:mod:`workbench.measure.duet`).

The last line is one JSON object: ``median_cv`` (quiet, ``latency_ms_norm``; target ≤ 0.03),
``median_cv_raw`` (quiet, wall clock), ``median_cv_cpu`` (quiet, thread CPU time), ``median_cv_envelope``
and ``median_cv_reference`` (the two estimators), ``median_cv_quantiles`` (the fastest call ``q0`` and the
1st, 5th and 25th percentiles); the same with ``_contended`` under contention; ``remeasure_within10`` (the
share of pairs of contended sessions whose ``latency_ms_norm`` for a model agree within ±10 %; target
≥ 0.95) with ``_raw``, ``_cpu``, ``_reference`` and ``_quantiles`` beside it; ``contended_blocks``
(blocks re-run or down-weighted over the sessions); ``host_drift_cv`` (the CV of the medians of
consecutive blocks of calls of one model inside one process, on the wall clock: where it is far above
0.03 the host itself drifts); the load average before the run and the settings. Figures, not timed tests.

Usage: python benchmarks/profiler_repeatability.py [--sessions 5] [--repeats 100] [--threads 1] [--contend]
       [--normalise envelope|reference|duet|none]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import polars as pl

MODELS = ["vgg", "mobilenetv1", "mobilenetv2", "gru", "vit", "resnet-w1-d2-r32"]  # each ≥ 1 ms here
FIGURES = {"norm": "latency_ms_norm", "raw": "latency_ms_p50", "cpu": "latency_ms_cpu_p50",
           "envelope": "envelope_ms", "reference": "norm_ms_p50",
           **{f"q{q}": f"q{q}" for q in (0, 1, 5, 25)}}
"""Figure → its column, or its key in ``config_json["latency"]`` (both estimators are recorded on every row)."""

_CPU_HOG = "while True: pass"
_MEM_STREAM = ("import numpy as np\na = np.ones(32 * 1024 * 1024, dtype=np.float32)\nb = np.empty_like(a)\n"
               "while True: np.copyto(b, a)")


def session(store: str, repeats: int, threads: int | None, normalise: str) -> None:
    from workbench.measure import profiler

    profiler.profile(MODELS, repeats=repeats, warmup=20, threads=threads, meter="none", store=store,
                     layer_repeats=1, normalise=normalise)


@contextlib.contextmanager
def contention(seed: int = 0, phase_s: tuple[float, float] = (2.0, 5.0)):
    """A CPU-bound and a memory-streaming process, each switched on and off in seeded phases, while in the block.

    Yields a list that receives ``(time_s, name, on)`` for every switch.
    """
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    procs = {"cpu": subprocess.Popen([sys.executable, "-c", _CPU_HOG]),
             "memory": subprocess.Popen([sys.executable, "-c", _MEM_STREAM])}
    if len(cores) >= 2:
        os.sched_setaffinity(procs["cpu"].pid, {cores[0]})
        os.sched_setaffinity(procs["memory"].pid, {cores[-1]})
    log: list[tuple[float, str, bool]] = []
    stop = threading.Event()

    def switch(name: str, rng: np.random.Generator) -> None:
        on = True
        while not stop.is_set():
            os.kill(procs[name].pid, signal.SIGCONT if on else signal.SIGSTOP)
            log.append((time.monotonic(), name, on))
            stop.wait(float(rng.uniform(*phase_s)))
            on = not on

    threads = [threading.Thread(target=switch, args=(n, np.random.default_rng(seed + i)), daemon=True)
               for i, n in enumerate(procs)]
    for t in threads:
        t.start()
    try:
        yield log
    finally:
        stop.set()
        for t in threads:
            t.join()
        for p in procs.values():
            os.kill(p.pid, signal.SIGCONT)
            p.terminate()
            p.wait()


def run_sessions(n: int, repeats: int, threads: int | None, normalise: str, label: str):
    """``n`` sessions, each a fresh process, into one temporary store; the rows."""
    from workbench.store import Store

    with tempfile.TemporaryDirectory() as d:
        for i in range(n):
            cmd = [sys.executable, __file__, "--session-store", d, "--repeats", str(repeats),
                   "--normalise", normalise]
            if threads:
                cmd += ["--threads", str(threads)]
            subprocess.run(cmd, check=True)
            print(f"{label} session {i + 1}/{n} done", file=sys.stderr)
        df = Store(d).read().sort("timestamp_utc")
    details = [json.loads(c).get("latency", {}) for c in df["config_json"].to_list()]
    for d in details:
        d.update({f"q{q}": v for q, v in d.get("quantiles_ms", {}).items()})
    return df.with_columns(pl.Series(k, [d.get(k) for d in details], dtype=pl.Float64)
                           for k in ("envelope_ms", "norm_ms_p50", "q0", "q1", "q5", "q25"))


def summarise(df, label: str) -> dict:
    """Per-figure median over models of the across-session CV; agreement of pairs of sessions within ±10 %."""
    out, agree = {}, {}
    for key, col in FIGURES.items():
        cvs, pairs = [], []
        for model in MODELS:
            v = df.filter(df["model"] == model)[col].drop_nulls().to_numpy()
            if v.size < 2:
                continue
            cvs.append(float(np.std(v) / np.mean(v)))
            pairs += [abs(a / b - 1) < 0.1 for a, b in itertools.combinations(v, 2)]
            if key in ("norm", "raw", "reference", "q0"):
                print(f"{label:9s} {model:18s} {key:4s} per session [ms]: {np.round(v, 3).tolist()}  "
                      f"CV={cvs[-1]:.4f}")
        out[key] = round(float(np.median(cvs)), 4) if cvs else None
        agree[key] = round(float(np.mean(pairs)), 4) if pairs else None
    return {"cv": out, "within10": agree, "contended_blocks": int(df["contended_blocks"].fill_null(0).sum())}


def host_drift(model: str = "gru", blocks: int = 20, calls: int = 150, threads: int | None = 1) -> list[float]:
    """Median wall-clock latency [ms] of ``blocks`` consecutive blocks of ``calls`` calls of one model, in this process."""
    import torch

    from workbench.measure import timing, zoo

    spec = zoo.resolve(model)
    m, x = spec.build(), spec.example_input(1)
    out = []
    with timing.num_threads(threads), torch.inference_mode():
        for _ in range(50):
            m(x)
        for _ in range(blocks):
            ts = []
            for _ in range(calls):
                t0 = time.perf_counter_ns()
                m(x)
                ts.append(time.perf_counter_ns() - t0)
            out.append(float(np.median(ts)) / 1e6)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1: the thread-CPU clock)")
    ap.add_argument("--normalise", default="envelope", choices=("envelope", "reference", "duet", "none"))
    ap.add_argument("--contend", action="store_true", help="also run the sessions under the benchmark's own load")
    ap.add_argument("--seed", type=int, default=0, help="seed of the contention phases")
    ap.add_argument("--session-store", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.session_store:
        session(args.session_store, args.repeats, args.threads, args.normalise)
        return
    t0 = time.monotonic()
    with os.popen("uptime") as fh:
        load_before = fh.read().strip()
    quiet = summarise(run_sessions(args.sessions, args.repeats, args.threads, args.normalise, "quiet"), "quiet")
    drift = np.asarray(host_drift(threads=args.threads or 1))
    print(f"{'host drift (gru, one process)':28s} block medians [ms]: {np.round(drift, 3).tolist()}")
    result = {"median_cv": quiet["cv"]["norm"], "median_cv_raw": quiet["cv"]["raw"],
              "median_cv_cpu": quiet["cv"]["cpu"], "median_cv_envelope": quiet["cv"]["envelope"],
              "median_cv_reference": quiet["cv"]["reference"], "remeasure_within10_quiet": quiet["within10"]["norm"],
              "median_cv_quantiles": {k: quiet["cv"][k] for k in ("q0", "q1", "q5", "q25")},
              "host_drift_cv": round(float(np.std(drift) / np.mean(drift)), 4)}
    if args.contend:
        with contention(args.seed) as log:
            busy = summarise(run_sessions(args.sessions, args.repeats, args.threads, args.normalise, "contended"),
                             "contended")
        result.update({"median_cv_contended": busy["cv"]["norm"], "median_cv_contended_raw": busy["cv"]["raw"],
                       "median_cv_contended_cpu": busy["cv"]["cpu"],
                       "median_cv_contended_envelope": busy["cv"]["envelope"],
                       "median_cv_contended_reference": busy["cv"]["reference"],
                       "remeasure_within10_reference": busy["within10"]["reference"],
                       "median_cv_contended_quantiles": {k: busy["cv"][k] for k in ("q0", "q1", "q5", "q25")},
                       "remeasure_within10_quantiles": {k: busy["within10"][k] for k in ("q0", "q1", "q5", "q25")},
                       "remeasure_within10": busy["within10"]["norm"],
                       "remeasure_within10_raw": busy["within10"]["raw"],
                       "remeasure_within10_cpu": busy["within10"]["cpu"],
                       "contended_blocks": busy["contended_blocks"], "contention_switches": len(log)})
    result.update({"contended_blocks_quiet": quiet["contended_blocks"], "sessions": args.sessions,
                   "repeats": args.repeats, "threads": args.threads, "normalise": args.normalise,
                   "models": len(MODELS), "cores": os.cpu_count(), "load_before": load_before.split("load")[-1],
                   "runtime_s": round(time.monotonic() - t0, 1)})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
