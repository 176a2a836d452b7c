"""Wall time of one make-or-buy simulation on list1: all-make and a typical decision vector.

The typical vector is an AnyLogic-evaluated vector of the Optuna history (spec §12.2 fact 8,
third row): 34 of the 100 orders made, about the history's average of 34. Each timed run uses
a new seed (a new replication), as an optimiser's evaluations do. Targets on one core:
<= 50 ms for the typical vector, <= 150 ms for all-make.
"""

from __future__ import annotations

import statistics
import time

from scmgym.simulators import make_or_buy as mob

TYPICAL = ("0101101011111111011010111111111100110101111010101110101110101011"
           "101001000100111001111111011101010101")
CASES = (
    ("make_or_buy list1 typical vector (34 made)", TYPICAL, 50.0),
    ("make_or_buy list1 all-make", "0" * 100, 150.0),
)


def run(repeats: int) -> list[dict]:
    instance = mob.load_instance("list1")
    rows = []
    for name, decisions, target in CASES:
        mob.simulate(instance, decisions, seed=10_000)  # warm-up (imports, caches)
        times = []
        for seed in range(max(1, repeats)):
            start = time.perf_counter()
            mob.simulate(instance, decisions, seed=seed)
            times.append((time.perf_counter() - start) * 1000.0)
        rows.append({"benchmark": name, "median_ms": statistics.median(times),
                     "runs": len(times), "target_ms": target, "dataset": "list1",
                     "made": decisions.count("0")})
    return rows
