"""What a notebook hands to its report: tables as CSV, figures as SVG/PDF/PNG, each shown inline.

Notebooks stay thin: they build frames and charts with the package and pass them to a
:class:`NotebookOutput`::

    out = NotebookOutput(output_dir, "01_resource_usage")
    out.table("latency", table, measured=True)
    out.figure("latency_vs_flops", chart, measured=True)

With ``output_dir=None`` (exploring in JupyterLab) nothing is written and charts are interactive
(altair's HTML renderer with vega inlined from vl-convert, so it works offline). With an
``output_dir`` (``workbench report``), tables go to ``tables/NOTEBOOK__NAME.csv``, figures to
``figures/NOTEBOOK__NAME.{svg,pdf,png}`` through vl-convert, and the notebook shows the very SVG it
wrote, so the HTML report embeds its figures and needs no JavaScript.

Reproducibility: CSV rows are sorted (by ``sort_by``, else by every column) and written with
polars' shortest round-trip float format; SVG comes from vl-convert, which stamps no date. Every
artefact is recorded with its SHA-256 and whether it holds *measured* values (timings, energy
read from a meter), the only ones expected to change when the same report is rendered again on
fresh measurements.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html import escape
from pathlib import Path

import polars as pl

from workbench.errors import ParameterError
from workbench.reports.figures import chart_svg, export_chart
from workbench.schema import as_polars

ARTEFACT_DIR = ".artefacts"
"""Sub-folder of ``output_dir`` where each notebook lists what it wrote (merged into the manifest)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DISPLAY_ROWS = 30
"""Rows of a table shown in the notebook/HTML; the CSV always holds every row."""


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class NotebookOutput:
    """Collects one notebook's tables and figures.

    Parameters
    ----------
    output_dir : str or Path or None
        Report folder (``tables/`` and ``figures/`` are created inside); ``None`` writes nothing.
    notebook : str
        Notebook name, used as the prefix of every file it writes (``00_overview``).
    interactive : bool, optional
        Show altair charts interactively (default: when ``output_dir`` is None).
    """

    def __init__(self, output_dir: str | Path | None, notebook: str, *, interactive: bool | None = None):
        if not _NAME.match(notebook or ""):
            raise ParameterError(f"notebook name {notebook!r} must be letters, digits, '_', '-' or '.'.")
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.notebook = notebook
        self.interactive = self.output_dir is None if interactive is None else bool(interactive)
        self.artefacts: list[dict] = []
        self.inputs: list[dict] = []
        if self.interactive:
            import altair as alt

            alt.renderers.enable("html", template="inline")  # vega inlined: interactive without network
        if self.output_dir is not None:
            (self.output_dir / ARTEFACT_DIR).mkdir(parents=True, exist_ok=True)
            self._save()

    # ------------------------------------------------------------------ bookkeeping
    def _save(self) -> None:
        if self.output_dir is None:
            return
        doc = {"notebook": self.notebook, "artefacts": self.artefacts, "inputs": self.inputs}
        path = self.output_dir / ARTEFACT_DIR / f"{self.notebook}.json"
        path.write_text(json.dumps(doc, indent=1, sort_keys=True))

    def _check_name(self, name: str, kind: str) -> str:
        if not _NAME.match(name or ""):
            raise ParameterError(f"artefact name {name!r} must be letters, digits, '_', '-' or '.' "
                                 "(it becomes a file name). Fix: e.g. 'latency_by_model'.")
        if any(a["name"] == name and a["kind"] == kind for a in self.artefacts):
            raise ParameterError(f"{kind} {name!r} was already written by {self.notebook}; names must be unique")
        return f"{self.notebook}__{name}"

    def record_input(self, path: str | Path, role: str = "data") -> None:
        """Record an input file (a dataset, a scenario) with its SHA-256 in the manifest."""
        p = Path(path)
        self.inputs.append({"path": str(p.resolve()), "sha256": sha256_file(p), "bytes": p.stat().st_size,
                            "role": role})
        self._save()

    def note(self, markdown: str) -> None:
        """Show a paragraph of Markdown computed from the data (units, methods, caveats)."""
        from IPython.display import Markdown, display  # IPython (the kernel's) only where something is shown

        display(Markdown(markdown))

    # ------------------------------------------------------------------ tables
    def table(self, name: str, frame, *, measured: bool = False, sort_by: list[str] | None = None,
              caption: str | None = None, show: bool = True) -> None:
        """Write ``frame`` as ``tables/NOTEBOOK__NAME.csv`` (sorted) and show its first rows.

        Parameters
        ----------
        frame : polars or pandas DataFrame
        measured : bool
            The table holds measured timings or energy (expected to differ between renders
            on fresh measurements).
        sort_by : list of str, optional
            Sort keys; default every column left to right (rows in a stable, reproducible order).
        caption : str, optional
            Shown above the table.

        Returns nothing (so that a cell ending with it shows no path); what was written is listed
        in :attr:`artefacts`.
        """
        stem = self._check_name(name, "table")
        df = as_polars(frame)
        keys = sort_by or [c for c in df.columns if df.schema[c].is_numeric() or df.schema[c] in (pl.String, pl.Boolean)]
        if keys:
            df = df.sort(keys, nulls_last=True, maintain_order=True)
        path = None
        if self.output_dir is not None:
            path = self.output_dir / "tables" / f"{stem}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            df.write_csv(path)
            self.artefacts.append({"name": name, "kind": "table", "measured": bool(measured),
                                   "paths": [str(path.relative_to(self.output_dir))],
                                   "sha256": {path.name: sha256_file(path)}, "rows": df.height})
            self._save()
        if show:
            self._show_table(df, caption, path)

    def _show_table(self, df: pl.DataFrame, caption: str | None, path: Path | None) -> None:
        from IPython.display import HTML, display

        head = df.head(DISPLAY_ROWS)
        cells = "".join(f"<th>{escape(c)}</th>" for c in head.columns)
        rows = "".join("<tr>" + "".join(f"<td>{escape(_fmt(v))}</td>" for v in r) + "</tr>" for r in head.iter_rows())
        note = ""
        if df.height > DISPLAY_ROWS:
            note = f"<p><em>first {DISPLAY_ROWS} of {df.height} rows; all in {escape(path.name) if path else 'the table'}</em></p>"
        cap = f"<p><strong>{escape(caption)}</strong></p>" if caption else ""
        display(HTML(f"{cap}<table><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody></table>{note}"))

    # ------------------------------------------------------------------ figures
    def figure(self, name: str, chart, *, measured: bool = False, show: bool = True) -> None:
        """Export ``chart`` (altair) to ``figures/NOTEBOOK__NAME.{svg,pdf,png}`` and show it.

        Returns nothing (so that a cell ending with it shows no path); what was written is listed
        in :attr:`artefacts`.
        """
        from IPython.display import HTML, display

        stem = self._check_name(name, "figure")
        paths: list[Path] = []
        if self.output_dir is not None:
            paths = export_chart(chart, self.output_dir / "figures" / stem)
            self.artefacts.append({
                "name": name, "kind": "figure", "measured": bool(measured),
                "paths": [str(p.relative_to(self.output_dir)) for p in paths],
                "sha256": {p.name: sha256_file(p) for p in paths},
            })
            self._save()
        if show:
            if self.interactive:
                display(chart)
            else:
                svg = paths[0].read_bytes() if paths else chart_svg(chart, stem).encode()
                # an <img> with a data URI: the SVG travels inside the page (offline) and its ids
                # cannot clash with those of the other figures on the page
                uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
                display(HTML(f'<img src="{uri}" alt="{stem}" style="max-width:100%"/>'))
