"""The profiler: every zoo family into valid schema rows; bad input leaves the store as it was."""

import json

import pytest

from workbench import schema
from workbench.errors import ParameterError, StoreError, UnknownNameError
from workbench.measure import profiler, zoo
from workbench.measure.energy import ReplayMeter


def test_zoo_has_eight_plus_families_and_hundreds_of_variants():
    assert len(zoo.FAMILIES) >= 8
    names = zoo.grid_names()
    assert len(names) >= 300 and len(set(names)) == len(names)
    for n in names[::37] + zoo.default_names():
        assert zoo.resolve(n).family in zoo.FAMILIES


def test_unknown_model_suggests_names():
    with pytest.raises(UnknownNameError, match="unknown model 'resnet9'. Did you mean .*'resnet8'"):
        zoo.resolve("resnet9")


def test_every_family_profiles_into_valid_rows(tmp_store):
    # a constant 20 W replay trace: energy per inference must equal 20 W × loop time / inferences
    meter = ReplayMeter([0.0, 1.0], [20.0, 20.0])
    models = [zoo.variant_name(f, *fam.default) for f, fam in zoo.FAMILIES.items()]
    df = profiler.profile(models, repeats=3, warmup=1, meter=meter, energy_window_s=0.01, layer_repeats=1,
                          store=tmp_store)
    assert df.height == len(zoo.FAMILIES)
    assert schema.validate(df).height == df.height
    stored = tmp_store.read()
    assert sorted(stored["model"].to_list()) == sorted(models)
    assert set(stored["energy_method"]) == {"replay"} and set(stored["energy_scope"]) == {"inference"}
    assert (stored["power_w"] - 20.0).abs().max() < 1e-9  # constant trace → exactly 20 W
    for r in stored.iter_rows(named=True):
        assert r["flops"] > 0 and r["params"] > 0 and r["latency_ms_p50"] > 0
        assert r["memory_peak_bytes"] >= r["weight_bytes"]
        cfg = json.loads(r["config_json"])
        assert cfg["energy"]["calls"] >= 1
        assert r["energy_j"] == pytest.approx(20.0 * cfg["energy"]["window_s"] / cfg["energy"]["calls"], rel=1e-9)
    layers = tmp_store.read_layers()
    assert set(layers["measurement_id"]) == set(stored["measurement_id"])
    # per-layer FLOPs add up to the model's FLOPs
    sums = layers.group_by("measurement_id").agg(layers_flops=__import__("polars").col("flops").sum())
    joined = stored.join(sums, on="measurement_id")
    assert (joined["layers_flops"] - joined["flops"]).abs().max() == 0


def test_batch_sweep_and_int8(tmp_store):
    df = profiler.profile(["mlp"], batch_sizes=(1, 4), repeats=3, warmup=1, dtype="int8", meter="none")
    assert df["batch_size"].to_list() == [1, 4]
    assert set(df["dtype"]) == {"int8"} and set(df["strategy"]) == {"int8-dynamic"}
    assert set(df["energy_method"]) == {"none"} and df["energy_j"].null_count() == 2
    fp32 = profiler.profile(["mlp"], repeats=3, warmup=1, meter="none")
    # int8 Linear weights: 1 byte per weight (+ scales) against 4 bytes: at least 3.5× smaller
    assert fp32["weight_bytes"][0] / df["weight_bytes"][0] >= 3.5
    assert df["flops"][0] == fp32["flops"][0]  # FLOPs counted on the fp32 graph


@pytest.mark.parametrize("kwargs,err,msg", [
    ({"repeats": 0}, ParameterError, "repeats must be a positive integer"),
    ({"batch_sizes": (0,)}, ParameterError, "batch size must be a positive integer"),
    ({"threads": -1}, ParameterError, "threads must be a positive integer"),
    ({"dtype": "fp8"}, UnknownNameError, "unknown dtype 'fp8'"),
])
def test_bad_settings_fail_before_work(tmp_store, kwargs, err, msg):
    tmp_store.append(profiler.profile(["mlp"], repeats=2, warmup=0, meter="none"))
    before = tmp_store.files()
    with pytest.raises(err, match=msg):
        profiler.profile(["mlp"], meter="none", store=tmp_store, **kwargs)
    assert tmp_store.files() == before


