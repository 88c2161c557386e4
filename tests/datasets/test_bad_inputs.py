"""Bad input to `workbench import`, as a user would give it: one clean error or one clean success.

A table-driven corpus over every importer drives ``workbench.cli.main(["import", KIND, PATH, "--store",
DIR])``. Each bad input must exit 2 with exactly one ``error: ...`` line on stderr naming the bad
value, and leave the store byte-identical (every file's bytes compared); each valid input must exit
0 and add exactly the expected rows. Then property-style checks: any row order, line ending or
whitespace imports the same rows (same ids); two concurrent imports of one file store its rows once;
rows stored under the ids of earlier versions are not imported again.

The fixture files are small and synthetic, written here in the column layout of the public files
(``../shared/data``; the layout is checked against them where they are present), never copied from them.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import multiprocessing
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

from workbench import datasets
from workbench.cli import main
from workbench.datasets import DatasetNote
from workbench.store import Store

# ---------------------------------------------------------------------------------------------- fixtures

TINY_HEADER = (
    "version", "division", "organization", "system_dir", "benchmark", "model_variant", "latency_ms",
    "throughput_inf_s", "energy_uJ_per_inf", "energy_mode_throughput_inf_s", "energy_mode_median_power_mW",
    "top1_pct", "auc", "perf_note", "notes", "Board Name", "SoC Name", "Processor(s) Name",
    "Processor(s) Frequencies", "Accelerator", "Accelerator(s) Frequencies", "Inference Framework", "Status",
    "system_json", "system_match_score", "commit",
)
"""The columns of ../shared/data/mlperf-tiny/mlperf_tiny_summary.csv (checked in test_layouts_match_the_public_files)."""

INFERENCE_HEADER = (
    "version", "ID", "Submitter", "Availability", "Category", "Suite", "System", "Platform", "Model", "UsedModel",
    "Scenario", "Accuracy", "Nodes", "Processor", "host_processors_per_node", "host_processor_core_count",
    "Accelerator", "a#", "Software", "operating_system", "weight_data_types", "inferred", "compliance", "errors",
    "has_power", "Performance_Result", "Performance_Units", "Power_Result", "Power_Units", "Location", "Notes",
)

ML_ENERGY_V1_HEADER = ("gpu", "task", "model", "throughput", "response_length", "latency", "energy")

NN_METER_HEADER = (
    "model_family_file", "model_id", "cortexA76cpu_tflite21_mean", "cortexA76cpu_tflite21_std",
    "adreno640gpu_tflite21_mean", "adreno640gpu_tflite21_std", "adreno630gpu_tflite21_mean",
    "adreno630gpu_tflite21_std", "myriadvpu_openvino2019r2_mean", "myriadvpu_openvino2019r2_std",
)

CODECARBON_HEADER = (
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate", "cpu_power",
    "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed", "water_consumed",
    "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os", "python_version",
    "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude", "latitude",
    "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
)
"""codecarbon 3.3's EmissionsData fields (what its FileOutput writes)."""


def _tiny(**over) -> dict:
    row = dict(version="1.1", division="closed", organization="reference", system_dir="nucleo-l4r5zi",
               benchmark="ic", model_variant="", latency_ms="90.5", throughput_inf_s="11.05",
               energy_uJ_per_inf="4500.5", energy_mode_throughput_inf_s="11.0", energy_mode_median_power_mW="49.7",
               top1_pct="87.2", auc="", perf_note="", notes="", **{
                   "Board Name": "Nucleo-L4R5ZI", "SoC Name": "STM32L4R5ZIT6", "Processor(s) Name": "Arm Cortex-M4",
                   "Processor(s) Frequencies": "120 MHz", "Accelerator": "", "Accelerator(s) Frequencies": "",
                   "Inference Framework": "TFLite Micro", "Status": "Available",
                   "system_json": "closed/reference/systems/nucleo.json", "system_match_score": "1.0"},
               commit="0123abcd")
    row.update(over)
    return row


def _inference(**over) -> dict:
    row = {"version": "v5.1", "ID": "5.1-9001", "Submitter": "Acme", "Availability": "available",
           "Category": "closed", "Suite": "edge", "System": "Acme Box", "Platform": "acme_box", "Model": "resnet",
           "UsedModel": "resnet", "Scenario": "SingleStream", "Accuracy": "acc: 76.1", "Nodes": "1",
           "Processor": "AMD EPYC 9374F", "host_processors_per_node": "1", "host_processor_core_count": "32",
           "Accelerator": "NVIDIA L4", "a#": "1", "Software": "TensorRT 10, CUDA 12", "operating_system": "Ubuntu",
           "weight_data_types": "int8", "inferred": "0", "compliance": "1", "errors": "0", "has_power": "False",
           "Performance_Result": "0.35", "Performance_Units": "Latency (ms)", "Power_Result": "",
           "Power_Units": "", "Location": "closed/Acme/results/acme_box/resnet/singlestream", "Notes": ""}
    row.update(over)
    return row


