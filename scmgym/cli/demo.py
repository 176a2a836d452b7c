"""``scmgym demo``: the quick look at the bundled data that ``make demo`` runs."""

from __future__ import annotations

import argparse

import numpy as np

from scmgym.simulators import hfs
from scmgym.simulators import make_or_buy as mob


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("demo", help="simulate the bundled data and print a summary")
    p.add_argument("--dataset", default="d1", help="HFS dataset (default d1)")
    p.add_argument("--workers", default="2,5,2", help="HFS worker pools M,E,R (default 2,5,2)")
    p.add_argument("--list", default="list1", help="make-or-buy order list (default list1)")
    p.add_argument("--seeds", type=int, default=10,
                   help="make-or-buy replications per decision vector (default 10)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    instance = hfs.load_instance(args.dataset)
    workers = hfs.Workers.parse(args.workers)
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
    return 0