def test_unknown_model_and_unwritable_store_fail_before_profiling(tmp_path, tmp_store, monkeypatch):
    calls = []
    monkeypatch.setattr(profiler, "profile_one", lambda *a, **k: calls.append(a))
    with pytest.raises(UnknownNameError):
        profiler.profile(["mlp", "nope"], store=tmp_store, meter="none")
    (tmp_path / "blocker").write_text("")
    with pytest.raises(StoreError, match="not writable"):
        profiler.profile(["mlp"], store=tmp_path / "blocker" / "runs", meter="none")
    assert calls == []


def test_contended_energy_window_is_retried_then_flagged(monkeypatch):
    # An energy window where the calls took far longer than their median latency (another process held
    # the cores) would overstate energy per inference by about 1/busy share. The profiler tries again and
    # keeps the least contended window; if every try is contended, the row says so in `notes`.
    import torch
    from torch import nn

    from workbench.measure.energy import EnergyReading

    lat_ms = 1.0
    monkeypatch.setattr(profiler.timing, "time_forward", lambda *a, **k: profiler.timing.LatencyStats(
        latency_ms_p50=lat_ms, latency_ms_p95=lat_ms, latency_ms_mean=lat_ms, latency_cv=0.0, repeats=3,
        samples_ms=(lat_ms,) * 3))
    windows = []

    def fake_energy(model, x, meter, window_s, device):
        calls = windows.pop(0)
        return EnergyReading(10.0, 1.0, "replay"), 1.0, calls  # 10 W over a 1 s window

    settings = profiler.ProfileSettings(repeats=3, warmup=1, energy_window_s=1.0, layer_repeats=1,
                                        normalise="none")  # the patched back-to-back timing
    sample = torch.randn(1, 4)

    monkeypatch.setattr(profiler, "_energy", fake_energy)
    windows[:] = [100, 900, 1000]  # 10 % busy, then 90 % busy: the second is kept, the third never runs
    fields, _ = profiler.measure_module(nn.Linear(4, 2), sample, batch_size=1, settings=settings,
                                        meter=ReplayMeter([0.0, 1.0], [10.0, 10.0]))
    d = fields["_energy_details"]
    assert (d["calls"], d["tries"], windows) == (900, 2, [1000])
    assert d["busy_share"] == pytest.approx(0.9, rel=1e-12)
    assert fields["energy_j"] == pytest.approx(10.0 / 900, rel=1e-12) and "notes" not in fields

    windows[:] = [5, 40, 20]  # every window contended: the best (40 calls, 4 % busy) is kept and flagged
    with pytest.warns(RuntimeWarning, match="energy window contended: 40 calls"):
        fields, _ = profiler.measure_module(nn.Linear(4, 2), sample, batch_size=1, settings=settings,
                                            meter=ReplayMeter([0.0, 1.0], [10.0, 10.0]))
    assert fields["_energy_details"]["tries"] == profiler.ENERGY_WINDOW_TRIES
    assert fields["energy_j"] == pytest.approx(10.0 / 40, rel=1e-12)
    assert "overstated by up to 25.0x" in fields["notes"]


def test_memory_measurement_prints_no_kineto_trace_lines(capfd):
    # torch's profiler library writes "USDT: ... profiler_start" lines to fd 2 at every memory
    # measurement; they would fill rendered notebook pages. Other stderr output passes through.
    import os

    from workbench.measure import timing

    spec = zoo.resolve("mlp")
    assert timing.peak_memory_bytes(spec.build(), spec.example_input(1)) > 0
    with timing.quiet_kineto():
        os.write(2, b"USDT: dropped\nkept line\n")
    err = capfd.readouterr().err
    assert "USDT" not in err and "kept line" in err


@pytest.mark.parametrize("device", ["tpu", "gpu", "cuda:x", ""])
def test_an_unknown_device_names_the_ones_the_profiler_runs_on(device):
    with pytest.raises(ParameterError, match=rf"device '{device}' is not one the profiler can run on.*--device cpu"):
        profiler.ProfileSettings(device=device)
