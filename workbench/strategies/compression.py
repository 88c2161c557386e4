"""Model compression: int8 quantization, pruning and knowledge distillation, each a pure transform.

Every function here takes a trained ``nn.Module`` and returns a new one (the input is never
modified), so a notebook can compare the variants side by side;
:mod:`workbench.strategies.compression_experiments` trains, measures and stores them.

- **int8 quantization** (post-training, through torchao): *dynamic* quantizes each ``nn.Linear``
  weight to int8 per output row and each activation per token at call time
  (``Int8DynamicActivationInt8WeightConfig``); *static* uses one activation scale per layer fixed
  beforehand from a calibration set (``Int8StaticActivationInt8WeightConfig``; symmetric per-tensor
  scale = max |activation| / 127 over the calibration batch). torchao's int8 tensors implement
  ``linear`` only: convolutions stay fp32.
- **Unstructured pruning**: per-layer L1-magnitude pruning of weights with
  :mod:`torch.nn.utils.prune` (Han et al. 2015, "Learning both Weights and Connections"), optionally
  fine-tuned under the mask, then made permanent. The weights stay dense tensors with zeros: dense
  kernels do the same work, so the measured latency does not fall (the rows say so).
- **Structured pruning**: removes whole output neurons / convolution filters with the smallest L1
  norm (Li et al. 2017, "Pruning Filters for Efficient ConvNets") and rebuilds smaller layers, the
  next layer losing the matching inputs. Works on ``nn.Sequential`` models of Linear, Conv2d,
  ReLU, pooling and Flatten layers.
- **Knowledge distillation** (Hinton, Vinyals & Dean 2015): the student minimises
  ``alpha · T² · KL(softmax(z_t/T) ‖ softmax(z_s/T)) + (1 − alpha) · CE(z_s, y)``.
"""

from __future__ import annotations

import copy
import logging

import torch
from torch import nn
from torch.nn.utils import prune

from workbench.checks import check_number
from workbench.errors import ParameterError
from workbench.strategies.data import DigitsSplits, Split, check_dataset, fit, predict_logits

INT8_MAX = 127
"""Largest int8 magnitude used for symmetric activation scales (scale = absmax / 127)."""


def _quiet_torchao() -> None:
    for name in ("torchao", "torch.utils._pytree"):
        logging.getLogger(name).setLevel(logging.ERROR)


def check_amount(amount: float) -> float:
    """Return a pruning ``amount`` as a float if it is a fraction in [0, 1).

    Parameters
    ----------
    amount : float
        Fraction of weights (unstructured) or of neurons/filters (structured) to remove [1].

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        Not a finite number, or outside [0, 1) (1 would remove every weight).
    """
    fix = "e.g. amount=0.5 (half the weights)."
    value = check_number(amount, "pruning amount", minimum=0, maximum=1, fix=fix)
    if value == 1:  # check_number bounds are both open or both closed; [0, 1) is half-open
        raise ParameterError(f"pruning amount must be a fraction in [0, 1), got {amount!r}: 1 removes every "
                             f"weight. Fix: {fix}")
    return value


def _linear_names(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]


# ---------------------------------------------------------------------------------------------- int8

