"""Model-predictive control over a short horizon with a carbon forecast.

:class:`CarbonMPC` forecasts the next ``horizon`` intervals from the past only: bandwidth, RTT and slowdown as
:class:`~workbench.adaptive.policies.Predictive` does (one distribution for the whole horizon), the grid's
intensity by the seasonal naive rule (the value one ``period_s`` earlier, else the last value seen), requests
at the tuning mean. It then chooses, per forecast interval, among the configurations that meet the target at
the ``probability`` quantile and fit the budget's fair share, the one minimising
``n × (carbon − λ × accuracy)``; λ ≥ 0 is the smallest multiplier (bisection) for which the mean accuracy of
the requests served so far and those planned reaches ``accuracy_target``. Only the first interval's choice is
applied (receding horizon). With a dirty forecast the carbon term weighs more, so the policy lowers accuracy
then and raises it when the grid is clean, never below ``accuracy_floor`` and on average not below the target.

Deferrable batch work (a scenario's ``deferrable_fraction``, each cohort due ``defer_deadline_intervals`` after
it arrives) is held while an interval before its deadline and inside the horizon is forecast cleaner than now
(:meth:`CarbonMPC.release`); it is served, with that interval's configuration, in the first interval that is
forecast no dirtier than every later one up to its deadline, or at the deadline. No latency target applies to it.
With ``defer = False`` it is served on arrival.
"""

from __future__ import annotations

import numpy as np

from workbench.adaptive.history import History
from workbench.adaptive.policies import Predictive
from workbench.adaptive.scenario import Scenario
from workbench.adaptive.space import ConfigurationSpace
from workbench.checks import check_int, check_number

BISECTION_STEPS = 40
"""Bisection steps on λ (the interval shrinks 2⁴⁰-fold)."""


def seasonal_naive(past, horizon: int, period: int) -> np.ndarray:
    """Forecast of the next ``horizon`` values: the value ``period`` steps earlier where the past has it, else the
    last value.

    Examples
    --------
    >>> seasonal_naive([1.0, 2.0, 3.0, 4.0], 3, 2).tolist()
    [3.0, 4.0, 4.0]
    """
    past = np.asarray(past, float)
    t = len(past)
    out = np.empty(horizon)
    for h in range(horizon):
        i = t + h - period
        out[h] = past[i] if 0 <= i < t else (past[-1] if t else np.nan)
    return out


class CarbonMPC(Predictive):
    """Receding-horizon choice with a carbon forecast (see the module docstring).

    Parameters
    ----------
    objective : str
        Ranked within the horizon; ``"carbon_g"`` by default.
    accuracy_floor : float
        No configuration below it [1].
    accuracy_target : float or None
        Mean accuracy to keep over the served requests [1]; None: no trade (λ = 0).
    horizon : int
        Intervals planned.
    period_s : float
        Season of the carbon forecast [s] (a day).
    probability, alpha
        As for :class:`~workbench.adaptive.policies.Predictive`.
    defer : bool
        Hold deferrable work for cleaner intervals (:meth:`release`).
    """

    name = "mpc"

    def __init__(self, *, objective: str = "carbon_g", accuracy_floor: float = 0.0,
                 accuracy_target: float | None = None, horizon: int = 12, period_s: float = 86400.0,
                 probability: float = 0.95, alpha: float = 0.3, defer: bool = True):
        super().__init__(objective=objective, accuracy_floor=accuracy_floor, probability=probability, alpha=alpha)
        self.defer = defer
        self.accuracy_target = accuracy_target
        self.horizon = horizon
        self.period_s = period_s

    def fit(self, space: ConfigurationSpace, tuning: Scenario):
        check_int(self.horizon, "horizon")
        check_number(self.period_s, "period_s", minimum=0, exclusive=True)
        if self.accuracy_target is not None:
            check_number(self.accuracy_target, "accuracy_target", minimum=0, maximum=1)
        self.period_ = max(int(round(self.period_s / tuning.step_s)), 1)
        return super().fit(space, tuning)

    def decide(self, history: History) -> int:
        self.update(history)
        bw_q, bw_med, rtt_q, slow_q = self.forecast()
        lat = self.latency(bw_q, rtt_q, slow_q)
        ok = self.allowed_ & (lat <= history.latency_target_ms)
        ok &= self.device_j(bw_med, self._slow[0]) <= self.budget_per_request_j(history)
        if not ok.any():
            return int(np.argmin(np.where(self.allowed_, lat, np.inf)))
        ci = self.carbon_forecast(history)
        base = self.cost(bw_med, self._slow[0], 1.0)
        if self.objective == "carbon_g":
            cost = base[None, :] * ci[:, None]
        else:
            cost = np.broadcast_to(base, (self.horizon, len(base)))
        cost = np.where(ok[None, :], cost, np.inf)
        pick = self._choose(cost, 0.0)
        if self.accuracy_target is None or self._mean_accuracy(history, pick) >= self.accuracy_target:
            return int(pick[0])
        hi = float(np.nanmax(np.where(np.isfinite(cost), cost, np.nan))) / max(np.ptp(self.acc_[ok]), 1e-12) + 1.0
        if self._mean_accuracy(history, self._choose(cost, hi)) < self.accuracy_target:
            return int(self._choose(cost, hi)[0])  # the target cannot be reached: the most accurate plan
        lo = 0.0
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            if self._mean_accuracy(history, self._choose(cost, mid)) >= self.accuracy_target:
                hi = mid
            else:
                lo = mid
        return int(self._choose(cost, hi)[0])

    def carbon_forecast(self, history: History) -> np.ndarray:
        """The grid's intensity over the horizon, from the interval being decided on [gCO2/kWh]."""
        past = history.carbon_g_per_kwh
        return seasonal_naive(past, self.horizon, self.period_) if len(past) else np.full(self.horizon,
                                                                                         self.prior_[3])

    def release(self, history: History, deadlines: np.ndarray) -> np.ndarray:
        """Serve a cohort now unless an interval before its deadline (within the horizon) is forecast cleaner.

        Parameters
        ----------
        history : History
        deadlines : numpy.ndarray of int
            Each waiting cohort's deadline interval.

        Returns
        -------
        numpy.ndarray of bool
            True: serve now.
        """
        if not self.defer:
            return np.ones(len(deadlines), dtype=bool)
        ci = self.carbon_forecast(history)
        later_min = np.minimum.accumulate(np.concatenate([[np.inf], ci[1:]]))  # [k]: min over intervals 1..k
        w = np.clip(np.asarray(deadlines) - history.t, 0, self.horizon - 1)
        return ci[0] <= later_min[w]

    def _choose(self, cost: np.ndarray, lam: float) -> np.ndarray:
        return np.argmin(cost - lam * self.acc_[None, :], axis=1)

    def _mean_accuracy(self, history: History, plan: np.ndarray) -> float:
        n = self.mean_requests_
        return (history.accuracy_sum + n * float(self.acc_[plan].sum())) / (history.served + n * len(plan))

