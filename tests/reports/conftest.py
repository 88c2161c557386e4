"""Fixtures of the report tests: tiny notebooks written by the tests (no torch, quick to execute)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workbench.reports.kernel import KERNEL_NAME

TINY_BODY = '''
import altair as alt
import polars as pl
from workbench.reports.output import NotebookOutput

out = NotebookOutput(output_dir, "{stem}")
df = pl.DataFrame({{"x": list(range(n)), "y": [scale * i * i for i in range(n)]}})
out.table("squares", df)
out.figure("squares", alt.Chart(df.to_pandas()).mark_line().encode(x="x:Q", y="y:Q"))
'''


def write_notebook(path: Path, params: str, body: str, title: str = "tiny") -> Path:
    """Write a notebook with a markdown title, a tagged parameters cell and one code cell."""
    nb = new_notebook()
    nb.metadata = {"kernelspec": {"name": KERNEL_NAME, "display_name": KERNEL_NAME, "language": "python"},
                   "language_info": {"name": "python"}}
    p = new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell(f"# {title}"), p, new_code_cell(body)]
    for i, c in enumerate(nb.cells):
        c.id = f"c{i}"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def write_tiny_notebooks(d: Path, stems=("00_a", "01_b")) -> Path:
    """Passing notebooks that each write one table and one figure (parameters n, scale)."""
    for stem in stems:
        write_notebook(d / f"{stem}.ipynb", "output_dir = None\nn = 5\nscale = 1.0", TINY_BODY.format(stem=stem))
    return d


@pytest.fixture(scope="module")
def tiny_notebooks(tmp_path_factory) -> Path:
    """Folder with two passing notebooks (00_a, 01_b); shared by a module's tests, do not modify."""
    return write_tiny_notebooks(tmp_path_factory.mktemp("tiny") / "notebooks")


@pytest.fixture
def add_failing_notebook():
    """Function adding a notebook whose second code cell raises ZeroDivisionError (cell index 2)."""

    def add(folder: Path, stem: str = "02_fails") -> Path:
        return write_notebook(folder / f"{stem}.ipynb", "output_dir = None\ndivisor = 0",
                              "ratio = 1 / divisor  # deliberately fails with divisor = 0", title="fails")

    return add
