"""The oracle: dynamic programming over intervals equals brute force on tiny instances."""

from __future__ import annotations

import numpy as np
import pytest

from tests.adaptive._cases import random_instance
from workbench.adaptive.oracle import brute_force, evaluate_sequence, plan
from workbench.errors import ParameterError


@pytest.mark.parametrize("case", range(40))
def test_dp_equals_brute_force(case, global_random_seed):
    rng = np.random.default_rng(1000 * global_random_seed + case)
    t, c = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    miss, dev, cost, n = random_instance(rng, t, c)
    budget = {}
    if case % 4:  # three in four with a battery: capacity, start, harvest, hourly refill drawn at random
        cap = float(rng.choice([2.0, 3.0, 5.0]))
        budget = {"capacity_j": cap, "initial_j": float(rng.uniform(0, cap)), "harvest_j": rng.choice([0.0, 0.5, 1.0], t),
                  "resets": (np.arange(t) % 2 == 0) if case % 4 == 3 else None}
    allowed = rng.random(c) < 0.8
    allowed[0] = True
    dp = plan(miss, dev, cost, n, allowed=allowed, **budget)
    bf = brute_force(miss, dev, cost, n, allowed=allowed, **budget)
    assert dp.exact
    # both are sums of the same few numbers: equal up to summation order
    assert dp.misses == bf.misses
    assert dp.cost == pytest.approx(bf.cost, abs=1e-9)
    # and the DP's own sequence achieves what it claims
    m, k = evaluate_sequence(dp.choices, miss, dev, cost, n, **{k: v for k, v in budget.items()})
    assert (m, k) == (dp.misses, pytest.approx(dp.cost, abs=1e-9))
    assert allowed[dp.choices].all()


def test_unlimited_budget_is_per_interval_best():
    miss = np.array([[True, False], [False, False]])
    dev = cost = np.array([[1.0, 2.0], [1.0, 2.0]])
    p = plan(miss, dev, cost, np.array([3, 1]))
    # interval 0: config 0 misses 3 requests, config 1 none → 1 (6 J); interval 1: both meet → the cheaper, 0 (1 J)
    assert p.choices.tolist() == [1, 0] and p.misses == 0 and p.cost == 7.0


def test_nothing_allowed():
    with pytest.raises(ParameterError, match="accuracy floor"):
        plan(np.zeros((1, 2), bool), np.ones((1, 2)), np.ones((1, 2)), [1], allowed=[False, False])
