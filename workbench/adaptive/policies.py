"""Policies: small classes that choose a configuration per interval from the past alone.

The contract (scikit-learn's shape): ``__init__`` only stores parameters; ``fit(space, tuning)`` learns
from the tuning part of a scenario (attributes ending in ``_``) and returns the policy; ``decide(history)``
returns the index of a configuration of ``space`` for the interval ``history.t``, seeing only the past
(:class:`~workbench.adaptive.history.History`); ``reset()`` forgets run-time state before a replay.

Every policy chooses only among configurations at least ``accuracy_floor`` accurate and ranks them by the
same objective (:data:`~workbench.adaptive.oracle.OBJECTIVES`):

- :class:`StaticBest`: one configuration, the cheapest on the tuning part among those whose tuning SLO miss
  rate is at most ``slo_miss_max`` (else the one missing least);
- :class:`Reactive`: per interval, the most accurate configuration that meets the target under the last
  observation (ties: the cheapest);
- :class:`Predictive` (ALERT, Wan et al., USENIX ATC 2020, as the anchor): a Kalman filter over the log of the
  observed bandwidth (its noise variances fitted on the tuning part) and exponentially weighted means and
  variances of RTT and slowdown give the next interval's distribution; the configuration with the least expected
  cost whose latency at the ``probability`` quantile meets the target and whose device energy fits the budget's
  fair share wins;
- :class:`~workbench.adaptive.mpc.CarbonMPC` (in :mod:`workbench.adaptive.mpc`): a short horizon with a carbon
  forecast;
- :class:`~workbench.adaptive.clairvoyant.Clairvoyant` (**not causal**, a yardstick): the one-step greedy choice with the interval's *actual*
  conditions (a perfect nowcast) but no knowledge of later intervals; it separates the part of the gap to the
  oracle that better forecasting could close from the part that only planning across intervals could.

The predictive policy holds its filter state and folds in only the new observation at each call, so one
decision is a handful of numpy operations over the configurations.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from statistics import NormalDist

import numpy as np

from workbench.adaptive.history import History
from workbench.adaptive.oracle import check_objective, evaluate_sequence
from workbench.adaptive.scenario import MIN_BANDWIDTH_MBPS, Scenario, interval_costs
from workbench.adaptive.space import ConfigurationSpace
from workbench.checks import check_int, check_number
from workbench.errors import ParameterError
from workbench.units import J_PER_KWH

QUANTILE_RULES = ("gaussian", "conformal")
"""How :class:`Predictive` sets its chance constraint (see its ``quantiles``)."""


def _rank(n: int, p: float) -> int:
    """Index of the empirical ``p`` quantile among ``n`` sorted errors, with the conformal finite-sample
    correction: ⌈(n + 1) p⌉ − 1 for an upper quantile, ⌊(n + 1) p⌋ − 1 for a lower one, clipped to [0, n − 1]."""
    k = math.ceil((n + 1) * p) - 1 if p >= 0.5 else math.floor((n + 1) * p) - 1
    return min(max(k, 0), n - 1)


class Policy:
    """Base class: the shared parameters, ``fit`` storing the space's coefficients, cost helpers."""

    name = "policy"
    causal = True
    """False for reference policies that read the interval being decided (:class:`~workbench.adaptive.clairvoyant.Clairvoyant`): yardsticks
    that no deployment can run, never reported as an adaptive policy's result."""

    def __init__(self, *, objective: str = "device_energy_j", accuracy_floor: float = 0.0):
        self.objective = objective
        self.accuracy_floor = accuracy_floor

    def fit(self, space: ConfigurationSpace, tuning: Scenario):
        """Learn from the tuning part; return ``self``.

        Raises
        ------
        ParameterError
            An objective not in :data:`~workbench.adaptive.oracle.OBJECTIVES`, a floor outside [0, 1], or no
            configuration at the floor.
        """
        check_objective(self.objective)
        floor = check_number(self.accuracy_floor, "accuracy_floor", minimum=0, maximum=1)
        self.allowed_ = space.accuracy >= floor
        if not self.allowed_.any():
            raise ParameterError(f"no configuration reaches the accuracy floor {floor:g} (best: "
                                 f"{space.accuracy.max():g}). Fix: lower the floor.")
        c = space.column
        self.space_ = space
        self.acc_ = space.accuracy
        self.dev_ms_, self.rem_ms_, self.off_ = c("device_ms"), c("remote_ms"), space.offloads
        self.bytes_ = c("uplink_bytes") + c("downlink_bytes")
        self.dev_j_, self.tx_w_, self.up_bits_ = c("device_energy_j"), c("tx_power_w"), c("uplink_bytes") * 8
        self.deadline_ms_ = tuning.latency_target_ms
        self.fixed_j_ = c("remote_energy_j") + self.bytes_ / 1e9 * c("kwh_per_gb") * J_PER_KWH
        self.mean_requests_ = max(float(np.mean(tuning.requests)), 1e-9)
        self.mean_harvest_j_ = float(np.mean(tuning.harvest_j))
        self.prior_ = (float(np.median(tuning.bandwidth_mbps)), float(np.median(tuning.rtt_ms)),
                       float(np.median(tuning.slowdown)), float(np.mean(tuning.carbon_g_per_kwh)))
        self.reset()
        return self

    def reset(self) -> None:
        """Forget run-time state (filters) before a replay."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "space_"):
            raise ParameterError(f"{type(self).__name__}.decide was called before fit. Fix: call "
                                 "fit(space, tuning_scenario) first.")

    def latency(self, bw: float, rtt: float, slow: float) -> np.ndarray:
        """Latency of every configuration under these conditions [ms]."""
        return self.dev_ms_ * slow + self.rem_ms_ + self.off_ * (rtt + self.bytes_ * 8 / (max(bw, MIN_BANDWIDTH_MBPS)
                                                                                          * 1000))

    def device_j(self, bw: float, slow: float) -> np.ndarray:
        """Device energy per request of every configuration [J] (transmit time capped at the target, as
        :func:`~workbench.adaptive.scenario.costs_at` does)."""
        send_ms = np.minimum(self.up_bits_ / (max(bw, MIN_BANDWIDTH_MBPS) * 1000), self.deadline_ms_)
        return self.dev_j_ * slow + self.tx_w_ * send_ms / 1000

    def cost(self, bw: float, slow: float, ci: float) -> np.ndarray:
        """The objective per request of every configuration."""
        dev = self.device_j(bw, slow)
        if self.objective == "device_energy_j":
            return dev
        total = dev + self.fixed_j_
        return total if self.objective == "energy_j" else total * ci / J_PER_KWH

    def budget_per_request_j(self, history: History) -> float:
        """The budget's fair share per request now [J]: (charge + expected harvest until refill) ÷ expected
        requests until refill; ``inf`` without a budget."""
        if math.isinf(history.capacity_j):
            return math.inf
        left = history.intervals_to_refill()
        return (history.soc_j + self.mean_harvest_j_ * (left - 1)) / (left * self.mean_requests_)

    def decide(self, history: History) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def release(self, history: History, deadlines: np.ndarray) -> np.ndarray:
        """Which cohorts of deferrable work to serve in the interval being decided (True: now), given each one's
        deadline interval; the replay serves a cohort at its deadline whatever this says. By default all at
        once: only a policy that plans ahead (:class:`~workbench.adaptive.mpc.CarbonMPC`) holds work back."""
        return np.ones(len(deadlines), dtype=bool)


class StaticBest(Policy):
    """One configuration for the whole run, the best on the tuning part (see the module docstring).

    Parameters
    ----------
    objective, accuracy_floor
        As for every policy.
    slo_miss_max : float
        Largest tuning SLO miss rate [1] a candidate may have.
    """

    name = "static"

    def __init__(self, *, objective: str = "device_energy_j", accuracy_floor: float = 0.0, slo_miss_max: float = 0.0):
        super().__init__(objective=objective, accuracy_floor=accuracy_floor)
        self.slo_miss_max = slo_miss_max

    def fit(self, space: ConfigurationSpace, tuning: Scenario):
        super().fit(space, tuning)
        costs = interval_costs(space, tuning)
        b, total = tuning.budget, max(float(tuning.requests.sum()), 1.0)
        scores = []
        for j in np.flatnonzero(self.allowed_):
            m, c = evaluate_sequence(np.full(len(tuning), j), costs["miss"], costs["device_energy_j"],
                                     costs[self.objective], tuning.requests, capacity_j=b.capacity_j,
                                     initial_j=b.initial_j, harvest_j=tuning.harvest_j, resets=tuning.resets())
            scores.append((m / total > self.slo_miss_max, m if m / total > self.slo_miss_max else 0.0, c, int(j)))
        self.choice_ = min(scores)[3]
        self.tuning_miss_rate_ = next(s[1] for s in scores if s[3] == self.choice_) / total
        return self

    def decide(self, history: History) -> int:
        self._check_fitted()
        return self.choice_


class Reactive(Policy):
    """The most accurate configuration that meets the target under the last observation (ties: cheapest)."""

    name = "reactive"

    def decide(self, history: History) -> int:
        self._check_fitted()
        if history.t > 0:
            bw, rtt, slow = (float(history.bandwidth_mbps[-1]), float(history.rtt_ms[-1]),
                             float(history.slowdown[-1]))
            ci = float(history.carbon_g_per_kwh[-1])
        else:
            bw, rtt, slow, ci = self.prior_
        ok = self.allowed_ & (self.latency(bw, rtt, slow) <= history.latency_target_ms)
        ok &= self.device_j(bw, slow) <= self.budget_per_request_j(history)
        cost = self.cost(bw, slow, ci)
        if not ok.any():
            return int(np.argmin(np.where(self.allowed_, self.latency(bw, rtt, slow), np.inf)))
        acc = np.where(ok, self.acc_, -np.inf)
        return int(np.argmin(np.where(acc == acc.max(), cost, np.inf)))


class Predictive(Policy):
    """ALERT-like: filtered estimates of the next interval, the target met with ``probability``.

    Parameters
    ----------
    objective, accuracy_floor
        As for every policy.
    probability : float
        Probability [1] with which the chosen configuration should meet the latency target (0.5 < p < 1).
    alpha : float
        Weight of the newest observation in the RTT and slowdown means and variances (0 < alpha ≤ 1).
    quantiles : str
        ``"gaussian"``: the quantiles of a normal with the filter's variance (log-bandwidth) and the EWM variances
        (RTT, slowdown); ``"conformal"``: the empirical quantiles of the policy's own last ``window`` one-step
        forecast errors (split-conformal style: the tuning part's errors first, then each new one; no
        distributional assumption; the finite-sample index ⌈(n + 1) p⌉ of Vovk et al. 2005 / Angelopoulos &
        Bates 2023).
    window : int
        Forecast errors kept per quantity for ``"conformal"``.
    name : str, optional
        The policy's name in results (default ``"predictive"``).

    Attributes
    ----------
    q_, r_ : float
        Process and observation noise variances of the log-bandwidth Kalman filter, fitted on the tuning part
        by the method of moments (var Δy = q + 2r, lag-1 autocovariance of Δy = −r).
    """

    name = "predictive"

    def __init__(self, *, objective: str = "device_energy_j", accuracy_floor: float = 0.0, probability: float = 0.95,
                 alpha: float = 0.3, quantiles: str = "gaussian", window: int = 256, name: str | None = None):
        super().__init__(objective=objective, accuracy_floor=accuracy_floor)
        if name is not None:
            self.name = name
        self.probability = probability
        self.alpha = alpha
        self.quantiles = quantiles
        self.window = window

    def fit(self, space: ConfigurationSpace, tuning: Scenario):
        check_number(self.probability, "probability", minimum=0.5, maximum=1, exclusive=True)
        check_number(self.alpha, "alpha", minimum=0, maximum=1)
        if self.alpha <= 0:
            raise ParameterError("alpha must be > 0. Fix: give a weight in (0, 1].")
        self.z_ = NormalDist().inv_cdf(self.probability)
        y = np.log(np.maximum(tuning.bandwidth_mbps, MIN_BANDWIDTH_MBPS))
        d = np.diff(y)
        var_d = float(np.var(d)) if len(d) > 1 else 0.0
        cov1 = float(np.mean((d[1:] - d.mean()) * (d[:-1] - d.mean()))) if len(d) > 2 else 0.0
        self.r_ = max(-cov1, 1e-6)
        self.q_ = max(var_d - 2 * self.r_, 1e-6)
        self.y_prior_ = (float(np.mean(y)), float(np.var(y)) + 1e-6)
        self.rtt_prior_ = (float(np.mean(tuning.rtt_ms)), float(np.var(tuning.rtt_ms)))
        self.slow_prior_ = (float(np.mean(tuning.slowdown)), float(np.var(tuning.slowdown)))
        if self.quantiles not in QUANTILE_RULES:
            raise ParameterError(f"quantiles = {self.quantiles!r}; valid: {QUANTILE_RULES}. Fix: pick one of them.")
        check_int(self.window, "window")
        self.calibration_ = None
        if self.quantiles == "conformal":  # the tuning part's one-step errors, from the filters run over it
            self.reset()
            for b, r, w in zip(tuning.bandwidth_mbps, tuning.rtt_ms, tuning.slowdown, strict=True):
                self.observe(float(b), float(r), float(w))
            self.calibration_ = tuple(list(e) for e in self._order)
        return super().fit(space, tuning)

    def reset(self) -> None:
        self._seen = 0
        self._x, self._p = self.y_prior_
        self._rtt = list(self.rtt_prior_)
        self._slow = list(self.slow_prior_)
        cal = getattr(self, "calibration_", None)
        # sorted one-step errors (log-bandwidth, RTT, slowdown) and the same in arrival order, for the window
        self._errors = tuple(sorted(e) for e in cal) if cal else ([], [], [])
        self._order = tuple(deque(e) for e in cal) if cal else (deque(), deque(), deque())

    def _ewm(self, state: list, value: float) -> None:
        a, (m, v) = self.alpha, state
        diff = value - m
        state[0] = m + a * diff
        state[1] = (1 - a) * (v + a * diff * diff)

    def observe(self, bw: float, rtt: float, slow: float) -> None:
        """Fold one interval's observation into the filters."""
        p = self._p + self.q_
        k = p / (p + self.r_)
        y = math.log(max(bw, MIN_BANDWIDTH_MBPS))
        if self.quantiles == "conformal":
            for i, e in enumerate((y - self._x, rtt - self._rtt[0], slow - self._slow[0])):
                self._remember(i, e)
        self._x += k * (y - self._x)
        self._p = (1 - k) * p
        self._ewm(self._rtt, rtt)
        self._ewm(self._slow, slow)

    def forecast(self) -> tuple[float, float, float, float]:
        """Next interval: bandwidth at the (1 − p) quantile [Mbit/s] and the bandwidth whose inverse is the
        expected inverse, exp(μ − σ²/2) (transfer time and radio energy go with 1/bandwidth, and a log-normal's
        E[1/b] = exp(−μ + σ²/2)), RTT and slowdown at the p quantile."""
        var = self._p + self.q_ + self.r_
        sd = math.sqrt(var)
        bw_med = math.exp(self._x - var / 2)
        if self.quantiles == "conformal" and self._errors[0]:
            ey, er, es = self._errors
            bw_q = math.exp(self._x + ey[_rank(len(ey), 1 - self.probability)])
            return (bw_q, bw_med, self._rtt[0] + er[_rank(len(er), self.probability)],
                    self._slow[0] + es[_rank(len(es), self.probability)])
        bw_q = math.exp(self._x - self.z_ * sd)
        rtt_q = self._rtt[0] + self.z_ * math.sqrt(max(self._rtt[1], 0.0))
        slow_q = self._slow[0] + self.z_ * math.sqrt(max(self._slow[1], 0.0))
        return bw_q, bw_med, rtt_q, slow_q

    def _remember(self, i: int, e: float) -> None:
        """Add a one-step error of quantity ``i`` to the window (the oldest leaves when it is full)."""
        srt, order = self._errors[i], self._order[i]
        insort(srt, e)
        order.append(e)
        if len(order) > self.window:
            old = order.popleft()
            del srt[bisect_left(srt, old)]

    def update(self, history: History) -> None:
        """Fold the observations the filters have not seen yet (a history that went back resets them)."""
        self._check_fitted()
        if history.t < self._seen:
            self.reset()
        if history.t > self._seen:
            bw, rtt, slow = history.bandwidth_mbps, history.rtt_ms, history.slowdown
            for i in range(self._seen, history.t):
                self.observe(float(bw[i]), float(rtt[i]), float(slow[i]))
            self._seen = history.t

    def decide(self, history: History) -> int:
        self.update(history)
        bw_q, bw_med, rtt_q, slow_q = self.forecast()
        ci = float(history.carbon_g_per_kwh[-1]) if history.t else self.prior_[3]
        lat = self.latency(bw_q, rtt_q, slow_q)
        ok = self.allowed_ & (lat <= history.latency_target_ms)
        ok &= self.device_j(bw_med, self._slow[0]) <= self.budget_per_request_j(history)
        if not ok.any():
            return int(np.argmin(np.where(self.allowed_, lat, np.inf)))
        return int(np.argmin(np.where(ok, self.cost(bw_med, self._slow[0], ci), np.inf)))
