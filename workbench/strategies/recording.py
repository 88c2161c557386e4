"""The rows of one strategy run, shared by every experiment: identity columns, static measurement, storing.

A run (:class:`StrategyRun`) stamps every row it writes with one run id, this machine's device
and library versions, the digits splits and the data set's source; static variants are measured
with :func:`workbench.measure.profiler.measure_module` at every batch size of the settings.
:func:`start_run` is the one way an experiment begins: it resolves the settings, splits, meter
and store and checks the store is writable before any training. The experiments are
:mod:`.compression_experiments` and :mod:`.staged_experiments`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import polars as pl
from torch import nn

from workbench import schema
from workbench.errors import ParameterError
from workbench.measure.energy import get_meter
from workbench.measure.profiler import ProfileSettings, device_info, measure_module, software_versions
from workbench.store import Store, layer_frame, new_run_id
from workbench.strategies.data import DATASET_SOURCE, INPUT_SHAPE, MODELS, DigitsSplits, load_digits_splits

TASK = "image-classification"

TRAINING = {"optimizer": "adam", "lr": 1e-3, "batch_size": 64}
"""Training configuration of every model besides epochs and seed (:func:`~workbench.strategies.data.fit`'s
defaults), for ``config_json``."""


@dataclass
class StrategyResult:
    """What a strategy run produced.

    Attributes
    ----------
    rows : polars.DataFrame
        Measurement rows (schema of :mod:`workbench.schema`), also appended to the store if one was given.
    layers : polars.DataFrame or None
        Per-layer rows of the statically measured variants.
    summary : dict
        Headline figures (accuracy drops in percentage points, size ratios, speed-ups, FLOP reductions).
    val_sweep, test_sweep : polars.DataFrame or None
        Threshold sweeps (early exit and cascades).
    models : dict
        The trained and transformed models, by strategy.
    """

    rows: pl.DataFrame
    layers: pl.DataFrame | None
    summary: dict
    val_sweep: pl.DataFrame | None = None
    test_sweep: pl.DataFrame | None = None
    models: dict = field(default_factory=dict)


class StrategyRun:
    """Identity columns shared by the rows of one run, and the rows collected so far.

    Attributes
    ----------
    settings : ProfileSettings
        How variants are measured.
    meter : EnergyMeter or None
        Energy meter of every measurement (None: no energy).
    splits : DigitsSplits
        The data the models are trained and evaluated on.
    """

    def __init__(self, settings: ProfileSettings, meter, splits: DigitsSplits):
        self.settings, self.meter, self.splits = settings, meter, splits
        self.run_id = new_run_id()
        self.dev = device_info(settings.device, settings.device_class)
        self.versions = json.dumps(software_versions(), sort_keys=True)
        self.rows: list[dict] = []
        self.layers: list[dict] = []

    def row(self, fields: dict, *, model: str, family: str, strategy: str, acc: float, config: dict,
            dtype: str = "fp32") -> dict:
        """Add one schema row from measured ``fields`` and the variant's identity; return it.

        Parameters
        ----------
        fields : dict
            Measured schema fields (latency [ms], energy [J], bytes [B], ...); an ``_energy_details``
            entry moves into ``config_json["energy"]``.
        model, family, strategy : str
            The ``model``, ``model_family`` and ``strategy`` columns.
        acc : float
            Test accuracy [1].
        config : dict
            ``config_json`` entries (the splits' configuration and the data set's source are added).
        dtype : str
            The ``dtype`` column.

        Returns
        -------
        dict
            The row as added.
        """
        energy = fields.pop("_energy_details", None)
        config = {**self.splits.config(), "dataset_source": DATASET_SOURCE, **config}
        if energy:
            config["energy"] = energy
        row = {"measurement_id": uuid.uuid4().hex, "run_id": self.run_id,
               "timestamp_utc": datetime.now(timezone.utc), "source": "profiler", "model": model,
               "model_family": family, "task": TASK, "strategy": strategy,
               "input_shape": "x".join(map(str, INPUT_SHAPE)), "dtype": dtype, **fields, **self.dev,
               "accuracy": acc, "software_versions": self.versions,
               "config_json": json.dumps(config, sort_keys=True, default=float)}
        self.rows.append(row)
        return row

    def measure_static(self, module: nn.Module, *, model: str, family: str, strategy: str, acc: float,
                       config: dict, dtype: str = "fp32", flops: float | None = None) -> list[dict]:
        """Measure ``module`` with the profiler at every batch size of the settings; add the rows.

        Parameters
        ----------
        module : nn.Module
            The model, run on one test image repeated to each batch size.
        model, family, strategy, acc, config, dtype
            As for :meth:`row`.
        flops : float, optional
            FLOPs per sample to record [FLOP]; None counts them (int8 variants record the fp32 model's).

        Returns
        -------
        list of dict
            One row per batch size, in the settings' order.
        """
        sample = self.splits.test.x[:1]
        out = []
        for b in self.settings.batch_sizes:
            fields, layer_rows = measure_module(module, sample, batch_size=b, settings=self.settings,
                                                meter=self.meter, flops=flops)
            r = self.row(fields, model=model, family=family, strategy=strategy, acc=acc, config=config, dtype=dtype)
            self.layers += [{"measurement_id": r["measurement_id"], **lr} for lr in layer_rows]
            out.append(r)
        return out

    def finish(self, store: Store | None) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """The collected rows and per-layer rows as frames, appended to ``store`` (one run file) if given.

        Returns
        -------
        (polars.DataFrame, polars.DataFrame or None)
            The validated rows, and the per-layer rows (None when no variant was measured statically).
        """
        df = schema.from_records(self.rows)
        layers = layer_frame(self.layers) if self.layers else None
        if store is not None:
            store.append(df, layers=layers)
        return df, layers


def start_run(*, splits: DigitsSplits | None, settings: ProfileSettings | None, meter,
              store) -> tuple[StrategyRun, Store | None]:
    """Begin a strategy run: resolve its splits, settings, meter and store, and check the store is writable.

    Parameters
    ----------
    splits : DigitsSplits or None
        Data of the run; None loads :func:`~workbench.strategies.data.load_digits_splits` (seed 0).
    settings : ProfileSettings or None
        Measurement settings; None for the defaults (``ProfileSettings()``).
    meter : str, EnergyMeter or None
        Energy meter, or its name for :func:`workbench.measure.energy.get_meter` (``"none"``: no energy).
    store : Store, path or None
        Where :meth:`StrategyRun.finish` appends the rows; None writes nothing.

    Returns
    -------
    (StrategyRun, Store or None)

    Raises
    ------
    ParameterError
        ``settings`` that is not a :class:`~workbench.measure.profiler.ProfileSettings`.
    StoreError
        A store directory that is not writable.
    """
    if settings is None:
        settings = ProfileSettings()
    elif not isinstance(settings, ProfileSettings):
        raise ParameterError(
            f"settings must be a ProfileSettings, got {type(settings).__name__}. Fix: pass "
            "settings=ProfileSettings(repeats=20, warmup=3, ...) from workbench.measure.profiler.")
    splits = splits or load_digits_splits()
    if isinstance(meter, str):
        meter = get_meter(meter)
    if store is not None:
        store = Store.coerce(store)
        store.check_writable()
    return StrategyRun(settings, meter, splits), store


def model_label(name: str) -> str:
    """The ``model`` column of a named digits model: ``digits-<family>-<widths or channels>``.

    Parameters
    ----------
    name : str
        A key of :data:`~workbench.strategies.data.MODELS`.

    Returns
    -------
    str

    Examples
    --------
    >>> model_label("mlp")
    'digits-mlp-128-64'
    """
    cfg = MODELS[name][2]
    dims = cfg.get("hidden", cfg.get("channels"))
    return f"digits-{MODELS[name][0]}-" + "-".join(map(str, dims))
