"""Cost models for the cloud-GPU device class, from zoo variants profiled on a real NVIDIA GPU.

Usage::

    # on a machine with an NVIDIA GPU (Volta or newer: NVML's total-energy counter)
    python benchmarks/cloud_gpu.py profile --store data/cache/my-gpu --deadline-s 290
    # anywhere: leave-one-family-out on a store (default: the committed H200 measurements)
    python benchmarks/cloud_gpu.py evaluate [--store data/measurements/cloud-gpu-h200]

``profile`` measures every zoo grid variant (families interleaved, so a run stopped by
``--deadline-s`` still covers every family; variants already in the store are skipped, so a rerun
resumes) at batch size 1, fp32, on ``cuda`` with the profiler's protocol: latency over ``--repeats``
synchronised calls, peak memory from ``torch.cuda.max_memory_allocated``, per-layer times with the GPU
synchronised at each layer's hooks, and energy from NVML's total-energy counter over a window of
back-to-back calls (``--energy-window``). Each batch of ``--batch`` variants is one run appended to the
store. It also writes ``device_probe.json`` beside the runs: the GPU's measured fp32 matmul FLOP/s and
copy bandwidth (for the roofline baseline) and how often NVML's energy counter changes.

``evaluate`` prints per-kind leave-one-family-out figures for latency and energy; the last line is one
JSON object (see ``docs/costmodels.md``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

STORE = Path("data/measurements/cloud-gpu-h200")
"""The committed measurements (their README says how they were taken)."""


METHOD = ("measured by benchmarks/cloud_gpu.py profile before profiling: best of 6 fp32 8192^3 matmuls "
          "(FLOP/s) and 1 GiB device-to-device copies (bytes read + written per s); NVML's total-energy "
          "counter polled for 1 s")
"""How the figures of ``device_probe.json`` were obtained (written into the file)."""


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def probe(device: str) -> dict:
    """Measured peaks of the GPU (best of 6) and the update period of NVML's energy counter."""
    import torch

    n = 8192
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    x = torch.empty(256 * 1024 * 1024, device=device)
    y = torch.empty_like(x)
    best_mm = best_cp = float("inf")
    for _ in range(6):
        torch.cuda.synchronize()
        t = time.perf_counter()
        a @ b
        torch.cuda.synchronize()
        best_mm = min(best_mm, time.perf_counter() - t)
        t = time.perf_counter()
        y.copy_(x)
        torch.cuda.synchronize()
        best_cp = min(best_cp, time.perf_counter() - t)
    out = {"method": METHOD, "gpu": torch.cuda.get_device_name(device), "torch": torch.__version__,
           "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
           "peak_flops_per_s": 2 * n**3 / best_mm, "memory_bandwidth_bytes_per_s": 2 * x.numel() * 4 / best_cp}
    del a, b, x, y
    try:
        import pynvml

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(torch.device(device).index or 0)
        changes, last, t0 = [], pynvml.nvmlDeviceGetTotalEnergyConsumption(h), time.perf_counter()
        while time.perf_counter() - t0 < 1.0:
            e = pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
            if e != last:
                changes.append(time.perf_counter() - t0)
                last = e
        gaps = [b - a for a, b in zip(changes, changes[1:], strict=False)]
        out["nvml_energy_updates_per_s"] = len(changes)
        out["nvml_energy_update_period_ms"] = 1e3 * sorted(gaps)[len(gaps) // 2] if gaps else None
        out["driver"] = pynvml.nvmlSystemGetDriverVersion()
        out["power_limit_w"] = pynvml.nvmlDeviceGetPowerManagementLimit(h) / 1e3
    except Exception as exc:  # the probe is informative only; the profiler's own meter errors are clear
        out["nvml_error"] = str(exc)
    _log(f"probe: {json.dumps(out)}")
    return out


def cmd_profile(args) -> int:
    from workbench.measure import profiler, zoo
    from workbench.measure.energy import get_meter
    from workbench.store import Store

    t_start = time.time()
    store = Store(args.store)
    store.check_writable()
    probe_file = Path(args.store) / "device_probe.json"
    if not probe_file.exists():  # written whole or not at all: a half-written probe would break `evaluate`
        tmp = probe_file.with_name(f".{probe_file.name}.tmp")
        tmp.write_text(json.dumps(probe(args.device), indent=1))
        os.replace(tmp, probe_file)
    done = set(store.read()["model"].to_list()) if store.files() else set()
    by_family: dict[str, list[str]] = {}
    for n in zoo.grid_names():
        if n not in done:
            by_family.setdefault(zoo.resolve(n).family, []).append(n)
    todo = [n for group in itertools.zip_longest(*by_family.values()) for n in group if n]
    _log(f"{len(done)} variant(s) in the store, {len(todo)} to profile on {args.device}")
    settings = profiler.ProfileSettings(device=args.device, repeats=args.repeats, warmup=args.warmup,
                                        energy_window_s=args.energy_window, layer_repeats=5)
    meter = get_meter(args.meter)
    for i in range(0, len(todo), args.batch):
        if time.time() - t_start > args.deadline_s:
            _log(f"deadline of {args.deadline_s:.0f} s reached: {len(todo) - i} variant(s) left for a rerun")
            break
        chunk = todo[i:i + args.batch]
        t0 = time.time()
        profiler.profile(chunk, settings=settings, meter=meter, store=store)
        _log(f"  {i + len(chunk)}/{len(todo)} ({time.time() - t0:.1f} s for {len(chunk)})")
    return 0


def cmd_evaluate(args) -> int:
    import numpy as np

    from workbench.costmodels.features import training_data, training_layers
    from workbench.costmodels.kinds import default_kind
    from workbench.costmodels.training import read_training_tables
    from workbench.costmodels.validation import evaluate_family_out
    from workbench.errors import ParameterError
    from workbench.store import Store

    rows, layers = read_training_tables(Store(args.store))
    if rows.height == 0:
        raise ParameterError(f"{args.store} holds no measurements. Fix: --store DIR of a store written by "
                             "`benchmarks/cloud_gpu.py profile` (default: the committed H200 measurements).")
    probe_file = Path(args.store) / "device_probe.json"
    peaks = json.loads(probe_file.read_text()) if probe_file.exists() else {}
    result = {"gpu": peaks.get("gpu"), "rows": rows.height, "families": rows["model_family"].n_unique(),
              "energy_method": sorted(set(rows["energy_method"].to_list()))}
    detail = {}
    fit_layers = training_layers(rows, layers)  # each layer's minimum over a variant's passes
    for target in ("latency_ms", "energy_j"):
        try:
            X, y, meta = training_data(rows, layers, target=target)
        except ParameterError as exc:  # e.g. a store profiled without an energy meter
            result[f"{target}_skipped"] = str(exc)
            continue
        # energy's headline is `workbench fit`'s default kind for it (additive): layerwise, fitted here to
        # energy, sums per-layer *latencies* scaled to the target, so it is reported but not the headline
        headline = args.headline if target == "latency_ms" else default_kind(target)
        # the headline and the FLOPs baseline it is compared with are scored whatever --kinds names
        kinds = list(dict.fromkeys([*args.kinds.split(","), "flops", headline]))
        if target == "latency_ms" and "peak_flops_per_s" in peaks:
            X = X.assign(peak_flops_per_s=peaks["peak_flops_per_s"],
                         memory_bandwidth_bytes_per_s=peaks["memory_bandwidth_bytes_per_s"])
        else:
            kinds = [k for k in kinds if k != "roofline"]
        _, table = evaluate_family_out(X, y, meta, kinds=kinds, interval=0.9, layers=fit_layers, n_jobs=args.jobs)
        overall = table[(table["model_family"] == "all") & (table["device_class"] == "all")].set_index("kind")
        detail[target] = {k: {"mape": float(r["mape"]), "within10": float(r["within10"]),
                              "coverage_90": float(r.get("coverage", np.nan)),
                              "median_interval_factor": float(r.get("median_width_factor", np.nan))}
                          for k, r in overall.iterrows()}
        detail[target + "_per_family"] = {
            r["model_family"]: {"kind": r["kind"], "mape": round(float(r["mape"]), 3),
                                "within10": round(float(r["within10"]), 3)}
            for _, r in table[(table["model_family"] != "all") & (table["kind"] == headline)].iterrows()}
        for k, r in detail[target].items():
            _log(f"  {target:>10} {k:>18}: MAPE {r['mape']:.3f}  within±10% {r['within10']:.3f}  "
                 f"coverage90 {r['coverage_90']:.3f}")
        head = detail[target][headline]
        short = "latency" if target == "latency_ms" else "energy"
        result[f"gpu_{short}_kind"] = headline
        result[f"gpu_{short}_within10"] = round(head["within10"], 4)
        result[f"gpu_{short}_mape"] = round(head["mape"], 4)
        result[f"gpu_{short}_coverage_90"] = round(head["coverage_90"], 4)
        result[f"gpu_{short}_flops_baseline_mape"] = round(detail[target]["flops"]["mape"], 4)
        result[f"gpu_{target}_range"] = [float(y.min()), float(y.max())]
    if args.out:
        Path(args.out).write_text(json.dumps({**result, "detail": detail, "probe": peaks}, indent=1))
    print(json.dumps(result))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("profile", help="profile zoo variants on a CUDA GPU into the store")
    p.add_argument("--store", type=Path, required=True, help="one store per GPU model")
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--meter", default="nvml")
    p.add_argument("--repeats", type=int, default=60)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--energy-window", type=float, default=0.5, metavar="SECONDS")
    p.add_argument("--batch", type=int, default=20, help="variants per run appended to the store")
    p.add_argument("--deadline-s", type=float, default=float("inf"),
                   help="start no new batch after this many seconds (a rerun resumes)")
    p.set_defaults(func=cmd_profile)
    p = sub.add_parser("evaluate", help="leave-one-family-out accuracy on the store's GPU rows")
    p.add_argument("--store", type=Path, default=STORE)
    p.add_argument("--kinds", default="flops,roofline,loglinear,loglinear-layers,gbm,additive,layerwise")
    p.add_argument("--headline", default="layerwise",
                   help="kind reported as gpu_latency_* (energy: `workbench fit`'s default kind, additive)")
    p.add_argument("--out", type=Path, help="also write the figures with per-family detail here (JSON)")
    p.add_argument("--jobs", type=int, default=-1, help="held-out families fitted in parallel (default: one per core)")
    p.set_defaults(func=cmd_evaluate)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
