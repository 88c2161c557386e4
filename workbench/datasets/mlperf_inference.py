"""MLPerf Inference results summary (edge and datacenter systems): latency/throughput, power where given.

Input: the official ``summary_results.json`` of an MLPerf Inference round converted to CSV, as in
``../shared/data/mlperf-inference/mlperf_inference_v4.1_v5.1_summary.csv`` (mlcommons/inference_results_v4.1
and v5.1; Apache-2.0): one row per system × model × scenario with ``Performance_Result`` in
``Performance_Units`` and, for power submissions, ``Power_Result`` in ``Power_Units``.

Normalisation (MLPerf Inference rules: SingleStream and Server queries hold one sample, MultiStream
queries eight, Offline one query of all samples):

- ``scenario`` kept; ``source`` = ``"mlperf-inference <version>"``; ``model`` = ``UsedModel`` (open-division
  submissions may run another model than the benchmark's, e.g. a MobileNet for ``resnet``), else ``Model``
  as published (the ``-99``/``-99.9`` suffix is the accuracy target); ``model_family`` = the benchmark
  model without that suffix when the reference model ran; ``task`` from the benchmark.
- ``Latency (ms)``: SingleStream → ``latency_ms_p90`` (the metric is the 90th percentile);
  MultiStream → ``latency_ms_p99`` (99th percentile of 8-sample queries).
- ``Samples/s`` and ``Queries/s`` → ``throughput_per_s`` (one sample per Server/Interactive query);
  ``Tokens/s`` → ``config_json["tokens_per_s"]`` (tokens are not samples).
- Power: ``Watts`` (Offline/Server, whole-system wall power) → ``power_w``, and energy per sample
  = W / (samples/s) (``energy_scope = "inference"``) or per token = W / (tokens/s) (``"token"``);
  ``millijoules`` per query (SingleStream/MultiStream) → J per sample (÷ 8 for MultiStream).
  ``energy_method = "dataset"`` for these, ``"none"`` otherwise.
- Figures are for the whole submitted system (``Nodes`` × ``a#`` accelerators); the counts are in
  ``config_json`` and ``notes``.
- ``device_name``: the catalog name where the accelerator (or CPU) is in the catalog, else the
  accelerator (or processor) as published. ``device_class``: ``edge-accelerator`` for Jetson-class
  modules, ``desktop-gpu`` for desktop/workstation GPUs (GeForce, RTX, Arc), ``cloud-gpu`` for data-centre GPUs/TPUs
  (and "Server Edition" cards), CPU classes for CPU-only systems, and for other
  accelerators the suite the submitter chose (edge → ``edge-accelerator``, else ``cloud-gpu``).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from workbench.catalog.devices import get_device
from workbench.datasets._common import ImportContext, RowErrors, config, finish, line_of, number, text, unique_rows
from workbench.datasets._csv import read_text_csv
from workbench.errors import UnknownNameError

KIND = "mlperf-inference"
FILE_NAMES = ("mlperf_inference_v4.1_v5.1_summary.csv", "summary_results.csv")
SOURCE = "mlperf-inference {version}"

REQUIRED = (
    "version", "ID", "Submitter", "Category", "Suite", "System", "Model", "Scenario", "Accuracy", "Nodes",
    "Processor", "Accelerator", "a#", "weight_data_types", "Performance_Result", "Performance_Units",
    "Power_Result", "Power_Units",
)

KNOWN = ("Availability", "Platform", "UsedModel", "host_processors_per_node", "host_processor_core_count", "Software",
         "operating_system", "inferred", "compliance", "errors", "has_power", "Location", "Notes")
"""Further columns of the v4.1/v5.1 summaries (read when present, or known and unused); others are
ignored with a note."""

IDENTITY = ("version", "ID", "Model", "Scenario")
"""The columns that identify one result (a submitted system's benchmark in one scenario of one round)."""

NEW_SCENARIO = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
"""A scenario name this importer does not know yet but that reads as one (a newer round's scenario)."""

SCENARIOS = ("SingleStream", "MultiStream", "Offline", "Server", "Interactive")
MULTISTREAM_SAMPLES_PER_QUERY = 8
"""MLPerf Inference rules (v3.0 and later): a MultiStream query holds 8 samples."""

TASKS = (
    # model name prefix → task
    ("resnet", "image-classification"), ("retinanet", "object-detection"), ("bert", "question-answering"),
    ("3d-unet", "medical-image-segmentation"), ("dlrm", "recommendation"), ("rnnt", "speech-recognition"),
    ("whisper", "speech-recognition"), ("stable-diffusion", "text-to-image"), ("rgat", "graph-node-classification"),
    ("pointpainting", "3d-object-detection"), ("gptj", "llm-serving"), ("llama", "llm-serving"),
    ("mixtral", "llm-serving"), ("deepseek", "llm-serving"),
)

_CLOUD = ("h100", "h200", "b200", "b300", "gb200", "gb300", "gh200", "a100", "l40", "l4", "t4", "mi300", "mi325",
          "mi355", "tpu", "gaudi", "cloud ai 100", "a10")
_EDGE = ("jetson", "orin", "thor", "hailo", "coral")
"""Edge modules (embedded GPU/NPU/TPU)."""
_DESKTOP_GPU = ("geforce", "rtx", "arc")
"""Discrete desktop/workstation GPUs (GeForce, RTX workstation, Arc): ``desktop-gpu``, whichever suite they were
submitted to (an RTX 4090 in MLPerf's edge suite is not an embedded module)."""


def task_of(model: str) -> str | None:
    """The workbench task of an MLPerf Inference model name (by prefix), or None if unknown."""
    m = model.lower()
    return next((t for prefix, t in TASKS if m.startswith(prefix)), None)


def family_of(model: str) -> str:
    """Model without its accuracy-target suffix (``llama2-70b-99.9`` → ``llama2-70b``)."""
    return re.sub(r"-99(\.9)?$", "", model)


def device_of(accelerator: str | None, processor: str | None, suite: str) -> tuple[str, str]:
    """Catalog name (or published name) and device class of a system (see the module docstring)."""
    name = accelerator or processor or "unknown"
    for candidate in (accelerator, None if accelerator else processor):
        if candidate:
            try:
                dev = get_device(candidate)
                return dev.name, dev.device_class
            except UnknownNameError:
                pass
    if accelerator:
        a = accelerator.lower()
        if "server edition" in a:  # e.g. RTX PRO 6000 Blackwell Server Edition
            return name, "cloud-gpu"
        if any(re.search(rf"\b{k}", a) for k in _EDGE):
            return name, "edge-accelerator"
        if re.search(r"\barc\(tm\) \d{3}[tv]\b", a):  # Arc 140T/140V: graphics inside a laptop's Core Ultra
            return name, "laptop"
        if any(re.search(rf"\b{k}", a) for k in _DESKTOP_GPU):
            return name, "desktop-gpu"
        if any(re.search(rf"\b{re.escape(k)}", a) for k in _CLOUD):
            return name, "cloud-gpu"
        return name, "edge-accelerator" if suite.strip().lower() == "edge" else "cloud-gpu"
    p = (processor or "").lower()
    if "apple m" in p or re.search(r"\d{4}u\b", p):
        return name, "laptop"
    if ("xeon" in p and "xeon(r) w" not in p) or "epyc" in p or "grace" in p or "graviton" in p:
        return name, "server-cpu"
    return name, "desktop-cpu"


def _dtype(raw: str | None) -> str | None:
    if not raw or raw.upper() == "UNSET":
        return None
    r = raw.strip().lower()
    if "{" in r or ":" in r or "," in r:
        return "mixed"
    return {"float8": "fp8", "float16": "fp16", "float32": "fp32"}.get(r, r)


def read(path: Path, ctx: ImportContext) -> pl.DataFrame:
    """Normalise an MLPerf Inference summary CSV into measurement rows (validated).

    A scenario not in :data:`SCENARIOS` (a newer round's) is imported, with a note, when its
    result is a throughput; its latency percentile is not known, so a latency result is an error.
    """
    df = read_text_csv(path, REQUIRED, KIND, KNOWN, ctx.notes)
    errors = RowErrors(path, KIND)
    records = []
    new_scenarios: dict[str, int] = {}
    for row in unique_rows(df, IDENTITY, KIND, ctx, errors).iter_rows(named=True):
        line = line_of(row)
        scenario, units_ = text(row, "Scenario"), text(row, "Performance_Units")
        model, version = text(row, "Model"), text(row, "version")
        if scenario not in SCENARIOS:
            if not scenario or not NEW_SCENARIO.match(scenario):
                errors.add(line, f"Scenario {scenario!r} is not one of {list(SCENARIOS)} (nor reads as a newer "
                                 "round's scenario name)")
                continue
            new_scenarios[scenario] = new_scenarios.get(scenario, 0) + 1
        if not model or not version:
            errors.add(line, "'Model' and 'version' must not be empty")
            continue
        perf = number(row, "Performance_Result", line, errors, required=True, positive=True)
        power = number(row, "Power_Result", line, errors)
        nodes = number(row, "Nodes", line, errors)
        n_acc = number(row, "a#", line, errors)
        power_units = text(row, "Power_Units")
        if perf is None:
            continue
        rec = {"latency_ms_p90": None, "latency_ms_p99": None, "throughput_per_s": None, "energy_j": None,
               "energy_scope": None, "power_w": None}
        tokens_per_s = None
        if units_ == "Latency (ms)":
            if scenario == "SingleStream":
                rec["latency_ms_p90"] = perf
            elif scenario == "MultiStream":
                rec["latency_ms_p99"] = perf
            else:
                errors.add(line, f"latency result for scenario {scenario!r}; a latency is known only for "
                                 "SingleStream (p90) and MultiStream (p99)")
                continue
        elif units_ in ("Samples/s", "Queries/s"):
            rec["throughput_per_s"] = perf
        elif units_ == "Tokens/s":
            tokens_per_s = perf
        else:
            errors.add(line, f"Performance_Units {units_!r} is not one of Latency (ms), Samples/s, Queries/s, Tokens/s")
            continue
        if power is not None:
            if power_units == "Watts":
                rec["power_w"] = power
                if rec["throughput_per_s"]:
                    rec["energy_j"], rec["energy_scope"] = power / rec["throughput_per_s"], "inference"
                elif tokens_per_s:
                    rec["energy_j"], rec["energy_scope"] = power / tokens_per_s, "token"
            elif power_units == "millijoules":
                per_query = power / 1000.0
                samples = MULTISTREAM_SAMPLES_PER_QUERY if scenario == "MultiStream" else 1
                rec["energy_j"], rec["energy_scope"] = per_query / samples, "inference"
            else:
                errors.add(line, f"Power_Units {power_units!r} is not Watts or millijoules")
                continue
        acc, proc, suite = text(row, "Accelerator"), text(row, "Processor"), text(row, "Suite") or ""
        name, cls = device_of(acc, proc, suite)
        used = text(row, "UsedModel") or model  # open-division submissions may run another model
        n_nodes = int(nodes) if nodes else 1
        system = f"{n_nodes} node(s)" + (f" × {n_acc:g} × {acc}" if acc and n_acc else "")
        records.append({
            **ctx.base(row, SOURCE.format(version=version)),
            "model": used, "model_family": family_of(model) if used == model else None, "task": task_of(model),
            "strategy": "baseline",
            "scenario": scenario, "dtype": _dtype(text(row, "weight_data_types")), **rec,
            "energy_method": "dataset" if rec["energy_j"] is not None else "none",
            "device_name": name, "device_class": cls, "cpu_model": proc, "accelerator": acc,
            "config_json": config(
                id=text(row, "ID"), submitter=text(row, "Submitter"), availability=text(row, "Availability"),
                category=text(row, "Category"), suite=suite, system=text(row, "System"),
                platform=text(row, "Platform"), nodes=nodes, accelerators_per_node=n_acc,
                host_processors_per_node=text(row, "host_processors_per_node"), software=text(row, "Software"),
                accuracy=text(row, "Accuracy"), used_model=text(row, "UsedModel"),
                weight_data_types=text(row, "weight_data_types"), tokens_per_s=tokens_per_s,
                performance=f"{perf:g} {units_}", power=f"{power:g} {power_units}" if power is not None else None,
                queries_samples=MULTISTREAM_SAMPLES_PER_QUERY if scenario == "MultiStream" else None,
                inferred=text(row, "inferred"), compliance=text(row, "compliance"), location=text(row, "Location"),
            ),
            "notes": f"whole-system figures: {system}" + ("; power is system wall power" if power is not None else ""),
        })
    if new_scenarios:
        ctx.notes.append(f"{sum(new_scenarios.values())} row(s) of scenario(s) {sorted(new_scenarios)} unknown to this "
                         f"importer (known: {list(SCENARIOS)}): imported with their throughput")
    return finish(records, ctx, errors)
