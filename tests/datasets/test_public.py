"""The public datasets folder (workbench.datasets.public): what is read, what is skipped and why."""

from __future__ import annotations

import pytest

from workbench import datasets
from workbench.datasets.public import DATASET_FOLDERS, PublicData, load_public_data
from workbench.errors import UnknownNameError


def test_every_dataset_kind_has_a_folder():
    assert set(DATASET_FOLDERS) == set(datasets.KINDS)
    for kind in datasets.KINDS:
        assert datasets.importer_module(kind).KIND == kind
    with pytest.raises(UnknownNameError, match="mlperf-tiny"):
        datasets.importer_module("mlperf-tinny")


def test_absent_folders_and_files_are_skipped_with_their_reason(tmp_path):
    assert load_public_data(None, ["nn-meter"]).skipped == {"nn-meter": "no datasets folder"}
    (tmp_path / "mlperf-tiny").mkdir()  # a folder without the dataset's file
    data = load_public_data(tmp_path)
    assert data.frames == {} and data.all_files() == [] and set(data.skipped) == set(DATASET_FOLDERS)
    assert data.skipped["mlperf-tiny"].startswith("mlperf-tiny/ holds none of ")
    assert data.skipped["nn-meter"] == f"no folder nn-meter-model-latency/ in {tmp_path}"
    assert not data.has("mlperf-tiny")


def test_unknown_dataset_kind_is_refused(tmp_path):
    with pytest.raises(UnknownNameError, match="mlperf-tiny"):
        load_public_data(tmp_path, ["mlperf-tinny"])


def test_public_datasets_load(shared_data):
    data = load_public_data(shared_data)
    assert isinstance(data, PublicData) and data.data_dir == shared_data
    # row counts of ../shared/data as documented in docs/data.md (importer output)
    assert {k: df.height for k, df in data.frames.items()} == {
        "mlperf-tiny": 240, "mlperf-inference": 2385, "ml-energy": 260 + 474 + 1858, "nn-meter": 99342}
    assert "codecarbon" in data.skipped  # the shared folder holds codecarbon's tables, not a user's emissions.csv
    assert [p.name for p in data.files["mlperf-tiny"]] == ["mlperf_tiny_summary.csv"]
    assert data.all_files() == [f for k in data.files for f in data.files[k]]
    one = load_public_data(shared_data, ["nn-meter"])
    cols = ["model", "device_name", "latency_ms_mean"]  # each load stamps its own import time and run id
    assert list(one.frames) == ["nn-meter"] and one.frames["nn-meter"].select(cols).equals(
        data.frames["nn-meter"].select(cols))
