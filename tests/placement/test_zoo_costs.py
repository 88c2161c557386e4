"""Zoo models on catalog devices: a zoo problem solves; roofline and store costs equal hand computations."""

from __future__ import annotations

import uuid

import polars as pl
import pytest

from workbench import schema
from workbench.catalog.devices import get_device
from workbench.errors import ParameterError
from workbench.placement.chain import brute_force, solve
from workbench.placement.problem import ProblemError, load_problem, parse_problem
from workbench.placement.zoo_costs import zoo_costs, zoo_layers
from workbench.store import Store

pytest.importorskip("torch")


def zoo_dict(model="lenet", devices=("pixel-4", "a100-sxm4-40gb"), **model_keys) -> dict:
    tiers = [{"name": f"t{i}", "device": d, "carbon_intensity_g_per_kwh": 300.0 - 100 * i} for i, d in enumerate(devices)]
    return {"objective": "latency_ms", "model": {"zoo": model, **model_keys}, "tiers": tiers,
            "links": [{"bandwidth_mbps": 10.0, "rtt_ms": 30.0} for _ in devices[1:]]}


def test_a_zoo_problem_solves_with_its_cost_sources_per_tier():
    p = parse_problem(zoo_dict(devices=("pixel-4", "jetson-orin-nano-8gb", "a100-sxm4-40gb")))
    assert len(p.layers) == len(zoo_layers("lenet")[1]) and p.input_bytes == 32 * 32 * 4
    r = solve(p)
    assert set(r["cost_sources"]) == {"t0", "t1", "t2"}
    assert all(s.startswith("roofline lower bound on ") for s in r["cost_sources"].values())
    assert r["cost_source"] == "zoo lenet"
    # a 12-layer chain over 3 tiers: 91 monotone assignments, the oracle agrees with the solver
    assert r["value"] == pytest.approx(brute_force(p)["value"], rel=1e-12)  # same sums, another order


def test_roofline_costs_equal_a_hand_computation_for_one_layer():
    p = parse_problem(zoo_dict())
    _, layers = zoo_layers("lenet")
    conv = next(i for i, la in enumerate(layers) if la.layer_type == "Conv2d")
    la, dev = layers[conv], get_device("pixel-4")
    # the zoo's LeNet conv1 on 1x32x32: 8 filters 5x5, padding 2 -> 8x32x32; FLOPs = 2 x 8 x 32 x 32 x 25
    assert la.flops == 2 * 8 * 32 * 32 * 25 and la.params == 8 * 25 + 8
    assert la.output_bytes == 8 * 32 * 32 * 4 and la.input_bytes == 32 * 32 * 4
    moved = la.params * 4 + la.input_bytes + la.output_bytes
    seconds = max(la.flops / dev.peak_flops_per_s["fp32"], moved / dev.memory_bandwidth_bytes_per_s)
    # rtol 1e-12: the same three floating-point operations, written out once more
    assert p.layers[conv].latency_ms[0] == pytest.approx(seconds * 1e3, rel=1e-12)
    assert p.layers[conv].energy_j[0] == pytest.approx(seconds * dev.max_power_w, rel=1e-12)
    assert p.layers[conv].weight_bytes == la.params * 4


def test_int8_cuts_divide_every_cut_by_four():
    fp32, int8 = parse_problem(zoo_dict()), parse_problem(zoo_dict(int8_cuts=True))
    assert int8.input_bytes == fp32.input_bytes / 4
    assert [la.output_bytes for la in int8.layers] == [la.output_bytes / 4 for la in fp32.layers]
    assert [la.latency_ms for la in int8.layers] == [la.latency_ms for la in fp32.layers]


@pytest.fixture(scope="module")
def lenet_store(tmp_path_factory):
    """A store with lenet profiled here (3 repeats, no meter) and the same run relabelled as pixel-4 with 0.5 J."""
    from workbench.measure.profiler import profile

    path = tmp_path_factory.mktemp("runs")
    rows = profile(["lenet"], repeats=3, warmup=1, meter="none", store=path, layer_repeats=1)
    store = Store(path)
    layers = store.read_layers()
    mid = uuid.uuid4().hex
    phone = rows.with_columns(pl.lit(mid).alias("measurement_id"), pl.lit("pixel-4").alias("device_name"),
                              pl.lit("phone").alias("device_class"), pl.lit(0.5).alias("energy_j"),
                              pl.lit("external-meter").alias("energy_method"), pl.lit("inference").alias("energy_scope"))
    store.append(schema.from_records(phone.to_dicts()), layers=layers.with_columns(pl.lit(mid).alias("measurement_id")))
    return path, rows.row(0, named=True), layers


