"""Link profiles per access technology: bandwidth [Mbit/s] and RTT [ms] distributions from traces, or defaults.

:func:`link_profiles` reads the 5Gophers 1.0 traces (Narayanan et al., "A First Look at Commercial 5G
Performance on Smartphones", WWW 2020, doi 10.1145/3366423.3380169; CC BY 4.0; the files stay in
``../shared/data/5gophers-network-traces``, read in place, never copied) and gives, per technology, the
median and the quartiles (numpy's linear interpolation) of the per-second throughput and of the RTT:

- ``"4g"``, ``"5g"``: throughput of ``mobility_walking.csv`` by its ``radio_type`` (one phone walking in
  Minneapolis, 8 TCP connections); the 5G RTT is that of ``round_trip_times.csv`` (all carriers); the traces
  hold no 4G RTT, so 4G takes the default of :data:`DEFAULTS`;
- ``"5g-sprint"``, ``"5g-tmobile"``, ``"5g-verizon"``: ``throughput.csv`` of each carrier with one TCP
  connection (what one offloaded request sees; 8 connections are 2–9× faster) and its
  ``round_trip_times.csv`` rows;
- ``"3g"``, ``"wifi"``: fixed defaults (:data:`DEFAULTS`; the traces have none), their quartiles equal to
  the median (a point, not a distribution).

The traces are downlink throughput; an offloaded input goes uplink, which is slower on every cellular
technology, so trace profiles are optimistic for offloading. :data:`DEFAULTS` gives uplink figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from workbench.errors import ParameterError

TRACE_DIR = "5gophers-network-traces"
"""The traces' folder under the shared data directory."""

CITATION = ("Narayanan et al., 'A First Look at Commercial 5G Performance on Smartphones', WWW 2020, "
            "doi 10.1145/3366423.3380169 (5Gophers 1.0, CC BY 4.0)")

NEUROSURGEON = "Kang et al., 'Neurosurgeon', ASPLOS 2017, section 3 (measured average uplink bandwidth)"

RADIO_POWER_W = {"3g": 0.81788, "4g": 1.28804, "5g": 1.28804, "wifi": 0.13286}
"""Phone radio power while sending [W]: base power β of the active radio, Huang et al., 'A Close Examination of
Performance and Power Characteristics of 4G LTE Networks', MobiSys 2012, Table 4 (3G 817.88 mW, LTE 1288.04 mW,
Wi-Fi 132.86 mW); 5G takes LTE's figure (a workbench assumption: the paper predates 5G). Quoted from the paper
without a copy at hand to re-check."""

DEFAULTS: dict[str, dict] = {
    # bandwidth: Neurosurgeon's measured average uplink of 3G (1.1 Mbit/s) and Wi-Fi (18.88 Mbit/s), the setup
    # its 59.5 % energy and 3.1x latency figures come from; RTT: workbench assumptions of the usual order
    # (3G ~100 ms, Wi-Fi to a nearby server ~20 ms), no trace behind them.
    "3g": {"bandwidth_mbps": 1.1, "rtt_ms": 100.0,
           "source": f"bandwidth: {NEUROSURGEON}; rtt_ms: workbench assumption (order of magnitude)"},
    "wifi": {"bandwidth_mbps": 18.88, "rtt_ms": 20.0,
             "source": f"bandwidth: {NEUROSURGEON}; rtt_ms: workbench assumption (order of magnitude)"},
    # 4G RTT: the 5Gophers RTT file measures 5G only; 50 ms is a workbench assumption (order of magnitude of LTE).
    "4g": {"bandwidth_mbps": 5.85, "rtt_ms": 50.0,
           "source": f"bandwidth: {NEUROSURGEON} (LTE); rtt_ms: workbench assumption (order of magnitude)"},
}
"""Fixed figures where the traces have none: ``bandwidth_mbps`` [Mbit/s], ``rtt_ms`` [ms], ``source``."""


@dataclass(frozen=True)
class LinkProfile:
    """A technology's bandwidth [Mbit/s] and RTT [ms]: median and quartiles, sample counts (0: a default),
    and where each came from."""

    technology: str
    bandwidth_mbps: float
    bandwidth_mbps_q25: float
    bandwidth_mbps_q75: float
    rtt_ms: float
    rtt_ms_q25: float
    rtt_ms_q75: float
    n_bandwidth: int
    n_rtt: int
    source: str

    def as_dict(self) -> dict:
        """The profile as a plain dict (for tables and JSON)."""
        return dict(self.__dict__)


