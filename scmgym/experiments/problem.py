"""The whole-vector view of a plant for schedule-as-a-whole methods, and the one budget wrapper.

A :class:`Problem` turns a solution into one simulation: a permutation of the order ids (highest
priority first) for the HFS plant, a 0/1 vector (1 = buy) for the make-or-buy plant.
:class:`BudgetedEvaluator` counts every real simulation, stops the method when the budget is spent
(:class:`~scmgym.trainers.common.BudgetExhausted`) and records the history once, as it goes.
Every method's outcome is a :class:`RunResult`.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scmgym.errors import DataError
from scmgym.trainers.common import BudgetExhausted, RowWriter, write_json

HISTORY_COLUMNS = ("simulation", "value", "best_so_far")


@dataclass(frozen=True)
class Problem:
    """One plant instance seen as a black box ``evaluate(solution, seed) -> objective``.

    Args:
        plant: ``"hfs"`` or ``"make-or-buy"``.
        dataset: a bundled name or a path.
        workers: HFS worker pools (M, E, R).
    """

    plant: str
    dataset: str
    workers: tuple[int, int, int] = (2, 5, 2)

    def __post_init__(self) -> None:
        if self.plant not in ("hfs", "make-or-buy"):
            raise DataError("unknown plant", value=self.plant, allowed="hfs or make-or-buy")
        object.__setattr__(self, "_instance", self._load())

    @classmethod
    def parse(cls, text: str, workers: Sequence[int] | str = (2, 5, 2)) -> Problem:
        """``"hfs:d1"`` or ``"make-or-buy:list1"`` (dataset part: a bundled name or a path)."""
        from scmgym.simulators.hfs import Workers

        plant, sep, dataset = text.partition(":")
        if not sep or not dataset:
            raise DataError("problem must be PLANT:DATASET", value=text,
                            allowed="hfs:<d1..d5 or path> or make-or-buy:<list1..list3 or path>")
        return cls(plant, dataset, tuple(Workers.parse(workers)))

    def _load(self):
        if self.plant == "hfs":
            from scmgym.simulators import hfs

            inst = hfs.load_instance(self.dataset)
            hfs.check_feasible(inst, self.workers)
            return inst
        from scmgym.simulators import make_or_buy as mob

        return mob.load_instance(self.dataset)

    @property
    def instance(self):
        return self._instance  # type: ignore[attr-defined]

    @property
    def name(self) -> str:
        return f"{self.plant}:{self.dataset}"

    @property
    def label(self) -> str:
        """Name with the workers for HFS (``hfs:d1 (2,5,2)``)."""
        if self.plant == "hfs":
            return f"{self.name} ({','.join(map(str, self.workers))})"
        return self.name

    @property
    def objective(self) -> str:
        return "makespan" if self.plant == "hfs" else "revenue"

    @property
    def direction(self) -> str:
        """``"min"`` (HFS makespan) or ``"max"`` (make-or-buy revenue)."""
        return "min" if self.plant == "hfs" else "max"

    @property
    def kind(self) -> str:
        """Solution space: ``"permutation"`` (HFS) or ``"binary"`` (make-or-buy, 1 = buy)."""
        return "permutation" if self.plant == "hfs" else "binary"

    @property
    def size(self) -> int:
        return self.instance.n

    @property
    def stochastic(self) -> bool:
        """Whether one solution's objective varies with the seed (make-or-buy only)."""
        return self.plant == "make-or-buy"

    def better(self, a: float, b: float) -> bool:
        return a < b if self.direction == "min" else a > b

    def evaluate(self, solution: Sequence[int], *, seed: int = 0) -> float:
        """One real simulation of ``solution``."""
        if self.plant == "hfs":
            from scmgym.simulators import hfs

            return float(hfs.simulate(self.instance, list(solution), workers=self.workers,
                                      seed=seed, record_work=False).makespan)
        from scmgym.simulators import make_or_buy as mob

        return float(mob.simulate(self.instance, list(solution), seed=seed).revenue)

    def env_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the plant's env for this problem."""
        if self.plant == "hfs":
            return {"dataset": self.dataset, "workers": tuple(self.workers)}
        return {"dataset": self.dataset}

    def make_env(self, **kwargs):
        """The plant's Gymnasium env (unwrapped class) for policy-learning methods."""
        if self.plant == "hfs":
            from scmgym.envs.hfs import HybridFlowShopEnv

            return HybridFlowShopEnv(**{**self.env_kwargs(), **kwargs})
        from scmgym.envs.make_or_buy import MakeOrBuyEnv

        return MakeOrBuyEnv(**{**self.env_kwargs(), **kwargs})