def _v1(**over) -> dict:
    row = dict(gpu="A100", task="chat", model="acme/llm-7b", throughput="25.1", response_length="260.2",
               latency="10.4", energy="1400.5")
    row.update(over)
    return row


def _nn(**over) -> dict:
    row = dict(zip(NN_METER_HEADER, ("alexnet", "alexnet_0", "84.5", "4.9", "11.9", "0.013", "16.1", "0.079",
                                     "10.1", "0"), strict=True))
    row.update(over)
    return row


def _cc(**over) -> dict:
    row = dict(timestamp="2026-01-02T10:00:00", project_name="resnet-finetune", run_id="run-1", experiment_id="exp",
               duration="3600.0", emissions="0.05", emissions_rate="1.4e-05", cpu_power="42.5", gpu_power="250.0",
               ram_power="10.0", cpu_energy="0.04", gpu_energy="0.45", ram_energy="0.01", energy_consumed="0.5",
               water_consumed="0.0", country_name="France", country_iso_code="FRA", region="ile-de-france",
               cloud_provider="", cloud_region="", os="Linux", python_version="3.11", codecarbon_version="3.3.2",
               cpu_count="16", cpu_model="Intel(R) Xeon(R) Platinum 8592+", gpu_count="1",
               gpu_model="NVIDIA A100-SXM4-40GB", longitude="2.3", latitude="48.8", ram_total_size="64.0",
               tracking_mode="machine", cpu_utilization_percent="50.0", gpu_utilization_percent="80.0",
               ram_utilization_percent="30.0", ram_used_gb="20.0", on_cloud="N", pue="1.0", wue="0.0")
    row.update(over)
    return row


@dataclass(frozen=True)
class Spec:
    """One importer's valid fixture and where to break it."""

    kind: str
    header: tuple[str, ...]
    rows: tuple[dict, ...]
    """Valid rows; they seed the store of every case."""
    new: dict
    """A further valid result (not in the store): valid cases add it."""
    new_records: int
    """Records the importer makes from ``new`` (nn-Meter: one per device)."""
    value: str
    """A numeric column of ``new`` to corrupt."""
    absurd: str
    """A value of ``value`` above its plausibility bound, and what the error says about it."""
    absurd_says: str
    nan: dict
    """Cells that make ``new`` hold NaN where a value is needed, the exit code and what the message says."""
    nan_rc: int
    nan_says: str
    identity_change: dict = field(default_factory=dict)
    """Cells changing a result's identity (so that ``new`` becomes another result)."""
    unknown_device: dict = field(default_factory=dict)
    """Cells naming a device the catalog does not know, and the device_name the row must get."""
    device_name: str = ""
    garbage_says: str = "holds none of the"
    missing_says: str = "missing column(s)"


