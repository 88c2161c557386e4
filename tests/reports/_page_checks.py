"""Checks of a rendered report page that more than one test applies (the interactive-figure tests here, and
the rendered-report tests of tests/reports/test_notebooks.py)."""

from __future__ import annotations

import json
import re

from workbench.reports.html import external_references


def vega_page_checks(html: str, interactive_figures: int) -> list[str]:
    """What is wrong with a rendered page that should show ``interactive_figures`` Vega views
    (empty: nothing). Usable on any page of a rendered report: the Vega bundle is inlined exactly
    once when the page has an interactive figure and never otherwise, every view carries a
    parseable spec with tooltips, and nothing is loaded from the network."""
    problems = []
    bundles = html.count("window.vegaEmbed=")
    blocks = re.findall(r"<script[^>]*\bwb-vega-spec\b[^>]*>(.*?)</script>", html, re.S)
    if len(blocks) != interactive_figures:
        problems.append(f"{len(blocks)} interactive figures, expected {interactive_figures}")
    if bundles != (1 if interactive_figures else 0):
        problems.append(f"the Vega bundle appears {bundles} times")
    for b in blocks:
        spec = json.loads(b.replace("<\\/", "</"))
        if '"tooltip"' not in json.dumps(spec):
            problems.append(f"a spec without tooltips: {spec.get('title')}")
    if external_references(html):
        problems.append(f"external references {external_references(html)[:3]}")
    if "<script src=" in html:
        problems.append("a script loaded by src")
    return problems


def interactive_figures(manifest: dict, notebook: str) -> int:
    """How many figures of ``notebook`` the manifest records as interactive (``interactive: true``)."""
    return sum(1 for a in manifest["artefacts"] if a["kind"] == "figure" and a.get("notebook") == notebook
               and a.get("interactive"))
