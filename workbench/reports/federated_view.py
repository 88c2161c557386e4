"""Notebook 07, federated learning: the FL variants of :mod:`workbench.federated.experiments` as tables, a figure
and findings whose every number is computed from them.

The numbers come from :mod:`workbench.federated` (Flower simulation, per-client ledger, centralised baseline);
this module only runs the experiments (:func:`run_section`), shapes their tables and writes the sentences:

- :func:`run_section`: the variants in one simulation and the centralised baseline (fixed epochs and to FL's
  accuracy), with every table of the page;
- :func:`compression_table`, :func:`centralised_table`, :func:`straggler_table`: views of the ledger and
  baseline beside :mod:`workbench.federated.tables`' accuracy, bytes, per-client and selection tables;
- :data:`PROVENANCE`: how each table's numbers were obtained. Tables with this machine's measurements are
  *fresh* (they differ between renders): ``accuracy_vs_carbon``, ``centralised``, ``selection`` (CPU time
  here), ``compression`` and ``bytes_per_round`` (accuracy and deflated bytes follow the replies' arrival
  order); ``carbon_per_client`` and ``stragglers`` (IID run: fp32 bytes, catalog projections) are not;
- :func:`run_note`, :func:`findings`, :func:`accuracy_chart`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from workbench.federated import tables
from workbench.federated.experiments import base_config, headline, run_variants
from workbench.federated.ledger import round_times
from workbench.reports.sections import num, percent

COMPRESSED = {"iid": "none", "int8": "int8", "int8-deflate": "int8+deflate", "topk": "topk"}
"""Experiments of :func:`~workbench.federated.experiments.variants` compared for update compression → method."""
SELECTION = ["random-half", "carbon-half"]
"""Experiments compared for client selection (half the clients per round, equal rounds)."""

_HERE_ENERGY = "server and centralised training on this machine: CPU time × codecarbon TDP × load (J per CPU-s)"
_PROJECTED = "client compute: roofline bound on the catalog device; radio and network: bytes × link and kWh/GB"
_BYTES = "bytes: count_bytes() of the serialized Flower messages"
_DEFLATED = "int8+deflate bytes: deflate of the update trained on this machine"
_ACCURACY = ("accuracy: central digits test split; seeded training, but Flower aggregates the replies in their "
             "arrival order on this machine, so the last digits vary between renders")
PROVENANCE = {
    "accuracy_vs_carbon": {"measured": [_ACCURACY, "server CPU time on this machine"],
                           "estimated": [_HERE_ENERGY, _PROJECTED, "carbon: catalog grid, embodied share"]},
    "bytes_per_round": {"measured": [_BYTES, _DEFLATED]},
    "compression": {"measured": [_BYTES, _DEFLATED, _ACCURACY]},
    "carbon_per_client": {"estimated": [_PROJECTED, "carbon: catalog grid, embodied share of busy time"]},
    "stragglers": {"estimated": [_PROJECTED + " (slowest client of the round)"]},
    "selection": {"measured": [_ACCURACY, "server CPU time on this machine"],
                  "estimated": [_HERE_ENERGY, _PROJECTED]},
    "centralised": {"measured": [_ACCURACY, "training CPU time on this machine"],
                    "estimated": [_HERE_ENERGY, "raw-data upload: bytes × link and kWh/GB"]},
}
"""Table name → provenance (:mod:`workbench.reports.provenance` states → details)."""

FIGURE_PROVENANCE = {
    "accuracy_vs_carbon": {"measured": ["accuracy, server CPU time on this machine"],
                           "estimated": ["energy: TDP × load, clients by roofline", "carbon: catalog grid"]},
}
"""Figure name → the short provenance its subtitle states (six lines with the TDP caveat, where the
full one would take fourteen); the table of the same name, beside it, carries :data:`PROVENANCE`."""


@dataclass
class FederatedSection:
    """What notebook 07 shows: the run, the baseline, the headline figures and every table."""

    result: object
    centralised: dict
    head: dict
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    rounds: int = 0


def compression_table(res) -> pl.DataFrame:
    """Per update compression: mean uplink bytes per client-round [B], ratio to fp32, final accuracy [1], loss [pt]."""
    ok = res.ledger.filter((pl.col("role") == "client") & (pl.col("status") == "ok"))
    acc = {e: v["final_accuracy"] for e, v in res.summary["experiments"].items()}
    up = {e: float(ok.filter(pl.col("experiment") == e)["bytes_up"].mean()) for e in COMPRESSED}
    return pl.DataFrame([{"experiment": e, "method": m, "uplink_bytes_mean": up[e],
                          "uplink_ratio": up["iid"] / up[e], "final_accuracy": acc[e],
                          "accuracy_loss_pt": (acc["iid"] - acc[e]) * 100.0} for e, m in COMPRESSED.items()])


def centralised_table(head: dict, cen: dict) -> pl.DataFrame:
    """FL (IID) against the centralised baseline for as many epochs as a client trains and to FL's accuracy."""
    tt = cen.get("to_target") or {}
    rows = [{"setup": "federated (IID)", "epochs": head["rounds"] * head["local_epochs"],
             "accuracy": head["fl_accuracy"], "total_g": head["fl_total_g"], "reached_target": None},
            {"setup": "centralised, same epochs", "epochs": cen["epochs"], "accuracy": cen["accuracy"],
             "total_g": cen["total_g"], "reached_target": None}]
    if tt:
        rows.append({"setup": "centralised, to FL's accuracy", "epochs": tt["epochs"], "accuracy": tt["accuracy"],
                     "total_g": tt["total_g"], "reached_target": tt["reached"]})
    return pl.DataFrame(rows).with_columns((pl.col("total_g") / head["fl_total_g"]).alias("carbon_vs_fl"))


