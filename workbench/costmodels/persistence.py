"""Save and load cost models as JSON: no pickles, so loading a foreign file never runs its code.

A model file is one JSON object::

    {"format": "workbench-costmodel", "format_version": 1,
     "model": {"class": "ConformalCostModel", "params": {...}, "state": {...}},
     "metadata": {"target": "latency_ms", "device_class": "server-cpu", "features": [...],
                  "training_data_sha256": "...", "n_train": 465, "library_versions": {...},
                  "created_utc": "..."}}

Only the classes in :data:`REGISTRY` can be rebuilt; their learned state is plain numbers and
arrays (trees are stored as node arrays, see ``TreeCostModel``). :func:`load` refuses files of
another format version, and files written with another scikit-learn/numpy/workbench minor
version unless ``check_versions=False``. It checks what it rebuilt before returning it: every
learned attribute, and one representative prediction (:mod:`~workbench.costmodels.integrity`), so a
truncated, damaged or edited file is one :class:`CostModelFileError` naming the file and the fault.
:func:`save` writes atomically and never replaces a file unless asked (``overwrite=True``).

Files written before :class:`~workbench.costmodels.intervals.ConformalCostModel` took its coverage
as ``interval`` store the miscoverage ``alpha`` in its parameters; :func:`estimator_from_dict`
reads them as ``interval = 1 - alpha`` (:data:`RENAMED_PARAMS`).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import sklearn
from sklearn.utils.validation import check_is_fitted

from workbench.costmodels.additive import LayerAdditiveCostModel, ResidualBoostedCostModel
from workbench.costmodels.baselines import FlopsProportionalCostModel, RooflineCostModel
from workbench.costmodels.features import TARGETS, target_column
from workbench.costmodels.fewshot import FewShotCalibrator
from workbench.costmodels.integrity import StateError, check_learned_state, self_check
from workbench.costmodels.intervals import ConformalCostModel
from workbench.costmodels.layerwise import LayerwiseCostModel
from workbench.costmodels.regressions import LogLinearCostModel, TreeCostModel
from workbench.errors import CorruptFileError, UnknownNameError, WorkbenchError
from workbench.files import write_file_atomic

FORMAT = "workbench-costmodel"
FORMAT_VERSION = 1

REGISTRY = {c.__name__: c for c in (
    FlopsProportionalCostModel, RooflineCostModel, LogLinearCostModel, TreeCostModel, LayerAdditiveCostModel,
    LayerwiseCostModel, ResidualBoostedCostModel, ConformalCostModel, FewShotCalibrator,
)}
"""Classes a model file may name (nothing else is ever instantiated)."""

RENAMED_PARAMS = {"ConformalCostModel": ("alpha", "interval", lambda alpha: 1 - alpha)}
"""Class → (old parameter, new parameter, old value → new value) for files written before a rename:
``ConformalCostModel(alpha=0.1)`` (miscoverage) became ``ConformalCostModel(interval=0.9)`` (coverage)."""


class CostModelFileError(CorruptFileError):
    """A file is not a readable cost-model file (missing, not JSON, damaged or changed since it was written)."""

    def __init__(self, path, reason: str, fix: str | None = None):
        self.path, self.reason = path, reason
        fix = fix or (f"refit the model with `workbench fit ... --out {path}` (pass --overwrite to replace the "
                      "file), or pass a file written by `workbench fit` (or workbench.costmodels.save).")
        WorkbenchError.__init__(self, f"cannot read cost model {path}: {reason}. Fix: {fix}")


class UnknownCostModelClassError(CostModelFileError, UnknownNameError):
    """A model file names a class that is not in :data:`REGISTRY` (nothing else is ever instantiated)."""

    def __init__(self, path, name: str):
        self.what, self.name, self.valid = "cost-model class", name, sorted(REGISTRY)
        CostModelFileError.__init__(self, path, f"unknown cost-model class {name!r:.60} (a model file may only name "
                                                f"{', '.join(self.valid)})")


class VersionMismatchError(WorkbenchError):
    """A model file was written by another format or library version."""


class TargetMismatchError(WorkbenchError, ValueError):
    """A cost model is asked for a target it was not fitted for."""


def library_versions() -> dict[str, str]:
    """Versions recorded in (and checked against) a model file."""
    out = {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__}
    try:
        out["continuum-workbench"] = md.version("continuum-workbench")
    except md.PackageNotFoundError:  # pragma: no cover - running from a source tree
        out["continuum-workbench"] = "unknown"
    return out


CHECKED_LIBRARIES = ("numpy", "scikit-learn", "continuum-workbench")


def _minor(v: str) -> str:
    return ".".join(v.split(".")[:2])


# ----------------------------------------------------------------------------------------------- encoding
def _encode(v):
    if isinstance(v, np.ndarray):
        return {"__ndarray__": v.tolist(), "dtype": str(v.dtype)}
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    if isinstance(v, tuple):
        return {"__tuple__": [_encode(x) for x in v]}
    if isinstance(v, list):
        return [_encode(x) for x in v]
    if isinstance(v, dict):
        return {"__dict__": [[_encode(k), _encode(x)] for k, x in v.items()]}
    if type(v).__name__ in REGISTRY and type(v) is REGISTRY[type(v).__name__]:
        return {"__estimator__": estimator_to_dict(v)}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise WorkbenchError(f"cannot store a {type(v).__name__} in a cost-model file (value {v!r:.60}).")


ARRAY_KINDS = "biufU"
"""numpy dtype kinds a model file's arrays may have (bool, integers, floats, text; never objects)."""


