"""Accuracy of the cost models: own-CPU leave-one-family-out, few-shot on nn-Meter, MLPerf Tiny energy.

Usage::

    .venv/bin/python benchmarks/costmodel_accuracy.py              # profile what is missing, then evaluate
    .venv/bin/python benchmarks/costmodel_accuracy.py --profile-only
    .venv/bin/python benchmarks/costmodel_accuracy.py --no-profile  # evaluate what the cache holds

Training data on this CPU is the zoo grid plus an operator benchmark (``--kernels`` blocks of
conv / linear / GRU / attention layers at sizes drawn from a generic prior,
:mod:`workbench.measure.kernels`, the nn-Meter approach): those rows are in every training fold
and never evaluated, so each held-out family is still unseen but its operators are not. The
layerwise model is also reported without them (``own_cpu_zoo_only_*``). ``--remeasure`` profiles
cached variants again and reports how often two measurements agree within ±10 %: no model can be
judged more precisely than that. ``own_cpu_layer_sum_within10`` predicts each network family-out
from the sum of its own measured layer times (calibrated as the layerwise model is): the ceiling
of a per-layer model on these measurements.

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
KERNELS: dict = {}
"""Operator-benchmark blocks by name (filled by ``main`` from ``--kernels`` and ``--kernel-seed``)."""

LABEL = {"latency": "auto"}
"""Which milliseconds the latency models learn (``--label``: ``auto``, ``normalised`` or ``raw``;
:data:`workbench.costmodels.features.LATENCY_LABELS`)."""


def _profile(names: list[str], store, *, repeats: int, warmup: int) -> None:
    """Profile zoo variants and operator-benchmark blocks (by name) into ``store``, one run each."""
    from workbench.measure import kernels, profiler

    zoo_names = [n for n in names if n not in KERNELS]
    nets = [KERNELS[n] for n in names if n in KERNELS]
    kw = {"repeats": repeats, "warmup": warmup, "threads": 1, "layer_repeats": 5}
    if zoo_names:
        profiler.profile(zoo_names, meter="none", store=store, **kw)
    if nets:
        kernels.profile_kernels(nets, store=store, **kw)


def profile_missing(store_dir: Path, *, passes: int, batch: int, repeats: int, warmup: int) -> None:
    """Profile every zoo grid variant and operator block until each has ``passes`` measurements."""
    import polars as pl

    from workbench.measure import zoo
    from workbench.store import Store

    store = Store(store_dir)
    names = zoo.grid_names() + list(KERNELS)
    for p in range(passes):
        df = store.read()
        done = df.group_by("model").len() if df.height else pl.DataFrame({"model": [], "len": []})
        counts = dict(zip(done["model"].to_list(), done["len"].to_list(), strict=True))
        todo = [n for n in names if counts.get(n, 0) <= p]
        # interleave families (round robin) so a partial pass still covers every family
        by_family: dict[str, list[str]] = {}
        for n in todo:
            by_family.setdefault(KERNELS[n].kind if n in KERNELS else zoo.resolve(n).family, []).append(n)
        todo = [n for group in itertools.zip_longest(*by_family.values()) for n in group if n]
        if not todo:
            continue
        _log(f"pass {p + 1}/{passes}: {len(todo)} variant(s) to profile")
        for i in range(0, len(todo), batch):
            chunk = todo[i:i + batch]
            t0 = time.time()
            _profile(chunk, store, repeats=repeats, warmup=warmup)
            _log(f"  {i + len(chunk)}/{len(todo)} ({time.time() - t0:.0f} s for {len(chunk)})")


def unconfirmed(store_dir: Path, tol: float) -> list[str]:
    """Variants (and operator blocks in use) whose two lowest per-pass medians differ by more than ``tol``."""
    import polars as pl

    from workbench.costmodels.features import latency_label
    from workbench.measure.kernels import FAMILY
    from workbench.store import Store

    # the figure the models train on (--label): the robust latency_ms_norm where rows have it
    df = latency_label(Store(store_dir).read(), LABEL["latency"]).sort("latency_ms_p50")
    df = df.filter((pl.col("model_family") != FAMILY) | pl.col("model").is_in(list(KERNELS)))
    g = df.group_by("model").agg(pl.col("latency_ms_p50").head(2).alias("two"))
    out = []
    for model, two in g.iter_rows():
        if len(two) < 2 or two[1] > two[0] * (1 + tol):
            out.append(model)
    return sorted(out)


def confirm(store_dir: Path, *, tol: float, rounds: int, batch: int, repeats: int, warmup: int) -> None:
    """Re-profile variants until their minimum latency is confirmed by a second pass within ``tol``."""
    from workbench.store import Store

    store = Store(store_dir)
    for r in range(rounds):
        todo = unconfirmed(store_dir, tol)
        _log(f"confirm round {r + 1}/{rounds}: {len(todo)} variant(s) not yet confirmed within {tol:.0%}")
        if not todo:
            return
        for i in range(0, len(todo), batch):
            _profile(todo[i:i + batch], store, repeats=repeats, warmup=warmup)


# ------------------------------------------------------------------------------------------ evaluation
def measured_peaks() -> dict:
    """Single-thread peak FLOP/s (large fp32 matmul) and copy bandwidth [B/s] of this CPU, measured.

    The roofline baseline needs the device's peaks; this CPU is not in the catalog, so they are
    measured here (best of 5): a 1024³ matmul and a 64 MiB tensor copy (read + write counted).
    """
    import torch

    torch.set_num_threads(1)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    x = torch.empty(16 * 1024 * 1024)
    y = torch.empty_like(x)
    best_mm, best_cp = float("inf"), float("inf")
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        best_mm = min(best_mm, time.perf_counter() - t)
        t = time.perf_counter()
        y.copy_(x)
        best_cp = min(best_cp, time.perf_counter() - t)
    return {"peak_flops_per_s": 2 * 1024**3 / best_mm, "memory_bandwidth_bytes_per_s": 2 * x.numel() * 4 / best_cp}


def _rows(store, target: str):
    """Training rows of the cache: every zoo variant, plus the operator blocks in ``KERNELS``."""
    import polars as pl

    from workbench.costmodels.features import training_data, training_layers
    from workbench.costmodels.training import with_layer_shapes
    from workbench.measure.kernels import FAMILY

    rows = store.read()
    rows = rows.filter((pl.col("model_family") != FAMILY) | pl.col("model").is_in(list(KERNELS)))
    # runs cached before the profiler recorded layer shapes get them from the zoo definitions (static)
    layers = with_layer_shapes(rows, store.read_layers())
    X, y, meta = training_data(rows, layers, target=target, label=LABEL["latency"])
    # each layer's latency: the minimum over the repeats of its variant, as for the network (training_layers)
    return X, y, meta, training_layers(rows, layers), (meta["model_family"] == FAMILY).to_numpy()


def own_cpu(store_dir: Path, kinds: list[str], n_jobs: int | None = None) -> dict:
    """Leave-one-family-out accuracy on this CPU's measurements for each kind of cost model.

    Operator-benchmark rows (``--kernels``) are in every training fold and never evaluated; the
    layerwise model is also evaluated without them (``layerwise-zoo-only``: the zoo families alone).
    """
    import numpy as np

    from workbench.costmodels.validation import evaluate_family_out, summarize
    from workbench.store import Store

    store = Store(store_dir)
    X, y, meta, layers, ops = _rows(store, "latency_ms")
    peaks = measured_peaks()
    Xr = X.assign(**peaks)
    out = {"rows": int((~ops).sum()), "families": int(meta.loc[~ops, "model_family"].nunique()),
           "kernel_rows": int(ops.sum()), "measured_peaks": peaks,
           "latency_ms_range": [float(y[~ops].min()), float(y[~ops].max())], "kinds": {}}
    runs = [(k, k, ops) for k in kinds]
    if ops.any():  # the same kinds trained on the zoo families alone, for reference
        runs += [(f"{k}-zoo-only", k, None) for k in ("flops", "layerwise") if k in kinds]
    for label, kind, train_only in runs:
        keep = np.ones(len(y), bool) if train_only is not None else ~ops
        p, table = evaluate_family_out((Xr if kind == "roofline" else X)[keep], y[keep], meta[keep], kinds=[kind],
                                       interval=0.9, layers=layers, n_jobs=n_jobs,
                                       train_only=train_only[keep] if train_only is not None else None)
        overall = table[(table["model_family"] == "all") & (table["device_class"] == "all")].iloc[0]
        per_family = {r["model_family"]: round(float(r["within10"]), 3)
                      for _, r in table[table["model_family"] != "all"].iterrows()}
        out["kinds"][label] = {"mape": float(overall["mape"]), "within10": float(overall["within10"]),
                               "rmse_ms": float(overall["rmse"]), "coverage_90": float(overall.get("coverage", np.nan)),
                               "median_interval_factor": float(overall.get("median_width_factor", np.nan)),
                               "within10_per_family": per_family,
                               "mape_per_family": {r["model_family"]: round(float(r["mape"]), 3)
                                                   for _, r in table[table["model_family"] != "all"].iterrows()}}
        _log(f"  {label:>18}: MAPE {overall['mape']:.3f}  within±10% {overall['within10']:.3f}  "
             f"coverage90 {overall.get('coverage', float('nan')):.3f}")
    # the ceiling of per-layer models on these measurements: each network predicted family-out from the
    # sum of its own *measured* layer times (intercept and scale fitted as the layerwise model does)
    import polars as pl

    from workbench.costmodels.validation import layer_sum_family_out

    lay = layers if isinstance(layers, pl.DataFrame) else pl.from_pandas(layers)
    sums = dict(lay.group_by("measurement_id").agg(pl.col("latency_ms").sum()).iter_rows())
    ps = layer_sum_family_out(y, [sums[i] for i in X.index], meta["model_family"].to_numpy(), operator_rows=ops)
    ms = summarize(ps).iloc[0]
    out["layer_sum_family_out"] = {
        "mape": float(ms["mape"]), "within10": float(ms["within10"]),
        "within10_per_family": {r["group"]: round(float(r["within10"]), 3)
                                for _, r in summarize(ps, "group").iterrows()}}
    _log(f"  {'measured layer sums':>18}: MAPE {ms['mape']:.3f}  within±10% {ms['within10']:.3f}  "
         "(the ceiling of layerwise)")
    # for reference: random 5-fold CV over the zoo rows, where every family is seen in training
    from sklearn.model_selection import KFold

    from workbench.costmodels.estimators import operator_fit_params
    from workbench.costmodels.factory import make_estimator, needs_layers
    from workbench.costmodels.validation import metrics

    out["random_5fold"] = {}
    zoo_idx, op_idx = np.flatnonzero(~ops), np.flatnonzero(ops)
    for kind in ("additive", "layerwise"):
        pred = np.empty(len(zoo_idx))
        for tr, te in KFold(5, shuffle=True, random_state=0).split(zoo_idx):
            train = np.concatenate([zoo_idx[tr], op_idx])
            est = make_estimator(kind, interval=None)
            kw = {"layers": layers} if needs_layers(est) else {}
            ops_kw = operator_fit_params(est, meta["model_family"].to_numpy()[train])
            pred[te] = est.fit(X.iloc[train], y[train], **ops_kw, **kw).predict(X.iloc[zoo_idx[te]], **kw)
        m = metrics(y[zoo_idx], pred)
        out["random_5fold"][kind] = {"mape": m["mape"], "within10": m["within10"]}
        _log(f"  {kind:>18} (random 5-fold, families seen): MAPE {m['mape']:.3f}  within±10% {m['within10']:.3f}")
    # memory model: the same features predict peak memory (its own target), on the zoo families (the
    # operator blocks are there for latency); with them too, for reference
    Xm, ym, mm, _, mops = _rows(store, "memory_peak_bytes")
    for label, keep in (("memory_peak_bytes", ~mops), ("memory_peak_bytes_with_operator_rows", np.ones_like(mops))):
        pm, tm = evaluate_family_out(Xm[keep], ym[keep], mm[keep], kinds=["loglinear-layers"], interval=0.9,
                                     train_only=mops[keep], n_jobs=n_jobs)
        s = summarize(pm).iloc[0]
        out[label] = {"kind": "loglinear-layers", "mape": float(s["mape"]), "within10": float(s["within10"]),
                      "coverage_90": float(s["coverage"])}
        _log(f"  {label} (loglinear-layers): MAPE {s['mape']:.3f} within±10% {s['within10']:.3f}")
    return out


def remeasure(store_dir: Path, *, n: int, seed: int, tol: float, rounds: int, repeats: int, warmup: int) -> dict:
    """How well do two measurements of one variant agree? The ceiling of any model's ``within10``.

    ``n`` random cached variants are profiled again now, into a temporary store, with the same
    protocol as the cache (two passes, then re-profiled until the two lowest agree within ``tol``),
    and compared with the cached figure the models train on. A perfect predictor of the noise-free
    latency is off from one measurement by that measurement's error alone, so it would score somewhat
    higher than the agreement of two measurements, but no model can be judged more precisely than
    the host measures.
    """
    import tempfile

    import numpy as np

    from workbench.costmodels.features import training_data
    from workbench.measure import profiler
    from workbench.measure.kernels import FAMILY
    from workbench.store import Store

    store = Store(store_dir)
    X, y, meta = training_data(store.read(), store.read_layers(), target="latency_ms", label=LABEL["latency"])
    zoo_rows = meta.assign(cached=y)[meta["model_family"] != FAMILY]
    pick = zoo_rows.sample(min(n, len(zoo_rows)), random_state=seed)
    names = pick["model"].tolist()
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(2):
            profiler.profile(names, repeats=repeats, warmup=warmup, threads=1, layer_repeats=5, meter="none",
                             store=Store(tmp))
        confirm(Path(tmp), tol=tol, rounds=rounds, batch=len(names), repeats=repeats, warmup=warmup)
        X2, y2, m2 = training_data(Store(tmp).read(), Store(tmp).read_layers(), target="latency_ms",
                                   label=LABEL["latency"])
    again = dict(zip(m2["model"], y2, strict=True))
    rel = np.array([again[m] for m in names]) / pick["cached"].to_numpy() - 1
    out = {"n": len(names), "within10": float(np.mean(np.abs(rel) < 0.1)),
           "within5": float(np.mean(np.abs(rel) < 0.05)), "mape": float(np.mean(np.abs(rel))),
           "median_ratio": float(np.median(rel + 1))}
    _log(f"  remeasured {out['n']} cached variants: within±10% {out['within10']:.3f}, within±5% "
         f"{out['within5']:.3f}, MAPE {out['mape']:.3f}")
    return out


FEWSHOT_TASKS = {
    # name: (target device, source device) with nn-Meter's devices as the importer names them
    "cpu_to_adreno640": ("xiaomi-mi-9", "pixel-4"),
    "adreno640_to_adreno630": ("pixel-3-xl", "xiaomi-mi-9"),
    "cpu_to_vpu": ("intel-ncs2", "pixel-4"),
}


def fewshot(path: Path, *, k: int, seeds: int) -> dict:
    """Few-shot calibration on nn-Meter: k random target-device models + full data on known devices."""
    from workbench import datasets
    from workbench.costmodels.fewshot import evaluate_fewshot, wide_latencies

    rows = datasets.load("nn-meter", path)
    wide = wide_latencies(rows, value="latency_ms_mean")
    devices = [c for c in wide.columns if c not in ("architecture", "model_family")]
    out = {}
    for name, (target, source) in FEWSHOT_TASKS.items():
        others = [source] + [d for d in devices if d not in (target, source)]
        r_all = evaluate_fewshot(wide, target, others, k=k, seeds=range(seeds))
        r_src = evaluate_fewshot(wide, target, [source], k=k, seeds=range(seeds))
        r_big = evaluate_fewshot(wide, target, others, k=10 * k, seeds=range(3))  # is k the limit?
        out[name] = {"within10": r_all["within10"], "mape": r_all["mape"], "known_devices": others,
                     "source_only_within10": r_src["within10"], "source_only_mape": r_src["mape"],
                     "n_eval": r_all["n_eval"], "k": k, "seeds": seeds, "within10_at_10k": r_big["within10"]}
        _log(f"  {name}: within±10% {r_all['within10']:.3f} (all known devices), "
             f"{r_src['within10']:.3f} (source {source} only)")
    return out


def mlperf_tiny_energy(path: Path) -> dict:
    """Energy per inference from latency and board features, leave-one-board-out (MLPerf Tiny).

    The model and its evaluation live in :mod:`workbench.costmodels.boards` (notebook 03 uses them too).
    """
    from workbench import datasets
    from workbench.costmodels.boards import BOARD_FEATURES, evaluate_board_out
    from workbench.errors import ParameterError

    if "mlperf-tiny" not in datasets.KINDS:
        return {"skipped": "no mlperf-tiny importer"}
    try:
        rows = datasets.load("mlperf-tiny", path)
    except ModuleNotFoundError as exc:
        return {"skipped": f"mlperf-tiny importer not available yet ({exc})"}
    try:
        pred, table = evaluate_board_out(rows, interval=None)
    except ParameterError as exc:
        return {"skipped": str(exc)}
    overall = table[(table["device_class"] == "all") & (table["device_name"] == "all")].set_index("kind")
    per_board = table[(table["kind"] == "board-features") & (table["device_name"] != "all")]
    full = pred[pred["kind"] == "board-features"]
    out = {"rows": int(len(full)), "boards": int(full["device_name"].nunique()), "features": list(BOARD_FEATURES),
           "latency_only_mape": float(overall.loc["latency-only", "mape"]),
           "per_board_mape": {r["device_name"]: round(float(r["mape"]), 3) for _, r in per_board.iterrows()},
           "mape": float(overall.loc["board-features", "mape"]),
           "within10": float(overall.loc["board-features", "within10"]),
           "median_board_mape": float(per_board["mape"].median())}
    _log(f"  MLPerf Tiny energy, leave-one-board-out: MAPE {out['mape']:.3f} over {out['boards']} boards "
         f"(latency alone: {out['latency_only_mape']:.3f})")
    return out


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
    ap.add_argument("--kinds",
                    default="flops,roofline,loglinear,loglinear-layers,gbm,rf,additive,additive+gbm,layerwise")
    ap.add_argument("--headline", default="layerwise",
                    help="kind reported as own_cpu_* (layerwise: chosen after seeing every kind's LOFO figures "
                         "on an earlier snapshot of the same data; all kinds are reported in result.json)")
    ap.add_argument("--jobs", type=int, default=-1,
                    help="held-out families fitted in parallel (default: one per core; the figures do not change)")
    ap.add_argument("--k", type=int, default=100, help="target-device models for few-shot calibration")
    ap.add_argument("--seeds", type=int, default=10, help="random draws of the k models")
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"))
    ap.add_argument("--kernels", type=int, default=600,
                    help="operator-benchmark blocks (workbench.measure.kernels) profiled and used in training "
                         "(never evaluated); 0: zoo families only")
    ap.add_argument("--kernel-seed", type=int, default=0)
    ap.add_argument("--remeasure", type=int, default=60,
                    help="cached variants to profile again (into a temporary store, also with --no-profile) "
                         "for the measurement-agreement ceiling (0: skip)")
    ap.add_argument("--label", default="auto", choices=("auto", "normalised", "raw"),
                    help="latency labels: the robust latency_ms_norm where rows have it (auto, default), only those "
                         "rows (normalised), or the raw wall-clock median (raw)")
    ap.add_argument("--skip-public", action="store_true", help="skip the nn-Meter few-shot and MLPerf Tiny parts")
    args = ap.parse_args(argv)
    LABEL["latency"] = args.label
    store_dir = args.cache / "store"
    if args.kernels > 0:
        from workbench.measure.kernels import kernel_nets

        KERNELS.update((k.name, k) for k in kernel_nets(args.kernels, seed=args.kernel_seed))
    if not args.no_profile:
        profile_missing(store_dir, passes=args.passes, batch=args.batch, repeats=args.repeats,
                        warmup=args.warmup)
        confirm(store_dir, tol=args.confirm_tol, rounds=args.confirm_rounds, batch=args.batch,
                repeats=args.repeats, warmup=args.warmup)
    if args.profile_only:
        return 0
    result = {}
    _log("own CPU, leave-one-family-out:")
    # the headline and the FLOPs baseline it is compared with are scored whatever --kinds names
    own = own_cpu(store_dir, list(dict.fromkeys([*args.kinds.split(","), "flops", args.headline])), n_jobs=args.jobs)
    head = own["kinds"][args.headline]
    result.update({
        "own_cpu_kind": args.headline,
        "own_cpu_random5fold_within10": round(own["random_5fold"]["layerwise"]["within10"], 4),
        "own_cpu_within10": round(head["within10"], 4), "own_cpu_mape": round(head["mape"], 4),
        # the stronger of the two FLOPs baselines (fitted with and without the operator rows)
        "flops_baseline_mape": round(min(v["mape"] for k, v in own["kinds"].items()
                                         if k in ("flops", "flops-zoo-only")), 4),
        "interval_coverage_90": round(head["coverage_90"], 4),
        "own_cpu_kernel_rows": own["kernel_rows"],
        "own_cpu_layer_sum_within10": round(own["layer_sum_family_out"]["within10"], 4),
    })
    if "layerwise-zoo-only" in own["kinds"]:
        result["own_cpu_zoo_only_within10"] = round(own["kinds"]["layerwise-zoo-only"]["within10"], 4)
        result["own_cpu_zoo_only_mape"] = round(own["kinds"]["layerwise-zoo-only"]["mape"], 4)
    if args.remeasure > 0:
        _log("measurement agreement (the ceiling of own_cpu_within10):")
        again = remeasure(store_dir, n=args.remeasure, seed=0, tol=args.confirm_tol, rounds=args.confirm_rounds,
                          repeats=args.repeats, warmup=args.warmup)
        own["remeasure"] = again
        result["own_cpu_remeasure_within10"] = round(again["within10"], 4)
    result["own_cpu_label"] = args.label
    if args.skip_public:
        print(json.dumps(result))
        return 0
    _log("few-shot on nn-Meter:")
    fs = fewshot(args.shared / "nn-meter-model-latency", k=args.k, seeds=args.seeds)
    result["fewshot"] = {name: round(v["within10"], 4) for name, v in fs.items()}
    result["fewshot_source_only"] = {name: round(v["source_only_within10"], 4) for name, v in fs.items()}
    _log("MLPerf Tiny energy:")
    tiny = mlperf_tiny_energy(args.shared / "mlperf-tiny")
    result["mlperf_tiny_energy_loboard_mape"] = round(tiny["mape"], 4) if "mape" in tiny else None
    detail = {"own_cpu": own, "fewshot": fs, "mlperf_tiny": tiny}
    (args.cache / "result.json").write_text(json.dumps({**result, "detail": detail}, indent=1, default=str))
    _log(f"details in {args.cache / 'result.json'}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
