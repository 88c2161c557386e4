"""The offline Brightway 2.5 project the workbench computes in: location, setup, completeness.

Brightway keeps its projects under one base directory. ``bw2data`` picks that directory *when it
is imported* (environment variable ``BRIGHTWAY2_DIR``, else the platform's user data directory), and
creates it together with a ``default`` project. To keep importing the workbench free of side effects
and to let tests use a temporary directory, nothing here imports Brightway at module level: every
entry point calls :func:`activate`, which points Brightway at the workbench data directory first.

Setup, offline (``bw2io.bw2setup()`` needs the network, see bw2io issue 277, and
``bw2io.create_default_lcia_methods(shortcut=False)`` needs a spreadsheet bw2io does not ship):

1. ``bw2io.create_default_biosphere3()`` writes the ecoinvent 3.9 elementary flows (4,709 flows);
2. the LCIA methods are read from the JSON bundled with bw2io (``bw2io/data/lcia/lcia_39_ecoinvent.zip``,
   ecoinvent 3.9 LCIA implementation, 762 methods); each characterization factor's biosphere input
   ``["biosphere3", code]`` is mapped to the node id in this project, then written with bw2io's
   ``LCIAImporter``;
3. the workbench foreground database is written (:mod:`workbench.lca.inventory`).

A half-finished setup never leaves a usable-looking project: steps 1–2 run under a temporary project
name; only when they finished is a completion mark stored and the project copied to its final name.
A project whose mark is missing or stale is deleted and rebuilt.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import uuid
import warnings
import zipfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from workbench.errors import ParameterError, StoreError, UnknownNameError
from workbench.lca import inventory

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, documented
    fcntl = None

DATA_DIR_ENV = "WORKBENCH_LCA_DIR"
"""Environment variable naming the directory that holds the workbench's Brightway projects."""

PROJECT_NAME = "continuum-workbench"
"""Name of the Brightway project the workbench computes in."""

SETUP_VERSION = 1
"""Bumped whenever the setup steps change; a project with another mark is rebuilt."""

BIOSPHERE = "biosphere3"

DEFAULT_METHOD = ("IPCC 2021", "climate change", "global warming potential (GWP100)")
"""Default impact category: IPCC AR6 (2021) GWP100, ecoinvent 3.9 LCIA implementation [kg CO2-eq]."""

METHOD_SETS = {
    # IPCC only: what the tests use (a few seconds).
    "ipcc": ("IPCC 2013", "IPCC 2021"),
    # IPCC plus the EU Environmental Footprint 3.1 categories.
    "default": ("IPCC 2013", "IPCC 2021", "EF v3.1"),
    # every method in the bundled file (762, about 70 s).
    "all": None,
}

REPORTED_METHODS = (
    DEFAULT_METHOD,
    ("IPCC 2021", "climate change", "global warming potential (GWP20)"),
    ("IPCC 2021", "climate change: fossil", "global warming potential (GWP100)"),
    ("IPCC 2013", "climate change", "global warming potential (GWP100)"),
    ("EF v3.1", "climate change", "global warming potential (GWP100)"),
    ("EF v3.1", "material resources: metals/minerals",
     "abiotic depletion potential (ADP): elements (ultimate reserves)"),
)
"""Categories reported besides the default, when installed and characterising a flow of the inventory."""


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """Directory holding the workbench's Brightway projects.

    Parameters
    ----------
    path : path-like, optional
        Explicit directory. Default: ``$WORKBENCH_LCA_DIR``, else ``<user data dir>/continuum-workbench/
        brightway`` (platformdirs).

    Returns
    -------
    pathlib.Path
        Absolute path (not created here).
    """
    if path is None:
        path = os.environ.get(DATA_DIR_ENV)
    if path is None:
        # platformdirs comes with Brightway (bw2data), not as a workbench dependency: imported
        # only where the default directory is needed.
        from platformdirs import user_data_dir

        path = Path(user_data_dir("continuum-workbench", appauthor=False)) / "brightway"
    return Path(path).expanduser().absolute()