def _decode(v):
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if isinstance(v, dict):
        if "__ndarray__" in v:
            dtype = np.dtype(v.get("dtype"))
            if dtype.kind not in ARRAY_KINDS:
                raise CostModelFileError("<cost model>", f"an array of dtype {str(dtype)!r}, not of numbers")
            return np.asarray(v["__ndarray__"], dtype=dtype)
        if "__tuple__" in v:
            return tuple(_decode(x) for x in v["__tuple__"])
        if "__dict__" in v:
            return {_decode(k): _decode(x) for k, x in v["__dict__"]}
        if "__estimator__" in v:
            return estimator_from_dict(v["__estimator__"])
        raise CostModelFileError("<cost model>", f"unexpected object with keys {sorted(v)[:5]}")
    return v


def estimator_to_dict(est) -> dict:
    """Class name, constructor parameters and learned (``*_``) attributes of a registered estimator."""
    name = type(est).__name__
    if REGISTRY.get(name) is not type(est):
        raise UnknownNameError("cost-model class", name, REGISTRY)
    state = {k: _encode(v) for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}
    return {"class": name, "params": {k: _encode(v) for k, v in est.get_params(deep=False).items()},
            "state": state}


def estimator_from_dict(d: dict):
    """Rebuild a registered estimator from :func:`estimator_to_dict` output (no code is run).

    Parameters renamed since the file was written are mapped by :data:`RENAMED_PARAMS` (an old
    ``ConformalCostModel`` entry's ``alpha`` becomes ``interval = 1 - alpha``).
    """
    if not isinstance(d, dict):
        raise CostModelFileError("<cost model>", f"a model entry is a {type(d).__name__}, not an object")
    name = d.get("class")
    if name not in REGISTRY:
        raise UnknownNameError("cost-model class", str(name), REGISTRY,
                               "a model file may only name the workbench's cost models")
    raw_params, raw_state = d.get("params", {}), d.get("state", {})
    if not isinstance(raw_params, dict) or not isinstance(raw_state, dict):
        raise CostModelFileError("<cost model>", f"the params or state of {name} are not objects")
    params = {k: _decode(v) for k, v in raw_params.items()}
    if name in RENAMED_PARAMS:
        old, new, convert = RENAMED_PARAMS[name]
        if old in params and new not in params:
            params[new] = convert(params.pop(old))
    unknown = sorted(set(params) - set(REGISTRY[name]._get_param_names()))
    if unknown:
        raise CostModelFileError("<cost model>", f"{name} has no parameter(s) {unknown[:5]}")
    est = REGISTRY[name](**params)
    for k, v in raw_state.items():
        if not k.endswith("_") or k.startswith("_"):
            raise CostModelFileError("<cost model>", f"state key {k!r} is not a learned attribute")
        setattr(est, k, _decode(v))
    return est