SPECS = {
    "mlperf-tiny": Spec(
        "mlperf-tiny", TINY_HEADER,
        (_tiny(), _tiny(benchmark="kws", latency_ms="180.2", throughput_inf_s="5.55", energy_uJ_per_inf="9000.1",
                        top1_pct="91.0")),
        _tiny(benchmark="vww", latency_ms="250.0", throughput_inf_s="4.0", energy_uJ_per_inf="12000.0",
              top1_pct="84.0"), 1,
        "latency_ms", "1e12", "latency_ms_mean = 1e+12 ms",
        {"latency_ms": "NaN", "throughput_inf_s": "NaN", "energy_uJ_per_inf": "nan"}, 2, "no result",
        unknown_device={"Board Name": "Acme Tiny Board X1", "system_dir": "acme-x1"}, device_name="Acme Tiny Board X1"),
    "mlperf-inference": Spec(
        "mlperf-inference", INFERENCE_HEADER,
        (_inference(), _inference(Scenario="Offline", Performance_Result="12000.5", Performance_Units="Samples/s",
                                  Power_Result="70.5", Power_Units="Watts")),
        _inference(Model="retinanet", UsedModel="retinanet", Scenario="Offline", Performance_Result="600.0",
                   Performance_Units="Samples/s"), 1,
        "Performance_Result", "1e12", "throughput_per_s = 1e+12 samples/s",
        {"Performance_Result": "NaN"}, 2, "'Performance_Result' = 'NaN' holds no value",
        unknown_device={"ID": "5.1-9002", "Accelerator": "Acme NPU 9000"}, device_name="Acme NPU 9000"),
    "ml-energy": Spec(
        "ml-energy", ML_ENERGY_V1_HEADER,
        (_v1(), _v1(model="acme/llm-13b", throughput="20.3", latency="12.9", energy="2100.1")),
        _v1(gpu="A40", throughput="18.0", latency="14.2", energy="2500.0"), 1,
        "energy", "1e9", "energy_j = 1e+09 J",
        {"energy": "NaN"}, 2, "'energy' = 'NaN' holds no value",
        unknown_device={"gpu": "Z900"}, device_name="Z900",
        garbage_says="match no ML.ENERGY leaderboard generation"),
    "nn-meter": Spec(
        "nn-meter", NN_METER_HEADER,
        (_nn(), _nn(model_family_file="vgg", model_id="vgg_1", cortexA76cpu_tflite21_mean="10",
                    cortexA76cpu_tflite21_std="1", adreno640gpu_tflite21_mean="", adreno640gpu_tflite21_std="")),
        _nn(model_family_file="googlenet", model_id="googlenet_3", cortexA76cpu_tflite21_mean="30.2"), 4,
        "cortexA76cpu_tflite21_mean", "1e9", "latency_ms_mean = 1e+09 ms",
        # every device mean NaN: no measurement in the row, skipped with a note; the rest is already stored
        {f"{d}_mean": "NaN" for d in ("cortexA76cpu_tflite21", "adreno640gpu_tflite21", "adreno630gpu_tflite21",
                                      "myriadvpu_openvino2019r2")}, 0, "1 row(s) without any device mean"),
    "codecarbon": Spec(
        "codecarbon", CODECARBON_HEADER,
        (_cc(), _cc(run_id="run-2", timestamp="2026-01-03T10:00:00", energy_consumed="0.25")),
        _cc(run_id="run-3", timestamp="2026-01-04T10:00:00", energy_consumed="0.75"), 1,
        "energy_consumed", "1e9", "energy_j = 3.6e+15 J (run)",
        {"energy_consumed": "NaN"}, 2, "'energy_consumed' = 'NaN' holds no value",
        unknown_device={"cpu_model": "Acme CPU 5000", "gpu_model": "", "gpu_count": "0", "gpu_energy": "0"},
        device_name="Acme CPU 5000"),
}
KINDS = list(SPECS)


