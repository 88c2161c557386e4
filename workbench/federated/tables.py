"""Tables of a federated run for notebooks and reports: accuracy against cumulative carbon, bytes per round,
carbon per client, and the selection policies side by side. Every number comes from the ledger and history.
"""

from __future__ import annotations

import polars as pl


def accuracy_vs_carbon(res, centralised: dict | None = None) -> pl.DataFrame:
    """Per experiment and round: central test accuracy [1] and cumulative carbon [g CO2e] up to that round.

    The centralised baseline (:func:`workbench.federated.experiments.centralised`), if given, is one row
    (``experiment = "centralised"``, round = its epochs).
    """
    per_round = (res.ledger.group_by(["experiment", "round"]).agg(pl.col("total_g").sum())
                 .sort(["experiment", "round"])
                 .with_columns(pl.col("total_g").cum_sum().over("experiment").alias("cumulative_g")))
    hist = pl.DataFrame([{"experiment": e, "round": h["round"], "accuracy": h["accuracy"]}
                         for e, hs in res.history.items() for h in hs])
    out = (hist.join(per_round, on=["experiment", "round"], how="left")
           .with_columns(pl.col("experiment").replace_strict({e: c.label() for e, c in res.configs.items()})
                         .alias("strategy"))
           .select("experiment", "strategy", "round", "accuracy", "cumulative_g"))
    if centralised is not None:
        out = pl.concat([out, pl.DataFrame([{"experiment": "centralised", "strategy": "centralised",
                                             "round": centralised["epochs"], "accuracy": centralised["accuracy"],
                                             "cumulative_g": centralised["total_g"]}])], how="vertical_relaxed")
    return out


def bytes_per_round(ledger: pl.DataFrame) -> pl.DataFrame:
    """Per experiment and round: bytes down and up summed over the clients [B], and clients that trained."""
    return (ledger.filter(pl.col("role") == "client").group_by(["experiment", "strategy", "round"])
            .agg(pl.col("bytes_down").sum(), pl.col("bytes_up").sum(),
                 (pl.col("status") == "ok").sum().alias("clients_ok"))
            .sort(["experiment", "round"]))


def carbon_per_client(ledger: pl.DataFrame, experiment: str) -> pl.DataFrame:
    """Per client of one experiment: device, country, network, rounds trained and carbon [g CO2e] by part."""
    return (ledger.filter((pl.col("experiment") == experiment) & (pl.col("role") == "client"))
            .group_by(["client", "device_name", "country", "network"])
            .agg((pl.col("status") == "ok").sum().alias("rounds_trained"),
                 *[pl.col(c).sum() for c in ("operational_g", "network_g", "embodied_g", "total_g")])
            .sort("client"))


def selection_table(res, experiments: list[str]) -> pl.DataFrame:
    """Per experiment: policy, final accuracy [1], use-phase (operational + network) and total carbon [g CO2e]."""
    rows = []
    for e in experiments:
        s = res.summary["experiments"][e]
        rows.append({"experiment": e, "policy": res.configs[e].policy, "final_accuracy": s["final_accuracy"],
                     "use_phase_g": s["operational_g"] + s["network_g"], "total_g": s["total_g"],
                     "client_rounds": s["client_rounds"]})
    return pl.DataFrame(rows)


__all__ = ["accuracy_vs_carbon", "bytes_per_round", "carbon_per_client", "selection_table"]
