"""Footprints computed by Brightway against hand computation, the catalog and published figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import UnknownNameError, WorkbenchError
from workbench.lca.footprint import footprint, footprint_dict
from workbench.lca.scenario import ScenarioError, ScenarioFormatError

SCENARIOS = Path(__file__).resolve().parents[2] / "data" / "scenarios"

SMALL = """
name = "small"
[location]
carbon_intensity_g_per_kwh = 300
[[devices]]
name = "my-gpu"
count = 3
power_w = 250
hours = 40
pue = 1.3
embodied_kgco2e = 120
lifetime_years = 5
utilization = 0.7
[[devices]]
name = "my-box"
energy_kwh = 12.5
embodied_kgco2e = 0
[[network]]
gigabytes = 20
technology = "4g"
kwh_per_gb = 0.2
"""


def hand(intensity_g_per_kwh=300.0):
    """The SMALL scenario by hand [kg CO2-eq]."""
    g = intensity_g_per_kwh / 1000
    op1 = 3 * 0.250 * 40 * 1.3 * g
    emb1 = 3 * 40 / (5 * 8760 * 0.7) * 120
    op2 = 12.5 * g
    net = 20 * 0.2 * g
    return op1, emb1, op2, net


def test_small_scenario_equals_hand_computation(lca_dir):
    out = footprint_dict(SMALL, lca_dir=lca_dir)
    op1, emb1, op2, net = hand()
    # Brightway solves with float64 datapackages (workbench.lca.matrices): agreement to rounding
    assert out["total_kgco2e"] == pytest.approx(op1 + emb1 + op2 + net, rel=1e-9)
    assert out["operational_kgco2e"] == pytest.approx(op1 + op2, rel=1e-9)
    assert out["embodied_kgco2e"] == pytest.approx(emb1, rel=1e-9)
    assert out["network_kgco2e"] == pytest.approx(net, rel=1e-9)
    d1, d2 = out["devices"]
    assert d1["operational_kgco2e"] == pytest.approx(op1, rel=1e-9)
    assert d1["embodied_kgco2e"] == pytest.approx(emb1, rel=1e-9)
    assert d2["operational_kgco2e"] == pytest.approx(op2, rel=1e-9)
    assert abs(d2["embodied_kgco2e"]) < 1e-12
    assert out["energy_kwh"] == pytest.approx(3 * 0.25 * 40 * 1.3 + 12.5 + 4.0, rel=1e-12)
    assert out["method"] == "IPCC 2021 | climate change | global warming potential (GWP100)"


def test_frame_rows_sum_to_totals(lca_dir):
    df = footprint(SMALL, lca_dir=lca_dir)
    assert df.height == 3 and set(df["component"]) == {"device", "network"}
    assert df["total_kgco2e"].sum() == pytest.approx(sum(hand()), rel=1e-9)


@pytest.mark.filterwarnings("ignore:All values in characterization matrix are zero")
def test_other_categories_are_characterised_by_brightway(lca_dir):
    out = footprint_dict(SMALL, lca_dir=lca_dir)
    cats = out["categories"]
    # all emissions are fossil CO2, whose factor is 1 in every IPCC GWP: same score
    for name in ("IPCC 2021 | climate change | global warming potential (GWP20)",
                 "IPCC 2013 | climate change | global warming potential (GWP100)",
                 "IPCC 2021 | climate change: fossil | global warming potential (GWP100)"):
        assert cats[name]["score"] == pytest.approx(out["total_kgco2e"], rel=1e-12)
    # a method whose factors do not touch CO2 gives 0 and is not reported; computed on request it is 0
    gtp = footprint_dict(SMALL, lca_dir=lca_dir,
                         method="IPCC 2021 | climate change: biogenic | global warming potential (GWP100)")
    assert gtp["total_kgco2e"] == 0.0


def test_country_grid_reproduces_catalog_intensity(lca_dir):
    from workbench.catalog import grid

    text = SMALL.replace("carbon_intensity_g_per_kwh = 300", 'country = "DEU"')
    out = footprint_dict(text, lca_dir=lca_dir)
    # the market is calibrated so that one kWh emits the catalog's reported intensity
    assert out["total_kgco2e"] == pytest.approx(sum(hand(grid.carbon_intensity_g_per_kwh("DEU"))), rel=1e-9)


def test_every_market_matches_catalog_and_mix_structure(lca_dir, bw):
    import numpy as np

    from workbench.catalog import grid
    from workbench.lca.inventory import FOREGROUND, catalog_inputs, mix_intensity_g_per_kwh
    from workbench.lca.sweep import UnitImpacts

    unit = UnitImpacts.from_project(devices=(), lca_dir=lca_dir)
    reported = np.array([grid.carbon_intensity_g_per_kwh(c) for c in unit.countries]) / 1000
    np.testing.assert_allclose(unit.grid_kgco2e_per_kwh, reported, rtol=1e-9)  # float64 solve
    # The unscaled mix-derived intensity differs from the reported one (different studies behind the
    # per-source factors and the reported totals); it is kept on the market with the factor k.
    inputs = catalog_inputs()
    fra = bw.get_node(database=FOREGROUND, code="electricity|grid|FRA")
    src = inputs.source_intensity_g_per_kwh
    mix = {s: v for s, v in grid.energy_mix("FRA").items() if s in src and v > 0}
    expected = mix_intensity_g_per_kwh(mix, src) / sum(mix.values())
    assert fra["mix_intensity_g_per_kwh"] == pytest.approx(expected, rel=1e-12)
    assert fra["calibration_factor"] == pytest.approx(grid.carbon_intensity_g_per_kwh("FRA") / expected, rel=1e-12)
    # France: codecarbon's per-source factors (nuclear 29 g) give about 95 g against 56 g reported
    assert 80 < expected < 110 and fra["calibration_factor"] < 0.7


def test_brightway_processed_database_agrees(lca_dir, bw):
    """The database as bw2data processes it (float32 amounts) gives the same footprint to ~1e-7."""
    import bw2calc as bc

    out = footprint_dict(SMALL, lca_dir=lca_dir, keep=True)
    node = bw.get_node(database=out["database"], code="scenario")
    lca = bc.LCA({node: 1.0}, method=("IPCC 2021", "climate change", "global warming potential (GWP100)"))
    lca.lci()
    lca.lcia()
    assert lca.score == pytest.approx(out["total_kgco2e"], rel=1e-6)  # float32 storage in bw_processing
    del bw.databases[out["database"]]


@pytest.mark.parametrize("fname, published, rtol", [
    # Luccioni, Viguier & Ligozat (2023), JMLR 24(253): total 50.5 tCO2eq (dynamic 24.69 t, idle 14.6 t,
    # embodied 11.2 t); the issue asks for 2 %
    ("bloom_176b.toml", {"total_kgco2e": 50.5e3, "embodied_kgco2e": 11.2e3}, 0.02),
    # Patterson et al. (2021), arXiv:2104.10350, Table 4, GPT-3: 1,287 MWh and 552 tCO2e
    ("gpt3_175b.toml", {"total_kgco2e": 552e3, "energy_kwh": 1287e3}, 0.02),
])
def test_published_training_footprints(lca_dir, fname, published, rtol):
    out = footprint_dict(SCENARIOS / fname, lca_dir=lca_dir)
    for key, value in published.items():
        assert out[key] == pytest.approx(value, rel=rtol), key


def test_bloom_components(lca_dir):
    out = footprint_dict(SCENARIOS / "bloom_176b.toml", lca_dir=lca_dir)
    gpu, server, idle = out["devices"]
    # paper: dynamic 24.69 t = 433,196 kWh x 57 g; GPUs 3.64 t, servers 7.57 t; idle 14.6 t
    assert gpu["energy_kwh"] == pytest.approx(433_196, rel=1e-6)
    assert gpu["operational_kgco2e"] == pytest.approx(24.69e3, rel=1e-3)
    assert gpu["embodied_kgco2e"] == pytest.approx(3.64e3, rel=2e-3)
    assert server["embodied_kgco2e"] == pytest.approx(7.57e3, rel=2e-3)
    assert idle["operational_kgco2e"] == pytest.approx(14.6e3, rel=3e-3)


BAD = [  # (scenario text, error class, what the message must name)
    (SMALL.replace("carbon_intensity_g_per_kwh = 300", 'country = "FRQ"'), UnknownNameError, "'FRQ'.*'FRA'"),
    (SMALL.replace("hours = 40", "hours = -40"), ScenarioError, r"\(my-gpu\)\.hours = -40 is negative"),
    (SMALL.replace("utilization = 0.7", "utilization = 1.7"), ScenarioError, r"utilization = 1\.7 is outside \(0, 1\]"),
    (SMALL.replace('technology = "4g"', 'technology = "6g"'), UnknownNameError, "'6g'.*'5g'"),
    (SMALL.replace('name = "small"\n', ""), ScenarioError, "lacks the required key 'name'"),
    (SMALL.replace("count = 3", "count = = 3"), ScenarioFormatError, "line 7, column 9"),
]


@pytest.mark.parametrize("text, error, match", BAD)
def test_bad_input_writes_nothing(lca_dir, bw, text, error, match):
    before = set(bw.databases)
    n_nodes = len(bw.Database("workbench-foreground"))
    # The engine raises a WorkbenchError (what the CLI turns into one `error:` line and exit code 2)
    # of the specific class, naming the bad value or its place in the file, before writing anything.
    with pytest.raises(WorkbenchError, match=match) as info:
        footprint_dict(text, lca_dir=lca_dir)
    assert isinstance(info.value, error), type(info.value)
    assert set(bw.databases) == before and len(bw.Database("workbench-foreground")) == n_nodes


def test_negative_monte_carlo_is_refused_before_brightway(tmp_path):
    from workbench.errors import ParameterError

    # checked before the project is opened: the (empty) data directory is not even created
    with pytest.raises(ParameterError, match=r"monte_carlo must be an integer ≥ 0, got -5\. Fix: "):
        footprint_dict(SMALL, lca_dir=tmp_path / "never", monte_carlo=-5)
    assert not (tmp_path / "never").exists()


def test_scenario_database_is_removed_after_use(lca_dir, bw):
    before = set(bw.databases)
    footprint_dict(SMALL, lca_dir=lca_dir)
    assert set(bw.databases) == before
