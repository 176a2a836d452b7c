"""The comparison runner: every method, several seeds, one budget, in parallel processes.

Each (method, seed) run writes its own run directory as soon as it finishes
(``<out>/<problem>__<method>__s<seed>__<timestamp>/`` with ``result.json`` and ``history.csv``);
a later call with the same settings skips the runs already there. The summary goes to
``results.csv`` / ``results.md`` and the plots to ``convergence.png``, ``final_boxplot.png`` and,
for the HFS plant, ``gantt_best.png``.

On the stochastic make-or-buy plant every run's best-found solution is re-evaluated over fresh
seeds (100 by default): the mean of those is the headline number (the best single draw found
during the search is optimistic, a winner's curse, and is reported beside it).
"""

from __future__ import annotations

import csv
import json
import logging
import multiprocessing as mp
import re
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from scmgym.experiments.problem import Problem, RunResult, run_with_budget
from scmgym.trainers import common

log = logging.getLogger(__name__)

#: Every method, in table order. EDD applies to the HFS plant only.
ALL_METHODS = ("random", "edd", "tpe", "ga", "aco", "eldt", "gp", "ppo", "milp")
#: Methods whose result does not depend on the seed: run once, with the first seed.
DETERMINISTIC_METHODS = ("milp",)
REEVAL_SEED_BASE = 1_000_000_007


def methods_for(problem: Problem, names: Sequence[str] | str = "all") -> list[str]:
    """Resolve ``"all"`` or a list of names, dropping methods that do not apply to the plant."""
    if isinstance(names, str):
        names = ALL_METHODS if names == "all" else [n.strip() for n in names.split(",") if n]
    unknown = [n for n in names if n not in ALL_METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; allowed: all or "
                         f"{', '.join(ALL_METHODS)}")
    return [n for n in names if not (n == "edd" and problem.plant != "hfs")]


def _baseline(name: str):
    if name == "random":
        from scmgym.baselines.simple import random_search
        return random_search
    if name == "edd":
        from scmgym.baselines.simple import edd_greedy
        return edd_greedy
    if name == "tpe":
        from scmgym.baselines.simple import optuna_tpe
        return optuna_tpe
    if name == "ga":
        from scmgym.baselines.ga import genetic_algorithm
        return genetic_algorithm
    from scmgym.baselines.aco import ant_colony
    return ant_colony


def _run_trainer(method: str, problem: Problem, budget: int, seed: int,
                 run_dir: Path) -> RunResult:
    """ELDT or GP through the same budget and history as every other method."""
    from scmgym.trainers.eldt import ELDT
    from scmgym.trainers.gp import GPTrainer

    env = problem.make_env()
    cls = ELDT if method == "eldt" else GPTrainer
    start = time.perf_counter()
    trainer = cls(env, seed=seed).learn(budget=budget, run_dir=run_dir)
    if trainer.interrupted:  # Ctrl-C / SIGTERM: not a finished run, stop the comparison
        raise KeyboardInterrupt(f"{method} seed {seed} interrupted")
    rows = trainer.history.rows
    history = [(r[0], r[1], r[2]) for r in rows]
    policy = trainer.policy
    if policy is not None:
        policy.save(run_dir / "policy.json")
        (run_dir / "tree.txt").write_text(policy.simplify().to_text() + "\n")
    return RunResult(
        method=method, problem=problem.label, seed=seed,
        best_value=trainer.state.get("best_value"),
        best_solution=trainer.state.get("best_solution"),
        simulations=trainer.simulations, wall_seconds=time.perf_counter() - start,
        history=history, policy=None if policy is None else policy.to_dict(),
        extra={"hparams": trainer.hparams, "nominal_simulations": trainer.nominal_simulations},
    )


