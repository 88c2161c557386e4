"""This CPU in notebook 03 (workbench.reports.own_cpu_view): leave-one-family-out tables and their notes.

The training set is six tiny zoo variants profiled for real (three families, 2 timed calls each,
~3 s); the checks recompute the figures independently (FLOPs-proportional fits by hand, metrics
from the prediction rows, the note's counts from the runs), so they hold whatever the timings were.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from tests.costmodels._training_runs import FAMILIES, small_training_runs
from workbench.costmodels.prediction import predict_zoo
from workbench.costmodels.training import training_runs
from workbench.errors import ParameterError, UnknownNameError
from workbench.reports import own_cpu_view as ov
from workbench.reports.sections import num


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    return small_training_runs(tmp_path_factory.mktemp("cm") / "runs")


@pytest.fixture(scope="module")
def evaluation(own):
    return ov.evaluate_own_cpu(own[2], kinds=["flops", "additive"], interval=0.9)


def test_family_out_flops_predictions_match_a_fit_by_hand(evaluation):
    ev = evaluation
    p = ev.predictions.filter(pl.col("kind") == "flops").sort("model")
    flops = dict(zip(ev.meta["model"], ev.X["flops"], strict=True))
    fam = dict(zip(ev.meta["model"], ev.meta["model_family"], strict=True))
    lat = dict(zip(ev.meta["model"], ev.y, strict=True))
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


def test_own_cpu_note_states_the_counts_of_its_runs(evaluation):
    from workbench.measure import zoo

    ev = evaluation
    note = ov.own_cpu_note(ev)
    assert "leave-one-family-out" in note and "shared with other processes" in note
    # every count in the note is the count of the data it describes
    n_variants, n_families = ev.runs.rows["model"].n_unique(), ev.runs.rows["model_family"].n_unique()
    assert f"{n_variants} zoo grid variants of {n_families} families," in note
    assert f"with {ev.runs.threads} intra-op thread(s)" in note
    repeats = sorted(set(ev.runs.rows["repeats"].drop_nulls().to_list()))
    assert f"{', '.join(map(str, repeats))} timed calls" in note
    methods = set(ev.runs.rows["latency_method"].drop_nulls().to_list()) - {"wall"}
    # the profiler's one-thread rows are normalised (issue 21): the note names how, not "the median"
    assert methods and all(f"`{m}`" in note for m in methods) and "normalised from" in note
    assert f"{len(ev.runs.profiled)} network(s) were profiled" in note
    assert f"scores all {len(zoo.grid_names())} grid variants" in note
    assert f"their {round(100 * ev.interval)} % conformal interval" in note
    overall = ev.metrics.filter(pl.col("model_family") == "all")
    best = overall.sort("mape").row(0, named=True)
    assert f"the lowest MAPE is {best['kind']}'s ({best['mape']:.2f}," in note
    widest = overall["median_interval_factor"].max()  # ∞ with 6 rows: ⌈7·0.9⌉ > 6, an open interval
    assert f"median factor of ×/÷ {num(widest, '.3g')}" in note
    # the label the models train on: the normalised latency where a row has it (issue 21), else the raw median
    label = pl.coalesce("latency_ms_norm", "latency_ms_p50").alias("label")
    y = ev.runs.rows.with_columns(label).group_by("model").agg(pl.col("label").min())["label"]
    assert f"span {y.min():.3g}–{y.max():.3g} ms" in note


def test_operator_blocks_are_trained_on_and_never_scored(own):
    from workbench.schema import OPERATOR_FAMILY

    store, train, _ = own
    runs = training_runs(store, train, threads=1, repeats=2, warmup=0, operator_blocks=4)
    ev = ov.evaluate_own_cpu(runs, kinds=["flops", "layerwise"], interval=0.9)
    assert OPERATOR_FAMILY not in set(ev.predictions["model_family"])
    assert ev.predictions.height == 2 * len(train)
    note = ov.own_cpu_note(ev)
    assert f"{len(train)} zoo grid variants of {len(FAMILIES)} families plus 4 operator-benchmark blocks" in note


def test_evaluate_refuses_bad_kinds_and_interval(own):
    runs = own[2]
    with pytest.raises(ParameterError, match="roofline"):
        ov.evaluate_own_cpu(runs, kinds=["roofline"])
    with pytest.raises(UnknownNameError, match="layerwise"):
        ov.evaluate_own_cpu(runs, kinds=["layerwize"])
    for bad in (1.5, 0.0, True):
        with pytest.raises(ParameterError, match="interval"):
            ov.evaluate_own_cpu(runs, interval=bad)


def test_prediction_note_counts_the_checks_the_store_allows(own):
    store, train, runs = own
    ev = ov.evaluate_own_cpu(runs, kinds=["flops"], interval=0.5)
    table = predict_zoo(runs, [train[0], "resnet8"], store, kind="flops", interval=ev.interval)
    note = ov.prediction_note(table, ev, "flops")
    checked = table["measured_latency_ms"].is_not_null().sum()
    assert f"{checked} of {table.height} have a stored run" in note and checked == 1
    assert f"fitted on all {len(train)} training variants, with 50 % conformal intervals" in note
    assert "BatchNorm2d" in note and "(1 thread(s), fp32, batch size 1)" in note
