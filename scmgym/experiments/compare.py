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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scmgym.core import Problem, RunResult
from scmgym.core.io import make_run_dir, run_dir_prefix
from scmgym.errors import DataError, RunsFailed
from scmgym.experiments.backends import LocalBackend
from scmgym.experiments.methods import (
    METHODS,
    check_method,
    evaluate_run,
    run_method,
    split_variant,
)

log = logging.getLogger(__name__)

#: Every method, in table order.
ALL_METHODS = tuple(METHODS)


def methods_for(problem: Problem, names: Sequence[str] | str = "all") -> list[str]:
    """Resolve ``"all"`` (every method that applies to the plant) or a list of names.

    A name that is unknown, repeated, or does not apply to the plant is an error, and so is an
    empty list: a comparison never silently runs less than it was asked to.
    """
    if isinstance(names, str):
        if names.strip() == "all":
            return [n for n in ALL_METHODS if METHODS[n].applies_to(problem)]
        names = [n.strip() for n in names.split(",")]
    names = list(names)
    allowed = f"all or a comma list of {', '.join(ALL_METHODS)}"
    if not names or any(not n for n in names):
        raise DataError("empty method name in --methods", value=",".join(names),
                        allowed=allowed)
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise DataError(f"unknown method(s) {', '.join(unknown)}", allowed=allowed)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"method(s) named twice: {', '.join(repeated)}", allowed=allowed)
    wrong = [n for n in names if not METHODS[n].applies_to(problem)]
    if wrong:
        raise DataError(f"method(s) {', '.join(wrong)} do not apply to the {problem.plant} "
                        "plant", allowed=", ".join(n for n in ALL_METHODS
                                                   if METHODS[n].applies_to(problem)))
    return names


def _hparams(method: str, milp_time_limit: float) -> dict[str, Any]:
    return {"time_limit": milp_time_limit} if method == "milp" else {}


def run_one(method: str, problem: Problem, budget: int, seed: int, out: Path,
            hparams: dict[str, Any] | None = None, reeval_seeds: int = 100) -> Path:
    """Run one method with one seed through :func:`run_method`; return its run directory.

    An unfinished run of the same settings left by an interrupted comparison is taken up:
    resumed from its checkpoint (ELDT, GP), or redone in the same directory (any other method,
    its partial history replaced), so no stale directory is left beside a new one."""
    label = method
    run_dir = find_run(out, problem, label, seed, budget, hparams, finished=False)
    method, hparams = split_variant(label, hparams)
    resume = (run_dir is not None and METHODS[method].resumable
              and (run_dir / "checkpoint.pkl").is_file())
    if run_dir is None:  # an empty directory is one killed before its config.json: reused
        empty = [p for p in Path(out).glob(run_dir_prefix(problem.name, label, seed) + "*")
                 if p.is_dir() and not any(p.iterdir())]
        run_dir = min(empty) if empty else make_run_dir(out, problem.name, label, seed)
    run_method(method, problem, budget, seed, run_dir, eval_episodes=reeval_seeds,
               resume=resume, **hparams)
    return run_dir


def run_task(shared: dict[str, Any], task: tuple[str, str, int]) -> dict[str, Any]:
    """One run of a comparison or a suite, as a backend task (see
    :mod:`scmgym.experiments.backends`).

    ``task`` is ``(problem id, method, seed)``; ``shared`` holds ``problems`` (id ->
    :class:`Problem`, instance and engine included), ``hparams`` (method -> dict), ``budget``,
    ``reeval_seeds``, ``out`` (the folder of run directories) and ``token``. The run writes
    its run directory in ``out`` when this process sees that folder (the file ``.token`` there
    holds ``token``); elsewhere (a node of a cluster without the shared disk) it runs in a
    scratch folder and returns its files, which the caller writes. Returns ``run_dir`` (the
    directory's name), ``cpu_seconds`` (this process's CPU time for the run) and ``files``
    (None, or name -> bytes); a run that raised an error returns ``error`` (its message)
    instead of ``run_dir``, so that one bad run does not stop the others.
    """
    import time

    cpu = time.process_time()
    try:
        return _run_task(shared, task)
    except Exception as exc:  # noqa: BLE001  (reported to the driver, which reports it)
        log.error("%s %s seed %s failed: %s", *task, exc, exc_info=not isinstance(exc, ValueError))
        return {"error": f"{type(exc).__name__}: {exc}", "run_dir": None,
                "cpu_seconds": time.process_time() - cpu, "files": None}


