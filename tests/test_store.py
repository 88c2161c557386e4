"""The run store: atomic one-file-per-run writes, no overwrites, concurrent writers, corrupt files."""

import multiprocessing as mp
import os
from datetime import datetime, timezone

import polars as pl
import pytest

from workbench import schema
from workbench.errors import CorruptFileError, SchemaError, StoreError
from workbench.filters import parse_filters
from workbench.store import Store, run_stem


def rows(n, run="r1", model="m", **over):
    return schema.from_records([
        {"measurement_id": f"{run}-{i}", "run_id": run, "timestamp_utc": datetime(2026, 1, 1, 0, 0, i, tzinfo=timezone.utc),
         "source": "profiler", "model": f"{model}{i}", "latency_ms_p50": float(i + 1), "energy_method": "none",
         "device_name": "cpu", "device_class": "server-cpu", **over}
        for i in range(n)
    ])


def test_append_and_read_back_polars_and_pandas(tmp_store):
    p = tmp_store.append(rows(3))
    assert p.exists() and p.parent == tmp_store.path
    df = tmp_store.read()
    assert df.height == 3 and df["latency_ms_p50"].to_list() == [1.0, 2.0, 3.0]
    pdf = tmp_store.read(as_pandas=True)
    assert list(pdf["model"]) == ["m0", "m1", "m2"]
    assert isinstance(tmp_store.scan(), pl.LazyFrame)


def test_runs_are_appended_never_overwritten(tmp_store):
    a = tmp_store.append(rows(2, run="a"))
    b = tmp_store.append(rows(2, run="b"))
    assert a != b and len(tmp_store.files()) == 2
    assert tmp_store.read().height == 4


def test_invalid_frame_writes_nothing(tmp_store):
    tmp_store.append(rows(1, run="ok"))
    before = sorted(os.listdir(tmp_store.path))
    bad = rows(2, run="bad").with_columns(pl.lit("toaster").alias("device_class"))
    with pytest.raises(SchemaError):
        tmp_store.append(bad)
    assert sorted(os.listdir(tmp_store.path)) == before
    assert tmp_store.read().height == 1


def test_unwritable_store_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="not writable.*--store"):
        Store(blocker / "runs").check_writable()


def _writer(path, run, n):
    Store(path).append(rows(n, run=run))


def test_two_concurrent_writer_processes_lose_nothing(tmp_store):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_store.path), f"w{k}-{j}", 50))
             for k in range(2) for j in range(5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    df = tmp_store.read()
    assert df.height == 10 * 50
    assert df["measurement_id"].n_unique() == 500


def test_killed_writer_leaves_no_partial_file(tmp_store):
    # A writer killed after writing its temporary file but before the rename: readers never see it,
    # and the next writer removes the leftover once its process is gone.
    tmp_store.append(rows(1, run="first"))
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=os.getpid)  # a real pid that then exits
    p.start()
    p.join()
    leftover = tmp_store.path / ".tmp" / f"{p.pid}-deadbeef.parquet"
    leftover.write_bytes(b"PAR1 half a file")
    assert tmp_store.read().height == 1
    tmp_store.append(rows(1, run="second"))
    assert not leftover.exists()
    assert tmp_store.read().height == 2


def test_corrupt_file_is_named_and_can_be_skipped(tmp_store):
    tmp_store.append(rows(2, run="good"))
    bad = tmp_store.path / "20260101T000000Z-corrupt.parquet"
    bad.write_bytes(b"this is not parquet")
    with pytest.raises(CorruptFileError, match="20260101T000000Z-corrupt.parquet.*skip_corrupt=True"):
        tmp_store.read()
    with pytest.warns(UserWarning, match="skipping corrupt file"):
        df = tmp_store.read(skip_corrupt=True)
    assert df.height == 2


def test_layers_are_stored_by_measurement(tmp_store):
    df = rows(1, run="L")
    layers = pl.DataFrame({"measurement_id": ["L-0", "L-0"], "layer_index": [0, 1], "layer_name": ["0", "1"],
                           "layer_type": ["Conv2d", "ReLU"], "flops": [100.0, 0.0], "params": [10, 0],
                           "output_bytes": [64, 64], "latency_ms": [0.1, 0.01]})
    tmp_store.append(df, layers=layers)
    got = tmp_store.read_layers()
    assert got["layer_type"].to_list() == ["Conv2d", "ReLU"]
    with pytest.raises(SchemaError, match="measurement_id"):
        tmp_store.append(rows(1, run="X"), layers=layers)