def straggler_table(ledger: pl.DataFrame, experiment: str = "iid") -> pl.DataFrame:
    """Per round of one experiment: the straggler-bound round time projected on the clients [s] and who."""
    return round_times(ledger).filter(pl.col("experiment") == experiment).drop("experiment")


def run_section(*, clients: int = 8, rounds: int = 5, local_epochs: int = 2, model: str = "mlp", seed: int = 0,
                calibration_s: float = 1.0, store=None) -> FederatedSection:
    """Run the FL variants in one simulation and the centralised baseline; build every table of notebook 07."""
    base = base_config(clients=clients, rounds=rounds, local_epochs=local_epochs, model=model, seed=seed,
                       calibration_s=calibration_s)
    res, cen = run_variants(base, store=store)
    head = headline(res, cen)
    t = {"accuracy_vs_carbon": tables.accuracy_vs_carbon(res, cen),
         "bytes_per_round": tables.bytes_per_round(res.ledger),
         "compression": compression_table(res),
         "carbon_per_client": tables.carbon_per_client(res.ledger, "iid"),
         "stragglers": straggler_table(res.ledger),
         "selection": tables.selection_table(res, SELECTION),
         "centralised": centralised_table(head, cen)}
    return FederatedSection(res, cen, head, t, rounds)


def run_note(sec: FederatedSection) -> str:
    """The run in one paragraph: client-rounds, times, energy method."""
    h, s = sec.head, sec.result.summary
    return (f"Simulation: {h['client_rounds']} client-rounds of {len(s['experiments'])} variants, {h['clients']} "
            f"clients, {h['rounds']} rounds, in {num(s['wall_s'], '.0f')} s (Ray and clients up after "
            f"{num(h['ray_startup_s'], '.0f')} s). Energy here: {h['energy_method']} "
            f"({num(s['j_per_cpu_s'], '.3g')} J per CPU-second of training).")


def accuracy_chart(table: pl.DataFrame):
    """Accuracy against cumulative carbon, one line per FL variant and the centralised baseline as a point.

    The carbon axis is linear: carbon grows round by round, and on a log axis the first evaluation (before any
    client trained, a few server CPU milliseconds) sat five decades left of the rest and squeezed every curve
    into the right edge."""
    from workbench.reports import charts

    return charts.series_chart(table.filter(pl.col("cumulative_g") > 0), x="cumulative_g", y="accuracy",
                               color="strategy", title="Accuracy vs cumulative carbon", x_title="cumulative g CO2e",
                               y_title="test accuracy", log_x=False)


def _change(loss_pt: float) -> str:
    """An accuracy loss [points] as a signed change, without a negative zero (``0.0`` → ``"+0.0"``)."""
    return f"{-loss_pt + 0.0:+.1f}"


def findings(sec: FederatedSection) -> list[str]:
    """Four sentences, every number computed from the section's tables and headline."""
    h = sec.head
    comp = {r["method"]: r for r in sec.tables["compression"].iter_rows(named=True)}
    cen = {r["setup"]: r for r in sec.tables["centralised"].iter_rows(named=True)}
    to = cen.get("centralised, to FL's accuracy")
    st = sec.tables["stragglers"]
    out = [
        f"FedAvg on IID digits reached {num(h['fl_accuracy'], '.3f')} test accuracy in {sec.rounds} rounds, "
        f"{num(h['accuracy_gap_pt'], '.1f')} points below centralised training for as many epochs "
        f"({num(h['centralised_accuracy'], '.3f')}); non-IID (Dirichlet 0.5) was {num(h['noniid_accuracy_gap_pt'], '.1f')} "
        "points below it.",
        f"Uplink bytes per client-round fell {num(comp['int8']['uplink_ratio'], '.2f')}× with int8 updates, "
        f"{num(comp['int8+deflate']['uplink_ratio'], '.2f')}× with int8 + deflate and "
        f"{num(comp['topk']['uplink_ratio'], '.2f')}× with top-k (accuracy change "
        f"{_change(comp['int8']['accuracy_loss_pt'])}, {_change(comp['int8+deflate']['accuracy_loss_pt'])} and "
        f"{_change(comp['topk']['accuracy_loss_pt'])} points).",
        f"Carbon-aware selection cut use-phase carbon by {percent(h['carbon_aware_reduction'])} against random "
        f"selection at equal rounds ({_change(h['carbon_aware_accuracy_loss_pt'])} points of accuracy).",
    ]
    if to is not None:
        epochs = f"{to['epochs']} epoch{'' if to['epochs'] == 1 else 's'}"
        reach = (f"reached FL's accuracy in {epochs}" if to["reached_target"] else
                 f"did not reach FL's accuracy in {epochs}")
        out.append(f"FL emitted {num(h['fl_vs_centralised_carbon_ratio'], '.3g')}× the carbon of uploading the raw "
                   f"data once and training centrally for as many epochs; the centralised baseline {reach} "
                   f"(FL: {num(1 / to['carbon_vs_fl'], '.3g')}× its carbon).")
    if st.height:
        worst = st.sort("round_time_s", descending=True).row(0, named=True)
        out.append(f"Projected on the clients' devices and links, a round takes {num(st['round_time_s'].median(), '.3g')} s "
                   f"(median; slowest {num(worst['round_time_s'], '.3g')} s, bound by a {worst['straggler_device']} "
                   f"on {worst['straggler_network']}).")
    return out


__all__ = ["COMPRESSED", "PROVENANCE", "SELECTION", "FederatedSection", "accuracy_chart", "centralised_table",
           "compression_table", "findings", "run_note", "run_section", "straggler_table"]
