"""The TOML files of ``workbench federate``: one configuration, or several as ``[experiments.<id>]`` tables.

:func:`load_config` reads a file of one experiment; :func:`load_experiments` reads any file and returns its
experiments (:func:`split_experiments`), validated by :func:`~workbench.federated.config.parse_config`
before anything starts.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from workbench.errors import ParameterError
from workbench.federated.config import FederatedConfig, parse_config
from workbench.files import read_user_file

EXPERIMENTS_TABLE = "experiments"
"""Optional top-level table: experiment id → tables that override the file's own (one simulation for all)."""


def split_experiments(raw: dict, *, source: str = "<config>",
                      base_dir: str | Path | None = None) -> dict[str, FederatedConfig]:
    """The experiments of a configuration: ``{name: config}``, or one per ``[experiments.<id>]`` table.

    Each ``[experiments.<id>]`` table holds tables (``[experiments.int8.compression]``, ...) whose keys
    replace those of the file's own tables for that experiment; every experiment is validated as a whole
    (:func:`parse_config`). All run in one Flower simulation (:func:`workbench.federated.run_many`).

    Examples
    --------
    >>> cfgs = split_experiments({"training": {"rounds": 2},
    ...                           "experiments": {"plain": {}, "int8": {"compression": {"method": "int8"}}}})
    >>> {k: c.label() for k, c in cfgs.items()}
    {'plain': 'fl-fedavg-iid', 'int8': 'fl-fedavg-iid-int8'}
    """
    if not isinstance(raw, dict) or EXPERIMENTS_TABLE not in raw:
        cfg = parse_config(raw, source=source, base_dir=base_dir)
        return {cfg.name: cfg}
    base = {k: v for k, v in raw.items() if k != EXPERIMENTS_TABLE}
    exps = raw[EXPERIMENTS_TABLE]
    if not isinstance(exps, dict) or not exps:
        raise ParameterError(f"{source}: [experiments] must hold at least one [experiments.<id>] table. Fix: e.g. "
                             "[experiments.int8.compression] then method = \"int8\".")
    out = {}
    for exp, over in exps.items():
        if not isinstance(over, dict):
            raise ParameterError(f"{source}: [experiments.{exp}] must be a table of tables, got {over!r}.")
        merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
        for table, keys in over.items():
            merged[table] = {**merged.get(table, {}), **keys} if isinstance(keys, dict) else keys
        out[str(exp)] = parse_config(merged, source=f"{source} [experiments.{exp}]", base_dir=base_dir)
    return out


def _read_toml(path: str | Path) -> dict:
    text = read_user_file(path, "federated configuration", ParameterError, fix="give a TOML file (see "
                          "docs/federated.md).", suffix=".toml")
    try:
        return tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{path}: not valid TOML ({exc}). Fix: check the line it names.") from None


def load_config(path: str | Path) -> FederatedConfig:
    """Read and validate a TOML configuration file of one experiment (see :func:`parse_config`).

    Raises
    ------
    ParameterError
        A missing or unreadable file, TOML that does not parse, or a file with ``[experiments]`` tables
        (read those with :func:`load_experiments`).
    UnknownNameError, ParameterError
        As :func:`parse_config`.
    """
    raw = _read_toml(path)
    if isinstance(raw, dict) and EXPERIMENTS_TABLE in raw:
        raise ParameterError(f"{path} holds [experiments] tables, several configurations. Fix: read it with "
                             "load_experiments (workbench federate does).")
    return parse_config(raw, source=str(path), base_dir=Path(path).parent)


def load_experiments(path: str | Path) -> dict[str, FederatedConfig]:
    """Read and validate a TOML configuration file: its experiments (:func:`split_experiments`).

    Raises
    ------
    ParameterError, UnknownNameError
        As :func:`load_config` and :func:`parse_config`, for every experiment.
    """
    return split_experiments(_read_toml(path), source=str(path), base_dir=Path(path).parent)


__all__ = ["EXPERIMENTS_TABLE", "load_config", "load_experiments", "split_experiments"]
