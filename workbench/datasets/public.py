"""The public datasets folder: read whichever datasets it holds, and say which were skipped and why.

The project keeps the public datasets beside the checkout (``../shared/data``; the reports find it
with :func:`workbench.reports.data.find_datasets_dir`), one sub-folder per dataset
(:data:`DATASET_FOLDERS`). :func:`load_public_data` reads those present through the importers
(:func:`workbench.datasets.load`) and records the files it read, so a report can hash them into
its manifest, and the reason each absent dataset was skipped, so a report on a fresh clone says
what is missing instead of failing. A file that is present but malformed still raises: a broken
dataset is an error, not a silent gap.

Examples
--------
>>> data = load_public_data(None, ["nn-meter"])
>>> data.has("nn-meter"), data.skipped
(False, {'nn-meter': 'no datasets folder'})
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.datasets import files_for, importer_module, load
from workbench.errors import ImportFormatError, UnknownNameError

DATASET_FOLDERS = {
    "mlperf-tiny": "mlperf-tiny",
    "mlperf-inference": "mlperf-inference",
    "ml-energy": "ml-energy-leaderboard",
    "nn-meter": "nn-meter-model-latency",
    "codecarbon": "codecarbon",
}
"""Dataset kind (:data:`workbench.datasets.KINDS`) → its sub-folder of the datasets folder."""


@dataclass(frozen=True)
class PublicData:
    """The public datasets one report read, the files behind them and what was skipped."""

    data_dir: Path | None
    """The datasets folder read (None: none was found)."""
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    """Dataset kind → validated measurement rows (:func:`workbench.datasets.load`)."""
    files: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    """Dataset kind → the files read (record them in the report's manifest)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Dataset kind → why it was not read."""

    def has(self, kind: str) -> bool:
        """Whether dataset ``kind`` was read and has rows."""
        return kind in self.frames and self.frames[kind].height > 0

    def all_files(self) -> list[Path]:
        """Every file read, in dataset order."""
        return [f for k in self.files for f in self.files[k]]


def load_public_data(data_dir, kinds=tuple(DATASET_FOLDERS)) -> PublicData:
    """Read the public datasets found in ``data_dir`` (each from its sub-folder, :data:`DATASET_FOLDERS`).

    A dataset whose folder or files are absent is skipped with its reason; a file that is present but
    malformed raises (a broken dataset is an error, not a silent gap).

    Parameters
    ----------
    data_dir : str or Path or None
        The datasets folder (:func:`workbench.reports.data.find_datasets_dir`); None skips every dataset.
    kinds : sequence of str
        Dataset kinds to read (keys of :data:`DATASET_FOLDERS`), e.g. ``["mlperf-tiny"]`` for one.

    Returns
    -------
    PublicData
        ``frames`` and ``files`` of the datasets read, ``skipped`` with the reason of the others.

    Raises
    ------
    UnknownNameError
        A kind that is not in :data:`DATASET_FOLDERS`.
    ImportFormatError
        A dataset file with missing columns or malformed rows.
    """
    kinds = list(kinds)
    for k in kinds:
        if k not in DATASET_FOLDERS:
            raise UnknownNameError("dataset kind", k, DATASET_FOLDERS)
    data_dir = Path(data_dir) if data_dir is not None else None
    frames, files, skipped = {}, {}, {}
    for kind in kinds:
        if data_dir is None:
            skipped[kind] = "no datasets folder"
            continue
        folder = data_dir / DATASET_FOLDERS[kind]
        if not folder.is_dir():
            skipped[kind] = f"no folder {DATASET_FOLDERS[kind]}/ in {data_dir}"
            continue
        try:
            found = files_for(kind, folder)
        except ImportFormatError:
            skipped[kind] = f"{DATASET_FOLDERS[kind]}/ holds none of {', '.join(importer_module(kind).FILE_NAMES)}"
            continue
        frames[kind] = load(kind, folder)
        files[kind] = tuple(found)
    return PublicData(data_dir, frames, files, skipped)