# ----------------------------------------------------------------------------------------------- files
@dataclass
class SavedCostModel:
    """A fitted cost model with the metadata of its file."""

    estimator: object
    metadata: dict = field(default_factory=dict)

    @property
    def target(self) -> str:
        return self.metadata.get("target", "")

    @property
    def features(self) -> list[str]:
        return list(self.metadata.get("features", []))

    def check_target(self, target: str | None) -> None:
        """Raise :class:`TargetMismatchError` unless the model predicts ``target``."""
        if target is not None and target != self.target:
            raise TargetMismatchError(
                f"this cost model predicts {self.target!r} (device class {self.metadata.get('device_class')!r}), "
                f"not {target!r}. Fix: fit one for {target!r} with `workbench fit --target {target} ...`."
            )

    def predict(self, X, *, target: str | None = None, **predict_params):
        self.check_target(target)
        return self.estimator.predict(X, **predict_params)

    def predict_interval(self, X, *, target: str | None = None, **predict_params):
        self.check_target(target)
        if not hasattr(self.estimator, "predict_interval"):
            raise WorkbenchError(
                f"{type(self.estimator).__name__} has no prediction intervals. "
                "Fix: fit with an interval (`workbench fit --interval 0.9`, i.e. a ConformalCostModel)."
            )
        return self.estimator.predict_interval(X, **predict_params)


def save(estimator, path: str | os.PathLike, *, target: str, metadata: dict | None = None,
         overwrite: bool = False) -> Path:
    """Write a fitted estimator and its metadata to a JSON model file (atomically); return the path.

    The file is written beside ``path`` and moved into place (:func:`workbench.files.write_file_atomic`),
    so a failed write (full disk, read-only directory) leaves no half file and an existing file as it was.

    Parameters
    ----------
    estimator : fitted cost model (a class of :data:`REGISTRY`)
    path : file to write; its directory must exist
    target : str
        What the model predicts (a key of :data:`workbench.costmodels.features.TARGETS`).
    metadata : dict, optional
        More metadata: ``device_class``, ``training_data_sha256``, ``n_train``, ... (JSON values).
    overwrite : bool
        Replace an existing file (default: refuse, CLI ``--overwrite``).

    Raises
    ------
    UnknownNameError
        ``target`` is not a cost-model target.
    StoreError
        ``path`` exists (without ``overwrite``) or is a directory, its directory is missing or
        read-only, or the disk is full; nothing was written.
    """
    target_column(target)  # validates the name
    check_is_fitted(estimator)
    meta = {"target": target, "features": list(getattr(estimator, "feature_names_in_", [])),
            "library_versions": library_versions(),
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(metadata or {})}
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": estimator_to_dict(estimator),
           "metadata": meta}
    return write_file_atomic(path, json.dumps(doc, allow_nan=True).encode(), overwrite=overwrite)


def _read_document(path: Path) -> dict:
    """The JSON object of a model file, or :class:`CostModelFileError` saying why there is none."""
    if path.is_dir():
        raise CostModelFileError(path, "it is a directory", "give the JSON file written by `workbench fit --out FILE`.")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CostModelFileError(path, "no such file", "check the path, or write the file with "
                                                       "`workbench fit ... --out FILE`.") from None
    except OSError as exc:
        raise CostModelFileError(path, f"it cannot be read ({exc.strerror or exc})",
                                 "check the file's permissions, or refit the model with `workbench fit`.") from None
    if not data.strip():
        raise CostModelFileError(path, "the file is empty (an interrupted copy?)")
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise CostModelFileError(path, "not a JSON cost-model file (not UTF-8 text: a pickle or other binary "
                                       "file; model files are JSON and are never unpickled)") from None
    except (ValueError, RecursionError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:80]
        raise CostModelFileError(path, f"not a JSON cost-model file ({first}: truncated or damaged)") from None
    if not isinstance(doc, dict):
        raise CostModelFileError(path, f"not a {FORMAT} file (the JSON holds a {type(doc).__name__}, not an object)")
    if doc.get("format") != FORMAT:
        raise CostModelFileError(path, f"not a {FORMAT} file (its format field is {doc.get('format')!r:.60})")
    v = doc.get("format_version")
    if not isinstance(v, int) or isinstance(v, bool):
        raise CostModelFileError(path, f"its format_version is {v!r:.40}, not an integer")
    if v != FORMAT_VERSION:
        raise VersionMismatchError(
            f"{path} has cost-model format version {v!r}; this workbench reads version "
            f"{FORMAT_VERSION}. Fix: refit the model with this workbench (`workbench fit ...`)."
        )
    return doc


