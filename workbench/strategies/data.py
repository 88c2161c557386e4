"""Real data and small models for the strategy experiments: scikit-learn's digits, fixed splits, training.

The data set is scikit-learn's bundled copy of the UCI "Optical Recognition of Handwritten Digits"
test set (Alpaydin & Kaynak 1998; 1,797 images of 8×8 pixels with 17 grey levels, 10 classes),
loaded with :func:`sklearn.datasets.load_digits` from the installed package: nothing is downloaded.

Splits are stratified (every digit in the same proportion in each split) and fixed by a seed, so
thresholds chosen on the validation split and accuracies reported on the test split are
reproducible. Pixels are scaled from [0, 16] to [0, 1]; images are tensors of shape (N, 1, 8, 8).

Training runs on one intra-op thread: on a small model, extra threads only add synchronisation
(and on a shared 2-core machine they make a step 10-20× slower).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from workbench.checks import check_int, check_number
from workbench.errors import ParameterError, UnknownNameError
from workbench.measure.timing import num_threads

N_CLASSES = 10
INPUT_SHAPE = (1, 8, 8)
DATASET_SOURCE = "scikit-learn load_digits (UCI optdigits test set, Alpaydin & Kaynak 1998)"


@dataclass(frozen=True)
class Split:
    """One split of a classification data set: images ``x`` (N, 1, 8, 8) float32 and labels ``y`` (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self):
        check_dataset(self.x, self.y)

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class DigitsSplits:
    """Fixed train/validation/test splits of the digits data set."""

    train: Split
    val: Split
    test: Split
    seed: int
    val_fraction: float
    test_fraction: float

    def config(self) -> dict:
        """The split parameters, for ``config_json``."""
        return {"dataset": "sklearn-digits", "split_seed": self.seed, "val_fraction": self.val_fraction,
                "test_fraction": self.test_fraction, "n_train": len(self.train), "n_val": len(self.val),
                "n_test": len(self.test)}


def check_dataset(x, y, name: str = "dataset") -> None:
    """Raise :class:`ParameterError` for an empty data set or one whose images and labels disagree."""
    if x is None or y is None or len(x) == 0 or len(y) == 0:
        raise ParameterError(
            f"the {name} is empty (got {0 if x is None else len(x)} images, {0 if y is None else len(y)} labels). "
            "Fix: pass at least one labelled sample, e.g. workbench.strategies.load_digits_splits().test."
        )
    if len(x) != len(y):
        raise ParameterError(
            f"the {name} has {len(x)} images but {len(y)} labels. Fix: pass one label per image."
        )


def load_digits_splits(seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2) -> DigitsSplits:
    """Stratified train/validation/test splits of scikit-learn's digits.

    Parameters
    ----------
    seed : int
        Seed of the split (``random_state`` of :func:`sklearn.model_selection.train_test_split`).
    val_fraction, test_fraction : float
        Fractions of the 1,797 images in the validation and test splits [1]; the rest is training.

    Returns
    -------
    DigitsSplits
        With the default fractions: 1,077 training, 360 validation and 360 test images.

    Examples
    --------
    >>> s = load_digits_splits()
    >>> len(s.train), len(s.val), len(s.test)
    (1077, 360, 360)
    """
    # scikit-learn loads only when the data are read: the models and the training loop need torch alone
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        check_number(f, name, minimum=0, maximum=1, exclusive=True, fix=f"e.g. {name}=0.2.")
    if val_fraction + test_fraction >= 1:
        raise ParameterError(
            f"val_fraction + test_fraction must leave training data, got {val_fraction} + {test_fraction}. "
            "Fix: e.g. 0.2 + 0.2."
        )
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32).reshape(-1, *INPUT_SHAPE)
    y = d.target.astype(np.int64)
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=test_fraction, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction), stratify=y[rest],
                                  random_state=seed)

    def split(i):
        return Split(torch.from_numpy(x[np.sort(i)]), torch.from_numpy(y[np.sort(i)]))

    return DigitsSplits(split(train), split(val), split(test), seed, val_fraction, test_fraction)


# ---------------------------------------------------------------------------------------------- models

