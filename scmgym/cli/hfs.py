"""``scmgym simulate hfs``: simulate the Adige flow shop under one priority order."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scmgym.simulators import hfs

NAMED_ORDERS = {
    "identity": hfs.identity_order,
    "edd": hfs.edd_order,
    "reverse": hfs.reverse_order,
    "edd-quicksort": lambda inst: hfs.edd_order(inst, tie_break="quicksort"),
}


def add_parser(plants: argparse._SubParsersAction) -> None:
    p = plants.add_parser(
        "hfs",
        help="simulate the Adige hybrid flow shop",
        description="Simulate the Adige hybrid flow shop under one priority order; print the "
        "makespan, the lower bound and a per-order table.",
    )
    p.add_argument("--dataset", default="d1",
                   help="bundled dataset d1..d5 or a CSV/Excel path (default d1)")
    p.add_argument("--workers", default="2,5,2", help="worker pools M,E,R (default 2,5,2)")
    p.add_argument("--order", default="edd",
                   help="priority order: identity, edd, reverse, edd-quicksort, or a CSV/Excel "
                   "file with one column order_id, highest priority first (default edd)")
    p.add_argument("--stations", type=int, default=20, help="assembly stations (default 20)")
    p.add_argument("--trucks-per-day", type=int, default=1, help="trucks per day (default 1)")
    p.add_argument("--pickup", choices=("same-update", "next-update"), default="same-update",
                   help="can a machine leave with the truck of the update it finished in "
                   "(same-update, the model's behaviour) or only the next one")
    p.add_argument("--max-days", type=int, default=None, help="safety cap on simulated days")
    p.add_argument("--engine", choices=("simpy", "fast"), default="simpy",
                   help="simpy (the reference model, default) or fast (compiled: the same "
                   "days and records, no truck hours)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the truck times (never changes the day-level result)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--gantt", type=Path, default=None, metavar="PNG",
                   help="draw stations over days to this image file")
    p.set_defaults(handler=run)


def resolve_order(spec: str, instance: hfs.HFSInstance) -> tuple[int, ...]:
    """A named order (identity, edd, reverse, edd-quicksort) or a priority file."""
    if spec in NAMED_ORDERS:
        return NAMED_ORDERS[spec](instance)
    return hfs.load_priority_file(spec, instance)


def plant_options(args: argparse.Namespace) -> hfs.PlantOptions:
    """The plant options of ``--stations``, ``--trucks-per-day`` and ``--pickup``."""
    return hfs.PlantOptions(stations=args.stations, trucks_per_day=args.trucks_per_day,
                            pickup=args.pickup.replace("-", "_"))


def run(args: argparse.Namespace) -> int:
    instance = hfs.load_instance(args.dataset)
    workers = hfs.Workers.parse(args.workers)
    order = resolve_order(args.order, instance)
    options = plant_options(args)
    result = hfs.simulate(instance, order, workers=workers, options=options,
                          max_days=args.max_days, seed=args.seed, engine=args.engine)
    bounds = hfs.lower_bounds(instance, workers, options=options)
    if args.gantt is not None:
        from scmgym.plots import hfs_gantt

        hfs_gantt(result, args.gantt,
                  title=f"{instance.name}, order {args.order}, workers {workers}: "
                  f"makespan {result.makespan}")
    if args.json:
        payload = {"dataset": instance.name, "order_rule": args.order,
                   "lower_bound": max(bounds.values()), "lower_bounds": bounds,
                   **result.to_dict()}
        print(json.dumps(payload))
        return 0
    print(f"dataset {instance.name} ({instance.n} orders), workers M,E,R = {workers}, "
          f"order {args.order}")
    print(f"makespan     {result.makespan} days")
    print(f"lower bound  {max(bounds.values())} days  ("
          + ", ".join(f"{k} {v}" for k, v in bounds.items()) + ")")
    print(f"gap          {result.makespan - max(bounds.values())} days")
    print()
    header = ("id", "type", "rank", "admitted", "finished", "picked", "delivered", "due")
    print("{:>4} {:<13} {:>5} {:>9} {:>9} {:>7} {:>10} {:>5}".format(*header))
    for r in result.records:
        print(f"{r.order_id:>4} {r.machine_type:<13} {r.rank:>5} {r.admission_day:>9} "
              f"{r.finish_day:>9} {r.pickup_day:>7} {r.delivery_day:>10} {r.due_day:>5}")
    if args.gantt is not None:
        print(f"\nGantt chart written to {args.gantt}")
    return 0
