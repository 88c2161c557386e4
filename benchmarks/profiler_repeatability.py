"""Repeatability of the profiler: the same models profiled in five separate sessions (processes).

Prints one line per model and, as the last line, one JSON object
``{"median_cv": ..., "max_cv": ..., "host_drift_cv": ...}``: across-session coefficient of variation of
each model's median latency. Target ≤ 0.03 on an idle machine (a figure printed, not a timed test).

``host_drift_cv`` tells whether the machine is one: the CV of the medians of consecutive blocks of calls
of one model *inside one process* (no new session, no new allocation). Where it is far above 0.03 the
host itself drifts (frequency scaling, a co-scheduled neighbour on the same physical core) and no
profiler can be repeatable across sessions there.

Usage: python benchmarks/profiler_repeatability.py [--sessions 5] [--repeats 100] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

import numpy as np

MODELS = ["vgg", "mobilenetv1", "mobilenetv2", "gru", "vit", "resnet-w1-d2-r32"]  # each ≥ 1 ms here


def session(store: str, repeats: int, threads: int | None) -> None:
    from workbench.measure import profiler

    profiler.profile(MODELS, repeats=repeats, warmup=20, threads=threads, meter="none", store=store,
                     layer_repeats=1)


def host_drift(model: str = "gru", blocks: int = 20, calls: int = 150, threads: int | None = 1) -> list[float]:
    """Median latency [ms] of ``blocks`` consecutive blocks of ``calls`` calls of one model, in this process."""
    import time

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
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--session-store", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.session_store:
        session(args.session_store, args.repeats, args.threads)
        return
    from workbench.store import Store

    with tempfile.TemporaryDirectory() as d:
        for i in range(args.sessions):
            cmd = [sys.executable, __file__, "--session-store", d, "--repeats", str(args.repeats)]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            subprocess.run(cmd, check=True)
            print(f"session {i + 1}/{args.sessions} done", file=sys.stderr)
        df = Store(d).read()
    cvs = []
    for model in MODELS:
        med = df.filter(df["model"] == model)["latency_ms_p50"].to_numpy()
        cv = float(np.std(med) / np.mean(med))
        cvs.append(cv)
        print(f"{model:24s} median latency per session [ms]: {np.round(med, 3).tolist()}  CV={cv:.4f}")
    drift = np.asarray(host_drift(threads=args.threads or 1))
    print(f"{'host drift (gru, one process)':24s} block medians [ms]: {np.round(drift, 3).tolist()}")
    print(json.dumps({"median_cv": round(float(np.median(cvs)), 4), "max_cv": round(float(np.max(cvs)), 4),
                      "host_drift_cv": round(float(np.std(drift) / np.mean(drift)), 4),
                      "sessions": args.sessions, "repeats": args.repeats, "models": len(MODELS)}))


if __name__ == "__main__":
    main()
