"""Notebook 07's view: its tables and sentences are computed from the ledger and the headline (no Ray here:
a hand-made ledger of two rounds stands in for a simulation)."""

from types import SimpleNamespace

import polars as pl

from workbench.reports import federated_view as fv

UP = {"iid": 4000, "int8": 1000, "int8-deflate": 800, "topk": 500}
ACC = {"iid": 0.90, "int8": 0.89, "int8-deflate": 0.89, "topk": 0.85}


def _ledger() -> pl.DataFrame:
    rows = []
    for exp, up in UP.items():
        for rnd in (1, 2):
            for client, (dev, net, busy) in enumerate([("pixel-4", "wifi", 1.0 * rnd), ("jetson-nano", "4g", 3.0)]):
                rows.append({"experiment": exp, "round": rnd, "client": client, "role": "client", "status": "ok",
                             "bytes_up": up + client * 2, "busy_s": busy, "device_name": dev, "network": net})
    return pl.DataFrame(rows)


def _result():
    return SimpleNamespace(ledger=_ledger(), summary={"experiments": {e: {"final_accuracy": a} for e, a in ACC.items()}})


def test_compression_table_is_the_ledgers_mean_uplink_and_accuracy():
    t = {r["method"]: r for r in fv.compression_table(_result()).iter_rows(named=True)}
    # mean over clients 0 and 1 (+0 and +2 B): UP + 1
    assert t["none"]["uplink_bytes_mean"] == 4001 and t["int8+deflate"]["uplink_bytes_mean"] == 801
    assert t["int8"]["uplink_ratio"] == 4001 / 1001 and t["topk"]["accuracy_loss_pt"] == (0.90 - 0.85) * 100


def test_stragglers_are_the_slowest_client_of_each_round():
    st = fv.straggler_table(_ledger())
    # round 1: pixel 1 s vs jetson 3 s; round 2: pixel 2 s vs jetson 3 s → the jetson on 4G both times
    assert st.select("round", "round_time_s", "straggler_device", "straggler_network").rows() == [
        (1, 3.0, "jetson-nano", "4g"), (2, 3.0, "jetson-nano", "4g")]


def test_findings_print_the_tables_numbers():
    res = _result()
    head = {"rounds": 2, "local_epochs": 1, "fl_accuracy": 0.9, "fl_total_g": 2.0, "centralised_accuracy": 0.95,
            "accuracy_gap_pt": 5.0, "noniid_accuracy_gap_pt": 12.0, "carbon_aware_reduction": 0.25,
            "carbon_aware_accuracy_loss_pt": 1.0, "fl_vs_centralised_carbon_ratio": 4.0}
    cen = {"epochs": 2, "accuracy": 0.95, "total_g": 0.5,
           "to_target": {"epochs": 1, "accuracy": 0.91, "total_g": 0.25, "reached": True}}
    sec = fv.FederatedSection(res, cen, head, {"compression": fv.compression_table(res),
                                               "centralised": fv.centralised_table(head, cen),
                                               "stragglers": fv.straggler_table(res.ledger)}, rounds=2)
    c = sec.tables["centralised"]
    assert c["carbon_vs_fl"].to_list() == [1.0, 0.25, 0.125]
    text = " ".join(fv.findings(sec))
    assert f"{4001 / 1001:.2f}× with int8 updates" in text and f"{4001 / 801:.2f}× with int8 + deflate" in text
    assert "by 25 % against random" in text and "reached FL's accuracy in 1 epoch " in text
    assert "(FL: 8× its carbon)" in text and "slowest 3 s, bound by a jetson-nano on 4g" in text


def test_fresh_tables_are_those_with_this_machines_measurements():
    from workbench.reports.provenance import is_fresh

    fresh = {name for name, prov in fv.PROVENANCE.items() if is_fresh(prov)}
    # CPU time here, or accuracy and deflated bytes that follow the replies' arrival order: differ between renders
    assert fresh == {"accuracy_vs_carbon", "bytes_per_round", "compression", "selection", "centralised"}


def test_figure_subtitle_is_short_and_keeps_states_freshness_and_caveat():
    from workbench.reports.provenance import TDP_CAVEAT, is_fresh, shows_tdp_estimate, subtitle_lines

    for name, short in fv.FIGURE_PROVENANCE.items():
        full = fv.PROVENANCE[name]
        assert set(short) == set(full) and is_fresh(short) == is_fresh(full), name  # same states, same freshness
        assert shows_tdp_estimate(short) == shows_tdp_estimate(full), name  # the TDP caveat stays
        lines = subtitle_lines(short)
        assert len(lines) <= 6 < len(subtitle_lines(full)), lines
        assert TDP_CAVEAT.split(" (")[0] in " ".join(lines)