def run_milp(problem: Problem, seed: int, time_limit: float = 300.0) -> RunResult:
    """The MILP baseline as a run: HFS, the relaxation's bound and the simulated order read off
    it; make-or-buy, the mean-surrogate plan and one simulated draw (the runner re-evaluates it
    over fresh seeds). The solver's status, objective, bound and times go to ``extra``."""
    from scmgym.baselines.milp import SolverOptions

    options = SolverOptions(time_limit=time_limit, threads=1)
    start = time.perf_counter()
    if problem.plant == "hfs":
        from scmgym.baselines.milp.hfs import ORDER_RULES, solve_hfs

        res = solve_hfs(problem.instance, problem.workers, options=options)
        value, solution = res.simulated_makespan, res.order
        sims = 0 if value is None else len(ORDER_RULES)
        extra = {k: v for k, v in res.to_dict().items() if k not in ("order", "workers")}
    else:
        from scmgym.baselines.milp.make_or_buy import solve_make_or_buy

        res = solve_make_or_buy(problem.instance, options=options, eval_seeds=0)
        solution = None if res.decisions is None else list(res.decisions)
        value = None if solution is None else problem.evaluate(solution, seed=seed)
        sims = 0 if solution is None else 1
        extra = {k: v for k, v in res.to_dict().items() if k != "decisions"}
    history = [] if value is None else [(sims, float(value), float(value))]
    return RunResult(method="milp", problem=problem.name, seed=seed, best_value=value,
                     best_solution=None if solution is None else list(solution),
                     simulations=sims, wall_seconds=time.perf_counter() - start,
                     history=history, extra=extra)


def run_one(method: str, problem: Problem, budget: int, seed: int, out: Path,
            milp_time_limit: float = 300.0) -> Path:
    """Run one method with one seed; write and return its run directory."""
    run_dir = common.make_run_dir(out, problem.name, method, seed)
    if method == "milp":
        result = run_milp(problem, seed, milp_time_limit)
    elif method in ("eldt", "gp"):
        result = _run_trainer(method, problem, budget, seed, run_dir)
    elif method == "ppo":
        from scmgym.trainers.ppo import run_ppo

        result = run_ppo(problem, budget, seed, run_dir=run_dir)
    else:
        result = run_with_budget(method, problem, budget, seed, _baseline(method),
                                 history_path=run_dir / "history.csv")
    result.extra["budget"] = budget
    result.extra["workers"] = list(problem.workers) if problem.plant == "hfs" else None
    result.save(run_dir)
    return run_dir


def _worker(args: tuple) -> str:
    method, plant, dataset, workers, budget, seed, out, milp_time_limit = args
    if method == "ppo":  # one torch thread per process: parallel runs share the cores
        import torch

        torch.set_num_threads(1)
    return str(run_one(method, Problem(plant, dataset, tuple(workers)), budget, seed, Path(out),
                       milp_time_limit))


def find_finished(out: Path, problem: Problem, method: str, seed: int,
                  budget: int) -> Path | None:
    """A finished run directory of these settings in ``out``, if any (for resuming)."""
    safe = re.escape(problem.name.replace(":", "-").replace("/", "-"))
    pattern = re.compile(rf"^{safe}__{method}__s{seed}__")
    for path in sorted(Path(out).glob("*")) if Path(out).exists() else []:
        if not pattern.match(path.name) or not (path / "result.json").is_file():
            continue
        data = json.loads((path / "result.json").read_text())
        extra = data.get("extra", {})
        same_workers = problem.plant != "hfs" or extra.get("workers") == list(problem.workers)
        if extra.get("budget") == budget and same_workers:
            return path
    return None


