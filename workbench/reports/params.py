"""Report parameters: each notebook's ``parameters`` cell holds its defaults; a file overrides them.

The embedded defaults *are* the notebooks' ``parameters`` cells (one source of truth, the same in
JupyterLab and in ``workbench report``). A parameters file (TOML, JSON or YAML) overrides them::

    # applies to every notebook that declares the parameter
    models = ["resnet8", "dscnn-kws"]
    repeats = 10

    # applies to one notebook (name or number prefix)
    [notebooks."04_footprint"]
    countries = ["FRA", "POL"]

A key that no notebook declares is an error that lists the parameters that exist, so a typo does not
silently render the defaults. Path parameters (``store`` and names ending in ``_dir``, ``_path`` or
``_file``) are made absolute: defaults relative to the notebooks folder (where JupyterLab runs them),
values from a file or the command line relative to the current directory.
"""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path

from workbench.errors import ParameterError, UnknownNameError
from workbench.files import read_user_file

RUNNER_PARAMETERS = ("output_dir",)
"""Parameters the runner sets itself; every report notebook must declare them."""


def is_path_parameter(name: str) -> bool:
    """Whether a parameter holds a file-system path (resolved to an absolute path by the runner)."""
    return name == "store" or name.endswith(("_dir", "_path", "_file"))


def load_params(path: str | Path) -> dict:
    """Read a parameters file (``.toml``, ``.json``, ``.yaml``/``.yml``) into a dict.

    Raises
    ------
    ParameterError
        If the file is missing, of an unknown kind, malformed (with line and column where the
        parser reports them), or not a mapping.
    """
    path = Path(path)
    data = read_user_file(path, "parameters file", ParameterError, fix="pass an existing --params FILE.")
    suffix = path.suffix.lower()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParameterError(f"parameters file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}). "
                             "Fix: save it as UTF-8 TOML, JSON or YAML.") from None
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml  # optional: only YAML parameters files need it

            data = yaml.safe_load(text) or {}
        else:
            raise ParameterError(f"parameters file {path} has suffix {suffix!r}; use .toml, .json, .yaml or .yml.")
    except ParameterError:
        raise
    except Exception as exc:  # tomllib.TOMLDecodeError, json.JSONDecodeError, yaml.YAMLError
        raise ParameterError(f"cannot parse parameters file {path}: {exc}. Fix the syntax at that position.") from None
    if not isinstance(data, dict):
        raise ParameterError(f"parameters file {path} must hold a mapping of parameter = value, "
                             f"got {type(data).__name__}.")
    return data


def declared_parameters(notebook: str | Path) -> dict:
    """Parameters a notebook declares in its ``parameters`` cell, with their default values.

    Defaults that are Python literals are evaluated (``[1, 2]`` → list); others are kept as source text.

    Raises
    ------
    ParameterError
        If the notebook has no cell tagged ``parameters``.
    """
    import nbformat  # nbformat and papermill take seconds to import; only reading a notebook needs them
    import papermill as pm

    nb = nbformat.read(str(notebook), as_version=4)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise ParameterError(f"notebook {notebook} has no cell tagged 'parameters'. Fix: tag its first code cell "
                             "'parameters' (JupyterLab: property inspector → cell tags).")
    out = {}
    for name, info in pm.inspect_notebook(str(notebook)).items():
        try:
            out[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            out[name] = info["default"]
    return out


def _match_notebook(key: str, names: list[str]) -> str:
    hits = [n for n in names if n == key or n.split("_", 1)[0] == key]
    if len(hits) != 1:
        raise UnknownNameError("notebook", key, names, "notebooks are addressed by file stem or number")
    return hits[0]


def _check_type(nb: str, name: str, default, value) -> None:
    if default is None or value is None:
        return
    if isinstance(default, bool) or isinstance(value, bool):
        if isinstance(default, bool) and isinstance(value, bool):
            return
    elif isinstance(default, (int, float)) and isinstance(value, (int, float)):
        return
    elif isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
        return
    elif type(default) is type(value):
        return
    raise ParameterError(f"parameter {name!r} of {nb} expects a {type(default).__name__} like its default "
                         f"{default!r}; got {value!r} ({type(value).__name__}). Fix the value in the parameters.")


def _absolute(value, base: Path):
    if isinstance(value, str) and value:
        p = Path(value).expanduser()
        return str(p if p.is_absolute() else (base / p).resolve())
    return value


def resolve_parameters(notebooks: list[Path], overrides: dict | None = None, *, cwd: Path | None = None) -> dict:
    """Parameters for every notebook: its defaults, then the shared overrides, then its own section.

    Parameters
    ----------
    notebooks : list of Path
        Notebooks of the report.
    overrides : dict, optional
        Shared ``parameter = value`` pairs, and a ``notebooks`` table of per-notebook ones.
    cwd : Path, optional
        Base of relative path values in ``overrides`` (default: the current directory).

    Returns
    -------
    dict
        ``{notebook stem: {parameter: value}}`` with every declared parameter (runner parameters
        such as ``output_dir`` left out).

    Raises
    ------
    UnknownNameError
        For a parameter no notebook declares, or an unknown notebook.
    ParameterError
        For a value whose type differs from the default's, or a notebook without a parameters cell.
    """
    overrides = dict(overrides or {})
    cwd = Path(cwd or Path.cwd()).resolve()
    per_nb_raw = overrides.pop("notebooks", {}) or {}
    if not isinstance(per_nb_raw, dict):
        raise ParameterError("'notebooks' in the parameters must be a table of notebook → parameters.")
    names = [p.stem for p in notebooks]
    declared = {p.stem: declared_parameters(p) for p in notebooks}
    for stem, params in declared.items():
        missing = [r for r in RUNNER_PARAMETERS if r not in params]
        if missing:
            raise ParameterError(f"notebook {stem} does not declare {missing} in its parameters cell; "
                                 "`workbench report` sets it. Fix: add `output_dir = None` to the cell.")
    every = sorted({k for d in declared.values() for k in d} - set(RUNNER_PARAMETERS))
    for key in overrides:
        if key not in every:
            raise UnknownNameError("report parameter", key, every, "see the notebooks' parameters cells")
    per_nb = {}
    for key, section in per_nb_raw.items():
        stem = _match_notebook(str(key), names)
        if not isinstance(section, dict):
            raise ParameterError(f"[notebooks.{key}] must be a table of parameter = value.")
        for k in section:
            valid = sorted(set(declared[stem]) - set(RUNNER_PARAMETERS))
            if k not in valid:
                raise UnknownNameError(f"parameter of {stem}", k, valid)
        per_nb[stem] = section
    out = {}
    for p in notebooks:
        stem = p.stem
        base = p.parent.resolve()
        params = {}
        for k, default in declared[stem].items():
            if k in RUNNER_PARAMETERS:
                continue
            value, origin = default, base
            if k in overrides:
                value, origin = overrides[k], cwd
            if k in per_nb.get(stem, {}):
                value, origin = per_nb[stem][k], cwd
            _check_type(stem, k, default, value)
            params[k] = _absolute(value, origin) if is_path_parameter(k) else value
        out[stem] = params
    return out