def quantize_int8_dynamic(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` weight int8 (per row) and int8 activations chosen per call.

    Raises
    ------
    ParameterError
        If the model has no ``nn.Linear`` layer (nothing would be quantized).
    """
    if not _linear_names(model):
        raise ParameterError(f"{type(model).__name__} has no nn.Linear layer: torchao int8 quantizes linear layers only.")
    _quiet_torchao()
    # torchao loads only when a model is quantized: pruning and distillation do without it
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    q = copy.deepcopy(model).eval()
    quantize_(q, Int8DynamicActivationInt8WeightConfig(set_inductor_config=False))
    return q


@torch.inference_mode()
def calibrate_activation_absmax(model: nn.Module, x_calib: torch.Tensor) -> dict[str, float]:
    """Largest |input| each ``nn.Linear`` of ``model`` sees over the calibration images ``x_calib``."""
    if len(x_calib) == 0:
        raise ParameterError("the calibration set is empty. Fix: pass some training images, e.g. splits.train.x[:256].")
    absmax: dict[str, float] = {}
    handles = []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            def hook(_mod, args, name=name):
                absmax[name] = max(absmax.get(name, 0.0), float(args[0].detach().abs().max()))
            handles.append(mod.register_forward_pre_hook(hook))
    try:
        model.eval()(x_calib)
    finally:
        for h in handles:
            h.remove()
    return absmax


def quantize_int8_static(model: nn.Module, x_calib: torch.Tensor) -> nn.Module:
    """A copy of ``model`` with int8 weights (per row) and int8 activations at scales fixed by calibration.

    Parameters
    ----------
    x_calib : Tensor
        Calibration images (training data, never the test split); each layer's activation scale is
        its largest |input| over them divided by 127 (symmetric, per tensor). Larger inputs at run
        time are clipped.
    """
    if not _linear_names(model):
        raise ParameterError(f"{type(model).__name__} has no nn.Linear layer: torchao int8 quantizes linear layers only.")
    _quiet_torchao()
    # torchao loads only when a model is quantized (see quantize_int8_dynamic)
    from torchao.quantization import Int8StaticActivationInt8WeightConfig, PerRow, PerTensor, quantize_

    q = copy.deepcopy(model).eval()
    absmax = calibrate_activation_absmax(q, x_calib)
    for name, amax in absmax.items():
        scale = torch.tensor([[max(amax, 1e-8) / INT8_MAX]], dtype=torch.float32)
        config = Int8StaticActivationInt8WeightConfig(act_quant_scale=scale, granularity=[PerTensor(), PerRow()],
                                                      set_inductor_config=False)
        quantize_(q, config, filter_fn=lambda _m, fqn, name=name: fqn == name)
    return q


def int8_weight_dtypes(model: nn.Module) -> dict[str, torch.dtype]:
    """Storage dtype of each ``nn.Linear`` weight (``torch.int8`` after quantization, read from the tensor's data)."""
    out = {}
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            w = mod.weight
            out[name] = w.qdata.dtype if hasattr(w, "qdata") else w.dtype
    return out


# ---------------------------------------------------------------------------------------------- pruning

def _prunable(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def prune_unstructured(model: nn.Module, amount: float, *, fine_tune=None) -> nn.Module:
    """A copy of ``model`` with the ``amount`` fraction of smallest-|w| weights of every Linear/Conv2d set to 0.

    Parameters
    ----------
    amount : float
        Fraction of each layer's weights to zero, in [0, 1) (``round(amount · n)`` per layer, as
        :func:`torch.nn.utils.prune.l1_unstructured` does).
    fine_tune : callable, optional
        ``fine_tune(model)`` trains the pruned model while the masks hold pruned weights at 0;
        afterwards the masks are made permanent (:func:`torch.nn.utils.prune.remove`).
    """
    amount = check_amount(amount)
    p = copy.deepcopy(model)
    layers = _prunable(p)
    if not layers:
        raise ParameterError(f"{type(model).__name__} has no Linear or Conv2d layer to prune.")
    for _, mod in layers:
        prune.l1_unstructured(mod, "weight", amount=amount)
    if fine_tune is not None:
        fine_tune(p)
    for _, mod in layers:
        prune.remove(mod, "weight")
    return p.eval()


def nonzero_params(model: nn.Module) -> int:
    """Number of non-zero parameter elements."""
    return int(sum(int(torch.count_nonzero(p.detach())) for p in model.parameters()))


def _keep_indices(weight: torch.Tensor, n_keep: int) -> torch.Tensor:
    norms = weight.detach().abs().reshape(weight.shape[0], -1).sum(1)
    return torch.sort(torch.topk(norms, n_keep).indices).values


def prune_structured(model: nn.Sequential, amount: float) -> nn.Sequential:
    """A smaller copy of ``model`` with the ``amount`` fraction of output neurons/filters of every hidden layer removed.

    Each hidden ``nn.Linear``/``nn.Conv2d`` keeps its ``max(1, round((1 − amount) · out))`` outputs with
    the largest L1 weight norm; the next Linear/Conv2d drops the matching inputs (through a Flatten,
    a filter's whole spatial block). The last layer keeps all its outputs (the classes).

    Raises
    ------
    ParameterError
        For an amount outside [0, 1), a model that is not an ``nn.Sequential`` or contains a layer
        other than Linear, Conv2d, ReLU, pooling, Flatten, Dropout or Identity.
    """
    amount = check_amount(amount)
    if not isinstance(model, nn.Sequential):
        raise ParameterError(
            f"structured pruning rebuilds nn.Sequential models, got {type(model).__name__}. "
            "Fix: express the model as nn.Sequential (see workbench.strategies.data.mlp/small_cnn)."
        )
    passthrough = (nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.Flatten, nn.Dropout, nn.Identity)
    layers = list(copy.deepcopy(model))
    for i, m in enumerate(layers):
        if not isinstance(m, (nn.Linear, nn.Conv2d) + passthrough):
            raise ParameterError(
                f"layer {i} ({type(m).__name__}) is not supported by structured pruning; supported: Linear, "
                "Conv2d, ReLU, MaxPool2d, AvgPool2d, Flatten, Dropout, Identity."
            )
    weighted = [i for i, m in enumerate(layers) if isinstance(m, (nn.Linear, nn.Conv2d))]
    if len(weighted) < 2:
        raise ParameterError("structured pruning needs at least one hidden Linear/Conv2d layer before the last one.")
    for i in weighted:
        if isinstance(layers[i], nn.Conv2d) and layers[i].groups != 1:
            raise ParameterError(f"layer {i} is a grouped convolution: structured pruning supports groups=1 only.")
    keep_in: torch.Tensor | None = None  # indices of the previous weighted layer's kept outputs
    prev_out = 0  # the previous weighted layer's output count before pruning
    for pos, i in enumerate(weighted):
        m = layers[i]
        w = m.weight.detach()
        b = m.bias.detach() if m.bias is not None else None
        if keep_in is not None:
            in_dim = w.shape[1]
            if isinstance(m, nn.Linear) and in_dim != prev_out:  # Conv -> Flatten -> Linear: channel-major blocks
                block = in_dim // prev_out
                cols = (keep_in[:, None] * block + torch.arange(block)[None, :]).reshape(-1)
            else:
                cols = keep_in
            w = w[:, cols]
        prev_out = w.shape[0]
        last = pos == len(weighted) - 1
        keep_out = torch.arange(prev_out) if last else _keep_indices(w, max(1, round((1 - amount) * prev_out)))
        w = w[keep_out]
        b = b[keep_out] if b is not None else None
        if isinstance(m, nn.Linear):
            new = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
        else:
            new = nn.Conv2d(w.shape[1], w.shape[0], m.kernel_size, stride=m.stride, padding=m.padding,
                            dilation=m.dilation, bias=b is not None)
        with torch.no_grad():
            new.weight.copy_(w)
            if b is not None:
                new.bias.copy_(b)
        layers[i] = new
        keep_in = keep_out
    return nn.Sequential(*layers).eval()


# ---------------------------------------------------------------------------------------------- distillation

def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, y: torch.Tensor, *,
                      temperature: float = 2.0, alpha: float = 0.5) -> torch.Tensor:
    """Hinton et al. (2015) distillation loss: ``alpha·T²·KL(p_t^T ‖ p_s^T) + (1−alpha)·CE(z_s, y)``.

    The T² factor keeps the soft term's gradient magnitude independent of the temperature
    (Hinton, Vinyals & Dean 2015, section 2).
    """
    t = check_number(temperature, "temperature", minimum=0, exclusive=True, fix="e.g. temperature=2.")
    check_number(alpha, "alpha", minimum=0, maximum=1, fix="e.g. alpha=0.5.")
    soft = nn.functional.kl_div(nn.functional.log_softmax(student_logits / t, dim=1),
                                nn.functional.log_softmax(teacher_logits / t, dim=1),
                                reduction="batchmean", log_target=True) * t * t
    hard = nn.functional.cross_entropy(student_logits, y)
    return alpha * soft + (1 - alpha) * hard


def distill(student: nn.Module, teacher: nn.Module, train: Split | DigitsSplits, *, temperature: float = 2.0,
            alpha: float = 0.5, epochs: int = 30, lr: float = 1e-3, batch_size: int = 64,
            seed: int = 0) -> nn.Module:
    """Train ``student`` (in place; returned) to match the trained ``teacher`` on the training split.

    Same optimiser, batch order (``seed``) and epochs as :func:`workbench.strategies.data.fit`, so
    the student trained alone with the same arguments is the fair comparison.
    """
    if isinstance(train, DigitsSplits):
        train = train.train
    check_dataset(train.x, train.y, "training split")
    teacher_logits = predict_logits(teacher, train.x)

    def loss_fn(model, xb, yb, idx):
        return distillation_loss(model(xb), teacher_logits[idx], yb, temperature=temperature, alpha=alpha)

    return fit(student, train, loss_fn=loss_fn, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
