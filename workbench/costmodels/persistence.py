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
version unless ``check_versions=False``.

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
from workbench.costmodels.features import target_column
from workbench.costmodels.fewshot import FewShotCalibrator
from workbench.costmodels.intervals import ConformalCostModel
from workbench.costmodels.layerwise import LayerwiseCostModel
from workbench.costmodels.regressions import LogLinearCostModel, TreeCostModel
from workbench.errors import CorruptFileError, UnknownNameError, WorkbenchError

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
    """A file is not a readable cost-model file."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        WorkbenchError.__init__(
            self, f"cannot read cost model {path}: {reason}. Fix: pass a file written by `workbench fit` "
            "(or workbench.costmodels.save)."
        )


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


def _decode(v):
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if isinstance(v, dict):
        if "__ndarray__" in v:
            return np.asarray(v["__ndarray__"], dtype=v["dtype"])
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
    name = d.get("class")
    if name not in REGISTRY:
        raise UnknownNameError("cost-model class", str(name), REGISTRY,
                               "a model file may only name the workbench's cost models")
    params = {k: _decode(v) for k, v in d.get("params", {}).items()}
    if name in RENAMED_PARAMS:
        old, new, convert = RENAMED_PARAMS[name]
        if old in params and new not in params:
            params[new] = convert(params.pop(old))
    est = REGISTRY[name](**params)
    for k, v in d.get("state", {}).items():
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


def save(estimator, path: str | os.PathLike, *, target: str, metadata: dict | None = None) -> Path:
    """Write a fitted estimator and its metadata to a JSON model file (atomically); return the path.

    Parameters
    ----------
    estimator : fitted cost model (a class of :data:`REGISTRY`)
    path : file to write
    target : str
        What the model predicts (a key of :data:`workbench.costmodels.features.TARGETS`).
    metadata : dict, optional
        More metadata: ``device_class``, ``training_data_sha256``, ``n_train``, ... (JSON values).
    """
    target_column(target)  # validates the name
    check_is_fitted(estimator)
    meta = {"target": target, "features": list(getattr(estimator, "feature_names_in_", [])),
            "library_versions": library_versions(),
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(metadata or {})}
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": estimator_to_dict(estimator),
           "metadata": meta}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(doc, allow_nan=True))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load(path: str | os.PathLike, *, target: str | None = None, check_versions: bool = True) -> SavedCostModel:
    """Read a model file written by :func:`save`.

    Parameters
    ----------
    target : str, optional
        Raise :class:`TargetMismatchError` unless the model predicts this target.
    check_versions : bool
        Refuse files written with another minor version of numpy, scikit-learn or the workbench.

    Raises
    ------
    CorruptFileError
        Not a JSON cost-model file.
    VersionMismatchError
        Other format version, or other library versions (with ``check_versions``).
    TargetMismatchError, UnknownNameError
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise CostModelFileError(path, "no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CostModelFileError(path, f"not a JSON cost-model file ({str(exc).splitlines()[0][:80]})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CostModelFileError(path, f"not a {FORMAT} file (written by `workbench fit`)")
    if doc.get("format_version") != FORMAT_VERSION:
        raise VersionMismatchError(
            f"{path} has cost-model format version {doc.get('format_version')!r}; this workbench reads version "
            f"{FORMAT_VERSION}. Fix: refit the model with this workbench (`workbench fit ...`)."
        )
    meta = doc.get("metadata", {})
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
    try:
        est = estimator_from_dict(doc["model"])
    except UnknownNameError:
        raise
    except (KeyError, TypeError) as exc:
        raise CostModelFileError(path, f"malformed model entry ({exc})") from None
    saved = SavedCostModel(est, meta)
    saved.check_target(target)
    return saved
