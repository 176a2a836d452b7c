"""``scmgym evaluate POLICY --on TARGETS``: a saved policy on instances it never saw, against
per-instance references (:mod:`scmgym.experiments.generalisation`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` command to the ``scmgym`` parser."""
    p = commands.add_parser(
        "evaluate", help="apply a saved policy to other instances, without retraining",
        description="Apply a saved policy (a run directory or its policy.json) to every "
        "instance of --on, over --seeds episodes of the test seed stream each, and print per "
        "instance and in aggregate: the policy's mean, a per-instance reference (make-or-buy: "
        "the instance's MILP plan; HFS: a GA search with --search-budget simulations), the "
        "baseline (all-buy; EDD), the HFS lower bound, the policy in %% of the reference (gap "
        "for HFS) and 95%% confidence intervals. References are cached by instance content.")
    p.add_argument("policy", type=Path, metavar="POLICY",
                   help="a run directory (policy.json, config.json) or a policy.json file")
    p.add_argument("--on", required=True, metavar="TARGETS",
                   help="instances: a comma list of datasets and generator splits with a "
                   "count, e.g. list2,list3,generated:test:50")
    p.add_argument("--seeds", type=int, default=100, help="episodes per instance (100)")
    p.add_argument("--reference", choices=("milp", "search", "none"),
                   help="the per-instance reference (make-or-buy: milp; HFS: search)")
    p.add_argument("--search-budget", type=int, default=5000,
                   help="simulations of the per-instance search reference (5000)")
    p.add_argument("--milp-time-limit", type=float, default=60.0,
                   help="seconds per per-instance MILP (60)")
    p.add_argument("--workers", help="HFS crew M,E,R to test with (the training run's)")
    p.add_argument("--jobs", type=int, default=1, help="instances in parallel (1)")
    p.add_argument("--cache", type=Path,
                   help="where references are kept ($SCMGYM_CACHE or ~/.cache/scmgym)")
    p.add_argument("--no-cache", action="store_true", help="solve every reference again")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--out", type=Path, help="also write the result as JSON to this file")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table (or JSON) and write --out; returns 0."""
    from scmgym.core.io import write_json
    from scmgym.experiments.generalisation import (
        default_cache,
        evaluate_on,
        format_result,
        read_policy,
    )

    saved = read_policy(args.policy, workers=args.workers)
    cache = None if args.no_cache else (args.cache or default_cache())
    result = evaluate_on(saved, args.on, seeds=args.seeds, reference=args.reference,
                         search_budget=args.search_budget,
                         milp_time_limit=args.milp_time_limit, cache=cache, jobs=args.jobs)
    if args.out is not None:
        write_json(args.out, result)
    print(json.dumps(result, indent=2) if args.json else format_result(result))
    return 0
