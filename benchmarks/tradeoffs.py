"""Accuracy-versus-cost trade-offs of compression, early exit and cascades on scikit-learn's digits.

Trains every model from scratch (fixed splits and seeds), chooses thresholds on the validation
split, reports on the test split, measures latency on this CPU, and prints the tables followed by
one JSON object as the last line.

Targets (issue 6): int8 weights ≥ 3.5× smaller with ≤ 1 point accuracy loss; early exit ≥ 2× fewer
expected FLOPs at ≤ 1 point loss versus the full network; a cascade at least as good.

Usage::

    .venv/bin/python benchmarks/tradeoffs.py [--store data/runs] [--meter none] [--threads 1]

Latency figures on a shared machine are noisy; FLOPs, bytes and accuracies are not.
"""

from __future__ import annotations

import argparse
import json
import time

import polars as pl


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=None, help="append the rows to this store (default: none)")
    ap.add_argument("--meter", default="none", help="energy meter (default none; auto uses codecarbon/RAPL)")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads while measuring (default 1)")
    ap.add_argument("--repeats", type=int, default=100, help="timed calls per static variant (default 100)")
    ap.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from workbench.measure.profiler import ProfileSettings
    from workbench.strategies import load_digits_splits, run_cascade, run_compression, run_early_exit

    splits = load_digits_splits(seed=0)
    t0 = time.perf_counter()
    common = dict(splits=splits, meter=args.meter, store=args.store, epochs=args.epochs, seed=args.seed)
    settings = ProfileSettings(batch_sizes=(1, 256), repeats=args.repeats, warmup=20, threads=args.threads,
                               energy_window_s=1.0 if args.meter != "none" else 0.0, layer_repeats=3)
    comp = run_compression("mlp", settings=settings, **common)
    dyn_settings = ProfileSettings(batch_sizes=(1,), repeats=args.repeats, warmup=20, threads=args.threads,
                                   energy_window_s=settings.energy_window_s, layer_repeats=3)
    ee = run_early_exit(settings=dyn_settings, **common)
    cas = run_cascade(settings=dyn_settings, **common)
    wall_s = time.perf_counter() - t0

    cols = ["model", "strategy", "dtype", "batch_size", "params", "flops", "weight_bytes", "latency_ms_p50",
            "accuracy"]
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=40):
        print("== compression (digits-mlp-128-64; test split) ==")
        print(comp.rows.select(cols))
        sweep_cols = ["threshold", "accuracy", "expected_flops", "flops_reduction", "exit_rates", "pareto",
                      "latency_ms_p50", "expected_latency_ms"]
        print("== early exit (confidence; test split, threshold chosen on validation) ==")
        print(ee.test_sweep.select(sweep_cols))
        print("== cascade mlp → cnn (confidence; test split, threshold chosen on validation) ==")
        print(cas.test_sweep.select(sweep_cols))

    def lat(strategy, b):
        r = comp.rows.filter((pl.col("strategy") == strategy) & (pl.col("batch_size") == b)
                             & (pl.col("model") == "digits-mlp-128-64"))
        return r["latency_ms_p50"][0]

    s = {**comp.summary, **ee.summary, **cas.summary}
    out = {
        "int8_size_ratio": s["int8_size_ratio"],
        "int8_accuracy_drop_pt": s["int8_accuracy_drop_pt"],
        "int8_static_size_ratio": s["int8_static_size_ratio"],
        "int8_static_accuracy_drop_pt": s["int8_static_accuracy_drop_pt"],
        "int8_dynamic_speedup_b1": lat("baseline", 1) / lat("int8-dynamic", 1),
        "int8_static_speedup_b1": lat("baseline", 1) / lat("int8-static", 1),
        "pruned_structured_speedup": s["pruned_structured_speedup"],
        "pruned_structured_speedup_b256": lat("baseline", 256) / lat("prune-structured-0.5", 256),
        "pruned_structured_params_ratio": s["pruned_structured_params_ratio"],
        "pruned_structured_accuracy_drop_pt": s["pruned_structured_accuracy_drop_pt"],
        "pruned_unstructured_speedup": s["pruned_unstructured_speedup"],
        "pruned_unstructured_speedup_b256": lat("baseline", 256) / lat("prune-unstructured-0.5", 256),
        "pruned_unstructured_accuracy_drop_pt": s["pruned_unstructured_accuracy_drop_pt"],
        "distilled_accuracy_gain_pt": s["distilled_accuracy_gain_pt"],
        "student_alone_accuracy": s["student_alone_accuracy"],
        "student_distilled_accuracy": s["student_distilled_accuracy"],
        "early_exit_threshold": s["early_exit_threshold"],
        "early_exit_flops_reduction": s["early_exit_flops_reduction"],
        "early_exit_accuracy_drop_pt": s["early_exit_accuracy_drop_pt"],
        "early_exit_exit_rates": s["early_exit_exit_rates"],
        "early_exit_latency_speedup": s["early_exit_latency_speedup"],
        "cascade_threshold": s["cascade_threshold"],
        "cascade_flops_reduction": s["cascade_flops_reduction"],
        "cascade_accuracy_drop_pt": s["cascade_accuracy_drop_pt"],
        "cascade_exit_rates": s["cascade_exit_rates"],
        "cascade_latency_speedup": s["cascade_latency_speedup"],
        "threads": args.threads,
        "wall_s": wall_s,
    }
    out["targets_met"] = {
        "int8": out["int8_size_ratio"] >= 3.5 and out["int8_accuracy_drop_pt"] <= 1.0,
        "early_exit": out["early_exit_flops_reduction"] >= 2.0 and out["early_exit_accuracy_drop_pt"] <= 1.0,
        "cascade": out["cascade_flops_reduction"] >= 2.0 and out["cascade_accuracy_drop_pt"] <= 1.0,
    }
    print(json.dumps(out, default=float))
    return out


if __name__ == "__main__":
    main()
