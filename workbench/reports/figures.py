"""Figure export through vl-convert: SVG, PDF and PNG from one altair chart, no browser needed.

vl-convert numbers the ids it gives clip paths and gradients with a counter that lives as long as
the process (``clip1``, then ``clip2`` for the next chart...), so the same chart exported twice gives
two different SVGs. :func:`chart_svg` renames every id after the figure and in order of appearance,
which makes the SVG depend on the chart alone (reproducible) and keeps ids unique when several
figures sit inline in one HTML page.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from workbench.reports import theme

FORMATS = ("svg", "pdf", "png")

_WIDTH = re.compile(r'^<svg[^>]*\bwidth="([0-9.]+)"')
_FONT = re.compile(r'font-size="([0-9.]+)px"')

_ID = re.compile(r'\bid="([^"]+)"')


def normalize_svg_ids(svg: str, prefix: str = "fig") -> str:
    """Rename every ``id`` in ``svg`` to ``PREFIX-1``, ``PREFIX-2``... in order of appearance,
    with every ``url(#id)`` and ``href="#id"`` reference updated."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", prefix) or "fig"
    mapping: dict[str, str] = {}
    for old in _ID.findall(svg):
        mapping.setdefault(old, f"{prefix}-{len(mapping) + 1}")
    if not mapping:
        return svg

    def sub_id(m):
        return f'id="{mapping[m.group(1)]}"'

    def sub_ref(m):
        return m.group(1) + mapping.get(m.group(2), m.group(2)) + m.group(3)

    svg = _ID.sub(sub_id, svg)
    return re.sub(r'(url\(#|href="#)([^)"]+)([)"])', sub_ref, svg)


def svg_width_px(svg: str) -> float:
    """Width of an SVG as vl-convert writes it (``<svg ... width="W"``) [px]."""
    m = _WIDTH.search(svg)
    return float(m.group(1)) if m else float("nan")


def svg_font_sizes_px(svg: str) -> list[float]:
    """Every ``font-size`` of the SVG's text [px]."""
    return [float(v) for v in _FONT.findall(svg)]


def min_printed_font_pt(svg: str) -> float:
    """Smallest text of the SVG once printed at :data:`workbench.reports.theme.COLUMN_WIDTH_IN` [pt]
    (infinite for an SVG without text)."""
    sizes = svg_font_sizes_px(svg)
    return theme.printed_font_pt(min(sizes), svg_width_px(svg)) if sizes else math.inf


def themed_spec(chart, font_px: float) -> dict:
    """The chart's Vega-Lite spec with the report theme (:func:`workbench.reports.theme.config`) at ``font_px``."""
    spec = chart.to_dict() if not isinstance(chart, dict) else dict(chart)
    cfg = theme.config(font_px)
    for k, v in (spec.get("config") or {}).items():  # a chart's own settings win over the theme's
        cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else v
    spec["config"] = cfg
    return spec


def chart_svg(chart, prefix: str = "fig") -> str:
    """SVG text of an altair chart in the report theme, with reproducible ids (see :func:`normalize_svg_ids`).

    The text starts at :data:`workbench.reports.theme.BASE_FONT_PX` and grows until the smallest
    text prints at :data:`workbench.reports.theme.MIN_FONT_PT` when the figure is printed one column
    (:data:`workbench.reports.theme.COLUMN_WIDTH_IN`) wide.
    """
    import vl_convert as vlc

    base = chart.to_dict() if not isinstance(chart, dict) else chart
    target = theme.font_px_for_width(1.0) * 1.01  # font [px] needed per px of width, with 1 % to spare
    seen: list[tuple[float, float]] = []  # (font, width): the width grows about linearly with the font
    font = theme.BASE_FONT_PX
    for _ in range(8):
        svg = vlc.vegalite_to_svg(json.dumps(themed_spec(base, font)))
        width = svg_width_px(svg)
        smallest = min(svg_font_sizes_px(svg) or [font])
        if smallest >= target * width:
            break
        seen.append((font, width))
        guess = font * target * width / smallest  # fixed point: text as large as this width needs
        if len(seen) >= 2 and seen[-1][0] != seen[-2][0]:  # secant on width = a + b * font
            b = (seen[-1][1] - seen[-2][1]) / (seen[-1][0] - seen[-2][0])
            a = seen[-1][1] - b * seen[-1][0]
            if b < 1 / target:
                guess = max(guess, a / (1 / target - b) * font / smallest)
        font = math.ceil(max(guess, font + 0.5) * 2) / 2
    return normalize_svg_ids(svg, prefix)


def export_chart(chart, base: str | Path, formats=FORMATS, scale: float = 2.0) -> list[Path]:
    """Write ``chart`` as ``base.svg``, ``base.pdf`` and ``base.png``; return the paths.

    The SVG is identical for the same chart in any process (ids normalised after ``base``'s
    name); PDF and PNG are drawn from that same SVG, so all three show the same figure.

    Parameters
    ----------
    chart : altair.Chart (or any top-level altair chart)
    base : path
        File name without suffix; its folder is created.
    formats : tuple of str
        Any of ``svg``, ``pdf``, ``png``.
    scale : float
        Pixel density of the PNG relative to the SVG's size [1].
    """
    import vl_convert as vlc

    base = Path(base)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown figure format(s) {unknown}; use any of {FORMATS}")
    base.parent.mkdir(parents=True, exist_ok=True)
    svg = chart_svg(chart, base.name)
    out = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")
        if fmt == "svg":
            path.write_text(svg, encoding="utf-8")
        elif fmt == "pdf":
            path.write_bytes(vlc.svg_to_pdf(svg))
        else:
            path.write_bytes(vlc.svg_to_png(svg, scale=scale))
        out.append(path)
    return out
