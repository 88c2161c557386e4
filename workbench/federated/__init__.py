"""Federated learning on Flower 1.42 with a per-client resource and carbon ledger. See ``docs/federated.md``.

Flower does the rounds: a ServerApp with Flower's FedAvg, FedProx or FedAdam and a ClientApp with the
Message API, simulated on Ray with N virtual clients (:mod:`.simulation`). The workbench adds what Flower
does not measure: every client × round's bytes, time, energy here, the same work projected on the
client's catalog device, network energy and carbon on the client's grid (:mod:`.ledger`), and the run's
footprint through the lca engine (:mod:`.footprint`).

Modules: :mod:`.config` (the validated configuration), :mod:`.config_file` (TOML files), :mod:`.partition` (IID and Dirichlet splits),
:mod:`.client_app` and :mod:`.server_app` (the Flower apps), :mod:`.compression` (int8 and top-k mods),
:mod:`.selection` (random and carbon-aware client selection), :mod:`.local_power` (training power here),
:mod:`.simulation` (Flower's engine, offline), :mod:`.ledger`, :mod:`.footprint`, :mod:`.runner`
(:func:`run`, :func:`run_many`) and :mod:`.experiments` (centralised baseline and comparisons).
"""

from workbench.federated.config import FederatedConfig, parse_config
from workbench.federated.config_file import load_config, load_experiments
from workbench.federated.runner import FederatedResult, run, run_many

__all__ = ["FederatedConfig", "FederatedResult", "load_config", "load_experiments", "parse_config", "run", "run_many"]
