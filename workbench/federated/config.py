"""The contract of a federated-learning run: one declared configuration, validated at the edge.

A configuration is a TOML file (``workbench federate CONFIG.toml``, read by :mod:`.config_file`) or the
same tables as a dict (``workbench.federated.run(config)``). Every key, its unit and meaning are declared in
:data:`KEYS`; :func:`parse_config` refuses unknown keys, names the bad value and says how to fix
it, before anything starts (no Ray, no store write)::

    name = "digits-fedavg"              # label of the run (the ``strategy`` column names the setup)
    seed = 0
    [data]
    partition = "iid"                   # or "dirichlet" (non-IID by label)
    alpha = 0.5                         # Dirichlet concentration, > 0 (only for "dirichlet")
    [model]
    name = "mlp-small"                  # workbench.strategies.data.MODELS
    [training]
    strategy = "fedavg"                 # fedavg, fedprox, fedadam (Flower's)
    rounds = 3
    fraction = 1.0                      # fraction of clients trained per round, in (0, 1]
    local_epochs = 1
    lr = 0.01                           # clients' Adam learning rate
    batch_size = 32
    proximal_mu = 0.1                   # FedProx only
    server_lr = 0.01                    # FedAdam's eta only
    [clients]
    count = 10
    devices = ["pixel-4", "raspberry-pi-4b", "jetson-nano"]   # catalog devices, assigned in turn
    countries = ["FRA", "DEU", "POL"]                          # ISO3 grids, assigned in turn
    networks = ["wifi", "4g"]                                  # access technologies, assigned in turn
    fail = [[2, 1]]                     # [client, round] pairs whose training raises (ledger test)
    [server]
    device = "xeon-platinum-8592plus"
    country = "SWE"
    pue = 1.1
    [compression]
    method = "none"                     # "int8" or "topk": client-side Flower mods on the update
    topk_fraction = 0.05
    [selection]
    policy = "random"                   # or "carbon-aware"
    min_participation = 0.2             # carbon-aware: floor on each client's share of rounds
    [measure]
    meter = "codecarbon"                # power of local training, calibrated once here ("none": no energy)
    calibration_s = 1.0
    roofline_efficiency = 1.0           # fraction of the roofline bound a device reaches (1: the bound)
    [carbon]                            # optional: hourly intensity series instead of annual averages
    signals = { DEU = "ger_ci_2020.csv" }   # country → carbon-intensity CSV (time, g/kWh), from the file's folder
    start = "2020-06-01T00:00"          # time of round 1
    round_interval_s = 3600             # time between rounds [s]
    fill_gaps_s = 900                   # fill gaps of the series up to this long [s] (default 0: refuse)
    [simulation]
    num_cpus = 2                        # Ray's CPUs
    client_num_cpus = 1.0               # CPUs per virtual client (actors = num_cpus / client_num_cpus)
    data_dir = ""                       # shared data folder with the 5Gophers traces (5G links), optional
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workbench.catalog import grid, network
from workbench.catalog.devices import get_device
from workbench.errors import ParameterError, UnknownNameError
from workbench.strategies.data import MODELS

STRATEGIES = ("fedavg", "fedprox", "fedadam")
PARTITIONS = ("iid", "dirichlet")
COMPRESSIONS = ("none", "int8", "int8+deflate", "topk")
POLICIES = ("random", "carbon-aware")
METERS = ("codecarbon", "none")

KEYS: dict[str, dict[str, tuple[str, str]]] = {
    "": {"name": ("-", "label of the run"), "seed": ("-", "seed of partition, initial weights and selection")},
    "data": {"partition": ("-", f"one of {PARTITIONS}"), "alpha": ("1", "Dirichlet concentration > 0")},
    "model": {"name": ("-", "a digits model of workbench.strategies.data.MODELS")},
    "training": {"strategy": ("-", f"one of {STRATEGIES}"), "rounds": ("rounds", "federated rounds >= 1"),
                 "fraction": ("1", "fraction of clients per round in (0, 1]"),
                 "local_epochs": ("epochs", "local passes over a client's data"),
                 "lr": ("1", "clients' Adam learning rate"), "batch_size": ("samples", "local mini-batch"),
                 "proximal_mu": ("1", "FedProx proximal weight >= 0"), "server_lr": ("1", "FedAdam eta > 0")},
    "clients": {"count": ("clients", "virtual clients >= 1"), "devices": ("-", "catalog devices, in turn"),
                "countries": ("-", "ISO3 grids, in turn"), "networks": ("-", "access technologies, in turn"),
                "fail": ("-", "[client, round] pairs whose local training raises")},
    "server": {"device": ("-", "catalog device of the server"), "country": ("-", "ISO3 grid of the server"),
               "pue": ("1", "data-centre PUE >= 1")},
    "compression": {"method": ("-", f"one of {COMPRESSIONS} (int8+deflate: the int8 payload deflated by zlib)"),
                    "topk_fraction": ("1", "share of update entries sent by top-k, in (0, 1]")},
    "selection": {"policy": ("-", f"one of {POLICIES}"),
                  "min_participation": ("1", "carbon-aware floor on a client's share of rounds, in [0, 1]")},
    "measure": {"meter": ("-", f"one of {METERS}"), "calibration_s": ("s", "length of the power calibration"),
                "roofline_efficiency": ("1", "fraction of the roofline bound reached, in (0, 1]")},
    "carbon": {"signals": ("-", "country → carbon-intensity CSV (placement.signal format)"),
               "start": ("UTC", "time of round 1 on the signals"),
               "round_interval_s": ("s", "time between the starts of two rounds"),
               "fill_gaps_s": ("s", "fill signal gaps up to this long by linear interpolation (0: refuse)")},
    "simulation": {"num_cpus": ("CPUs", "Ray's CPUs"), "client_num_cpus": ("CPUs", "CPUs per virtual client"),
                   "data_dir": ("-", "folder with the 5Gophers traces (5G links)")},
}
"""Table → key → (unit, meaning) of every configuration key (``""``: the top level)."""


@dataclass(frozen=True)
class FederatedConfig:
    """A validated federated-learning configuration (see the module docstring for every key and unit)."""

    name: str = "federated"
    seed: int = 0
    partition: str = "iid"
    alpha: float = 0.5
    model: str = "mlp-small"
    strategy: str = "fedavg"
    rounds: int = 3
    fraction: float = 1.0
    local_epochs: int = 1
    lr: float = 0.01
    batch_size: int = 32
    proximal_mu: float = 0.1
    server_lr: float = 0.01
    clients: int = 10
    devices: tuple[str, ...] = ("pixel-4", "raspberry-pi-4b", "jetson-nano")
    countries: tuple[str, ...] = ("FRA", "DEU", "POL")
    networks: tuple[str, ...] = ("wifi", "4g")
    fail: tuple[tuple[int, int], ...] = ()
    server_device: str = "xeon-platinum-8592plus"
    server_country: str = "SWE"
    server_pue: float = 1.1
    compression: str = "none"
    topk_fraction: float = 0.05
    policy: str = "random"
    min_participation: float = 0.2
    meter: str = "codecarbon"
    calibration_s: float = 1.0
    roofline_efficiency: float = 1.0
    num_cpus: int = 2
    client_num_cpus: float = 1.0
    data_dir: str = ""
    signals: tuple[tuple[str, str], ...] = ()
    start: str = ""
    round_interval_s: float = 3600.0
    fill_gaps_s: float = 0.0
    extra: dict = field(default_factory=dict, compare=False)

    def label(self) -> str:
        """The ``strategy`` column of the run's rows: ``fl-<strategy>-<partition>[-<compression>][-<policy>]``."""
        part = self.partition if self.partition == "iid" else f"dirichlet{self.alpha:g}"
        out = f"fl-{self.strategy}-{part}"
        if self.compression != "none":
            out += f"-{self.compression}"
        if self.policy != "random":
            out += f"-{self.policy}"
        return out

    def client_profile(self, client: int) -> dict:
        """Device, country and network of client ``client`` (each list is assigned in turn)."""
        return {"device": self.devices[client % len(self.devices)],
                "country": self.countries[client % len(self.countries)],
                "network": self.networks[client % len(self.networks)]}

    def as_dict(self) -> dict:
        """The configuration as plain values (for ``config_json``)."""
        d = asdict(self)
        d.pop("extra")
        return d