def render(header, rows, *, sep=",", newline="\n") -> str:
    """CSV text of ``rows`` (dicts; absent cells empty) under ``header``."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator=newline)
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(c, "") for c in header])
    return buf.getvalue()


def base_text(spec: Spec) -> str:
    return render(spec.header, spec.rows)


def snapshot(store: Path) -> dict[str, bytes]:
    """Every file under the store: relative path → bytes."""
    if not store.exists():
        return {}
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------- the corpus

@dataclass(frozen=True)
class Case:
    """One input: how to write it, the exit code, what the one message must say, the rows it adds."""

    name: str
    make: object
    """(spec, tmp_path) -> path"""
    rc: int
    says: object = ()
    """Substrings of the error line (rc 2) or of stdout (rc 0); a callable (spec) -> tuple for per-kind text."""
    added: object = 0
    """Rows a valid import adds; a callable (spec) -> int."""
    args: tuple[str, ...] = ()


def _write(tmp_path: Path, text: str | bytes, name: str = "input.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def _with(spec: Spec, **cells) -> dict:
    return {**spec.new, **cells}


def _other(spec: Spec) -> Spec:
    return SPECS[KINDS[(KINDS.index(spec.kind) + 1) % len(KINDS)]]


def _truncated(spec, t):
    text = render(spec.header, [*spec.rows, spec.new])
    cut = text.rstrip("\n").rfind(",", 0, len(text) - 5)  # inside the last row, a few fields before its end
    return _write(t, text[:cut])


def _unclosed_quote(spec, t):
    text = render(spec.header, spec.rows)
    return _write(t, text + '"' + ",".join(spec.new.get(c, "") for c in spec.header))


def _latin1(spec, t):
    col = next(c for c in spec.header if c not in (spec.value,) and not spec.new.get(c, "x").replace(".", "").isdigit())
    text = render(spec.header, [*spec.rows, _with(spec, **{col: "Münchén"})])
    return _write(t, text.encode("latin-1"))


def _garbage(spec, t):
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do".split()
    rng = random.Random(7)
    lines = [" ".join(rng.choice(words) for _ in range(6)) for _ in range(5)]
    return _write(t, "\n".join(lines) + "\n")


def _same_content(spec, t):
    rows = list(reversed(spec.rows))  # other order, CRLF, spaces around cells, blank lines at the end
    text = render(spec.header, [{k: f" {v} " if v else v for k, v in r.items()} for r in rows], newline="\r\n")
    return _write(t, text + "\r\n\r\n")


def _new_column(spec, t):
    header = (*spec.header, "future_metric")
    return _write(t, render(header, [*spec.rows, {**spec.new, "future_metric": "7"}]))


def _unknown_device(spec, t):
    if spec.kind == "nn-meter":  # a device this importer does not know is a new column pair: ignored, noted
        header = (*spec.header, "snapdragon888gpu_tflite_mean", "snapdragon888gpu_tflite_std")
        return _write(t, render(header, [*spec.rows, {**spec.new, "snapdragon888gpu_tflite_mean": "5.5"}]))
    return _write(t, render(spec.header, [*spec.rows, _with(spec, **spec.unknown_device)]))


def _unknown_device_says(spec):
    if spec.kind == "nn-meter":
        return ("ignored column(s) ['snapdragon888gpu_tflite_mean', 'snapdragon888gpu_tflite_std']",)
    return ("1 row(s) added",)


CASES = [
    Case("header-only", lambda s, t: _write(t, ",".join(s.header) + "\n"), 2, ("no data rows",)),
    Case("empty-file", lambda s, t: _write(t, ""), 2, ("the file is empty (0 bytes)",)),
    Case("blank-lines-only", lambda s, t: _write(t, "\n\n  \n"), 2, ("the file is empty",)),
    Case("utf16-bom", lambda s, t: _write(t, base_text(s).encode("utf-16")), 2, ("UTF-16", "iconv")),
    Case("utf16-no-bom", lambda s, t: _write(t, base_text(s).encode("utf-16-le")), 2, ("UTF-16",)),
    Case("latin1", _latin1, 2, ("not UTF-8", "byte 0xfc on line 4")),
    Case("json-object", lambda s, t: _write(t, json.dumps({"results": list(s.rows)})), 2,
         ("looks like JSON (it starts with '{')",)),
    Case("json-array", lambda s, t: _write(t, json.dumps(list(s.rows), indent=1)), 2,
         ("looks like JSON (it starts with '[')",)),
    Case("semicolons", lambda s, t: _write(t, render(s.header, s.rows, sep=";")), 2,
         ("separated by semicolons (';')", "re-save it as comma-separated")),
    Case("tabs", lambda s, t: _write(t, render(s.header, s.rows, sep="\t")), 2, ("separated by tabs",)),
    Case("gzip", lambda s, t: _write(t, gzip.compress(base_text(s).encode())), 2, ("gzip-compressed",)),
    Case("binary", lambda s, t: _write(t, bytes(range(256)) * 4), 2, ("NUL bytes",)),
    Case("garbage-text", _garbage, 2, lambda s: (s.garbage_says,)),
    Case("garbage-with-commas", lambda s, t: _write(t, "foo,bar\n1,2,3,4\nx,y\n"), 2,
         lambda s: (s.garbage_says, "'foo'")),
    Case("truncated", _truncated, 2, ("line 4 has", "the row is cut short")),
    Case("unclosed-quote", _unclosed_quote, 2, ("line 4 cannot be parsed as CSV", "unclosed quote")),
    Case("extra-field", lambda s, t: _write(t, render(s.header, [*s.rows, s.new]).rstrip("\n") + ",surplus\n"), 2,
         ("line 4 has", "'surplus'")),
    Case("repeated-header-column", lambda s, t: _write(t, render((*s.header, s.header[1]), s.rows)), 2,
         lambda s: (f"column {s.header[1]!r} appears twice",)),
    Case("missing-column", lambda s, t: _write(t, render(tuple(c for c in s.header if c != s.value),
                                                         [*s.rows, s.new])), 2,
         lambda s: (s.missing_says, repr(s.value))),
    Case("wrong-kind", lambda s, t: _write(t, base_text(_other(s))), 2,
         lambda s: (f"looks like {_other(s).kind}'s", f"not {s.kind}'s", f"workbench import {_other(s).kind}")),
    Case("text-value", lambda s, t: _write(t, render(s.header, [*s.rows, _with(s, **{s.value: "abc"})])), 2,
         lambda s: ("line 4", f"{s.value!r} = 'abc' is not a number")),
    Case("negative-value", lambda s, t: _write(t, render(s.header, [*s.rows, _with(s, **{s.value: "-5"})])), 2,
         lambda s: ("line 4", f"{s.value!r} = '-5' must be a finite number")),
    Case("infinite-value", lambda s, t: _write(t, render(s.header, [*s.rows, _with(s, **{s.value: "inf"})])), 2,
         lambda s: ("line 4", f"{s.value!r} = 'inf' must be a finite number")),
    Case("nan-value", lambda s, t: _write(t, render(s.header, [*s.rows, _with(s, **s.nan)])),
         -1, lambda s: (s.nan_says,)),  # exit code per importer (Spec.nan_rc)
    Case("absurd-value", lambda s, t: _write(t, render(s.header, [*s.rows, _with(s, **{s.value: s.absurd})])), 2,
         lambda s: ("line 4", s.absurd_says, "plausibility bound", "--allow-implausible")),
    Case("absurd-value-allowed", lambda s, t: _write(t, render(s.header, [*s.rows, _with(s, **{s.value: s.absurd})])),
         0, ("row(s) added",), lambda s: s.new_records, ("--allow-implausible",)),
    Case("unknown-device", _unknown_device, 0, _unknown_device_says, lambda s: s.new_records),
    Case("new-column", _new_column, 0, ("ignored column(s) ['future_metric']",), lambda s: s.new_records),
    Case("identical-repeat", lambda s, t: _write(t, render(s.header, [*s.rows, s.new, s.new])), 0,
         ("1 identical repeated row(s) collapsed into one (line 4 = line(s) 5)",), lambda s: s.new_records),
    Case("conflicting-repeat", lambda s, t: _write(t, render(s.header, [*s.rows, s.new, _with(s, **{
        s.value: "77.0"})])), 2, lambda s: ("line 5: gives the same result as line 4", "'77.0'")),
    Case("same-content-other-bytes", _same_content, 0, ("row(s) already in the store, nothing added",), 0),
    Case("same-bytes", lambda s, t: _write(t, base_text(s)), 0, ("already imported into",), 0),
    Case("directory-without-file", lambda s, t: (t / "empty-dir").mkdir() or t / "empty-dir", 2,
         ("holds none of the files of dataset kind",)),
    Case("missing-path", lambda s, t: t / "no-such-file.csv", 2, ("does not exist",)),
]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Per kind, a store holding the spec's base rows (imported through the CLI)."""
    out = {}
    for kind, spec in SPECS.items():
        d = tmp_path_factory.mktemp(f"seed-{kind}")
        src = _write(d, base_text(spec), "base.csv")
        assert main(["import", kind, str(src), "--store", str(d / "store")]) == 0
        out[kind] = d / "store"
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_corpus(kind, case, seeded, tmp_path, capsys):
    spec = SPECS[kind]
    store = tmp_path / "store"
    shutil.copytree(seeded[kind], store)
    capsys.readouterr()
    path = case.make(spec, tmp_path)
    before = snapshot(store)
    rows_before = Store(store).read().height
    rc = main(["import", kind, str(path), "--store", str(store), *case.args])
    out, err = capsys.readouterr()
    says = case.says(spec) if callable(case.says) else case.says
    want_rc = spec.nan_rc if case.rc == -1 else case.rc
    assert rc == want_rc, (out, err)
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err  # exactly one error line
        for s in says:
            assert s in lines[0], (s, lines[0])
        assert "Fix" in lines[0] or "fix" in lines[0]
        assert snapshot(store) == before  # nothing written, nothing touched
        return
    assert err == "", err
    for s in says:
        assert s in out, (s, out)
    added = case.added(spec) if callable(case.added) else case.added
    stored = Store(store).read()
    assert stored.height == rows_before + added
    assert stored["measurement_id"].n_unique() == stored.height
    if added == 0:
        assert snapshot(store) == before
    if case.name == "unknown-device" and spec.device_name:
        assert spec.device_name in stored["device_name"].to_list()


