"""ONNX Runtime as the deployment path (issue 17): fp32 and int8 on onnxruntime beside eager PyTorch.

Trains the digits MLP and CNN (scikit-learn's digits, fixed split and seed, as ``tradeoffs.py``) and
builds the zoo's resnet8 (MLPerf Tiny's CIFAR-10 CNN, random weights: no accuracy for it), exports each
with ``torch.onnx.export(dynamo=True)``, quantises with onnxruntime (static int8 QDQ calibrated on 256
training images, or on 256 random inputs for resnet8; dynamic int8 of MatMul/Gemm) and measures every
file on one intra-op thread at batch 1 and 256, then times the eager PyTorch fp32 model the same way.

Latency figures are the median *thread CPU time* per call (``latency_ms_cpu_p50``: with one intra-op
thread onnxruntime and PyTorch both compute on the calling thread, and this clock ignores time spent
waiting for a core on a shared machine); the wall-clock medians are printed beside them. Since the
onnxruntime rows are normalised as torch rows are (issue 21: the variants of a model at a batch size timed
together in blocks interleaved with the reference workload), the same speed-ups are also computed from
``latency_ms_norm`` (``envelope-min/thread-cpu``: the fastest call on the thread's CPU clock), eager PyTorch
timed by the same protocol (:func:`workbench.measure.latency.measure_call`).

Keys of the JSON object on the last line:

- ``ort_int8_speedup_batch1`` / ``ort_int8_speedup_batch256``: fp32 ÷ static-int8 onnxruntime latency,
  geometric mean over the three models (per model in ``ort_int8_speedup_by_model``); target > 1.
- ``ort_int8_accuracy_drop_pt``: largest fp32 − static-int8 onnxruntime test accuracy over the digits
  models [percentage points]; target ≤ 1.
- ``ort_vs_torch_fp32_batch1``: eager PyTorch fp32 ÷ onnxruntime fp32 latency at batch 1, geometric mean
  (> 1: onnxruntime is faster).
- ``ort_int8_dynamic_*``: the same for dynamic int8.
- ``*_norm``: the same speed-ups from the normalised latency ``latency_ms_norm`` (``latency_method`` in
  ``latency_method_norm``); ``*_wall``: from the wall-clock medians ``latency_ms_p50``.
- ``contended_blocks``, ``rows_flagged``: contended blocks over all onnxruntime rows, and how many rows'
  notes carry each flag (``too short``: the reference took over half of the interleaved time, the case of
  the digits models at batch 1, 10–15 µs a call).
- ``load_avg_1min_start`` / ``load_avg_1min_end``: the host's load average when the run started and ended.
- ``tracker_empty_block_overhead_ms``: median wall time of entering and leaving an empty
  ``workbench.measure.tracker.track`` block without a meter or store (row built and validated), over 20 blocks;
  ``tracker_empty_block_recorded_ms``: the wall time such a block's row records (the tracker's share of a
  measured block).

Usage::

    .venv/bin/python benchmarks/runtimes.py [--repeats 200] [--epochs 30] [--store data/runs]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import polars as pl
import torch

from workbench.measure import latency, timing, zoo
from workbench.measure.ort_profile import profile_onnx_module
from workbench.measure.profiler import ProfileSettings
from workbench.measure.tracker import track
from workbench.strategies.data import accuracy, build_model, load_digits_splits, train_classifier

BATCHES = (1, 256)


def _geomean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def torch_latency_ms(model, sample, batch_size: int, repeats: int) -> tuple[float, float, float]:
    """(thread CPU median, wall median, normalised) latency of eager PyTorch fp32 on one intra-op thread [ms]:
    back-to-back calls for the first two (as before issue 21's ORT rows), then the profiler's default
    protocol (``envelope-min/thread-cpu``) for the third."""
    x = sample.repeat(batch_size, *([1] * (sample.dim() - 1)))
    model = model.eval()
    warmup = max(5, repeats // 10)
    settings = ProfileSettings(repeats=repeats, warmup=warmup, threads=1, energy_window_s=0.0)
    with timing.num_threads(1), torch.inference_mode():
        s = timing.time_forward(model, x, repeats=repeats, warmup=warmup, cpu=True)
        _, cols, _, _ = latency.measure_call(lambda: model(x), settings)
    return s.cpu_ms_p50, s.latency_ms_p50, cols["latency_ms_norm"]


def tracker_overhead_ms(blocks: int = 20) -> tuple[float, float]:
    """Medians over empty tracked blocks (no meter, no store) [ms]: the whole ``with`` statement (row built and
    validated on exit), and the wall time the row records (the tracker's own share of a measured block)."""
    outside, inside = [], []
    t = track(name="empty", meter="none")
    for _ in range(blocks):
        t0 = time.perf_counter()
        with t:
            pass
        outside.append((time.perf_counter() - t0) * 1e3)
        inside.append(t.row["latency_ms_p50"])
    return sorted(outside)[len(outside) // 2], sorted(inside)[len(inside) // 2]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200, help="timed calls at batch 1 (batch 256: a tenth)")
    ap.add_argument("--epochs", type=int, default=30, help="training epochs of the digits models (default 30)")
    ap.add_argument("--store", default=None, help="append the onnxruntime rows to this store (default: none)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    load_start = os.getloadavg()[0]
    splits = load_digits_splits(seed=0)
    models = {}
    for name in ("mlp", "cnn"):
        m = train_classifier(build_model(name, 0), splits, epochs=args.epochs, seed=0).eval()
        models[f"digits-{name}"] = (m, splits.test.x[:1], splits.train.x[:256], (splits.test.x, splits.test.y),
                                    accuracy(m, splits.test))
    spec = zoo.resolve("resnet8")
    g = torch.Generator().manual_seed(1)
    models["resnet8"] = (spec.build(), spec.example_input(1), torch.randn((256, *spec.input_shape), generator=g),
                         None, None)
    frames, torch_ms = [], {}
    for name, (m, sample, calib, eval_data, _) in models.items():
        for b in BATCHES:
            reps = args.repeats if b == 1 else max(10, args.repeats // 10)
            settings = ProfileSettings(batch_sizes=(b,), repeats=reps, warmup=max(5, reps // 10), threads=1,
                                       energy_window_s=0.0, layer_repeats=3)  # normalise auto: envelope
            df, _ = profile_onnx_module(m, sample, name=name, family="cnn" if "mlp" not in name else "mlp",
                                        quantisations=("none", "int8-static", "int8-dynamic"), calibration=calib,
                                        eval_data=eval_data if b == 1 else None, settings=settings,
                                        store=args.store)
            frames.append(df)
            torch_ms[(name, b)] = torch_latency_ms(m, sample, b, reps)
    rows = pl.concat(frames)

    def lat(name, strategy, b, col="latency_ms_cpu_p50"):
        r = rows.filter((pl.col("model") == name) & (pl.col("strategy") == strategy) & (pl.col("batch_size") == b))
        return r[col][0]

    table = []
    for name in models:
        for b in BATCHES:
            table.append({"model": name, "batch_size": b, "torch_fp32_ms": torch_ms[(name, b)][0],
                          **{s: lat(name, s, b) for s in ("onnxruntime", "onnxruntime-int8-static",
                                                          "onnxruntime-int8-dynamic")},
                          "torch_fp32_wall_ms": torch_ms[(name, b)][1],
                          "ort_fp32_wall_ms": lat(name, "onnxruntime", b, "latency_ms_p50"),
                          "ort_int8_static_wall_ms": lat(name, "onnxruntime-int8-static", b, "latency_ms_p50"),
                          "torch_fp32_norm_ms": torch_ms[(name, b)][2],
                          "ort_fp32_norm_ms": lat(name, "onnxruntime", b, "latency_ms_norm"),
                          "ort_int8_static_norm_ms": lat(name, "onnxruntime-int8-static", b, "latency_ms_norm"),
                          "contended_blocks": int(rows.filter((pl.col("model") == name) & (pl.col("batch_size") == b))[
                              "contended_blocks"].sum())})
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=220, fmt_str_lengths=40):
        print("== median thread-CPU latency per call [ms], one intra-op thread; wall medians and normalised "
              "(envelope-min/thread-cpu) beside ==")
        print(pl.DataFrame(table))
        print("== accuracy on the digits test split (onnxruntime, batch 1 rows) ==")
        print(rows.filter(pl.col("accuracy").is_not_null()).select("model", "strategy", "accuracy", "weight_bytes"))

    def speedups(quant: str, col: str = "latency_ms_cpu_p50") -> dict:
        return {f"{n}_b{b}": lat(n, "onnxruntime", b, col) / lat(n, f"onnxruntime-{quant}", b, col)
                for n in models for b in BATCHES}

    def by_batch(speed: dict, b: int) -> float:
        return _geomean(v for k, v in speed.items() if k.endswith(f"_b{b}"))

    speed, speed_dyn = speedups("int8-static"), speedups("int8-dynamic")
    speed_norm, speed_dyn_norm = speedups("int8-static", "latency_ms_norm"), speedups("int8-dynamic", "latency_ms_norm")
    speed_wall = speedups("int8-static", "latency_ms_p50")

    def acc(n, s):
        return rows.filter((pl.col("model") == n) & (pl.col("strategy") == s) & pl.col("accuracy").is_not_null())[
            "accuracy"][0]

    digits = [n for n in models if n.startswith("digits")]
    out = {
        "ort_int8_speedup_batch1": _geomean(v for k, v in speed.items() if k.endswith("_b1")),
        "ort_int8_speedup_batch256": _geomean(v for k, v in speed.items() if k.endswith("_b256")),
        "ort_int8_speedup_by_model": speed,
        "ort_int8_accuracy_drop_pt": max((acc(n, "onnxruntime") - acc(n, "onnxruntime-int8-static")) * 100
                                         for n in digits),
        "ort_int8_dynamic_speedup_batch1": _geomean(v for k, v in speed_dyn.items() if k.endswith("_b1")),
        "ort_int8_dynamic_speedup_batch256": _geomean(v for k, v in speed_dyn.items() if k.endswith("_b256")),
        "ort_int8_dynamic_speedup_by_model": speed_dyn,
        "ort_int8_dynamic_accuracy_drop_pt": max((acc(n, "onnxruntime") - acc(n, "onnxruntime-int8-dynamic")) * 100
                                                 for n in digits),
        "ort_vs_torch_fp32_batch1": _geomean(torch_ms[(n, 1)][0] / lat(n, "onnxruntime", 1) for n in models),
        "ort_vs_torch_fp32_by_model": {f"{n}_b{b}": torch_ms[(n, b)][0] / lat(n, "onnxruntime", b)
                                       for n in models for b in BATCHES},
        "ort_int8_speedup_batch1_norm": by_batch(speed_norm, 1),
        "ort_int8_speedup_batch256_norm": by_batch(speed_norm, 256),
        "ort_int8_speedup_by_model_norm": speed_norm,
        "ort_int8_dynamic_speedup_batch1_norm": by_batch(speed_dyn_norm, 1),
        "ort_int8_dynamic_speedup_batch256_norm": by_batch(speed_dyn_norm, 256),
        "ort_int8_speedup_batch1_wall": by_batch(speed_wall, 1),
        "ort_int8_speedup_batch256_wall": by_batch(speed_wall, 256),
        "ort_vs_torch_fp32_batch1_norm": _geomean(torch_ms[(n, 1)][2] / lat(n, "onnxruntime", 1, "latency_ms_norm")
                                                  for n in models),
        "latency_method_norm": sorted(set(rows["latency_method"])),
        "contended_blocks": int(rows["contended_blocks"].sum()),
        "rows_flagged": {flag: int(rows["notes"].fill_null("").str.contains(flag).sum())
                         for flag in ("too short", "contended", "drifted", "unsteady", "off the calling thread")},
        "torch_fp32_accuracy": {n: models[n][4] for n in digits},
        "ort_fp32_accuracy": {n: acc(n, "onnxruntime") for n in digits},
        "latency_clock": "thread-cpu median, one intra-op thread",
        **dict(zip(("tracker_empty_block_overhead_ms", "tracker_empty_block_recorded_ms"), tracker_overhead_ms(),
                   strict=True)),
        "load_avg_1min_start": load_start,
        "load_avg_1min_end": os.getloadavg()[0],
        "wall_s": time.perf_counter() - t0,
    }
    out["targets_met"] = {"ort_int8_speedup": out["ort_int8_speedup_batch1"] > 1
                          and out["ort_int8_speedup_batch256"] > 1,
                          "ort_int8_accuracy": out["ort_int8_accuracy_drop_pt"] <= 1.0}
    print(json.dumps(out, default=float))
    return out


if __name__ == "__main__":
    main()
