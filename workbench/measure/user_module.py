"""The user's own model: import a factory they wrote, build the module, profile it like a zoo model.

``PATH_OR_MODULE:FACTORY`` names a callable returning an ``nn.Module``: ``my_models.py:build`` (a file
path, imported under a private module name) or ``mypkg.models:build`` (an importable module).
**Importing it runs the user's own code, on purpose**: only name factories you trust, as for
``python my_models.py``. Nothing is unpickled; weights the factory loads are its own business.

The Python API takes any module directly (:func:`workbench.measure.profiler.measure_module`,
:func:`workbench.measure.ort_profile.profile_onnx_module`); this module is the command line's way in
and gives the user's model the zoo's rows: :class:`UserModelSpec` has the zoo spec's interface, so the
profiler measures it exactly as it measures a zoo model, per-layer breakdown included.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import torch
from torch import nn

from workbench import schema
from workbench.errors import ParameterError
from workbench.measure import latency, profiler
from workbench.measure.energy import get_meter
from workbench.store import Store, layer_frame, new_run_id

_SPEC = re.compile(r"^(?P<where>.+):(?P<factory>[A-Za-z_][A-Za-z0-9_]*)$")


def parse_input_shape(text: str) -> tuple[int, ...]:
    """``"3x224x224"`` → ``(3, 224, 224)``: the shape of one sample, without the batch dimension.

    Raises
    ------
    ParameterError
        Not positive integers separated by ``x``.
    """
    parts = str(text).strip().lower().replace("×", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(s <= 0 for s in shape):
        raise ParameterError(f"input shape {text!r} is not positive integers separated by 'x'. "
                             "Fix: e.g. --input-shape 3x224x224 (one sample, without the batch dimension).")
    return shape


def _import_file(path: Path):
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    mod_name = f"workbench_user_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}_{digest}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ParameterError(f"cannot import {str(path)!r} as Python. Fix: give a .py file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)  # the user's own code, run on purpose
    except BaseException:
        del sys.modules[mod_name]
        raise
    return module


def load_factory(spec: str) -> Callable[..., nn.Module]:
    """The factory named by ``PATH_OR_MODULE:FACTORY``, imported (this runs the user's code, on purpose).

    Parameters
    ----------
    spec : str
        ``path/to/models.py:build`` or ``package.module:build``.

    Returns
    -------
    callable

    Raises
    ------
    ParameterError
        A malformed spec, a file or module that does not exist, an import that fails (the user's
        exception named), or a factory that is missing or not callable.
    """
    m = _SPEC.match(str(spec).strip())
    if not m:
        raise ParameterError(f"--module {spec!r} is not PATH_OR_MODULE:FACTORY. "
                             "Fix: e.g. --module my_models.py:build or --module mypkg.models:build.")
    where, name = m.group("where"), m.group("factory")
    try:
        if where.endswith(".py") or os.sep in where or "/" in where:
            path = Path(where)
            if not path.is_file():
                raise ParameterError(f"--module {spec!r}: file {where!r} does not exist. "
                                     "Fix: give the path of your .py file (relative to the current directory).")
            module = _import_file(path)
        else:
            try:
                module = importlib.import_module(where)
            except ModuleNotFoundError as exc:
                if exc.name and where.startswith(exc.name):
                    raise ParameterError(f"--module {spec!r}: no module named {exc.name!r}. Fix: give a .py file "
                                         "path, or install/put on PYTHONPATH the package that holds it.") from None
                raise
    except ParameterError:
        raise
    except Exception as exc:
        raise ParameterError(f"--module {spec!r}: importing {where!r} failed with {type(exc).__name__}: {exc}. "
                             "Fix: the error is in your code; run `python -c 'import ...'` on it to see it.") from None
    factory = getattr(module, name, None)
    if factory is None:
        public = sorted(n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n)))
        raise ParameterError(f"--module {spec!r}: {where!r} has no {name!r}. Callables there: {public[:20]}. "
                             "Fix: name the function that returns your nn.Module.")
    if not callable(factory):
        raise ParameterError(f"--module {spec!r}: {name!r} is a {type(factory).__name__}, not callable. "
                             "Fix: name a function (or class) that returns an nn.Module.")
    return factory


@dataclass(frozen=True)
class UserModelSpec:
    """A user's model with the interface of :class:`workbench.measure.zoo.ModelSpec` (name, family, task,
    input shape, ``build``, ``example_input``, ``config``), so the profiler measures it like a zoo model.

    Parameters
    ----------
    spec : str
        ``PATH_OR_MODULE:FACTORY`` (see :func:`load_factory`).
    input_shape : tuple of int
        One sample's shape, without the batch dimension.
    name : str, optional
        ``model`` column (default: the factory's name).
    family, task : str, optional
        ``model_family`` and ``task`` columns.
    kwargs : dict
        Keyword arguments of the factory.
    """

    spec: str
    input_shape: tuple[int, ...]
    name: str | None = None
    family: str | None = None
    task: str | None = None
    kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        if self.name is None:
            object.__setattr__(self, "name", self.spec.rsplit(":", 1)[-1])

    def build(self, seed: int = 0) -> nn.Module:
        """Call the factory (after ``torch.manual_seed(seed)``); the module in eval mode.

        Raises
        ------
        ParameterError
            The factory raised, returned something that is not an ``nn.Module``, or the module does
            not accept an input of :attr:`input_shape`.
        """
        factory = load_factory(self.spec)
        torch.manual_seed(seed)
        try:
            model = factory(**self.kwargs)
        except Exception as exc:
            raise ParameterError(f"--module {self.spec!r}: the factory raised {type(exc).__name__}: {exc}. "
                                 "Fix: the error is in your factory.") from None
        if not isinstance(model, nn.Module):
            raise ParameterError(f"--module {self.spec!r} returned a {type(model).__name__}, not a torch.nn.Module. "
                                 "Fix: return the model object (an nn.Module) from the factory.")
        model = model.eval()
        check_input_fits(model, self.example_input(1), self.spec)
        return model

    def example_input(self, batch_size: int = 1, seed: int = 0) -> torch.Tensor:
        """A random input batch of the given size (normal, seeded)."""
        g = torch.Generator().manual_seed(seed)
        return torch.randn((batch_size, *self.input_shape), generator=g)

    def config(self) -> dict:
        """``config_json`` entries: the factory spec and its arguments."""
        return {"user_module": self.spec, "factory_kwargs": self.kwargs}


def check_input_fits(model: nn.Module, x: torch.Tensor, label: str = "the model") -> None:
    """Run ``model(x)`` once; raise :class:`ParameterError` naming the shape if it fails."""
    try:
        with torch.inference_mode():
            model(x)
    except Exception as exc:
        shape = "x".join(map(str, x.shape[1:]))
        raise ParameterError(f"{label} does not accept an input of shape {shape} (batch {x.shape[0]}): "
                             f"{type(exc).__name__}: {str(exc)[:200]}. Fix: give the sample shape your "
                             "model expects, e.g. --input-shape 3x224x224.") from None


def profile_user_module(spec: UserModelSpec, *, settings: profiler.ProfileSettings | None = None, meter="auto",
                        store: Store | str | None = None) -> pl.DataFrame:
    """Profile the user's model with the PyTorch profiler, as ``profile`` does a zoo model.

    Parameters
    ----------
    spec : UserModelSpec
        The factory, input shape and names.
    settings : ProfileSettings, optional
        Batch sizes, repeats, threads, dtype ... (default ``ProfileSettings()``).
    meter : str or EnergyMeter or None
        Energy meter.
    store : Store or path, optional
        Where to append the run (rows and per-layer rows).

    Returns
    -------
    polars.DataFrame
        One row per batch size, ``source`` ``profiler``, ``config_json`` naming the factory.

    Raises
    ------
    ParameterError
        A factory that cannot be loaded or built, or a shape that does not fit (before anything is
        measured; the store is unchanged).
    """
    settings = settings or profiler.ProfileSettings()
    spec.build()  # fail on a bad factory or shape before anything is measured
    if isinstance(store, (str, os.PathLike)):
        store = Store(store)
    if store is not None:
        store.check_writable()
    meter_obj = get_meter(meter) if isinstance(meter, str) else meter
    run_id = new_run_id()
    dev = profiler.device_info(settings.device, settings.device_class)
    versions = json.dumps(profiler.software_versions(), sort_keys=True)
    rows, layer_rows = [], []
    with latency.calibrated(settings) as calibration:
        for b in settings.batch_sizes:
            row, lrows = profiler.profile_one(spec, b, settings, meter_obj, run_id, dev, versions, calibration)
            rows.append(row)
            layer_rows += lrows
    df = schema.from_records(rows)
    if store is not None:
        store.append(df, layers=layer_frame(layer_rows) if layer_rows else None)
    return df
