"""Figure export through vl-convert: SVG, PDF and PNG from one altair chart, no browser needed."""

from __future__ import annotations

from pathlib import Path

FORMATS = ("svg", "pdf", "png")


def export_chart(chart, base: str | Path, formats=FORMATS, scale: float = 2.0) -> list[Path]:
    """Write ``chart`` as ``base.svg``, ``base.pdf`` and ``base.png``; return the paths.

    Output is deterministic for the same chart (vl-convert embeds no timestamp in SVG).
    """
    import vl_convert as vlc

    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    spec = chart.to_json()
    out = []
    for fmt in formats:
        path = base.with_suffix(f".{fmt}")
        if fmt == "svg":
            path.write_text(vlc.vegalite_to_svg(spec))
        elif fmt == "pdf":
            path.write_bytes(vlc.vegalite_to_pdf(spec))
        elif fmt == "png":
            path.write_bytes(vlc.vegalite_to_png(spec, scale=scale))
        else:
            raise ValueError(f"unknown figure format {fmt!r}; use one of {FORMATS}")
        out.append(path)
    return out
