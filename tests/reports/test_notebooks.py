"""Every notebook of notebooks/ executes under papermill with small parameters, twice.

Checks: the report holds every promised artefact (executed notebooks, offline HTML, tables as CSV,
figures as SVG/PDF/PNG, manifest), the HTML loads nothing from the network, and a second render
with the same parameters and the same inputs gives byte-identical CSV tables and SVG figures.
The notebooks themselves stay thin: a tagged parameters cell, no function or class definitions,
no committed outputs, the project's kernel.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from workbench.reports.html import external_references
from workbench.reports.kernel import KERNEL_NAME
from workbench.reports.manifest import compare, read_manifest
from workbench.reports.render import discover_notebooks, render_report

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
STEMS = [p.stem for p in discover_notebooks(NOTEBOOKS)]


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
def test_second_render_is_identical(renders):
    a, b = renders
    res = compare(a, b)
    # every table and figure that is not marked measured is byte-identical (CSV, SVG, PNG)
    assert res["differ"] == [] and res["only_a"] == res["only_b"] == []
    assert any(f.endswith(".csv") for f in res["identical"]) and any(f.endswith(".svg") for f in res["identical"])
    # notebooks reading the store (00, 01) and the LCA (04) are identical even in their measured tables:
    # the second render measured nothing new; only 05, which trains and times its variants at render
    # time, may differ, and only in the artefacts it marks measured
    assert all(f.startswith("05_") for f in res["differ_measured"]), res["differ_measured"]
    m = read_manifest(a)
    deterministic = [p for art in m["artefacts"] if not art["measured"] for p in art["paths"]
                     if not p.endswith(".pdf")]
    assert len(deterministic) >= 10
    for p in deterministic:
        assert (a / p).read_bytes() == (b / p).read_bytes(), p
    # the second render read the same store files (measuring happened once)
    hashes = lambda m: sorted(i["sha256"] for i in m["inputs"] if i["role"] == "run-store")  # noqa: E731
    assert hashes(read_manifest(a)) == hashes(read_manifest(b))


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
