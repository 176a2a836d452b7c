"""``scmgym simulate make-or-buy``: simulate the ABCD plant under a decision vector over seeds.

Example::

    scmgym simulate make-or-buy --list list1 --decisions all-make --seeds 100
    scmgym simulate make-or-buy --list list1 --decisions my_vector.csv --json
    scmgym simulate make-or-buy --list list2 --decisions all-make --timeline timeline.png
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from scmgym.errors import DataError
from scmgym.simulators import make_or_buy as mob


def add_parser(plants: argparse._SubParsersAction) -> None:
    p = plants.add_parser(
        "make-or-buy", help="simulate the ABCD make-or-buy plant",
        description="Simulate the ABCD make-or-buy plant under one decision vector, once per "
        "seed, and print the revenue statistics and the order counts.",
    )
    p.add_argument("--dataset", "--list", dest="dataset", default="list1", metavar="LIST",
                   help="bundled list (list1, list2, list3) or a CSV/Excel file with columns "
                   "id,a,b,c,deadline (default list1; --list is an alias)")
    p.add_argument("--decisions", default="all-make", metavar="DECISIONS",
                   help="all-make, all-buy, a CSV/Excel file with columns id,decision "
                   "(0 make, 1 buy), or a string of n 0/1 characters (default all-make)")
    p.add_argument("--seeds", type=int, default=100,
                   help="number of replications, seeds FIRST..FIRST+SEEDS-1 (default 100)")
    p.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object instead of the text summary")
    p.add_argument("--timeline", type=Path, default=None, metavar="PNG",
                   help="plot the first seed's completions against the deadlines to this file")
    p.add_argument("--no-truck-speed-latch", dest="truck_speed_latch", action="store_false",
                   help="drive the truck at 1 m/s instead of the AnyLogic latched speed")
    p.add_argument("--empty-orders", choices=("next_tick", "reject"), default="next_tick",
                   help="making an order with a=b=c=0: complete at the next assembly tick "
                   "(default) or reject it")
    p.add_argument("--mode", choices=tuple(mob.MODES), default=None,
                   help="the simulator's shortcuts: fast (default, all of them), literal (none: "
                   "every assembly tick, truck loop and component; slow), or literal-ticks, "
                   "literal-truck, literal-lines in between; every mode has the same "
                   "distribution")
    p.add_argument("--literal", action="store_true",
                   help="alias of --mode literal")
    p.add_argument("--engine", choices=mob.ENGINES, default="simpy",
                   help="simpy (the reference model, default) or fast (compiled, mode fast "
                   "only: the same run for the same seed, ~50x faster)")
    p.set_defaults(handler=run)


def resolve_decisions(text: str, instance: mob.MakeOrBuyInstance) -> tuple[int, ...]:
    """``all-make``, ``all-buy``, a decision file, or a 0/1 string, as a checked vector."""
    if text == "all-make":
        return (0,) * instance.n
    if text == "all-buy":
        return (1,) * instance.n
    path = Path(text).expanduser()
    if path.is_file():
        return mob.load_decisions(path, instance)
    if text and set(text) <= {"0", "1"}:
        return mob.check_decisions(instance, text, source="--decisions")
    raise DataError("no such decision file", source="--decisions", value=text,
                    allowed=f"all-make, all-buy, the path of a CSV/Excel file with columns "
                    f"id,decision, or {instance.n} characters 0/1")


def run(args: argparse.Namespace) -> int:
    if args.seeds < 1:
        raise DataError("--seeds must be at least 1", value=args.seeds, allowed="an integer >= 1")
    instance = mob.load_instance(args.dataset)
    decisions = resolve_decisions(args.decisions, instance)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    mode = mob.resolve_mode(args.mode, True if args.literal else None).name
    options = {"truck_speed_latch": args.truck_speed_latch, "empty_orders": args.empty_orders,
               "mode": mode, "literal": mode == "literal",
               "engine": mob.resolve_engine(args.engine, mode)}
    results = [mob.simulate(instance, decisions, seed=s, **options) for s in seeds]
    revenues = [r.revenue for r in results]
    mean = statistics.fmean(revenues)
    sd = statistics.stdev(revenues) if len(revenues) > 1 else 0.0
    made = decisions.count(0)
    if args.timeline is not None:
        plot_timeline(results[0], instance, args.timeline, seed=seeds[0])
    if args.json:
        print(json.dumps({
            "dataset": instance.name,
            "n_orders": instance.n,
            "made": made,
            "bought": instance.n - made,
            "seeds": seeds,
            "options": options,
            "mean_revenue": mean,
            "sd_revenue": sd,
            "min_revenue": min(revenues),
            "max_revenue": max(revenues),
            "revenues": revenues,
            "on_time": [r.on_time for r in results],
            "made_on_time": [r.made_on_time for r in results],
            "late": [r.late for r in results],
            "end_time": [r.end_time for r in results],
            "timeline": None if args.timeline is None else str(args.timeline),
        }))
        return 0
    on_made = [r.made_on_time for r in results]
    late = [r.late for r in results]
    print(f"make-or-buy {instance.name} ({instance.n} orders): {made} made, "
          f"{instance.n - made} bought; {len(seeds)} seed(s) {seeds[0]}..{seeds[-1]}")
    print(f"revenue   mean {mean:.1f}  sd {sd:.1f}  min {min(revenues)}  max {max(revenues)}")
    print(f"on time   made {statistics.fmean(on_made):.2f} on average "
          f"(min {min(on_made)}, max {max(on_made)}); with the bought ones "
          f"{statistics.fmean(on_made) + instance.n - made:.2f}")
    print(f"late      {statistics.fmean(late):.2f} on average (min {min(late)}, max {max(late)})")
    print(f"bought    {instance.n - made}")
    if args.timeline is not None:
        print(f"timeline  {args.timeline} (seed {seeds[0]})")
    return 0


def plot_timeline(result: mob.MakeOrBuyResult, instance: mob.MakeOrBuyInstance, path: Path,
                  *, seed: int) -> None:
    """Plot each order's completion (made) or purchase time against its deadline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = result.records
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ids = [r.order_id for r in recs]
    ax.scatter(ids, [r.deadline_days for r in recs], marker="_", s=80, color="black",
               label="deadline")
    groups = (
        ("made, on time", "tab:green", "o", lambda r: r.decision == 0 and r.on_time),
        ("made, late", "tab:red", "o", lambda r: r.decision == 0 and not r.on_time),
        ("bought (at dispatch time)", "tab:grey", "x", lambda r: r.decision == 1),
    )
    for label, color, marker, keep in groups:
        sel = [r for r in recs if keep(r)]
        if sel:
            ax.scatter([r.order_id for r in sel], [r.completion for r in sel], s=14,
                       color=color, marker=marker, label=label)
    ax.set_xlabel("order id (dispatch order)")
    ax.set_ylabel("days after 2024-06-19")
    ax.set_title(f"make-or-buy {instance.name}, seed {seed}: revenue {result.revenue} "
                 f"({result.made_on_time} made on time, {result.late} late, "
                 f"{result.bought} bought)")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
