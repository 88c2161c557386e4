"""Every notebook of notebooks/ executes under papermill with small parameters, twice.

Checks: the report holds every promised artefact (executed notebooks, offline HTML, tables as CSV,
figures as SVG/PDF/PNG, manifest), the HTML loads nothing from the network, and a second render
with the same parameters and the same inputs gives byte-identical CSV tables and SVG figures.
The notebooks themselves stay thin: a tagged parameters cell, no function or class definitions,
no committed outputs, the project's kernel.
"""

from __future__ import annotations

import ast
import re
from html import escape as html_escape
from pathlib import Path

import nbformat
import polars as pl
import pytest

from workbench.reports.figures import min_printed_font_pt
from workbench.reports.html import external_references
from workbench.reports.kernel import KERNEL_NAME
from workbench.reports.manifest import compare, read_manifest
from workbench.reports.provenance import STATES, TDP_CAVEAT, is_state_column
from workbench.reports.render import discover_notebooks, render_report

from ._page_checks import interactive_figures, vega_page_checks

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
STEMS = [p.stem for p in discover_notebooks(NOTEBOOKS)]
PAPER_STEMS = STEMS
"""Every page is fit for a paper (issue 19): provenance on every artefact, a findings block on every page."""


def small_params(tmp: Path) -> dict:
    """Parameters that keep every notebook to seconds: two tiny models, few repeats, short energy windows."""
    per_notebook = {
        "02_datasets": {"inference_model": "retinanet", "nn_meter_reference": "xiaomi-mi-9"},
        "03_cost_models": {"variants_per_family": 2, "kinds": ["flops", "additive"], "predict_kind": "additive",
                           "models_to_predict": ["mlp", "resnet8"], "fewshot_k": [10], "fewshot_seeds": 2},
        "04_footprint": {"devices": ["raspberry-pi-4b", "a100-sxm4-40gb"], "monte_carlo": 20,
                         "lca_dir": str(tmp / "brightway")},
        "05_compression_cascades": {"methods": ["int8-dynamic", "prune-structured"], "epochs": 2,
                                    "fine_tune_epochs": 1, "thresholds": [0.5, 0.9], "meter": "none",
                                    "energy_window_s": 0.0},
        "06_placement": {"technologies": ["3g", "wifi"], "sweep_bandwidths_mbps": [1.0, 100.0],
                         "shift_repeats": 1},
        "07_federated": {"clients": 4, "rounds": 2, "calibration_s": 0.2},
        "08_adaptive": {"intervals": 96},
    }
    return {
        "store": str(tmp / "runs"), "models": ["mlp", "fc-autoencoder-ad"], "dtypes": ["fp32", "int8"],
        "repeats": 3, "warmup": 1, "energy_window_s": 0.2, "meter": "auto",
        "notebooks": {k: v for k, v in per_notebook.items() if k in STEMS},
    }


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nb")
    params = small_params(tmp)
    first = render_report("small", params=params, notebooks_dir=NOTEBOOKS, reports_dir=tmp / "a", progress=False)
    second = render_report("small", params=params, notebooks_dir=NOTEBOOKS, reports_dir=tmp / "b", progress=False)
    return first, second


@pytest.mark.slow
def test_every_notebook_renders_every_promised_artefact(renders):
    report, _ = renders
    m = read_manifest(report)
    assert m["status"] == "ok"
    assert [n["notebook"] for n in m["notebooks"]] == STEMS
    for stem in STEMS:
        assert (report / f"{stem}.html").is_file() and (report / "notebooks" / f"{stem}.ipynb").is_file()
        arts = [a for a in m["artefacts"] if a["notebook"] == stem]
        assert any(a["kind"] == "table" for a in arts) and any(a["kind"] == "figure" for a in arts), stem
    for a in m["artefacts"]:
        suffixes = sorted(Path(p).suffix for p in a["paths"])
        assert suffixes == ([".csv"] if a["kind"] == "table" else [".pdf", ".png", ".svg"]), a
        assert all((report / p).stat().st_size > 0 for p in a["paths"])
    store_inputs = [i for i in m["inputs"] if i["role"] == "run-store"]
    assert store_inputs and all(len(i["sha256"]) == 64 for i in store_inputs)


@pytest.mark.slow
def test_html_is_offline(renders):
    report, _ = renders
    for page in sorted(report.glob("*.html")):
        html = page.read_text()
        assert external_references(html) == [], page.name
        assert "<script src=" not in html, page.name


@pytest.mark.slow
def test_interactive_figures_carry_tooltips_and_one_inline_vega_bundle_per_page(renders):
    report, _ = renders
    m = read_manifest(report)
    for n in m["notebooks"]:
        html = (report / n["html"]).read_text()
        assert vega_page_checks(html, interactive_figures(m, n["notebook"])) == [], n["notebook"]
    # 05: accuracy/size, accuracy/latency and the cascade's trade-off; 06: the Pareto front of placements
    assert interactive_figures(m, "05_compression_cascades") == 3
    assert interactive_figures(m, "06_placement") == 1
    assert interactive_figures(m, "00_overview") == 0
    assert "window.vegaEmbed=" not in (report / "00_overview.html").read_text()


