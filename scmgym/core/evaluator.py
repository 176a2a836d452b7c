"""The one budget and history of every method.

:class:`BudgetedEvaluator` counts every real simulation, stops the method when the budget is
spent (:class:`~scmgym.errors.BudgetExhausted`, raised before simulating), and writes the one
history as it goes: a ``history.csv`` row per simulation with the columns
:data:`HISTORY_COLUMNS`, whichever method ran. Schedule-as-a-whole methods call it with a
solution (it simulates); policy-learning methods run episodes in an env and :meth:`record` each
finished one. Its state (:meth:`state_dict`) goes into a method's checkpoint, and
:meth:`BudgetedEvaluator.resume` reopens the history at exactly that state.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scmgym.core.io import RowWriter, rewrite_csv
from scmgym.core.registry import Objective
from scmgym.errors import BudgetExhausted

#: The columns of every method's ``history.csv``: the 1-based simulation number, its objective
#: value, the best value so far, the env episode's return (empty when the method simulated a
#: whole solution directly) and the method's generation or iteration (empty where it has none).
HISTORY_COLUMNS = ("simulation", "value", "best_so_far", "episode_return", "generation")

Row = tuple[int, float, float, float | None, int | None]


def _cell(value: float | int | None) -> Any:
    return "" if value is None else value


def read_history(path: Path, limit: int | None = None) -> list[Row]:
    """The rows of a ``history.csv`` (the first ``limit`` only, if given)."""
    with Path(path).open(newline="") as fh:
        reader = csv.reader(fh)
        header = tuple(next(reader, ()))
        if header != HISTORY_COLUMNS:
            raise ValueError(f"{path}: history columns {header}; expected {HISTORY_COLUMNS}")
        rows: list[Row] = []
        for cells in reader:
            if limit is not None and len(rows) >= limit:
                break
            rows.append((int(cells[0]), float(cells[1]), float(cells[2]),
                         float(cells[3]) if cells[3] != "" else None,
                         int(cells[4]) if cells[4] != "" else None))
    return rows


class BudgetedEvaluator:
    """Counts real simulations, stops at the budget, records the history once.

    Calling it simulates one solution of ``problem`` and returns its objective; stochastic
    problems draw each simulation's seed from a Generator seeded with ``seed`` (the search
    stream), so a run is reproducible.

    Args:
        problem: the problem (needed to simulate; a method that only records env episodes may
            pass ``objective`` instead).
        budget: the most simulations.
        seed: seeds the simulation seeds.
        history_path: if given, rows are appended and flushed as they come.
        objective: the objective, when there is no problem.
    """

    def __init__(self, problem=None, budget: int = 1, *, seed: int = 0,
                 history_path: Path | None = None, objective: Objective | None = None) -> None:
        if not (isinstance(budget, int | np.integer) and budget >= 1):
            raise ValueError(f"budget={budget!r}; allowed: a positive number of simulations")
        if problem is None and objective is None:
            raise ValueError("BudgetedEvaluator needs a problem or an objective")
        self.problem = problem
        self.objective = objective if objective is not None else problem.objective
        self.budget = int(budget)
        self.rng = np.random.default_rng(seed)
        self.rows: list[Row] = []
        self.best_value: float | None = None
        self.best_solution: list[int] | None = None
        #: The method's current generation or iteration, written with each row (None: none).
        self.generation: int | None = None
        self.history_path = None if history_path is None else Path(history_path)
        self._out = (RowWriter(self.history_path, HISTORY_COLUMNS, fresh=True)
                     if self.history_path is not None else None)

    @property
    def used(self) -> int:
        return len(self.rows)

    @property
    def remaining(self) -> int:
        return self.budget - self.used

    def check(self, n: int = 1) -> None:
        """Raise :class:`BudgetExhausted` unless ``n`` more simulations fit in the budget."""
        if self.used + n > self.budget:
            raise BudgetExhausted(f"simulation budget of {self.budget} spent")

    def __call__(self, solution: Sequence[int]) -> float:
        """Simulate ``solution`` once (charged against the budget) and return its objective."""
        if self.problem is None:
            raise TypeError("this evaluator only records episodes (it has no problem)")
        self.check()
        seed = int(self.rng.integers(2**63 - 1))
        value = self.problem.evaluate(solution, seed=seed)
        self.record(value, solution)
        return value

    def many(self, solutions: Sequence[Sequence[int]]) -> list[float]:
        """Simulate each solution once, in order, through the plant's batch path, and return
        their objectives: the same seeds, rows and values as calling the evaluator on each in
        turn. If the budget ends inside the batch, the solutions that fit are simulated and
        recorded, then :class:`BudgetExhausted` is raised (as the one-by-one calls would)."""
        if self.problem is None:
            raise TypeError("this evaluator only records episodes (it has no problem)")
        solutions = list(solutions)
        fit = solutions[:max(0, self.remaining)]
        seeds = [int(self.rng.integers(2**63 - 1)) for _ in fit]
        values = self.problem.evaluate_many(fit, seeds).tolist() if fit else []
        for x, value in zip(fit, values, strict=True):
            self.record(value, x)
        if len(fit) < len(solutions):
            self.check()
        return values

    def record(self, value: float, solution: Sequence[int] | None = None, *,
               episode_return: float | None = None) -> None:
        """Record a simulation run elsewhere (an env episode) against the budget."""
        self.check()
        value = float(value)
        if self.best_value is None or self.objective.better(value, self.best_value):
            self.best_value = value
            self.best_solution = None if solution is None else [int(x) for x in solution]
        row: Row = (self.used + 1, value, float(self.best_value),
                    None if episode_return is None else float(episode_return),
                    None if self.generation is None else int(self.generation))
        self.rows.append(row)
        if self._out is not None:
            self._out.write(tuple(_cell(c) for c in row))

    # -- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint needs to resume this evaluator exactly."""
        return {"used": self.used, "best_value": self.best_value,
                "best_solution": self.best_solution, "rng": self.rng.bit_generator.state,
                "generation": self.generation}

    def truncate(self, keep: int) -> None:
        """Keep only the first ``keep`` rows, in memory and on disk (back to a checkpoint)."""
        self.rows = self.rows[:keep]
        if self.history_path is not None:
            reopen = self._out is not None
            self.close()
            rewrite_csv(self.history_path, HISTORY_COLUMNS,
                        [tuple(_cell(c) for c in r) for r in self.rows])
            if reopen:
                self._out = RowWriter(self.history_path, HISTORY_COLUMNS)

    def load_state(self, state: dict[str, Any]) -> None:
        """Return to a :meth:`state_dict` taken earlier in this run."""
        self.truncate(int(state["used"]))
        self.best_value = state["best_value"]
        self.best_solution = state["best_solution"]
        self.rng.bit_generator.state = state["rng"]
        self.generation = state.get("generation")

    @classmethod
    def resume(cls, problem, budget: int, history_path: Path, state: dict[str, Any], *,
               objective: Objective | None = None) -> BudgetedEvaluator:
        """Reopen ``history_path`` at a checkpointed :meth:`state_dict`, with a (possibly
        larger) ``budget``; rows past the checkpoint are dropped."""
        history_path = Path(history_path)
        rows = read_history(history_path, limit=int(state["used"]))
        if len(rows) < int(state["used"]):
            raise ValueError(f"{history_path}: {len(rows)} rows, but the checkpoint counts "
                             f"{state['used']} simulations")
        ev = cls(problem, max(budget, 1), objective=objective)
        ev.history_path = history_path
        ev.rows = rows
        ev.truncate(len(rows))
        ev._out = RowWriter(history_path, HISTORY_COLUMNS)
        ev.best_value = state["best_value"]
        ev.best_solution = state["best_solution"]
        ev.rng.bit_generator.state = state["rng"]
        ev.generation = state.get("generation")
        return ev

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


def history_best(rows: Sequence[Row]) -> float:
    """The best value of a history (its last ``best_so_far``), nan if empty."""
    return rows[-1][2] if rows else math.nan
