"""Fakes shared by the progress-bar tests: a hook that records what it was asked to wrap, and a terminal."""

from __future__ import annotations

import io


class Recorder:
    """A ``progress`` hook (tqdm's call shape) that records ``(total, desc)`` and passes the items through."""

    def __init__(self):
        self.calls = []

    def __call__(self, iterable, total=None, desc=None):
        self.calls.append((total, desc))
        return iter(list(iterable))


class FakeTerminal(io.StringIO):
    """A stderr that says it is a terminal (progress bars are drawn only there)."""

    def isatty(self):
        return True
