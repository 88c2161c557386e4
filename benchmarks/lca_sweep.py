"""Vectorised LCA sweep vs. one full Brightway LCA per scenario.

Computes the characterised unit impacts once with Brightway (every country's grid market, every
catalog device's manufacturing), evaluates N random scenarios (one device group + one network
transfer each) with numpy, and compares a random sample with a full ``bw2calc.LCA`` of the same
scenario written as a Brightway database. Prints figures; the last line is one JSON object
``{"scenarios_per_s": ..., "max_rel_diff": ...}`` (targets: >= 1e5 and <= 1e-9).

Usage: python benchmarks/lca_sweep.py [--n 1000000] [--sample 20] [--lca-dir DIR] [--seed 0]
(the Brightway project is created under --lca-dir, default a temporary directory, IPCC methods only).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="scenarios in the vectorised sweep")
    ap.add_argument("--sample", type=int, default=20, help="scenarios checked with a full LCA each")
    ap.add_argument("--lca-dir", default=None, help="Brightway data directory (default: temporary)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats of the sweep (best is reported)")
    args = ap.parse_args()


    lca_dir = args.lca_dir or tempfile.mkdtemp(prefix="workbench-lca-")
    try:
        _run(args, lca_dir)
    finally:
        if args.lca_dir is None:
            import shutil

            shutil.rmtree(lca_dir, ignore_errors=True)


def _run(args, lca_dir) -> None:
    from workbench.catalog import network
    from workbench.lca.footprint import compute, write_scenario
    from workbench.lca.project import DEFAULT_METHOD, setup_project
    from workbench.lca.resolution import resolve
    from workbench.lca.scenario import parse_scenario
    from workbench.lca.sweep import UnitImpacts, evaluate

    t0 = time.perf_counter()
    setup_project(lca_dir, method_set="ipcc")
    print(f"project ready in {time.perf_counter() - t0:.1f} s ({lca_dir})")
    t0 = time.perf_counter()
    unit = UnitImpacts.from_project(lca_dir=lca_dir)
    t_unit = time.perf_counter() - t0
    print(f"unit impacts: {len(unit.countries)} grids + {len(unit.devices)} devices in {t_unit:.2f} s")

    rng = np.random.default_rng(args.seed)
    n = args.n
    techs = list(network.TECHNOLOGIES)
    kwh_per_gb_of = np.array([network.energy_kwh_per_gb(t) for t in techs])
    p = {
        "country": rng.integers(0, len(unit.countries), n),
        "device": rng.integers(0, len(unit.devices), n),
        "tech": rng.integers(0, len(techs), n),
        "count": rng.integers(1, 1025, n).astype(np.float64),
        "power_w": rng.uniform(1.0, 700.0, n),
        "hours": rng.uniform(1.0, 5000.0, n),
        "pue": rng.uniform(1.0, 2.0, n),
        "lifetime_years": rng.uniform(2.0, 8.0, n),
        "utilization": rng.uniform(0.1, 1.0, n),
        "gigabytes": rng.uniform(0.0, 1000.0, n),
    }

    def run():
        return evaluate(grid_kgco2e_per_kwh=unit.grid_kgco2e_per_kwh[p["country"]],
                        energy_kwh=p["power_w"] * p["hours"] / 1000.0, count=p["count"], pue=p["pue"],
                        manufacturing_kgco2e=unit.manufacturing_kgco2e[p["device"]], hours=p["hours"],
                        lifetime_years=p["lifetime_years"], utilization=p["utilization"],
                        gigabytes=p["gigabytes"], kwh_per_gb=kwh_per_gb_of[p["tech"]])

    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    best = min(times)
    rate = n / best
    print(f"sweep: {n} scenarios in {best * 1e3:.1f} ms (best of {args.repeats}; median "
          f"{np.median(times) * 1e3:.1f} ms) -> {rate:.3g} scenarios/s")

    max_rel = 0.0
    t0 = time.perf_counter()
    for i in rng.choice(n, size=args.sample, replace=False):
        text = f"""
name = "sample {i}"
[location]
country = "{unit.countries[p['country'][i]]}"
[[devices]]
name = "{unit.devices[p['device'][i]]}"
count = {float(p['count'][i])!r}
power_w = {float(p['power_w'][i])!r}
hours = {float(p['hours'][i])!r}
pue = {float(p['pue'][i])!r}
lifetime_years = {float(p['lifetime_years'][i])!r}
utilization = {float(p['utilization'][i])!r}
[[network]]
gigabytes = {float(p['gigabytes'][i])!r}
technology = "{techs[p['tech'][i]]}"
"""
        with write_scenario(resolve(parse_scenario(text))) as model:
            ref = compute(model, DEFAULT_METHOD)
        for key in ("total_kgco2e", "operational_kgco2e", "embodied_kgco2e", "network_kgco2e"):
            a, b = float(out[key][i]), ref[key]
            if b != 0:
                max_rel = max(max_rel, abs(a - b) / abs(b))
    t_lca = (time.perf_counter() - t0) / args.sample
    print(f"full Brightway LCA per scenario: {t_lca:.2f} s each on {args.sample} samples "
          f"(write database + LCA + breakdown); vectorised speed-up {t_lca * rate:.3g}x")
    print(json.dumps({"scenarios_per_s": rate, "max_rel_diff": max_rel, "n": n, "sample": args.sample,
                      "unit_impacts_s": t_unit, "lca_per_scenario_s": t_lca}))


if __name__ == "__main__":
    main()
