"""Accuracy of the cost models: own-CPU leave-one-family-out, few-shot on nn-Meter, MLPerf Tiny energy.

Usage::

    .venv/bin/python benchmarks/costmodel_accuracy.py              # profile what is missing, then evaluate
    .venv/bin/python benchmarks/costmodel_accuracy.py --profile-only
    .venv/bin/python benchmarks/costmodel_accuracy.py --no-profile  # evaluate what the cache holds

Profiling writes to a store under ``data/cache/costmodel_accuracy/`` (gitignored), in batches of
``--batch`` models (one run file per batch), so an interruption loses at most one batch and a rerun
only profiles what is missing. Every grid variant of every zoo family is profiled at batch size 1,
fp32, one intra-op thread (one thread keeps the measurement stable on a shared machine), in
``--passes`` passes at different times; the cost models train on the *minimum over passes* of the
per-pass median latency, because contention from other processes only ever adds time.

The last line printed is one JSON object with the figures (see ``docs/costmodels.md``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

CACHE = Path("data/cache/costmodel_accuracy")


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ profiling
def profile_missing(store_dir: Path, *, passes: int, batch: int, repeats: int, warmup: int) -> None:
    """Profile every zoo grid variant until each has ``passes`` measurements in the store."""
    import polars as pl

    from workbench.measure import profiler, zoo
    from workbench.store import Store

    store = Store(store_dir)
    names = zoo.grid_names()
    for p in range(passes):
        df = store.read()
        done = df.group_by("model").len() if df.height else pl.DataFrame({"model": [], "len": []})
        counts = dict(zip(done["model"].to_list(), done["len"].to_list()))
        todo = [n for n in names if counts.get(n, 0) <= p]
        # interleave families (round robin) so a partial pass still covers every family
        by_family: dict[str, list[str]] = {}
        for n in todo:
            by_family.setdefault(zoo.resolve(n).family, []).append(n)
        todo = [n for group in itertools.zip_longest(*by_family.values()) for n in group if n]
        if not todo:
            continue
        _log(f"pass {p + 1}/{passes}: {len(todo)} variant(s) to profile")
        for i in range(0, len(todo), batch):
            chunk = todo[i:i + batch]
            t0 = time.time()
            profiler.profile(chunk, repeats=repeats, warmup=warmup, threads=1, layer_repeats=5,
                             meter="none", store=store)
            _log(f"  {i + len(chunk)}/{len(todo)} ({time.time() - t0:.0f} s for {len(chunk)})")


def unconfirmed(store_dir: Path, tol: float) -> list[str]:
    """Variants whose two lowest per-pass median latencies differ by more than ``tol`` (relative)."""
    import polars as pl

    from workbench.store import Store

    df = Store(store_dir).read().sort("latency_ms_p50")
    g = df.group_by("model").agg(pl.col("latency_ms_p50").head(2).alias("two"))
    out = []
    for model, two in g.iter_rows():
        if len(two) < 2 or two[1] > two[0] * (1 + tol):
            out.append(model)
    return sorted(out)


def confirm(store_dir: Path, *, tol: float, rounds: int, batch: int, repeats: int, warmup: int) -> None:
    """Re-profile variants until their minimum latency is confirmed by a second pass within ``tol``."""
    from workbench.measure import profiler
    from workbench.store import Store

    store = Store(store_dir)
    for r in range(rounds):
        todo = unconfirmed(store_dir, tol)
        _log(f"confirm round {r + 1}/{rounds}: {len(todo)} variant(s) not yet confirmed within {tol:.0%}")
        if not todo:
            return
        for i in range(0, len(todo), batch):
            chunk = todo[i:i + batch]
            profiler.profile(chunk, repeats=repeats, warmup=warmup, threads=1, layer_repeats=5,
                             meter="none", store=store)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--profile-only", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--confirm-tol", type=float, default=0.05,
                    help="re-profile a variant until two passes agree within this relative tolerance")
    ap.add_argument("--confirm-rounds", type=int, default=4)
    args = ap.parse_args(argv)
    store_dir = args.cache / "store"
    if not args.no_profile:
        profile_missing(store_dir, passes=args.passes, batch=args.batch, repeats=args.repeats,
                        warmup=args.warmup)
        confirm(store_dir, tol=args.confirm_tol, rounds=args.confirm_rounds, batch=args.batch,
                repeats=args.repeats, warmup=args.warmup)
    if args.profile_only:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
