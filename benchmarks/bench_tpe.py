"""Optuna TPE cost per trial against the trial count, the old path and today's side by side.

TPE refits its estimators on every previous trial, so a trial costs more the more trials came
before it. One run per plant and path (hfs d1 with workers (2, 5, 2), make-or-buy list1, and
on request hfs d5; seed 0) stamps every simulation; a row is the cost of the ``repeats`` trials
(50 by default) ending at each trial count of ``TRIAL_COUNTS``: ``median_ms`` is the median wall
time of one of those trials, ``mean_ms`` and ``trials_per_s`` their mean, ``cpu_ms`` the
process CPU time per trial (less sensitive to a shared machine). The old path
(``study.optimize`` with one ``suggest_int`` per variable and Optuna's own sampler and
numerics, as ``optuna_tpe`` was before) is kept here as the reference; the two paths must give
the same history, or the benchmark fails.

Opt-in (minutes: the default counts, up to 1000 trials, take about 4 minutes on one core).
``SCMGYM_BENCH_TPE_TRIALS=500,1000,2000,5000`` sets the counts; 5000 trials take about 20-25
minutes per plant for the two paths (13-18 old, 6-8 new). ``SCMGYM_BENCH_TPE_PLANTS`` picks the
plants among ``PLANTS`` (default hfs d1 and make-or-buy list1; ``hfs d5``, 345 variables, costs
about 1.2 s per old-path trial from the first hundred on).
"""

from __future__ import annotations

import os
import statistics
import time

from scmgym.baselines.simple import optuna_tpe, optuna_tpe_reference
from scmgym.core import BudgetedEvaluator
from scmgym.experiments import Problem

OPT_IN = True
TRIAL_COUNTS = (100, 250, 500, 1000)
PLANTS = {"hfs d1": ("hfs:d1", "2,5,2"), "make-or-buy list1": ("make-or-buy:list1",),
          "hfs d5": ("hfs:d5", "1,3,1")}
DEFAULT_PLANTS = ("hfs d1", "make-or-buy list1")


class _Stamped(BudgetedEvaluator):
    """An evaluator noting the wall and CPU clocks after each recorded simulation."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def record(self, *args, **kwargs) -> None:
        super().record(*args, **kwargs)
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())


def _counts() -> tuple[int, ...]:
    text = os.environ.get("SCMGYM_BENCH_TPE_TRIALS")
    return tuple(int(c) for c in text.split(",")) if text else TRIAL_COUNTS


def _plants() -> tuple[str, ...]:
    text = os.environ.get("SCMGYM_BENCH_TPE_PLANTS")
    plants = tuple(p.strip() for p in text.split(",")) if text else DEFAULT_PLANTS
    unknown = [p for p in plants if p not in PLANTS]
    if unknown:
        raise ValueError(f"SCMGYM_BENCH_TPE_PLANTS: unknown {unknown}; allowed: {list(PLANTS)}")
    return plants


def _timed_run(fn, problem: Problem, budget: int, **hparams) -> _Stamped:
    ev = _Stamped(problem, budget, seed=0)
    ev.wall.append(time.perf_counter())
    ev.cpu.append(time.process_time())
    fn(ev, 0, **hparams)
    return ev


def run(repeats: int) -> list[dict]:
    counts = _counts()
    window = max(1, min(repeats, min(counts)))
    rows = []
    for plant in _plants():
        problem = Problem.parse(*PLANTS[plant])
        runs = {"old": _timed_run(optuna_tpe_reference, problem, max(counts)),
                "new": _timed_run(optuna_tpe, problem, max(counts))}
        if runs["old"].rows != runs["new"].rows:
            raise AssertionError(f"tpe on {plant}: the new path's history differs from the old")
        for count in counts:
            per_path = {}
            for path, ev in runs.items():  # stamps[k]: after trial k (stamps[0]: the start)
                wall = [b - a for a, b in zip(ev.wall[count - window:count],
                                              ev.wall[count - window + 1:count + 1], strict=True)]
                cpu = ev.cpu[count] - ev.cpu[count - window]
                per_path[path] = {"median_ms": 1000 * statistics.median(wall),
                                  "mean_ms": 1000 * statistics.fmean(wall),
                                  "trials_per_s": len(wall) / sum(wall),
                                  "cpu_ms": 1000 * cpu / window}
            for path in ("old", "new"):
                rows.append({"benchmark": f"tpe {plant} {path} trials {count - window + 1}-{count}",
                             "runs": window, "plant": plant, "path": path, "trials": count,
                             **per_path[path],
                             **({"speedup": per_path["old"]["mean_ms"]
                                 / per_path["new"]["mean_ms"]} if path == "new" else {})})
    return rows
