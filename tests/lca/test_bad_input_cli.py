"""A corpus of bad scenarios through `workbench footprint`: one `error:` line naming the value, exit 2, nothing written.

Every case runs the real command line (``workbench.cli.main``) on a file written to a temporary
directory, against the session's Brightway project (``lca_dir``, built once). Most cases fail before
Brightway is touched; a few (an unknown LCIA method, an amount Brightway cannot store) fail after the
project is opened, which is where the database list could change.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lca._scenarios import BASE, SCENARIOS
from workbench.cli import main


def patched(*pairs: tuple[str, str]) -> str:
    text = BASE
    for old, new in pairs:
        assert old in text, old  # the corpus must change what it says it changes
        text = text.replace(old, new)
    return text


NO_LOCATION = patched(('[location]\ncountry = "FRA"\n', ""))
BIG_GROUP = patched(("count = 8", "count = 1e9"), ("power_w = 400", "power_w = 1e5"), ("hours = 100", "hours = 4e5"),
                    ("lifetime_years = 6", "lifetime_years = 49"))

# (case id, file content: str (UTF-8), bytes, or None for "no such file"/"directory", extra CLI args,
#  the substrings the single error line must contain: the bad value and what it is)
CASES = [
    # missing keys
    ("missing-name", patched(('name = "t"\n', "")), [], ["lacks the required key 'name'"]),
    ("missing-location", NO_LOCATION, [], ["lacks a [location] table"]),
    ("missing-hours", patched(("hours = 100\n", "")), [], ["(A100)", "'hours'"]),
    ("missing-gigabytes", patched(("gigabytes = 10.0\n", "")), [], ["network[0]", "'gigabytes'"]),
    ("no-devices-no-network", 'name = "t"\n[location]\ncountry = "FRA"\n', [], ["no [[devices]] and no [[network]]"]),
    ("unknown-key", patched(("utilization = 0.85", "utilisation = 0.85")), [], ["'utilisation'", "'utilization'"]),
    # wrong types
    ("power-as-string", patched(("power_w = 400", 'power_w = "400"')), [], ["power_w must be a number, got '400'"]),
    ("count-as-bool", patched(("count = 8", "count = true")), [], ["count must be a number, got True"]),
    ("devices-not-tables", 'name = "t"\ndevices = 3\n[location]\ncountry = "FRA"\n', [],
     ["devices must be an array of tables"]),
    ("location-not-table", patched(('[location]\ncountry = "FRA"\n', 'location = "FRA"\n')), [],
     ["location = 'FRA' is not a table"]),
    ("description-as-number", "description = 5\n" + BASE, [], ["description must be a string, got 5"]),
    ("allow-flag-as-string", 'allow_implausible = "yes"\n' + BASE, [],
     ["allow_implausible must be true or false, got 'yes'"]),
    ("year-as-string", patched(('technology = "fixed"', 'technology = "fixed"\nyear = "2024"')), [],
     ["network[0].year must be an integer, got '2024'"]),
    # negative and out-of-range numbers
    ("negative-hours", patched(("hours = 100", "hours = -5")), [], ["(A100).hours = -5 is negative"]),
    ("zero-count", patched(("count = 8", "count = 0")), [], ["count = 0 is negative or zero"]),
    ("pue-below-1", patched(("pue = 1.2", "pue = 0.9")), [], ["pue = 0.9 is below 1"]),
    ("utilization-above-1", patched(("utilization = 0.85", "utilization = 1.5")), [], ["utilization = 1.5", "(0, 1]"]),
    ("year-outside-trend", patched(('technology = "fixed"', 'technology = "fixed"\nyear = 1990')), [],
     ["network[0].year must be an integer ≥ 2010, got 1990"]),
    ("energy-in-two-ways", patched(("power_w = 400", "power_w = 400\nenergy_kwh = 3")), [], ["several ways"]),
    # absurd magnitudes (plausibility bounds)
    ("energy-1e30-kwh", patched(("power_w = 400\nhours = 100", "energy_kwh = 1e30\nhours = 100")), [],
     ["energy_kwh = 1e+30 kWh", "plausible maximum of 1e+12 kWh", "allow_implausible"]),
    ("grid-1e12-g", patched(('country = "FRA"', "carbon_intensity_g_per_kwh = 1e12")), [],
     ["carbon_intensity_g_per_kwh = 1e+12 g CO2-eq/kWh", "maximum of 2000", "Turkmenistan"]),
    ("power-1e300-w", patched(("power_w = 400", "power_w = 1e300")), [],
     ["power_w = 1e+300 W", "maximum of 1e+06 W", "DGX H100"]),
    ("grid-rel-sd-50", BASE + "[uncertainty]\ngrid_rel_sd = 50\n", [], ["grid_rel_sd = 50", "maximum of 3"]),
    ("hours-beyond-lifetime", patched(("hours = 100", "hours = 60000")), [],
     ["hours = 60000 h is more than the device's lifetime of 6 years (52560 h"]),
    ("hours-beyond-catalog-lifetime", patched(("lifetime_years = 6\n", ""), ("hours = 100", "hours = 40000")), [],
     ["hours = 40000 h", "lifetime of 4 years", "catalog's"]),
    ("pue-40", patched(("pue = 1.2", "pue = 40")), [], ["pue = 40 is above the plausible maximum of 4"]),
    ("count-1e12", patched(("count = 8", "count = 1e12")), [], ["count = 1e+12 devices"]),
    ("embodied-1e9-kg", patched(("embodied_kgco2e = 150", "embodied_kgco2e = 1e9")), [],
     ["embodied_kgco2e = 1e+09 kg"]),
    ("lifetime-500-years", patched(("lifetime_years = 6", "lifetime_years = 500")), [], ["lifetime_years = 500 years"]),
    ("gigabytes-1e20", patched(("gigabytes = 10.0", "gigabytes = 1e20")), [], ["gigabytes = 1e+20 GB"]),
    ("kwh-per-gb-5000", patched(('technology = "fixed"', 'technology = "fixed"\nkwh_per_gb = 5000')), [],
     ["kwh_per_gb = 5000 kWh/GB", "136 kWh/GB"]),
    ("inference-energy-1e12-j", patched(("power_w = 400", "energy_per_inference_j = 1e12\ninferences = 10")), [],
     ["energy_per_inference_j = 1e+12 J"]),
    ("group-energy-4e16-kwh", BIG_GROUP, [], ["the group's energy", "= 4.8e+16 kWh is above"]),
    ("overflow-even-if-allowed", "allow_implausible = true\n" + patched(("power_w = 400", "power_w = 1e300"),
                                                                       ("hours = 100", "hours = 1e300")), [],
     ["overflows", "inf kWh"]),
    ("beyond-float32-even-if-allowed", patched(("power_w = 400\nhours = 100", "energy_kwh = 1e200\nhours = 100")),
     ["--allow-implausible"], ["cannot be stored by Brightway", "float32"]),
    # NaN and infinity written in TOML
    ("nan-power", patched(("power_w = 400", "power_w = nan")), [], ["power_w must be finite, got nan"]),
    ("inf-hours", patched(("hours = 100", "hours = inf")), [], ["hours must be finite, got inf"]),
    ("minus-inf-gigabytes", patched(("gigabytes = 10.0", "gigabytes = -inf")), [],
     ["gigabytes must be finite, got -inf"]),
    # unknown names
    ("unknown-country", patched(('country = "FRA"', 'country = "FRQ"')), [], ["unknown country 'FRQ'", "'FRA'"]),
    ("unknown-device", patched(('name = "A100"', 'name = "my-board"'), ("embodied_kgco2e = 150\n", "")), [],
     ["unknown device 'my-board'", "embodied_kgco2e"]),
    ("unknown-technology", patched(('technology = "fixed"', 'technology = "fixd"')), [],
     ["unknown network technology 'fixd'"]),
    ("unknown-pue-kind", patched(("pue = 1.2", 'pue = "hyperscal"')), [],
     ["unknown PUE kind 'hyperscal'", "'hyperscale'"]),
    ("unknown-method", BASE, ["--method", "IPCC 2021 | climate change | GWP1000"],
     ["unknown LCIA method 'IPCC 2021 | climate change | GWP1000'"]),
    ("method-without-levels", BASE, ["--method", "GWP100"], ["method 'GWP100' must list its levels"]),
    # bad command-line numbers
    ("negative-monte-carlo", BASE, ["--monte-carlo", "-5"], ["monte_carlo must be an integer ≥ 0, got -5"]),
    ("one-monte-carlo-draw", BASE, ["--monte-carlo", "1"], ["iterations must be an integer ≥ 2, got 1"]),
    ("negative-seed", BASE, ["--monte-carlo", "5", "--seed", "-1"], ["seed must be an integer ≥ 0, got -1"]),
    # files that are not scenario files
    ("no-such-file", None, [], ["no such file", "missing.toml", "data/scenarios"]),
    ("directory", "directory", [], ["is a directory, not a file", "one.toml"]),
    ("empty-file", "", [], ["the scenario is empty", "example.toml"]),
    ("comments-only", "# nothing but a comment\n\n", [], ["the scenario is empty"]),
    ("json-file", '{"name": "t", "location": {"country": "FRA"}}\n', [],
     ["is not valid TOML at line 1, column 1"]),
    ("csv-file", "name,country\nt,FRA\n", [], ["is not valid TOML at line 1"]),
    ("utf16-with-bom", BASE.encode("utf-16"), [], ["UTF-16", "save the file as UTF-8"]),
    ("utf16-without-bom", BASE.encode("utf-16-le"), [], ["NUL bytes", "line 1, column 2"]),
    ("latin1-byte", BASE.replace('name = "t"', 'name = "t\xe9"').encode("latin-1"), [],
     ["not UTF-8 text (byte 0xe9", "line 1, column 10"]),
]


@pytest.fixture(scope="module")
def bd(lca_dir):
    from workbench.lca.project import open_project

    return open_project(lca_dir)


def databases(bd, lca_dir) -> tuple[dict, set]:
    """The project's database metadata as stored on disk, and the databases its nodes belong to."""
    from bw2data.backends import ActivityDataset

    meta = json.loads((Path(bd.projects.dir) / "databases.json").read_text(encoding="utf-8"))
    nodes = {name for (name,) in ActivityDataset.select(ActivityDataset.database).distinct().tuples()}
    assert set(meta) >= {"biosphere3", "workbench-foreground"} and nodes <= set(meta)  # the probe reads the project
    return meta, nodes


