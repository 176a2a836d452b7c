"""Ctrl-C and SIGTERM end a MILP solve at once, also inside a loop of solves: the solver's own
interrupt handling (Pyomo turns on highspy's ``HandleKeyboardInterrupt``, which cancels the
solve and swallows the KeyboardInterrupt) must not make the loop go on with the next solve."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from scmgym.baselines.milp.common import SolverOptions, solve
from scmgym.core.io import terminate_as_interrupt

pyo = pytest.importorskip("pyomo.environ")


def market_split(m: int = 4, n: int = 30, seed: int = 0):
    """A market split instance (Cornuejols and Dawande): a few random equality rows over 30
    binaries, hard for branch and bound; HiGHS runs to any time limit of seconds on it."""
    rng = random.Random(seed)
    a = [[rng.randint(0, 99) for _ in range(n)] for _ in range(m)]
    model = pyo.ConcreteModel()
    model.x = pyo.Var(range(n), domain=pyo.Binary)
    model.s = pyo.Var(range(m), range(2), domain=pyo.NonNegativeReals)
    model.split = pyo.Constraint(range(m), rule=lambda mdl, i: sum(
        a[i][j] * mdl.x[j] for j in range(n)) + mdl.s[i, 0] - mdl.s[i, 1] == sum(a[i]) // 2)
    model.slack = pyo.Objective(expr=sum(model.s.values()))
    return model


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_solve_raises_keyboard_interrupt_after_it(sig):
    model = market_split()
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), sig))
    start = time.perf_counter()
    with terminate_as_interrupt(), pytest.raises(KeyboardInterrupt):
        timer.start()
        solve(model, SolverOptions(time_limit=30, threads=1))
    timer.join()
    assert time.perf_counter() - start < 15  # not the 30 s time limit
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_solve_without_a_signal_is_unchanged():
    info = solve(market_split(n=12), SolverOptions(time_limit=30, threads=1))
    assert info.status == "optimal"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
def test_ctrl_c_stops_a_planning_command_during_a_solve(tmp_path):
    """`scmgym plan snp` on an instance whose solve runs to its time limit: Ctrl-C one second
    into the solve ends the command with exit 130 and the resume message, not the plan."""
    argv = [sys.executable, "-m", "scmgym.cli", "plan", "snp", "--generate", "50,12,13",
            "--time-limit", "120", "--threads", "1", "--out", str(tmp_path / "plan")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    err_lines: list[str] = []
    # the progress line appears once the solve is under way
    assert proc.stderr is not None
    while time.time() < deadline:
        line = proc.stderr.readline()
        err_lines.append(line)
        if "monolithic:" in line or not line:
            break
    time.sleep(1.0)
    start = time.time()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(err_lines) + err
    assert time.time() - start < 30
    assert "rerun the same command" in err and "Traceback" not in err
