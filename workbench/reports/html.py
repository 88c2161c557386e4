"""Offline HTML from executed notebooks: no input cells, no script or stylesheet from the network.

nbconvert's ``lab`` template loads require.js, MathJax and mermaid from CDNs and, for notebooks with
widgets, the widget manager. :data:`OFFLINE_TEMPLATE` extends it with those blocks emptied; the
theme CSS is already inlined by the template. Figures reach the HTML as inline SVG (see
:mod:`workbench.reports.output`), so a page reads without JavaScript; a page holding interactive
figures (``NotebookOutput.figure(..., interactive=True)``) gets the Vega JavaScript once, inline
(:func:`add_vega_runtime`), which draws them with tooltips over their static SVG.
:func:`external_references` is the check the runner applies to every page before it accepts a
report; :func:`index_html` is the report's contents page.
"""

from __future__ import annotations

import functools
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import jinja2

OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
"""Jinja template: nbconvert's lab template without any script loaded from a URL."""

_REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


class _RefParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "embed", "audio", "video", "source") and a.get("src"):
            if _REMOTE.match(a["src"]):
                self.refs.append(f"<{tag} src={a['src']}>")
        if tag == "link" and a.get("href") and _REMOTE.match(a["href"]):
            self.refs.append(f"<link href={a['href']}>")
        if tag == "object" and a.get("data") and _REMOTE.match(a["data"]):
            self.refs.append(f"<object data={a['data']}>")


def external_references(html: str) -> list[str]:
    """Every resource an HTML page would fetch from the network (scripts, stylesheets, images, frames).

    Plain hyperlinks (``<a href>``) are not resources and are not listed. CSS ``@import url(http...)``
    inside ``<style>`` is listed too.
    """
    p = _RefParser()
    p.feed(html)
    p.close()
    refs = p.refs
    refs += [f"@import {m}" for m in re.findall(r"@import\s+(?:url\()?\s*['\"]?((?:https?:)?//[^'\")\s]+)", html)]
    return refs


def notebook_to_html(nb_path: str | Path, html_path: str | Path, *, title: str | None = None) -> Path:
    """Write ``nb_path`` (an executed notebook) as self-contained HTML without input cells.

    Parameters
    ----------
    nb_path, html_path : path
        Executed ``.ipynb`` to read, ``.html`` to write.
    title : str, optional
        Page title (default: the notebook's file name).

    Returns
    -------
    Path
        ``html_path``.

    Raises
    ------
    ValueError
        If the page would still load anything from the network (it is not written then).
    """
    import nbformat  # nbformat and nbconvert take seconds to import; only an export needs them
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(nb_path), as_version=4)
    if title:
        nb.metadata["title"] = title
    clean_for_page(nb)
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"workbench_offline.html.j2": OFFLINE_TEMPLATE})],
        template_file="workbench_offline.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": Path(nb_path).stem}})
    refs = external_references(body)
    if refs:
        raise ValueError(f"HTML of {nb_path} would load {refs[:3]} from the network; the report must render "
                         "offline. Fix: display figures through workbench.reports.NotebookOutput.figure().")
    body = re.sub(r"(<body[^>]*>)", r"\1" + BACK_LINK, body, count=1)
    body = body.replace("</head>", PAGE_STYLE + "</head>", 1)
    body = add_vega_runtime(body)
    html_path = Path(html_path)
    html_path.write_text(body, encoding="utf-8")
    return html_path


BACK_LINK = ("<nav class='wb-back' style='padding:0.5em 1em'><a href='index.html'>← report contents "
             "(findings of every page, provenance legend)</a></nav>")
"""Link from each page back to the report's index."""

PAGE_STYLE = ("<style>.wb-findings{border-left:4px solid #0072B2;background:#f4f8fb;padding:0.3em 1em;"
              "margin:0.5em 0 1.5em}.wb-findings h2{margin-top:0.4em}.wb-provenance{color:#333}</style>")


