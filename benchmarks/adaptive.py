"""Adaptive configuration figures (issue 18, section 6): each policy against static and the oracle.

Prints the setup, the summary table per policy, then one JSON object as the last line:

- ``energy_saving_vs_static``: 1 − device energy per request of the best adaptive policy (reactive, predictive,
  mpc) whose SLO miss rate is no higher than static's ÷ static's (``null`` if none qualifies); ``best_policy``
  names it; target ≥ 0.13 (ALERT's reported figure, Wan et al., USENIX ATC 2020);
- ``gap_to_oracle_energy``: that policy's device energy per request ÷ the oracle's − 1 (target ≤ 0.03); the
  oracle minimises SLO misses first, then energy, so a policy that misses more can be cheaper (negative gap);
- ``gap_to_oracle_energy_clairvoyant``: the same for the **non-causal** one-step clairvoyant policy
  (:class:`~workbench.adaptive.clairvoyant.Clairvoyant`: the interval's actual bandwidth, RTT and slowdown, nothing
  of later intervals): the information ceiling of any per-interval policy with perfect nowcasts;
  ``..._clairvoyant_bw`` when only the bandwidth is nowcast (RTT and slowdown: the last observation);
- ``gap_to_oracle_energy_matched_miss``: the best policy against the oracle allowed as many misses as the
  policy had (:func:`~workbench.adaptive.oracle.plan_max_misses`; without a budget only, else ``null``);
- ``slo_miss_rate``: per policy (misses ÷ requests); ``accuracy`` per policy;
- ``accuracy_drop_pt_vs_static``: (static's accuracy − the best policy's) × 100 (target ≤ 1);
- ``carbon_saving_vs_static``: 1 − carbon of the best policy ÷ static's, and ``carbon_saving_vs_static_mpc``;
  ``deferred_share_mpc``: the share of requests the MPC held for a cleaner interval (``--deferrable-fraction``
  of the requests may be held, up to ``--defer-deadline`` intervals; default none);
- ``decisions_per_s``: the predictive policy's decisions per second on the evaluation part (target ≥ 10,000);
  ``decisions_per_s_conformal`` with conformal quantiles (``predictive-conformal`` in the tables);
- ``pareto_skyline_s_2d`` / ``_8d`` and ``pareto_front_2d`` / ``_8d``: seconds and front size of the sort-based
  skyline on ``--pareto-n`` rows (:func:`pareto_timing`: uniform 2-objective rows; the example's 8 dominance
  coefficients over synthetic variants).

Setup (every figure labelled in the printed ``setup``):

- configuration space: the zoo model ``--model`` split between ``--device`` (the battery-powered device) and
  ``--remote`` (reached over the access link), per-layer costs from :mod:`workbench.placement.zoo_costs`
  (roofline lower bounds on catalog figures unless ``--store`` holds measured runs), × the strategy variants of
  :data:`workbench.adaptive.example.VARIANTS`: the test accuracy and the FLOPs ratio each variant reached in ``benchmarks/tradeoffs.py``
  (docs/strategies.md, run of 2026-11-27), the ratio applied to every layer (a projection); with ``--from-store
  DIR`` instead the strategy variant rows of that store (``workbench compress`` and the other strategy commands:
  measured test accuracy, ``--scale-by`` ratio to each model's baseline; :func:`~workbench.adaptive.example.
  variants_from_store`); then Pareto pruning;
- bandwidth: the 5Gophers walking trace then the two car traces (Verizon), one trace second standing for
  ``--time-scale`` seconds (an assumption that puts mobility on the grid's time axis), resampled to
  ``--step-s``; RTT: the 5Gophers Verizon RTT samples (US-East then US-West) in file order; radio power: LTE's β of Huang et
  al. (MobiSys 2012), as :mod:`workbench.placement.traces`; network energy: the catalog's 5G kWh/GB;
- carbon: CAISO North (vessim/WattTime, 5 min) from its first slot; requests: Poisson at ``--rate-per-s``
  (seed ``--seed``); latency target ``--target-ms``; no energy budget unless ``--battery-wh``;
- the first half of the intervals tunes the policies (static's choice, the filter's noise), the second half is
  reported; every policy chooses among configurations at least as accurate as ``--accuracy-floor``.

Usage::

    .venv/bin/python benchmarks/adaptive.py [--shared-data ../shared/data] [--target-ms 150] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import polars as pl

from workbench.adaptive import CarbonMPC, Predictive, Reactive, StaticBest, decisions_per_s, run, tables
from workbench.adaptive.clairvoyant import Clairvoyant
from workbench.adaptive.example import VARIANTS, example_problem, example_scenario, example_space, variants_from_store
from workbench.adaptive.oracle import plan_max_misses
from workbench.adaptive.pareto import dominance_vectors, skyline
from workbench.adaptive.scenario import interval_costs


def pareto_timing(full, n: int = 100_000, seed: int = 0) -> dict:
    """Seconds of :func:`~workbench.adaptive.pareto.skyline` on ``n`` rows: 2 objectives drawn uniformly, and 8
    (the dominance vectors of ``full``, the example's configurations, repeated as variants with a random accuracy in
    [0.9, 0.98] and the device's time and energy scaled by a random factor in [0.05, 1]: synthetic)."""
    rng = np.random.default_rng(seed)
    v2 = rng.random((n, 2))
    t0 = time.perf_counter()
    k2 = skyline(v2)
    t2 = time.perf_counter() - t0
    base = dominance_vectors(full)
    reps = -(-n // len(base))
    v8 = np.tile(base, (reps, 1))[:n].copy()
    variant = np.repeat(np.arange(reps), len(base))[:n]
    v8[:, 0] = -rng.uniform(0.9, 0.98, reps)[variant]
    scale = rng.uniform(0.05, 1.0, reps)[variant]
    v8[:, 1] *= scale
    v8[:, 5] *= scale
    t0 = time.perf_counter()
    k8 = skyline(v8)
    t8 = time.perf_counter() - t0
    return {"pareto_n": n, "pareto_skyline_s_2d": t2, "pareto_front_2d": int(k2.sum()),
            "pareto_skyline_s_8d": t8, "pareto_front_8d": int(k8.sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared-data", default=os.environ.get("WORKBENCH_SHARED_DATA", "../shared/data"))
    ap.add_argument("--model", default="mobilenetv2-w1.5-d3-r128")
    ap.add_argument("--device", default="raspberry-pi-4b")
    ap.add_argument("--remote", default="a100-sxm4-40gb")
    ap.add_argument("--store", default=None, help="a store with measured runs of the model on the devices")
    ap.add_argument("--from-store", default=None, metavar="DIR",
                    help="build the variants from the strategy rows of this store (workbench compress ...) "
                         "instead of the example's")
    ap.add_argument("--scale-by", default="flops", choices=("flops", "latency_ms_p50", "energy_j"),
                    help="with --from-store: the variant/baseline ratio applied to the split model's costs")
    ap.add_argument("--time-scale", type=float, default=300.0)
    ap.add_argument("--step-s", type=float, default=300.0)
    ap.add_argument("--rate-per-s", type=float, default=0.2)
    ap.add_argument("--target-ms", type=float, default=150.0)
    ap.add_argument("--accuracy-floor", type=float, default=0.965)
    ap.add_argument("--probability", type=float, default=0.95)
    ap.add_argument("--battery-wh", type=float, default=None)
    ap.add_argument("--harvest-w", type=float, default=0.0)
    ap.add_argument("--static-miss-max", type=float, default=None,
                    help="largest tuning SLO miss rate of static's choice (default 1 − probability: the same SLO)")
    ap.add_argument("--deferrable-fraction", type=float, default=0.0,
                    help="share of requests that is deferrable batch work (the carbon MPC may hold it)")
    ap.add_argument("--defer-deadline", type=int, default=12, help="intervals within which deferred work is served")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pareto-n", type=int, default=100_000, help="rows of the Pareto timing (0: skip it)")
    args = ap.parse_args()
    if args.static_miss_max is None:
        args.static_miss_max = 1 - args.probability
    t0 = time.perf_counter()
    problem = example_problem(args.model, args.device, args.remote, args.store)
    variants = variants_from_store(args.from_store, scale_by=args.scale_by) if args.from_store else None
    full, space = example_space(problem, variants)
    n_variants = len(variants) if variants is not None else len(VARIANTS)
    sc = example_scenario(Path(args.shared_data), time_scale=args.time_scale, step_s=args.step_s,
                          rate_per_s=args.rate_per_s, target_ms=args.target_ms, seed=args.seed,
                          battery_wh=args.battery_wh, harvest_w=args.harvest_w,
                          deferrable_fraction=args.deferrable_fraction, defer_deadline_intervals=args.defer_deadline)
    obj, floor = "device_energy_j", args.accuracy_floor
    pols = [StaticBest(objective=obj, accuracy_floor=floor, slo_miss_max=args.static_miss_max), Reactive(objective=obj, accuracy_floor=floor),
            Predictive(objective=obj, accuracy_floor=floor, probability=args.probability),
            CarbonMPC(objective="carbon_g", accuracy_floor=floor, probability=args.probability),
            Predictive(objective=obj, accuracy_floor=floor, probability=args.probability, quantiles="conformal",
                       name="predictive-conformal"),
            Clairvoyant(objective=obj, accuracy_floor=floor),
            Clairvoyant(objective=obj, accuracy_floor=floor, knows=("bandwidth_mbps",), name="clairvoyant-bw")]
    res = run(space, sc, pols, objective=obj, accuracy_floor=floor)
    tuning, evaluation = sc.split(0.5)
    pred = Predictive(objective=obj, accuracy_floor=floor, probability=args.probability).fit(space, tuning)
    dps = decisions_per_s(pred, space, sc, start=len(tuning))
    conf = Predictive(objective=obj, accuracy_floor=floor, probability=args.probability,
                      quantiles="conformal").fit(space, tuning)
    dps_conformal = decisions_per_s(conf, space, sc, start=len(tuning))
    compared = tables.compare(res.summary)
    s = {r["policy"]: r for r in compared.iter_rows(named=True)}
    top = tables.best_adaptive(compared)
    best = top["policy"] if top else None
    e = {p: s[p]["device_energy_j_per_request"] for p in s}
    c = {p: s[p]["carbon_g_per_request"] for p in s}
    matched = None
    if top and evaluation.budget.unlimited:
        ev = interval_costs(space, evaluation)
        at = plan_max_misses(ev["miss"], ev[obj], evaluation.requests, s[best]["misses"],
                             allowed=space.accuracy >= floor)
        matched = s[best]["device_energy_j_per_request"] / (at.cost / evaluation.requests.sum()) - 1
    pl.Config.set_tbl_cols(20)
    pl.Config.set_tbl_width_chars(200)
    print(f"space: {len(full)} configurations ({n_variants} variants × {len(full) // n_variants} splits"
          f"{', from ' + args.from_store if args.from_store else ''}), "
          f"{len(space)} after Pareto pruning; costs: {problem.cost_sources}")
    print(f"scenario: {len(sc)} intervals of {sc.step_s:g} s, target {sc.latency_target_ms:g} ms, "
          f"{int(sc.requests.sum())} requests; static chose {res.chosen['static']}")
    for k, v in sc.provenance.items():
        print(f"  {k}: {v}")
    print(res.summary.select("policy", "slo_miss_rate", "accuracy", "device_energy_j_per_request",
                             "energy_j_per_request", "carbon_g_per_request", "switches"))
    out = {
        "energy_saving_vs_static": top["energy_saving_vs_static"] if top else None,
        "best_policy": best,
        "gap_to_oracle_energy": top["gap_to_oracle_energy"] if top else None,
        "gap_to_oracle_energy_clairvoyant": s["clairvoyant"]["gap_to_oracle_energy"],
        "gap_to_oracle_energy_clairvoyant_bw": s["clairvoyant-bw"]["gap_to_oracle_energy"],
        "gap_to_oracle_energy_matched_miss": matched,
        "slo_miss_rate": {p: s[p]["slo_miss_rate"] for p in s},
        "accuracy": {p: s[p]["accuracy"] for p in s},
        "device_energy_j_per_request": e,
        "accuracy_drop_pt_vs_static": ((s["static"]["accuracy"] - top["accuracy"]) * 100) if top else None,
        "carbon_saving_vs_static": top["carbon_saving_vs_static"] if top else None,
        "carbon_saving_vs_static_mpc": 1 - c["mpc"] / c["static"],
        "deferred_share_mpc": s["mpc"]["deferred_share"],
        "energy_saving_vs_static_by_policy": {p: s[p]["energy_saving_vs_static"] for p in s},
        "carbon_saving_vs_static_by_policy": {p: s[p]["carbon_saving_vs_static"] for p in s},
        "static_choice": res.chosen["static"]["choice_"],
        "decisions_per_s": dps,
        "decisions_per_s_conformal": dps_conformal,
        "oracle_exact": res.oracle_exact,
        "variants": n_variants, "variants_from": f"store {args.from_store}" if args.from_store else "example",
        "configurations": len(full), "configurations_pareto": len(space), "intervals_evaluated": len(sc) - len(tuning),
        **(pareto_timing(full, args.pareto_n, args.seed) if args.pareto_n else {}),
        "seconds": time.perf_counter() - t0,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