def _run_task(shared: dict[str, Any], task: tuple[str, str, int]) -> dict[str, Any]:
    import tempfile
    import time

    pid, method, seed = task
    problem = shared["problems"][pid]
    out = Path(shared["out"])
    args = (method, problem, shared["budget"], seed)
    kwargs = {"hparams": shared["hparams"].get(method, {}),
              "reeval_seeds": shared["reeval_seeds"]}
    cpu = time.process_time()
    if _sees(out, shared.get("token")):
        run_dir = run_one(*args, out, **kwargs)
        answer = {"run_dir": run_dir.name, "cpu_seconds": time.process_time() - cpu,
                  "files": None}
        _test(shared, pid, method, run_dir, answer, out.parent)
        return answer
    with tempfile.TemporaryDirectory(prefix="scmgym-run-") as scratch:
        run_dir = run_one(*args, Path(scratch), **kwargs)
        answer = {"run_dir": run_dir.name, "cpu_seconds": time.process_time() - cpu}
        _test(shared, pid, method, run_dir, answer, None)
        answer["files"] = {p.name: p.read_bytes() for p in sorted(run_dir.iterdir())
                           if p.is_file()}
    return answer


def _test(shared: dict[str, Any], pid: str, method: str, run_dir: Path,
          answer: dict[str, Any], cache: Path | None) -> None:
    """A policy run of a problem with a test set: its policy on the test instances
    (``generalisation.json``; :mod:`scmgym.experiments.generalisation`), timed apart."""
    import time

    from scmgym.experiments.methods import METHODS

    base, _ = split_variant(method, shared["hparams"].get(method))
    targets = (shared.get("tests") or {}).get(pid)
    if not targets or METHODS[base].kind != "policy" or \
            not (run_dir / "policy.json").is_file():
        return
    from scmgym.experiments.generalisation import generalise_run

    cpu = time.process_time()
    generalise_run(run_dir, targets, seeds=shared.get("test_seeds", 100), cache=cache)
    answer["test_cpu_seconds"] = time.process_time() - cpu


def _sees(out: Path, token: str | None) -> bool:
    if token is None:
        return True
    try:
        return (out / ".token").read_text() == token
    except OSError:
        return False


