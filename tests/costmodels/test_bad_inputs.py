"""Bad input to ``workbench fit``, ``predict`` and ``evaluate`` (issue 14), driven as a user would.

Every case must end in exit status 2 with exactly one ``error:`` line on stderr that names the bad
value, no traceback, and every file under the working folder (the stores and the model files)
byte-identical before and after. The stores are synthetic (:mod:`._stores`), the model files
fitted on them once per module and copied into each test's folder.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from workbench.cli import main

from ._stores import make_store, snapshot

# ------------------------------------------------------------------------------------------ the folder


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """stores/{two,one,single,tiny}: 3 families × 4 networks, 1 family × 4, 1 row, 2 families × 1 row;
    models/good.json (loglinear with 80 % intervals), models/tree.json (gbm, no interval)."""
    from workbench.costmodels.workflow import fit_from_store, save_fitted

    root = tmp_path_factory.mktemp("bad-inputs")
    make_store(root / "stores" / "two", ("mlp", "cnn", "rnn"), 4)
    make_store(root / "stores" / "one", ("mlp",), 4)
    make_store(root / "stores" / "single", ("mlp",), 1)
    make_store(root / "stores" / "tiny", ("mlp", "cnn"), 1)
    (root / "stores" / "empty").mkdir()
    (root / "models").mkdir()
    save_fitted(fit_from_store(root / "stores" / "two", kind="loglinear", interval=0.8), root / "models" / "good.json")
    save_fitted(fit_from_store(root / "stores" / "two", kind="gbm", interval=None), root / "models" / "tree.json")
    (root / "notes.txt").write_text("a file where a directory is expected\n")
    return root


@pytest.fixture
def work(template, tmp_path) -> Path:
    dst = tmp_path / "w"
    shutil.copytree(template, dst)
    return dst


# ------------------------------------------------------------------------------------ file tampering
def _model(work: Path, name: str = "good.json") -> tuple[Path, dict]:
    path = work / "models" / name
    return path, json.loads(path.read_text())


def _write(path: Path, doc) -> None:
    path.write_text(json.dumps(doc, allow_nan=True))


def _inner(doc: dict) -> dict:
    """The LogLinearCostModel entry inside good.json's ConformalCostModel."""
    return doc["model"]["state"]["estimator_"]["__estimator__"]


def edit(fn, name: str = "good.json"):
    """A setup that applies ``fn(doc)`` to a model file's JSON and writes it back."""
    def setup(work: Path) -> None:
        path, doc = _model(work, name)
        fn(doc)
        _write(path, doc)
    return setup


def raw(data: bytes | str, name: str = "good.json"):
    def setup(work: Path) -> None:
        (work / "models" / name).write_bytes(data.encode() if isinstance(data, str) else data)
    return setup


def truncate(work: Path) -> None:
    path = work / "models" / "good.json"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _pairs_get(d: dict, key: str):
    return next(v for k, v in d["__dict__"] if k == key)


def _pairs_set(d: dict, key: str, value) -> None:
    d["__dict__"] = [[k, value if k == key else v] for k, v in d["__dict__"]]


def tree_edit(fn):
    """A setup that applies ``fn(node_table)`` to the first tree of tree.json's ensemble."""
    def change(doc):
        trees = _pairs_get(doc["model"]["state"]["trees_"], "trees")
        fn(trees[0])
    return edit(change, "tree.json")


def _set_node_list(key: str, change):
    def fn(tree):
        _pairs_set(tree, key, change(list(_pairs_get(tree, key))))
    return fn


def _del(path_fn, key):
    def fn(doc):
        del path_fn(doc)[key]
    return fn


def _set(path_fn, key, value):
    def fn(doc):
        path_fn(doc)[key] = value
    return fn


def _state(doc):
    return _inner(doc)["state"]


def _coef(doc):
    return _inner(doc)["state"]["coef_"]


def corrupt_run(store: str):
    """A setup that adds a damaged run file (its name's content hash does not match) to a store."""
    def setup(work: Path) -> None:
        (work / "stores" / store / f"20260102T000000Z-b-abcdef.{'0' * 16}.parquet").write_bytes(b"PAR1 damaged")
    return setup


def corrupt_layers(store: str):
    def setup(work: Path) -> None:
        f = next((work / "stores" / store / "layers").glob("*.parquet"))
        f.write_bytes(f.read_bytes()[:100])
    return setup


def read_only_dir(work: Path) -> None:
    d = work / "locked"
    d.mkdir()
    d.chmod(0o555)


