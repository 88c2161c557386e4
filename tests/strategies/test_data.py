"""Digits splits, models and training."""

import numpy as np
import pytest
import torch

from workbench.errors import ParameterError, UnknownNameError
from workbench.strategies.data import (
    Split,
    accuracy,
    build_model,
    check_dataset,
    load_digits_splits,
    mlp,
    small_cnn,
    train_classifier,
)


def test_splits_are_fixed_stratified_and_disjoint(splits):
    # 1,797 images: 20 % test (360), 20 % of the whole as validation (360), the rest training (1,077)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (1077, 360, 360)
    assert splits.train.x.shape[1:] == (1, 8, 8) and splits.train.x.dtype == torch.float32
    assert float(splits.train.x.min()) == 0.0 and float(splits.train.x.max()) == 1.0  # 0..16 scaled by 1/16
    # stratified: each class holds 36 ± 1 test images (class sizes 174..183, 20 % each)
    counts = np.bincount(splits.test.y.numpy(), minlength=10)
    assert counts.min() >= 34 and counts.max() <= 37
    # disjoint: no image row appears in two splits (digits has a few duplicates, so compare multiset sizes)
    allx = torch.cat([splits.train.x, splits.val.x, splits.test.x]).reshape(-1, 64)
    from sklearn.datasets import load_digits

    ref = torch.from_numpy((load_digits().data / 16).astype(np.float32))
    assert torch.equal(torch.sort(allx.sum(1)).values, torch.sort(ref.sum(1)).values)
    again = load_digits_splits(seed=0)
    assert torch.equal(again.test.y, splits.test.y) and torch.equal(again.val.x, splits.val.x)
    assert not torch.equal(load_digits_splits(seed=1).test.y, splits.test.y)


def test_bad_split_parameters_and_empty_data():
    with pytest.raises(ParameterError, match="val_fraction"):
        load_digits_splits(val_fraction=0)
    with pytest.raises(ParameterError, match="leave training data"):
        load_digits_splits(val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ParameterError, match="empty"):
        Split(torch.empty(0, 1, 8, 8), torch.empty(0, dtype=torch.long))
    with pytest.raises(ParameterError, match="3 images but 2 labels"):
        check_dataset(torch.zeros(3, 1, 8, 8), torch.zeros(2))
    with pytest.raises(UnknownNameError, match="Did you mean 'mlp'"):
        build_model("mpl")


def test_models_have_the_stated_parameter_counts():
    # Linear(64,128)+Linear(128,64)+Linear(64,10) = 8320 + 8256 + 650
    assert sum(p.numel() for p in mlp((128, 64)).parameters()) == 8320 + 8256 + 650
    # Conv(1,16,3)=160, Conv(16,32,3)=4640, Linear(32*4*4,10)=5130
    assert sum(p.numel() for p in small_cnn((16, 32)).parameters()) == 160 + 4640 + 5130
    assert small_cnn()(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_training_is_deterministic_and_learns(splits, trained_mlp):
    # Real accuracy: an MLP reaches ~96-97 % on digits; 0.93 leaves margin for BLAS differences across CPUs.
    acc = accuracy(trained_mlp, splits.test)
    assert 0.93 <= acc <= 1.0
    a = train_classifier(build_model("mlp-small", seed=3), splits, epochs=2, seed=3)
    b = train_classifier(build_model("mlp-small", seed=3), splits, epochs=2, seed=3)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)  # same seed, same thread count: bit-identical
    with pytest.raises(ParameterError, match="epochs"):
        train_classifier(build_model("mlp-small"), splits, epochs=0)