def test_store_costs_are_the_stored_layers_and_energy_split_by_latency_share(lenet_store):
    path, local, layers = lenet_store
    ms = layers.sort("layer_index")["latency_ms"].to_list()
    c = zoo_costs("lenet", ["pixel-4", "a100-sxm4-40gb"], store=path)  # default: store where it has the device
    assert [row[0] for row in c.latency_ms] == ms
    # energy 0.5 J split by latency share; rtol 1e-12: one division and one product per layer
    assert [row[0] for row in c.energy_j] == pytest.approx([0.5 * m / sum(ms) for m in ms], rel=1e-12)
    assert c.cost_sources[0].startswith("store: measured per-layer latency_ms") and "split by latency share" in c.cost_sources[0]
    assert c.cost_sources[1].startswith("roofline")  # the store has no a100 run
    # this CPU's own run (no energy measured, not a catalog device): latency is read, energy cannot be
    with pytest.raises(Exception, match="not in the catalog"):
        zoo_costs("lenet", [local["device_name"]], costs=["store"], store=path)


def test_a_store_without_the_device_or_no_store_is_refused_by_name(lenet_store):
    path, _, _ = lenet_store
    with pytest.raises(ProblemError, match="has no profiler run of 'lenet'.*'pixel-5'"):
        d = zoo_dict(devices=("pixel-5", "a100-sxm4-40gb"), store=str(path))
        d["tiers"][0]["costs"] = "store"
        parse_problem(d)
    d = zoo_dict()
    d["tiers"][0]["costs"] = "store"
    with pytest.raises(ProblemError, match="no store is given"):
        parse_problem(d)


@pytest.mark.parametrize("change, needle", [
    (lambda d: d["tiers"][0].update(costs="guess"), "unknown cost source of tier 0 'guess'"),
    (lambda d: d["tiers"][0].update(costs="costmodel"), "without a cost_model file"),
    (lambda d: d["tiers"][0].update(device="coral-usb-accelerator"), "lacks its fp32 peak"),
    (lambda d: d["tiers"][0].update(device="no-such-phone"), "not in the catalog"),
    (lambda d: d["model"].update(zoo="resnet-99"), "unknown model 'resnet-99'"),
    (lambda d: d["tiers"][1].pop("device"), "needs a device on every tier"),
    (lambda d: d["model"].update(input_bytes=10), "counts the layers and sizes itself"),
])
def test_bad_zoo_input_is_named(change, needle):
    d = zoo_dict()
    change(d)
    with pytest.raises(ProblemError, match="p.toml: ") as err:
        parse_problem(d, source="p.toml")
    assert needle in str(err.value), str(err.value)


def test_costmodel_costs_from_a_fitted_layerwise_model(lenet_store, tmp_path):
    from workbench.costmodels.features import training_data
    from workbench.costmodels.layerwise import LayerwiseCostModel
    from workbench.costmodels.persistence import save

    path, _, _ = lenet_store
    store = Store(path)
    rows, layers = store.read(), store.read_layers()
    X, y, _ = training_data(rows, layers, target="latency_ms")
    est = LayerwiseCostModel(n_estimators=10).fit(X, y, layers=layers)
    f = save(est, tmp_path / "m.json", target="latency_ms", metadata={"device_class": "phone"})
    c = zoo_costs("lenet", ["pixel-4"], costs=["costmodel"], cost_models=[f])
    assert c.cost_sources[0].startswith(f"costmodel {f} (LayerwiseCostModel") and "predict_layers" in c.cost_sources[0]
    # the layers add up to the network's prediction: Σ predict_layers + intercept_ (rtol: a sum of 12 floats)
    from workbench.placement.zoo_costs import _layer_frame

    _, zl = zoo_layers("lenet")
    network = est.predict_layers(_layer_frame(zl)).sum() + est.intercept_
    assert sum(row[0] for row in c.latency_ms) == pytest.approx(network, rel=1e-9)
    power = get_device("pixel-4").max_power_w
    assert [row[0] for row in c.energy_j] == pytest.approx([row[0] / 1e3 * power for row in c.latency_ms], rel=1e-12)


ZOO_TOML = """
[model]
zoo = "lenet"
[[tiers]]
name = "phone"
device = "pixel-4"
carbon_intensity_g_per_kwh = 300
[[tiers]]
name = "cloud"
device = "a100-sxm4-40gb"
country = "FRA"
[[links]]
bandwidth_mbps = 10.0
rtt_ms = 30.0
"""


