"""The bi-level STN follower, two paths side by side: median wall time of one day's schedule
solved to optimality, the Pyomo model built and solved for each target vs the compiled path
(the model built once, each target only changing the final-state rows; HiGHS either way).

The same random targets (P1, P2 in 0..80) go to both paths, alternating, and their answers
must agree; the compiled row carries the speed-up (Pyomo median / compiled median). One row per
number of event points (4 and 5: the source's 5, and 4, which gives the same optima on every
target checked).
"""

from __future__ import annotations

import random
import statistics
import time

from scmgym.baselines.milp.common import SolverOptions, solve
from scmgym.planning.bilevel.stn import CompiledSTN, build_stn_model, kondili

OPTIONS = SolverOptions(threads=1, mip_rel_gap=0.0)
#: about a minute (40 targets, two paths, two event-point counts): run with --only bilevel
OPT_IN = True


def run(repeats: int) -> list[dict]:
    rng = random.Random(0)
    n = max(5, min(repeats, 40))  # a solve takes up to a second
    targets = [{"P1": float(rng.randint(0, 80)), "P2": float(rng.randint(0, 80))}
               for _ in range(n)]
    rows, answers = [], {}
    for events in (4, 5):
        data = kondili(events=events)
        fast = CompiledSTN(data)
        times: dict[str, list[float]] = {"pyomo": [], "compiled": []}
        for k, target in enumerate(targets):
            start = time.perf_counter()
            info = solve(build_stn_model(data, target), OPTIONS)
            times["pyomo"].append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            status, cost, _ = fast.solve(target)
            times["compiled"].append((time.perf_counter() - start) * 1000)
            if (status, cost) != (info.status, info.objective):
                raise AssertionError(f"paths differ at {target}: {status, cost} vs "
                                     f"{info.status, info.objective}")
            answers[events, k] = (status, cost)
        pyomo, compiled = (statistics.median(times[k]) for k in ("pyomo", "compiled"))
        rows.append({"benchmark": f"stn follower N={events}, pyomo", "median_ms": pyomo,
                     "runs": n})
        rows.append({"benchmark": f"stn follower N={events}, compiled", "median_ms": compiled,
                     "runs": n, "speedup": round(pyomo / compiled, 2)})
    same = sum(answers[4, k] == answers[5, k] for k in range(n))
    rows[-1]["same_optimum_as_N4"] = f"{same}/{n}"
    return rows
