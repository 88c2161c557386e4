"""Offline HTML from executed notebooks: no input cells, no script or stylesheet from the network.

nbconvert's ``lab`` template loads require.js, MathJax and mermaid from CDNs and, for notebooks with
widgets, the widget manager. :data:`OFFLINE_TEMPLATE` extends it with those blocks emptied; the
theme CSS is already inlined by the template. Figures reach the HTML as inline SVG (see
:mod:`workbench.reports.output`), so nothing needs JavaScript. :func:`external_references` is the
check the runner applies to every page before it accepts a report.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

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
    import jinja2
    import nbformat
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
