"""``scmgym demo``: the quick look at the bundled data that ``make demo`` runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from scmgym.errors import DataError
from scmgym.simulators import hfs
from scmgym.simulators import make_or_buy as mob


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("demo", help="simulate the bundled data and print a summary")
    p.add_argument("--dataset", default="d1", help="HFS dataset (default d1)")
    p.add_argument("--workers", default="2,5,2", help="HFS worker pools M,E,R (default 2,5,2)")
    p.add_argument("--list", default="list1", help="make-or-buy order list (default list1)")
    p.add_argument("--seeds", type=int, default=10,
                   help="make-or-buy replications per decision vector (default 10)")
    p.add_argument("--budget", type=int, default=200,
                   help="simulations per method in the quick comparison (default 200)")
    p.add_argument("--methods", default="all", help="methods of the quick comparison (all)")
    p.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    p.add_argument("--milp-time-limit", type=float, default=60.0,
                   help="seconds for the MILP solver in the quick comparison (default 60)")
    p.add_argument("--out", type=Path, default=Path("runs/demo"),
                   help="output folder of the quick comparison (runs/demo)")
    p.add_argument("--no-compare", action="store_true", help="skip the quick comparison")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    for name in ("seeds", "budget", "jobs"):  # every argument checked before any work
        if getattr(args, name) < 1:
            raise DataError(f"--{name} must be a positive integer", value=getattr(args, name))
    if not args.milp_time_limit > 0:
        raise DataError("--milp-time-limit must be positive seconds", value=args.milp_time_limit)
    instance = hfs.load_instance(args.dataset)
    workers = hfs.Workers.parse(args.workers)
    plan = None if args.no_compare else comparison_plan(args, workers)
    bound = hfs.lower_bound(instance, workers)
    print(f"Adige hybrid flow shop, dataset {instance.name} ({instance.n} orders), "
          f"workers M,E,R = {workers}")
    print(f"{'priority rule':<28} {'makespan':>9} {'gap to bound':>13}")
    for label, order in (("EDD (earliest due date)", hfs.edd_order(instance)),
                         ("identity (CSV order)", hfs.identity_order(instance))):
        makespan = hfs.simulate(instance, order, workers=workers).makespan
        print(f"{label:<28} {makespan:>9} {makespan - bound:>13}")
    print(f"{'lower bound (spec §12.4)':<28} {bound:>9}")

    orders = mob.load_instance(args.list)
    print()
    print(f"ABCD make-or-buy plant, {orders.name} ({orders.n} orders), "
          f"revenue over {args.seeds} seeds")
    print(f"{'decisions':<28} {'mean':>9} {'sd':>7} {'made on time':>13} {'made late':>10}")
    rules = {
        "all buy": [1] * orders.n,
        "all make": [0] * orders.n,
        "make iff a < 6 and c >= 6": [0 if (o.a < 6 and o.c >= 6) else 1 for o in orders.orders],
    }
    for label, decisions in rules.items():
        runs = [mob.simulate(orders, decisions, seed=s) for s in range(args.seeds)]
        rev = np.array([r.revenue for r in runs], dtype=float)
        print(f"{label:<28} {rev.mean():>9.1f} {rev.std(ddof=1) if len(rev) > 1 else 0.0:>7.1f} "
              f"{np.mean([r.made_on_time for r in runs]):>13.1f} "
              f"{np.mean([r.late for r in runs]):>10.1f}")
    if plan is not None:
        quick_comparison(args, plan)
    return 0


def comparison_plan(args: argparse.Namespace, workers: hfs.Workers) -> list[tuple]:
    """The problems of the quick comparison and the methods each runs, all checked before any
    work. A method named in --methods that does not apply to one plant (EDD on make-or-buy)
    is left out on that plant, and the output says so."""
    from scmgym.core import Problem
    from scmgym.experiments.compare import ALL_METHODS, methods_for
    from scmgym.experiments.methods import METHODS, check_method

    asked = (list(ALL_METHODS) if args.methods.strip() == "all"
             else [n.strip() for n in args.methods.split(",")])
    bad = [n for n in asked if n not in METHODS]
    if bad or not all(asked) or len(set(asked)) != len(asked):
        methods_for(Problem.parse(f"hfs:{args.dataset}", workers), args.methods)  # its error
    plan = []
    for problem in (Problem.parse(f"hfs:{args.dataset}", workers),
                    Problem.parse(f"make-or-buy:{args.list}")):
        names = [n for n in asked if METHODS[n].applies_to(problem)]
        for name in names:
            check_method(name, problem, args.budget,
                         {"time_limit": args.milp_time_limit} if name == "milp" else {})
        plan.append((problem, names, [n for n in asked if n not in names]))
    return plan


def quick_comparison(args: argparse.Namespace, plan: list[tuple]) -> None:
    """Every method, one seed, a small budget, both plants; then the tables and the best trees."""
    from scmgym.experiments.compare import compare
    from scmgym.policies import TreePolicy

    for problem, names, left_out in plan:
        out = args.out / problem.name.replace(":", "-")
        print(f"\nQuick comparison on {problem.label}: every method, 1 seed, budget "
              f"{args.budget} simulations (output in {out})")
        if left_out:
            print(f"({', '.join(left_out)}: not for this plant)")
        if not names:
            continue
        summary = compare(problem, names, runs=1, budget=args.budget, jobs=args.jobs,
                          out=out, reeval_seeds=20, milp_time_limit=args.milp_time_limit)
        print(summary["files"]["results_md"].read_text())

        def headline(r, stochastic=problem.stochastic) -> float:  # the table's value of a run
            return r.evaluation["mean"] if stochastic else r.best_value

        trees = [r for m in ("eldt", "gp") for r in summary["runs"].get(m, [])
                 if r.policy is not None and r.policy.get("kind") in ("eldt", "gp")
                 and (r.evaluation is not None or not problem.stochastic)]
        if trees:
            best = (min if problem.direction == "min" else max)(trees, key=headline)
            tree = TreePolicy.from_json(json.dumps(best.policy)).simplify()
            what = ("re-evaluated mean" if problem.stochastic else "best")
            print(f"Best tree ({best.method}, {what} {problem.objective} {headline(best):g}):")
            print(tree.to_text())
