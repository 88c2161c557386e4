"""The energy-meter interface: ``start()``, then ``stop()`` returns an :class:`EnergyReading`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EnergyReading:
    """Energy over one measurement window.

    Attributes
    ----------
    energy_j : float
        Energy over the window [J].
    duration_s : float
        Length of the window [s].
    method : str
        How it was obtained: one of :data:`workbench.schema.ENERGY_METHODS`.
    details : dict
        Backend-specific breakdown (e.g. CPU and RAM energy), recorded in ``config_json``.
    """

    energy_j: float
    duration_s: float
    method: str
    details: dict = field(default_factory=dict)

    @property
    def power_w(self) -> float:
        """Average power over the window [W]."""
        return self.energy_j / self.duration_s if self.duration_s > 0 else float("nan")


class EnergyMeter:
    """Base class of energy-meter backends (one module per backend, :func:`get_meter` picks one)."""

    name = "base"

    def start(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def stop(self) -> EnergyReading:  # pragma: no cover - interface
        raise NotImplementedError

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.reading = self.stop()
        return False
