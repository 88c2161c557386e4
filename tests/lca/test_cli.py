"""`workbench footprint` and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.cli import main

SCENARIOS = Path(__file__).resolve().parents[2] / "data" / "scenarios"


def test_footprint_json_and_table(lca_dir, capsys):
    assert main(["footprint", str(SCENARIOS / "example.toml"), "--format", "json", "--lca-dir", str(lca_dir)]) == 0
    out = json.loads(capsys.readouterr().out)  # stdout is pure JSON
    for key in ("energy_kwh", "operational_kgco2e", "embodied_kgco2e", "network_kgco2e", "total_kgco2e",
                "method", "devices"):
        assert key in out
    assert out["total_kgco2e"] == pytest.approx(out["operational_kgco2e"] + out["embodied_kgco2e"]
                                                + out["network_kgco2e"], rel=1e-9)
    assert main(["footprint", str(SCENARIOS / "example.toml"), "--lca-dir", str(lca_dir)]) == 0
    text = capsys.readouterr().out
    assert "8 x a100-sxm4-40gb" in text and "total" in text


def test_footprint_errors_exit_2(lca_dir, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[location]\ncountry = "FRA"\n[[devices]]\nname = "A100"\npower_w = 400\n'
                   'hours = 1\nutilization = 1.2\n')
    assert main(["footprint", str(bad), "--lca-dir", str(lca_dir)]) == 2
    err = capsys.readouterr().err
    assert "utilization" in err and "(0, 1]" in err
    bad.write_text('name = "x"\n[location\n')
    assert main(["footprint", str(bad), "--lca-dir", str(lca_dir)]) == 2
    assert "line 2" in capsys.readouterr().err
    assert main(["footprint", str(tmp_path / "missing.toml"), "--lca-dir", str(lca_dir)]) == 2
