"""continuum-workbench: measure, predict and assess AI workloads across the edge–network–cloud continuum.

Importing the package is cheap and has no side effects; heavy parts (torch, Brightway) load on use.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("continuum-workbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "track"]


def __getattr__(name: str):
    """``workbench.track``: the tracker for any code (:class:`workbench.measure.tracker.track`), loaded on use."""
    if name == "track":
        from workbench.measure.tracker import track

        return track
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
