"""Random search, the EDD greedy heuristic and Optuna TPE: schedule-as-a-whole baselines.

Each method is ``method(evaluator, seed, **hyperparameters)``: it proposes whole solutions to the
:class:`~scmgym.core.BudgetedEvaluator` until it is done or the budget is spent.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from scmgym.core import BudgetedEvaluator
from scmgym.errors import BudgetExhausted

log = logging.getLogger(__name__)
#: Candidates random search simulates per batch.
_RANDOM_BATCH = 64


def random_search(ev: BudgetedEvaluator, seed: int) -> dict[str, Any]:
    """Uniformly random solutions (shuffled permutations / fair coin flips) until the budget."""
    rng = np.random.default_rng(seed)
    n = ev.problem.size
    while True:  # batches through the plant's batch path; the same candidates one by one
        batch = max(1, min(_RANDOM_BATCH, ev.remaining))
        if ev.problem.kind == "permutation":
            ev.many([rng.permutation(n).tolist() for _ in range(batch)])
        else:
            ev.many([rng.integers(0, 2, size=n).tolist() for _ in range(batch)])


def edd_greedy(ev: BudgetedEvaluator, seed: int, tie_break: str = "stable") -> dict[str, Any]:
    """HFS only: earliest due date first; one simulation.

    ``tie_break="stable"`` (default) keeps CSV order among equal due dates; ``"quicksort"`` is
    the original script's unstable pandas default sort (implementation-defined ties).
    """
    from scmgym.simulators import hfs

    if not isinstance(ev.problem.instance, hfs.HFSInstance):
        raise ValueError("edd_greedy applies to the HFS plant only (it orders by due date)")

    ev(list(hfs.edd_order(ev.problem.instance, tie_break=tie_break)))
    return {"tie_break": tie_break}


def optuna_tpe(ev: BudgetedEvaluator, seed: int) -> dict[str, Any]:
    """Optuna's TPE sampler, one study per run seeded with ``seed``.

    Make-or-buy: one 0/1 variable per order. HFS: one integer priority 0..n per order; the ids are
    stably sorted by priority, descending (ties keep CSV order), as in the original script.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = ev.problem
    n = problem.size
    study = optuna.create_study(direction="minimize" if problem.direction == "min" else "maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))

    def objective(trial: optuna.Trial) -> float:
        if problem.kind == "binary":
            x = [trial.suggest_int(f"x{k}", 0, 1) for k in range(n)]
        else:
            values = [trial.suggest_int(str(k), 0, n) for k in range(n)]
            x = sorted(range(n), key=lambda k: -values[k])
        return ev(x)

    try:
        study.optimize(objective, n_trials=ev.remaining, catch=())
    except BudgetExhausted:
        pass
    return {"trials": len(study.trials)}
