"""The measurement schema: every violation gives a SchemaError naming the column, value and fix."""

import re
from datetime import datetime, timezone

import pandas as pd
import polars as pl
import pytest

from workbench import schema
from workbench.errors import SchemaError


def row(**over):
    base = {
        "measurement_id": "m1", "run_id": "r1", "timestamp_utc": datetime(2026, 1, 1, tzinfo=timezone.utc),
        "source": "profiler", "model": "resnet8", "model_family": "resnet", "batch_size": 1,
        "latency_ms_p50": 1.0, "latency_ms_p95": 1.5, "energy_j": 0.01, "energy_scope": "inference",
        "energy_method": "tdp-estimate", "device_name": "cpu", "device_class": "server-cpu",
    }
    base.update(over)
    return base


def test_from_records_fills_optional_columns_with_null():
    df = schema.from_records([row()])
    assert df.columns == list(schema.COLUMN_NAMES)
    assert df["accuracy"].to_list() == [None]
    assert df.schema["timestamp_utc"] == pl.Datetime("us", "UTC")


def test_missing_column_is_named():
    df = schema.from_records([row()]).drop("device_class")
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['device_class'\]"):
        schema.validate(df)


def test_unknown_column_is_named():
    df = schema.from_records([row()]).with_columns(pl.lit(1).alias("latency_s"))
    with pytest.raises(SchemaError, match=r"unknown column\(s\) \['latency_s'\].*config_json"):
        schema.validate(df)


def test_wrong_dtype_names_column_and_fix():
    df = schema.from_records([row()]).with_columns(pl.lit("fast").alias("latency_ms_p50"))
    with pytest.raises(SchemaError, match=r"'latency_ms_p50' has dtype String.*needs Float64.*cast"):
        schema.validate(df)


def test_string_value_in_numeric_record_is_named():
    with pytest.raises(SchemaError, match=r"'batch_size' expects Int64 .* got 'one'"):
        schema.from_records([row(batch_size="one")])


@pytest.mark.parametrize("col", ["model", "device_name", "source"])
def test_null_in_required_column(col):
    df = schema.from_records([row()]).with_columns(pl.lit(None, dtype=pl.String).alias(col))
    with pytest.raises(SchemaError, match=rf"'{col}' is required but is null/NaN in rows \[0\]"):
        schema.validate(df)


def test_nan_is_treated_as_missing():
    # NaN is never a valid measurement: it becomes null (and would fail a required column like any null)
    df = schema.from_records([row(latency_ms_p95=None)]).with_columns(pl.lit(float("nan")).alias("latency_ms_p50"))
    out = schema.validate(df)
    assert out["latency_ms_p50"].to_list() == [None]


@pytest.mark.parametrize("col,value", [("latency_ms_p50", -0.5), ("energy_j", -1e-3), ("power_w", -3.0),
                                       ("memory_peak_bytes", -1), ("flops", -10.0)])
def test_negative_values_are_rejected(col, value):
    over = {col: value}
    if col == "latency_ms_p50":
        over["latency_ms_p95"] = None
    if col == "memory_peak_bytes":
        over["memory_method"] = "torch-profiler"
    with pytest.raises(SchemaError, match=rf"'{col}' .* must be >= 0; bad rows \[0\] \(values \[{value}\]\)"):
        schema.from_records([row(**over)])


def test_batch_size_zero_is_rejected():
    with pytest.raises(SchemaError, match=r"'batch_size' .* must be > 0"):
        schema.from_records([row(batch_size=0)])


@pytest.mark.parametrize("col,value", [("device_class", "toaster"), ("energy_method", "guess"),
                                       ("energy_scope", "per-hour")])
def test_unknown_enum_values(col, value):
    with pytest.raises(SchemaError, match=rf"'{col}' has unknown value\(s\) \['{value}'\]; valid values"):
        schema.from_records([row(**{col: value})])


def test_energy_needs_a_method_and_scope():
    with pytest.raises(SchemaError, match="energy_method 'none'"):
        schema.from_records([row(energy_method="none")])
    with pytest.raises(SchemaError, match="without energy_scope"):
        schema.from_records([row(energy_scope=None)])


def test_memory_needs_a_method():
    with pytest.raises(SchemaError, match="without memory_method"):
        schema.from_records([row(memory_peak_bytes=1000)])


def test_accuracy_is_a_fraction():
    with pytest.raises(SchemaError, match="divide percentages by 100"):
        schema.from_records([row(accuracy=93.0)])