VEGA_INIT = """(function () {
  document.querySelectorAll("div.wb-vega").forEach(function (block) {
    var spec = JSON.parse(block.querySelector("script.wb-vega-spec").textContent);
    var view = block.querySelector("div.wb-vega-view");
    vegaEmbed(view, spec, {actions: false, renderer: "svg"}).then(function () {
      view.style.display = "";
      var img = block.querySelector("img");
      if (img) { img.style.display = "none"; }
    }).catch(function (err) { console.error(err); });
  });
})();"""
"""Draws every interactive figure of a page (its static ``<img>`` stays where drawing fails)."""


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed (with its tooltip handler) as one script, from vl-convert
    (the versions altair's export uses); ``window.vegaEmbed`` once it ran. About 0.9 MB."""
    import vl_convert as vlc

    js = vlc.javascript_bundle()
    if "</script" in js.lower():  # would end the inline script early
        js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    # its minified top-level names (n, t, ...) stay inside a function instead of the page's global scope,
    # where another script's declaration of the same name would stop it; it sets window.vegaEmbed itself
    return "(function () {\n" + js + "\n})();"


def add_vega_runtime(page: str) -> str:
    """``page`` with the Vega JavaScript (:func:`vega_bundle`) and :data:`VEGA_INIT` inlined once before
    ``</body>`` when it holds an interactive figure (class ``wb-vega``); other pages are returned
    unchanged, so they carry no script."""
    if "class='wb-vega'" not in page and 'class="wb-vega"' not in page:
        return page
    runtime = f"<script>{vega_bundle()}</script><script>{VEGA_INIT}</script>"
    i = page.rfind("</body>")
    return page[:i] + runtime + page[i:] if i >= 0 else page + runtime


def clean_for_page(nb) -> dict:
    """Prepare an executed notebook for its HTML page, in place: drop stderr streams (logs, warnings)
    and move the cell showing the key findings (:meth:`NotebookOutput.findings`) right after the title.

    Returns
    -------
    dict
        ``stderr_outputs`` (how many were dropped) and ``findings`` (whether a findings block was found).
    """
    from nbformat.v4 import new_code_cell

    dropped, found = 0, []
    for cell in nb.cells:
        outs = cell.get("outputs", [])
        kept = [o for o in outs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        dropped += len(outs) - len(kept)
        found += [o for o in kept if (o.get("metadata") or {}).get("workbench") == "findings"]
        if outs:
            cell["outputs"] = [o for o in kept if (o.get("metadata") or {}).get("workbench") != "findings"]
    if found:  # the findings alone, in a cell of their own, right after the title
        first_md = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
        nb.cells.insert(first_md + 1, new_code_cell(source="", outputs=found[-1:]))
    return {"stderr_outputs": dropped, "findings": bool(found)}


REPORT_TITLE = "Continuum workbench: cost, energy and carbon of ML inference from microcontrollers to cloud GPUs"
"""What a rendered report is, as the index page's title says."""


def _states(a: dict) -> str:
    prov = a.get("provenance") or {}
    return ", ".join(prov) if prov else "—"


def index_html(manifest: dict) -> str:
    """The contents page of a rendered report (``index.html``): what it is, every page's key findings,
    the provenance legend, figures, tables and software.

    Links are relative to the report folder; figures are shown from their exported SVG. The page
    loads nothing from the network.

    Parameters
    ----------
    manifest : dict
        The report's manifest (:mod:`workbench.reports.manifest`) once every notebook ran: ``name``,
        ``notebooks`` (with ``html``, ``title``, ``findings`` and ``duration_s`` [s]), ``artefacts``
        (with ``provenance``), ``packages``, ``reproducibility``, ``finished_utc`` and ``duration_s`` [s].

    Returns
    -------
    str
        The HTML page.
    """
    from workbench.reports.provenance import STATES

    title = escape(REPORT_TITLE)
    pages = ""
    for n in manifest["notebooks"]:
        if not n.get("html"):
            continue
        items = "".join(f"<li>{escape(f)}</li>" for f in n.get("findings") or []) or "<li>(no findings block)</li>"
        pages += (f"<section><h3><a href='{escape(n['html'])}'>{escape(n.get('title') or n['notebook'])}</a></h3>"
                  f"<ul>{items}</ul></section>")
    legend = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in STATES.items())
    figs = "".join(
        f"<figure><img src='{escape(a['paths'][0])}' alt='{escape(a['name'])}' style='max-width:100%'/>"
        f"<figcaption>{escape(a['notebook'])}: {escape(a['name'])} [{escape(_states(a))}] — "
        + " ".join(f"<a href='{escape(p)}'>{escape(p.rsplit('.', 1)[-1])}</a>" for p in a["paths"])
        + "</figcaption></figure>"
        for a in manifest["artefacts"] if a["kind"] == "figure")
    tabs = "".join(
        f"<li><a href='{escape(a['paths'][0])}'>{escape(a['paths'][0])}</a> ({a['rows']} rows; "
        f"{escape(_states(a))})</li>"
        for a in manifest["artefacts"] if a["kind"] == "table")
    rep = manifest.get("reproducibility") or {}
    git = rep.get("git") or {}
    where = (f"commit {escape(str(git.get('commit', 'unknown'))[:12])}{' (uncommitted changes)' if git.get('dirty') else ''}"
             f" on {escape(str(rep.get('cpu_model', 'an unknown CPU')))} ({rep.get('cpu_count', '?')} cores)")
    vers = escape(", ".join(f"{k} {v}" for k, v in sorted(manifest["packages"].items())))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'/><title>{title}</title>"
            "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
            "figure{display:inline-block;margin:1em;vertical-align:top;max-width:45%}"
            "table.legend th{text-align:left;padding-right:1em}</style></head><body>"
            f"<h1>{title}</h1><p>Report <code>{escape(manifest['name'])}</code>, rendered "
            f"{escape(manifest['finished_utc'])} in {manifest['duration_s']:.0f} s from {where}. Parameters, input "
            "hashes, versions and the reproducibility record: <a href='manifest.json'>manifest.json</a>.</p>"
            "<h2>Provenance of every number</h2><p>Each table has a <code>provenance</code> column, each figure "
            "says its states in its subtitle, and the manifest lists them per artefact:</p>"
            f"<table class='legend'>{legend}</table>"
            f"<h2>Key findings, page by page</h2>{pages}"
            f"<h2>Figures</h2>{figs}<h2>Tables</h2><ul>{tabs}</ul>"
            f"<h2>Software</h2><p>{vers}</p></body></html>")
