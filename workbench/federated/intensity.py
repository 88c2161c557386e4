"""Grid carbon intensity of a client at a round: its country's annual average, or a series at that time.

Without ``[carbon] signals`` every client is charged its country's annual average
(:func:`workbench.catalog.grid.carbon_intensity_g_per_kwh`, codecarbon's table). With a signal for a
country (a CSV read by :func:`workbench.placement.signal.load_signal`, e.g. the Vessim German 2020
series), round r of that country's clients is charged the signal's slot at ``start + (r − 1) ×
round_interval_s``; carbon-aware selection decides on the same figure.
"""

from __future__ import annotations

from workbench.catalog import grid
from workbench.errors import ParameterError
from workbench.federated.config import FederatedConfig
from workbench.placement.signal import load_signal, parse_time


class ClientIntensity:
    """``at(country, round)`` → (g CO2e/kWh, source) for a configuration.

    Parameters
    ----------
    cfg : FederatedConfig

    Raises
    ------
    ImportFormatError
        A signal file that does not read (the signal reader's message).
    ParameterError
        A round whose time falls outside its country's signal.
    """

    def __init__(self, cfg: FederatedConfig):
        self.cfg = cfg
        self.signals = {c: load_signal(p, fill_gaps_up_to_s=cfg.fill_gaps_s) for c, p in cfg.signals}
        self.start_s = parse_time(cfg.start, "[carbon] start")[0] if cfg.signals else 0.0
        for c in self.signals:  # every round inside every signal, checked before anything runs
            self.at(c, 1)
            self.at(c, cfg.rounds)

    def at(self, country: str, server_round: int) -> tuple[float, str]:
        """Intensity [g CO2e/kWh] of ``country``'s grid at round ``server_round`` (round 0: as round 1), and its source."""
        sig = self.signals.get(country)
        if sig is None:
            return grid.carbon_intensity_g_per_kwh(country), "annual average (catalog.grid)"
        t = self.start_s + max(server_round - 1, 0) * self.cfg.round_interval_s
        i = int((t - float(sig.times_s[0])) // sig.step_s)
        if t < float(sig.times_s[0]) or i >= len(sig):
            raise ParameterError(f"round {server_round} falls at {sig.label_time(t)}, outside the signal {sig.source} "
                                 f"({sig.label_time(float(sig.times_s[0]))} to {sig.label_time(sig.end_s)}). "
                                 "Fix: an earlier [carbon] start, a shorter round_interval_s or fewer rounds.")
        return float(sig.g_per_kwh[i]), f"{sig.source} at {sig.label_time(t)}"

    def of_client(self, client: int, server_round: int) -> float:
        """Intensity [g CO2e/kWh] of client ``client``'s grid at a round."""
        return self.at(self.cfg.client_profile(client)["country"], server_round)[0]


__all__ = ["ClientIntensity"]
