"""What a policy sees when it decides for interval t: the past of every trace, the charge now, the clock.

:class:`History` wraps a scenario and a current index; each trace property returns the values of the
intervals before ``t`` only (a numpy view), so a policy cannot read the future by construction. Known
in advance, as a deployment would know them: the interval's start time, the step, the latency target, the
budget's capacity and refill period, and how many intervals the mission has left.
"""

from __future__ import annotations

import numpy as np

from workbench.adaptive.scenario import Scenario


class History:
    """The observable past of ``scenario`` before interval ``t`` (see the module docstring).

    Parameters
    ----------
    scenario : Scenario
        The whole trace (policies see its values before ``t`` only).
    end : int, optional
        The mission's last interval + 1 (default: the scenario's length).
    """

    def __init__(self, scenario: Scenario, end: int | None = None):
        self._s = scenario
        self.t = 0
        self.end = len(scenario) if end is None else int(end)
        self.soc_j = scenario.budget.initial_j
        self.choices: list[int] = []
        self.served = 0.0
        self.accuracy_sum = 0.0
        self.queue: list[list[int]] = []

    # The policy's own outcomes so far (filled by the replay): ``choices`` (configuration per past interval),
    # ``served`` (requests served), ``accuracy_sum`` (Σ served × accuracy) and ``queue`` (deferred batch work
    # waiting: [deadline interval, requests] per cohort, the newest last).

    @property
    def bandwidth_mbps(self) -> np.ndarray:
        """Bandwidth of the past intervals [Mbit/s]."""
        return self._s.bandwidth_mbps[:self.t]

    @property
    def rtt_ms(self) -> np.ndarray:
        """RTT of the past intervals [ms]."""
        return self._s.rtt_ms[:self.t]

    @property
    def slowdown(self) -> np.ndarray:
        """Device slowdown of the past intervals [1]."""
        return self._s.slowdown[:self.t]

    @property
    def carbon_g_per_kwh(self) -> np.ndarray:
        """Grid intensity of the past intervals [gCO2/kWh]."""
        return self._s.carbon_g_per_kwh[:self.t]

    @property
    def requests(self) -> np.ndarray:
        """Requests of the past intervals."""
        return self._s.requests[:self.t]

    @property
    def harvest_j(self) -> np.ndarray:
        """Harvest of the past intervals [J]."""
        return self._s.harvest_j[:self.t]

    @property
    def step_s(self) -> float:
        return self._s.step_s

    @property
    def latency_target_ms(self) -> float:
        return self._s.latency_target_ms

    @property
    def time_s(self) -> float:
        """Start of the interval being decided [s]."""
        return float(self._s.times_s[0] + self.t * self._s.step_s)

    @property
    def capacity_j(self) -> float:
        return self._s.budget.capacity_j

    def peek_now(self) -> tuple[float, float, float, float]:
        """The interval being decided's *actual* bandwidth [Mbit/s], RTT [ms], slowdown [1] and intensity
        [gCO2/kWh]: for the reference policies labelled non-causal only (``causal = False``, e.g.
        :class:`~workbench.adaptive.clairvoyant.Clairvoyant`), which measure how much a perfect nowcast is worth.
        A deployable policy never calls it."""
        t, s = self.t, self._s
        return (float(s.bandwidth_mbps[t]), float(s.rtt_ms[t]), float(s.slowdown[t]), float(s.carbon_g_per_kwh[t]))

    def intervals_to_refill(self) -> int:
        """Intervals from now until the budget is refilled (hourly cap) or the mission ends (battery), ≥ 1."""
        left = self.end - self.t
        every = self._s.budget.reset_every
        if every:
            left = min(left, every - (self._s.offset + self.t) % every)
        return max(int(left), 1)
