"""Power of local training on this machine, calibrated once per run with the workbench's energy meters.

A codecarbon window costs a second or more to open (its hardware probe) and cannot run inside Ray's
actors once per client and round, so the run measures once, before the simulation: the model trains on
digits batches, on one thread (as the clients do), for ``calibration_s`` seconds inside a
:class:`~workbench.measure.energy.codecarbon_meter.CodecarbonMeter` window. The reading divided by the
thread's CPU time over the window is the energy per CPU-second of training [J/s]; each client-round's
energy is that times its measured CPU time. On a machine without RAPL the meter's method is
``tdp-estimate`` (codecarbon's TDP × load), and every ledger row says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from workbench.measure.energy import get_meter
from workbench.measure.timing import num_threads
from workbench.strategies.data import build_model, load_digits_splits


@dataclass(frozen=True)
class LocalPower:
    """Energy per CPU-second of local training here.

    Attributes
    ----------
    j_per_cpu_s : float
        Energy per second of training thread CPU time [J/s] (0 with no meter).
    method : str
        How it was obtained (:data:`workbench.schema.ENERGY_METHODS`; ``"none"`` without a meter).
    window_s, cpu_s, energy_j : float
        The calibration window [s], the thread's CPU time in it [s] and the meter's reading [J].
    details : dict
        The meter's breakdown (``config_json``).
    """

    j_per_cpu_s: float
    method: str
    window_s: float = 0.0
    cpu_s: float = 0.0
    energy_j: float = 0.0
    details: dict | None = None

    def energy_j_of(self, cpu_s: float) -> float | None:
        """Energy of ``cpu_s`` seconds of training CPU time [J], or None without a meter."""
        return None if self.method == "none" else self.j_per_cpu_s * float(cpu_s)


def calibrate(model_name: str, *, meter: str = "codecarbon", seconds: float = 1.0, batch_size: int = 32,
              lr: float = 0.01) -> LocalPower:
    """Measure the energy per CPU-second of training ``model_name`` on digits here.

    Parameters
    ----------
    model_name : str
        A digits model (:data:`workbench.strategies.data.MODELS`).
    meter : {"codecarbon", "none"}
        The energy meter (:func:`workbench.measure.energy.get_meter`); ``"none"`` gives no energy.
    seconds : float
        Length of the training loop inside the meter's window [s].
    batch_size : int
        Mini-batch of the loop [samples].
    lr : float
        Adam learning rate of the loop.

    Returns
    -------
    LocalPower
    """
    if meter == "none":
        return LocalPower(0.0, "none")
    m = get_meter(meter)
    train = load_digits_splits().train
    model = build_model(model_name)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xb, yb = train.x[:batch_size], train.y[:batch_size]
    with num_threads(1):
        m.start()
        t0, c0 = time.perf_counter(), time.thread_time()
        while time.perf_counter() - t0 < seconds:
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        cpu_s = time.thread_time() - c0
        reading = m.stop()
    return LocalPower(reading.energy_j / cpu_s if cpu_s > 0 else 0.0, reading.method, reading.duration_s, cpu_s,
                      reading.energy_j, dict(reading.details))


__all__ = ["LocalPower", "calibrate"]
