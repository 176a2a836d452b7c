"""The outcome of one method on one problem with one seed: the same record for every method."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scmgym.core.evaluator import HISTORY_COLUMNS, Row, _cell, read_history
from scmgym.core.io import rewrite_csv, write_json


@dataclass
class RunResult:
    """One run's outcome.

    Attributes:
        method, problem, seed: what ran (``problem`` is the problem's label).
        best_value, best_solution: the best simulation of the run and the whole solution it
            simulated (HFS: priority order; make-or-buy: 0/1 vector, 1 = buy).
        simulations: real simulations charged to the budget.
        wall_seconds: the run's time, summed over its invocations when it was resumed.
        history: one row per simulation (:data:`~scmgym.core.evaluator.HISTORY_COLUMNS`).
        policy: what the method returns to act with, as JSON data (a tree, a plan, a model
            reference), or None.
        evaluation: the returned policy or plan over fresh episodes
            (:func:`scmgym.policies.evaluate`), or None before it is evaluated.
        extra: method-specific facts (hyperparameters, solver status, ...).

    A method may also set the attribute ``policy_object`` (not a field, never saved): the live
    policy, so that the run is evaluated without reloading it from the run directory.
    """

    method: str
    problem: str
    seed: int
    best_value: float | None
    best_solution: list[int] | None
    simulations: int
    wall_seconds: float
    history: list[Row] = field(repr=False)
    policy: dict[str, Any] | None = field(default=None, repr=False)
    evaluation: dict[str, Any] | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)

    def save(self, run_dir: Path) -> None:
        """Write ``result.json`` (everything but the history). ``history.csv`` is the budgeted
        evaluator's, written as the run went; it is written here only if it does not exist (a
        run made without a run directory)."""
        run_dir = Path(run_dir)
        data = asdict(self)
        data.pop("history")
        write_json(run_dir / "result.json", data)
        if not (run_dir / "history.csv").exists():
            rewrite_csv(run_dir / "history.csv", HISTORY_COLUMNS,
                        [tuple(_cell(c) for c in r) for r in self.history])

    @classmethod
    def load(cls, run_dir: Path) -> RunResult:
        run_dir = Path(run_dir)
        data = json.loads((run_dir / "result.json").read_text())
        return cls(**data, history=read_history(run_dir / "history.csv"))
