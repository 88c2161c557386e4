"""Federated learning on Flower (issue 16): FL vs centralised, IID vs non-IID, compressed updates, carbon-aware
selection, all in one Flower simulation on Ray; prints one JSON object as its last line.

    python benchmarks/federated.py [--clients 20] [--rounds 30] [--local-epochs 2] [--model mlp]

Clients get devices, countries and networks in turn (``experiments.base_config``: phones, Raspberry Pis, Jetsons on
grids from clean to coal-heavy, on Wi-Fi and 4G). ``--clients 100`` is the issue's scale check (under 10 min).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--local-epochs", type=int, default=2)
    p.add_argument("--model", default="mlp")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    os.environ.setdefault("FLWR_HOME", tempfile.mkdtemp(prefix="flwr-home-"))
    from workbench.federated.experiments import base_config, compare

    out = compare(base_config(clients=args.clients, rounds=args.rounds, local_epochs=args.local_epochs,
                              model=args.model, seed=args.seed))
    print(json.dumps({k: (round(v, 6) if isinstance(v, float) else v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
