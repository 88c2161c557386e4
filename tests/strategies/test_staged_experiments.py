"""The early-exit and cascade experiments, and the CLI: sweep, choose on validation, measure, store."""

import json

import polars as pl
import pytest

from workbench.cli import main
from workbench.errors import ParameterError
from workbench.strategies.cascades import stage_logits
from workbench.strategies.exits import choose_threshold
from workbench.strategies.staged_experiments import measure_dynamic, run_cascade, run_early_exit


def test_run_early_exit_rows_and_threshold_chosen_on_validation(tmp_store, splits, fast_settings):
    res = run_early_exit(thresholds=(0.5, 0.9, 0.99), epochs=8, splits=splits, settings=fast_settings,
                         store=tmp_store)
    rows = tmp_store.read().sort("strategy")
    assert rows["strategy"].to_list() == ["baseline", "early-exit-confidence-t0.5", "early-exit-confidence-t0.9",
                                          "early-exit-confidence-t0.99"]
    dyn = rows.filter(pl.col("strategy") != "baseline")
    # flops of a dynamic row = the test sweep's expected FLOPs; latency over one call per test image
    assert dyn["flops"].to_list() == res.test_sweep.sort("threshold")["expected_flops"].to_list()
    assert set(dyn["repeats"]) == {len(splits.test)}
    chosen = [json.loads(c)["chosen_on_validation"] for c in dyn["config_json"]]
    assert sum(chosen) == 1
    t = res.summary["early_exit_threshold"]
    val = res.val_sweep.filter(pl.col("threshold") == t).row(0, named=True)
    # the reference: the full network's (last exit's) validation accuracy, recomputed from the trained net
    ref_val = float((stage_logits(res.models["net"], splits.val.x)[-1].argmax(1) == splits.val.y).float().mean())
    # Tolerance: max_accuracy_drop_pt=0 (the default) accepts no loss, so "within tolerance" means
    # accuracy >= ref_val; 1e-9 only absorbs float rounding (accuracies that differ by one of the 360
    # validation images differ by 2.8e-3).
    tol = 1e-9
    keeps = res.val_sweep.filter(pl.col("accuracy") >= ref_val - tol)
    assert res.summary["early_exit_threshold_met_on_val"] == (keeps.height > 0)
    if keeps.height:  # seed 0, 8 epochs: every threshold keeps 89.4 %, so 0.5 (the cheapest) is chosen
        # met: the chosen threshold keeps the full model's validation accuracy, and is the cheapest that does
        assert val["accuracy"] >= ref_val - tol
        assert val["expected_flops"] == keeps["expected_flops"].min()
    else:
        # not met: no threshold keeps it, and the most accurate one is chosen (the cheapest among ties)
        assert val["accuracy"] == res.val_sweep["accuracy"].max()
        ties = res.val_sweep.filter(pl.col("accuracy") == val["accuracy"])
        assert val["expected_flops"] == ties["expected_flops"].min()
    # the rule when it is not met, on this real sweep: a reference one point above every threshold's
    # accuracy leaves none qualifying, and the most accurate threshold (the cheapest among ties) comes back
    unmet = choose_threshold(res.val_sweep, res.val_sweep["accuracy"].max() + 0.01, 0.0)
    most_accurate = res.val_sweep.sort(["accuracy", "expected_flops"], descending=[True, False]).row(0, named=True)
    assert not unmet["met"] and unmet["threshold"] == most_accurate["threshold"]
    # the summary reports the chosen threshold on the test split
    test_row = res.test_sweep.filter(pl.col("threshold") == t).row(0, named=True)
    assert res.summary["early_exit_accuracy"] == test_row["accuracy"]
    assert res.summary["early_exit_flops_reduction"] == pytest.approx(677888 / res.summary["early_exit_expected_flops"])


def test_run_cascade_and_bad_arguments(splits, fast_settings):
    res = run_cascade(thresholds=(0.9,), epochs=3, splits=splits, settings=fast_settings)
    assert res.rows["strategy"].to_list() == ["baseline", "baseline", "cascade-t0.9"]
    r = res.test_sweep.row(0, named=True)
    assert r["expected_flops"] == pytest.approx(34048 + r["exit_rates"][1] * 618496, rel=1e-12)
    with pytest.raises(ParameterError, match="threshold must be in"):
        run_cascade(thresholds=(1.2,), splits=splits, settings=fast_settings)
    # one way to pass measurement settings: a ProfileSettings (its fields as keywords are refused)
    with pytest.raises(ParameterError, match="settings must be a ProfileSettings"):
        run_early_exit(splits=splits, settings={"repeats": 3})
    with pytest.raises(TypeError, match="repeats"):
        run_early_exit(splits=splits, settings=fast_settings, repeats=3)
    with pytest.raises(ParameterError, match="timing set is empty"):
        measure_dynamic(res.models["cascade"], splits.test.x[:0], settings=fast_settings)


def test_cli_compress_and_cascade(tmp_path, capsys):
    store = str(tmp_path / "runs")
    common = ["--epochs", "2", "--repeats", "2", "--warmup", "0", "--meter", "none", "--store", store]
    assert main(["compress", "--method", "int8-dynamic", "--json", *common]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["int8_size_ratio"] >= 3.5
    assert main(["cascade", "--kind", "cascade", "--threshold", "0.8", "--json", *common]) == 0
    assert "cascade_flops_reduction" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    from workbench.store import Store

    n = Store(store).read().height
    assert n == 2 + 3
    # bad input: clear error, exit 2, nothing written
    assert main(["cascade", "--threshold", "1.5", *common]) == 2
    assert "threshold must be in [0, 1], got 1.5" in capsys.readouterr().err
    assert main(["cascade", "--criterion", "margin", *common]) == 2
    assert "unknown exit criterion 'margin'" in capsys.readouterr().err
    assert main(["compress", "--amount", "1.0", *common]) == 2
    assert "pruning amount" in capsys.readouterr().err
    assert Store(store).read().height == n
