"""CPU time per simulation inside each method, on hfs d1 and make-or-buy list1, before vs after.

Each method runs once per plant under a budget (default 2000 simulations; TPE and PPO, whose
cost per simulation is minutes at that budget, use ``SLOW_BUDGET``), seed 1, with no final
evaluation, in a fresh process; the row is the process CPU time of ``run_method`` divided by the
simulations it charged. Set ``SCMGYM_BEFORE`` to the path of an older checkout of the package
(for example ``git worktree add /tmp/before <rev>``) to time the same runs on it in the same
invocation: its rows are tagged ``before`` and the current tree's ``after``, with the ratio.

Opt-in (minutes): ``python benchmarks/run.py --only methods`` or
``python benchmarks/bench_methods.py [BUDGET]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

OPT_IN = True
ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = (("hfs", "d1"), ("make-or-buy", "list1"))
METHODS = ("random", "ga", "aco", "eldt", "gp", "tpe", "ppo")
BUDGET = 2000
#: Budget of the methods whose cost per simulation is large (TPE's grows with its trials).
SLOW_BUDGET = {"tpe": 500, "ppo": 200}

_CHILD = """
import json, sys, time
from scmgym.core import Problem
from scmgym.experiments.methods import run_method
plant, dataset, method, budget = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
problem = Problem(plant, dataset)
run_method(method, problem, 60, seed=0, eval_episodes=0)  # warm-up (compiles, caches)
start = time.process_time()
result = run_method(method, problem, budget, seed=1, eval_episodes=0)
print(json.dumps({"cpu_s": time.process_time() - start, "simulations": result.simulations}))
"""


def measure(tree: Path, plant: str, dataset: str, method: str, budget: int) -> dict:
    """CPU milliseconds per simulation of one run, in a fresh process importing ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", _CHILD, plant, dataset, method, str(budget)],
                         capture_output=True, text=True, env=env, check=True, cwd="/")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return {"ms": 1000.0 * data["cpu_s"] / data["simulations"],
            "simulations": data["simulations"]}


def run(repeats: int, budget: int = BUDGET) -> list[dict]:
    before = os.environ.get("SCMGYM_BEFORE")
    trees = [("after", ROOT)] + ([("before", Path(before))] if before else [])
    rows = []
    for plant, dataset in PROBLEMS:
        for method in METHODS:
            b = min(budget, SLOW_BUDGET.get(method, budget))
            got = {tag: measure(tree, plant, dataset, method, b) for tag, tree in trees}
            for tag, m in got.items():
                row = {"benchmark": f"{method} on {plant} {dataset}, per simulation ({tag})",
                       "median_ms": m["ms"], "runs": m["simulations"], "method": method,
                       "dataset": dataset, "tree": tag, "budget": b}
                if tag == "after" and "before" in got:
                    row["speedup"] = got["before"]["ms"] / m["ms"]
                rows.append(row)
    return rows


if __name__ == "__main__":
    for row in run(1, int(sys.argv[1]) if len(sys.argv) > 1 else BUDGET):
        extra = f"  speed-up x{row['speedup']:.1f}" if "speedup" in row else ""
        print(f"{row['benchmark']:<58} {row['median_ms']:>9.3f} ms  budget {row['budget']}{extra}")
