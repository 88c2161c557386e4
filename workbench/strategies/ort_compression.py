"""int8 on ONNX Runtime inside the compression experiment, beside torchao's int8 in eager PyTorch.

torchao's int8 runs as a Python tensor subclass in eager PyTorch: smaller, but slower per call than fp32
on a CPU. Deployments export to a runtime; :func:`ort_int8` measures the experiment's trained baseline
exported to ONNX and run on onnxruntime, fp32 and int8 (static QDQ calibrated on the experiment's
training images, and dynamic), through :func:`workbench.measure.ort_profile.profile_onnx_module`, and
adds the rows to the experiment's run (same ``run_id``, the splits' configuration in ``config_json``).

It needs the run to add rows to, so it is called as ``ort_int8(run, setup)`` rather than through
:data:`workbench.strategies.compression_experiments.COMPRESSORS` (whose compressors return models for
the PyTorch profiler to measure).
"""

from __future__ import annotations

import json

from workbench.measure.ort_profile import profile_onnx_module
from workbench.strategies.data import DATASET_SOURCE
from workbench.strategies.recording import TASK

ORT_METHODS = ("int8-static", "int8-dynamic")
"""onnxruntime quantisations measured by :func:`ort_int8`, after the fp32 export."""


def ort_int8(run, setup, *, quantisations=ORT_METHODS) -> dict:
    """Measure the baseline on onnxruntime, fp32 and int8; add the rows to ``run``; return summary figures.

    Parameters
    ----------
    run : StrategyRun
        The experiment's run (settings, meter, splits; rows are appended to ``run.rows``/``run.layers``).
    setup : CompressionSetup
        The trained baseline, its label, family, configuration and measured row.
    quantisations : sequence of str
        onnxruntime methods besides fp32.

    Returns
    -------
    dict
        ``ort_fp32_accuracy``; per method ``m`` (``int8_static``, ``int8_dynamic``): ``ort_{m}_accuracy``,
        ``ort_{m}_accuracy_drop_pt`` (fp32 − int8 on onnxruntime [percentage points]),
        ``ort_{m}_speedup`` (fp32 ÷ int8 onnxruntime latency at the first batch size, normalised where both
        rows have ``latency_ms_norm``, else the raw median [×]) and
        ``ort_{m}_size_ratio`` (fp32 ÷ int8 weight bytes [×]); ``ort_vs_torch_fp32`` (eager PyTorch fp32
        ÷ onnxruntime fp32 latency at the first batch size, on the same clock rule [×]).
    """
    splits = run.splits
    rows, layers = profile_onnx_module(
        setup.base, splits.test.x[:1], name=setup.label, family=setup.family, task=None,
        quantisations=("none", *quantisations), calibration=splits.train.x[:setup.calibration_size],
        eval_data=(splits.test.x, splits.test.y), settings=run.settings, meter=run.meter,
        config={**setup.config, **splits.config(), "dataset_source": DATASET_SOURCE})
    first = run.settings.batch_sizes[0]
    for r in rows.to_dicts():
        r["run_id"] = run.run_id
        r["task"] = TASK
        run.rows.append(r)
    run.layers += layers.to_dicts()

    def at(strategy: str) -> dict:
        return rows.filter((rows["strategy"] == strategy) & (rows["batch_size"] == first)).to_dicts()[0]

    fp32 = at("onnxruntime")
    out = {"ort_fp32_accuracy": fp32["accuracy"],
           "ort_vs_torch_fp32": _ratio(setup.baseline_row, fp32)}
    for q in quantisations:
        r, key = at(f"onnxruntime-{q}"), q.replace("-", "_")
        out.update({f"ort_{key}_accuracy": r["accuracy"],
                    f"ort_{key}_accuracy_drop_pt": (fp32["accuracy"] - r["accuracy"]) * 100,
                    f"ort_{key}_speedup": _ratio(fp32, r),
                    f"ort_{key}_size_ratio": fp32["weight_bytes"] / r["weight_bytes"],
                    f"ort_{key}_quantisation": json.loads(r["config_json"])["quant_format"]})
    return out


def _ratio(slow: dict, fast: dict) -> float:
    """``slow``'s latency ÷ ``fast``'s: on the noise-robust ``latency_ms_norm`` when both rows have it (the
    profiler's normalised figure, :mod:`workbench.measure.latency`), else on the raw median ``latency_ms_p50``."""
    a, b = slow.get("latency_ms_norm"), fast.get("latency_ms_norm")
    if a is not None and b is not None and a == a and b == b and b > 0:
        return a / b
    return slow["latency_ms_p50"] / fast["latency_ms_p50"]