_FLAT = {("", "name"): "name", ("", "seed"): "seed", ("data", "partition"): "partition", ("data", "alpha"): "alpha",
         ("model", "name"): "model", ("clients", "count"): "clients", ("server", "device"): "server_device",
         ("server", "country"): "server_country", ("server", "pue"): "server_pue",
         ("compression", "method"): "compression", ("selection", "policy"): "policy"}


def _flatten(raw: dict, source: str) -> dict:
    if not isinstance(raw, dict):
        raise ParameterError(f"{source}: a configuration must be a table of tables, got {type(raw).__name__}.")
    out = {}
    for table, value in raw.items():
        if table in KEYS[""]:
            out[_FLAT[("", table)]] = value
            continue
        if table not in KEYS:
            raise UnknownNameError(f"table or key of {source}", table, [t for t in KEYS if t] + list(KEYS[""]))
        if not isinstance(value, dict):
            raise ParameterError(f"{source}: [{table}] must be a table, got {value!r}. Fix: e.g. [{table}] on its "
                                 "own line, then its keys.")
        for key, v in value.items():
            if key not in KEYS[table]:
                raise UnknownNameError(f"key of [{table}] in {source}", key, KEYS[table])
            out[_FLAT.get((table, key), key)] = v
    return out


def _int(d: dict, key: str, minimum: int = 1) -> None:
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ParameterError(f"{key} = {v!r} must be an integer >= {minimum}. Fix: e.g. {key} = "
                             f"{max(minimum, 3)}.")


