"""The four provenance states: validation, merging, reading them from tables and charts, subtitles."""

from __future__ import annotations

import altair as alt
import polars as pl
import pytest

from workbench.errors import ParameterError
from workbench.reports import provenance as pv


def test_states_are_the_four_of_the_issue():
    assert list(pv.STATES) == ["measured", "estimated", "predicted", "imported"]


def test_make_rejects_a_fifth_state_and_merge_unions_details():
    with pytest.raises(ParameterError, match="not one of"):
        pv.make(guessed="x")
    p = pv.merge(pv.make(measured="latency: timer"), pv.make(measured="energy: RAPL", imported="MLPerf Tiny v1.1"))
    assert p == {"imported": ["MLPerf Tiny v1.1"], "measured": ["energy: RAPL", "latency: timer"]}


def test_energy_methods_map_to_states():
    assert set(pv.from_energy_methods(["tdp-estimate", "rapl", "none"])) == {"estimated", "measured"}
    assert pv.shows_tdp_estimate(pv.from_energy_methods(["tdp-estimate"]))
    assert not pv.shows_tdp_estimate(pv.from_energy_methods(["rapl"]))


def test_states_are_read_from_table_columns_and_bad_cells_refused():
    df = pl.DataFrame({"latency_provenance": ["measured", "measured"], "energy_provenance": ["estimated", None]})
    assert pv.from_frame(df) == {"estimated": ["energy"], "measured": ["latency"]}
    with pytest.raises(ParameterError, match="holds provenance 'guessed'"):
        pv.from_frame(pl.DataFrame({"provenance": ["guessed"]}))


def test_states_are_read_from_the_rows_behind_a_chart():
    df = pl.DataFrame({"x": [1, 2], "y": [3, 4], "provenance": ["imported", "measured"]}).to_pandas()
    chart = alt.vconcat(alt.Chart(df).mark_point().encode(x="x:Q", y="y:Q"))
    assert set(pv.from_chart(chart)) == {"imported", "measured"}


def test_subtitle_says_tdp_estimate_and_wraps():
    lines = pv.subtitle_lines(pv.own_runs(pl.DataFrame({"energy_method": ["tdp-estimate"]})), "a note", width=40)
    text = " ".join(lines)
    assert "estimated:" in text and "measured:" in text and "TDP estimate" in text and "a note" in text
    assert all(len(line) <= 40 for line in lines)


def test_fresh_means_runs_on_this_machine():
    assert pv.is_fresh(pv.make(measured="latency, memory: profiler on this machine"))
    assert pv.is_fresh(pv.make(predicted="layerwise cost model fitted on this CPU's training runs"))
    assert not pv.is_fresh(pv.make(measured="counted from the model definition"))
    assert not pv.is_fresh(pv.make(estimated="catalog maximum power × busy hours", imported="MLPerf Tiny v1.1"))
