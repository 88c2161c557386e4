"""Render a report: execute the notebooks with papermill, export HTML, write the manifest, swap in.

:func:`render_report` is what ``workbench report`` runs. Layout of ``reports/NAME/``::

    manifest.json              parameters, input hashes, package versions, timestamps, artefacts
    index.html                 contents: notebooks, figures, tables (offline)
    00_overview.html ...       each notebook as HTML without input cells (offline, figures inline)
    notebooks/00_overview.ipynb ...   the executed notebooks
    tables/00_overview__*.csv  tables
    figures/00_overview__*.{svg,pdf,png}   figures (vl-convert)

The report is rendered into a temporary folder beside its destination (``reports/.NAME.tmp-*``)
and swapped in only when every notebook ran, so the previous report of that name stays intact
until the new one is complete. When a notebook fails, the partial render is kept as
``reports/NAME.failed/`` with a manifest whose ``status`` is ``failed`` and whose ``failure``
names the notebook, the cell and the error; :class:`ReportFailedError` is raised.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
import uuid
from pathlib import Path

from workbench.errors import ParameterError, UnknownNameError, WorkbenchError
from workbench.reports import manifest as mf
from workbench.reports.data import ensure_runs
from workbench.reports.folders import clean_stale, lock, swap_in
from workbench.reports.html import external_references, index_html, notebook_to_html
from workbench.reports.kernel import KERNEL_NAME, WorkbenchKernelManager
from workbench.reports.output import ARTEFACT_DIR
from workbench.reports.params import load_params, resolve_parameters

_NOTEBOOK = re.compile(r"^\d\d_[A-Za-z0-9_-]+\.ipynb$")
_REPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

MEASURE_PARAMETERS = ("models", "dtypes", "batch_sizes", "repeats", "warmup", "meter", "energy_window_s", "measure")
"""Parameters that describe the profiled runs a notebook reads (see :func:`workbench.reports.data.ensure_runs`)."""


class ReportFailedError(WorkbenchError):
    """A notebook of a report failed; the previous report of that name is untouched."""

    def __init__(self, name: str, failure: dict, failed_dir: Path, report_dir: Path):
        self.failure, self.failed_dir, self.report_dir = failure, failed_dir, report_dir
        where = f"{failure['notebook']}"
        if failure.get("cell_index") is not None:
            where += f" cell {failure['cell_index']} (In [{failure.get('execution_count')}])"
        kept = (f"the previous report in {report_dir}/ is untouched" if report_dir.exists()
                else f"no earlier report {report_dir}/ existed")
        super().__init__(
            f"report {name!r} failed in {where}: {failure.get('ename')}: {str(failure.get('evalue')).rstrip('.')}; "
            f"{kept}; the partial render with the executed notebooks is in {failed_dir}/ "
            f"(manifest.json holds the traceback).")


def discover_notebooks(notebooks_dir: str | Path, select: list[str] | None = None) -> list[Path]:
    """Report notebooks (``NN_name.ipynb``) in a folder, in order; ``select`` keeps those named
    by stem or by number.

    Raises
    ------
    ParameterError
        If the folder holds none.
    UnknownNameError
        For a selection that matches no notebook.
    """
    d = Path(notebooks_dir)
    found = sorted(p for p in d.glob("*.ipynb") if _NOTEBOOK.match(p.name)) if d.is_dir() else []
    if not found:
        raise ParameterError(f"no report notebooks (NN_name.ipynb) in {d}. Fix: run from the repository root "
                             "or pass --notebooks DIR.")
    if not select:
        return found
    out = []
    for s in select:
        hits = [p for p in found if p.stem == s or p.stem.split("_", 1)[0] == s]
        if not hits:
            raise UnknownNameError("notebook", s, [p.stem for p in found], "select by stem or number")
        out += [h for h in hits if h not in out]
    return sorted(out)


# ---------------------------------------------------------------------- measuring phase
def _measure_phase(params: dict, progress: bool) -> list[dict]:
    """Profile, once, what the notebooks' runs parameters ask for and the store lacks."""
    done, out = set(), []
    for stem, p in params.items():
        if not (p.get("store") and p.get("models") and p.get("measure")):
            continue
        kw = {k: p[k] for k in MEASURE_PARAMETERS if k in p}
        key = json.dumps({"store": p["store"], **kw}, sort_keys=True, default=str)
        if key in done:
            continue
        done.add(key)
        if progress:
            print(f"runs for {stem}: {', '.join(p['models'])} (measure={p['measure']})", file=sys.stderr)
        ensure_runs(p["store"], progress=progress, **kw)
        out.append({"store": p["store"], **kw})
    return out


