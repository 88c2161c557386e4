"""Export a PyTorch module to ONNX, read ONNX files back, and map ONNX nodes to the module's layer names.

Export uses ``torch.onnx.export(..., dynamo=True)``: ``torch.export`` captures the graph, onnxscript
translates it (opset :data:`DEFAULT_OPSET` unless asked otherwise) and optimises it (folding
BatchNorm into the preceding convolution, for one). The batch dimension is exported dynamic, so one
file serves every batch size.

ONNX files are protobuf messages: :func:`load_onnx` parses them with ``onnx.load`` and checks them
with ``onnx.checker``; nothing is unpickled.

Layer names. The dynamo exporter writes, on every node, the module scopes it came from
(``metadata_props["pkg.torch.onnx.name_scopes"]``, e.g. ``['', '3', '3.bn1', 'add_4']``): the
innermost module scope is the layer name of :func:`workbench.measure.features.layer_breakdown`.
Where the exporter's optimiser fused two layers into one node (a convolution with the BatchNorm after
it), the node keeps the *later* layer's scope, so the fused time is charged to the BatchNorm layer
and the convolution shows none. Functional operations in ``forward`` (``x.flatten(1)``, a residual
``+``) belong to the enclosing module, not to a leaf, and are reported as unmapped. Files from other
exporters carry no scopes: every node is unmapped there.
"""

from __future__ import annotations

import ast
import contextlib
import io
import logging
import os
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from workbench.errors import CorruptFileError, ParameterError

DEFAULT_OPSET = 20
"""ONNX opset of exported files (within the range onnxruntime 1.32 runs; the dynamo exporter's default)."""

SCOPES_KEY = "pkg.torch.onnx.name_scopes"
"""Node metadata key under which the dynamo exporter records the module scopes of a node."""

_DTYPE_BYTES = {onnx.TensorProto.FLOAT: 4, onnx.TensorProto.DOUBLE: 8, onnx.TensorProto.FLOAT16: 2,
                onnx.TensorProto.BFLOAT16: 2, onnx.TensorProto.INT8: 1, onnx.TensorProto.UINT8: 1,
                onnx.TensorProto.INT16: 2, onnx.TensorProto.UINT16: 2, onnx.TensorProto.INT32: 4,
                onnx.TensorProto.INT64: 8, onnx.TensorProto.BOOL: 1}


@contextlib.contextmanager
def _quiet_export():
    """Silence the exporter's progress prints, its FutureWarnings and the torchvision notice it logs."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def export_onnx(model: nn.Module, sample: torch.Tensor, path: str | os.PathLike, *, opset: int = DEFAULT_OPSET,
                dynamic_batch: bool = True) -> Path:
    """Export ``model`` to an ONNX file with the dynamo exporter.

    Parameters
    ----------
    model : nn.Module
        The model; exported in eval mode (the caller's module is switched to eval).
    sample : Tensor
        One input with its batch dimension, e.g. shape (1, 3, 224, 224).
    path : path
        Where to write the ``.onnx`` file (its directory must exist).
    opset : int
        ONNX opset version.
    dynamic_batch : bool
        Export the first dimension as dynamic (one file for every batch size).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ParameterError
        The model cannot be exported (an operation ``torch.export`` cannot trace, or an input of the
        wrong shape); the message carries the exporter's reason.

    Examples
    --------
    >>> import tempfile, torch
    >>> m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> p = export_onnx(m, torch.zeros(1, 2, 2), Path(tempfile.mkdtemp()) / "m.onnx")
    >>> input_spec(load_onnx(p))
    ('input', [None, 2, 2])
    """
    path = Path(path)
    dynamic = ({0: torch.export.Dim.DYNAMIC},) if dynamic_batch else None
    try:
        with _quiet_export():
            program = torch.onnx.export(model.eval(), (sample,), dynamo=True, dynamic_shapes=dynamic,
                                        opset_version=opset, verbose=False)
            program.save(str(path))
    except Exception as exc:  # the exporter raises many types; one clear error for all
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParameterError(
            f"{type(model).__name__} with an input of shape {tuple(sample.shape)} cannot be exported to ONNX: "
            f"{first[:300]}. Fix: check that the input shape fits the model (--input-shape), and that "
            "forward() has no data-dependent Python control flow torch.export cannot trace.") from None
    return path


def load_onnx(path: str | os.PathLike) -> onnx.ModelProto:
    """Read and check an ONNX file (a protobuf message: parsed, never unpickled).

    Raises
    ------
    ParameterError
        The file does not exist.
    CorruptFileError
        The file is not a valid ONNX model.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"ONNX file {str(path)!r} does not exist. Fix: give the path of a .onnx file.")
    try:
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
    except Exception as exc:  # DecodeError, ValidationError, ...
        raise CorruptFileError(path, f"not a valid ONNX model ({type(exc).__name__}: {str(exc)[:200]})",
                               "Fix: give a file written by torch.onnx.export or another ONNX exporter.") from None
    if len(proto.graph.input) != 1:
        names = [i.name for i in proto.graph.input]
        raise ParameterError(f"ONNX file {str(path)!r} has {len(names)} inputs {names}; the workbench profiles "
                             "models with one input tensor. Fix: export a wrapper module taking one tensor.")
    return proto