def test_the_corpus_is_large_enough():
    assert len(CASES) * len(KINDS) >= 60


# ------------------------------------------------------------------------------------- importer-specific cases

def _import(kind, path, store, *extra):
    return main(["import", kind, str(path), "--store", str(store), *extra])


TINY_V13_EXTRA = ("sww_false_positives", "sww_false_negatives", "sww_duty_cycle_pct")
"""Columns a newer round's summary might add (the streaming wake word's quality); synthetic names."""


def _tiny_v13() -> str:
    """A small summary in the shape of MLPerf Tiny v1.3: ic and kws as before, sww with energy over a stream
    and throughput but no latency, and new columns. Synthetic values in the v1.x file's column layout."""
    rows = [
        _tiny(version="1.3", system_dir="nucleo-u575", **{"Board Name": "NUCLEO-U575ZI-Q"}),
        _tiny(version="1.3", system_dir="nucleo-u575", benchmark="kws", latency_ms="70.0", throughput_inf_s="14.3",
              energy_uJ_per_inf="2100.0", top1_pct="91.5", **{"Board Name": "NUCLEO-U575ZI-Q"}),
        _tiny(version="1.3", system_dir="nucleo-u575", benchmark="sww", latency_ms="", throughput_inf_s="5.3",
              energy_uJ_per_inf="61000000.0", energy_mode_throughput_inf_s="", energy_mode_median_power_mW="51.0",
              top1_pct="", sww_false_positives="3", sww_false_negatives="5", sww_duty_cycle_pct="42.0",
              **{"Board Name": "NUCLEO-U575ZI-Q"}),
    ]
    return render((*TINY_HEADER, *TINY_V13_EXTRA), rows)


