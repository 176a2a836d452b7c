"""HFS MILP relaxation: median wall time to build and solve it to optimality on d1-d4.

Target: within the default 5-minute time limit per dataset, one solver thread, workers (2, 5, 2).
Opt-in (minutes per run): ``python benchmarks/run.py --only milp --repeats 3``; at most 3 runs.
"""

from __future__ import annotations

import statistics
import time

from scmgym.baselines.milp import SolverOptions, solve_hfs
from scmgym.simulators import hfs

OPT_IN = True
TARGET_MS = 300_000.0
DATASETS = ("d1", "d2", "d3", "d4")


def run(repeats: int) -> list[dict]:
    rows = []
    options = SolverOptions(time_limit=TARGET_MS / 1000, threads=1)
    for name in DATASETS:
        inst = hfs.load_instance(name)
        times, results = [], []
        for _ in range(min(repeats, 3)):
            start = time.perf_counter()
            results.append(solve_hfs(inst, (2, 5, 2), options=options))
            times.append((time.perf_counter() - start) * 1000)
        rows.append({
            "benchmark": f"hfs milp build+solve {name} (2,5,2)",
            "median_ms": statistics.median(times),
            "runs": len(times),
            "target_ms": TARGET_MS,
            "status": sorted({r.status for r in results}),
            "bound": sorted({r.bound for r in results}),
        })
    return rows
