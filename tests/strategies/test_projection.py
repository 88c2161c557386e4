"""Projection of strategy variants onto other devices through saved cost models, and roofline bounds."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from workbench import schema
from workbench.costmodels import CostModelFileError, TargetMismatchError
from workbench.costmodels.features import align_features, feature_frame
from workbench.costmodels.persistence import load
from workbench.costmodels.workflow import fit_from_rows, save_fitted
from workbench.errors import ParameterError
from workbench.strategies.compression_experiments import run_compression
from workbench.strategies.projection import ProjectionFeatureError, project
from workbench.strategies.roofline import roofline_bounds
from workbench.strategies.staged_experiments import run_cascade


@pytest.fixture(scope="module")
def variants():
    """Compressed variants at batch 1 and 4, and a cascade (dynamic) row, measured quickly."""
    from workbench.measure.profiler import ProfileSettings
    from workbench.strategies.data import load_digits_splits

    splits = load_digits_splits(seed=0)
    st = ProfileSettings(batch_sizes=(1, 4), repeats=3, warmup=1, layer_repeats=1, energy_window_s=0.0, threads=1)
    comp = run_compression("mlp", methods=("int8-dynamic", "prune-structured"), epochs=3, fine_tune_epochs=0,
                           splits=splits, settings=st)
    st1 = ProfileSettings(batch_sizes=(1,), repeats=3, warmup=1, layer_repeats=1, energy_window_s=0.0, threads=1)
    cas = run_cascade(thresholds=(0.6, 0.99), epochs=3, splits=splits, settings=st1)
    rows = pl.concat([comp.rows, cas.rows])
    layers = pl.concat([comp.layers, cas.layers])
    return rows, layers


@pytest.fixture(scope="module")
def device_models(variants, tmp_path_factory):
    """Cost models of a device we do not own ("jetson-nano"), fitted on rows made from the variants'
    own features with a known cost: latency = 0.02 ms + 3e-6 ms/FLOP, energy = 4e-11 J/FLOP + 1e-6 J."""
    rows, layers = variants
    static = rows.filter(pl.col("config_json").str.contains('"exit_rates"').not_())
    fake = static.with_columns(
        pl.lit("jetson-nano").alias("device_name"), pl.lit("edge-accelerator").alias("device_class"),
        (0.02 + 3e-6 * pl.col("flops") * pl.col("batch_size")).alias("latency_ms_p50"),
        pl.lit(None, dtype=pl.Float64).alias("latency_ms_p95"),
        (1e-6 + 4e-11 * pl.col("flops")).alias("energy_j"), pl.lit("inference").alias("energy_scope"),
        pl.lit("external-meter").alias("energy_method"))
    d = tmp_path_factory.mktemp("models")
    out = {}
    for name, target, kind in (("lat_additive", "latency_ms", "additive"), ("lat_loglinear", "latency_ms", "loglinear"),
                               ("lat_flops", "latency_ms", "flops"), ("energy_flops", "energy_j", "flops")):
        # 8 training rows: a 90 % conformal interval needs ⌈9 · 0.9⌉ = 9 residuals, so it is unbounded;
        # 80 % needs 8 (the energy model keeps 90 % to test the unbounded case)
        saved = fit_from_rows(fake, layers, target=target, kind=kind, interval=0.9 if target == "energy_j" else 0.8)
        save_fitted(saved, d / f"{name}.json")
        out[name] = d / f"{name}.json"
    return out


def _static(rows):
    return rows.filter(pl.col("config_json").str.contains('"exit_rates"').not_())


def test_projected_rows_validate_and_equal_the_saved_models_predictions(variants, device_models, tmp_store):
    rows, layers = variants
    P = project(rows, layers, [device_models["lat_additive"], device_models["energy_flops"]])
    schema.validate(P)
    assert P["device_name"].unique().to_list() == ["jetson-nano"] and set(P["device_class"]) == {"edge-accelerator"}
    assert set(P["source"]) == {"predicted:additive+flops"} and set(P["energy_method"]) == {"predicted"}
    assert set(P["energy_scope"]) == {"inference"} and P.height == rows.height  # fitted at batch 1 and 4: all
    # identity, accuracy and counted features are the measured variant's
    src = rows
    by_src = {r["measurement_id"]: r for r in src.iter_rows(named=True)}
    for r in P.iter_rows(named=True):
        cfg = json.loads(r["config_json"])
        s = by_src[cfg["projected_from"]["measurement_id"]]
        for c in ("model", "strategy", "accuracy", "params", "flops", "weight_bytes", "dtype"):
            assert r[c] == s[c]
        assert cfg["projection"]["latency_ms"]["interval"] == 0.8
        lo, hi = cfg["projection"]["latency_ms"]["lower"], cfg["projection"]["latency_ms"]["upper"]
        assert 0 < lo <= r["latency_ms_p50"] <= hi and not cfg["projection"]["latency_ms"]["interval_unbounded"]
        e = cfg["projection"]["energy_j"]
        assert e["interval_unbounded"] and e["upper"] is None  # too few rows for 90 %: said, not invented
    # static variants: exactly what the saved model predicts for their feature frame
    st = _static(src)
    lat = load(device_models["lat_additive"])
    X = align_features(feature_frame(st, layers), lat.features)
    want = dict(zip(st["measurement_id"], lat.predict(X), strict=True))
    got = {json.loads(c)["projected_from"]["measurement_id"]: v
           for c, v in zip(P["config_json"], P["latency_ms_p50"], strict=True)}
    for mid, v in want.items():
        assert got[mid] == v  # exact: same model, same features
    lo, hi = lat.predict_interval(X)
    cfg0 = json.loads(P.filter(pl.col("config_json").str.contains(st["measurement_id"][0]))["config_json"][0])
    assert cfg0["projection"]["latency_ms"]["lower"] == lo[0] and cfg0["projection"]["latency_ms"]["upper"] == hi[0]
    # dynamic variants: Σ_k rate_k · ŷ(path_k); for the FLOPs-proportional energy model that is
    # coef · Σ_k rate_k · cumulative_flops_k = coef · the row's expected FLOPs
    energy = load(device_models["energy_flops"])
    for r in P.filter(pl.col("strategy").str.starts_with("cascade")).iter_rows(named=True):
        cfg = json.loads(r["config_json"])
        assert cfg["expectation_over_paths"] is True
        assert r["energy_j"] == pytest.approx(energy.estimator.estimator_.coef_ * r["flops"], rel=1e-12)
        rates = cfg["variant_config"]["exit_rates"]
        paths = cfg["projection"]["latency_ms"]["path_predictions"]
        assert r["latency_ms_p50"] == pytest.approx(float(np.dot(rates, paths)), rel=1e-12)
    # stored beside the measured rows
    tmp_store.append(rows, layers=layers)
    tmp_store.append(P)
    back = tmp_store.read()
    assert back.height == rows.height + P.height
    assert back.filter(pl.col("source").str.starts_with("predicted:")).height == P.height


def test_dynamic_rows_are_priced_path_by_path(variants, device_models):
    from workbench.costmodels.features import feature_frame as ff

    rows, layers = variants
    dyn = rows.filter(pl.col("strategy").str.starts_with("cascade"))
    P = project(dyn, None, device_models["lat_loglinear"])
    saved = load(device_models["lat_loglinear"])
    for src, r in zip(dyn.iter_rows(named=True), P.iter_rows(named=True), strict=True):
        cfg = json.loads(src["config_json"])
        path_rows = pl.DataFrame([{"measurement_id": f"p{k}", "flops": p["flops"], "params": p["params"],
                                   "weight_bytes": p["weight_bytes"], "activation_bytes": p["activation_bytes"],
                                   "batch_size": 1, "dtype": src["dtype"]} for k, p in enumerate(cfg["path_features"])])
        pred = saved.predict(align_features(ff(path_rows), saved.features)[saved.features])
        assert r["latency_ms_p50"] == pytest.approx(float(np.dot(cfg["exit_rates"], pred)), rel=1e-12)


def test_batch_sizes_follow_the_training_data(variants, device_models, tmp_path):
    rows, layers = variants
    comp = _static(rows)
    # the fake device models were fitted at batch 1 and 4, so both project; batch_sizes narrows
    assert set(project(comp, layers, device_models["lat_flops"])["batch_size"]) == {1, 4}
    assert set(project(comp, layers, device_models["lat_flops"], batch_sizes=[4])["batch_size"]) == {4}
    saved = load(device_models["lat_flops"])
    saved.metadata["batch_sizes"] = [1]
    assert set(project(comp, layers, saved)["batch_size"]) == {1}
    saved.metadata["batch_sizes"] = [8]
    with pytest.raises(ParameterError, match="batch size"):
        project(comp, layers, saved)


def test_bad_cost_models_and_variants_lacking_features(variants, device_models, tmp_path):
    rows, layers = variants
    with pytest.raises(TargetMismatchError, match="latency_ms"):
        project(rows, layers, {"energy_j": device_models["lat_flops"]})  # a latency file asked for energy
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(CostModelFileError):
        project(rows, layers, bad)
    with pytest.raises(ParameterError, match="two cost models"):
        project(rows, layers, [device_models["lat_flops"], device_models["lat_additive"]])
    # a variant without a feature the model reads: the error names it and the fix
    no_act = _static(rows).with_columns(pl.lit(None, dtype=pl.Int64).alias("activation_bytes"))
    with pytest.raises(ProjectionFeatureError, match=r"activation_bytes.*Fix: re-measure"):
        project(no_act, layers, device_models["lat_loglinear"])
    # ... while a model that does not read it still projects
    assert project(no_act, layers, device_models["lat_flops"]).height == no_act.height
    # a model on features no variant has (e.g. a board-feature model): named, with the fix
    import pandas as pd

    from workbench.costmodels import save
    from workbench.costmodels.estimators import LogLinearCostModel

    Xb = pd.DataFrame({"cpu_mhz": [80.0, 120.0, 480.0], "flops": [1e6, 2e6, 4e6]})
    m = LogLinearCostModel(features=["cpu_mhz", "flops"]).fit(Xb, np.array([3.0, 4.0, 1.0]))
    f = save(m, tmp_path / "board.json", target="latency_ms", metadata={"device_class": "mcu"})
    with pytest.raises(ProjectionFeatureError, match=r"cpu_mhz.*Fix: .*refit"):
        project(rows, layers, f)
    # per-layer models need the per-layer table
    with pytest.raises(ProjectionFeatureError, match="per-layer"):
        project(_static(rows), None, device_models["lat_additive"])
    # a dynamic row measured before per-path features were recorded
    old = rows.filter(pl.col("strategy").str.starts_with("cascade")).with_columns(
        pl.col("config_json").map_elements(
            lambda c: json.dumps({k: v for k, v in json.loads(c).items() if k != "path_features"}),
            return_dtype=pl.String))
    with pytest.raises(ProjectionFeatureError, match="re-run"):
        project(old, None, device_models["lat_flops"])
    with pytest.raises(ParameterError, match="no measured rows"):
        project(rows.head(0), layers, device_models["lat_flops"])


def test_roofline_bounds_are_labelled_bounds_from_catalog_peaks(variants):
    from workbench.catalog.devices import get_device

    rows, _ = variants
    b = roofline_bounds(rows, ["a100-sxm4-40gb", "jetson-nano"])
    assert set(b["kind"]) == {"roofline lower bound (catalog peaks)"}
    a100 = get_device("a100-sxm4-40gb")
    base = rows.filter((pl.col("strategy") == "baseline") & (pl.col("batch_size") == 4)).row(0, named=True)
    got = b[(b["device_name"] == "a100-sxm4-40gb") & (b["strategy"] == "baseline") & (b["batch_size"] == 4)
            & (b["model"] == base["model"])]["roofline_bound_ms"].iloc[0]
    want = max(base["flops"] * 4 / a100.peak_flops_per_s["fp32"],
               (base["weight_bytes"] + base["activation_bytes"] * 4) / a100.memory_bandwidth_bytes_per_s) * 1e3
    assert got == pytest.approx(want, rel=1e-12)
    # the catalog has no int8 peak for the Jetson Nano: no bound, and the reason
    j8 = b[(b["device_name"] == "jetson-nano") & (b["dtype"] == "int8")]
    assert j8["roofline_bound_ms"].isna().all() and j8["note"].str.contains("no int8 peak").all()


def test_cli_projects_into_the_store_and_fails_early(tmp_path, device_models, capsys):
    from workbench.cli import main
    from workbench.store import Store

    store = tmp_path / "runs"
    args = ["cascade", "--kind", "cascade", "--epochs", "1", "--threshold", "0.9", "--repeats", "2", "--warmup", "1",
            "--meter", "none", "--energy-window", "0", "--store", str(store), "--json"]
    bad = tmp_path / "nope.json"
    assert main(args + ["--project", str(bad)]) == 2  # before any training: nothing written
    assert "cannot read cost model" in capsys.readouterr().err
    assert not store.exists() or Store(store).read().height == 0
    assert main(args + ["--project", str(device_models["lat_flops"]), "--roofline", "pixel-4"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    stored = Store(store).read()
    pred = stored.filter(pl.col("source") == "predicted:flops")
    assert pred.height == 3 and set(pred["device_name"]) == {"jetson-nano"}  # small, large, cascade
    assert len(summary["projection"]) == 3 and {r["device_name"] for r in summary["roofline_bounds"]} == {"pixel-4"}


def test_layerwise_model_with_shapes_prices_every_cascade_path(variants):
    """The profiler records layer shapes, dynamic rows keep them per path, and a shape-fitted layerwise
    model prices both; a path recorded before shapes existed gets an error naming the fix."""
    rows, layers = variants
    saved = fit_from_rows(_static(rows), layers, target="latency_ms", kind="layerwise", interval=None)
    assert saved.estimator.shape_columns_ == ["input_bytes", "kernel_area", "stride", "groups", "in_channels",
                                              "out_channels"]
    P = project(rows, layers, saved)
    assert P.height == rows.height and P["latency_ms_p50"].min() > 0
    dyn = rows.filter(pl.col("config_json").str.contains('"exit_rates"'))
    cfg = json.loads(dyn["config_json"][0])
    assert all(len(layer) == 10 for path in cfg["path_features"] for layer in path["layers"])
    for path in cfg["path_features"]:  # as an older workbench recorded it: type, flops, params, output bytes
        path["layers"] = [layer[:4] for layer in path["layers"]]
    old = dyn.with_columns(pl.lit(json.dumps(cfg)).alias("config_json"))
    with pytest.raises(ParameterError, match="fitted on per-layer shapes.*have none.*re-profile"):
        project(old, layers, saved)