# ---------------------------------------------------------------------- the steps of render_report
def _check_report_name(name: str) -> None:
    if not _REPORT_NAME.match(name or ""):
        raise ParameterError(f"report name {name!r} must be letters, digits, '_', '-' or '.' and not start with "
                             "'.' (it is a folder name). Fix: e.g. --name default.")


def _read_overrides(params: dict | str | Path | None) -> tuple[Path | None, dict | None]:
    """The parameters file (if ``params`` names one) and the overrides it holds, else ``params`` itself."""
    if isinstance(params, (str, Path)):
        params_file = Path(params)
        return params_file, load_params(params_file)
    return None, params


def _new_tmp(reports_dir: Path, name: str) -> Path:
    """A fresh render folder beside the report (``.NAME.tmp-PID-RANDOM``) with its ``notebooks/``."""
    tmp = reports_dir / f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    (tmp / "notebooks").mkdir(parents=True)
    return tmp


def _new_manifest(name: str, started: str, resolved: dict, params_file: Path | None, overrides: dict | None,
                  final: Path, notebooks_dir: Path) -> dict:
    """The manifest of a render that is starting (status ``running``, nothing executed yet)."""
    return {
        "name": name, "status": "running", "started_utc": started,
        "reproducibility": mf.reproducibility_start(Path(notebooks_dir).resolve()),
        "parameters": resolved, "params_file": mf.file_entry(params_file, "parameters", final) if params_file else None,
        "overrides": overrides or {}, "packages": mf.package_versions(), "environment": mf.environment(),
        "kernel": {"name": KERNEL_NAME, "python": sys.executable}, "notebooks": [], "artefacts": [],
        "inputs": [], "measured_runs": [], "failure": None,
    }


def _execute_notebooks(notebooks: list[Path], resolved: dict, tmp: Path, manifest: dict, *, name: str,
                       progress: bool, execution_timeout_s: float | None) -> dict | None:
    """Execute the notebooks in order into ``tmp``, each then exported to HTML, until one fails.

    Each notebook's entry (status, HTML page, duration [s]) is appended to ``manifest["notebooks"]``.
    Returns the failure (see :func:`_failure_from`), or None when every notebook ran.
    """
    import papermill as pm  # seconds to import: only a render needs it

    for i, nb in enumerate(notebooks, 1):
        stem = nb.stem
        out_nb = tmp / "notebooks" / nb.name
        entry = {"notebook": stem, "source": mf.relative_path(nb, tmp.parent / name), "title": _title(nb),
                 "executed": f"notebooks/{nb.name}", "html": None, "status": "running", "started_utc": mf.utc_now()}
        manifest["notebooks"].append(entry)
        failure = None
        t1 = time.monotonic()
        try:
            pm.execute_notebook(
                str(nb), str(out_nb), parameters={**resolved[stem], "output_dir": str(tmp.resolve())},
                kernel_name=KERNEL_NAME, language="python", kernel_manager_class=WorkbenchKernelManager,
                cwd=str(nb.parent.resolve()), log_output=False, execution_timeout=execution_timeout_s,
                progress_bar={"desc": f"[{i}/{len(notebooks)}] {stem}", "file": sys.stderr,
                              "leave": True} if progress else False,
            )
            html = notebook_to_html(out_nb, tmp / f"{stem}.html", title=f"{name}: {stem}")
            entry.update(status="ok", html=html.name)
        except Exception as exc:  # papermill's execution error, kernel death, HTML check
            failure = _failure_from(exc, stem, out_nb)
            entry["status"] = "failed"
        finally:
            entry["duration_s"] = round(time.monotonic() - t1, 3)
        if failure:
            return failure
    return None


