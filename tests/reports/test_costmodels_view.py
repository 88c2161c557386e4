"""Notebook 03's package module (workbench.reports.costmodels_view) and its charts.

The own-CPU tests profile six tiny zoo variants (three families, 2 timed calls each, ~3 s) into a
temporary store once per module; their checks recompute the figures independently (FLOPs-proportional
fits by hand, metrics from the prediction rows), so they hold whatever the timings were.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from tests.conftest import REPO
from workbench.errors import ParameterError, UnknownNameError
from workbench.reports import charts
from workbench.reports import costmodels_view as cv

FAMILIES = ["mlp", "lenet", "autoencoder"]


# ------------------------------------------------------------------------------------------ without datasets
def test_dataset_sections_without_data_say_how_to_enable_them(tmp_path):
    for section in (cv.board_energy_section(None), cv.fewshot_section(None), cv.benchmark_out_section(None),
                    cv.board_energy_section(tmp_path), cv.fewshot_section(tmp_path),
                    cv.benchmark_out_section(tmp_path)):
        assert not section.available and section.files == () and section.metrics is None
        assert "datasets_dir" in section.note and cv.SHARED_DATA_ENV in section.note
    assert cv.MLPERF_TINY_DIR in cv.board_energy_section(tmp_path).note
    assert str(tmp_path) in cv.fewshot_section(tmp_path).note


# ------------------------------------------------------------------------------------------ training set
def test_training_variants_are_a_seeded_draw_per_family():
    from workbench.measure import zoo

    names = cv.training_variants(4, seed=0)
    fams = [zoo.resolve(n).family for n in names]
    assert len(names) == 4 * len(zoo.FAMILIES) and set(fams) == set(zoo.FAMILIES)
    assert all(fams.count(f) == 4 for f in zoo.FAMILIES)
    assert set(names) <= set(zoo.grid_names())
    assert cv.training_variants(4, seed=0) == names and cv.training_variants(4, seed=1) != names
    assert cv.training_variants(500, families=["mlp"]) == zoo.grid_names(["mlp"])  # capped at the grid
    for bad in (0, 2.5, True):
        with pytest.raises(ParameterError, match="variants_per_family"):
            cv.training_variants(bad)
    with pytest.raises(UnknownNameError, match="lenet"):
        cv.training_variants(2, families=["lenett"])


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    store = tmp_path_factory.mktemp("cm") / "runs"
    train = cv.training_variants(2, families=FAMILIES, seed=0)
    runs = cv.own_runs(store, train, threads=1, repeats=2, warmup=0)
    return store, train, runs


def test_own_runs_profile_once_with_layers_and_one_thread_count(own):
    store, train, runs = own
    assert runs.threads == 1 and sorted(runs.profiled) == sorted(train)
    assert sorted(runs.rows["model"].to_list()) == sorted(train)
    assert set(runs.rows["threads"].to_list()) == {1} and set(runs.rows["dtype"].to_list()) == {"fp32"}
    assert set(runs.layers["measurement_id"].to_list()) == set(runs.rows["measurement_id"].to_list())
    again = cv.own_runs(store, train, threads=1, repeats=2, warmup=0)  # measure="missing": nothing new
    assert again.profiled == () and again.rows.equals(runs.rows)
    # runs with another thread count do not count: with measure="never" that is an error naming the fix
    with pytest.raises(ParameterError, match="2 thread.*measure='missing'"):
        cv.own_runs(store, train[:1], threads=2, measure="never")
    with pytest.raises(UnknownNameError):
        cv.own_runs(store, train, measure="sometimes")
    with pytest.raises(ParameterError, match="threads"):
        cv.own_runs(store, train, threads=0)


def test_operator_blocks_are_profiled_once_trained_on_and_never_scored(own):
    from workbench.schema import OPERATOR_FAMILY

    store, train, _ = own
    runs = cv.own_runs(store, train, threads=1, repeats=2, warmup=0, operator_blocks=4)
    ops = [m for m in runs.rows["model"].to_list() if m.startswith("kernel-")]
    assert sorted(ops) == ["kernel-attention-0003", "kernel-conv-0000", "kernel-gru-0002", "kernel-linear-0001"]
    assert sorted(runs.profiled) == sorted(ops)  # the zoo variants came from the store
    assert set(runs.rows.filter(pl.col("model").is_in(ops))["model_family"]) == {OPERATOR_FAMILY}
    assert runs.layers["input_bytes"].null_count() == 0
    again = cv.own_runs(store, train, threads=1, repeats=2, warmup=0, operator_blocks=4)
    assert again.profiled == ()
    ev = cv.evaluate_own_cpu(runs, kinds=["flops", "layerwise"], alpha=0.1)
    assert OPERATOR_FAMILY not in set(ev.predictions["model_family"])
    assert ev.predictions.height == 2 * len(train)
    note = cv.own_cpu_note(ev)
    assert f"{len(train)} zoo grid variants of 3 families plus 4 operator-benchmark blocks" in note
    with pytest.raises(ParameterError, match="operator_blocks must be an integer >= 0, got -1"):
        cv.own_runs(store, train, operator_blocks=-1)


@pytest.fixture(scope="module")
def evaluation(own):
    return cv.evaluate_own_cpu(own[2], kinds=["flops", "additive"], alpha=0.1)


def test_family_out_flops_predictions_match_a_fit_by_hand(evaluation):
    ev = evaluation
    p = ev.predictions.filter(pl.col("kind") == "flops").sort("model")
    flops = dict(zip(ev.meta["model"], ev.X["flops"]))
    fam = dict(zip(ev.meta["model"], ev.meta["model_family"]))
    lat = dict(zip(ev.meta["model"], ev.y))
    for r in p.iter_rows(named=True):
        others = [m for m in lat if fam[m] != fam[r["model"]]]
        coef = math.exp(np.mean([math.log(lat[m] / flops[m]) for m in others]))  # geometric mean of y / FLOPs
        # the same closed form as FlopsProportionalCostModel, so equal to rounding
        assert r["predicted_latency_ms"] == pytest.approx(coef * flops[r["model"]], rel=1e-9)
        assert r["latency_ms"] == pytest.approx(lat[r["model"]], rel=0)


def test_metrics_agree_with_the_prediction_rows(evaluation):
    ev = evaluation
    assert ev.metrics["kind"].unique().sort().to_list() == ["additive", "flops"]
    for kind in ("flops", "additive"):
        p = ev.predictions.filter(pl.col("kind") == kind)
        assert p.height == 6
        assert ((p["lower_latency_ms"] <= p["predicted_latency_ms"])
                & (p["predicted_latency_ms"] <= p["upper_latency_ms"])).all()
        r = ev.metrics.filter((pl.col("kind") == kind) & (pl.col("model_family") == "all")).row(0, named=True)
        ratio = p["predicted_over_measured"].to_numpy()
        # definitions of docs/costmodels.md, recomputed from the rows (float sums: rel 1e-12)
        assert r["n"] == 6
        assert r["mape"] == pytest.approx(np.mean(np.abs(ratio - 1)), rel=1e-12)
        assert r["within10"] == pytest.approx(np.mean(np.abs(ratio - 1) <= 0.1 + 1e-12), abs=0)
        assert r["coverage"] == pytest.approx(p["inside_interval"].mean(), abs=0)
        fams = ev.metrics.filter((pl.col("kind") == kind) & (pl.col("model_family") != "all"))
        assert sorted(fams["model_family"].to_list()) == sorted(FAMILIES) and fams["n"].to_list() == [2, 2, 2]


def test_own_cpu_note_states_method_and_noise(evaluation):
    note = cv.own_cpu_note(evaluation)
    assert "leave-one-family-out" in note and "90 %" in note and "1 intra-op thread" in note
    assert "noisy" not in note or "shared" in note
    assert "shared with other processes" in note and "2 timed calls" in note


def test_evaluate_refuses_bad_kinds_and_alpha(own):
    runs = own[2]
    with pytest.raises(ParameterError, match="roofline"):
        cv.evaluate_own_cpu(runs, kinds=["roofline"])
    with pytest.raises(UnknownNameError, match="layerwise"):
        cv.evaluate_own_cpu(runs, kinds=["layerwize"])
    with pytest.raises(ParameterError, match="alpha"):
        cv.evaluate_own_cpu(runs, alpha=1.5)


def test_predict_models_from_counted_features(own):
    from workbench.costmodels.features import zoo_features

    store, train, runs = own
    # alpha = 0.5: with 6 training rows the 90 % conformal quantile would be infinite (⌈7·0.9⌉ > 6)
    ev = cv.evaluate_own_cpu(runs, kinds=["flops"], alpha=0.5)
    table = cv.predict_models(ev, [train[0], "resnet8"], store, kind="flops")
    assert table["model"].to_list() == sorted([train[0], "resnet8"])
    Xz, _ = zoo_features([train[0], "resnet8"])
    coef = math.exp(np.mean(np.log(ev.y / ev.X["flops"].to_numpy())))  # fitted on every training row
    # the interval's half-width in log space is the ⌈(n+1)(1−α)⌉-th smallest family-out |log ratio|;
    # with 3 families the 3 calibration folds are exactly the leave-one-family-out predictions
    ratios = np.sort(np.abs(np.log(ev.predictions["predicted_over_measured"].to_numpy())))
    q = ratios[math.ceil(7 * 0.5) - 1]
    for r in table.iter_rows(named=True):
        assert r["predicted_latency_ms"] == pytest.approx(coef * Xz.loc[r["model"], "flops"], rel=1e-9)
        assert r["upper_latency_ms"] / r["predicted_latency_ms"] == pytest.approx(math.exp(q), rel=1e-9)
        assert r["predicted_latency_ms"] / r["lower_latency_ms"] == pytest.approx(math.exp(q), rel=1e-9)
    trained = table.filter(pl.col("model") == train[0]).row(0, named=True)
    stored = runs.rows.filter(pl.col("model") == train[0])["latency_ms_p50"].min()
    assert trained["in_training"] and trained["runs"] == 1 and trained["measured_latency_ms"] == stored
    assert trained["inside_interval"] == (trained["lower_latency_ms"] <= stored <= trained["upper_latency_ms"])
    other = table.filter(pl.col("model") == "resnet8").row(0, named=True)
    assert not other["in_training"] and other["runs"] == 0 and other["measured_latency_ms"] is None
    assert other["inside_interval"] is None
    # resnet8's batch norm and residual additions exist in none of the three training families
    assert {"Add", "BatchNorm2d"} <= set(other["unseen_layer_types"].split(", "))
    assert trained["unseen_layer_types"] == ""
    note = cv.prediction_note(table, ev, "flops")
    assert "1 of 2 have a stored run" in note and "BatchNorm2d" in note
    with pytest.raises(UnknownNameError):
        cv.predict_models(ev, ["resnet-8"], store, kind="flops")


def test_a_kind_that_cannot_price_unseen_layer_types_leaves_them_null(own):
    store, train, runs = own
    ev = cv.evaluate_own_cpu(runs, kinds=["flops"], alpha=0.5)
    table = cv.predict_models(ev, [train[0], "resnet8"], store, kind="loglinear-layers")
    by = {r["model"]: r for r in table.iter_rows(named=True)}
    assert by["resnet8"]["predicted_latency_ms"] is None and by["resnet8"]["upper_latency_ms"] is None
    assert by[train[0]]["predicted_latency_ms"] > 0


# ------------------------------------------------------------------------------------------ public datasets
def test_board_energy_section_on_mlperf_tiny(shared_data):
    s = cv.board_energy_section(shared_data, alpha=0.1)
    assert s.available and [p.name for p in s.files] == ["mlperf_tiny_summary.csv"]
    overall = s.metrics.filter((pl.col("device_class") == "all") & (pl.col("device_name") == "all"))
    mape = dict(zip(overall["kind"].to_list(), overall["mape"].to_list()))
    # docs/costmodels.md: MAPE 3.31 (board features) and 1.36 (latency only), deterministic
    assert mape["board-features"] == pytest.approx(3.31, abs=0.005)
    assert mape["latency-only"] == pytest.approx(1.36, abs=0.005)
    assert set(s.predictions["device_class"].to_list()) == {"mcu", "edge-accelerator"}
    assert s.predictions.height == 2 * 112
    assert "3.31" in s.note and "1.36" in s.note


def test_benchmark_out_section_on_mlperf_tiny(shared_data):
    s = cv.benchmark_out_section(shared_data)
    assert s.available and [p.name for p in s.files] == ["mlperf_tiny_summary.csv"]
    overall = {(r["target"], r["kind"]): r
               for r in s.metrics.filter(pl.col("device_name") == "all").iter_rows(named=True)}
    # docs/costmodels.md ("Fitting on public results: zoo twins"): median error of the flops law 19 %
    # (latency, 15 boards) and 24 % (energy, 7 boards); deterministic, so to the printed precision
    assert overall[("latency_ms", "flops")]["median_ape"] == pytest.approx(0.19, abs=0.005)
    assert overall[("energy_j", "flops")]["median_ape"] == pytest.approx(0.24, abs=0.005)
    lat = s.predictions.filter((pl.col("target") == "latency_ms") & (pl.col("kind") == "flops"))
    assert lat["device_name"].n_unique() == 15 and lat.height == overall[("latency_ms", "flops")]["n"]
    ratio = lat["predicted_over_measured"].to_numpy()
    assert overall[("latency_ms", "flops")]["mape"] == pytest.approx(np.mean(np.abs(ratio - 1)), rel=1e-12)
    assert "19%" in s.note and "nine" in s.note


@pytest.fixture(scope="module")
def fewshot():
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"public datasets not found at {SHARED_DATA} (set WORKBENCH_SHARED_DATA)")
    return cv.fewshot_section(SHARED_DATA, ks=[10, 100], seeds=2, seed=0)


def test_fewshot_section_on_nn_meter(fewshot):
    t = fewshot.metrics
    assert fewshot.available and [p.name for p in fewshot.files] == ["nnmeter_model_latency_wide.csv"]
    assert t["target_device"].unique().sort().to_list() == ["intel-ncs2", "pixel-3-xl", "pixel-4", "xiaomi-mi-9"]
    assert t.height == 8 and (t["within10_min"] <= t["within10"]).all() and (t["within10"] <= t["within10_max"]).all()
    at100 = {r["target_device"]: r for r in t.filter(pl.col("k") == 100).iter_rows(named=True)}
    # docs/costmodels.md, k = 100 with all other devices known (mean of 10 draws there, 2 here):
    # Adreno 640 0.995 and the VPU 0.620; two draws move the mean by a few points at most
    assert at100["xiaomi-mi-9"]["within10"] > 0.98
    assert 0.55 < at100["intel-ncs2"]["within10"] < 0.70
    assert at100["intel-ncs2"]["device_class"] == "edge-accelerator" and at100["pixel-4"]["device_class"] == "phone"
    # more calibration models help every device
    at10 = {r["target_device"]: r["within10"] for r in t.filter(pl.col("k") == 10).iter_rows(named=True)}
    assert all(at100[d]["within10"] > at10[d] for d in at10)


def test_fewshot_rows_equal_evaluate_fewshot(fewshot, shared_data):
    from workbench import datasets
    from workbench.costmodels.fewshot import evaluate_fewshot, wide_latencies

    wide = wide_latencies(datasets.load("nn-meter", shared_data / cv.NN_METER_DIR), value="latency_ms_mean")
    r = evaluate_fewshot(wide, "pixel-4", ["intel-ncs2", "pixel-3-xl", "xiaomi-mi-9"], k=10, seeds=range(2))
    row = fewshot.metrics.filter((pl.col("target_device") == "pixel-4") & (pl.col("k") == 10)).row(0, named=True)
    assert row["within10"] == r["within10"] and row["mape"] == r["mape"] and row["n_eval"] == r["n_eval"]


def test_fewshot_parameters_are_checked(tmp_path):
    with pytest.raises(ParameterError, match="fewshot_k"):
        cv.fewshot_section(tmp_path, ks=[1])
    with pytest.raises(ParameterError, match="fewshot_seeds"):
        cv.fewshot_section(tmp_path, seeds=0)


def test_device_class_summary(evaluation, fewshot, shared_data):
    boards = cv.board_energy_section(shared_data)
    s = cv.device_class_summary(evaluation, boards, fewshot, cv.benchmark_out_section(shared_data))
    assert s.filter(pl.col("evaluation") == "leave-one-benchmark-out").height == 4  # 2 targets × 2 kinds, mcu
    assert s.filter(pl.col("evaluation") == "leave-one-family-out").height == 2  # one row per kind
    assert s.filter(pl.col("evaluation") == "leave-one-board-out").height == 4  # 2 kinds × mcu, edge-accelerator
    assert s.filter(pl.col("evaluation") == "few-shot k=100").height == 4
    assert s.filter(pl.col("model") == "fewshot")["coverage"].null_count() == 4
    only_own = cv.device_class_summary(evaluation, cv.board_energy_section(None), cv.fewshot_section(None))
    assert only_own.height == 2
    with_gpu = cv.device_class_summary(evaluation, cv.board_energy_section(None), cv.fewshot_section(None),
                                       cloud_gpu=cv.cloud_gpu_section(GPU_STORE, GPU_VARIANTS, kinds=["flops"]))
    gpu_rows = with_gpu.filter(pl.col("device_class") == "cloud-gpu")
    assert gpu_rows.height == 1 and gpu_rows["devices"].to_list() == ["NVIDIA H200"] and gpu_rows["n"][0] == 6


# ------------------------------------------------------------------------------------------ cloud GPU
GPU_STORE = REPO / "data" / "measurements" / "cloud-gpu-h200"
GPU_VARIANTS = [f"{f}-w{w}-d1-r{r}" for f, r in (("mlp", 8), ("lenet", 16), ("vgg", 16)) for w in (0.25, 0.5)]


def test_cloud_gpu_section_scores_the_committed_measurements_like_this_cpu():
    from workbench.costmodels.features import training_data
    from workbench.store import Store

    sec = cv.cloud_gpu_section(GPU_STORE, GPU_VARIANTS, kinds=["flops"])
    assert sec.available and len(sec.files) == 2 and sec.extra["device_class"] == "cloud-gpu"
    assert sec.predictions.columns[:7] == ["kind", "model", "model_family", "latency_ms", "predicted_latency_ms",
                                           "lower_latency_ms", "upper_latency_ms"]
    # the measured latency of each variant is the faster of its two passes, read back from the store
    rows = Store(GPU_STORE).read().filter(pl.col("model").is_in(GPU_VARIANTS))
    fastest = dict(rows.group_by("model").agg(pl.col("latency_ms_p50").min()).iter_rows())
    assert dict(zip(sec.predictions["model"], sec.predictions["latency_ms"])) == fastest
    # FLOPs-proportional: within a held-out family, predicted latency / FLOPs is the one slope fitted on the others
    X, y, meta = training_data(rows, None, target="latency_ms")
    ratio = sec.predictions["predicted_latency_ms"].to_numpy() / X.set_index(meta["model"]).loc[
        sec.predictions["model"].to_list(), "flops"].to_numpy()
    fam = sec.predictions["model_family"].to_numpy()
    for f in set(fam):  # one fitted slope per held-out family
        assert np.ptp(ratio[fam == f]) <= 1e-9 * ratio[fam == f].max()
    # repeatability: the share of variants whose two passes agree within ±10 %, from the rows themselves
    two = rows.group_by("model").agg(pl.col("latency_ms_p50").max() / pl.col("latency_ms_p50").min())
    assert sec.extra["repeat_n"] == 6
    assert sec.extra["repeat_within10"] == pytest.approx(float((two["latency_ms_p50"] < 1.1).mean()))
    assert "NVIDIA H200" in sec.note and "nvml" in sec.note and "agree within ±10 %" in sec.note


def test_cloud_gpu_section_without_a_store_says_how_to_enable_it(tmp_path):
    sec = cv.cloud_gpu_section(tmp_path / "nowhere")
    assert not sec.available and sec.metrics is None and "gpu_measurements" in sec.note
    with pytest.raises(ParameterError, match="none of the 1 requested variants"):
        cv.cloud_gpu_section(GPU_STORE, ["mlp-w9-d9-r9"])


# ------------------------------------------------------------------------------------------ charts
def test_predicted_vs_measured_chart_panels_and_clipped_bounds():
    t = pl.DataFrame({"kind": ["b", "b", "a"], "fam": ["x", "y", "x"], "m": [1.0, 10.0, 2.0],
                      "p": [2.0, 5.0, 1.0], "lo": [0.0, 4.0, 0.5], "hi": [math.inf, 6.0, 2.0]})
    spec = charts.predicted_vs_measured_chart(t, measured="m", predicted="p", low="lo", high="hi", color="fam",
                                              column="kind", column_order=["b"], title="t",
                                              quantity="latency [ms]").to_dict()
    panels = spec["hconcat"]
    assert [p["title"] for p in panels] == ["b", "a"]  # the given order first, then the rest sorted
    # one shared log domain: the measured/predicted range widened by 20 %
    scale = panels[0]["layer"][-1]["encoding"]["y"]["scale"]
    assert scale["type"] == "log" and scale["domain"] == pytest.approx([1.0 / 1.2, 10.0 * 1.2], rel=1e-12)
    # open-ended bounds (0, inf) are clipped to the domain instead of breaking the log axis
    rows = spec["datasets"]
    bars = [r for v in rows.values() for r in v if "lo" in r]
    assert min(r["lo"] for r in bars) == pytest.approx(1 / 1.2) and max(r["hi"] for r in bars) == pytest.approx(12.0)


def test_series_chart_has_lines_points_and_bars():
    t = pl.DataFrame({"dev": ["a", "a", "b"], "k": [10, 100, 10], "w": [0.5, 0.9, 0.3],
                      "lo": [0.4, 0.8, 0.2], "hi": [0.6, 1.0, 0.4]})
    spec = charts.series_chart(t, x="k", y="w", color="dev", low="lo", high="hi", title="t", x_title="k",
                               y_title="share", y_domain=(0, 1)).to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["rule", "line", "point"]
    assert spec["layer"][1]["encoding"]["y"]["scale"]["domain"] == [0, 1]