def _quartiles(values) -> tuple[float, float, float, int]:
    v = np.asarray([x for x in values if x is not None], float)
    v = v[np.isfinite(v)]
    q25, med, q75 = np.quantile(v, [0.25, 0.5, 0.75])
    return float(med), float(q25), float(q75), int(v.size)


def _profile(tech: str, bandwidth, rtt, source: str) -> LinkProfile:
    b, r = _quartiles(bandwidth), (_quartiles(rtt) if rtt is not None else None)
    if r is None:
        d = DEFAULTS[tech]["rtt_ms"]
        r, source = (d, d, d, 0), f"{source}; rtt_ms: {DEFAULTS[tech]['source'].split('rtt_ms: ')[1]}"
    return LinkProfile(tech, b[0], b[1], b[2], r[0], r[1], r[2], b[3], r[3], source)


def _default(tech: str) -> LinkProfile:
    d = DEFAULTS[tech]
    b, r = d["bandwidth_mbps"], d["rtt_ms"]
    return LinkProfile(tech, b, b, b, r, r, r, 0, 0, d["source"])


def trace_dir(data_dir) -> Path:
    """The 5Gophers folder: ``data_dir`` itself if it holds the traces, else ``data_dir/5gophers-network-traces``.

    Raises
    ------
    ParameterError
        Neither holds ``throughput.csv``, ``round_trip_times.csv`` and ``mobility_walking.csv``.
    """
    data_dir = Path(data_dir)
    for d in (data_dir, data_dir / TRACE_DIR):
        if all((d / f).is_file() for f in ("throughput.csv", "round_trip_times.csv", "mobility_walking.csv")):
            return d
    raise ParameterError(f"no 5Gophers traces at {data_dir} (nor in {data_dir / TRACE_DIR}): throughput.csv, "
                         "round_trip_times.csv and mobility_walking.csv are needed. Fix: give the shared data "
                         "directory (../shared/data), or use link_profiles(None) for the defaults alone.")


def link_profiles(data_dir=None) -> dict[str, LinkProfile]:
    """Bandwidth and RTT per access technology, from the 5Gophers traces and fixed defaults.

    Parameters
    ----------
    data_dir : path-like or None
        The shared data directory (or the 5Gophers folder itself); None: the defaults of
        :data:`DEFAULTS` alone (3G, 4G, Wi-Fi).

    Returns
    -------
    dict of str to LinkProfile
        Keys ``"3g"``, ``"4g"``, ``"5g"``, ``"wifi"`` and ``"5g-<carrier>"`` per carrier of the traces
        (see the module docstring for what each is drawn from).

    Raises
    ------
    ParameterError
        ``data_dir`` given but without the traces.

    References
    ----------
    A. Narayanan et al. "A First Look at Commercial 5G Performance on Smartphones." WWW 2020.

    Examples
    --------
    >>> sorted(link_profiles(None))
    ['3g', '4g', 'wifi']
    """
    out = {t: _default(t) for t in DEFAULTS}
    if data_dir is None:
        return out
    d = trace_dir(data_dir)
    rtt = pl.read_csv(d / "round_trip_times.csv")
    walk = pl.read_csv(d / "mobility_walking.csv", infer_schema_length=None)
    for radio in ("4G", "5G"):
        bw = walk.filter(pl.col("radio_type") == radio)["throughput_mbps"].to_list()
        tech = radio.lower()
        src = f"{CITATION}: mobility_walking.csv radio_type {radio} (downlink, 8 TCP connections)"
        rt = rtt["rtt_ms"].to_list() if radio == "5G" else None
        out[tech] = _profile(tech, bw, rt, src + ("; rtt_ms: round_trip_times.csv, all carriers" if rt else ""))
    tput = pl.read_csv(d / "throughput.csv").filter(pl.col("num_tcp_conn") == 1)
    for carrier in sorted(tput["carrier"].unique().to_list()):
        tech = f"5g-{carrier.lower()}"
        out[tech] = _profile(tech, tput.filter(pl.col("carrier") == carrier)["throughput_mbps"].to_list(),
                             rtt.filter(pl.col("carrier") == carrier)["rtt_ms"].to_list(),
                             f"{CITATION}: throughput.csv and round_trip_times.csv, {carrier} (downlink, 1 TCP "
                             "connection)")
    return dict(sorted(out.items()))


def profiles_table(profiles: dict[str, LinkProfile]) -> pl.DataFrame:
    """The profiles as one table, a row per technology (units in the column names)."""
    return pl.DataFrame([p.as_dict() for p in profiles.values()])


__all__ = ["CITATION", "DEFAULTS", "LinkProfile", "link_profiles", "profiles_table", "trace_dir"]