def test_layer_shapes_read_as_null_from_files_written_before_them(tmp_store):
    """Per-layer files from before the shape columns: read back with nulls beside new files, never dropped."""
    old = pl.DataFrame({"measurement_id": ["O-0"], "layer_index": [0], "layer_name": ["0"], "layer_type": ["ReLU"],
                        "flops": [0.0], "params": [0], "output_bytes": [64], "latency_ms": [0.01]})
    tmp_store.append(rows(1, run="O"), layers=old)  # a table without shapes is accepted (nulls)
    (tmp_store.path / "layers").mkdir(exist_ok=True)
    old.with_columns(pl.lit("P-0").alias("measurement_id")).write_parquet(
        tmp_store.path / "layers" / "20250101T000000Z-P-abcdef.parquet")  # as an older version wrote it
    rows(1, run="P").write_parquet(tmp_store.path / "20250101T000000Z-P-abcdef.parquet")  # with its run
    new = old.with_columns(pl.lit("N-0").alias("measurement_id"), pl.lit("Conv2d").alias("layer_type"),
                           input_bytes=pl.lit(300), kernel_area=pl.lit(9), stride=pl.lit(2), groups=pl.lit(1),
                           in_channels=pl.lit(3), out_channels=pl.lit(8))
    tmp_store.append(rows(1, run="N"), layers=new)
    got = tmp_store.read_layers().sort("measurement_id")
    assert got["measurement_id"].to_list() == ["N-0", "O-0", "P-0"]
    assert got["kernel_area"].to_list() == [9, None, None]
    assert got["input_bytes"].to_list() == [300, None, None]
    with pytest.raises(SchemaError, match="'kernel_area' has negative values"):
        tmp_store.append(rows(1, run="M"), layers=new.with_columns(pl.lit("M-0").alias("measurement_id"),
                                                                    kernel_area=pl.lit(-9)))
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['latency_ms'\]"):
        tmp_store.append(rows(1, run="Q"), layers=old.drop("latency_ms").with_columns(measurement_id=pl.lit("Q-0")))


def test_filters():
    df = rows(4)
    assert df.filter(parse_filters(["latency_ms_p50>=2", "model!=m3"]))["model"].to_list() == ["m1", "m2"]
    with pytest.raises(SchemaError, match="cannot parse filter"):
        parse_filters(["latency"])
    with pytest.raises(Exception, match="unknown column 'latncy_ms_p50'.*latency_ms_p50"):
        parse_filters(["latncy_ms_p50<3"])


def test_input_hashes(tmp_store):
    tmp_store.append(rows(1, run="imp", input_sha256="abc"))
    assert tmp_store.input_hashes() == {"abc"}


def test_every_data_page_carries_a_checksum(tmp_store):
    import pyarrow.parquet as pq

    path = tmp_store.append(rows(5, run="crc"))
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups >= 1
    # A flipped bit in a page is caught by reading with verification; the written file reads clean.
    assert pq.read_table(path, page_checksum_verification=True).num_rows == 5