def compare(problem: Problem, methods: Sequence[str] | str = "all", *, runs: int = 10,
            budget: int = 5000, jobs: int = 1, out: str | Path = "runs",
            reeval_seeds: int = 100, first_seed: int = 0, progress: bool = False,
            milp_time_limit: float = 300.0) -> dict:
    """Run every method for ``runs`` seeds (resuming), then summarise, tabulate and plot.

    Returns a dict with ``rows`` (one per method), ``runs`` (every RunResult) and the paths of
    the files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = methods_for(problem, methods)
    seeds = list(range(first_seed, first_seed + runs))
    seeds_of = {m: seeds[:1] if m in DETERMINISTIC_METHODS else seeds for m in names}
    todo = [(m, s) for m in names for s in seeds_of[m]
            if find_finished(out, problem, m, s, budget) is None]
    skipped = sum(len(v) for v in seeds_of.values()) - len(todo)
    if skipped:
        log.info("resuming: %d finished run(s) skipped", skipped)
    args = [(m, problem.plant, problem.dataset, list(problem.workers), budget, s, str(out),
             milp_time_limit) for m, s in todo]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(args), desc="runs", unit="run")
    if jobs > 1 and len(args) > 1:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
            for fut in as_completed([pool.submit(_worker, a) for a in args]):
                fut.result()
                if bar is not None:
                    bar.update()
    else:
        for a in args:
            _worker(a)
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    results = {m: [RunResult.load(find_finished(out, problem, m, s, budget)) for s in seeds_of[m]]
               for m in names}
    if problem.stochastic:
        for rs in results.values():
            for r in rs:
                if "reeval_mean" not in r.extra and r.best_solution is not None:
                    vals = [problem.evaluate(r.best_solution, seed=REEVAL_SEED_BASE + k)
                            for k in range(reeval_seeds)]
                    r.extra.update(reeval_mean=float(np.mean(vals)),
                                   reeval_sd=float(np.std(vals, ddof=1)),
                                   reeval_seeds=reeval_seeds)
    rows = summarise(problem, results)
    bound = best_bound(problem, results)
    files = write_tables(out, problem, rows, budget, runs, bound)
    files.update(write_plots(out, problem, results))
    return {"rows": rows, "runs": results, "files": files, "skipped": skipped, "bound": bound}


def best_bound(problem: Problem, results: dict[str, list[RunResult]]) -> int | None:
    """The best lower bound on the HFS makespan known to this comparison: the analytic bound of
    spec §12.4 or the MILP relaxation's bound, whichever is larger (None on make-or-buy, whose
    stochastic revenue has no bound here)."""
    if problem.plant != "hfs":
        return None
    from scmgym.simulators import hfs

    bounds = [hfs.lower_bound(problem.instance, problem.workers)]
    bounds += [int(r.extra["bound"]) for r in results.get("milp", [])
               if r.extra.get("bound") is not None]
    return max(bounds)


def summarise(problem: Problem, results: dict[str, list[RunResult]]) -> list[dict[str, Any]]:
    """One row per method: mean, sd, best, worst of the headline value, simulations, wall time.

    The headline value is the best-found objective (HFS) or, on the stochastic make-or-buy
    plant, the best-found solution's mean over fresh seeds; ``best_single_draw`` is then the
    optimistic value seen during the search. On HFS, ``gap`` is (mean - best bound) / mean in
    percent, with the bound of :func:`best_bound`.
    """
    bound = best_bound(problem, results)
    rows = []
    for method, rs in results.items():
        if problem.stochastic:
            vals = [r.extra.get("reeval_mean", np.nan) for r in rs]
        else:
            vals = [np.nan if r.best_value is None else r.best_value for r in rs]
        vals_arr = np.array(vals, dtype=float)
        found = vals_arr[~np.isnan(vals_arr)]  # a run can end without a solution (MILP)
        pick_best = np.min if problem.direction == "min" else np.max
        pick_worst = np.max if problem.direction == "min" else np.min
        nan = float("nan")
        row = {
            "method": method,
            "mean": float(found.mean()) if found.size else nan,
            "sd": float(found.std(ddof=1)) if found.size > 1 else 0.0,
            "best": float(pick_best(found)) if found.size else nan,
            "worst": float(pick_worst(found)) if found.size else nan,
            "simulations": float(np.mean([r.simulations for r in rs])),
            "wall_seconds": float(np.mean([r.wall_seconds for r in rs])),
            "runs": len(rs),
        }
        if problem.stochastic:
            draws = [r.best_value for r in rs if r.best_value is not None]
            row["best_single_draw"] = float(np.mean(draws)) if draws else float("nan")
        if bound is not None:
            row["gap"] = float(100.0 * (row["mean"] - bound) / row["mean"])
        rows.append(row)
    return rows


def write_tables(out: Path, problem: Problem, rows: list[dict[str, Any]], budget: int,
                 runs: int, bound: int | None = None) -> dict[str, Path]:
    cols = list(rows[0].keys()) if rows else []
    csv_path, md_path = out / "results.csv", out / "results.md"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        writer.writerows(rows)
    md_path.write_text(markdown_table(problem, rows, budget, runs, bound))
    return {"results_csv": csv_path, "results_md": md_path}


def markdown_table(problem: Problem, rows: list[dict[str, Any]], budget: int, runs: int,
                   bound: int | None = None) -> str:
    head = (f"### {problem.label}: {problem.objective} "
            f"({'lower' if problem.direction == 'min' else 'higher'} is better), "
            f"budget {budget} simulations, {runs} run(s)\n\n")
    if problem.stochastic:
        head += ("Values are each run's best-found solution re-evaluated over fresh seeds "
                 "(mean); best_single_draw is the optimistic value seen during the search.\n\n")
    if bound is not None:
        head += (f"gap: (mean - best bound) / mean in %, best bound {bound} (the larger of "
                 "the analytic bound and the MILP relaxation's bound).\n\n")
    cols = list(rows[0].keys()) if rows else []
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in r.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def write_plots(out: Path, problem: Problem, results: dict[str, list[RunResult]]) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: dict[str, Path] = {}
    fig, ax = plt.subplots(figsize=(8, 4.5))
    # Every curve runs to the longest history; a method that stopped early (EDD: one
    # simulation) stays flat at its final best.
    length = max((len(r.history) for rs in results.values() for r in rs), default=0)
    grid = np.arange(1, length + 1)
    for k, (method, rs) in enumerate(results.items()):
        curves = []
        for r in rs:
            best = np.array([row[2] for row in r.history], dtype=float)
            if best.size == 0:
                continue
            curves.append(np.concatenate([best, np.full(length - best.size, best[-1])]))
        if not curves:
            continue
        curves_arr = np.array(curves)
        med = np.median(curves_arr, axis=0)
        lo, hi = np.percentile(curves_arr, [25, 75], axis=0)
        ax.plot(grid, med, label=method, color=f"C{k}",
                linestyle="--" if max(len(r.history) for r in rs) == 1 else "-")
        ax.fill_between(grid, lo, hi, color=f"C{k}", alpha=0.2)
    ax.set_xlabel("simulations")
    ax.set_ylabel(f"best {problem.objective} so far")
    ax.set_xscale("log")
    ax.set_title(f"{problem.label}: median and IQR across seeds")
    ax.legend(fontsize="small")
    fig.tight_layout()
    files["convergence"] = out / "convergence.png"
    fig.savefig(files["convergence"], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    labels, data = [], []
    for method, rs in results.items():
        vals = [r.extra.get("reeval_mean") if problem.stochastic else r.best_value for r in rs]
        vals = [v for v in vals if v is not None]
        if vals:
            labels.append(method)
            data.append(vals)
    if data:
        ax.boxplot(data, tick_labels=labels)
    ax.set_ylabel(problem.objective + (" (re-evaluated mean)" if problem.stochastic else ""))
    ax.set_title(f"{problem.label}: final objective per run")
    fig.tight_layout()
    files["boxplot"] = out / "final_boxplot.png"
    fig.savefig(files["boxplot"], dpi=110)
    plt.close(fig)

    if problem.plant == "hfs":
        best = None
        for rs in results.values():
            for r in rs:
                if r.best_solution is not None and (best is None or problem.better(
                        r.best_value, best.best_value)):
                    best = r
        if best is not None:
            from scmgym.plots import hfs_gantt
            from scmgym.simulators import hfs

            res = hfs.simulate(problem.instance, best.best_solution, workers=problem.workers)
            files["gantt"] = hfs_gantt(res, out / "gantt_best.png",
                                       title=f"{problem.label}: best schedule ({best.method}, "
                                       f"seed {best.seed}), makespan {res.makespan}")
    return files