def write_returned_files(out: Path, answer: dict[str, Any]) -> Path:
    """The run directory of a task's answer, written here when the task ran elsewhere (its
    files are put in place in a new folder, then renamed, so a kill leaves no half run)."""
    run_dir = Path(out) / answer["run_dir"]
    if answer.get("files") is None:
        return run_dir
    partial = run_dir.with_name(run_dir.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    for name, data in answer["files"].items():
        (partial / name).write_bytes(data)
    if run_dir.exists():  # an unfinished copy of the same run: the finished one replaces it
        import shutil

        shutil.rmtree(run_dir)
    partial.rename(run_dir)
    return run_dir


def _load_evaluated(run_dir: Path, problem: Problem, reeval_seeds: int) -> RunResult:
    """A finished run, evaluated over ``reeval_seeds`` episodes: a run finished with another
    number is re-evaluated (the search is not redone) and its files are updated."""
    result = RunResult.load(run_dir)
    if result.evaluation is None or result.evaluation.get("n_episodes") != reeval_seeds:
        result.evaluation = evaluate_run(run_dir, result, problem, reeval_seeds)
        result.save(run_dir)
    return result


def find_run(out: Path, problem: Problem, method: str, seed: int, budget: int,
             hparams: dict[str, Any] | None = None, *, finished: bool = True) -> Path | None:
    """A run directory of these settings in ``out``: its ``config.json`` names the same
    problem, method, seed, budget and hyperparameters, and it has a ``result.json``
    (``finished=True``) or not (``finished=False``: an interrupted run). ``method`` may be a
    suite's variant label, with its method in ``hparams`` (:func:`split_variant`)."""
    prefix = run_dir_prefix(problem.name, method, seed)
    method, hparams = split_variant(method, hparams)
    for path in sorted(Path(out).glob(prefix + "*")) if Path(out).exists() else []:
        if (path / "result.json").is_file() != finished or not (path / "config.json").is_file():
            continue
        cfg = json.loads((path / "config.json").read_text())
        if (cfg.get("problem") == problem.to_dict() and cfg.get("method") == method
                and cfg.get("seed") == seed and cfg.get("budget") == budget
                and cfg.get("hparams") == (hparams or {})):
            return path
    return None


def find_finished(out: Path, problem: Problem, method: str, seed: int, budget: int,
                  hparams: dict[str, Any] | None = None) -> Path | None:
    """A finished run directory of these settings in ``out``, if any (for resuming)."""
    return find_run(out, problem, method, seed, budget, hparams, finished=True)


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
    for m in names:  # every argument checked before any run starts
        check_method(m, problem, budget, _hparams(m, milp_time_limit))
    seeds_of = {m: seeds[:1] if METHODS[m].deterministic else seeds for m in names}

    def finished(m: str, s: int) -> Path | None:
        return find_finished(out, problem, m, s, budget, _hparams(m, milp_time_limit))

    todo = [(m, s) for m in names for s in seeds_of[m] if finished(m, s) is None]
    skipped = sum(len(v) for v in seeds_of.values()) - len(todo)
    if skipped:
        log.info("resuming: %d finished run(s) skipped", skipped)
    shared = {"problems": {problem.name: problem}, "budget": budget, "out": str(out),
              "hparams": {m: _hparams(m, milp_time_limit) for m in names},
              "reeval_seeds": reeval_seeds, "token": None}
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo), desc="runs", unit="run")
    tasks = [(problem.name, m, s) for m, s in todo]
    failures = []
    for task, answer in LocalBackend(jobs).run(run_task, tasks, shared):
        if answer.get("error"):
            failures.append((f"{task[1]} seed {task[2]}", answer["error"]))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    if failures:
        raise RunsFailed(failures)
    results = {m: [_load_evaluated(finished(m, s), problem, reeval_seeds) for s in seeds_of[m]]
               for m in names}
    rows = summarise(problem, results)
    bound = best_bound(problem, results)
    files = write_tables(out, problem, rows, budget, runs, bound, notes=run_notes(results))
    files.update(write_plots(out, problem, results))
    return {"rows": rows, "runs": results, "files": files, "skipped": skipped, "bound": bound}


def best_bound(problem: Problem, results: dict[str, list[RunResult]]) -> int | None:
    """The best lower bound on the HFS makespan known to this comparison: the analytic bound of
    spec §12.4 or the MILP relaxation's bound, whichever is larger (None on make-or-buy, whose
    stochastic revenue has no bound here)."""
    analytic = problem.lower_bound()
    if analytic is None:
        return None
    bounds = [analytic]
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
            vals = [np.nan if r.evaluation is None else r.evaluation["mean"] for r in rs]
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
            plans = [r.evaluation["best_solution_mean"] for r in rs
                     if r.evaluation is not None and "best_solution_mean" in r.evaluation]
            row["best_episode_plan"] = float(np.mean(plans)) if plans else float("nan")
        if bound is not None:
            row["gap"] = float(100.0 * (row["mean"] - bound) / row["mean"])
        rows.append(row)
    return rows


