"""The papermill pipeline on tiny notebooks: artefacts, manifest, offline HTML, failures, reproducibility.

Executing a notebook costs seconds (kernel start, imports, vl-convert), so one module-scoped render
serves the read-only checks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from workbench.errors import ParameterError, UnknownNameError
from workbench.reports.html import external_references
from workbench.reports.manifest import compare, read_manifest
from workbench.reports.render import ReportFailedError, discover_notebooks, render_report, swap_in

from .conftest import write_tiny_notebooks  # noqa: E402  (tests/reports/conftest.py)


def _tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def params_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("params") / "p.toml"
    p.write_text('n = 4\n\n[notebooks."01"]\nscale = 0.5\n')
    return p


@pytest.fixture(scope="module")
def report(tiny_notebooks, params_file, tmp_path_factory) -> Path:
    return render_report("r", params=params_file, notebooks_dir=tiny_notebooks,
                         reports_dir=tmp_path_factory.mktemp("reports"), progress=False)


def test_report_holds_every_promised_artefact(report):
    files = set(_tree(report))
    for stem in ("00_a", "01_b"):
        assert {f"{stem}.html", f"notebooks/{stem}.ipynb", f"tables/{stem}__squares.csv"} <= files
        assert {f"figures/{stem}__squares.{ext}" for ext in ("svg", "pdf", "png")} <= files
    assert {"manifest.json", "index.html"} <= files
    assert not any(f.startswith(".") for f in files)  # the notebooks' bookkeeping folder is gone
    # the parameters reached the notebooks: n = 4 rows, and scale 0.5 only in 01_b (0.5 * 3² = 4.5)
    assert pl.read_csv(report / "tables/00_a__squares.csv")["y"].to_list() == [0.0, 1.0, 4.0, 9.0]
    assert pl.read_csv(report / "tables/01_b__squares.csv")["y"].to_list() == [0.0, 0.5, 2.0, 4.5]
    assert (report / "figures/00_a__squares.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (report / "figures/00_a__squares.pdf").read_bytes()[:5] == b"%PDF-"
    assert (report / "figures/00_a__squares.svg").read_text().startswith("<svg")


def test_manifest_records_parameters_inputs_versions_and_artefacts(report, params_file):
    m = read_manifest(report)
    assert m["status"] == "ok" and m["failure"] is None
    assert m["parameters"] == {"00_a": {"n": 4, "scale": 1.0}, "01_b": {"n": 4, "scale": 0.5}}
    # paths are relative to the report folder
    assert (report / m["params_file"]["path"]).resolve() == params_file.resolve()
    assert len(m["params_file"]["sha256"]) == 64
    assert all(not Path(i["path"]).is_absolute() and (report / i["path"]).is_file() for i in m["inputs"])
    assert sorted(i["role"] for i in m["inputs"]) == ["notebook", "notebook"]
    assert all(len(i["sha256"]) == 64 for i in m["inputs"])
    for pkg in ("python", "papermill", "nbconvert", "altair", "vl-convert-python", "polars", "torch"):
        assert pkg in m["packages"]
    assert m["started_utc"] <= m["finished_utc"] and m["duration_s"] > 0
    assert [(n["notebook"], n["status"]) for n in m["notebooks"]] == [("00_a", "ok"), ("01_b", "ok")]
    arts = {(a["notebook"], a["kind"], a["name"]) for a in m["artefacts"]}
    assert arts == {(s, k, "squares") for s in ("00_a", "01_b") for k in ("table", "figure")}
    table = next(a for a in m["artefacts"] if a["kind"] == "table" and a["notebook"] == "00_a")
    assert table["rows"] == 4 and table["fresh"] is False and table["provenance"] == {}


def test_html_renders_offline_without_code(report):
    for page in ("00_a.html", "01_b.html", "index.html"):
        html = (report / page).read_text()
        assert external_references(html) == [], page
        assert "<script src=" not in html, page
    html = (report / "00_a.html").read_text()
    assert "NotebookOutput(" not in html  # input cells are excluded
    assert "data:image/svg+xml;base64," in html  # the figure travels inside the page


def test_same_parameters_give_identical_tables_and_svg(report, tiny_notebooks, params_file, tmp_path):
    again = render_report("r", params=params_file, notebooks_dir=tiny_notebooks, reports_dir=tmp_path,
                          progress=False)
    ta, tb = _tree(report), _tree(again)
    reproducible = [f.rsplit("/", 1)[-1] for f in ta if f.endswith((".csv", ".svg", ".png"))]
    assert len(reproducible) == 6
    assert [f for f in ta if f.endswith((".csv", ".svg", ".png")) and ta[f] != tb[f]] == []
    res = compare(report, again)
    assert res["differ"] == [] and res["differ_measured"] == []
    assert set(reproducible) <= set(res["identical"])  # PDFs may differ (random font-subset names)


def test_failing_notebook_leaves_previous_report_untouched(report, add_failing_notebook, tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(report, reports / "r")  # an earlier, good report of the same name
    before = _tree(reports / "r")
    nbs = write_tiny_notebooks(tmp_path / "notebooks", stems=("00_a",))
    add_failing_notebook(nbs, "01_fails")
    with pytest.raises(ReportFailedError) as err:
        render_report("r", notebooks_dir=nbs, reports_dir=reports, progress=False, params={"n": 7})
    msg = str(err.value)
    assert "01_fails cell 2 (In [" in msg and "ZeroDivisionError" in msg and "untouched" in msg
    assert _tree(reports / "r") == before  # byte for byte
    failed = reports / "r.failed"
    m = read_manifest(failed)
    assert m["status"] == "failed"
    f = m["failure"]
    # cell 2 of the source notebook (markdown, parameters, failing cell); papermill's injected cell
    # makes it cell 3 of the executed one
    assert (f["notebook"], f["cell_index"], f["executed_cell_index"], f["ename"]) == ("01_fails", 2, 3,
                                                                                      "ZeroDivisionError")
    assert "1 / divisor" in f["cell_source"] and any("ZeroDivisionError" in t for t in f["traceback"])
    assert [n["status"] for n in m["notebooks"]] == ["ok", "failed"]
    assert (failed / "notebooks/01_fails.ipynb").is_file()  # the executed notebook, error included
    assert not list(reports.glob(".r.tmp-*"))
    # with the notebook fixed, a successful render replaces the report and clears the failure
    (nbs / "01_fails.ipynb").unlink()
    render_report("r", notebooks_dir=nbs, reports_dir=reports, progress=False, params={"n": 2})
    assert pl.read_csv(reports / "r/tables/00_a__squares.csv").height == 2
    assert not (reports / "r/tables/01_b__squares.csv").exists()  # the folder was replaced whole
    assert not failed.exists()


def test_bad_parameters_fail_before_anything_runs(tiny_notebooks, tmp_path):
    reports = tmp_path / "reports"
    with pytest.raises(UnknownNameError, match=r"unknown report parameter 'scal'.*Did you mean 'scale'"):
        render_report("r", notebooks_dir=tiny_notebooks, reports_dir=reports, params={"scal": 2})
    with pytest.raises(ParameterError, match=r"parameter 'n' of 00_a expects a int"):
        render_report("r", notebooks_dir=tiny_notebooks, reports_dir=reports, params={"n": "five"})
    with pytest.raises(UnknownNameError, match="unknown notebook '07'"):
        render_report("r", notebooks_dir=tiny_notebooks, reports_dir=reports, params={"notebooks": {"07": {"n": 1}}})
    with pytest.raises(ParameterError, match="report name"):
        render_report("../x", notebooks_dir=tiny_notebooks, reports_dir=reports)
    with pytest.raises(ParameterError, match="no report notebooks"):
        render_report("r", notebooks_dir=tmp_path / "nowhere", reports_dir=reports)
    assert not reports.exists()  # nothing was created


def test_select_notebooks_by_number_or_stem(tiny_notebooks):
    assert [p.stem for p in discover_notebooks(tiny_notebooks, ["01"])] == ["01_b"]
    assert [p.stem for p in discover_notebooks(tiny_notebooks, ["01_b", "00"])] == ["00_a", "01_b"]
    with pytest.raises(UnknownNameError, match="Did you mean '01_b'"):
        discover_notebooks(tiny_notebooks, ["01_c"])


def test_swap_in_replaces_a_folder_whole(tmp_path):
    final, new = tmp_path / "r", tmp_path / ".r.tmp"
    for d, f in ((final, "only-old.txt"), (new, "only-new.txt")):
        d.mkdir()
        (d / f).write_text(d.name)
    swap_in(new, final)
    assert [p.name for p in final.iterdir()] == ["only-new.txt"]
    assert not new.exists()
    new.mkdir()
    swap_in(new, tmp_path / "fresh")  # no earlier folder: a plain rename
    assert (tmp_path / "fresh").is_dir() and not new.exists()
