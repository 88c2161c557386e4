"""The package's shape: data flows one way, no import circles, no module doing everything.

The import graph is grimp's (import-linter's engine), which reads every import statement,
including those inside functions, so a circle hidden by a lazy import is still a circle here.
"""

from __future__ import annotations

import ast
import graphlib
import sys
from pathlib import Path

import grimp
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "workbench"

LAYERS = [
    "workbench.cli",
    "workbench.reports",
    "workbench.adaptive",
    "workbench.federated",
    "workbench.placement",
    "workbench.strategies",
    "workbench.lca",
    "workbench.costmodels",
    "workbench.datasets",
    "workbench.measure",
    "workbench.catalog",
    {"workbench.store", "workbench.execution"},
    {"workbench.files", "workbench.filters"},
    "workbench.layer_schema",
    "workbench.schema",
    {"workbench.checks", "workbench.units", "workbench.bounds"},
    "workbench.errors",
]
"""``../shared/ARCHITECTURE.md`` from the top down: each layer imports only layers below it here."""

MAX_LINES = 400
"""A module over this many lines does more than one job, unless :data:`LONG_MODULES` says why."""

LONG_MODULES: dict[str, str] = {
    "schema.py": "every column declares name, dtype, unit, meaning and constraints in one place, with the "
                 "validation that enforces them beside it (../shared/STYLE.md, section 9: the room to copy)",
}
"""Module path (relative to the package) → the stated reason it may be longer than :data:`MAX_LINES`."""

LIGHT_WORKBENCH = ("workbench.errors", "workbench.checks", "workbench.units", "workbench.schema", "workbench.store")
"""Workbench modules cheap to import (no torch, no Brightway): never imported inside a function."""

CLI_LIGHT = ("workbench.errors", "workbench.checks", "workbench.units")
"""In ``workbench/cli/`` even polars (behind the schema and the store) is imported by the command that
needs it, so that ``workbench --help`` answers at once; only these and the standard library go on top."""

LAZY_STDLIB = {"fcntl": "POSIX only: imported where a lock is taken, so the package imports on Windows"}
"""Standard-library modules that may be imported inside a function, with the reason."""


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("workbench")


def test_no_import_cycle_between_modules(graph):
    deps = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    try:
        graphlib.TopologicalSorter(deps).prepare()
    except graphlib.CycleError as e:
        pytest.fail("import circle (counting imports inside functions): " + " -> ".join(e.args[1])
                    + ". Fix: move what both sides need into a module they both import downward.")


def test_layers_import_only_downward(graph):
    layers = [layer for layer in LAYERS
              if (layer & graph.modules if isinstance(layer, set) else layer in graph.modules)]
    layers = [grimp.Layer(*sorted(lay & graph.modules)) if isinstance(lay, set) else lay for lay in layers]
    illegal = graph.find_illegal_dependencies_for_layers(layers=layers)
    found = [f"{d.importer} imports {d.imported} (via {[r.heads for r in d.routes][:2]})" for d in illegal]
    assert not found, "imports against the layering of ../shared/ARCHITECTURE.md:\n" + "\n".join(found)


def test_the_layer_check_catches_an_upward_import():
    # The oracle for the test above: a graph with one upward import must be reported.
    g = grimp.ImportGraph()
    for m in ("workbench", "workbench.store", "workbench.reports", "workbench.reports.view"):
        g.add_module(m)
    g.add_import(importer="workbench.store", imported="workbench.reports.view")
    illegal = g.find_illegal_dependencies_for_layers(layers=["workbench.reports", "workbench.store"])
    assert {(d.importer, d.imported) for d in illegal} == {("workbench.store", "workbench.reports")}


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_does_everything():
    long = {}
    for path in _modules():
        rel = path.relative_to(PACKAGE).as_posix()
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES and rel not in LONG_MODULES:
            long[rel] = n
    assert not long, (f"modules over {MAX_LINES} lines: {long}. Fix: split along a seam into modules named "
                      "after what they compute, or state the reason in LONG_MODULES.")


def _function_level_imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    yield inner.lineno, [a.name for a in inner.names]
                elif isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
                    yield inner.lineno, [inner.module]


def test_light_modules_are_imported_at_the_top():
    found = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, names in _function_level_imports(tree):
            for name in names:
                top = name.split(".")[0]
                light_here = CLI_LIGHT if path.parent.name == "cli" else LIGHT_WORKBENCH
                light = name in light_here or (top in sys.stdlib_module_names and top not in LAZY_STDLIB)
                if light:
                    found.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    assert not sorted(set(found)), ("light modules imported inside functions (keep lazy imports for heavy "
                                     "libraries only):\n" + "\n".join(sorted(set(found))))
