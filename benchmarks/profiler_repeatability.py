"""Repeatability of the profiler: the same models profiled in five separate sessions (processes).

Prints one line per model and, as the last line, one JSON object
``{"median_cv": ..., "max_cv": ...}``: across-session coefficient of variation of each model's
median latency. Target ≤ 0.03 on an idle machine (a figure printed, not a timed test).

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
    print(json.dumps({"median_cv": round(float(np.median(cvs)), 4), "max_cv": round(float(np.max(cvs)), 4),
                      "sessions": args.sessions, "repeats": args.repeats, "models": len(MODELS)}))


if __name__ == "__main__":
    main()