def _check_metadata(path: Path, meta) -> dict:
    if not isinstance(meta, dict):
        raise CostModelFileError(path, f"its metadata is a {type(meta).__name__}, not an object")
    target = meta.get("target")
    if not isinstance(target, str) or target not in TARGETS:
        raise CostModelFileError(path, f"its metadata names target {target!r:.40}, not one of {sorted(TARGETS)}")
    feats = meta.get("features", [])
    if not isinstance(feats, list) or not all(isinstance(f, str) for f in feats):
        raise CostModelFileError(path, "its metadata's features are not a list of column names")
    versions = meta.get("library_versions", {})
    if not isinstance(versions, dict) or not all(isinstance(x, str) for x in versions.values()):
        raise CostModelFileError(path, "its metadata's library_versions are not an object of version strings")
    return meta


def load(path: str | os.PathLike, *, target: str | None = None, check_versions: bool = True) -> SavedCostModel:
    """Read a model file written by :func:`save`, and check it can predict.

    Nothing in the file is executed: only the classes of :data:`REGISTRY` are built, from plain
    numbers. Every learned attribute is then checked (present, of its type and shape, finite, of
    its sign; :func:`~workbench.costmodels.integrity.check_learned_state`), and one representative
    feature row must be predicted finite and > 0 (:func:`~workbench.costmodels.integrity.self_check`),
    so a tampered or damaged file fails here, named, rather than as a strange prediction later.

    Parameters
    ----------
    path : str or path-like
        A model file.
    target : str, optional
        Raise :class:`TargetMismatchError` unless the model predicts this target.
    check_versions : bool
        Refuse files written with another minor version of numpy, scikit-learn or the workbench.

    Raises
    ------
    CostModelFileError
        Missing, unreadable, not JSON, not a cost-model file, or holding a malformed model entry,
        learned attribute or metadata (the message names the file and what is wrong).
    UnknownCostModelClassError
        The file names a class outside :data:`REGISTRY` (a ``CostModelFileError`` and an
        ``UnknownNameError``).
    VersionMismatchError
        Other format version, or other library versions (with ``check_versions``).
    TargetMismatchError
    """
    path = Path(path)
    doc = _read_document(path)
    meta = _check_metadata(path, doc.get("metadata"))
    if check_versions:
        saved, now = meta.get("library_versions", {}), library_versions()
        diff = {lib: (saved.get(lib), now[lib]) for lib in CHECKED_LIBRARIES
                if _minor(str(saved.get(lib))) != _minor(now[lib])}
        if diff:
            text = ", ".join(f"{lib} {a} (file) vs {b} (installed)" for lib, (a, b) in diff.items())
            raise VersionMismatchError(
                f"{path} was written with other library versions: {text}. Fix: refit the model here "
                "(`workbench fit ...`), or load it anyway with check_versions=False (CLI: --ignore-versions)."
            )
    if "model" not in doc:
        raise CostModelFileError(path, "it has no model entry")
    try:
        est = estimator_from_dict(doc["model"])
        check_learned_state(est)
        self_check(est)
    except UnknownNameError as exc:
        raise UnknownCostModelClassError(path, exc.name) from None
    except CostModelFileError as exc:
        raise CostModelFileError(path, exc.reason) from None
    except StateError as exc:
        raise CostModelFileError(path, str(exc)) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError) as exc:
        first = (str(exc).splitlines() or [""])[0][:100]
        raise CostModelFileError(path, f"malformed model entry ({type(exc).__name__}: {first})") from None
    saved = SavedCostModel(est, meta)
    saved.check_target(target)
    return saved
