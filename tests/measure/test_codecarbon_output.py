"""codecarbon's own offline tracker, with the workbench's output handler: its measurements become store rows."""

from __future__ import annotations

import json
import logging
import time

import codecarbon
import pytest

from workbench.errors import StoreError
from workbench.measure.codecarbon_output import StoreOutput
from workbench.units import kwh_to_j


def test_each_codecarbon_output_is_one_row_that_adds_up_to_its_total(tmp_store):
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    handler = StoreOutput(tmp_store)
    tracker = codecarbon.OfflineEmissionsTracker(country_iso_code="FRA", project_name="my-training",
                                                 output_handlers=[handler], save_to_file=False, log_level="error",
                                                 allow_multiple_runs=True)
    tracker.start()
    sum(range(300_000))
    tracker.flush()
    time.sleep(0.05)
    tracker.stop()
    rows = tmp_store.read()
    total = tracker.final_emissions_data
    assert rows.height == 2 and set(rows["model"]) == {"my-training"}
    assert rows["source"][0] == f"codecarbon {total.codecarbon_version}"
    assert set(rows["energy_scope"]) == {"run"} and set(rows["energy_method"]) <= {"rapl", "tdp-estimate"}
    assert (rows["energy_j"] > 0).all()  # codecarbon's estimate of a busy then idle process is never zero
    # the deltas add up to codecarbon's total energy (kWh → J by hand: × 3.6e6)
    assert rows["energy_j"].sum() == pytest.approx(total.energy_consumed * 3.6e6, rel=1e-9)
    assert rows["energy_j"].sum() == pytest.approx(kwh_to_j(total.energy_consumed), rel=1e-12)
    carbon_g = sum(json.loads(c)["carbon_g"] for c in rows["config_json"])
    assert carbon_g == pytest.approx(total.emissions * 1e3, rel=1e-6)
    assert len(handler.rows) == 2


def test_an_unwritable_store_fails_when_the_handler_is_built(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError):
        StoreOutput(blocker / "runs")