def _num(d: dict, key: str, lo: float, hi: float = math.inf, *, lo_open: bool = True, hi_open: bool = False,
         fix: str = "") -> None:
    v = d[key]
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if ok:
        ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        span = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ParameterError(f"{key} = {v!r} must be a number in {span}. Fix: {fix or f'e.g. {key} = 0.5.'}")
    d[key] = float(v)


def _names(d: dict, key: str) -> tuple[str, ...]:
    v = d[key]
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)) or not v or not all(isinstance(x, str) for x in v):
        raise ParameterError(f"{key} = {v!r} must be a non-empty list of names. Fix: e.g. {key} = [\"...\"].")
    return tuple(v)


def _choice(d: dict, key: str, options) -> None:
    if d[key] not in options:
        raise UnknownNameError(key.replace("_", " "), str(d[key]), options)


def _check_device(name: str) -> str:
    return get_device(name).name  # UnknownNameError names the catalog's devices


def _check_country(iso3: str) -> str:
    grid.carbon_intensity_g_per_kwh(iso3)  # UnknownNameError for an unknown country
    return grid.resolve_country(iso3)


def _check_network(tech: str) -> str:
    network.energy_kwh_per_gb(tech.split("-")[0])  # "5g-tmobile" is a 5G link
    if tech not in ("wifi", "4g", "3g") and not tech.startswith("5g"):
        raise UnknownNameError("client network", tech, ["wifi", "4g", "5g", "5g-sprint", "5g-tmobile", "5g-verizon"])
    return tech


def _signals(d: dict, base_dir: Path | None) -> tuple[tuple[str, str], ...]:
    sig = d["signals"]
    if isinstance(sig, tuple):
        sig = dict(sig)
    if not isinstance(sig, dict) or not all(isinstance(v, str) for v in sig.values()):
        raise ParameterError(f"signals = {sig!r} must map countries to CSV files. Fix: signals = {{ DEU = \"de.csv\" }}.")
    out = []
    for country, path in sig.items():
        p = Path(path)
        if base_dir is not None and not p.is_absolute():
            p = base_dir / p
        out.append((_check_country(country), str(p)))
    if out and not d["start"]:
        raise ParameterError("carbon signals need the time of round 1. Fix: [carbon] start = \"2020-06-01T00:00\".")
    return tuple(sorted(out))