def activate(path: str | os.PathLike | None = None):
    """Point Brightway at the workbench data directory and return ``bw2data``.

    Sets ``BRIGHTWAY2_DIR`` before the first import of ``bw2data`` (which reads it at import time);
    if ``bw2data`` was imported already, moves its project manager to the directory instead.

    Parameters
    ----------
    path : path-like, optional
        See :func:`data_dir`.

    Returns
    -------
    module
        ``bw2data``, with its base directory set.
    """
    base = data_dir(path)
    try:
        (base / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the Brightway data directory {base}: {exc}. Pass another "
                         f"directory (--lca-dir or ${DATA_DIR_ENV}).") from None
    if "bw2data" not in sys.modules:
        os.environ["BRIGHTWAY2_DIR"] = str(base)
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        # bw2calc warns at import when pypardiso is absent; bw2data's feedback logger prints to
        # the stdout it finds at import: bind it to stderr so that stdout stays the caller's (JSON).
        warnings.simplefilter("ignore")
        import bw2calc  # noqa: F401
        import bw2data as bd
    current = Path(getattr(bd.projects, "_base_data_dir", base)).absolute()
    if current != base:
        bd.projects.change_base_directories(base, base_logs_dir=base / "logs", project_name="default",
                                            update=False)
    return bd


@dataclass(frozen=True)
class ProjectInfo:
    """Where the workbench project lives and what it holds."""

    data_dir: Path
    project: str
    method_set: str
    n_methods: int
    foreground: str


def _complete(bd, method_set: str) -> bool:
    mark = bd.projects.dataset.data.get("workbench_setup") or {}
    return (mark.get("version") == SETUP_VERSION and mark.get("method_set") in _covering(method_set)
            and BIOSPHERE in bd.databases and DEFAULT_METHOD in bd.methods)


def _covering(method_set: str) -> tuple[str, ...]:
    """Method sets that contain ``method_set`` (a project set up with 'all' serves 'ipcc')."""
    order = ["ipcc", "default", "all"]
    return tuple(order[order.index(method_set):])