def test_tiny_v1_3_energy_only_rows_and_new_columns(tmp_path, capsys):
    path = _write(tmp_path, _tiny_v13())
    assert _import("mlperf-tiny", path, tmp_path / "s") == 0
    out = capsys.readouterr().out
    assert "3 row(s) added" in out and f"ignored column(s) {list(TINY_V13_EXTRA)}" in out
    df = Store(tmp_path / "s").read().sort("task")
    assert df["task"].to_list() == ["image-classification", "keyword-spotting", "streaming-wake-word"]
    sww = df.row(2, named=True)
    assert sww["latency_ms_mean"] is None and sww["throughput_per_s"] == 5.3
    assert sww["energy_scope"] == "stream" and sww["energy_j"] == pytest.approx(61.0, rel=1e-12)  # µJ → J
    assert set(df.filter(pl.col("task") != "streaming-wake-word")["energy_scope"]) == {"inference"}


def test_tiny_new_benchmark_code_is_a_warning_not_an_error(tmp_path, capsys):
    rows = [_tiny(), _tiny(benchmark="vwwv2", top1_pct="83.0")]
    assert _import("mlperf-tiny", _write(tmp_path, render(TINY_HEADER, rows)), tmp_path / "s") == 0
    out = capsys.readouterr().out
    assert "1 row(s) of benchmark code(s) ['vwwv2'] unknown to this importer" in out
    new = Store(tmp_path / "s").read().filter(pl.col("model") == "vwwv2").row(0, named=True)
    assert new["task"] is None and new["energy_j"] is None and new["energy_method"] == "none"
    cfg = json.loads(new["config_json"])
    assert cfg["energy_uJ_per_inf"] == 4500.5 and cfg["top1_pct"] == 83.0


@pytest.mark.parametrize(("cells", "says"), [
    ({"benchmark": "Image Classification!"}, "benchmark 'Image Classification!' is not a benchmark code"),
    ({"benchmark": ""}, "benchmark None is not a benchmark code"),
    ({"top1_pct": "150"}, "top1_pct = 150 is above 100"),
    ({"latency_ms": "", "throughput_inf_s": "", "energy_uJ_per_inf": ""}, "no result"),
    ({"Board Name": ""}, "'version' and 'Board Name' must not be empty"),
    ({"latency_ms": "0"}, "'latency_ms' = '0' must be a finite number > 0"),
])
def test_tiny_malformed_rows(cells, says, tmp_path, capsys):
    bad = _tiny(**{"benchmark": "kws", **cells})
    assert _import("mlperf-tiny", _write(tmp_path, render(TINY_HEADER, [_tiny(), bad])), tmp_path / "s") == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "line 3: " in err and says in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(("cells", "rc", "says"), [
    ({"Scenario": "Streaming", "Performance_Units": "Samples/s", "Performance_Result": "50"}, 0,
     "1 row(s) of scenario(s) ['Streaming'] unknown to this importer"),
    ({"Scenario": "Streaming"}, 2, "latency result for scenario 'Streaming'"),
    ({"Scenario": "single stream?"}, 2, "Scenario 'single stream?' is not one of"),
    ({"Performance_Units": "furlongs"}, 2, "Performance_Units 'furlongs' is not one of"),
    ({"Power_Result": "5", "Power_Units": "horsepower"}, 2, "Power_Units 'horsepower' is not Watts or millijoules"),
])
def test_inference_scenarios_and_units(cells, rc, says, tmp_path, capsys):
    path = _write(tmp_path, render(INFERENCE_HEADER, [_inference(), _inference(ID="5.1-9005", **cells)]))
    assert _import("mlperf-inference", path, tmp_path / "s") == rc
    out, err = capsys.readouterr()
    assert says in (out if rc == 0 else err)


