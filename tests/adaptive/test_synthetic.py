"""The stand-in traces notebook 08 replays where the public ones are absent: seeded, in range, labelled."""

from __future__ import annotations

import numpy as np

from workbench.adaptive.example import SYNTHETIC, synthetic_scenario


def test_synthetic_scenario_is_seeded_in_range_and_says_it_is_synthetic():
    a, b = synthetic_scenario(intervals=288, seed=3), synthetic_scenario(intervals=288, seed=3)
    assert len(a) == 288 and np.array_equal(a.bandwidth_mbps, b.bandwidth_mbps)
    assert not np.array_equal(a.bandwidth_mbps, synthetic_scenario(intervals=288, seed=4).bandwidth_mbps)
    lo, hi = SYNTHETIC["rtt_ms"]
    assert lo <= a.rtt_ms.min() and a.rtt_ms.max() <= hi
    low, high = SYNTHETIC["carbon_g_per_kwh"]
    # a day of 5-minute steps: dirtiest at night (high), cleanest at noon (low), to float rounding
    assert a.carbon_g_per_kwh[0] == high and abs(a.carbon_g_per_kwh[144] - low) < 1e-9
    assert (a.bandwidth_mbps == SYNTHETIC["outage_mbps"]).any() and a.bandwidth_mbps.max() > 100
    assert all("synthetic" in a.provenance[k] for k in ("bandwidth_mbps", "rtt_ms", "carbon_g_per_kwh"))
    assert len(synthetic_scenario()) == 3 * 288  # three days by default
