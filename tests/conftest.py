"""Shared test fixtures."""

from __future__ import annotations

import pytest

from scmgym.trainers import common


class _Interrupter:
    """Arms a Ctrl-C (KeyboardInterrupt) at the n-th recorded simulation of a training run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.original = common.History.record

    def arm(self, n: int) -> None:
        original, calls = self.original, {"n": 0}

        def record(history, *args):
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt
            return original(history, *args)

        self.monkeypatch.setattr(common.History, "record", record)

    def disarm(self) -> None:
        self.monkeypatch.setattr(common.History, "record", self.original)


@pytest.fixture
def interrupter(monkeypatch) -> _Interrupter:
    return _Interrupter(monkeypatch)
