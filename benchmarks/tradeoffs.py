"""Accuracy-versus-cost trade-offs of compression, early exit and cascades on scikit-learn's digits.

Trains every model from scratch (fixed splits and seeds), chooses thresholds on the validation
split, reports on the test split, measures latency on this CPU, and prints the tables followed by
one JSON object as the last line.

Targets (issue 6): int8 weights ≥ 3.5× smaller with ≤ 1 point accuracy loss; early exit ≥ 2× fewer
expected FLOPs at ≤ 1 point loss versus the full network; a cascade at least as good.

Then projects every batch-1 variant onto a microcontroller board we do not own, through cost
models fitted on MLPerf Tiny's published results of that board (``../shared/data/mlperf-tiny``,
the four benchmark models given their zoo twins' FLOPs), prints the leave-one-benchmark-out
error of those models, and the roofline lower bounds of the variants on catalog devices without
measurements. Without ``../shared/data`` it says so and skips the board projection.

Usage::

    .venv/bin/python benchmarks/tradeoffs.py [--store data/runs] [--meter none] [--threads 1]
        [--board stm32l4r5zi] [--shared-data ../shared/data]

Latency figures on a shared machine are noisy; FLOPs, bytes and accuracies are not.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import polars as pl

from workbench import datasets
from workbench.costmodels.twins import dataset_twins, with_zoo_features
from workbench.costmodels.validation import evaluate_benchmark_out
from workbench.costmodels.workflow import fit_from_rows
from workbench.measure.profiler import ProfileSettings
from workbench.strategies import load_digits_splits, run_cascade, run_compression, run_early_exit
from workbench.strategies.projection import project
from workbench.strategies.roofline import roofline_bounds

ROOFLINE_DEVICES = ("pixel-4", "jetson-orin-nano-8gb", "a100-sxm4-40gb")
"""Catalog devices without measurements here: roofline lower bounds only."""


def _shared_data(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    return Path(os.environ.get("WORKBENCH_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def board_projection(rows: pl.DataFrame, layers: pl.DataFrame, board: str, data: Path, names: dict) -> dict:
    """Fit latency and energy models of ``board`` on MLPerf Tiny with zoo twins, project the variants.

    ``names``: strategy labels of the figures (chosen thresholds). Returns the JSON figures; prints tables.
    """
    path = data / "mlperf-tiny"
    if not path.is_dir():
        print(f"== projection onto {board}: skipped, MLPerf Tiny data not found at {path} "
              "(pass --shared-data or set WORKBENCH_SHARED_DATA) ==")
        return {"projection_board": None, "projection_skipped": f"no MLPerf Tiny data at {path}"}
    tiny, tiny_layers = with_zoo_features(datasets.load("mlperf-tiny", path), dataset_twins("mlperf-tiny"))
    out: dict = {"projection_board": board}
    print("== leave-one-benchmark-out error of per-board cost models (MLPerf Tiny, mcu boards, 4 models each) ==")
    for target in ("latency_ms", "energy_j"):
        pred, table = evaluate_benchmark_out(tiny, tiny_layers, target=target, kinds=("flops", "loglinear-flops"))
        overall = table[table["device_name"] == "all"].set_index("kind")
        here = table[table["device_name"] == board].set_index("kind")
        print(f"{target}: boards={pred['device_name'].nunique()}")
        print(table[table["device_name"].isin(["all", board])].to_string(
            index=False, float_format=lambda v: f"{v:.3g}"))
        for kind in ("flops", "loglinear-flops"):
            k = kind.replace("-", "_")
            out[f"board_lobo_{target}_{k}_median_ape_all_boards"] = float(overall.loc[kind, "median_ape"])
            if kind in here.index:
                out[f"board_lobo_{target}_{k}_mape_{board}"] = float(here.loc[kind, "mape"])
    models = [fit_from_rows(tiny, tiny_layers, target=t, device_name=board, kind="flops", interval=0.9)
              for t in ("latency_ms", "energy_j")]
    P = project(rows.filter(pl.col("batch_size") == 1), layers, models)
    print(f"== projected onto {board} (FLOPs-proportional, fitted on its 4 MLPerf Tiny results; predicted, "
          "not measured; 90 % intervals unbounded with 4 rows) ==")
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=40):
        print(P.select("model", "strategy", "dtype", "flops", "accuracy", "latency_ms_p50",
                       (pl.col("energy_j") * 1e6).alias("energy_uj")))

    def val(model_prefix, strategy, col):
        r = P.filter(pl.col("model").str.starts_with(model_prefix) & (pl.col("strategy") == strategy))
        return r[col][0]

    mlp, ee, cas = "digits-mlp-128-64", "digits-early-exit-cnn", "cascade-"
    out.update({
        "projected_mlp_latency_ms": val(mlp, "baseline", "latency_ms_p50"),
        "projected_mlp_energy_uj": val(mlp, "baseline", "energy_j") * 1e6,
        "projected_int8_vs_fp32_latency_ratio": val(mlp, "int8-dynamic", "latency_ms_p50")
        / val(mlp, "baseline", "latency_ms_p50"),
        "projected_pruned_structured_speedup": val(mlp, "baseline", "latency_ms_p50")
        / val(mlp, "prune-structured-0.5", "latency_ms_p50"),
        "projected_cascade_latency_ms": val(cas, names["cascade"], "latency_ms_p50"),
        "projected_cascade_energy_uj": val(cas, names["cascade"], "energy_j") * 1e6,
        "projected_cnn_latency_ms": val("digits-cnn", "baseline", "latency_ms_p50"),
        "projected_cnn_energy_uj": val("digits-cnn", "baseline", "energy_j") * 1e6,
        "projected_early_exit_latency_ms": val(ee, names["early_exit"], "latency_ms_p50"),
        "projected_early_exit_full_latency_ms": val(ee, "baseline", "latency_ms_p50"),
    })
    out["projected_cascade_vs_full_latency_ratio"] = (out["projected_cascade_latency_ms"]
                                                      / out["projected_cnn_latency_ms"])
    out["projected_early_exit_vs_full_latency_ratio"] = (out["projected_early_exit_latency_ms"]
                                                         / out["projected_early_exit_full_latency_ms"])
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=None, help="append the rows to this store (default: none)")
    ap.add_argument("--meter", default="none", help="energy meter (default none; auto uses codecarbon/RAPL)")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads while measuring (default 1)")
    ap.add_argument("--repeats", type=int, default=100, help="timed calls per static variant (default 100)")
    ap.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--board", default="stm32l4r5zi",
                    help="MLPerf Tiny board to project onto (default stm32l4r5zi, the NUCLEO-L4R5ZI)")
    ap.add_argument("--shared-data", default=None, help="public datasets (default ../shared/data)")
    args = ap.parse_args(argv)

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
    all_rows = pl.concat([comp.rows, ee.rows, cas.rows])
    all_layers = pl.concat([x for x in (comp.layers, ee.layers, cas.layers) if x is not None])
    names = {"cascade": f"cascade-t{s['cascade_threshold']:g}",
             "early_exit": f"early-exit-confidence-t{s['early_exit_threshold']:g}"}
    out.update(board_projection(all_rows, all_layers, args.board, _shared_data(args.shared_data), names))
    b = roofline_bounds(all_rows.filter((pl.col("batch_size") == 1) & (pl.col("strategy").is_in(
        ["baseline", "int8-dynamic", "prune-structured-0.5", names["cascade"], names["early_exit"]]))),
        list(ROOFLINE_DEVICES))
    print("== roofline lower bounds from catalog peaks (a bound, not a prediction of measured latency) ==")
    b = b.drop_duplicates(subset=["model", "strategy", "dtype", "device_name"])  # the cascade re-measures its stages
    print(b[["model", "strategy", "dtype", "device_name", "roofline_bound_ms", "limited_by", "note"]].to_string(
        index=False, float_format=lambda v: f"{v:.3g}"))
    base_mlp = b[(b["model"] == "digits-mlp-128-64") & (b["strategy"] == "baseline")]
    out["roofline_bound_mlp_ms"] = {d: float(v) for d, v in zip(base_mlp["device_name"], base_mlp["roofline_bound_ms"],
                                                                 strict=True)}
    out["targets_met"] = {
        "int8": out["int8_size_ratio"] >= 3.5 and out["int8_accuracy_drop_pt"] <= 1.0,
        "early_exit": out["early_exit_flops_reduction"] >= 2.0 and out["early_exit_accuracy_drop_pt"] <= 1.0,
        "cascade": out["cascade_flops_reduction"] >= 2.0 and out["cascade_accuracy_drop_pt"] <= 1.0,
    }
    print(json.dumps(out, default=float))
    return out


if __name__ == "__main__":
    main()