def run_notes(results: dict[str, list[RunResult]]) -> list[str]:
    """Why a method has no value in the table (a MILP that found no solution in its time
    limit, a run that produced nothing), one line per such method."""
    notes = []
    for method, rs in results.items():
        empty = [r for r in rs if r.best_value is None]
        if not empty:
            continue
        extra = empty[0].extra
        why = ""
        if "termination" in extra:
            limit = extra.get("hparams", {}).get("time_limit")
            why = (f": the solver ended with {extra.get('status')} ({extra['termination']})"
                   + (f" within its time limit of {limit:g} s" if limit else ""))
        notes.append(f"{method}: no solution in {len(empty)} of {len(rs)} run(s){why}; its "
                     "row shows nan")
    return notes


def write_tables(out: Path, problem: Problem, rows: list[dict[str, Any]], budget: int,
                 runs: int, bound: int | None = None,
                 notes: Sequence[str] = ()) -> dict[str, Path]:
    cols = list(rows[0].keys()) if rows else []
    csv_path, md_path = out / "results.csv", out / "results.md"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        writer.writerows(rows)
    md_path.write_text(markdown_table(problem, rows, budget, runs, bound, notes))
    return {"results_csv": csv_path, "results_md": md_path}


def markdown_table(problem: Problem, rows: list[dict[str, Any]], budget: int, runs: int,
                   bound: int | None = None, notes: Sequence[str] = ()) -> str:
    head = (f"### {problem.label}: {problem.objective} "
            f"({'lower' if problem.direction == 'min' else 'higher'} is better), "
            f"budget {budget} simulations, {runs} run(s)\n\n")
    if problem.stochastic:
        head += ("Values are each run's returned policy (a tree, a plan, a model) re-evaluated "
                 "over fresh seeds (mean); best_single_draw is the optimistic value seen during "
                 "the search; best_episode_plan is the decision vector of the run's best "
                 "episode, re-evaluated on the same seeds.\n\n")
    if bound is not None:
        head += (f"gap: (mean - best bound) / mean in %, best bound {bound} (the larger of "
                 "the analytic bound and the MILP relaxation's bound).\n\n")
    cols = list(rows[0].keys()) if rows else []
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in r.values()]
        lines.append("| " + " | ".join(cells) + " |")
    tail = "".join(f"\nNote: {note}.\n" for note in notes)
    return head + "\n".join(lines) + "\n" + tail


def write_plots(out: Path, problem: Problem, results: dict[str, list[RunResult]]) -> dict:
    """``convergence.png``, ``final_boxplot.png`` and, for a schedule plant, ``gantt_best.png``
    (the figures of :mod:`scmgym.experiments.figures`, as a suite's report draws them)."""
    from scmgym.experiments import figures

    files: dict[str, Path] = {}
    drawn = figures.convergence_plot(out / "convergence.png", problem.label, problem.objective,
                                     {m: [r.history for r in rs] for m, rs in results.items()})
    if drawn is not None:
        files["convergence"] = drawn
    values = {m: [v for v in ((None if r.evaluation is None else r.evaluation["mean"])
                              if problem.stochastic else r.best_value for r in rs)
                  if v is not None] for m, rs in results.items()}
    ylabel = f"{problem.objective}" + (" (re-evaluated mean)" if problem.stochastic else "")
    drawn = figures.box_plot(out / "final_boxplot.png", problem.label, ylabel, values)
    if drawn is not None:
        files["boxplot"] = drawn

    plot = problem.spec.schedule_plot
    if plot is not None and not problem.stochastic:
        best = None
        for rs in results.values():
            for r in rs:
                if r.best_solution is not None and (best is None or problem.better(
                        r.best_value, best.best_value)):
                    best = r
        if best is not None:
            files["gantt"] = plot(problem, best.best_solution, out / "gantt_best.png",
                                  f"{problem.label}: best schedule ({best.method}, "
                                  f"seed {best.seed})")
    return files
