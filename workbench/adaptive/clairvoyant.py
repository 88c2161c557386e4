"""A yardstick that is not causal: the greedy per-interval choice knowing the interval's actual conditions.

Beside the offline oracle (:mod:`workbench.adaptive.oracle`), it splits a policy's gap to the oracle into the
price of not knowing the current interval (what no forecast of the past removes) and the rest (planning
across intervals, e.g. a battery's charge). It never counts as an adaptive result (``causal = False``).
"""

from __future__ import annotations

import numpy as np

from workbench.adaptive.history import History
from workbench.adaptive.policies import Policy
from workbench.adaptive.scenario import Scenario
from workbench.adaptive.space import ConfigurationSpace
from workbench.errors import ParameterError

CLAIRVOYANT_KNOWS = ("bandwidth_mbps", "rtt_ms", "slowdown", "carbon_g_per_kwh")
"""What :class:`Clairvoyant` may be told about the interval being decided."""


class Clairvoyant(Policy):
    """NOT CAUSAL (a reference): the greedy per-interval choice knowing the interval's actual conditions.

    Per interval, among the configurations at the floor that meet the target under the conditions in
    ``knows`` (actual values of the interval being decided, :meth:`History.peek_now
    <workbench.adaptive.history.History.peek_now>`; the others: the last observation) and whose device energy
    fits the budget's fair share, the cheapest; if none meets the target, the fastest. It knows nothing of later
    intervals, so without a budget and with every condition known it equals the oracle (whose intervals are
    then independent); with a budget, the rest of the gap is the value of planning the charge.

    Parameters
    ----------
    objective, accuracy_floor
        As for every policy.
    knows : tuple of str
        Conditions of :data:`CLAIRVOYANT_KNOWS` nowcast perfectly (default: all).
    name : str
        The policy's name in results (default ``"clairvoyant"``).
    """

    causal = False

    def __init__(self, *, objective: str = "device_energy_j", accuracy_floor: float = 0.0,
                 knows: tuple = CLAIRVOYANT_KNOWS, name: str = "clairvoyant"):
        super().__init__(objective=objective, accuracy_floor=accuracy_floor)
        self.knows = knows
        self.name = name

    def fit(self, space: ConfigurationSpace, tuning: Scenario):
        if bad := set(self.knows) - set(CLAIRVOYANT_KNOWS):
            raise ParameterError(f"knows names {sorted(bad)}; valid: {CLAIRVOYANT_KNOWS}. Fix: name conditions "
                                 "from that list.")
        return super().fit(space, tuning)

    def decide(self, history: History) -> int:
        self._check_fitted()
        actual = history.peek_now()
        if history.t > 0:
            last = (float(history.bandwidth_mbps[-1]), float(history.rtt_ms[-1]), float(history.slowdown[-1]),
                    float(history.carbon_g_per_kwh[-1]))
        else:
            last = self.prior_
        bw, rtt, slow, ci = (a if k in self.knows else b for k, a, b in zip(CLAIRVOYANT_KNOWS, actual, last,
                                                                             strict=True))
        lat = self.latency(bw, rtt, slow)
        ok = self.allowed_ & (lat <= history.latency_target_ms)
        ok &= self.device_j(bw, slow) <= self.budget_per_request_j(history)
        if not ok.any():
            return int(np.argmin(np.where(self.allowed_, lat, np.inf)))
        return int(np.argmin(np.where(ok, self.cost(bw, slow, ci), np.inf)))
