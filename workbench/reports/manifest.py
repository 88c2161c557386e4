"""``manifest.json`` of a report: parameters, input hashes, package versions, timestamps, artefacts.

The manifest says what a report was made from and of: every input file with its SHA-256 (notebook
sources, the parameters file, the run-store files, datasets the notebooks recorded), the versions of
the packages that computed it, when it ran, each notebook's status and duration, and each artefact
(table or figure) with its SHA-256, its provenance (measured, estimated, predicted, imported:
:mod:`workbench.reports.provenance`) and whether it is ``fresh`` (values of runs at render time). The
``reproducibility`` record holds the git commit and dirty flag, the CPU, the load before and after,
the threads of every notebook and the digests of the device catalog and the Brightway foreground. :func:`compare` uses that
to say whether two renders agree.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from workbench.reports.output import sha256_file

MANIFEST_VERSION = 2
"""2: artefacts carry ``provenance`` (four states) and ``fresh`` instead of a yes/no ``measured``; a
``reproducibility`` record; input paths relative to the report folder."""

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


def relative_path(path: str | Path, report_dir: str | Path | None) -> str:
    """``path`` relative to the report folder (``../notebooks/00_overview.ipynb``), absolute without one."""
    p = Path(path).resolve()
    return os.path.relpath(p, Path(report_dir).resolve()) if report_dir is not None else str(p)


def file_entry(path: str | Path, role: str, report_dir: str | Path | None = None) -> dict:
    """One input file: path (relative to ``report_dir`` when given), role, size [B] and SHA-256."""
    p = Path(path).resolve()
    return {"path": relative_path(p, report_dir), "role": role, "bytes": p.stat().st_size, "sha256": sha256_file(p)}


def store_inputs(store_dir: str | Path, report_dir: str | Path | None = None) -> list[dict]:
    """Every run file (and per-layer file) of a run store, as input entries, sorted by path."""
    d = Path(store_dir)
    if not d.is_dir():
        return []
    files = sorted(d.glob("*.parquet")) + sorted((d / "layers").glob("*.parquet"))
    return [file_entry(f, "run-store", report_dir) for f in files]


# ---------------------------------------------------------------------- reproducibility record
def git_state(start: str | Path = ".") -> dict:
    """Commit of the checkout holding ``start`` and whether its tree has uncommitted changes.

    Returns
    -------
    dict
        ``commit`` (40 hex digits, or None outside a git checkout or without git), ``dirty`` (bool or
        None) and ``changed_paths`` (how many paths differ from the commit).
    """
    def git(*args):
        return subprocess.run(["git", "-C", str(start), *args], capture_output=True, text=True, timeout=30,
                              check=True).stdout
    try:
        commit = git("rev-parse", "HEAD").strip()
        changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "changed_paths": None}
    return {"commit": commit, "dirty": bool(changed), "changed_paths": len(changed)}


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else :func:`platform.processor`)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages [runnable processes], None where the OS has none."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def files_digest(paths) -> str:
    """One SHA-256 over several files (each file's name and digest, in sorted order)."""
    h = hashlib.sha256()
    for p in sorted(Path(p) for p in paths):
        h.update(f"{p.name}:{sha256_file(p)}\n".encode())
    return h.hexdigest()


def catalog_digest() -> dict:
    """SHA-256 of the device catalog's data files (:mod:`workbench.catalog`), one over all and per file."""
    from workbench import catalog

    files = sorted((Path(catalog.__file__).parent / "data").glob("*.csv"))
    return {"sha256": files_digest(files), "files": {f.name: sha256_file(f) for f in files}}


def foreground_digest() -> str | None:
    """Fingerprint (SHA-256) of the inputs of the Brightway foreground database
    (:meth:`workbench.lca.inventory.ForegroundInputs.fingerprint`), None when it cannot be built."""
    try:
        from workbench.lca.inventory import catalog_inputs

        return catalog_inputs().fingerprint()
    except Exception:  # a catalog that does not build fails in the notebook that uses it, with its message
        return None


def machine_record() -> dict:
    """The machine part of the reproducibility record: CPU model, logical cores, cores usable by this process."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "cpu_usable": usable,
            "platform": platform.platform()}


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
        artefacts marked ``fresh`` (values of runs at render time: expected to differ when timings were
        measured afresh); ``differ``: differing
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
                out[fname] = (digest, art.get("fresh", art.get("measured", False)))
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


def reproducibility_start(checkout: str | Path) -> dict:
    """The reproducibility record as a render starts: git state of ``checkout``, machine, load before,
    and the digests of the device catalog and the Brightway foreground's inputs."""
    return {"git": git_state(checkout), **machine_record(), "load_average_before": load_average(),
            "catalog": catalog_digest(), "brightway_foreground_sha256": foreground_digest(), "threads": {}}


def reproducibility_finish(record: dict, notebook_threads: dict) -> dict:
    """Complete a record of :func:`reproducibility_start`: the load after and the threads of each notebook."""
    return {**record, "load_average_after": load_average(), "threads": dict(sorted(notebook_threads.items()))}