def test_swapped_percentiles_are_caught():
    with pytest.raises(SchemaError, match="p95 is below"):
        schema.from_records([row(latency_ms_p50=2.0, latency_ms_p95=1.0)])


def test_json_columns_must_hold_objects():
    with pytest.raises(SchemaError, match="'config_json' row 0 must hold a JSON object"):
        schema.from_records([row(config_json="[1, 2]")])


def test_naive_timestamps_are_rejected():
    df = schema.from_records([row()]).with_columns(pl.col("timestamp_utc").dt.replace_time_zone(None))
    with pytest.raises(SchemaError, match="naive datetimes"):
        schema.validate(df)


def test_pandas_in_pandas_out_with_safe_widening():
    df = schema.from_records([row(), row(measurement_id="m2", batch_size=8)]).to_pandas()
    df["batch_size"] = df["batch_size"].astype("int32")  # a narrower int is widened, not rejected
    out = schema.validate(df)
    assert isinstance(out, pd.DataFrame)
    assert out["batch_size"].tolist() == [1, 8]
    assert list(out.columns) == list(schema.COLUMN_NAMES)


def test_pandas_float_with_fraction_in_int_column_is_rejected():
    df = schema.from_records([row()]).to_pandas()
    df["batch_size"] = [1.5]
    with pytest.raises(SchemaError, match="'batch_size' has dtype Float64"):
        schema.validate(df)


def test_glossary_covers_every_column_with_unit():
    g = schema.glossary()
    assert g["name"].to_list() == list(schema.COLUMN_NAMES)
    assert g["unit"].null_count() == 0 and all(g["meaning"].str.len_chars() > 5)
    issue_columns = {"run_id", "timestamp_utc", "source", "model", "model_family", "task", "batch_size", "dtype",
                     "threads", "params", "flops", "weight_bytes", "activation_bytes", "latency_ms_p50",
                     "latency_ms_p95", "latency_cv", "throughput_per_s", "memory_peak_bytes", "energy_j", "power_w",
                     "energy_method", "device_name", "device_class", "cpu_model", "accuracy", "software_versions"}
    assert issue_columns <= set(schema.COLUMN_NAMES)


@pytest.mark.parametrize("column, value, bound", [
    ("latency_ms_p50", 1e9, "plausibility bound 8.64e+07"),
    ("memory_peak_bytes", 68_720_822_376_000_000, "plausibility bound 1e+15"),
    ("power_w", 1e300, "plausibility bound 1e+09"),
    ("params", 10**15, "plausibility bound 1e+14"),
])
def test_absurd_magnitudes_are_refused_with_the_bound_and_its_source(column, value, bound):
    row = {"measurement_id": "x", "run_id": "r", "timestamp_utc": datetime(2026, 1, 1, tzinfo=timezone.utc),
           "source": "test", "model": "m", "energy_method": "none", "device_name": "d",
           "device_class": "server-cpu", column: value}
    if column == "memory_peak_bytes":
        row["memory_method"] = "dataset"
    with pytest.raises(SchemaError, match=rf"'{column}' .* {re.escape(bound)} \(.*\).*Fix: check the unit.*allow_implausible"):
        schema.from_records([row])
    assert schema.from_records([row], allow_implausible=True)[column][0] == value


def test_energy_bound_depends_on_its_scope_and_can_be_overridden():
    def row(energy_j, scope):
        return schema.from_records([{
            "measurement_id": "x", "run_id": "r", "timestamp_utc": datetime(2026, 1, 1, tzinfo=timezone.utc),
            "source": "test", "model": "m", "energy_j": energy_j, "energy_scope": scope,
            "energy_method": "dataset", "device_name": "d", "device_class": "cloud-gpu"}], allow_implausible=True)

    # 1e30 µJ typed as J per inference is refused; 10 MWh for a training run is a real figure.
    with pytest.raises(SchemaError, match=r"'energy_j' \[J\] is above its plausibility bound 3.6e\+06"):
        schema.validate(row(1e30, "inference"))
    assert schema.validate(row(3.6e10, "run"))["energy_j"][0] == 3.6e10
    with pytest.raises(SchemaError, match=r"plausibility bound 3.6e\+14"):
        schema.validate(row(1e30, "run"))
    assert schema.validate(row(1e30, "inference"), allow_implausible=True)["energy_j"][0] == 1e30
    assert row(1.0, "inference")["energy_j"][0] == 1.0  # a plausible value is untouched