def _title(nb: Path) -> str:
    """The first Markdown heading of a notebook (its page title), else its stem."""
    try:
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "markdown":
                for line in "".join(cell["source"]).splitlines():
                    if line.startswith("#"):
                        return line.lstrip("#").strip()
    except (OSError, ValueError, KeyError):
        pass
    return nb.stem


def _failure_from(exc, stem: str, executed: Path) -> dict:
    """What failed: notebook, cell (index in the *source* notebook), error and traceback."""
    from papermill.exceptions import PapermillExecutionError  # papermill takes seconds to import

    if isinstance(exc, PapermillExecutionError):
        index = exc.cell_index
        try:  # papermill inserts an 'injected-parameters' cell; count cells as in the source notebook
            import nbformat  # slow to import (its JSON-schema validators); only needed on a failure

            cells = [c for c in nbformat.read(str(executed), as_version=4).cells  # without papermill's banners
                     if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
            injected = [i for i, c in enumerate(cells) if "injected-parameters" in c.metadata.get("tags", [])]
            index -= sum(1 for i in injected if i < exc.cell_index)
        except Exception:
            pass
        return {"notebook": stem, "cell_index": index, "executed_cell_index": exc.cell_index,
                "execution_count": exc.exec_count, "cell_source": exc.source, "ename": exc.ename,
                "evalue": _ANSI.sub("", str(exc.evalue)), "traceback": [_ANSI.sub("", t) for t in exc.traceback]}
    return {"notebook": stem, "cell_index": None, "executed_cell_index": None, "execution_count": None,
            "cell_source": None, "ename": type(exc).__name__, "evalue": str(exc), "traceback": []}


def _collect_artefacts(tmp: Path) -> tuple[list[dict], list[dict], dict]:
    """Artefacts, recorded inputs and, per notebook, its findings and threads from the notebooks' lists."""
    arts, inputs, per_notebook = [], [], {}
    d = tmp / ARTEFACT_DIR
    for f in sorted(d.glob("*.json")) if d.is_dir() else []:
        doc = json.loads(f.read_text())
        for a in doc["artefacts"]:
            arts.append({"notebook": doc["notebook"], **a})
        inputs += [{**i, "notebook": doc["notebook"]} for i in doc["inputs"]]
        per_notebook[doc["notebook"]] = {"findings": doc.get("findings", []), "threads": doc.get("threads")}
    return arts, inputs, per_notebook


def _record_outputs(manifest: dict, tmp: Path, notebooks: list[Path], resolved: dict, t0: float,
                    final: Path) -> None:
    """Artefacts, inputs (notebooks, run stores, files the notebooks recorded; paths relative to ``final``),
    findings, the reproducibility record and timing into the manifest; the notebooks' artefact lists are
    removed from ``tmp``."""
    arts, nb_inputs, per_notebook = _collect_artefacts(tmp)
    manifest["artefacts"] = arts
    for n in manifest["notebooks"]:
        n["findings"] = per_notebook.get(n["notebook"], {}).get("findings", [])
    manifest["reproducibility"] = mf.reproducibility_finish(
        manifest["reproducibility"], {k: v["threads"] for k, v in per_notebook.items()})
    store_dirs = sorted({p["store"] for p in resolved.values() if isinstance(p.get("store"), str)})
    manifest["inputs"] = (
        [mf.file_entry(nb, "notebook", final) for nb in notebooks]
        + [e for d in store_dirs for e in mf.store_inputs(d, final)]
        + [{**i, "path": mf.relative_path(i["path"], final)} for i in nb_inputs])
    manifest["finished_utc"] = mf.utc_now()
    manifest["duration_s"] = round(time.monotonic() - t0, 3)
    shutil.rmtree(tmp / ARTEFACT_DIR, ignore_errors=True)


def _missing_artefacts(manifest: dict, tmp: Path) -> dict | None:
    """A failure naming the artefacts that notebooks recorded but did not write, or None."""
    missing = [p for a in manifest["artefacts"] for p in a["paths"] if not (tmp / p).is_file()]
    if not missing:
        return None
    return {"notebook": None, "cell_index": None, "ename": "MissingArtefact",
            "evalue": f"artefacts recorded but not written: {missing[:5]}", "traceback": []}


def _publish(manifest: dict, tmp: Path, final: Path, failed_dir: Path) -> None:
    """Complete a successful render (manifest, index page) and swap it in for ``final``."""
    manifest["status"] = "ok"
    mf.write_manifest(tmp / "manifest.json", manifest)
    index = index_html(manifest)
    assert not external_references(index), external_references(index)
    (tmp / "index.html").write_text(index, encoding="utf-8")
    swap_in(tmp, final)
    shutil.rmtree(failed_dir, ignore_errors=True)  # an older failure is no longer current


def _keep_failed(manifest: dict, failure: dict, tmp: Path, failed_dir: Path) -> None:
    """Record ``failure`` in the manifest and move the partial render to ``failed_dir`` (replacing an older one)."""
    manifest["status"] = "failed"
    manifest["failure"] = failure
    mf.write_manifest(tmp / "manifest.json", manifest)
    if failed_dir.exists():
        shutil.rmtree(failed_dir)
    os.rename(tmp, failed_dir)


def render_report(name: str = "default", *, params: dict | str | Path | None = None,
                  notebooks_dir: str | Path = "notebooks", reports_dir: str | Path = "reports",
                  select: list[str] | None = None, progress: bool = True,
                  execution_timeout_s: float | None = 1800) -> Path:
    """Execute the report notebooks and write ``reports_dir/name/`` (see the module docstring).

    Parameters
    ----------
    name : str
        Report name (folder under ``reports_dir``).
    params : dict or path, optional
        Overrides of the notebooks' default parameters, or a TOML/JSON/YAML file holding them
        (see :mod:`workbench.reports.params`).
    notebooks_dir : path
        Folder of the ``NN_name.ipynb`` notebooks.
    reports_dir : path
        Parent folder of reports.
    select : list of str, optional
        Render only these notebooks (stem or number).
    progress : bool
        Progress bars on stderr (measuring, then each notebook's cells).
    execution_timeout_s : float or None
        Longest a single cell may run [s].

    Returns
    -------
    Path
        The report folder.

    Raises
    ------
    ReportFailedError
        When a notebook fails (the previous report stays; the partial one is in ``NAME.failed/``).
    ParameterError, UnknownNameError
        For bad parameters or names, before anything runs.
    """
    _check_report_name(name)
    t0 = time.monotonic()
    started = mf.utc_now()
    notebooks = discover_notebooks(notebooks_dir, select)
    params_file, overrides = _read_overrides(params)
    resolved = resolve_parameters(notebooks, overrides)
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    final = reports_dir / name
    failed_dir = reports_dir / f"{name}.failed"

    with lock(reports_dir, name):
        clean_stale(reports_dir, name)
        tmp = _new_tmp(reports_dir, name)
        manifest = _new_manifest(name, started, resolved, params_file, overrides, final, notebooks_dir)
        try:
            manifest["measured_runs"] = _measure_phase(resolved, progress)
            failure = _execute_notebooks(notebooks, resolved, tmp, manifest, name=name, progress=progress,
                                         execution_timeout_s=execution_timeout_s)
            _record_outputs(manifest, tmp, notebooks, resolved, t0, final)
            failure = failure or _missing_artefacts(manifest, tmp)
            if failure is None:
                _publish(manifest, tmp, final, failed_dir)
                return final
            _keep_failed(manifest, failure, tmp, failed_dir)
            raise ReportFailedError(name, failure, failed_dir, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # leave no half-written folder (the failed one was moved)
            raise
