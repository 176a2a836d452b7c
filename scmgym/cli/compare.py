"""``scmgym compare``: every method on one problem, several seeds, one budget; tables and plots."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scmgym.core import Problem
from scmgym.experiments.compare import ALL_METHODS, compare


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "compare", help="compare methods under one simulation budget (the paper's protocol)",
        description="Run every method for several seeds under the same simulation budget, in "
        "parallel processes; write a run directory per run (resumable), results.csv, "
        "results.md and plots to --out.")
    p.add_argument("--problem", required=True,
                   help="hfs:<d1..d5 or path> or make-or-buy:<list1..list3 or path>")
    p.add_argument("--workers", default=None, help="HFS worker pools M,E,R (2,5,2)")
    p.add_argument("--engine", choices=("fast", "simpy"), default="fast",
                   help="simulator engine: fast (compiled, default) or simpy (the reference "
                   "models); both give the same results for the same seed")
    p.add_argument("--methods", default="all",
                   help=f"all, or a comma list of {','.join(ALL_METHODS)} (edd: HFS only)")
    p.add_argument("--runs", type=int, default=10, help="seeds per method (default 10)")
    p.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--budget", type=int, default=5000, help="simulations per run (5000)")
    p.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--reeval-seeds", type=int, default=100,
                   help="make-or-buy: fresh seeds to re-evaluate each best solution (100)")
    p.add_argument("--milp-time-limit", type=float, default=300.0,
                   help="seconds for the MILP solver (method milp, run once: it is deterministic; "
                   "default 300)")
    p.add_argument("--out", type=Path, default=Path("runs"), help="output folder (runs/)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.milp_time_limit > 0:
        raise ValueError(f"--milp-time-limit={args.milp_time_limit}; allowed: seconds > 0")
    for name in ("runs", "budget", "jobs", "reeval_seeds"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')}={getattr(args, name)}; "
                             "allowed: a positive integer")
    problem = Problem.parse(args.problem, args.workers, engine=args.engine)
    summary = compare(problem, args.methods, runs=args.runs, budget=args.budget,
                      jobs=args.jobs, out=args.out, reeval_seeds=args.reeval_seeds,
                      first_seed=args.first_seed, progress=sys.stderr.isatty(),
                      milp_time_limit=args.milp_time_limit)
    if summary["skipped"]:
        print(f"resumed: {summary['skipped']} finished run(s) reused")
    print(summary["files"]["results_md"].read_text())
    for key, path in summary["files"].items():
        print(f"{key}: {path}")
    return 0