def _flip(path, bit: int) -> None:
    data = bytearray(path.read_bytes())
    data[bit // 8] ^= 1 << (bit % 8)
    path.write_bytes(bytes(data))


def test_a_flipped_bit_is_a_named_corrupt_file_never_a_changed_value(tmp_path, global_random_seed):
    import random

    rng = random.Random(global_random_seed)
    base = Store(tmp_path / "base")
    path = base.append(rows(40, run="flip", memory_peak_bytes=1_345_640, energy_j=0.5, energy_method="tdp-estimate",
                           energy_scope="inference", memory_method="torch-profiler"))
    original = base.read()
    size_bits = path.stat().st_size * 8
    outcomes = {"error": 0, "same": 0}
    for trial in range(60):  # the campaign's 60 one-bit flips, at random positions
        st = Store(tmp_path / f"s{trial}")
        st.path.mkdir()
        copy = st.path / path.name
        copy.write_bytes(path.read_bytes())
        _flip(copy, rng.randrange(size_bits))
        try:
            got = st.read()
        except CorruptFileError as exc:
            assert path.name in str(exc)
            with pytest.warns(UserWarning, match="skipping corrupt file"):
                assert st.read(skip_corrupt=True).height == 0
            outcomes["error"] += 1
            continue
        assert got.equals(original), f"bit flip in trial {trial} changed values silently"
        outcomes["same"] += 1
    assert outcomes["error"] > 0  # the flips did reach data: most positions are pages or the footer


def test_layers_without_their_run_are_never_read(tmp_store):
    df = rows(1, run="L")
    layers = pl.DataFrame({"measurement_id": ["L-0"], "layer_index": [0], "layer_name": ["0"],
                           "layer_type": ["Conv2d"], "flops": [100.0], "params": [10],
                           "output_bytes": [64], "latency_ms": [0.1]})
    run = tmp_store.append(df, layers=layers)
    # A writer killed between the two links leaves the per-layer file alone: simulate it.
    orphan = tmp_store.path / "layers" / "20260101T000000Z-orphan-abcdef.parquet"
    orphan.write_bytes((tmp_store.path / "layers" / f"{run_stem(run)}.parquet").read_bytes())
    assert tmp_store.orphan_layer_files() == [orphan]
    assert tmp_store.read_layers().height == 1


def test_run_names_carry_their_hash_and_a_changed_layer_file_is_named(tmp_store):
    import hashlib

    df = rows(1, run="H")
    layers = pl.DataFrame({"measurement_id": ["H-0"], "layer_index": [0], "layer_name": ["0"],
                           "layer_type": ["Conv2d"], "flops": [100.0], "params": [10],
                           "output_bytes": [64], "latency_ms": [0.1]})
    run = tmp_store.append(df, layers=layers)
    assert hashlib.sha256(run.read_bytes()).hexdigest().startswith(run.name.split(".")[1])
    layer_file = tmp_store.path / "layers" / f"{run_stem(run)}.parquet"
    # Rewrite the per-layer file with a different value but valid Parquet: only the recorded hash can tell.
    pl.read_parquet(layer_file).with_columns(pl.lit(9.9).alias("latency_ms")).write_parquet(layer_file)
    with pytest.raises(CorruptFileError, match="content hash .* differs"):
        tmp_store.read_layers()
    with pytest.warns(UserWarning, match="skipping corrupt file"):
        assert tmp_store.read_layers(skip_corrupt=True).height == 0
    assert tmp_store.read().height == 1  # the run's rows are intact


def test_a_full_disk_is_one_store_error_and_leaves_nothing(tmp_store, monkeypatch):
    import errno

    import pyarrow.parquet as pq

    tmp_store.append(rows(1, run="before"))
    before = sorted(p.relative_to(tmp_store.path) for p in tmp_store.path.rglob("*") if p.is_file())
    real = pq.write_table
    calls = []

    def full_on_second(table, where, **kw):  # the per-layer file fits, the rows do not
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", full_on_second)
    layers = pl.DataFrame({"measurement_id": ["F-0"], "layer_index": [0], "layer_name": ["0"],
                           "layer_type": ["Conv2d"], "flops": [100.0], "params": [10],
                           "output_bytes": [64], "latency_ms": [0.1]})
    with pytest.raises(StoreError, match="No space left on device; nothing was stored. Fix: free disk space"):
        tmp_store.append(rows(1, run="F"), layers=layers)
    after = sorted(p.relative_to(tmp_store.path) for p in tmp_store.path.rglob("*") if p.is_file())
    assert after == before and tmp_store.read()["run_id"].to_list() == ["before"]


def test_a_row_is_never_stored_twice(tmp_store):
    tmp_store.append(rows(3, run="once"))
    before = sorted(p.relative_to(tmp_store.path) for p in tmp_store.path.rglob("*.parquet"))
    with pytest.raises(StoreError, match=r"measurement_id\(s\) \['once-1'\] \(1 in all\) are already in the store"):
        tmp_store.append(schema.from_records(rows(3, run="once").to_dicts()[1:2]))
    repeated = pl.concat([rows(2, run="dup"), rows(1, run="dup")])
    with pytest.raises(SchemaError, match=r"measurement_id\(s\) \['dup-0'\] repeat within the run"):
        tmp_store.append(repeated)
    after = sorted(p.relative_to(tmp_store.path) for p in tmp_store.path.rglob("*.parquet"))
    assert after == before and tmp_store.read().height == 3


def test_latency_normalisation_columns_round_trip_and_read_as_null_from_older_runs(tmp_store):
    """The columns of reference-normalised latency (issue 21) are stored and read back; a run file written
    before them reads with nulls there, beside new ones; a frame without them still validates."""
    new = rows(2, run="N", latency_ms_cpu_p50=0.9, latency_ms_norm=0.95, contended_blocks=3,
               latency_method="envelope-min/thread-cpu")
    tmp_store.append(new)
    old = rows(1, run="O").drop(*schema.LATER_COLUMNS)
    old.write_parquet(tmp_store.path / "20250101T000000Z-O-abcdef.parquet")  # as an older version wrote it
    got = tmp_store.read().sort("measurement_id")
    assert got["measurement_id"].to_list() == ["N-0", "N-1", "O-0"]
    assert got["latency_ms_norm"].to_list() == [0.95, 0.95, None]
    assert got["latency_ms_cpu_p50"].to_list() == [0.9, 0.9, None]
    assert got["contended_blocks"].to_list() == [3, 3, None]
    assert got["latency_method"].to_list() == ["envelope-min/thread-cpu"] * 2 + [None]
    assert schema.validate(old)["latency_method"].to_list() == [None]
    with pytest.raises(SchemaError, match="'latency_method' has unknown value"):
        rows(1, run="B", latency_method="stopwatch")
