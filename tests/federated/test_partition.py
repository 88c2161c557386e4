import numpy as np
import pytest

from workbench.errors import ParameterError
from workbench.federated.partition import dirichlet_partition, iid_partition, label_counts


def test_iid_covers_every_sample_once_in_near_equal_parts():
    parts = iid_partition(1077, 10, seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(1077))
    assert {len(p) for p in parts} == {107, 108}  # 1077 = 7 × 108 + 3 × 107


def test_dirichlet_covers_every_sample_and_small_alpha_is_skewed():
    y = np.repeat(np.arange(10), 100)
    skewed = dirichlet_partition(y, 10, alpha=0.1, seed=0)
    flat = dirichlet_partition(y, 10, alpha=1000.0, seed=0)
    for parts in (skewed, flat):
        assert sorted(np.concatenate(parts).tolist()) == list(range(1000))
        assert min(len(p) for p in parts) >= 1
    # share of a client's samples in its most frequent label: near 1/10 for alpha = 1000, far above for 0.1
    top = lambda parts: np.mean([c.max() / c.sum() for c in label_counts(y, parts)])  # noqa: E731
    assert top(flat) < 0.2
    assert top(skewed) > 0.5


@pytest.mark.parametrize("alpha", [0, -1.0, float("nan")])
def test_dirichlet_refuses_alpha_not_positive(alpha):
    with pytest.raises(ParameterError, match="alpha"):
        dirichlet_partition(np.zeros(10, int), 2, alpha=alpha)


def test_more_clients_than_samples_is_refused():
    with pytest.raises(ParameterError, match="only 5 training samples"):
        iid_partition(5, 6)
