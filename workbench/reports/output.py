"""What a notebook hands to its report: tables as CSV, figures as SVG/PDF/PNG, each shown inline.

Notebooks stay thin: they build frames and charts with the package and pass them to a
:class:`NotebookOutput`::

    out = NotebookOutput(output_dir, "01_resource_usage")
    out.table("latency", table, provenance=provenance.own_runs(runs))
    out.figure("latency_vs_flops", chart, provenance=provenance.own_runs(runs))
    out.findings(summary.resource_findings(runs))

With ``output_dir=None`` (exploring in JupyterLab) nothing is written and charts are interactive
(altair's HTML renderer with vega inlined from vl-convert, so it works offline). With an
``output_dir`` (``workbench report``), tables go to ``tables/NOTEBOOK__NAME.csv``, figures to
``figures/NOTEBOOK__NAME.{svg,pdf,png}`` through vl-convert, and the notebook shows the very SVG it
wrote, so the HTML report embeds its figures and needs no JavaScript.

Reproducibility: CSV rows are sorted (by ``sort_by``, else by every column) and written with
polars' shortest round-trip float format; SVG comes from vl-convert, which stamps no date. Every
artefact is recorded with its SHA-256, its provenance (measured, estimated, predicted, imported:
:mod:`workbench.reports.provenance`) and whether it is *fresh* (values of runs taken at render time,
the only ones expected to change when the same report is rendered again on fresh measurements).
Each page opens with its key findings (:meth:`NotebookOutput.findings`); long tables are linked as
CSV rather than shown.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
import textwrap
from html import escape
from pathlib import Path

import polars as pl

from workbench.errors import ParameterError
from workbench.files import json_safe
from workbench.reports import provenance as pv
from workbench.reports.figures import chart_svg, export_chart
from workbench.schema import as_polars

ARTEFACT_DIR = ".artefacts"
"""Sub-folder of ``output_dir`` where each notebook lists what it wrote (merged into the manifest)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DISPLAY_ROWS = 15
"""Longest table shown whole in the notebook/HTML; a longer one is linked as CSV (which holds every row)."""


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
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
        self.findings_list: list[str] = []
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
        doc = {"notebook": self.notebook, "artefacts": self.artefacts, "inputs": self.inputs,
               "findings": self.findings_list, "threads": threads_in_use()}
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

    # ------------------------------------------------------------------ findings
    def findings(self, sentences: list[str]) -> None:
        """Show the page's key findings (three to five computed sentences) and record them for the index.

        The HTML export moves this block to the top of the page (:func:`workbench.reports.html.notebook_to_html`).
        """
        from IPython.display import HTML, display

        items = [str(s) for s in sentences if s]
        self.findings_list = items
        self._save()
        body = "".join(f"<li>{escape(s)}</li>" for s in items)
        display(HTML(f"<div class='wb-findings'><h2>Key findings</h2><ul>{body}</ul></div>"),
                metadata={"workbench": "findings"})

    # ------------------------------------------------------------------ tables
    def table(self, name: str, frame, *, provenance: dict | None = None, fresh: bool | None = None,
              measured: bool | None = None, sort_by: list[str] | None = None, caption: str | None = None,
              show: bool = True) -> None:
        """Write ``frame`` as ``tables/NOTEBOOK__NAME.csv`` (sorted) and show it, or a link to it when long.

        Parameters
        ----------
        frame : polars or pandas DataFrame
        provenance : dict, optional
            How its numbers were obtained (:mod:`workbench.reports.provenance`: ``state → details``);
            merged with the states of the frame's ``provenance`` / ``*_provenance`` columns. A frame
            without such a column gets a ``provenance`` column naming the states (``measured+estimated``).
        fresh : bool, optional
            The values come from runs at render time and may differ between renders (default: measured
            or estimated provenance). ``measured`` is its older name.
        sort_by : list of str, optional
            Sort keys; default every column left to right (rows in a stable, reproducible order).
        caption : str, optional
            Shown above the table.
        show : bool
            Show the table in the page: whole when it has at most :data:`DISPLAY_ROWS` rows, else a
            link to its CSV.

        Returns nothing (so that a cell ending with it shows no path); what was written is listed
        in :attr:`artefacts`.
        """
        stem = self._check_name(name, "table")
        df = as_polars(frame)
        keys = sort_by or [c for c in df.columns if df.schema[c].is_numeric() or df.schema[c] in (pl.String, pl.Boolean)]
        if keys:
            df = df.sort(keys, nulls_last=True, maintain_order=True)
        prov = pv.merge(provenance, pv.from_frame(df))
        if prov and not any(pv.is_state_column(c) for c in df.columns):
            df = df.with_columns(pl.lit("+".join(prov)).alias("provenance"))
        fresh = bool(fresh if fresh is not None else measured if measured is not None else pv.is_fresh(prov))
        path = None
        if self.output_dir is not None:
            path = self.output_dir / "tables" / f"{stem}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            df.write_csv(path)
            self.artefacts.append({"name": name, "kind": "table", "provenance": prov, "states": sorted(prov),
                                   "fresh": fresh, "paths": [str(path.relative_to(self.output_dir))],
                                   "sha256": {path.name: sha256_file(path)}, "rows": df.height,
                                   "columns": df.columns, "caption": caption})
            self._save()
        if show:
            self._show_table(df, caption, path, prov)

    def _show_table(self, df: pl.DataFrame, caption: str | None, path: Path | None, prov: dict) -> None:
        from IPython.display import HTML, display

        cap = f"<p><strong>{escape(caption)}</strong></p>" if caption else ""
        origin = f"<p class='wb-provenance'><em>Provenance: {escape(pv.describe(prov))}</em></p>" if prov else ""
        link = (f"<a href='tables/{escape(path.name)}'>tables/{escape(path.name)}</a>" if path else "the table")
        if df.height > DISPLAY_ROWS and path is not None:
            display(HTML(f"{cap}<p>Full table ({df.height} rows × {df.width} columns) as CSV: {link}</p>{origin}"))
            return
        cols = [c for c in df.columns if not _is_json(df[c])]
        head = df.select(cols).head(DISPLAY_ROWS)
        cells = "".join(f"<th>{escape(c)}</th>" for c in head.columns)
        rows = "".join("<tr>" + "".join(f"<td>{escape(_fmt(v))}</td>" for v in r) + "</tr>" for r in head.iter_rows())
        more = f"<p>All {df.height} rows as CSV: {link}</p>" if path else ""
        display(HTML(f"{cap}<table><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody></table>{origin}{more}"))

    # ------------------------------------------------------------------ figures
    def figure(self, name: str, chart, *, provenance: dict | None = None, fresh: bool | None = None,
               measured: bool | None = None, note: str | None = None, show: bool = True,
               interactive: bool = False) -> None:
        """Export ``chart`` (altair) to ``figures/NOTEBOOK__NAME.{svg,pdf,png}`` in the report theme and show it.

        The figure's subtitle states its provenance (``provenance`` merged with the ``provenance``
        columns of the rows behind the chart), the TDP caveat when it shows estimated energy of this
        machine, and ``note``. ``fresh`` / ``measured``: as for :meth:`table`.

        ``interactive=True`` (for figures whose readers gain from tooltips: predicted vs measured,
        Pareto fronts): in a report the page shows the chart as a Vega view with its tooltips
        (:func:`vega_figure_html`; the HTML export adds the Vega JavaScript once per page, inline),
        the static SVG standing in where scripts do not run. The exported SVG, PDF and PNG and
        their hashes are the same as without it.

        Returns nothing (so that a cell ending with it shows no path); what was written is listed
        in :attr:`artefacts`.
        """
        from IPython.display import HTML, display

        stem = self._check_name(name, "figure")
        prov = pv.merge(provenance, pv.from_chart(chart))
        chart = with_subtitle(chart, pv.subtitle_lines(prov, note))
        fresh = bool(fresh if fresh is not None else measured if measured is not None else pv.is_fresh(prov))
        paths: list[Path] = []
        if self.output_dir is not None:
            paths = export_chart(chart, self.output_dir / "figures" / stem)
            self.artefacts.append({
                "name": name, "kind": "figure", "provenance": prov, "states": sorted(prov), "fresh": fresh,
                "paths": [str(p.relative_to(self.output_dir)) for p in paths],
                "sha256": {p.name: sha256_file(p) for p in paths}, "interactive": bool(interactive),
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
                img = f'<img src="{uri}" alt="{stem}" style="max-width:100%"/>'
                if interactive:
                    links = [str(p.relative_to(self.output_dir)) for p in paths]
                    display(HTML(vega_figure_html(stem, chart, svg.decode("utf-8"), img, links)),
                            metadata={"workbench": "vega"})
                else:
                    display(HTML(img))


VEGA_CLASS = "wb-vega"
"""HTML class of an interactive figure's block (:func:`vega_figure_html`); the HTML export adds the Vega
JavaScript to a page holding one (:func:`workbench.reports.html.add_vega_runtime`)."""


def vega_figure_html(stem: str, chart, svg: str, img: str, links: list[str] | None = None) -> str:
    """HTML block of an interactive figure: the chart's Vega-Lite spec (JSON, in the theme at the text
    size of its exported SVG), an empty view for Vega to draw in and ``img``, the static SVG shown
    until the view is drawn (and instead of it where scripts do not run), with links to the exported
    files.

    Parameters
    ----------
    stem : str
        The figure's file stem (``NOTEBOOK__NAME``).
    chart : altair chart
        The chart, subtitle included.
    svg : str
        Its exported SVG (the view takes its text size, so that screen and paper read alike).
    img : str
        The ``<img>`` of that SVG.
    links : list of str
        Exported files relative to the page (``figures/NOTEBOOK__NAME.svg`` ...).
    """
    from workbench.reports import theme
    from workbench.reports.figures import svg_font_sizes_px, themed_spec

    font = max([theme.BASE_FONT_PX, min(svg_font_sizes_px(svg) or [theme.BASE_FONT_PX])])
    spec = json.dumps(json_safe(themed_spec(chart, font)), sort_keys=True, separators=(",", ":"), allow_nan=False)
    spec = spec.replace("</", "<\\/")  # a "</script>" in a label must not end the block
    files = " · ".join(f"<a href='{escape(p)}'>{escape(p.rsplit('.', 1)[-1].upper())}</a>" for p in links or [])
    caption = (f"<p class='wb-figure-files'><small>Interactive view (hover for values); static figure: {files}"
               "</small></p>") if files else ""
    return (f"<div class='{VEGA_CLASS}' data-figure='{escape(stem)}'>"
            f"<script type='application/json' class='wb-vega-spec'>{spec}</script>"
            f"<div class='wb-vega-view' style='display:none;max-width:100%;overflow-x:auto'></div>{img}{caption}</div>")


def threads_in_use() -> dict:
    """Threads of this process: torch's intra- and inter-op counts (where torch is loaded) and the
    ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` settings."""
    out = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    torch = sys.modules.get("torch")
    if torch is not None:
        out.update(torch_intra_op=torch.get_num_threads(), torch_inter_op=torch.get_num_interop_threads())
    return out


def _is_json(col: pl.Series) -> bool:
    """Whether a string column holds JSON objects or lists (kept in the CSV, not shown in the page)."""
    if col.dtype != pl.String:
        return False
    v = col.drop_nulls().head(5).to_list()
    return bool(v) and all(s.lstrip().startswith(("{", "[")) for s in v)


TITLE_CHARS = 36
"""Longest title line of a figure [characters] (longer titles wrap)."""


def with_subtitle(chart, lines: list[str]):
    """``chart`` with ``lines`` added to its title's subtitle (the title kept)."""
    import altair as alt

    if not lines:
        return chart
    title = chart.title if hasattr(chart, "title") else alt.Undefined
    if isinstance(title, alt.TitleParams):
        text, sub = title.text, title.subtitle
    elif isinstance(title, dict):
        text, sub = title.get("text", ""), title.get("subtitle")
    else:
        text, sub = ("" if title is alt.Undefined else title), alt.Undefined
    old = [] if sub is alt.Undefined or sub is None else ([sub] if isinstance(sub, str) else list(sub))
    # lines short enough that a figure printed one column wide never grows wider for its title
    text = textwrap.wrap(text, TITLE_CHARS) if isinstance(text, str) and len(text) > TITLE_CHARS else text
    return chart.properties(title=alt.TitleParams(text=text or " ", subtitle=old + lines))