# ------------------------------------------------------------------------------------------ the cases
@dataclass
class Case:
    id: str
    argv: list[str]
    expect: list[str]
    setup: object = None
    argparse: bool = False
    """argparse refuses the value itself (a choice or a type): ``usage:`` lines then one error line."""
    marks: list = field(default_factory=list)


STORE = "{w}/stores/two"
OUT = "{w}/models/new.json"
FIT = ["fit", "--target", "latency_ms", "--store", STORE, "--out", OUT, "--kind", "loglinear"]
EVAL = ["evaluate", "--store", STORE, "--kind", "flops"]
PRED = ["predict", "--cost-model", "{w}/models/good.json", "--model", "mlp"]
TREE = ["predict", "--cost-model", "{w}/models/tree.json", "--model", "mlp"]
ROOT = pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")


def _fit(*extra, store=STORE, out=OUT):
    argv = ["fit", "--target", "latency_ms", "--store", store, "--out", out, "--kind", "loglinear"]
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    return argv


def _replace(argv, flag, value):
    out = list(argv)
    if flag in out:
        out[out.index(flag) + 1] = value
    else:
        out += [flag, value]
    return out


CASES = [
    # ---- fit: arguments
    Case("fit-interval-above-1", _fit("--interval", "1.5"), ["--interval must be in (0, 1), got 1.5"]),
    Case("fit-interval-1", _fit("--interval", "1"), ["--interval must be in (0, 1), got 1.0"]),
    Case("fit-interval-negative", _fit("--interval", "-0.1"), ["got -0.1"]),
    Case("fit-interval-text", _fit("--interval", "ninety"), ["--interval", "'ninety'"]),
    Case("fit-interval-nan", _fit("--interval", "nan"), ["--interval must be a finite number, got nan"]),
    Case("fit-interval-inf", _fit("--interval", "inf"), ["--interval must be a finite number, got inf"]),
    Case("fit-kind-unknown", _fit("--kind", "lstm"), ["unknown cost-model kind 'lstm'"]),
    Case("fit-kind-roofline", _fit("--kind", "roofline"), ["kind 'roofline' needs", "peak_flops_per_s"]),
    Case("fit-layerwise-energy", _fit("--kind", "layerwise", "--target", "energy_j"),
         ["kind 'layerwise' predicts latency only", "energy_j"]),
    Case("fit-target-unknown", _fit("--target", "power_w"), ["invalid choice: 'power_w'"], argparse=True),
    Case("fit-store-missing", _fit(store="{w}/stores/nowhere"), ["--store", "nowhere", "does not exist"]),
    Case("fit-store-is-file", _fit(store="{w}/notes.txt"), ["notes.txt", "is a file"]),
    Case("fit-store-empty", _fit(store="{w}/stores/empty"), ["no rows with 'latency_ms_p50'"]),
    Case("fit-device-class-unknown", _fit("--device-class", "toaster"), ["unknown device class 'toaster'"]),
    Case("fit-device-name-absent", _fit("--device-name", "cray-1"), ["device_name='cray-1'"]),
    Case("fit-zoo-twins-unknown", _fit("--zoo-twins", "imagenet-zz"), ["'imagenet-zz'"]),
    # ---- fit: the output file
    Case("fit-out-missing-dir", _fit(out="{w}/nowhere/m.json"), ["nowhere", "does not exist"]),
    Case("fit-out-is-dir", _fit(out="{w}/models"), ["--out", "models", "is a directory"]),
    Case("fit-out-exists", _fit(out="{w}/models/good.json"), ["good.json", "already exists", "--overwrite"]),
    Case("fit-out-in-store", _fit(out=STORE + "/model.json"), ["model.json", "inside the store"]),
    Case("fit-out-read-only", _fit(out="{w}/locked/m.json"), ["locked", "not writable"], setup=read_only_dir,
         marks=[ROOT]),
    # ---- fit: the store's content
    Case("fit-corrupt-run", FIT, ["corrupt file", "20260102T000000Z-b-abcdef", "--skip-corrupt"],
         setup=corrupt_run("two")),
    Case("fit-corrupt-layers", FIT, ["corrupt file", "layers", "--skip-corrupt"], setup=corrupt_layers("two")),
    Case("fit-one-row-interval", _fit("--interval", "0.9", store="{w}/stores/single"),
         ["at least 2 calibration rows", "got 1", "--interval 0"]),
    # ---- evaluate
    Case("evaluate-jobs-0", EVAL + ["--jobs", "0"], ["n_jobs must be a non-zero integer", "got 0"]),
    Case("evaluate-jobs-text", EVAL + ["--jobs", "all"], ["invalid int value: 'all'"], argparse=True),
    Case("evaluate-interval-2", EVAL + ["--interval", "2"], ["--interval must be in (0, 1), got 2.0"]),
    Case("evaluate-interval-text", EVAL + ["--interval", "0,9"], ["'0,9'"]),
    Case("evaluate-kind-unknown", EVAL + ["--kind", "transformer"], ["unknown cost-model kind 'transformer'"]),
    Case("evaluate-kind-roofline", ["evaluate", "--store", STORE, "--kind", "roofline"], ["kind 'roofline' needs"]),
    Case("evaluate-layerwise-memory", ["evaluate", "--store", STORE, "--kind", "layerwise", "--target",
                                       "memory_peak_bytes"], ["latency only", "memory_peak_bytes"]),
    Case("evaluate-target-unknown", EVAL + ["--target", "carbon"], ["invalid choice: 'carbon'"], argparse=True),
    Case("evaluate-store-missing", _replace(EVAL, "--store", "{w}/runs"), ["--store", "runs", "does not exist"]),
    Case("evaluate-one-family", _replace(EVAL, "--store", "{w}/stores/one"),
         ["at least 2 model families", "'mlp' (4 rows)"]),
    Case("evaluate-too-few-to-calibrate", _replace(EVAL, "--store", "{w}/stores/tiny"),
         ["needs at least 2", "leaves 1", "--interval 0"]),
    Case("evaluate-corrupt-run", EVAL, ["corrupt file", "--skip-corrupt"], setup=corrupt_run("two")),
    Case("evaluate-device-class-unknown", EVAL + ["--device-class", "fridge"], ["unknown device class 'fridge'"]),
    Case("evaluate-format-unknown", EVAL + ["--format", "xml"], ["invalid choice: 'xml'"], argparse=True),
    # ---- predict: arguments
    Case("predict-model-unknown", _replace(PRED, "--model", "resnet9000"), ["unknown model 'resnet9000'"]),
    Case("predict-batch-0", PRED + ["--batch-size", "0"], ["--batch-size must be a positive integer, got 0"]),
    Case("predict-batch-negative", PRED + ["--batch-size", "-4"], ["--batch-size must be a positive integer, got -4"]),
    Case("predict-batch-text", PRED + ["--batch-size", "big"], ["invalid int value: 'big'"], argparse=True),
    Case("predict-dtype-unknown", PRED + ["--dtype", "fp13"], ["unknown dtype 'fp13'"]),
    Case("predict-target-mismatch", PRED + ["--target", "energy_j"], ["predicts 'latency_ms'", "not 'energy_j'"]),
    Case("predict-target-unknown", PRED + ["--target", "latency"], ["unknown cost-model target 'latency'"]),
    Case("predict-format-unknown", PRED + ["--format", "yaml"], ["invalid choice: 'yaml'"], argparse=True),
    # ---- predict: the model file
    Case("model-missing", _replace(PRED, "--cost-model", "{w}/models/none.json"), ["none.json", "no such file"]),
    Case("model-is-dir", _replace(PRED, "--cost-model", "{w}/models"), ["models", "directory"]),
    Case("model-empty", PRED, ["good.json", "empty"], setup=raw(b"")),
    Case("model-truncated", PRED, ["good.json", "not a JSON cost-model file"], setup=truncate),
    Case("model-pickle", PRED, ["good.json", "not UTF-8", "never unpickled"], setup=raw(b"\x80\x04\x95\x00cos\nsystem")),
    Case("model-json-list", PRED, ["good.json", "holds a list, not an object"], setup=raw("[1, 2, 3]")),
    Case("model-format-other", PRED, ["good.json", "format field is 'sklearn-pickle'"],
         setup=edit(_set(lambda d: d, "format", "sklearn-pickle"))),
    Case("model-format-version-2", PRED, ["good.json", "format version 2"],
         setup=edit(_set(lambda d: d, "format_version", 2))),
    Case("model-format-version-text", PRED, ["good.json", "format_version is '1'"],
         setup=edit(_set(lambda d: d, "format_version", "1"))),
    Case("model-no-model-entry", PRED, ["good.json", "no model entry"], setup=edit(_del(lambda d: d, "model"))),
    Case("model-entry-not-object", PRED, ["good.json", "model entry is a list"],
         setup=edit(_set(lambda d: d, "model", [1]))),
    Case("model-class-unknown", PRED, ["good.json", "unknown cost-model class 'os.system'"],
         setup=edit(_set(lambda d: d["model"], "class", "os.system"))),
    Case("model-inner-class-unknown", PRED, ["good.json", "unknown cost-model class 'Pipeline'"],
         setup=edit(_set(_inner, "class", "Pipeline"))),
    Case("model-param-unknown", PRED, ["good.json", "no parameter(s) ['exec']"],
         setup=edit(_set(lambda d: d["model"]["params"], "exec", "print(1)"))),
    Case("model-state-key-private", PRED, ["good.json", "'__class__' is not a learned attribute"],
         setup=edit(_set(lambda d: d["model"]["state"], "__class__", 1))),
    Case("model-coef-missing", PRED, ["good.json", "lacks the learned attribute(s) ['coef_']"],
         setup=edit(_del(_state, "coef_"))),
    Case("model-coef-nan", PRED, ["good.json", "coef_ holds NaN or infinite"],
         setup=edit(_set(_coef, "__ndarray__", [float("nan")] * 4))),
    Case("model-coef-inf", PRED, ["good.json", "coef_ holds NaN or infinite"],
         setup=edit(_set(_coef, "__ndarray__", [float("inf"), 1.0, 1.0, 1.0]))),
    Case("model-coef-text", PRED, ["good.json", "coef_ is str", "not an array of numbers"],
         setup=edit(_set(_state, "coef_", "0.5"))),
    Case("model-coef-short", PRED, ["good.json", "coef_ has shape (3,), expected (4,)"],
         setup=edit(_set(_coef, "__ndarray__", [0.1, 0.2, 0.3]))),
    Case("model-coef-2d", PRED, ["good.json", "coef_ has shape (2, 2)"],
         setup=edit(_set(_coef, "__ndarray__", [[0.1, 0.2], [0.3, 0.4]]))),
    Case("model-coef-object-dtype", PRED, ["good.json", "dtype 'object'"], setup=edit(_set(_coef, "dtype", "object"))),
    Case("model-coef-ragged", PRED, ["good.json", "malformed model entry"],
         setup=edit(_set(_coef, "__ndarray__", [[0.1], [0.2, 0.3]]))),
    Case("model-intercept-absurd", PRED, ["good.json", "predicted as [inf]"],
         setup=edit(_set(_state, "intercept_", 1e308))),
    Case("model-intercept-text", PRED, ["good.json", "intercept_ is str"], setup=edit(_set(_state, "intercept_", "1"))),
    Case("model-q-nan", PRED, ["good.json", "q_ is nan"], setup=edit(_set(lambda d: d["model"]["state"], "q_", float("nan")))),
    Case("model-q-negative", PRED, ["good.json", "q_ is -1.0"], setup=edit(_set(lambda d: d["model"]["state"], "q_", -1.0))),
    Case("model-n-features", PRED, ["good.json", "n_features_in_ is 7"], setup=edit(_set(_state, "n_features_in_", 7))),
    Case("model-feature-names", PRED, ["good.json", "feature_names_in_", "not a list of names"],
         setup=edit(_set(_state, "feature_names_in_", "flops"))),
    Case("model-metadata-list", PRED, ["good.json", "metadata is a list"], setup=edit(_set(lambda d: d, "metadata", []))),
    Case("model-metadata-target", PRED, ["good.json", "target 'power_w'"],
         setup=edit(_set(lambda d: d["metadata"], "target", "power_w"))),
    Case("model-versions-not-object", PRED, ["good.json", "library_versions"],
         setup=edit(_set(lambda d: d["metadata"], "library_versions", "latest"))),
    Case("model-versions-other", PRED, ["good.json", "scikit-learn 0.24.2 (file)", "--ignore-versions"],
         setup=edit(lambda d: d["metadata"]["library_versions"].update({"scikit-learn": "0.24.2"}))),
    Case("tree-cycle", TREE, ["tree.json", "tree 0", "does not point forward"],
         setup=tree_edit(_set_node_list("left", lambda v: [0] + v[1:]))),
    Case("tree-feature-out-of-range", TREE, ["tree.json", "feature index outside"],
         setup=tree_edit(_set_node_list("feature", lambda v: [999] + v[1:]))),
    Case("tree-ragged", TREE, ["tree.json", "different lengths"], setup=tree_edit(_set_node_list("value", lambda v: v[:-1]))),
    Case("tree-value-nan", TREE, ["tree.json", "NaN or infinite threshold or value"],
         setup=tree_edit(_set_node_list("value", lambda v: [float("nan")] + v[1:]))),
    Case("tree-index-float", TREE, ["tree.json", "not an integer"],
         setup=tree_edit(_set_node_list("right", lambda v: [v[0] + 0.5] + v[1:]))),
]


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse refuses a choice or a type itself
        return exc.code


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_input_is_one_error_and_changes_nothing(case, work, capsys):
    if case.setup is not None:
        case.setup(work)
    before = snapshot(work)
    argv = [a.replace("{w}", str(work)) for a in case.argv]
    capsys.readouterr()
    assert _run(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err
    if case.argparse:
        assert lines[0].startswith(f"workbench {argv[0]}: error: argument"), err
    else:
        assert err.splitlines()[-1] == lines[0] and lines[0].startswith("error: "), err
        assert any(fix in lines[0] for fix in ("Fix: ", "Valid ", "--skip-corrupt")), lines[0]  # and what to do
    for text in case.expect:
        assert text.replace("{w}", str(work)) in lines[0], lines[0]
    assert snapshot(work) == before  # stores, model files and folders exactly as they were


def test_the_corpus_is_large_and_covers_every_command():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)
    assert {c.argv[0] for c in CASES} == {"fit", "evaluate", "predict"}