def test_workbench_place_solves_a_zoo_problem_and_names_bad_ones(tmp_path, capsys):
    import json

    from workbench.cli import main

    f = tmp_path / "zoo.toml"
    f.write_text(ZOO_TOML, encoding="utf-8")
    assert main(["place", str(f), "--format", "json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["cost_source"] == "zoo lenet" and set(r["cost_sources"]) == {"phone", "cloud"}
    assert main(["place", str(f)]) == 0
    assert "phone: roofline lower bound on pixel-4" in capsys.readouterr().out
    f.write_text(ZOO_TOML.replace('device = "pixel-4"', 'device = "pixel-4"\ncosts = "store"'), encoding="utf-8")
    assert main(["place", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no store is given" in err and len(err.strip().splitlines()) == 1


def test_costmodel_costs_of_a_whole_network_kind_split_by_roofline_shares(lenet_store, tmp_path):
    from workbench.costmodels.factory import make_estimator
    from workbench.costmodels.features import align_features, training_data, zoo_features
    from workbench.costmodels.persistence import save
    from workbench.placement.zoo_costs import roofline_costs

    path, _, _ = lenet_store
    rows = Store(path).read()
    X, y, _ = training_data(rows, None, target="latency_ms")
    est = make_estimator("flops", interval=None).fit(X, y)
    f = save(est, tmp_path / "flops.json", target="latency_ms")
    c = zoo_costs("lenet", ["pixel-4"], costs=["costmodel"], cost_models=[f])
    assert "split over the layers by roofline shares" in c.cost_sources[0]
    Xz, _ = zoo_features(["lenet"])
    network = float(est.predict(align_features(Xz, list(X.columns))[list(X.columns)])[0])
    shares = roofline_costs(zoo_layers("lenet")[1], "pixel-4")[0]
    # rtol 1e-9: a sum of 12 shares rescaled to the network's prediction
    assert sum(row[0] for row in c.latency_ms) == pytest.approx(network, rel=1e-9)
    assert [row[0] for row in c.latency_ms] == pytest.approx([s / sum(shares) * network for s in shares], rel=1e-9)


def test_a_relative_store_path_starts_at_the_problem_file(lenet_store, tmp_path, monkeypatch):
    path, _, _ = lenet_store
    problem = path.parent / "zoo.toml"
    problem.write_text(ZOO_TOML.replace('zoo = "lenet"', f'zoo = "lenet"\nstore = "{path.name}"')
                       .replace('device = "pixel-4"', 'device = "pixel-4"\ncosts = "store"'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # elsewhere: the store is found beside the problem file, not here
    p = load_problem(problem)
    assert p.cost_sources[0].startswith("store: measured per-layer latency_ms")


@pytest.fixture(scope="module")
def threads_store(lenet_store, tmp_path_factory):
    """lenet on pixel-4 twice: threads 2 (0.5 J, the profiled layers) and, later, threads 1 (0.8 J, layers × 3)."""
    path, _, _ = lenet_store
    src = Store(path)
    rows = src.read().filter(pl.col("device_name") == "pixel-4")
    layers = src.read_layers().filter(pl.col("measurement_id") == rows["measurement_id"][0])
    out = Store(tmp_path_factory.mktemp("threads"))
    for threads, energy, factor, minutes in ((2, 0.5, 1.0, 0), (1, 0.8, 3.0, 1)):
        mid = uuid.uuid4().hex
        row = rows.with_columns(pl.lit(mid).alias("measurement_id"), pl.lit(threads).cast(pl.Int64).alias("threads"),
                                pl.lit(energy).alias("energy_j"),
                                (pl.col("timestamp_utc") + pl.duration(minutes=minutes)).alias("timestamp_utc"))
        lay = layers.with_columns(pl.lit(mid).alias("measurement_id"), pl.col("latency_ms") * factor)
        out.append(schema.from_records(row.to_dicts()), layers=lay)
    return out.path, layers.sort("layer_index")["latency_ms"].to_list()


def test_store_costs_select_the_thread_count_or_name_the_one_used(threads_store):
    path, ms = threads_store
    two = zoo_costs("lenet", ["pixel-4"], costs=["store"], store=path, threads=[2])
    one = zoo_costs("lenet", ["pixel-4"], costs=["store"], store=path, threads=[1])
    latest = zoo_costs("lenet", ["pixel-4"], costs=["store"], store=path)
    # rtol 1e-12: the stored floats, times 3 for the threads-1 run; energy split by latency share
    assert [r[0] for r in two.latency_ms] == pytest.approx(ms, rel=1e-12)
    assert [r[0] for r in one.latency_ms] == pytest.approx([3 * m for m in ms], rel=1e-12)
    assert sum(r[0] for r in two.energy_j) == pytest.approx(0.5, rel=1e-12)
    assert sum(r[0] for r in one.energy_j) == pytest.approx(0.8, rel=1e-12)
    assert "threads 2 (asked)" in two.cost_sources[0] and "threads 1 (asked)" in one.cost_sources[0]
    # no thread count asked: the latest run (threads 1), and the label says the store has threads 2 too
    assert latest.latency_ms == one.latency_ms
    assert "threads 1 (the latest run's; the store also has threads [2]: give threads = N" in latest.cost_sources[0]
    with pytest.raises(ParameterError, match=r"with threads = 4 \(it has threads \[1, 2\]\)"):
        zoo_costs("lenet", ["pixel-4"], costs=["store"], store=path, threads=[4])


def test_a_tier_threads_key_selects_the_run(threads_store):
    path, ms = threads_store
    d = zoo_dict(devices=("pixel-4",), store=str(path))
    d["links"] = []
    d["tiers"][0].update(costs="store", threads=2)
    p = parse_problem(d)
    assert [la.latency_ms[0] for la in p.layers] == pytest.approx(ms, rel=1e-12)
    for bad, needle in ((0, "threads = 0 must be a whole number >= 1"), ("2", "threads = '2' must be")):
        d["tiers"][0]["threads"] = bad
        with pytest.raises(ProblemError, match=needle):
            parse_problem(d)
    d["tiers"][0].update(threads=1, costs="roofline")
    with pytest.raises(ProblemError, match="gives threads = 1 but its costs are 'roofline'"):
        parse_problem(d)