def test_ml_energy_v2_needs_exactly_one_energy(tmp_path, capsys):
    from workbench.datasets.ml_energy import V2

    row = {"task_path": "diffusion/text-to-image", "config_file": "bs1", "Model": "acme/diffuse", "GPU": "A100",
           "Energy/req (J)": "100", "Energy/image (J)": "50", "Batch size": "1"}
    assert _import("ml-energy", _write(tmp_path, render(V2, [row])), tmp_path / "s") == 2
    assert "line 2: expected exactly one of Energy/req, Energy/image, Energy/video; got 2" in capsys.readouterr().err


def test_nn_meter_rows_without_any_mean_are_counted(tmp_path, capsys):
    empty = _nn(model_family_file="vgg", model_id="vgg_9", **{c: "" for c in NN_METER_HEADER[2:]})
    path = _write(tmp_path, render(NN_METER_HEADER, [_nn(), empty, {**empty, "model_id": "vgg_10"}]))
    with pytest.warns(DatasetNote, match=r"2 row\(s\) without any device mean skipped .*line\(s\) 3, 4"):
        df = datasets.load("nn-meter", path)
    assert df.height == 4  # alexnet_0 on the four devices
    assert _import("nn-meter", path, tmp_path / "s") == 0
    assert "note: 2 row(s) without any device mean skipped" in capsys.readouterr().out
    only_empty = _write(tmp_path, render(NN_METER_HEADER, [empty]), "empty.csv")
    assert _import("nn-meter", only_empty, tmp_path / "s2") == 2
    err = capsys.readouterr().err
    assert "none of the data rows holds a 'nn-meter' result (1 row(s) without any device mean" in err


def test_codecarbon_repeated_run_is_stored_once(tmp_path, capsys):
    # a repeated row used to be stored twice under one measurement_id
    path = _write(tmp_path, render(CODECARBON_HEADER, [_cc(), _cc()]))
    assert _import("codecarbon", path, tmp_path / "s") == 0
    assert "1 row(s) added" in capsys.readouterr().out
    assert Store(tmp_path / "s").read()["measurement_id"].n_unique() == 1


