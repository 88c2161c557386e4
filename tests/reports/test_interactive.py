"""Interactive figures in the HTML report: a Vega view with tooltips over the static SVG, the Vega
JavaScript inlined once per page, nothing fetched from the network, exported files unchanged.

No kernel runs here: the figure's outputs are captured from IPython's display and put into a
notebook by hand, which is what papermill would store.
"""

from __future__ import annotations

import json

import nbformat
import polars as pl
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from workbench.reports import charts
from workbench.reports.html import add_vega_runtime, notebook_to_html, vega_bundle
from workbench.reports.output import NotebookOutput, vega_figure_html

from ._page_checks import vega_page_checks


@pytest.fixture(scope="module")
def pareto() -> pl.DataFrame:
    return pl.DataFrame({"latency_ms": [1.0, 2.0, 4.0, 8.0], "carbon_g": [4.0, 2.0, 1.5, 1.0],
                         "technology": ["4g", "4g", "5g", "wifi"], "provenance": ["predicted"] * 4})


def _captured(shown: list) -> list:
    return [new_output("display_data", data=d, metadata=m) for d, m in shown]


@pytest.fixture()
def captured(monkeypatch):
    """IPython's display, recorded as (data, metadata) pairs instead of printed."""
    import IPython.display as ipd

    shown = []

    def fake_display(obj, metadata=None, **_):
        data = {"text/html": obj.data} if hasattr(obj, "data") and isinstance(obj.data, str) else {"text/plain": repr(obj)}
        shown.append((data, metadata or {}))

    monkeypatch.setattr(ipd, "display", fake_display)
    return shown


def test_interactive_figure_exports_the_same_files(tmp_path, pareto, captured):
    chart = charts.tradeoff_chart(pareto, x="latency_ms", y="carbon_g", color="technology", title="front",
                                  x_title="latency [ms]", y_title="carbon [g]")
    plain, inter = NotebookOutput(tmp_path / "a", "06_x"), NotebookOutput(tmp_path / "b", "06_x")
    plain.figure("front", chart)
    inter.figure("front", chart, interactive=True)
    for ext in ("svg", "png"):  # the PDF carries its creation time: equal in content, not in bytes
        a = (tmp_path / "a" / "figures" / f"06_x__front.{ext}").read_bytes()
        b = (tmp_path / "b" / "figures" / f"06_x__front.{ext}").read_bytes()
        assert a == b, ext
    assert plain.artefacts[0]["paths"] == inter.artefacts[0]["paths"]
    assert (plain.artefacts[0]["interactive"], inter.artefacts[0]["interactive"]) == (False, True)  # manifest says so
    (plain_html, _), (inter_html, meta) = [(d["text/html"], m) for d, m in captured]
    assert "wb-vega" not in plain_html and "<img" in plain_html
    assert meta == {"workbench": "vega"}
    assert "class='wb-vega'" in inter_html and "<img" in inter_html  # the static SVG stays as the fallback
    assert "href='figures/06_x__front.svg'" in inter_html


def test_page_carries_the_bundle_once_and_every_spec(tmp_path, pareto, captured):
    chart = charts.tradeoff_chart(pareto, x="latency_ms", y="carbon_g", color="technology", title="front",
                                  x_title="latency [ms]", y_title="carbon [g]")
    out = NotebookOutput(tmp_path / "r", "06_x")
    out.figure("one", chart, interactive=True)
    out.figure("two", chart, interactive=True)
    out.figure("static", chart)
    nb = new_notebook(cells=[new_markdown_cell("# page"), new_code_cell("", outputs=_captured(captured))])
    nbformat.write(nb, tmp_path / "06_x.ipynb")
    html = notebook_to_html(tmp_path / "06_x.ipynb", tmp_path / "06_x.html").read_text()
    assert vega_page_checks(html, 2) == []
    assert html.count(vega_bundle()) == 1
    assert html.rfind("window.vegaEmbed=") > html.rfind("data-figure=")  # after the figures, before </body>
    assert html.index("window.vegaEmbed=") < html.rindex("</body>")


def test_page_without_interactive_figures_has_no_script(tmp_path, pareto, captured):
    out = NotebookOutput(tmp_path / "r", "00_x")
    out.figure("static", charts.tradeoff_chart(pareto, x="latency_ms", y="carbon_g", color="technology",
                                               title="front", x_title="latency [ms]", y_title="carbon [g]"))
    nb = new_notebook(cells=[new_markdown_cell("# page"), new_code_cell("", outputs=_captured(captured))])
    nbformat.write(nb, tmp_path / "00_x.ipynb")
    html = notebook_to_html(tmp_path / "00_x.ipynb", tmp_path / "00_x.html").read_text()
    assert vega_page_checks(html, 0) == []
    assert add_vega_runtime(html) == html


def test_spec_cannot_close_its_script_block(pareto):
    t = pareto.with_columns(pl.lit("a</script><b>").alias("technology"))
    chart = charts.tradeoff_chart(t, x="latency_ms", y="carbon_g", color="technology", title="</script>",
                                  x_title="latency [ms]", y_title="carbon [g]")
    block = vega_figure_html("x", chart, "<svg width='10'></svg>", "<img/>", [])
    inner = block.split("class='wb-vega-spec'>", 1)[1]
    assert inner.index("</script>") == inner.index("}</script>") + 1  # the first closing tag is the block's own
    assert json.loads(inner[: inner.index("</script>")].replace("<\\/", "</"))["title"]


def test_bundle_is_inline_safe():
    js = vega_bundle()
    assert "</script" not in js.lower() and "window.vegaEmbed=" in js


def test_spec_of_a_chart_with_missing_and_infinite_numbers_is_json():
    import altair as alt

    chart = alt.Chart({"values": [{"a": 1.0, "b": float("nan")}]}).mark_point().encode(x="a:Q", y="b:Q").properties(
        title=alt.TitleParams("t"), width=float("inf"))
    block = vega_figure_html("x", chart, "<svg width='10'></svg>", "<img/>", [])
    spec = json.loads(block.split("class='wb-vega-spec'>", 1)[1].split("</script>", 1)[0])
    rows = [r for d in (spec.get("datasets") or {"values": spec["data"]["values"]}).values() for r in d]
    assert rows == [{"a": 1.0, "b": None}] and spec["width"] is None
