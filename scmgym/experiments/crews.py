"""The crew of an HFS problem when a suite does not give one: a documented, reproducible rule.

The study ran every HFS instance with worker pools (M, E, R) it does not publish; it publishes
only each dataset's ``max_makespan``, the reference of its RL reward (500 days for d1-d3, 650 for
d4, 2500 for d5). The rule reads that number as the makespan the study's plant was sized for:

    the crew is the smallest one (fewest workers, M + E + R) whose earliest-due-date schedule
    finishes within ``max_makespan``; among crews of that size, the one with the shortest EDD
    makespan, then the first in (M, E, R) order.

EDD is the plant's own dispatching rule with no search, so the crew is sized by the instance
alone, before any method runs, and every method then works on the same tight plant. The values
for the bundled datasets (``docs/experiments.md`` lists them and a test keeps them):

=======  ============  =========  ===============
dataset  max_makespan  crew       EDD makespan
=======  ============  =========  ===============
d1       500           (2, 5, 2)  472
d2       500           (1, 5, 1)  487
d3       500           (2, 5, 2)  472
d4       650           (1, 4, 1)  610
d5       2500          (1, 3, 1)  2426
=======  ============  =========  ===============

>>> rule_crew("d1").workers
(2, 5, 2)
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

from scmgym.errors import DataError, InfeasibleError

#: The largest pool of one kind the rule tries.
MAX_POOL = 12


@dataclass(frozen=True)
class CrewChoice:
    """The crew the rule chose: its pools, its EDD makespan and the limit it had to meet."""

    workers: tuple[int, int, int]
    edd_makespan: int
    max_makespan: int


def _crews_of_size(size: int):
    for m, e in itertools.product(range(1, MAX_POOL + 1), repeat=2):
        r = size - m - e
        if 1 <= r <= MAX_POOL:
            yield (m, e, r)


@functools.cache
def rule_crew(dataset: str, max_makespan: int | None = None) -> CrewChoice:
    """The rule's crew for an HFS dataset (a bundled name or a path).

    Args:
        dataset: the dataset.
        max_makespan: the makespan the EDD schedule must meet; None takes the study's value of a
            bundled dataset (a dataset given by path must give it).

    Raises:
        DataError: no ``max_makespan`` for a dataset given by path, or no crew up to
            :data:`MAX_POOL` workers of each kind meets it.
    """
    from scmgym.core import Problem
    from scmgym.envs.hfs import MAX_MAKESPAN
    from scmgym.simulators import hfs

    if max_makespan is None:
        if dataset not in MAX_MAKESPAN:
            raise DataError("a dataset given by path needs max_makespan (or workers) for the "
                            "crew rule", column="max_makespan", value=dataset,
                            allowed="a positive number of days")
        max_makespan = MAX_MAKESPAN[dataset]
    base = Problem("hfs", dataset)
    order = list(hfs.edd_order(base.instance))
    for size in range(3, 3 * MAX_POOL + 1):
        found = []
        for workers in _crews_of_size(size):
            try:
                makespan = int(hfs.simulate(base.instance, order, workers=workers,
                                            record_work=False, engine="fast").makespan)
            except InfeasibleError:  # a day needs more workers of a kind than the crew has
                continue
            if makespan <= max_makespan:
                found.append((makespan, workers))
        if found:
            makespan, workers = min(found)
            return CrewChoice(workers, makespan, int(max_makespan))
    raise DataError(f"no crew of at most {MAX_POOL} workers per kind finishes the EDD schedule "
                    f"of {dataset} within max_makespan", column="max_makespan",
                    value=max_makespan, allowed="a larger max_makespan, or give workers")