@pytest.mark.slow
def test_second_render_is_identical(renders):
    a, b = renders
    res = compare(a, b)
    # every table and figure that is not marked fresh is byte-identical (CSV, SVG, PNG)
    assert res["differ"] == [] and res["only_a"] == res["only_b"] == []
    assert any(f.endswith(".csv") for f in res["identical"]) and any(f.endswith(".svg") for f in res["identical"])
    # notebooks reading the store (00, 01) and the LCA (04) are identical even in their measured tables:
    # the second render measured nothing new; only 05 and 07, which train and time their variants (07: its
    # federated runs) at render time, may differ, and only in the artefacts they mark fresh
    assert all(f.startswith(("05_", "07_")) for f in res["differ_measured"]), res["differ_measured"]
    m = read_manifest(a)
    deterministic = [p for art in m["artefacts"] if not art["fresh"] for p in art["paths"]
                     if not p.endswith(".pdf")]
    assert len(deterministic) >= 10
    for p in deterministic:
        assert (a / p).read_bytes() == (b / p).read_bytes(), p
    # the second render read the same store files (measuring happened once)
    hashes = lambda m: sorted(i["sha256"] for i in m["inputs"] if i["role"] == "run-store")  # noqa: E731
    assert hashes(read_manifest(a)) == hashes(read_manifest(b))


# ---------------------------------------------------------------------- a report fit for a paper (issue 19)
@pytest.mark.slow
def test_every_artefact_states_provenance_among_the_four_matching_its_rows(renders):
    report, _ = renders
    m = read_manifest(report)
    for a in [a for a in m["artefacts"] if a["notebook"] in PAPER_STEMS]:
        assert a["provenance"] and set(a["provenance"]) <= set(STATES), (a["notebook"], a["name"], a["provenance"])
        if a["kind"] == "table":
            df = pl.read_csv(report / a["paths"][0], infer_schema_length=0)
            cols = [c for c in df.columns if is_state_column(c)]
            assert cols, f"{a['name']} has no provenance column"
            in_rows = {s for c in cols for v in df[c].drop_nulls().to_list() for s in v.split("+")}
            assert in_rows <= set(a["provenance"]) <= set(STATES), (a["name"], in_rows, a["provenance"])
        else:
            svg = (report / next(p for p in a["paths"] if p.endswith(".svg"))).read_text()
            for state in a["provenance"]:
                assert f">{state}:" in svg or f">{state}<" in svg, (a["name"], state)  # said in the figure itself
            if any("TDP" in d for d in a["provenance"].get("estimated", [])):
                assert TDP_CAVEAT.split(" (")[0] in svg, a["name"]


@pytest.mark.slow
def test_pages_open_with_findings_without_none_cells_tracebacks_or_stderr(renders):
    report, _ = renders
    m = read_manifest(report)
    for n in [n for n in m["notebooks"] if n["notebook"] in PAPER_STEMS]:
        html = (report / n["html"]).read_text()
        assert 2 <= len(n["findings"]) <= 5, (n["notebook"], n["findings"])
        top = html.index('class="wb-findings"')
        assert top < min(i for i in (html.find("<img"), html.find("<table"), len(html)) if i >= 0), n["notebook"]
        assert "<td>None</td>" not in html and "<td>nan</td>" not in html, n["notebook"]
        assert "Traceback" not in html and 'data-mime-type="application/vnd.jupyter.stderr"' not in html, n["notebook"]
        assert "first 30 of" not in html and "index.html" in html, n["notebook"]  # no walls; a link back
    index = (report / "index.html").read_text()
    assert all(s in index for s in STATES) and "Key findings" in index
    assert all(html_escape(f) in index for n in m["notebooks"] for f in n["findings"][:1])


@pytest.mark.slow
def test_manifest_records_how_to_reproduce_the_report(renders):
    report, _ = renders
    r = read_manifest(report)["reproducibility"]
    assert set(r["git"]) == {"commit", "dirty", "changed_paths"}
    assert r["git"]["commit"] is None or re.fullmatch(r"[0-9a-f]{40}", r["git"]["commit"])
    assert r["cpu_model"] and r["cpu_count"] >= 1 and len(r["load_average_before"]) == len(r["load_average_after"]) == 3
    assert set(r["threads"]) == set(STEMS)
    assert len(r["catalog"]["sha256"]) == 64 and len(r["brightway_foreground_sha256"]) == 64
    m = read_manifest(report)
    assert all(not Path(i["path"]).is_absolute() for i in m["inputs"])


@pytest.mark.slow
def test_exported_figures_print_text_at_8pt_or_more_in_one_column(renders):
    report, _ = renders
    svgs = sorted((report / "figures").glob("*.svg"))
    assert svgs
    small = {p.name: round(min_printed_font_pt(p.read_text()), 2) for p in svgs
             if min_printed_font_pt(p.read_text()) < 8.0 - 1e-9}
    assert small == {}


@pytest.mark.parametrize("stem", STEMS)
def test_notebook_is_thin(stem):
    nb = nbformat.read(str(NOTEBOOKS / f"{stem}.ipynb"), as_version=4)
    assert nb.metadata["kernelspec"]["name"] == KERNEL_NAME
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    assert "output_dir" in code[0].source
    for c in code:
        assert c.get("outputs", []) == [] and c.get("execution_count") is None, "outputs must not be committed"
        tree = ast.parse(c.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                                ast.Lambda))]
        assert defs == [], "functions belong in the package (workbench.reports), not in notebooks"
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        for n in imports:
            mods = [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""]
            assert all(m.split(".")[0] == "workbench" for m in mods), f"notebooks import from workbench only: {mods}"
