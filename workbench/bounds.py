"""Physical plausibility bounds per quantity, each with the source that makes it a bound.

A value beyond its bound is a unit slip (µJ given as J, percent as a fraction, bytes as bits) far
more often than a real measurement, so the measurement table (:func:`workbench.schema.validate`) and
the readers of user inputs (power traces, scenarios) refuse it, naming the bound and its source,
unless the caller says it is meant (``allow_implausible``). Units are those of the keys' quantities
(:mod:`workbench.schema`'s glossary): ms, J, W, parameters, FLOP, B, samples, threads, samples/s.
"""

from __future__ import annotations

PLAUSIBLE_MAXIMA: dict[str, tuple[float, str]] = {
    # column -> (bound in the column's unit, why nothing real exceeds it). A value above is a unit slip
    # (µJ given as J, percent as a fraction, bytes as bits) far more often than a real measurement.
    "latency_ms": (86_400_000.0, "one day per forward call; MLPerf Inference's latency targets are at most "
                                 "seconds (MLPerf Inference rules, scenario latency constraints)"),
    "energy_j_per_inference": (3.6e6, "1 kWh per inference, ~350 × the most energy-hungry task of Luccioni et al., "
                                      "'Power Hungry Processing', FAccT 2024 (image generation, 2.9 kWh per 1,000)"),
    "energy_j_per_run": (3.6e14, "100 GWh, ~4 × the training of Llama 3.1 405B (39.3 M H100 GPU-hours at "
                                 "700 W ≈ 27.5 GWh, Meta's model card, 2024)"),
    "power_w": (1e9, "1 GW, the largest AI data-centre campuses announced (IEA, 'Energy and AI', 2025)"),
    "params": (1e14, "~60 × the largest published models (1.6 × 10¹² parameters, Switch-C, Fedus et al., "
                     "JMLR 2022)"),
    "flops": (1e18, "500,000 tokens through a dense 10¹²-parameter model at 2 FLOP per parameter per token "
                    "(Kaplan et al., 2020)"),
    "bytes": (1e15, "1 PB, ~250 × the memory of one 8-GPU node (NVIDIA DGX B200: 1.4 TB GPU + 4 TB host)"),
    "batch_size": (1e8, "far above any published batch (MLPerf Offline runs use thousands of samples)"),
    "threads": (1e5, "above the hardware threads of the largest single systems (a few thousand)"),
    "throughput_per_s": (1e10, "~10⁴ × the fastest MLPerf Inference ResNet-50 Offline systems (~10⁶ samples/s)"),
}
"""Upper plausibility bounds per quantity, with their source. :func:`workbench.schema.validate`
refuses values above them unless ``allow_implausible=True`` (CLI: ``--allow-implausible``)."""