def mlp(hidden: Sequence[int] = (128, 64), *, in_features: int = 64, n_classes: int = N_CLASSES) -> nn.Sequential:
    """A multi-layer perceptron over flattened 8×8 images: Flatten, (Linear, ReLU) × len(hidden), Linear."""
    hidden = tuple(int(h) for h in hidden)
    if any(h <= 0 for h in hidden):
        raise ParameterError(f"hidden widths must be positive, got {hidden}. Fix: e.g. (128, 64).")
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


def small_cnn(channels: Sequence[int] = (16, 32), *, n_classes: int = N_CLASSES) -> nn.Sequential:
    """A small CNN for 1×8×8 images: (Conv3×3 pad 1, ReLU) per channel count, MaxPool 2, Flatten, Linear."""
    channels = tuple(int(c) for c in channels)
    if not channels or any(c <= 0 for c in channels):
        raise ParameterError(f"channels must be positive, got {channels}. Fix: e.g. (16, 32).")
    layers: list[nn.Module] = []
    cin = 1
    for c in channels:
        layers += [nn.Conv2d(cin, c, 3, padding=1), nn.ReLU()]
        cin = c
    layers += [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(cin * 4 * 4, n_classes)]
    return nn.Sequential(*layers)


MODELS = {
    "mlp": ("mlp", lambda: mlp((128, 64)), {"hidden": [128, 64]}),
    "cnn": ("cnn", lambda: small_cnn((16, 32)), {"channels": [16, 32]}),
    "mlp-small": ("mlp", lambda: mlp((16,)), {"hidden": [16]}),
}
"""Named digits models: name -> (family, builder, architecture config)."""


def build_model(name: str, seed: int = 0) -> nn.Module:
    """Build a named digits model (see :data:`MODELS`) with weights initialised from ``seed``."""
    if name not in MODELS:
        raise UnknownNameError("digits model", name, MODELS)
    torch.manual_seed(seed)
    return MODELS[name][1]()


# ---------------------------------------------------------------------------------------------- training

LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def cross_entropy_loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Plain cross-entropy of ``model(xb)`` against ``yb`` (``idx``: positions in the training split)."""
    return nn.functional.cross_entropy(model(xb), yb)


def fit(model: nn.Module, train: Split, *, loss_fn: LossFn = cross_entropy_loss, epochs: int = 30,
        lr: float = 1e-3, batch_size: int = 64, seed: int = 0, weight_decay: float = 0.0) -> nn.Module:
    """Train ``model`` in place with Adam (Kingma & Ba 2015) over shuffled mini-batches; return it in eval mode.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(model, xb, yb, idx)`` → scalar loss; ``idx`` are the batch's positions in ``train``
        (distillation uses them to look up the teacher's logits).
    epochs : int
        Passes over the training split.
    lr : float
        Adam learning rate.
    seed : int
        Seed of the batch order (the weights are initialised by whoever built the model).
    """
    check_dataset(train.x, train.y, "training split")
    epochs = check_int(epochs, "epochs", fix="e.g. epochs=30.")
    batch_size = check_int(batch_size, "batch_size", fix="e.g. batch_size=64.")
    check_number(lr, "learning rate", minimum=0, exclusive=True, fix="e.g. lr=1e-3.")
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    n = len(train)
    model.train()
    with num_threads(1):
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)
            for i in range(0, n, batch_size):
                idx = perm[i:i + batch_size]
                loss = loss_fn(model, train.x[idx], train.y[idx], idx)
                opt.zero_grad()
                loss.backward()
                opt.step()
    return model.eval()


def train_classifier(model: nn.Module, splits: DigitsSplits, *, epochs: int = 30, lr: float = 1e-3,
                     batch_size: int = 64, seed: int = 0) -> nn.Module:
    """Train ``model`` with cross-entropy on ``splits.train`` (see :func:`fit`)."""
    return fit(model, splits.train, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)


@torch.inference_mode()
def predict_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Logits of ``model`` over ``x`` in eval mode, in batches."""
    if len(x) == 0:
        raise ParameterError("cannot predict on an empty data set. Fix: pass at least one image.")
    model.eval()
    return torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def accuracy(model: nn.Module, split: Split) -> float:
    """Fraction of ``split`` that ``model`` classifies correctly [1]."""
    check_dataset(split.x, split.y, "evaluation split")
    return float((predict_logits(model, split.x).argmax(1) == split.y).float().mean())
