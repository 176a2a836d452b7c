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
    scmgym plan learn-decomposition --model cart --instances 1000 --jobs 2 --out dec/
    scmgym plan solve cart --patients 500 --profile uniform --decomposition learned --model dec/cnn
    scmgym plan bilevel --case stn --variant linear --runs 10 --out runs/bilevel-stn

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
    _add_learned_decomposition(models)
    from scmgym.cli import plan_bilevel

    plan_bilevel.add_parser(models)


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


# ---- learned decomposition ----------------------------------------------------------------

def _add_learned_decomposition(models: argparse._SubParsersAction) -> None:
    p = models.add_parser(
        "learn-decomposition",
        help="learn to fix a MILP's complicating binaries from solved instances",
        description="Solve generated instances to optimality (resumable, in parallel), train "
        "classifiers of the complicating binaries, and judge each on held-out instances: "
        "label metrics, then every test instance planned by fixing the prediction and "
        "repairing when needed, against its full optimum. See docs/learned_decomposition.md.")
    p.add_argument("--model", choices=("cart", "make-or-buy"), default="cart",
                   help="the MILP (cart: the CAR-T supply chain, default; make-or-buy: one "
                   "binary per order)")
    p.add_argument("--instances", type=int, default=2000,
                   help="instances solved in all, split 80/10/10 (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="instance streams and training seed")
    p.add_argument("--classifier", default=None,
                   help="one or more of cnn, tree, majority, knn, comma-separated (default "
                   "all, side by side; make-or-buy: tree, majority, knn)")
    p.add_argument("--epochs", type=int, default=200, help="CNN: most epochs (default 200)")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="where the instances are solved (default local)")
    p.add_argument("--address", default=None, help="ray: the cluster head HOST:PORT")
    p.add_argument("--jobs", type=int, default=1, help="parallel solves (default 1)")
    p.add_argument("--out", metavar="DIR", default="runs/learned-decomposition",
                   help="dataset, models and metrics (default runs/learned-decomposition; "
                   "rerun to resume)")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(handler=_run_learn)

    s = models.add_parser(
        "solve", help="solve one instance of a planning MILP (cart), whole or decomposed",
        description="Solve a CAR-T instance (generated, or a folder of tables) as the full "
        "MILP or by a learned decomposition.")
    s.add_argument("model", choices=("cart",), help="the MILP")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--patients", type=int, help="generate: patients per year")
    src.add_argument("--instance", metavar="DIR|FILE", help="a folder of tables or a workbook")
    s.add_argument("--profile", choices=("uniform", "left", "right"), default="uniform",
                   help="generate: demand profile (default uniform)")
    s.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    s.add_argument("--decomposition", choices=("none", "learned"), default="none",
                   help="none: the full MILP; learned: fix what the classifier in --model predicts")
    s.add_argument("--model", "--model-dir", dest="model_dir", metavar="DIR",
                   help="a classifier folder written by learn-decomposition (e.g. DIR/cnn)")
    s.add_argument("--json", action="store_true", help="print the result as one JSON object")
    s.set_defaults(handler=_run_solve)


def _run_learn(args: argparse.Namespace) -> int:
    from scmgym.planning.decomposition import CLASSIFIERS, learn_decomposition
    from scmgym.planning.decomposition.orders import ORDER_CLASSIFIERS

    known = ORDER_CLASSIFIERS if args.model == "make-or-buy" else CLASSIFIERS
    text = args.classifier or ",".join(known)
    names = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in names if c not in known]
    if bad or not names:
        raise DataError("bad --classifier", value=text,
                        allowed=f"one or more of {', '.join(known)}, comma-separated "
                        f"(for --model {args.model})")
    if args.instances < 3:
        raise DataError("bad --instances", value=args.instances, allowed="an integer >= 3")
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(what: str, done: int, total: int) -> None:
        bar = bars.get(what)
        if bar is None:
            for old in bars.values():
                old.close()
            bar = bars[what] = tqdm(total=total, desc=what, file=sys.stderr,
                                    disable=not sys.stderr.isatty(), leave=False)
        bar.n = done
        bar.refresh()

    from scmgym.experiments.backends import get_backend

    runner = get_backend(args.backend, args.jobs, args.address)
    summary = learn_decomposition(args.model, args.out, args.instances, seed=args.seed,
                                  classifiers=names, epochs=args.epochs, runner=runner,
                                  progress=progress)
    for bar in bars.values():
        bar.close()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_decomposition(summary))
        print(f"wrote {Path(args.out) / 'metrics.json'}", file=sys.stderr)
    return 0


