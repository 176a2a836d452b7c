"""``scmgym plan bilevel``: bi-level planning and scheduling by DOMINO (docs/bilevel.md).

Examples::

    scmgym plan bilevel --case stn --variant linear --runs 10 --out runs/bilevel-stn
    scmgym plan bilevel --case stn --optimiser optuna --runs 3 --samples 20 --budget 60 --json
    scmgym plan bilevel --case hfs --dataset d1 --weeks 4 --runs 10 --out runs/bilevel-hfs

Rerun the same command with the same ``--out`` to resume a killed study.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scmgym.errors import DataError


def add_parser(models: argparse._SubParsersAction) -> None:
    p = models.add_parser(
        "bilevel", help="bi-level planning and scheduling by data-driven optimisation (DOMINO)",
        description="A leader plans targets per period; each period's follower schedules "
        "them at least cost. DOMINO samples leader points, solves every follower at each, and "
        "optimises over the data with NOMAD or Optuna. See docs/bilevel.md.")
    p.add_argument("--case", choices=("stn", "hfs"), default="stn",
                   help="stn: a week of daily targets for the Kondili process (the paper's "
                   "case); hfs: crews per week for the Adige flow shop (default stn)")
    p.add_argument("--variant", choices=("linear", "nonlinear"), default="linear",
                   help="stn: linear (LP-MILP) or nonlinear (cubic holding cost, quadratic "
                   "batch cost: NLP-MIQP, needs SCIP) (default linear)")
    p.add_argument("--runs", type=int, default=10, help="independent runs (default 10)")
    p.add_argument("--samples", type=int, default=None,
                   help="sampled leader points per run (default 40)")
    p.add_argument("--budget", type=int, default=None,
                   help="optimiser evaluations per run after the sample (default 160)")
    p.add_argument("--sampler", choices=("lhs", "sobol"), default="lhs",
                   help="design of the sample (default lhs)")
    p.add_argument("--optimiser", "--optimizer", choices=("nomad", "optuna", "cmaes"),
                   default="nomad", help="data-driven optimiser (default nomad)")
    p.add_argument("--seed", type=int, default=0, help="root seed of the runs (default 0)")
    p.add_argument("--events", type=int, default=5,
                   help="stn: event points of each day's schedule (default 5, the source's)")
    p.add_argument("--horizon", type=float, default=8.0,
                   help="stn: hours in a day's schedule (default 8)")
    p.add_argument("--references", action="store_true",
                   help="stn: also the sequential approach and the integrated single-level "
                   "MILP (linear); hfs: every constant crew")
    p.add_argument("--dataset", default="d1", help="hfs: bundled name or CSV (default d1)")
    p.add_argument("--weeks", type=int, default=4, help="hfs: weeks (default 4)")
    p.add_argument("--rule", choices=("edd", "search", "tree"), default="edd",
                   help="hfs: the follower's scheduling rule (default edd; tree: --policy)")
    p.add_argument("--policy", metavar="FILE", default=None,
                   help="hfs, --rule tree: a policy.json from scmgym train eldt|gp --env hfs")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="where followers and runs are solved (default local)")
    p.add_argument("--address", default=None, help="ray: the cluster head HOST:PORT")
    p.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="write result.json, runs.jsonl, the followers' answers and plots "
                   "(rerun to resume)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def _problem(args):
    if args.case == "stn":
        from scmgym.planning.bilevel.stn_case import stn_problem

        if args.events < 1 or args.horizon <= 0:
            raise DataError("bad --events/--horizon", value=f"{args.events}/{args.horizon}",
                            allowed="events >= 1 and a positive horizon")
        return stn_problem(args.variant, events=args.events, horizon=args.horizon)
    if args.variant != "linear":
        raise DataError("bad --variant for --case hfs", value=args.variant,
                        allowed="linear (the HFS case has one variant)")
    from scmgym.planning.bilevel.hfs_case import hfs_problem

    if args.weeks < 1:
        raise DataError("bad --weeks", value=args.weeks, allowed="an integer >= 1")
    if (args.policy is None) != (args.rule != "tree"):
        raise DataError("--policy goes with --rule tree", value=args.policy,
                        allowed="--rule tree --policy FILE, or neither")
    return hfs_problem(args.dataset, weeks=args.weeks, rule=args.rule, seed=args.seed,
                       policy=args.policy)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from scmgym.experiments.backends import get_backend
    from scmgym.planning.bilevel.domino import DominoSettings
    from scmgym.planning.bilevel.study import run_study

    if args.runs < 1:
        raise DataError("bad --runs", value=args.runs, allowed="an integer >= 1")
    settings = DominoSettings(
        samples=40 if args.samples is None else args.samples,
        budget=160 if args.budget is None else args.budget,
        sampler=args.sampler, optimiser=args.optimiser)
    problem = _problem(args)
    runner = get_backend(args.backend, args.jobs, args.address)
    bars: dict[str, tqdm] = {}
    show = not args.no_progress and sys.stderr.isatty()

    def progress(phase: str, done: int, total: int) -> None:
        if not show:
            if phase == "runs" and done and not args.no_progress:  # a log line per run
                print(f"[{done}/{total}] runs finished", file=sys.stderr, flush=True)
            return
        bar = bars.get(phase)
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            label = {"sample": "sampled follower solves", "evaluate": "evaluations (run)",
                     "runs": "runs"}[phase]
            bar = bars[phase] = tqdm(total=total, desc=label, file=sys.stderr,
                                     leave=phase == "runs", position={"runs": 0}.get(phase, 1))
        bar.n = done
        bar.refresh()

    result = run_study(problem, settings, args.runs, args.seed, args.out, runner, progress)
    for bar in bars.values():
        bar.close()
    data = result.to_dict()
    data["case"] = args.case
    data["variant"] = args.variant
    if args.references:
        data["references"] = _references(problem, args)
    if args.out:
        _write(Path(args.out), data, args)
    if args.json:
        print(json.dumps(data, indent=2, default=float))
    else:
        print(format_result(data))
    return 0 if data["objective"] is not None else 1


def _references(problem, args) -> dict:
    if args.case == "hfs":
        from scmgym.planning.bilevel.hfs_case import constant_crew_baseline

        base = constant_crew_baseline(problem)
        return {"constant_crew": {k: base[k] for k in ("meets_due_dates", "cheapest")}
                | {"crews_evaluated": base["crews_evaluated"],
                   "on_time_crews": base["on_time_crews"]}}
    from scmgym.planning.bilevel.stn_case import integrated, sequential

    out = {"sequential": sequential(problem)}
    if args.variant == "linear":
        out["integrated"] = integrated(problem)
    return out


def _write(out: Path, data: dict, args) -> None:
    import csv

    from scmgym.core.io import write_json
    from scmgym.planning.bilevel.plots import plot_crews, plot_profiles, plot_stn_plan

    write_json(out / "result.json", data)
    runs = data["run_results"]
    with (out / "profiles.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["seed", "evaluation", "phase", "total", "feasible", "guaranteed", "best"])
        for r in runs:
            for h in r["history"]:
                w.writerow([r["seed"], h["evaluation"], h["phase"], h["total"], h["feasible"],
                            h["guaranteed"], h["best"]])
    ref, label = None, ""
    refs = data.get("references", {})
    if refs.get("integrated", {}).get("objective") is not None:
        ref, label = refs["integrated"]["objective"], "integrated MILP optimum"
    elif (refs.get("constant_crew", {}).get("cheapest") or {}).get("total") is not None:
        ref, label = refs["constant_crew"]["cheapest"]["total"], "cheapest constant crew"
    title = f"{data['problem']}: {args.optimiser}, {len(runs)} runs"
    plot_profiles(runs, out / "profiles.png", title, ref, label)
    if data["plan"] is not None:
        if args.case == "stn":
            plot_stn_plan(data["plan"], out / "plan.png", f"{data['problem']}: best plan, "
                          f"total {data['objective']:.1f}")
            with (out / "plan.csv").open("w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["product", "day", "demand", "production", "starting_inventory",
                            "ending_inventory"])
                for p, rows in data["plan"].items():
                    for t in range(len(rows["demand"])):
                        w.writerow([p, t + 1, rows["demand"][t], rows["production"][t],
                                    rows["starting_inventory"][t], rows["ending_inventory"][t]])
        else:
            plot_crews(data["plan"], out / "plan.png", f"{data['problem']}: best crews")
    print(f"wrote {out / 'result.json'}, plan and profiles", file=sys.stderr)


def format_result(data: dict) -> str:
    """The study as a short text report."""
    def num(v):
        return "-" if v is None else f"{v:,.2f}"

    s = data["settings"]
    lines = [f"{data['problem']}: DOMINO, {data['runs']} runs x ({s['samples']} sampled + "
             f"{s['budget']} {s['optimiser']} evaluations), {data['seconds']:.0f} s",
             f"  best total       {num(data['objective'])}  "
             f"({'guaranteed feasible' if data['guaranteed_feasible'] else 'NOT guaranteed'})",
             f"  mean +- s.e.     {num(data['mean'])} +- {num(data['stderr'])}  "
             f"(runs with a feasible plan: {data['runs_feasible']}/{data['runs']}; "
             f"guaranteed: {data['runs_guaranteed']})",
             "  per run          " + ", ".join(num(r["objective"]) for r in data["run_results"])]
    refs = data.get("references", {})
    if "sequential" in refs:
        seq = refs["sequential"]
        lines.append("  sequential       " + (num(seq["total"]) if seq["feasible"] else
                     f"infeasible (days {', '.join(map(str, seq['infeasible_days']))} cannot "
                     "be scheduled)"))
    if "integrated" in refs:
        i = refs["integrated"]
        lines.append(f"  integrated MILP  {num(i['objective'])} ({i['status']}, bound "
                     f"{num(i['bound'])}, {i['seconds']:.0f} s)")
    if "constant_crew" in refs:
        c = refs["constant_crew"]
        meets = c["meets_due_dates"]
        lines.append("  constant crew meeting every due date: " + (
            f"{meets['crew']} total {num(meets['total'])}" if meets else
            f"none of {c['crews_evaluated']}"))
        ch = c["cheapest"]
        if ch:
            lines.append(f"  cheapest constant crew: {ch['crew']} total {num(ch['total'])}")
    plan = data.get("plan")
    if plan and "weeks" in plan:
        metrics = (data.get("best") or {}).get("follower_metrics") or [{}] * len(plan["weeks"])
        for row, m in zip(plan["weeks"], metrics, strict=True):
            lines.append(f"  week {row['week']}: crew {row['crew']} ({row['orders']} orders)"
                         + (f": last delivery day {m['makespan']:.0f}, {m['late_orders']:.0f} "
                            f"late, {m['lateness']:.0f} order-days late" if m else ""))
    elif plan:
        for p, rows in plan.items():
            lines.append(f"  {p}: production {[round(v) for v in rows['production']]}, "
                         f"start {rows['starting_inventory'][0]:g}")
    return "\n".join(lines)
