"""Dataset and version of each public data file, as the reports' ``imported`` provenance names them."""

from __future__ import annotations

import re

from workbench.datasets.public import DATASET_FOLDERS
from workbench.datasets.versions import FILE_VERSIONS, dataset_version, dataset_versions
from workbench.reports import provenance as pv

_COMMIT7 = re.compile(r"\b[0-9a-f]{7}\b")


def test_every_file_the_reports_read_names_its_dataset_and_commit(shared_dir):
    folders = list(DATASET_FOLDERS.values()) + ["5gophers-network-traces", "vessim-carbon-signal"]
    files = [p for f in folders for p in sorted((shared_dir / f).glob("*.csv"))]
    assert files
    for p in files:
        assert p.name in FILE_VERSIONS, p  # listed, not guessed from the folder's PROVENANCE.md
        label = dataset_version(p)
        assert _COMMIT7.search(label), label  # the snapshot it was read from


def test_listed_commits_are_those_of_the_provenance_files(shared_dir):
    """Each short commit of a listed label is a commit its folder's PROVENANCE.md names."""
    for p in sorted(shared_dir.glob("*/*.csv")):
        if p.name not in FILE_VERSIONS:
            continue
        named = set(re.findall(r"\b([0-9a-f]{7})[0-9a-f]{33}\b", (p.parent / "PROVENANCE.md").read_text()))
        assert set(_COMMIT7.findall(FILE_VERSIONS[p.name])) <= named, p


def test_unlisted_file_is_described_from_its_provenance_file(tmp_path):
    (tmp_path / "PROVENANCE.md").write_text("# Some traces\n\n- Repository: x/y, commit "
                                            + "ab" * 20 + " (2024-01-02).\n")
    assert dataset_version(tmp_path / "new.csv") == "Some traces (abababa, 2024-01-02; file new.csv)"
    assert dataset_version(tmp_path / "sub" / "x.csv") == "x.csv"  # no provenance file: its name


def test_imported_provenance_names_dataset_and_version():
    files = ["d/nn-meter-model-latency/nnmeter_model_latency_wide.csv", "d/mlperf-tiny/mlperf_tiny_summary.csv",
             "d/mlperf-tiny/mlperf_tiny_systems.csv"]
    assert dataset_versions(files) == sorted({FILE_VERSIONS["nnmeter_model_latency_wide.csv"],
                                              FILE_VERSIONS["mlperf_tiny_summary.csv"]})
    prov = pv.imported_files(files)
    assert prov == {"imported": dataset_versions(files)}
    assert "nn-Meter" in pv.describe(prov) and "2021-05-17" in pv.describe(prov)
    assert pv.imported_files([]) == {}