class BudgetedEvaluator:
    """Counts real simulations of a problem, stops at the budget, records the history once.

    Calling it simulates one solution and returns its objective; when the budget is spent it
    raises :class:`BudgetExhausted` before simulating. Stochastic problems draw each simulation's
    seed from a Generator seeded with ``seed``, so a run is reproducible.

    Args:
        problem: the problem.
        budget: the most simulations.
        seed: seeds the simulation seeds.
        history_path: if given, ``simulation,value,best_so_far`` rows are appended and flushed
            as they come.
    """

    def __init__(self, problem: Problem, budget: int, *, seed: int = 0,
                 history_path: Path | None = None) -> None:
        if budget < 1:
            raise ValueError(f"budget={budget}; allowed: a positive number of simulations")
        self.problem = problem
        self.budget = int(budget)
        self.rng = np.random.default_rng(seed)
        self.rows: list[tuple[int, float, float]] = []
        self.best_value: float | None = None
        self.best_solution: list[int] | None = None
        self._out = (RowWriter(Path(history_path), HISTORY_COLUMNS, fresh=True)
                     if history_path is not None else None)

    @property
    def used(self) -> int:
        return len(self.rows)

    @property
    def remaining(self) -> int:
        return self.budget - self.used

    def __call__(self, solution: Sequence[int]) -> float:
        if self.used >= self.budget:
            raise BudgetExhausted(f"simulation budget of {self.budget} spent")
        seed = int(self.rng.integers(2**63 - 1))
        value = self.problem.evaluate(solution, seed=seed)
        self.record(value, solution)
        return value

    def record(self, value: float, solution: Sequence[int] | None) -> None:
        """Record a simulation run elsewhere (e.g. an env episode) against this budget."""
        if self.best_value is None or self.problem.better(value, self.best_value):
            self.best_value = value
            self.best_solution = None if solution is None else [int(x) for x in solution]
        row = (self.used + 1, float(value), float(self.best_value))
        self.rows.append(row)
        if self._out is not None:
            self._out.write(row)

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


@dataclass
class RunResult:
    """The outcome of one method on one problem with one seed (the same for every method)."""

    method: str
    problem: str
    seed: int
    best_value: float | None
    best_solution: list[int] | None
    simulations: int
    wall_seconds: float
    history: list[tuple[int, float, float]] = field(repr=False)
    policy: dict[str, Any] | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)

    def save(self, run_dir: Path) -> None:
        """Write ``result.json`` (everything but the history) and ``history.csv``."""
        run_dir = Path(run_dir)
        data = asdict(self)
        data.pop("history")
        write_json(run_dir / "result.json", data)
        with (run_dir / "history.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(HISTORY_COLUMNS)
            writer.writerows(self.history)

    @classmethod
    def load(cls, run_dir: Path) -> RunResult:
        run_dir = Path(run_dir)
        data = json.loads((run_dir / "result.json").read_text())
        with (run_dir / "history.csv").open(newline="") as fh:
            rows = [(int(r[0]), float(r[1]), float(r[2])) for r in list(csv.reader(fh))[1:]]
        return cls(**data, history=rows)


def run_with_budget(method: str, problem: Problem, budget: int, seed: int, fn,
                    history_path: Path | None = None, **hparams: Any) -> RunResult:
    """Run a schedule-as-a-whole method ``fn(evaluator, seed, **hparams)`` until it returns or
    the budget is spent, and wrap the outcome as a :class:`RunResult`."""
    evaluator = BudgetedEvaluator(problem, budget, seed=seed, history_path=history_path)
    start = time.perf_counter()
    extra: dict[str, Any] = {}
    try:
        extra = fn(evaluator, seed, **hparams) or {}
    except BudgetExhausted:
        pass
    finally:
        evaluator.close()
    return RunResult(method=method, problem=problem.label, seed=seed,
                     best_value=evaluator.best_value, best_solution=evaluator.best_solution,
                     simulations=evaluator.used, wall_seconds=time.perf_counter() - start,
                     history=evaluator.rows, extra={"hparams": hparams, **extra})
