"""``scmgym reproduce``: a whole suite in one resumable command, locally or on a Ray cluster."""

from __future__ import annotations

import argparse
from pathlib import Path

from scmgym.experiments.backends import BACKENDS
from scmgym.experiments.suite import BUNDLED


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "reproduce", help="run a whole suite (e.g. the study's protocol), resumable",
        description="Run every problem, method and seed of a suite on a backend, writing a "
        "run directory and a record line per finished run, then the statistics and report "
        "(DIR/report/report.md and .html). Rerunning the same command resumes: only the runs "
        "without a record are run.")
    p.add_argument("--suite", default="paper",
                   help=f"a bundled suite ({', '.join(BUNDLED)}) or a suite TOML file "
                   "(default paper)")
    p.add_argument("--runs", type=int, default=None, help="seeds per method (the suite's)")
    p.add_argument("--budget", type=int, default=None,
                   help="simulations per run (the suite's)")
    p.add_argument("--problems", default=None,
                   help="run only these problem ids, e.g. hfs:d1,make-or-buy:list1")
    p.add_argument("--methods", default=None, help="run only these methods, e.g. ga,eldt")
    p.add_argument("--backend", choices=BACKENDS, default="local",
                   help="local (process pool, default) or ray (Ray tasks)")
    p.add_argument("--address", default=None,
                   help="ray: the cluster head HOST:PORT (or auto); none starts a single-node "
                   "Ray with --jobs CPUs")
    p.add_argument("--jobs", type=int, default=1, help="parallel runs (default 1)")
    p.add_argument("--no-report", action="store_true", help="do not write the report")
    p.add_argument("--out", type=Path, required=True, help="the suite's folder")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from scmgym.experiments.reproduce import reproduce

    summary = reproduce(args.suite, args.out, runs=args.runs, budget=args.budget,
                        problems=args.problems, methods=args.methods, backend=args.backend,
                        jobs=args.jobs, address=args.address, report=not args.no_report)
    print(f"{summary['suite'].name}: {summary['planned']} run(s): {summary['ran']} run now, "
          f"{summary['recorded']} already recorded, {summary['adopted']} found finished and "
          "recorded")
    if "report_md" in summary["files"]:
        print(f"report: {summary['files']['report_md']}")
    for key in ("report_html", "results_csv"):
        if key in summary["files"]:
            print(f"{key}: {summary['files'][key]}")
    return 0