def test_a_failed_write_leaves_no_file_and_the_old_one_intact(work, capsys, monkeypatch):
    """A full disk while writing the model: one error, nothing half-written, an existing file unchanged."""
    import workbench.files

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(workbench.files.os, "fsync", full)
    before = snapshot(work)
    for out, extra in (("{w}/models/new.json", []), ("{w}/models/good.json", ["--overwrite"])):
        argv = [a.replace("{w}", str(work)) for a in _fit(out=out)] + extra
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: cannot write") and "No space left" in err[0]
        assert snapshot(work) == before


def test_skip_corrupt_reads_the_other_files(work, capsys):
    corrupt_run("two")(work)
    before = snapshot(work / "stores")
    out = work / "models" / "skip.json"
    assert main([a.replace("{w}", str(work)) for a in FIT] + ["--skip-corrupt", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: skipping corrupt file" in err and "20260102T000000Z-b-abcdef" in err
    assert json.loads(out.read_text())["metadata"]["n_train"] == 12
    assert main(["evaluate", "--store", str(work / "stores" / "two"), "--kind", "flops", "--skip-corrupt",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n"] == 12
    assert snapshot(work / "stores") == before


def test_overwrite_replaces_the_model_file_only_when_asked(work, capsys):
    out = work / "models" / "good.json"
    old = out.read_bytes()
    argv = [a.replace("{w}", str(work)) for a in _fit("--kind", "flops", out=str(out))]
    assert main(argv) == 2 and out.read_bytes() == old
    assert main(argv + ["--overwrite"]) == 0
    assert json.loads(out.read_text())["metadata"]["kind"] == "flops"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_one_family_falls_back_to_calibration_over_rows_with_a_note(work, capsys):
    out = work / "models" / "one.json"
    assert main(["fit", "--target", "latency_ms", "--store", str(work / "stores" / "one"), "--out", str(out),
                 "--kind", "loglinear", "--interval", "0.5"]) == 0
    err = capsys.readouterr().err
    assert "note: the rows hold one model family ('mlp')" in err and "error" not in err
    md = json.loads(out.read_text())["metadata"]
    assert md["calibration"] == "rows" and "K folds over rows" in md["notes"][0]
    # the same on several families is calibrated family-out, with no note
    out2 = work / "models" / "two.json"
    assert main(["fit", "--target", "latency_ms", "--store", str(work / "stores" / "two"), "--out", str(out2),
                 "--kind", "loglinear", "--interval", "0.5"]) == 0
    md = json.loads(out2.read_text())["metadata"]
    assert md["calibration"] == "family-out" and md["notes"] == []


def test_too_few_rows_for_the_coverage_is_a_note_not_an_error(work, capsys):
    out = work / "models" / "few.json"
    assert main(["fit", "--target", "latency_ms", "--store", str(work / "stores" / "tiny"), "--out", str(out),
                 "--kind", "loglinear", "--interval", "0.9"]) == 0
    assert "2 calibration row(s) are too few for 90 % intervals (they need 9)" in capsys.readouterr().err
    assert main(["predict", "--cost-model", str(out), "--model", "mlp", "--format", "json"]) == 0
    rec = json.loads(capsys.readouterr().out)[0]
    assert rec["lower_latency_ms"] == 0 and rec["upper_latency_ms"] is None  # (0, inf): JSON has no inf
