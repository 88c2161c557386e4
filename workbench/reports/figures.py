"""Figure export through vl-convert: SVG, PDF and PNG from one altair chart, no browser needed.

vl-convert numbers the ids it gives clip paths and gradients with a counter that lives as long as
the process (``clip1``, then ``clip2`` for the next chart...), so the same chart exported twice gives
two different SVGs. :func:`chart_svg` renames every id after the figure and in order of appearance,
which makes the SVG depend on the chart alone (reproducible) and keeps ids unique when several
figures sit inline in one HTML page.
"""

from __future__ import annotations

import re
from pathlib import Path

FORMATS = ("svg", "pdf", "png")

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


def chart_svg(chart, prefix: str = "fig") -> str:
    """SVG text of an altair chart with reproducible ids (see :func:`normalize_svg_ids`)."""
    import vl_convert as vlc

    return normalize_svg_ids(vlc.vegalite_to_svg(chart.to_json()), prefix)


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