def input_spec(proto: onnx.ModelProto) -> tuple[str, list[int | None]]:
    """Name and shape of the model's one input; ``None`` where a dimension is dynamic."""
    inp = proto.graph.input[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
    return inp.name, dims


def sample_shape(proto: onnx.ModelProto, input_shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """Shape of one sample (without the batch dimension) for the model's input.

    Parameters
    ----------
    proto : onnx.ModelProto
        The model.
    input_shape : tuple of int, optional
        The sample shape the user gave; needed where a non-batch dimension is dynamic.

    Raises
    ------
    ParameterError
        A dynamic non-batch dimension and no ``input_shape``, or an ``input_shape`` that disagrees
        with the file's fixed dimensions.
    """
    name, dims = input_spec(proto)
    fixed = dims[1:]
    if input_shape is None:
        if any(d is None for d in fixed):
            raise ParameterError(f"ONNX input {name!r} has dynamic dimensions {dims} beyond the batch. "
                                 "Fix: give the sample shape, e.g. --input-shape 3x224x224.")
        return tuple(fixed)
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != len(fixed) or any(f is not None and f != s for f, s in zip(fixed, shape, strict=True)):
        raise ParameterError(f"input shape {'x'.join(map(str, shape))} does not fit ONNX input {name!r} of shape "
                             f"{['batch' if d is None else d for d in dims]}. Fix: --input-shape "
                             f"{'x'.join(str(d) if d else 'N' for d in fixed)}.")
    return shape


def opset_version(proto: onnx.ModelProto) -> int:
    """The default-domain ONNX opset the file declares."""
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)


def initializer_bytes(proto: onnx.ModelProto) -> int:
    """Bytes of the stored weights (initializers) by their element type [B]."""
    total = 0
    for t in proto.graph.initializer:
        n = 1
        for d in t.dims:
            n *= d
        total += n * _DTYPE_BYTES.get(t.data_type, 4)
    return int(total)


def _scope(node: onnx.NodeProto) -> str | None:
    for p in node.metadata_props:
        if p.key == SCOPES_KEY:
            try:
                scopes = ast.literal_eval(p.value)
            except (ValueError, SyntaxError):
                return None
            modules = [s for s in scopes[1:-1] if s]
            return modules[-1] if modules else None
    return None


def node_layers(proto: onnx.ModelProto) -> dict[str, str]:
    """ONNX node name → layer name (innermost module scope) for nodes that carry one (see module docstring).

    Also maps each initializer feeding a mapped node, and each tensor a mapped node produces, to that
    node's layer (the quantiser names its nodes after the tensors they quantise).
    """
    out: dict[str, str] = {}
    initializers = {t.name for t in proto.graph.initializer}
    for node in proto.graph.node:
        layer = _scope(node)
        if layer is None:
            continue
        out[node.name] = layer
        for t in node.output:
            out.setdefault(f"tensor:{t}", layer)
        for t in node.input:
            if t in initializers:
                out.setdefault(f"tensor:{t}", layer)
    return out
