"""int8 quantisation of ONNX files with onnxruntime's own tools (``onnxruntime.quantization``).

Two methods (:data:`QUANTISATIONS`), each writing a new file next to nothing else:

- ``int8-dynamic``: ``quantize_dynamic``; weights of ``MatMul``/``Gemm`` int8 (signed), activations
  quantised per call (uint8, scale from each call's range). Convolutions are left fp32 by default:
  onnxruntime's dynamic convolution (``ConvInteger``) measured 6–7× *slower* than fp32 on resnet8 here
  (x86 with AVX-512 VNNI, onnxruntime 1.32), so quantising it would measure the wrong deployment.
- ``int8-static``: ``quantize_static`` in the QDQ format (QuantizeLinear/DequantizeLinear pairs that
  onnxruntime fuses into integer kernels such as ``QLinearConv``), activation scales calibrated on real
  samples through a :class:`SampleReader` (MinMax calibration), activations uint8 and weights int8 (the
  "U8S8" pair onnxruntime recommends on x86: with int8 activations the same resnet8 ran 2.2× slower
  than with uint8), per-tensor weight scales unless ``per_channel``.

Both run ``quant_pre_process`` first (onnxruntime's recommended graph clean-up before quantisation;
symbolic shape inference skipped, the exported file carries its shapes).
Reference: onnxruntime documentation, "Quantize ONNX models" (formats, U8S8, pre-processing).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from workbench.errors import ParameterError, UnknownNameError

QUANTISATIONS = {
    "none": "fp32 as exported",
    "int8-dynamic": "onnxruntime quantize_dynamic: int8 MatMul/Gemm weights, uint8 activations per call",
    "int8-static": "onnxruntime quantize_static, QDQ format, MinMax calibration on real samples, "
                   "uint8 activations, int8 weights",
}
"""Quantisation method → what it does (``none`` is the fp32 file)."""

DYNAMIC_OP_TYPES = ("MatMul", "Gemm")
"""Operator types ``int8-dynamic`` quantises by default (see the module docstring for why not Conv)."""


def strategy_name(quantisation: str) -> str:
    """The ``strategy`` column of a row run on onnxruntime: ``onnxruntime`` or ``onnxruntime-<quantisation>``.

    Raises
    ------
    UnknownNameError
        An unknown quantisation method.
    """
    if quantisation not in QUANTISATIONS:
        raise UnknownNameError("onnxruntime quantisation", quantisation, QUANTISATIONS)
    return "onnxruntime" if quantisation == "none" else f"onnxruntime-{quantisation}"


class SampleReader(CalibrationDataReader):
    """Feeds real samples to onnxruntime's calibrator, ``batch`` samples per call.

    Parameters
    ----------
    input_name : str
        The model's input name.
    samples : array-like
        Samples with their batch dimension, shape (N, ...); float32.
    batch : int
        Samples per calibration call.
    """

    def __init__(self, input_name: str, samples, batch: int = 32):
        x = np.ascontiguousarray(np.asarray(samples, dtype=np.float32))
        if x.ndim < 1 or len(x) == 0:
            raise ParameterError("the calibration set is empty. Fix: pass real samples, e.g. splits.train.x[:256].")
        self.input_name = input_name
        self._batches = [x[i:i + batch] for i in range(0, len(x), batch)]
        self._i = 0
        self.samples = len(x)

    def get_next(self) -> dict | None:
        if self._i >= len(self._batches):
            return None
        self._i += 1
        return {self.input_name: self._batches[self._i - 1]}

    def rewind(self) -> None:
        self._i = 0


@contextlib.contextmanager
def _quiet():
    old = ort.get_default_logger_severity() if hasattr(ort, "get_default_logger_severity") else None
    ort.set_default_logger_severity(3)
    logging.getLogger("root").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        if old is not None:
            ort.set_default_logger_severity(old)


def quantise_onnx(src: str | os.PathLike, dst: str | os.PathLike, method: str, *, input_name: str | None = None,
                  calibration=None, per_channel: bool = False,
                  op_types: tuple[str, ...] | None = None) -> dict:
    """Write an int8 copy of the ONNX file ``src`` to ``dst``; return what was done, for ``config_json``.

    Parameters
    ----------
    src, dst : path
        The fp32 file and the file to write (``dst`` + ``.pre.onnx`` holds the pre-processed model meanwhile).
    method : {"int8-dynamic", "int8-static"}
        See :data:`QUANTISATIONS`.
    input_name : str, optional
        The model's input name (``int8-static``; read from the file when omitted).
    calibration : array-like, optional
        Real samples (N, ...) for ``int8-static`` [float32].
    per_channel : bool
        Per-output-channel weight scales.
    op_types : tuple of str, optional
        Operator types to quantise (default :data:`DYNAMIC_OP_TYPES` for dynamic, every supported one for
        static).

    Returns
    -------
    dict
        ``quantisation``, ``quant_format``, ``activation_type``, ``weight_type``, ``per_channel``,
        ``op_types`` and, for static, ``calibration_samples`` and ``calibrate_method``.

    Raises
    ------
    UnknownNameError
        An unknown method.
    ParameterError
        ``int8-static`` without calibration samples.
    """
    if method not in QUANTISATIONS or method == "none":
        raise UnknownNameError("onnxruntime quantisation", method, [m for m in QUANTISATIONS if m != "none"])
    if method == "int8-static" and calibration is None:
        raise ParameterError("static int8 quantisation needs calibration samples. Fix: pass real inputs, "
                             "e.g. calibration=splits.train.x[:256] (CLI: the compress experiment's training split).")
    src, dst = Path(src), Path(dst)
    pre = dst.with_suffix(".pre.onnx")
    with _quiet():
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        try:
            if method == "int8-dynamic":
                types = list(op_types or DYNAMIC_OP_TYPES)
                quantize_dynamic(str(pre), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                                 op_types_to_quantize=types)
                return {"quantisation": method, "quant_format": "QOperator (dynamic)", "activation_type": "uint8",
                        "weight_type": "int8", "per_channel": per_channel, "op_types": types}
            if input_name is None:
                input_name = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).get_inputs()[0].name
            reader = SampleReader(input_name, calibration)
            quantize_static(str(pre), str(dst), reader, quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            per_channel=per_channel, op_types_to_quantize=list(op_types) if op_types else None)
            return {"quantisation": method, "quant_format": "QDQ", "activation_type": "uint8", "weight_type": "int8",
                    "per_channel": per_channel, "op_types": list(op_types) if op_types else "all supported",
                    "calibration_samples": reader.samples, "calibrate_method": "MinMax"}
        finally:
            pre.unlink(missing_ok=True)
