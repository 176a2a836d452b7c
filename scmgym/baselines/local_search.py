"""Iterated local search over whole solutions: a per-instance search baseline.

From a start solution, every step samples ``neighbours`` moves of the incumbent (HFS: swap two
orders or move one order to another position; make-or-buy: flip one decision), simulates them
as one batch, and moves to the best of them if it is better than the incumbent. After
``patience`` steps without improvement the search is kicked: ``kick`` random moves are applied
to the best solution found, and the descent starts again from there. It runs until the budget
is spent.

On the deterministic HFS plant a comparison is exact; on make-or-buy every candidate is one
noisy episode (the evaluator's search seeds), so the search follows lucky draws as any
single-episode search does, and the comparison re-evaluates its best plan on fresh seeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scmgym.core import BudgetedEvaluator

#: Start solutions: the HFS earliest-due-date order, or a random solution.
STARTS = ("edd", "random")


def _move(x: list[int], rng: np.random.Generator, permutation: bool) -> list[int]:
    """One random neighbour: a swap or an insertion (permutations), a flip (0/1 vectors)."""
    y = list(x)
    n = len(y)
    if not permutation:
        k = int(rng.integers(n))
        y[k] = 1 - y[k]
        return y
    i, j = (int(v) for v in rng.choice(n, size=2, replace=False))
    if rng.uniform() < 0.5:
        y[i], y[j] = y[j], y[i]
    else:
        y.insert(j, y.pop(i))
    return y


def local_search(ev: BudgetedEvaluator, seed: int, *, start: str = "edd",
                 neighbours: int = 32, patience: int = 5, kick: int = 3) -> dict[str, Any]:
    """Iterated local search until the budget is spent (module docstring).

    Args:
        start: ``"edd"`` (HFS: the earliest-due-date order; elsewhere the same as random) or
            ``"random"``.
        neighbours: moves simulated per step (one batch), >= 1.
        patience: steps without improvement before a kick, >= 1.
        kick: random moves of a kick, >= 1.
    """
    for name, value in (("neighbours", neighbours), ("patience", patience), ("kick", kick)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name}={value!r}; allowed: an integer >= 1")
    if start not in STARTS:
        raise ValueError(f"start={start!r}; allowed: {', '.join(STARTS)}")
    rng = np.random.default_rng(seed)
    problem = ev.problem
    permutation = problem.kind == "permutation"
    n = problem.size
    better = (lambda a, b: a < b) if problem.direction == "min" else (lambda a, b: a > b)
    if start == "edd" and problem.plant == "hfs":
        from scmgym.simulators import hfs

        current = [int(v) for v in hfs.edd_order(problem.instance)]
    elif permutation:
        current = rng.permutation(n).tolist()
    else:
        current = rng.integers(0, 2, size=n).tolist()
    value = float(ev(current))
    best, best_value = list(current), value
    stale = 0
    while True:
        batch = [_move(current, rng, permutation) for _ in range(min(neighbours, ev.remaining)
                                                                    or 1)]
        values = [float(v) for v in ev.many(batch)]
        k = int(np.argmin(values) if problem.direction == "min" else np.argmax(values))
        if better(values[k], value):
            current, value, stale = batch[k], values[k], 0
            if better(value, best_value):
                best, best_value = list(current), value
        else:
            stale += 1
        if stale >= patience:
            current = list(best)
            for _ in range(kick):
                current = _move(current, rng, permutation)
            value = float(ev(current))
            stale = 0