def format_decomposition(summary: dict) -> str:
    """The side-by-side table of the classifiers' metrics."""
    rows = [("label accuracy", "label_accuracy", "{:.2%}"),
            ("sample accuracy", "sample_accuracy", "{:.2%}"), ("Jaccard", "jaccard", "{:.2%}"),
            ("Hamming loss", "hamming_loss", "{:.2%}"),
            ("reaches the optimum", "optimal_share", "{:.1%}"),
            ("mean regret", "mean_regret", "{:.2%}"), ("worst regret", "worst_regret", "{:.2%}"),
            ("repaired (share)", "infeasible_before_repair", "{:.1%}"),
            ("plans returned", "plans_returned", "{:.1%}"),
            ("fewer constraints", "constraint_reduction", "{:.1%}"),
            ("fewer binaries", "binary_reduction", "{:.1%}"),
            ("time / full MILP", "time_ratio", "{:.2f}"),
            ("wrong fixes per list", "wrong_fixes_per_list", "{:.2f}"),
            ("simulated revenue", "simulated_revenue", "{:,.1f}"),
            ("  full MILP plan's", "full_simulated_revenue", "{:,.1f}")]
    names = list(summary["results"])
    n = summary["instances"]
    lines = [f"{summary['model']}: {n.get('train', 0)} training, {n.get('validation', 0)} "
             f"validation, {n.get('test', 0)} test instances",
             f"{'':<22}" + "".join(f"{c:>12}" for c in names)]
    for label, key, fmt in rows:
        if all(key not in summary["results"][c] for c in names):
            continue
        cells = []
        for c in names:
            v = summary["results"][c].get(key)
            cells.append("-" if v is None else fmt.format(v))
        lines.append(f"{label:<22}" + "".join(f"{x:>12}" for x in cells))
    steps = {c: summary["results"][c].get("steps") for c in names}
    if all(steps.values()):
        lines.append(f"{'steps that planned':<22}" + "".join(
            f"{'/'.join(str(v) for v in steps[c].values()):>12}" for c in names)
            + "   (predicted/next/neighbourhood/full)")
    return "\n".join(lines)


def _run_solve(args: argparse.Namespace) -> int:
    from scmgym.planning.cart import CARTInstance, generate_cart_instance, solve_cart

    if args.instance is not None:
        inst = CARTInstance.load(args.instance)
    else:
        inst = generate_cart_instance(args.patients, args.profile, args.seed)
    print(f"{inst.name}: " + ", ".join(f"{v} {k}" for k, v in inst.summary().items()),
          file=sys.stderr)
    full = solve_cart(inst)
    data = {"instance": inst.name, **inst.summary(), "full": full.to_dict()}
    if args.decomposition == "learned":
        if args.model_dir is None:
            raise DataError("--decomposition learned needs --model DIR", column="--model",
                            allowed="a classifier folder written by learn-decomposition")
        from scmgym.planning.decomposition import decompose, load_classifier

        clf, problem = load_classifier(args.model_dir)
        probs = clf.predict_proba(problem.sequence(inst)[None])[0]
        d = decompose(problem, inst, probs)
        data["learned"] = {**d.to_dict(), "classifier": clf.name,
                           "probabilities": dict(zip(problem.labels, map(float, probs),
                                                     strict=True)),
                           "regret": (None if d.objective is None or full.cost is None
                                      else (d.objective - full.cost) / full.cost)}
    if args.json:
        print(json.dumps(data, indent=2))
        return 0 if full.feasible else 1
    print(f"full MILP      {full.status}: sites {', '.join(full.sites) or '-'}, cost "
          f"{'-' if full.cost is None else f'{full.cost:,.0f}'}"
          + (f" ({full.per_therapy:,.0f} per therapy)" if full.per_therapy else "")
          + f", {full.build_seconds + full.solve_seconds:.2f} s, {full.size.get('integers', 0)} "
          f"integer variables, {full.size.get('constraints', 0)} constraints")
    if "learned" in data:
        d = data["learned"]
        opened = [s for s, v in zip(problem.labels, d["labels"], strict=False) if v
                  and s != "infeasible"]
        cost = "-" if d["objective"] is None else f"{d['objective']:,.0f}"
        print(f"learned ({d['classifier']})  step {d['step']} (tried {', '.join(d['tried'])}): "
              f"sites {', '.join(opened) or '-'}, cost {cost}, {d['seconds']:.2f} s"
              + ("" if d["regret"] is None else f", regret {d['regret']:.2%}"))
    return 0 if full.feasible else 1
