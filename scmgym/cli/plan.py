"""``scmgym plan snp|production-distribution``: the planning models above the plants.

``snp`` plans a supply network (load or generate an instance, solve it whole or by a
decomposition, write the plan, the costs and a plot); ``production-distribution`` plans two
plants and their DCs with the integrated MILP and with the GA + PSO configurator.

Examples::

    scmgym plan snp --generate 3,4,6 --seed 0
    scmgym plan snp --generate 200,20,26 --decomposition product --time-limit 120 --out plan/
    scmgym plan snp --instance my-network/ --json
    scmgym plan snp --instance network.xlsx --plot F1@W1 --out plan/
    scmgym plan production-distribution --scenario 3 --skus 10 --seed 0 --method both
    scmgym plan production-distribution --instance my-plants/ --method milp --json

Exit status: 0 with a plan, 1 without one (infeasible data, which is diagnosed, no plan within
the time limit, or an infeasible configurator plan) and on bad input.
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
    _add_production_distribution(models)


def _write_result(folder: str, data: dict) -> tuple[Path, list[Path]]:
    """Create the --out folder and write result.json into it."""
    from scmgym.core.io import write_json

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "result.json", data)
    return out, [out / "result.json"]


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
        out, written = _write_result(args.out, data)
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


# ---- production-distribution ---------------------------------------------------------------

def _add_production_distribution(models: argparse._SubParsersAction) -> None:
    p = models.add_parser(
        "production-distribution",
        help="two plants and their DCs: the MILP against the GA + PSO configurator",
        description="Plan 14 days of production on two plants' lines and the distribution to "
        "their DCs, by the integrated MILP and by the three-phase GA + PSO configurator; "
        "print the costs, the configurator's path and the line utilisation. See "
        "docs/planning.md.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--instance", metavar="DIR|FILE",
                     help="a folder of CSV tables or an .xlsx workbook")
    src.add_argument("--scenario", type=int, choices=(1, 2, 3),
                     help="generate an instance of the capstone's scenario 1, 2 or 3")
    p.add_argument("--skus", type=int, default=10, help="generator: SKUs (default 10)")
    p.add_argument("--seed", type=int, default=0,
                   help="generator seed and the configurator's seed (default 0)")
    p.add_argument("--method", choices=("milp", "configurator", "both"), default="both",
                   help="which method plans (default both)")
    p.add_argument("--no-moq", action="store_true",
                   help="ignore the minimum order quantities (both methods)")
    g = p.add_argument_group("configurator")
    g.add_argument("--generations", type=int, default=50,
                   help="GA generations per run (default 50, the capstone's)")
    g.add_argument("--population", type=int, default=50, help="GA population (default 50)")
    g.add_argument("--iterations", type=int, default=50, help="PSO iterations (default 50)")
    g.add_argument("--particles", type=int, default=30, help="PSO particles (default 30)")
    g.add_argument("--constraint-handling", choices=("repair", "penalty"), default="repair",
                   help="repair plans into feasibility, or penalise violations (default "
                   "repair)")
    g.add_argument("--distribution", choices=("lp", "rule"), default="lp",
                   help="final distribution of the configurator's production: the "
                   "distribution LP or the decoder's rule (default lp)")
    _solver_args(p, 60.0)
    p.add_argument("--out", metavar="DIR", default=None,
                   help="write result.json, each method's plan tables and plan figure (and "
                   "the generated instance)")
    p.set_defaults(handler=_run_production_distribution)


def _run_production_distribution(args: argparse.Namespace) -> int:
    from scmgym.planning.production_distribution import (
        PDInstance,
        generate_production_distribution_instance,
        solve_milp,
    )
    from scmgym.planning.production_distribution.configurator import (
        ConfiguratorSettings,
        run_configurator,
    )

    if args.instance is not None:
        inst = PDInstance.load(args.instance)
    else:
        if args.skus < 2:
            raise DataError("bad --skus", value=args.skus, allowed="an integer >= 2")
        inst = generate_production_distribution_instance(args.scenario, args.skus, args.seed)
    settings = ConfiguratorSettings(
        generations=args.generations, population=args.population,
        iterations=args.iterations, particles=args.particles,
        constraint_handling=args.constraint_handling, distribution=args.distribution)
    options = _options(args)
    print(f"{inst.name}: " + ", ".join(f"{v} {k}" for k, v in inst.summary().items()),
          file=sys.stderr)
    results = {}
    if args.method in ("milp", "both"):
        with SolverProgressLine() as live:
            results["milp"] = solve_milp(
                inst, options, moq=not args.no_moq,
                on_progress=lambda p: live("milp", options.time_limit, p))
            live.finished(f"milp: {results['milp'].status} in {results['milp'].seconds:.1f} s")
    if args.method in ("configurator", "both"):
        results["configurator"] = run_configurator(
            inst, settings, seed=args.seed, moq=not args.no_moq, options=options,
            progress=lambda line: print(line, file=sys.stderr, flush=True))
    data = {"instance": inst.name, **inst.summary(),
            **{name: r.to_dict() for name, r in results.items()}}
    if "milp" in results and "configurator" in results:
        exact, meta = results["milp"].cost, results["configurator"].cost
        data["gap"] = (meta - exact) / exact if exact and meta is not None else None
    written = []
    if args.out is not None:
        from scmgym.planning.production_distribution.plots import plot_plan
        from scmgym.planning.tables import write_tables

        out, written = _write_result(args.out, data)
        for name, r in results.items():
            if r.report is not None:
                written.append(write_tables(out / name, r.report.tables))
                written.append(plot_plan(inst, r.report, out / f"{name}.png",
                                         title=f"{inst.name}, {name}: cost "
                                         f"{r.report.cost:,.0f}"
                                         + ("" if r.feasible else " (infeasible)")))
        if args.instance is None:
            written.append(inst.write(out / "instance"))
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        _print_pd(inst, results, data.get("gap"))
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0 if all(r.feasible for r in results.values()) else 1


def _print_pd(inst, results: dict, gap: float | None) -> None:
    def money(v):
        return "-" if v is None else f"{v:,.0f}"

    names = list(results)
    print(f"{'':<22}" + "".join(f"{n:>16}" for n in names))
    print(f"{'cost':<22}" + "".join(f"{money(results[n].cost):>16}" for n in names))
    for term in next(iter(results.values())).costs or {}:
        print(f"{'  ' + term:<22}" + "".join(
            f"{money(results[n].costs.get(term)):>16}" for n in names))
    print(f"{'feasible':<22}" + "".join(f"{str(results[n].feasible):>16}" for n in names))
    print(f"{'seconds':<22}" + "".join(f"{results[n].seconds:>16.1f}" for n in names))
    if "milp" in results:
        r = results["milp"]
        print(f"{'milp status, gap':<22}{r.status:>16}"
              f"{'-' if r.gap is None else format(r.gap, '.3%'):>16}")
    if gap is not None:
        print(f"configurator over the MILP: {gap:+.2%}")
    if "configurator" in results:
        print("configurator path: " + " -> ".join(
            step["phase"] for step in results["configurator"].path))
    for n in names:
        k = results[n].kpis
        if not k:
            continue
        util = ", ".join(f"{line} {u:.0%}" for line, u in k["utilisation"].items())
        print(f"{n}: utilisation {util}")
        print(f"{n}: stockout {k['stockout_unit_days']:,.0f} unit-days "
              f"({k['backlog_at_end']:,.0f} units still backlogged at the end), stock "
              f"{k['stock_vs_target']:.0%} of target, {k['below_minimum_share']:.0%} of "
              f"SKU-DC-days below the minimum")
    for n in names:
        for v in results[n].violations[:10]:
            print(f"{n} violates: {v}")
