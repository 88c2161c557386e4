"""Offline project setup: a failed setup leaves nothing behind; a complete one is reused."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_failed_setup_leaves_no_project_then_setup_succeeds(tmp_path, monkeypatch):
    from workbench.lca import project

    def boom(bd, method_set):
        raise RuntimeError("simulated crash while writing LCIA methods")

    monkeypatch.setattr(project, "_write_methods", boom)
    with pytest.raises(RuntimeError, match="simulated crash"):
        project.setup_project(tmp_path, method_set="ipcc", foreground=False)
    bd = project.activate(tmp_path)
    names = {p.name for p in bd.projects}
    assert project.PROJECT_NAME not in names
    assert not any(n.startswith(project.PROJECT_NAME + ".building") for n in names)

    monkeypatch.undo()
    # a project under the final name without the completion mark counts as broken: rebuilt
    bd.projects.set_current(project.PROJECT_NAME)
    info = project.setup_project(tmp_path, method_set="ipcc", foreground=False)
    assert info.n_methods == len(project.lcia_method_data("ipcc"))
    assert project.DEFAULT_METHOD in bd.methods and len(bd.Database("biosphere3")) > 4000
    mark = bd.projects.dataset.data["workbench_setup"]
    assert mark["version"] == project.SETUP_VERSION

    # complete: reused, not rebuilt (the biosphere keeps its node ids)
    node = next(iter(bd.Database("biosphere3")))
    project.setup_project(tmp_path, method_set="ipcc", foreground=False)
    assert bd.get_node(database="biosphere3", code=node["code"]).id == node.id


def test_data_dir_resolution(tmp_path, monkeypatch):
    from workbench.lca.project import DATA_DIR_ENV, data_dir

    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    assert data_dir(tmp_path / "arg") == tmp_path / "arg"


def test_import_has_no_side_effects():
    import subprocess
    import sys

    code = ("import sys, workbench.lca, workbench.lca.scenario, workbench.lca.footprint, workbench.cli.lca; "
            "print(any(m.startswith(('bw2data', 'bw2calc', 'bw2io')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lca_modules_import_without_cycles():
    """Every import among the modules of workbench.lca, inside functions too, points one way."""
    import ast
    import graphlib

    import workbench.lca

    root = Path(workbench.lca.__file__).parent
    graph = {}
    for path in root.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        graph[path.stem] = {n.split(".")[2] for n in imported
                            if n.startswith("workbench.lca.") and n.count(".") == 2} - {path.stem}
    graph = {module: deps & graph.keys() for module, deps in graph.items()}
    assert graph["footprint"] >= {"engine", "uncertainty"} and "database" in graph["inventory"]  # the scan works
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a circle
    assert set(order) == set(graph)


def test_unknown_method_set():
    from workbench.errors import UnknownNameError
    from workbench.lca.project import lcia_method_data

    with pytest.raises(UnknownNameError, match="ipcc"):
        lcia_method_data("ipc")
