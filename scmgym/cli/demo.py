"""``scmgym demo``: the quick look at the bundled data that ``make demo`` runs."""

from __future__ import annotations

import argparse

from scmgym.simulators import hfs


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("demo", help="simulate the bundled data and print a summary")
    p.add_argument("--dataset", default="d1", help="HFS dataset (default d1)")
    p.add_argument("--workers", default="2,5,2", help="HFS worker pools M,E,R (default 2,5,2)")
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
    return 0
