"""Shared test fixtures."""

from __future__ import annotations

import signal

import pytest

from scmgym.core import BudgetedEvaluator


def pytest_configure(config) -> None:
    """Compile every numba kernel once, before any test worker or subprocess starts: numba's
    disk cache is not safe against processes writing the same file at once (a fresh checkout
    would otherwise have the xdist workers and the CLI subprocesses of the tests compiling
    together). xdist workers skip it: the controller has done it.

    Ctrl-C is made to reach the tests: a suite started in the background by a script
    (``make test &``, ``nohup``) inherits SIGINT *ignored*, and so would every process the
    tests start, and the tests that send Ctrl-C to a command would then see it do nothing."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if not hasattr(config, "workerinput"):
        from scmgym.experiments.warmup import warm_up

        warm_up()


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


@pytest.fixture(params=["simpy", "fast"])
def both_engines(request, monkeypatch) -> str:
    """Run a test once per simulator engine: ``hfs.simulate`` and ``make_or_buy.simulate`` take
    that engine unless the call names one (make-or-buy modes other than ``"fast"`` exist only
    on the SimPy engine and keep it). A module opts in with
    ``pytestmark = pytest.mark.usefixtures("both_engines")``."""
    from scmgym.simulators import hfs
    from scmgym.simulators import make_or_buy as mob

    engine = request.param
    hfs_simulate, mob_simulate = hfs.simulate, mob.simulate

    def hfs_on_engine(*args, **kwargs):
        kwargs.setdefault("engine", engine)
        return hfs_simulate(*args, **kwargs)

    def mob_on_engine(*args, **kwargs):
        literal = kwargs.get("literal") or kwargs.get("mode") not in (None, "fast")
        kwargs.setdefault("engine", "simpy" if literal else engine)
        return mob_simulate(*args, **kwargs)

    monkeypatch.setattr(hfs, "simulate", hfs_on_engine)
    monkeypatch.setattr(mob, "simulate", mob_on_engine)
    return engine
