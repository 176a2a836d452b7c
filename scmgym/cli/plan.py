"""``scmgym plan snp``: plan a supply network (load or generate an instance, solve it whole or
by a decomposition, write the plan, the costs and a plot).

Examples::

    scmgym plan snp --generate 3,4,6 --seed 0
    scmgym plan snp --generate 200,20,26 --decomposition product --time-limit 120 --out plan/
    scmgym plan snp --instance my-network/ --json
    scmgym plan snp --instance network.xlsx --plot F1@W1 --out plan/

Exit status: 0 with a plan, 1 without one (infeasible data, which is diagnosed, or no plan
within the time limit) and on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scmgym.cli.milp import SolverProgressLine, _options, _solver_args
from scmgym.errors import DataError


def add_parser(commands: argparse._SubParsersAction) -> None:
    plan = commands.add_parser(
        "plan", help="tactical planning models above the plants (snp)",
        description="Plan above the plants: see docs/planning.md.")
    models = plan.add_subparsers(dest="model", metavar="MODEL", required=True)
    p = models.add_parser(
        "snp", help="supply network planning MIP, whole or decomposed",
        description="Solve a supply network planning instance (a folder of CSV tables or an "
        ".xlsx workbook, or a generated one) as one MIP or by a decomposition; print the "
        "costs and write the plan. See docs/planning.md for the tables and the model.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--instance", metavar="DIR|FILE",
                     help="a folder of CSV tables or an .xlsx workbook")
    src.add_argument("--generate", metavar="P,L,T",
                     help="generate an instance of P products, L locations and T weekly "
                     "buckets (T is ignored with --buckets)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p.add_argument("--buckets", metavar="SCHEME", default=None,
                   help="generator buckets as COUNTxDAYS parts, e.g. 14x1,8x7,9x30")
    p.add_argument("--utilisation", type=float, default=0.8,
                   help="generator: planned machine load at mean demand (default 0.8)")
    p.add_argument("--decomposition", default="none",
                   choices=("none", "components", "product", "time", "priority"),
                   help="how to solve (default none: the monolithic MIP)")
    p.add_argument("--order", choices=("value", "demand", "given"), default="value",
                   help="product decomposition: order of the product lines (default value)")
    p.add_argument("--preallocate", action="store_true",
                   help="product decomposition: reserve capacity for later lines by an LP")
    p.add_argument("--time-split", choices=("even", "complexity"), default="even",
                   help="how the time limit is shared among subproblems (default even)")
    p.add_argument("--window", type=int, default=None,
                   help="time decomposition: buckets per window")
    p.add_argument("--overlap", type=int, default=None,
                   help="time decomposition: buckets shared by consecutive windows")
    _solver_args(p, 300.0)
    p.add_argument("--out", metavar="DIR", default=None,
                   help="write the plan tables, result.json (and the generated instance)")
    p.add_argument("--plot", metavar="PRODUCT@LOCATION", default=None,
                   help="plot stock, flows and capacity use at one stock point (into --out, "
                   "or plan-PRODUCT-LOCATION.png)")
    p.set_defaults(handler=_run_snp)


def _generate_args(text: str) -> tuple[int, int, int]:
    try:
        parts = [int(x) for x in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3 or parts[0] < 3 or parts[1] < 4 or parts[2] < 1:
        raise DataError("bad --generate", value=text,
                        allowed="PRODUCTS,LOCATIONS,BUCKETS with products >= 3, "
                        "locations >= 4, buckets >= 1, e.g. 3,4,6")
    return parts[0], parts[1], parts[2]


def _run_snp(args: argparse.Namespace) -> int:
    from scmgym.planning.snp import (
        generate_snp_instance,
        load_snp_instance,
        solve_snp,
        write_snp_instance,
    )

    if args.instance is not None:
        inst = load_snp_instance(args.instance)
    else:
        n_p, n_l, n_t = _generate_args(args.generate)
        inst = generate_snp_instance(n_p, n_l, None if args.buckets else n_t, args.seed,
                                     buckets=args.buckets, utilisation=args.utilisation)
    product = location = None
    if args.plot is not None:
        product, sep, location = args.plot.partition("@")
        if not sep or not product or not location:
            raise DataError("bad --plot", value=args.plot, allowed="PRODUCT@LOCATION, e.g. F1@W1")
        from scmgym.planning.snp.plots import check_stock_point

        check_stock_point(inst, product, location)
    options = _options(args)
    summary = inst.summary()
    print(f"{inst.name}: " + ", ".join(f"{v} {k}" for k, v in summary.items())
          + f"; decomposition {args.decomposition}", file=sys.stderr)
    with SolverProgressLine() as live:
        result = solve_snp(inst, args.decomposition, options=options, order=args.order,
                           preallocate=args.preallocate, time_split=args.time_split,
                           window=args.window, overlap=args.overlap,
                           progress=live.finished, solver_progress=live)
    data = result.to_dict()
    written = []
    if args.out is not None:
        from scmgym.core.io import write_json

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "result.json", data)
        written.append(out / "result.json")
        if result.plan is not None:
            written += result.plan.write(out / "plan")
        if args.instance is None:
            write_snp_instance(inst, out / "instance")
            written.append(out / "instance")
    if args.plot is not None and result.plan is not None:
        from scmgym.planning.snp.plots import plot_stock_point

        name = f"plan-{product}-{location}.png"
        path = (Path(args.out) / name) if args.out is not None else Path(name)
        plot_stock_point(inst, result.plan, product, location, path)
        written.append(path)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        _print_summary(result)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0 if result.plan is not None else 1


def _print_summary(result) -> None:
    print(f"status     {result.status}")
    if result.objective is not None:
        print(f"objective  {result.objective:.6g} (total cost)")
    print(f"bound      {'-' if result.bound is None else format(result.bound, '.6g')}"
          f"    gap {'-' if result.gap is None else format(result.gap, '.3%')}")
    for term, value in result.costs.items():
        print(f"  {term:<12} {value:14.2f}")
    if result.delivered:
        print("delivered  " + ", ".join(f"priority {k}: {v:.1%}"
                                        for k, v in result.delivered.items()))
    print(f"time       {result.seconds:.1f} s ({result.build_seconds:.1f} build, "
          f"{result.solve_seconds:.1f} solve, {result.check_seconds:.1f} check; "
          f"{len(result.steps)} subproblem(s), largest {result.size['variables']} variables, "
          f"{result.size['integers']} integer)")
    for v in result.violations[:10]:
        print(f"violated   {v}")
    if result.diagnosis:
        print("the hard constraints contradict each other; for a plan to exist:")
        for d in result.diagnosis[:20]:
            print(f"  - {d['text']}")
        if len(result.diagnosis) > 20:
            print(f"  ... and {len(result.diagnosis) - 20} more")
