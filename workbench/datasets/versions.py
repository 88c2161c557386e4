"""Which dataset, and which version of it, a public data file is: the words a report's ``imported``
provenance uses.

The public datasets (``../shared/data``, one folder each) carry a ``PROVENANCE.md`` naming the
repository, snapshot commit and date they were copied from. :data:`FILE_VERSIONS` states that per
file in one line (dataset, version or round, short commit and date where the provenance file
gives one); a file not listed is described from its folder's ``PROVENANCE.md`` (its heading, the
first commit and date it names), and failing that by its file name.

Examples
--------
>>> dataset_version("shared/data/nn-meter-model-latency/nnmeter_model_latency_wide.csv")
'nn-Meter latencies (microsoft/nn-Meter 4ca1750, 2021-05-17)'
"""

from __future__ import annotations

import re
from pathlib import Path

_GOPHERS = "5Gophers 1.0 (Narayanan et al. 2020; jhzuo/Offloading-FL 7133b70)"
_TINY = "MLPerf Tiny v0.5–v1.1 (tiny_results_v1.1 c32ef94)"
_CODECARBON = "codecarbon reference data (mlco2/codecarbon b05965e, 2026-08-08)"

FILE_VERSIONS: dict[str, str] = {
    "mlperf_tiny_summary.csv": _TINY,
    "mlperf_tiny_systems.csv": _TINY,
    "mlperf_inference_v4.1_v5.1_summary.csv":
        "MLPerf Inference v4.1 (4a0c874, 2024-11-05) and v5.1 (965182b, 2025-09-09) summaries",
    "nnmeter_model_latency_wide.csv": "nn-Meter latencies (microsoft/nn-Meter 4ca1750, 2021-05-17)",
    "mlenergy_v1_2023_llm_benchmark.csv": "ML.ENERGY leaderboard v1 (ml-energy/leaderboard-v2 7d45d08, 2023-09-29)",
    "mlenergy_v2_2024_configs.csv": "ML.ENERGY leaderboard v2 (ml-energy/leaderboard-v2 c3af7f3, 2024)",
    "mlenergy_v2_2024_models.csv": "ML.ENERGY leaderboard v2 (ml-energy/leaderboard-v2 c3af7f3, 2024)",
    "mlenergy_v3_2026_configs.csv": "ML.ENERGY leaderboard v3 (ml-energy/leaderboard 0cd52da, 2026-02-27)",
    "throughput.csv": _GOPHERS,
    "round_trip_times.csv": _GOPHERS,
    "mobility_car_1.csv": _GOPHERS,
    "mobility_car_2.csv": _GOPHERS,
    "mobility_walking.csv": _GOPHERS,
    "watttime_example.csv": "WattTime CAISO North marginal, 2023-06-08 to 07-08 (dos-group/vessim 408ed48)",
    "ger_ci_2020.csv": "Germany average carbon intensity 2020 (dos-group/vessim 19e39b1, 2023-03-19)",
    "global_energy_mix.csv": _CODECARBON,
    "cpu_power.csv": _CODECARBON,
    "cloud_region_impact.csv": _CODECARBON,
}
"""Public data file name → its dataset and version, as the datasets' ``PROVENANCE.md`` files state them."""

_COMMIT = re.compile(r"\b([0-9a-f]{40})\b")
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def dataset_version(path: str | Path) -> str:
    """The dataset and version a public data file belongs to (see :data:`FILE_VERSIONS`).

    Parameters
    ----------
    path : str or Path
        A file of the public datasets folder (it need not exist when its name is listed).

    Returns
    -------
    str
        E.g. ``"nn-Meter latencies (microsoft/nn-Meter 4ca1750, 2021-05-17)"``; for an unlisted
        file, ``"HEADING (COMMIT7, DATE)"`` from its folder's ``PROVENANCE.md``, else the file name.
    """
    p = Path(path)
    if p.name in FILE_VERSIONS:
        return FILE_VERSIONS[p.name]
    prov = p.parent / "PROVENANCE.md"
    if not prov.is_file():
        return p.name
    text = prov.read_text(encoding="utf-8", errors="replace")
    heading = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("#")), p.parent.name)
    bits = [m.group(1)[:7] for m in [_COMMIT.search(text)] if m] + [m.group(1) for m in [_DATE.search(text)] if m]
    return f"{heading} ({', '.join(bits)}; file {p.name})" if bits else f"{heading} (file {p.name})"


def dataset_versions(paths) -> list[str]:
    """:func:`dataset_version` of each of ``paths``, each dataset once, sorted."""
    return sorted({dataset_version(p) for p in paths})
