"""Measuring real runs: model zoo, features, timing, energy meters and the profiler."""
