"""Shared test fixtures."""

from __future__ import annotations

import pytest

from scmgym.core import BudgetedEvaluator


class _Interrupter:
    """Arms a Ctrl-C (KeyboardInterrupt) at the n-th recorded simulation of a run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.original = BudgetedEvaluator.record

    def arm(self, n: int) -> None:
        original, calls = self.original, {"n": 0}

        def record(evaluator, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt
            return original(evaluator, *args, **kwargs)

        self.monkeypatch.setattr(BudgetedEvaluator, "record", record)

    def disarm(self) -> None:
        self.monkeypatch.setattr(BudgetedEvaluator, "record", self.original)


@pytest.fixture
def interrupter(monkeypatch) -> _Interrupter:
    return _Interrupter(monkeypatch)
