"""``manifest.json`` of a report: parameters, input hashes, package versions, timestamps, artefacts.

The manifest says what a report was made from and of: every input file with its SHA-256 (notebook
sources, the parameters file, the run-store files, datasets the notebooks recorded), the versions of
the packages that computed it, when it ran, each notebook's status and duration, and each artefact
(table or figure) with its SHA-256 and whether it holds measured values. :func:`compare` uses that
to say whether two renders agree.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from workbench.reports.output import sha256_file

MANIFEST_VERSION = 1

PACKAGES = (
    "continuum-workbench", "torch", "torchao", "numpy", "pandas", "polars", "pyarrow", "scikit-learn",
    "brightway25", "bw2data", "bw2calc", "bw2io", "codecarbon", "altair", "vl-convert-python", "papermill",
    "nbconvert", "nbclient", "ipykernel", "jupyter_client",
)
"""Packages whose versions every manifest records."""

NOT_REPRODUCIBLE_SUFFIXES = (".pdf",)
"""Artefact files whose bytes differ between identical exports (PDF font-subset names are random)."""


def utc_now() -> str:
    """Current UTC time as ISO 8601 with a ``Z`` suffix, to the second."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def package_versions() -> dict:
    """Versions of :data:`PACKAGES` that are installed, and of Python."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def environment() -> dict:
    """Interpreter and machine the report ran on."""
    return {"python_executable": sys.executable, "platform": platform.platform(), "machine": platform.machine()}


def file_entry(path: str | Path, role: str) -> dict:
    """One input file: absolute path, role, size [B] and SHA-256."""
    p = Path(path).resolve()
    return {"path": str(p), "role": role, "bytes": p.stat().st_size, "sha256": sha256_file(p)}


def store_inputs(store_dir: str | Path) -> list[dict]:
    """Every run file (and per-layer file) of a run store, as input entries, sorted by path."""
    d = Path(store_dir)
    if not d.is_dir():
        return []
    files = sorted(d.glob("*.parquet")) + sorted((d / "layers").glob("*.parquet"))
    return [file_entry(f, "run-store") for f in files]


def write_manifest(path: str | Path, manifest: dict) -> Path:
    """Write ``manifest`` as indented JSON with sorted keys."""
    path = Path(path)
    path.write_text(json.dumps({"manifest_version": MANIFEST_VERSION, **manifest}, indent=2, sort_keys=True,
                               default=str) + "\n", encoding="utf-8")
    return path


def read_manifest(report_dir: str | Path) -> dict:
    """The manifest of a rendered report folder."""
    return json.loads((Path(report_dir) / "manifest.json").read_text(encoding="utf-8"))


def compare(a: dict | str | Path, b: dict | str | Path) -> dict:
    """Compare the artefacts of two renders (manifests or report folders).

    Returns
    -------
    dict
        ``identical``: files with the same SHA-256 in both; ``differ_measured``: differing files of
        artefacts marked measured (expected when timings were measured afresh); ``differ``: differing
        files of deterministic artefacts (a reproducibility failure unless inputs or parameters
        changed); ``not_compared``: differing PDFs (vl-convert gives embedded font subsets random
        names, so PDF bytes differ between exports of the same SVG); ``only_a`` / ``only_b``: files in one render only.
    """
    ma = a if isinstance(a, dict) else read_manifest(a)
    mb = b if isinstance(b, dict) else read_manifest(b)

    def files(m):
        out = {}
        for art in m.get("artefacts", []):
            for fname, digest in art["sha256"].items():
                out[fname] = (digest, art["measured"])
        return out

    fa, fb = files(ma), files(mb)
    res = {"identical": [], "differ_measured": [], "differ": [], "not_compared": [],
           "only_a": sorted(set(fa) - set(fb)), "only_b": sorted(set(fb) - set(fa))}
    for f in sorted(set(fa) & set(fb)):
        if f.endswith(NOT_REPRODUCIBLE_SUFFIXES) and fa[f][0] != fb[f][0]:
            res["not_compared"].append(f)
        elif fa[f][0] == fb[f][0]:
            res["identical"].append(f)
        elif fa[f][1] or fb[f][1]:
            res["differ_measured"].append(f)
        else:
            res["differ"].append(f)
    return res
