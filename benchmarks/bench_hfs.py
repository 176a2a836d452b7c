"""HFS simulator speed: median wall time of one simulation over random permutations.

Targets (one core): d1 <= 10 ms, d5 <= 50 ms, with workers (2, 5, 2).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from scmgym.simulators import hfs

TARGETS_MS = {"d1": 10.0, "d5": 50.0}


def run(repeats: int) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for name, target in TARGETS_MS.items():
        inst = hfs.load_instance(name)
        hfs.simulate(inst, hfs.identity_order(inst))  # warm-up
        times = []
        makespans = []
        for _ in range(repeats):
            perm = rng.permutation(inst.n).tolist()
            start = time.perf_counter()
            res = hfs.simulate(inst, perm, workers=(2, 5, 2))
            times.append((time.perf_counter() - start) * 1000)
            makespans.append(res.makespan)
        rows.append({
            "benchmark": f"hfs simulate {name} random permutation",
            "median_ms": statistics.median(times),
            "runs": repeats,
            "target_ms": target,
            "median_makespan": statistics.median(makespans),
        })
    return rows
