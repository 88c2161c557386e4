"""Link profiles: quartiles of the 5Gophers traces equal numpy's on the files; defaults cited; bad paths named."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.errors import ParameterError
from workbench.placement.traces import DEFAULTS, link_profiles, profiles_table, trace_dir


def test_defaults_alone_without_data():
    p = link_profiles(None)
    assert sorted(p) == ["3g", "4g", "wifi"]
    assert p["3g"].bandwidth_mbps == DEFAULTS["3g"]["bandwidth_mbps"] == p["3g"].bandwidth_mbps_q75
    assert all(x.n_bandwidth == 0 and "Neurosurgeon" in x.source for x in p.values())


def test_trace_profiles_are_the_files_quartiles(shared_data):
    p = link_profiles(shared_data)
    assert {"3g", "4g", "5g", "wifi", "5g-sprint", "5g-tmobile", "5g-verizon"} <= set(p)
    d = trace_dir(shared_data)
    walk = pl.read_csv(d / "mobility_walking.csv", infer_schema_length=None)
    bw5 = walk.filter(pl.col("radio_type") == "5G")["throughput_mbps"].to_numpy()
    # exact: the same numpy quantiles of the same numbers
    assert (p["5g"].bandwidth_mbps_q25, p["5g"].bandwidth_mbps, p["5g"].bandwidth_mbps_q75) == tuple(
        np.quantile(bw5, [0.25, 0.5, 0.75]))
    assert p["5g"].n_bandwidth == bw5.size and p["5g"].rtt_ms == np.median(pl.read_csv(d / "round_trip_times.csv")["rtt_ms"])
    tput = pl.read_csv(d / "throughput.csv").filter((pl.col("carrier") == "VERIZON") & (pl.col("num_tcp_conn") == 1))
    assert p["5g-verizon"].bandwidth_mbps == np.median(tput["throughput_mbps"].to_numpy())
    assert p["4g"].n_rtt == 0 and "assumption" in p["4g"].source  # the traces hold no 4G RTT
    assert all(x.bandwidth_mbps_q25 <= x.bandwidth_mbps <= x.bandwidth_mbps_q75 for x in p.values())
    assert all("WWW 2020" in x.source for k, x in p.items() if k.startswith("5g"))
    assert profiles_table(p).height == len(p)
    assert link_profiles(d)["5g"] == p["5g"]  # the 5Gophers folder itself is accepted too


def test_a_directory_without_traces_is_named(tmp_path):
    with pytest.raises(ParameterError, match="no 5Gophers traces at .*Fix"):
        link_profiles(tmp_path)