def test_dry_run_prints_notes_and_writes_nothing(tmp_path, capsys):
    path = _write(tmp_path, render(SPECS["nn-meter"].header, [_nn(), _nn()]))
    assert main(["import", "nn-meter", str(path), "--store", str(tmp_path / "s"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "4 row(s) would be imported" in out and "1 identical repeated row(s)" in out
    assert not (tmp_path / "s").exists()


def test_allow_implausible_reaches_load(tmp_path):
    from workbench.errors import ImportFormatError

    path = _write(tmp_path, render(NN_METER_HEADER, [_nn(cortexA76cpu_tflite21_mean="1e9")]))
    with pytest.raises(ImportFormatError, match="plausibility bound"):
        datasets.load("nn-meter", path)
    assert datasets.load("nn-meter", path, allow_implausible=True)["latency_ms_mean"].max() == 1e9


# ------------------------------------------------------------------------------------- properties

def _variant(spec: Spec, rng: random.Random) -> str:
    """The spec's rows (and the new one) in random order, column order, line ending and padding."""
    rows = [*spec.rows, spec.new]
    rng.shuffle(rows)
    header = list(spec.header)
    rng.shuffle(header)
    pad = rng.choice(["", " ", "  ", "\t"])
    rows = [{k: f"{pad}{v}{pad}" if v else v for k, v in r.items()} for r in rows]
    text = render(header, rows, newline=rng.choice(["\n", "\r\n"]))
    return text + rng.choice(["", "\n", "\n\n", "\r\n \r\n"])


_PER_IMPORT = ["run_id", "timestamp_utc", "input_sha256"]


@pytest.mark.parametrize("kind", KINDS)
def test_any_order_or_whitespace_imports_the_same_rows(kind, tmp_path, global_random_seed):
    spec = SPECS[kind]
    rng = random.Random(global_random_seed)
    ref = datasets.load(kind, _write(tmp_path, render(spec.header, [*spec.rows, spec.new]), "ref.csv"))
    ref = ref.drop(_PER_IMPORT).sort("measurement_id")
    store = tmp_path / "store"
    for i in range(5):
        path = _write(tmp_path, _variant(spec, rng), f"variant-{i}.csv")
        got = datasets.load(kind, path).drop(_PER_IMPORT).sort("measurement_id")
        assert got.equals(ref), i  # same ids, same values
        (res,) = datasets.import_file(kind, path, store)
        assert res.rows_added == (ref.height if i == 0 else 0)
    assert Store(store).read().height == ref.height


def _concurrent_import(args):
    kind, path, store, barrier = args
    import contextlib

    barrier.wait()  # both processes start importing at the same moment
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["import", kind, path, "--store", store])
    return rc, buf.getvalue()


def test_two_concurrent_imports_store_the_rows_once(tmp_path):
    rows = [_nn(model_family_file="mobilenetv2", model_id=f"mobilenetv2_{i}", cortexA76cpu_tflite21_mean=f"{10 + i}")
            for i in range(1500)]
    path = _write(tmp_path, render(NN_METER_HEADER, rows))
    store = tmp_path / "store"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ctx.Pool(2) as pool:
            results = pool.map(_concurrent_import, [("nn-meter", str(path), str(store), barrier)] * 2)
    assert [rc for rc, _ in results] == [0, 0]
    outs = sorted(out for _, out in results)
    assert any("6000 row(s) added" in o for o in outs), outs
    assert any("6000 row(s) already in the store, nothing added" in o for o in outs), outs
    df = Store(store).read()
    assert df.height == 6000 and df["measurement_id"].n_unique() == 6000
    assert len(Store(store).files()) == 1


def test_rows_stored_under_legacy_ids_are_not_imported_again(tmp_path, capsys):
    # rows imported before ids were content ids: "<kind>-<sha12 of the file>-<row index>"
    spec = SPECS["mlperf-tiny"]
    path = _write(tmp_path, base_text(spec))
    df = datasets.load("mlperf-tiny", path)
    legacy = df.with_columns(pl.format("mlperf-tiny-0123456789ab-{}", pl.int_range(pl.len())).alias("measurement_id"))
    store = Store(tmp_path / "store")
    store.append(legacy)
    moved = _write(tmp_path, base_text(spec) + "\n", "moved.csv")  # other bytes: the hash fast path does not apply
    assert _import("mlperf-tiny", moved, store.path) == 0
    assert "2 row(s) already in the store, nothing added" in capsys.readouterr().out
    grown = _write(tmp_path, render(spec.header, [*spec.rows, spec.new]), "grown.csv")
    assert _import("mlperf-tiny", grown, store.path) == 0
    assert "1 row(s) added" in capsys.readouterr().out and store.read().height == 3


@pytest.mark.shared_data
def test_layouts_match_the_public_files(shared_dir):
    for folder, name, header in [
        ("mlperf-tiny", "mlperf_tiny_summary.csv", TINY_HEADER),
        ("mlperf-inference", "mlperf_inference_v4.1_v5.1_summary.csv", INFERENCE_HEADER),
        ("ml-energy-leaderboard", "mlenergy_v1_2023_llm_benchmark.csv", ML_ENERGY_V1_HEADER),
        ("nn-meter-model-latency", "nnmeter_model_latency_wide.csv", NN_METER_HEADER),
    ]:
        with open(shared_dir / folder / name, newline="", encoding="utf-8") as fh:
            assert tuple(next(csv.reader(fh))) == header, name


@pytest.mark.shared_data
def test_real_file_with_other_bytes_adds_nothing(shared_dir, tmp_path, capsys):
    # the campaign's finding: the real file with a trailing newline (and LF line endings) added 240 duplicates
    src = shared_dir / "mlperf-tiny" / "mlperf_tiny_summary.csv"
    assert _import("mlperf-tiny", src, tmp_path / "s") == 0
    other = _write(tmp_path, src.read_bytes().replace(b"\r\n", b"\n") + b"\n")
    before = snapshot(tmp_path / "s")
    capsys.readouterr()
    assert _import("mlperf-tiny", other, tmp_path / "s") == 0
    assert "240 row(s) already in the store, nothing added" in capsys.readouterr().out
    assert snapshot(tmp_path / "s") == before
