"""Scenario texts shared by the LCA tests (valid, small; each test changes one line of them)."""

from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[2] / "data" / "scenarios"
"""The scenarios shipped in ``data/scenarios``."""

BASE = """name = "t"
[location]
country = "FRA"
[[devices]]
name = "A100"
count = 8
power_w = 400
hours = 100
pue = 1.2
embodied_kgco2e = 150
lifetime_years = 6
utilization = 0.85
[[network]]
gigabytes = 10.0
technology = "fixed"
"""
"""One device group and one network transfer, every key given."""

WITH_UNCERTAINTY = BASE + """kwh_per_gb = 0.03
[uncertainty]
grid_rel_sd = 0.15
pue_halfwidth = 0.1
"""
"""``BASE`` with the network's intensity and an uncertainty table."""