def test_the_corpus_is_large_and_distinct():
    ids = [case[0] for case in CASES]
    assert len(ids) >= 20 and len(set(ids)) == len(ids)
    assert len({str(case[1]) + str(case[2]) for case in CASES}) == len(CASES)


@pytest.mark.parametrize("name, content, args, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_scenario_is_one_error_line_and_writes_nothing(bd, lca_dir, tmp_path, capsys, name, content, args,
                                                           expected):
    if content is None:
        path = tmp_path / "missing.toml"
    elif content == "directory":
        path = tmp_path / "scenarios"
        path.mkdir()
        (path / "one.toml").write_text(BASE, encoding="utf-8")
    else:
        path = tmp_path / "scenario.toml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    before = databases(bd, lca_dir)
    capsys.readouterr()
    code = main(["footprint", str(path), "--lca-dir", str(lca_dir), *args])
    out, err = capsys.readouterr()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert out == ""
    assert databases(bd, lca_dir) == before


def test_allow_implausible_accepts_what_the_bound_refuses(lca_dir, tmp_path, capsys):
    big = patched(("power_w = 400", "power_w = 2e6"))  # 2 MW per device: beyond the 1 MW bound
    path = tmp_path / "big.toml"
    path.write_text(big, encoding="utf-8")
    assert main(["footprint", str(path), "--lca-dir", str(lca_dir)]) == 2
    assert "power_w = 2e+06 W" in capsys.readouterr().err
    assert main(["footprint", str(path), "--lca-dir", str(lca_dir), "--format", "json", "--allow-implausible"]) == 0
    by_flag = json.loads(capsys.readouterr().out)
    path.write_text("allow_implausible = true\n" + big, encoding="utf-8")
    assert main(["footprint", str(path), "--lca-dir", str(lca_dir), "--format", "json"]) == 0
    by_key = json.loads(capsys.readouterr().out)
    assert by_flag["total_kgco2e"] == by_key["total_kgco2e"]
    # 8 devices x 2 MW x 100 h x PUE 1.2 = 1.92e6 kWh: the value was used as given
    assert by_key["energy_kwh"] == pytest.approx(8 * 2e3 * 100 * 1.2 + 10 * 0.03, rel=1e-12)


def test_a_path_without_toml_suffix_is_read_as_a_file(lca_dir, tmp_path, capsys):
    path = tmp_path / "scenario.txt"
    path.write_text(BASE, encoding="utf-8")
    assert main(["footprint", str(path), "--lca-dir", str(lca_dir), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["scenario"] == "t"
    path.with_suffix(".bom").write_bytes(b"\xef\xbb\xbf" + BASE.encode())  # a UTF-8 byte-order mark is fine
    assert main(["footprint", str(path.with_suffix(".bom")), "--lca-dir", str(lca_dir)]) == 0


@pytest.mark.parametrize("fname", sorted(p.name for p in SCENARIOS.glob("*.toml")))
def test_every_shipped_scenario_passes_the_bounds(lca_dir, capsys, fname):
    assert main(["footprint", str(SCENARIOS / fname), "--lca-dir", str(lca_dir), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_kgco2e"] > 0