@contextlib.contextmanager
def _setup_lock(base: Path):
    """Inter-process lock so that two processes do not build the project at the same time."""
    if fcntl is None:  # pragma: no cover - Windows: no lock, documented
        yield
        return
    with open(base / ".workbench-setup.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def lcia_method_data(method_set: str = "default") -> list[dict]:
    """LCIA methods bundled with bw2io, selected by family.

    Parameters
    ----------
    method_set : {"ipcc", "default", "all"}
        Families to keep (see :data:`METHOD_SETS`); the "no LT" (no long-term emissions) variants
        are kept only with ``"all"``.

    Returns
    -------
    list of dict
        bw2io LCIA method records (``name`` as a tuple, ``exchanges`` with ``input`` =
        ``["biosphere3", code]``). Source: ecoinvent 3.9 LCIA implementation as shipped in
        bw2io 0.9 (``bw2io/data/lcia/lcia_39_ecoinvent.zip``).
    """
    if method_set not in METHOD_SETS:
        raise UnknownNameError("method set", method_set, METHOD_SETS)
    with zipfile.ZipFile(files("bw2io") / "data" / "lcia" / "lcia_39_ecoinvent.zip") as archive:
        data = json.load(archive.open("data.json"))
    families = METHOD_SETS[method_set]
    out = []
    for method in data:
        method["name"] = tuple(method["name"])
        if families is None or method["name"][0] in families:
            out.append(method)
    return out


def _write_methods(bd, method_set: str) -> int:
    from bw2io.importers.base_lcia import LCIAImporter

    data = lcia_method_data(method_set)
    ids = {node["code"]: node.id for node in bd.Database(BIOSPHERE)}
    for method in data:
        linked = []
        for cf in method["exchanges"]:
            db, code = cf["input"]
            if db == BIOSPHERE and code in ids:
                cf["input"] = ids[code]
                linked.append(cf)
        method["exchanges"] = linked  # a flow absent from biosphere3 cannot be characterised here
    importer = LCIAImporter("lcia_39_ecoinvent.zip")
    importer.data = data
    with contextlib.redirect_stdout(io.StringIO()):
        importer.write_methods(overwrite=True, verbose=False)
    return len(data)


def _build(bd, method_set: str) -> None:
    """Build biosphere and methods under a temporary name, mark, copy to the final name."""
    with contextlib.redirect_stdout(sys.stderr):
        import bw2io

    temp = f"{PROJECT_NAME}.building-{uuid.uuid4().hex[:8]}"
    bd.projects.set_current(temp)
    try:
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bw2io.create_default_biosphere3()
        n = _write_methods(bd, method_set)
        bd.projects.dataset.data["workbench_setup"] = {"version": SETUP_VERSION, "method_set": method_set,
                                                       "n_methods": n}
        bd.projects.dataset.save()
        if PROJECT_NAME in bd.projects:
            with contextlib.suppress(AssertionError):  # its directory may be gone already
                bd.projects.delete_project(PROJECT_NAME, delete_dir=True)
        bd.projects.copy_project(PROJECT_NAME, switch=False)
    finally:
        bd.projects.set_current("default", update=False)
        with contextlib.suppress(Exception):
            bd.projects.delete_project(temp, delete_dir=True)


def setup_project(path: str | os.PathLike | None = None, *, method_set: str = "default",
                  rebuild: bool = False, foreground: bool = True) -> ProjectInfo:
    """Create (once) and open the workbench's Brightway project; reuse it when complete.

    Parameters
    ----------
    path : path-like, optional
        Brightway data directory (see :func:`data_dir`).
    method_set : {"ipcc", "default", "all"}
        LCIA method families to install (see :data:`METHOD_SETS`). An existing project set up with
        a larger set is reused.
    rebuild : bool
        Delete and rebuild the project even when it is complete.
    foreground : bool
        Also write (or refresh, when its inputs changed) the foreground database from the catalog.

    Returns
    -------
    ProjectInfo

    Raises
    ------
    UnknownNameError
        ``method_set`` is not one of :data:`METHOD_SETS`.
    StoreError
        The data directory cannot be created.
    """
    if method_set not in METHOD_SETS:
        raise UnknownNameError("method set", method_set, METHOD_SETS, hint="use ipcc, default or all")
    bd = activate(path)
    base = data_dir(path)
    with _setup_lock(base):
        ready = False
        if PROJECT_NAME in bd.projects and not rebuild:
            bd.projects.set_current(PROJECT_NAME, update=False)
            ready = _complete(bd, method_set)
        if not ready:
            _build(bd, method_set)
        bd.projects.set_current(PROJECT_NAME, update=False)
        fg = ""
        if foreground:
            fg = inventory.ensure_foreground()
    mark = bd.projects.dataset.data["workbench_setup"]
    return ProjectInfo(base, PROJECT_NAME, mark["method_set"], mark["n_methods"], fg)


def open_project(path: str | os.PathLike | None = None, *, method_set: str = "default", foreground_inputs=None):
    """Activate the workbench project, setting it up first when absent or incomplete; return ``bw2data``.

    ``foreground_inputs`` (:class:`workbench.lca.inventory.ForegroundInputs`) replaces the catalog as
    the source of the foreground database (tests, or users with their own tables).
    """
    bd = activate(path)
    if PROJECT_NAME in bd.projects:
        bd.projects.set_current(PROJECT_NAME, update=False)
        if _complete(bd, "ipcc"):
            inventory.ensure_foreground(foreground_inputs)
            return bd
    setup_project(path, method_set=method_set, foreground=False)
    inventory.ensure_foreground(foreground_inputs)
    return bd


def check_method(method: tuple) -> tuple:
    """Return ``method`` as a tuple if installed in the current project, else raise with close matches."""
    import bw2data as bd

    method = tuple(method)
    if method not in bd.methods:
        raise UnknownNameError("LCIA method", " | ".join(method), [" | ".join(m) for m in bd.methods],
                               hint="run `workbench lca-setup --methods all` to install every method")
    return method


def parse_method(text: str | tuple | None) -> tuple:
    """``"IPCC 2021 | climate change | global warming potential (GWP100)"`` → tuple; None → default."""
    if text is None:
        return DEFAULT_METHOD
    if isinstance(text, (tuple, list)):
        return tuple(text)
    parts = tuple(p.strip() for p in str(text).split("|"))
    if len(parts) < 2:
        raise ParameterError(f"method {text!r} must list its levels separated by '|', e.g. "
                             f"{' | '.join(DEFAULT_METHOD)!r}")
    return parts

