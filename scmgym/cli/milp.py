"""``scmgym milp hfs|make-or-buy``: solve a plant's MILP model and simulate the plan it gives.

Examples::

    scmgym milp hfs --dataset d1 --workers 2,5,2 --time-limit 300 --json
    scmgym milp make-or-buy --list list1 --robust 0.9 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from scmgym.baselines.milp import SolverOptions
from scmgym.baselines.milp.common import SolverProgress
from scmgym.errors import DataError


def _solver_args(p: argparse.ArgumentParser, time_limit: float) -> None:
    g = p.add_argument_group("solver")
    g.add_argument("--time-limit", type=float, default=time_limit,
                   help=f"seconds before the solver stops with its incumbent "
                   f"(default {time_limit:g})")
    g.add_argument("--mip-gap", type=float, default=1e-4,
                   help="relative gap at which the solver stops (default 1e-4)")
    g.add_argument("--threads", type=int, default=None, help="solver threads (default: solver's)")
    g.add_argument("--solver", default="highs",
                   help="Pyomo solver name (default highs, through highspy; scip_direct "
                   "with pip install scmgym[scip])")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")


def _options(args: argparse.Namespace) -> SolverOptions:
    return SolverOptions(time_limit=args.time_limit, mip_rel_gap=args.mip_gap,
                         threads=args.threads, solver=args.solver)


class SolverProgressLine:
    """Shows a solve as it goes, from the solver's log: on a terminal one progress bar per
    subproblem (seconds against its time limit, with incumbent, bound and gap); elsewhere (a
    log file, CI) a plain line at most every ``every`` seconds. ``finished(line)`` closes the
    bar and prints the subproblem's closing line.

    Pyomo redirects the process's standard output and error (the file descriptors) into the
    log reader while the solver runs, so live lines go by default to a duplicate of standard
    error taken before any solve, which still reaches the terminal; closing lines, printed
    between solves, go to ``sys.stderr``."""

    def __init__(self, stream: Any = None, every: float = 15.0) -> None:
        self._given = stream
        if stream is None:
            sys.stderr.flush()
            try:
                stream = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
            except (OSError, ValueError):  # no descriptor behind it (captured in a test)
                stream = sys.stderr
        self.stream = stream
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every
        self._label: str | None = None
        self._bar: Any = None
        self._last = 0.0

    @staticmethod
    def describe(p: SolverProgress) -> str:
        def num(v: float | None) -> str:
            return "-" if v is None else format(v, ".6g")

        gap = "-" if p.gap is None else format(p.gap, ".2%")
        return f"incumbent {num(p.incumbent)}, bound {num(p.bound)}, gap {gap}"

    def __call__(self, label: str, limit: float, p: SolverProgress) -> None:
        if label != self._label:
            self._close()
            self._label = label
            if self.tty:
                from tqdm import tqdm

                self._bar = tqdm(total=round(limit, 1), desc=label, file=self.stream,
                                 leave=False, bar_format="{desc}: {bar} {n:.0f}/{total:.0f} s"
                                 "{postfix}")
        if self._bar is not None:
            self._bar.n = min(p.seconds, self._bar.total)
            self._bar.set_postfix_str(self.describe(p))
        elif time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            print(f"{label}: {p.seconds:.0f} s of {limit:.0f}, {self.describe(p)}",
                  file=self.stream, flush=True)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar = None
        self._label = None
        self._last = 0.0

    def finished(self, line: str) -> None:
        self._close()
        print(line, file=self._given or sys.stderr, flush=True)

    def __enter__(self) -> SolverProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()
        if self._given is None and self.stream is not sys.stderr:
            self.stream.close()  # the duplicate descriptor


def add_parser(commands: argparse._SubParsersAction) -> None:
    milp = commands.add_parser(
        "milp", help="MILP bounds and plans (Pyomo + HiGHS)",
        description="Solve a plant's MILP model, simulate the plan it gives and report the "
        "solver status, objective, bound and solve time.")
    plants = milp.add_subparsers(dest="plant", metavar="PLANT", required=True)

    h = plants.add_parser(
        "hfs", help="lower bound on the makespan and a priority order (time-indexed relaxation)",
        description="Solve the time-indexed relaxation of the Adige plant: a lower bound on the "
        "makespan of every priority order, and a priority order read off the relaxed schedule, "
        "simulated. See docs/milp.md.")
    h.add_argument("--dataset", default="d1",
                   help="bundled dataset d1..d5 or a CSV/Excel path (default d1)")
    h.add_argument("--workers", default="2,5,2", help="worker pools M,E,R (default 2,5,2)")
    h.add_argument("--stations", type=int, default=20, help="assembly stations (default 20)")
    h.add_argument("--trucks-per-day", type=int, default=1, help="trucks per day (default 1)")
    h.add_argument("--pickup", choices=("same-update", "next-update"), default="same-update",
                   help="pickup rule of the simulator (default same-update)")
    h.add_argument("--bucket", type=int, default=7,
                   help="days per time bucket in the middle of the horizon (default 7)")
    h.add_argument("--upper-bound", type=int, default=None,
                   help="an achievable makespan used as horizon (default: best of EDD/identity)")
    _solver_args(h, 300.0)
    h.set_defaults(handler=_run_hfs)

    m = plants.add_parser(
        "make-or-buy", help="make/buy plan from the surrogate MILP, simulated over fresh seeds",
        description="Solve the make-or-buy MILP on surrogate processing times (the mean, or a "
        "quantile with --robust) and simulate the plan over --seeds seeds. See docs/milp.md.")
    m.add_argument("--dataset", "--list", dest="dataset", default="list1", metavar="LIST",
                   help="bundled list (list1, list2, list3) or a CSV/Excel path (default list1; "
                   "--list is an alias)")
    m.add_argument("--robust", type=float, default=None, metavar="Q",
                   help="use the Q-quantile surrogate (0.5, 0.75, 0.9, 0.95) instead of the mean")
    m.add_argument("--seeds", type=int, default=100,
                   help="simulations of the plan, seeds 0..N-1 (default 100)")
    _solver_args(m, 300.0)
    m.set_defaults(handler=_run_make_or_buy)


def _run_hfs(args: argparse.Namespace) -> int:
    from scmgym.baselines.milp.hfs import solve_hfs
    from scmgym.cli.hfs import plant_options
    from scmgym.simulators import hfs

    instance = hfs.load_instance(args.dataset)
    result = solve_hfs(instance, args.workers, options=_options(args), plant=plant_options(args),
                       upper_bound=args.upper_bound, bucket=args.bucket)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(f"HFS time-indexed relaxation, dataset {result.dataset} ({instance.n} orders), "
          f"workers M,E,R = {','.join(map(str, result.workers))}")
    print(f"status              {result.status} ({result.termination}), "
          f"solve {result.solve_seconds:.1f} s, build {result.build_seconds:.1f} s")
    print(f"lower bound         {result.bound}   (analytic §12.4: {result.analytic_bound}, "
          f"solver: {result.solver_bound})")
    if result.simulated_makespan is not None:
        print(f"simulated makespan  {result.simulated_makespan}   (order rule "
              f"'{result.order_rule}'; gap to bound {100 * result.gap:.2f} %)")
        print(f"horizon             {result.horizon_makespan}   (best of EDD and identity)")
    return 0


def _run_make_or_buy(args: argparse.Namespace) -> int:
    from scmgym.baselines.milp.make_or_buy import solve_make_or_buy

    if args.seeds < 1:  # before the solve: a plan the command would not simulate is no answer
        raise DataError("--seeds must be a positive integer", value=args.seeds,
                        allowed="simulations of the plan, >= 1")
    result = solve_make_or_buy(args.dataset, quantile=args.robust, options=_options(args),
                               eval_seeds=args.seeds)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    label = "mean" if result.quantile is None else f"quantile {result.quantile:g}"
    print(f"make-or-buy MILP, list {result.instance} ({result.n_orders} orders), "
          f"surrogate {label}")
    print(f"status                  {result.status} ({result.termination}), "
          f"solve {result.solve_seconds:.1f} s")
    if result.decisions is None:
        return 0
    print(f"MILP objective          {result.objective:.1f}   (bound {result.bound}; made "
          f"{result.made}, on time {result.surrogate_on_time}, late {result.surrogate_late} "
          f"by the surrogate)")
    if result.simulated_mean_revenue is not None:
        print(f"simulated mean revenue  {result.simulated_mean_revenue:.1f} ± "
              f"{result.simulated_sd_revenue:.1f}   ({result.eval_seeds} seeds)")
    print("plan (1 = buy):        " + "".join(map(str, result.decisions)))
    return 0
