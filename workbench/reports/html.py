"""Offline HTML from executed notebooks: no input cells, no script or stylesheet from the network.

nbconvert's ``lab`` template loads require.js, MathJax and mermaid from CDNs and, for notebooks with
widgets, the widget manager. :data:`OFFLINE_TEMPLATE` extends it with those blocks emptied; the
theme CSS is already inlined by the template. Figures reach the HTML as inline SVG (see
:mod:`workbench.reports.output`), so nothing needs JavaScript. :func:`external_references` is the
check the runner applies to every page before it accepts a report; :func:`index_html` is the
report's contents page.
"""

from __future__ import annotations

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
    html_path = Path(html_path)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def index_html(manifest: dict) -> str:
    """The contents page of a rendered report (``index.html``): notebooks, figures, tables, software.

    Links are relative to the report folder; figures are shown from their exported SVG. The page
    loads nothing from the network.

    Parameters
    ----------
    manifest : dict
        The report's manifest (:mod:`workbench.reports.manifest`) once every notebook ran: ``name``,
        ``notebooks`` (with ``html`` and ``duration_s`` [s]), ``artefacts``, ``packages``,
        ``finished_utc`` and ``duration_s`` [s].

    Returns
    -------
    str
        The HTML page.
    """
    title = escape(f"Report {manifest['name']}")
    nbs = "".join(
        f"<li><a href='{escape(n['html'])}'>{escape(n['notebook'])}</a> ({n['duration_s']:.1f} s)</li>"
        for n in manifest["notebooks"] if n.get("html"))
    figs = "".join(
        f"<figure><img src='{escape(a['paths'][0])}' alt='{escape(a['name'])}' style='max-width:100%'/>"
        f"<figcaption>{escape(a['notebook'])}: {escape(a['name'])}{' (measured)' if a['measured'] else ''} — "
        + " ".join(f"<a href='{escape(p)}'>{escape(p.rsplit('.', 1)[-1])}</a>" for p in a["paths"])
        + "</figcaption></figure>"
        for a in manifest["artefacts"] if a["kind"] == "figure")
    tabs = "".join(
        f"<li><a href='{escape(a['paths'][0])}'>{escape(a['paths'][0])}</a> ({a['rows']} rows"
        f"{', measured' if a['measured'] else ''})</li>"
        for a in manifest["artefacts"] if a["kind"] == "table")
    vers = escape(", ".join(f"{k} {v}" for k, v in sorted(manifest["packages"].items())))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'/><title>{title}</title>"
            "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
            "figure{display:inline-block;margin:1em;vertical-align:top}</style></head><body>"
            f"<h1>{title}</h1><p>Rendered {escape(manifest['finished_utc'])} in {manifest['duration_s']:.0f} s. "
            "Parameters, input hashes and versions: <a href='manifest.json'>manifest.json</a>.</p>"
            f"<h2>Notebooks</h2><ul>{nbs}</ul><h2>Figures</h2>{figs}<h2>Tables</h2><ul>{tabs}</ul>"
            f"<h2>Software</h2><p>{vers}</p></body></html>")
