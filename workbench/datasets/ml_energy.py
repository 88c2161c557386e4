"""ML.ENERGY leaderboard (LLM serving and diffusion on data-centre GPUs): energy per request/token/image.

Three generations, detected from the file's columns (files as in ``../shared/data/ml-energy-leaderboard/``):

- **v1 (2023)** ``gpu, task, model, throughput, response_length, latency, energy`` (ml-energy/leaderboard-v2
  at 7d45d08; Apache-2.0): average GPU energy per response [J], tokens/s, seconds per response.
- **v2 (2024)** ``task_path, config_file, Model, GPU, Energy/req (J) | Energy/image (J) | Energy/video (J), ...``
  (ml-energy/leaderboard-v2 HEAD c3af7f3; Apache-2.0).
- **v3 (2026)** ``task, model_id, gpu_model, num_gpus, energy_per_request_joules, energy_per_token_joules,
  energy_per_image_joules, energy_per_video_joules, avg_power_watts, ...`` (ml-energy/leaderboard HEAD 0cd52da).

Normalisation (``energy_method = "dataset"``; energy is GPU energy measured with Zeus over all GPUs
of the configuration):

- LLM/MLLM rows: ``energy_j`` per request (``energy_scope = "request"``); energy per token, tokens/s
  and output length go to ``config_json``. Latency columns hold the per-output-token latency of one
  decode step (v2 ``Avg TPOT`` → ``latency_ms_mean``; v3 inter-token latency median/p90/p95/p99 →
  ``latency_ms_p50/p90/p95/p99``); v1 has only the time per whole response, kept in ``config_json``
  (``response_latency_ms``), not in the latency columns.
- Diffusion rows: ``energy_j`` per generated image or video (``energy_scope = "inference"``: one
  prompt, one output), ``latency_ms_mean`` = one pipeline call for ``batch_size`` prompts, images/s as
  ``throughput_per_s`` (v3).
- ``power_w`` = v3 ``avg_power_watts`` (all GPUs). ``params`` = v3 total parameters.
- ``device_name``: the catalog name when the published GPU name gives the variant (v2:
  ``NVIDIA A100-SXM4-40GB``, ``NVIDIA H100 80GB HBM3``), else the name as published (v1 ``A100``,
  ``A40``, ``V100``; v3 ``H100``, ``B200``), which ``workbench.catalog.devices.get_device`` may still
  resolve by alias. All rows are ``cloud-gpu``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench import units
from workbench.catalog.devices import get_device
from workbench.datasets._common import ImportContext, RowErrors, config, finish, line_of, number, text, unique_rows
from workbench.datasets._csv import MissingColumnsError, check_columns, read_table
from workbench.errors import ImportFormatError, UnknownNameError

KIND = "ml-energy"
FILE_NAMES = ("mlenergy_v1_2023_llm_benchmark.csv", "mlenergy_v2_2024_configs.csv", "mlenergy_v3_2026_configs.csv")

V1 = ("gpu", "task", "model", "throughput", "response_length", "latency", "energy")
V2 = ("task_path", "config_file", "Model", "GPU", "Energy/req (J)", "Energy/image (J)", "Energy/video (J)",
      "Avg TPOT (s)", "Token tput (tok/s)", "Avg Output Tokens", "Batch latency (s)", "Batch size", "TP", "PP")
V3 = ("task", "model_id", "gpu_model", "num_gpus", "avg_power_watts", "energy_per_request_joules",
      "energy_per_token_joules", "energy_per_image_joules", "energy_per_video_joules", "weight_precision",
      "total_params_billions", "median_itl_ms", "p90_itl_ms", "p95_itl_ms", "p99_itl_ms",
      "output_throughput_tokens_per_sec", "avg_output_len", "batch_latency_s", "batch_size",
      "throughput_images_per_sec", "throughput_videos_per_sec")
REQUIRED = {"v1": V1, "v2": V2, "v3": V3}
"""The columns each generation needs."""

KNOWN = {
    "v1": (),
    "v2": ("Avg BS (reqs)", "Max BS (reqs)", "Denoising steps", "Frames"),
    "v3": ("activated_params_billions", "architecture", "avg_batch_size", "data_parallel", "expert_parallel",
           "max_num_seqs", "nickname", "tensor_parallel", "image_height", "image_width", "inference_steps",
           "ring_degree", "ulysses_degree", "fps", "num_frames", "video_height", "video_width"),
}
"""Further columns of each generation (read when present, or known and unused); others are ignored with a note."""

IDENTITY = {"v1": ("gpu", "task", "model"), "v2": ("task_path", "config_file", "Model", "GPU"), "v3": None}
"""The columns that identify one result per generation; v3 has no key (rows that agree on every
configuration column still differ in their measurements), so a v3 row is identified by all its cells."""

SOURCES = {"v1": "ml-energy leaderboard v1 (2023)", "v2": "ml-energy leaderboard v2 (2024)",
           "v3": "ml-energy leaderboard v3 (2026)"}

_PRECISION = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32", "float8": "fp8"}


def _device(gpu: str) -> str:
    """Catalog name when the published GPU name states the variant; else the published name."""
    if any(k in gpu.upper() for k in ("SXM", "HBM", "PCIE")):
        try:
            return get_device(gpu).name
        except UnknownNameError:
            pass
    return gpu


def _task(name: str) -> str:
    n = name.lower()
    for key in ("text-to-image", "text-to-video", "image-to-video"):
        if key in n:
            return key
    if "mllm" in n or n in ("image-chat", "video-chat"):
        return "mllm-serving"
    return "llm-serving"


def required_columns(columns) -> tuple[str, ...]:
    """The columns a file with these ``columns`` needs: those of its generation (:func:`detect`)."""
    return REQUIRED[detect(list(columns))]


def detect(columns: list[str]) -> str:
    """Which generation a file is, from its columns (raises with the expected columns).

    A file with v2's ``task_path`` or v3's ``gpu_model`` is that generation, one with all v1 columns
    is v1; otherwise the generation whose columns it mostly has (so that a missing column is named).
    """
    cols = set(columns)
    if set(V1) <= cols:
        return "v1"
    if "task_path" in cols:
        return "v2"
    if "gpu_model" in cols:
        return "v3"
    best = max(REQUIRED, key=lambda g: len(cols & set(REQUIRED[g])) / len(REQUIRED[g]))
    if len(cols & set(REQUIRED[best])) >= len(REQUIRED[best]) / 2:
        return best
    raise ImportFormatError(
        f"columns {sorted(cols)[:12]} match no ML.ENERGY leaderboard generation. Expected v1 columns {list(V1)}, "
        f"or v2 columns {list(V2)}, or v3 columns {list(V3)}. Fix: pass a leaderboard CSV, or the right KIND "
        "(`workbench import --help`)."
    )


def _v1(df, ctx, errors):
    out = []
    for row in df.iter_rows(named=True):
        line = line_of(row)
        energy = number(row, "energy", line, errors, required=True, positive=True)
        latency_s = number(row, "latency", line, errors)
        tput = number(row, "throughput", line, errors)
        length = number(row, "response_length", line, errors)
        gpu, model = text(row, "gpu"), text(row, "model")
        if not gpu or not model:
            errors.add(line, "'gpu' and 'model' must not be empty")
            continue
        if energy is None:
            continue
        out.append({
            **ctx.base(row, SOURCES["v1"]), "model": model, "task": "llm-serving", "strategy": "baseline",
            "batch_size": 1, "energy_j": energy, "energy_scope": "request", "energy_method": "dataset",
            "device_name": _device(gpu), "device_class": "cloud-gpu", "accelerator": gpu,
            "config_json": config(generation="v1", prompt_task=text(row, "task"), tokens_per_s=tput,
                                  response_length_tokens=length,
                                  response_latency_ms=units.s_to_ms(latency_s) if latency_s is not None else None,
                                  energy_per_token_j=energy / length if length else None),
            "notes": "v1 does not state the GPU variant; energy is average GPU energy per response",
        })
    return out


def _v2(df, ctx, errors):
    out = []
    for row in df.iter_rows(named=True):
        line = line_of(row)
        task_path, gpu, model = text(row, "task_path"), text(row, "GPU"), text(row, "Model")
        if not task_path or not gpu or not model:
            errors.add(line, "'task_path', 'GPU' and 'Model' must not be empty")
            continue
        task = _task(task_path)
        e_req = number(row, "Energy/req (J)", line, errors, positive=True)
        e_img = number(row, "Energy/image (J)", line, errors, positive=True)
        e_vid = number(row, "Energy/video (J)", line, errors, positive=True)
        tpot = number(row, "Avg TPOT (s)", line, errors)
        tput = number(row, "Token tput (tok/s)", line, errors)
        out_tokens = number(row, "Avg Output Tokens", line, errors)
        batch_lat = number(row, "Batch latency (s)", line, errors)
        batch = number(row, "Batch size", line, errors, positive=True)
        given = [e for e in (e_req, e_img, e_vid) if e is not None]
        if len(given) != 1:
            errors.add(line, f"expected exactly one of Energy/req, Energy/image, Energy/video; got {len(given)}")
            continue
        llm = e_req is not None
        rec = {
            **ctx.base(row, SOURCES["v2"]), "model": model, "task": task, "strategy": "baseline",
            "energy_j": given[0], "energy_scope": "request" if llm else "inference", "energy_method": "dataset",
            "device_name": _device(gpu), "device_class": "cloud-gpu", "accelerator": gpu,
            "config_json": config(generation="v2", task_path=task_path, config=text(row, "config_file"),
                                  tensor_parallel=text(row, "TP"), pipeline_parallel=text(row, "PP"),
                                  tokens_per_s=tput, avg_output_tokens=out_tokens,
                                  energy_per_token_j=e_req / out_tokens if llm and out_tokens else None,
                                  avg_batch_size=text(row, "Avg BS (reqs)"), max_batch_size=text(row, "Max BS (reqs)"),
                                  denoising_steps=text(row, "Denoising steps"), frames=text(row, "Frames")),
        }
        if llm:
            rec["latency_ms_mean"] = units.s_to_ms(tpot) if tpot is not None else None
            rec["notes"] = "latency = average time per output token (one decode step); energy per request"
        else:
            rec["latency_ms_mean"] = units.s_to_ms(batch_lat) if batch_lat is not None else None
            rec["batch_size"] = int(batch) if batch is not None and batch == int(batch) else None
            rec["notes"] = "energy per generated image/video; latency = one pipeline call for batch_size prompts"
        out.append(rec)
    return out


def _v3(df, ctx, errors):
    out = []
    for row in df.iter_rows(named=True):
        line = line_of(row)
        task, gpu, model = text(row, "task"), text(row, "gpu_model"), text(row, "model_id")
        if not task or not gpu or not model:
            errors.add(line, "'task', 'gpu_model' and 'model_id' must not be empty")
            continue
        vals = {c: number(row, c, line, errors) for c in (
            "energy_per_request_joules", "energy_per_token_joules", "energy_per_image_joules",
            "energy_per_video_joules", "avg_power_watts", "total_params_billions", "median_itl_ms", "p90_itl_ms",
            "p95_itl_ms", "p99_itl_ms", "output_throughput_tokens_per_sec", "avg_output_len", "batch_latency_s",
            "batch_size", "throughput_images_per_sec", "throughput_videos_per_sec", "num_gpus")}
        kind = _task(task)
        llm = kind in ("llm-serving", "mllm-serving")
        energy = vals["energy_per_request_joules"] if llm else (
            vals["energy_per_image_joules"] if kind == "text-to-image" else vals["energy_per_video_joules"])
        if energy is None:
            errors.add(line, f"task {task!r} needs its energy column (per request, image or video), which is empty")
            continue
        precision = text(row, "weight_precision")
        params = vals["total_params_billions"]
        rec = {
            **ctx.base(row, SOURCES["v3"]), "model": model, "task": kind, "strategy": "baseline",
            "dtype": _PRECISION.get((precision or "").lower(), (precision or "").lower() or None),
            "params": int(round(params * 1e9)) if params is not None else None,
            "energy_j": energy, "energy_scope": "request" if llm else "inference", "energy_method": "dataset",
            "power_w": vals["avg_power_watts"],
            "device_name": _device(gpu), "device_class": "cloud-gpu", "accelerator": gpu,
        }
        n_gpus = vals["num_gpus"]
        cfg = dict(generation="v3", prompt_task=task, num_gpus=n_gpus, nickname=text(row, "nickname"),
                   architecture=text(row, "architecture"), weight_precision=precision,
                   activated_params_billions=text(row, "activated_params_billions"),
                   tensor_parallel=text(row, "tensor_parallel"), expert_parallel=text(row, "expert_parallel"),
                   data_parallel=text(row, "data_parallel"))
        if llm:
            rec.update(latency_ms_p50=vals["median_itl_ms"], latency_ms_p90=vals["p90_itl_ms"],
                       latency_ms_p95=vals["p95_itl_ms"], latency_ms_p99=vals["p99_itl_ms"])
            cfg.update(energy_per_token_j=vals["energy_per_token_joules"],
                       tokens_per_s=vals["output_throughput_tokens_per_sec"], avg_output_tokens=vals["avg_output_len"],
                       avg_batch_size=text(row, "avg_batch_size"), max_num_seqs=text(row, "max_num_seqs"))
            rec["notes"] = "latency = inter-token latency (one decode step); energy per request over all GPUs"
        else:
            b = vals["batch_size"]
            rec["latency_ms_mean"] = units.s_to_ms(vals["batch_latency_s"]) if vals["batch_latency_s"] is not None else None
            rec["batch_size"] = int(b) if b is not None and b == int(b) and b > 0 else None
            rec["throughput_per_s"] = vals["throughput_images_per_sec"] if kind == "text-to-image" else vals[
                "throughput_videos_per_sec"]
            cfg.update(inference_steps=text(row, "inference_steps"), image_height=text(row, "image_height"),
                       image_width=text(row, "image_width"), num_frames=text(row, "num_frames"),
                       video_height=text(row, "video_height"), video_width=text(row, "video_width"))
            rec["notes"] = "energy per generated image/video over all GPUs; latency = one pipeline call for batch_size"
        rec["config_json"] = config(**cfg)
        out.append(rec)
    return out


def read(path: Path, ctx: ImportContext) -> pl.DataFrame:
    """Normalise one ML.ENERGY leaderboard CSV (v1, v2 or v3) into measurement rows (validated)."""
    gens: list[str] = []

    def check(found: list[str]) -> None:
        try:
            gens.append(detect(found))
        except ImportFormatError as exc:
            raise MissingColumnsError(f"{path}: {exc}", found) from None
        check_columns(found, path, KIND, REQUIRED[gens[0]], KNOWN[gens[0]], ctx.notes)

    df = read_table(path, KIND, check)
    gen = gens[0]
    errors = RowErrors(path, KIND)
    df = unique_rows(df, IDENTITY[gen], SOURCES[gen], ctx, errors)
    records = {"v1": _v1, "v2": _v2, "v3": _v3}[gen](df, ctx, errors)
    return finish(records, ctx, errors)