def parse_config(raw: dict | FederatedConfig, *, source: str = "<config>",
                 base_dir: str | Path | None = None) -> FederatedConfig:
    """Validate a configuration given as TOML tables (or pass a :class:`FederatedConfig` through).

    Parameters
    ----------
    raw : dict or FederatedConfig
        The tables of the module docstring (missing keys take :class:`FederatedConfig`'s defaults).
    source : str
        Where it came from, for messages.
    base_dir : path-like, optional
        Where relative signal paths start (a file's folder); None: the current directory.

    Returns
    -------
    FederatedConfig

    Raises
    ------
    UnknownNameError
        An unknown table, key, strategy, partition, model, device, country, network, compression or policy.
    ParameterError
        A value outside its range: rounds or clients < 1, fraction outside (0, 1], alpha <= 0, a failure
        naming a client or round that does not exist, a PUE < 1, ...

    Examples
    --------
    >>> parse_config({"training": {"strategy": "fedprox", "rounds": 2}}).label()
    'fl-fedprox-iid'
    """
    if isinstance(raw, FederatedConfig):
        return raw
    d = {**{k: v for k, v in asdict(FederatedConfig()).items() if k != "extra"}, **_flatten(raw, source)}
    if not isinstance(d["name"], str) or not d["name"]:
        raise ParameterError(f"name = {d['name']!r} must be a non-empty string. Fix: name = \"my-run\".")
    _int(d, "seed", minimum=0)
    for key in ("rounds", "clients", "local_epochs", "batch_size", "num_cpus"):
        _int(d, key)
    _choice(d, "partition", PARTITIONS)
    _choice(d, "strategy", STRATEGIES)
    _choice(d, "compression", COMPRESSIONS)
    _choice(d, "policy", POLICIES)
    _choice(d, "meter", METERS)
    if d["model"] not in MODELS:
        raise UnknownNameError("digits model", str(d["model"]), MODELS)
    _num(d, "alpha", 0, fix="give a Dirichlet concentration > 0, e.g. alpha = 0.5 (smaller: more skewed).")
    _num(d, "fraction", 0, 1, fix="give the share of clients trained per round, e.g. fraction = 0.5.")
    _num(d, "lr", 0)
    _num(d, "proximal_mu", 0, lo_open=False)
    _num(d, "server_lr", 0)
    _num(d, "server_pue", 1, 10, lo_open=False, fix="give a PUE >= 1, e.g. pue = 1.1.")
    _num(d, "topk_fraction", 0, 1)
    _num(d, "min_participation", 0, 1, lo_open=False)
    _num(d, "calibration_s", 0, 60)
    _num(d, "roofline_efficiency", 0, 1)
    _num(d, "round_interval_s", 0, fix="give the time between rounds in seconds, e.g. round_interval_s = 3600.")
    _num(d, "fill_gaps_s", 0, lo_open=False)
    d["signals"] = _signals(d, Path(base_dir) if base_dir is not None else None)
    d["start"] = str(d["start"])
    _num(d, "client_num_cpus", 0, d["num_cpus"], fix=f"give at most num_cpus = {d['num_cpus']}, e.g. 1.")
    d["devices"] = tuple(_check_device(n) for n in _names(d, "devices"))
    d["countries"] = tuple(_check_country(c) for c in _names(d, "countries"))
    d["networks"] = tuple(_check_network(n) for n in _names(d, "networks"))
    d["server_device"] = _check_device(d["server_device"])
    d["server_country"] = _check_country(d["server_country"])
    if any(n.startswith("5g") for n in d["networks"]) and not d["data_dir"]:
        raise ParameterError("5G links need the 5Gophers traces. Fix: set [simulation] data_dir to the shared "
                             "data folder (../shared/data), or use wifi/4g/3g links.")
    fail = d["fail"]
    if not isinstance(fail, (list, tuple)) or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, int) for x in p) for p in fail):
        raise ParameterError(f"fail = {fail!r} must be a list of [client, round] pairs. Fix: e.g. fail = [[2, 1]].")
    for c, r in fail:
        if not (0 <= c < d["clients"] and 1 <= r <= d["rounds"]):
            raise ParameterError(f"fail names client {c} in round {r}, but clients are 0..{d['clients'] - 1} and "
                                 f"rounds 1..{d['rounds']}. Fix: name an existing client and round.")
    d["fail"] = tuple((int(c), int(r)) for c, r in fail)
    return FederatedConfig(**d)


__all__ = ["COMPRESSIONS", "KEYS", "METERS", "PARTITIONS", "POLICIES", "STRATEGIES", "FederatedConfig", "parse_config"]
