"""A whole suite in one resumable call: every problem, method and seed, on a backend.

:func:`reproduce` lays a suite out in its folder ``DIR``:

- ``suite.json``: the resolved suite (crews chosen, methods and hyperparameters, the suite's
  digest); ``suite.toml``: the file it came from;
- ``runs/``: one run directory per run, as ``scmgym train`` writes them;
- ``records.jsonl``: one line per finished run (:mod:`scmgym.experiments.records`), appended by
  this process as each run finishes;
- ``report/``: the statistics and the report (:mod:`scmgym.experiments.report`).

Resuming is the normal way to run: a call runs only what has no record. Before that, a run that
finished on disk without its record (the caller was killed between the two) is recorded, not
rerun; a run killed half-way is taken up by :func:`~scmgym.experiments.compare.run_one` from its
checkpoint (ELDT, GP) or from its start (every other method) in its own directory; no run is
ever recorded twice. A folder holds one suite: calling it with settings that change a number
(budget, first seed, problems, hyperparameters) is an error naming the difference; more seeds
(``runs``) and subsets of problems or methods extend it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import secrets
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scmgym.core import RunResult
from scmgym.core.io import write_json
from scmgym.errors import DataError, RunsFailed
from scmgym.experiments.backends import get_backend
from scmgym.experiments.compare import find_finished, run_task, write_returned_files
from scmgym.experiments.generalisation import GENERALISATION_FILE
from scmgym.experiments.methods import METHODS
from scmgym.experiments.records import RECORDS_FILE, RecordWriter, read_records, run_key
from scmgym.experiments.suite import Suite, SuiteProblem, load_suite

log = logging.getLogger(__name__)

#: The folder of run directories inside a suite's folder.
RUNS_DIR = "runs"


@dataclass(frozen=True)
class PlannedRun:
    """One run of a suite: its problem, method and seed, and its record key."""

    problem: SuiteProblem
    method: str
    seed: int
    key: str

    @property
    def task(self) -> tuple[str, str, int]:
        return (self.problem.id, self.method, self.seed)


def plan(suite: Suite) -> list[PlannedRun]:
    """Every run of the suite, problem by problem, method by method, seed by seed; a method
    whose result does not depend on the seed runs once, with the first seed."""
    runs = []
    for sp in suite.problems:
        for method in sp.methods:
            seeds = suite.seeds[:1] if METHODS[suite.base(method)].deterministic \
                else suite.seeds
            hparams = suite.methods[method]
            runs += [PlannedRun(sp, method, s, run_key(sp.problem.to_dict(), method, s,
                                                       suite.budget, hparams))
                     for s in seeds]
    return runs


def record_of(run: PlannedRun, suite: Suite, run_dir: Path, out: Path,
              cpu_seconds: float | None) -> dict[str, Any]:
    """The record of a finished run (fields in :mod:`scmgym.experiments.records`)."""
    result = RunResult.load(run_dir)
    problem = run.problem.problem
    evaluation = result.evaluation or {}
    mean = evaluation.get("mean")
    value = mean if problem.stochastic else result.best_value
    bound = result.extra.get("bound") if suite.base(run.method) == "milp" else None
    record = {"key": run.key, "suite": suite.name, "suite_version": suite.version,
            "problem": run.problem.id, "label": problem.label, "plant": problem.plant,
            "direction": problem.direction, "stochastic": problem.stochastic,
            "method": run.method, "seed": run.seed,
            "deterministic": METHODS[suite.base(run.method)].deterministic,
            "budget": suite.budget,
            "hparams": suite.methods[run.method],
            "run_dir": str(run_dir.relative_to(out)), "value": value,
            "best_value": result.best_value, "evaluation_mean": mean,
            "best_episode_plan": evaluation.get("best_solution_mean"),
            "bound": bound, "simulations": result.simulations,
            "wall_seconds": result.wall_seconds, "cpu_seconds": cpu_seconds}
    tested = run_dir / GENERALISATION_FILE
    if tested.is_file():
        data = json.loads(tested.read_text())
        record["generalisation"] = {
            "test": data.get("test"), "reference": data.get("reference"),
            "targets": {t: part["aggregate"] for t, part in data["targets"].items()},
            "overall": data.get("overall"),
            "sizes": {str(r["orders"]): [] for part in data["targets"].values()
                      for r in part["rows"]}}
        for part in data["targets"].values():
            for r in part["rows"]:
                record["generalisation"]["sizes"][str(r["orders"])].append(
                    r.get("pct_of_reference", r.get("gap_to_reference_pct")))
    return record


def _check_folder(out: Path, suite: Suite) -> None:
    """One folder, one suite: the saved suite must agree on everything that changes a number."""
    saved_path = out / "suite.json"
    if not saved_path.is_file():
        return
    saved = json.loads(saved_path.read_text())
    mine = suite.identity()
    for key in mine:
        if key == "problems":  # a subset of the saved problems is fine; a changed one is not
            theirs = {p["id"]: p for p in saved.get("problems", [])}
            for p in mine["problems"]:
                if p["id"] in theirs and {**theirs[p["id"]], "methods": None} != \
                        {**p, "methods": None}:
                    raise DataError(f"{out} holds another version of problem {p['id']}",
                                    source=str(saved_path), column="problems",
                                    value=theirs[p["id"]]["label"],
                                    allowed=f"{p['label']}: use another --out")
        elif key == "methods":
            theirs = saved.get("methods", {})
            for m, h in mine["methods"].items():
                if m in theirs and theirs[m] != h:
                    raise DataError(f"{out} holds method {m} with other hyperparameters",
                                    source=str(saved_path), column=f"methods.{m}",
                                    value=theirs[m], allowed=f"{h}: use another --out")
        elif saved.get(key) != mine[key]:
            raise DataError(f"{out} holds a suite with another {key}", source=str(saved_path),
                            column=key, value=saved.get(key),
                            allowed=f"{mine[key]!r}, the same as this call, or another --out")


def _merged_info(out: Path, suite: Suite) -> dict[str, Any]:
    """``suite.json`` for the folder: this call's suite with the problems and methods of
    earlier calls kept (a subset run adds to a folder, it does not narrow it)."""
    info = suite.info()
    saved_path = out / "suite.json"
    if saved_path.is_file():
        saved = json.loads(saved_path.read_text())
        ids = {p["id"] for p in info["problems"]}
        info["problems"] = [p for p in saved["problems"] if p["id"] not in ids] + \
            info["problems"]
        order = {p["id"]: i for i, p in enumerate(saved["problems"])}
        info["problems"].sort(key=lambda p: order.get(p["id"], len(order)))
        for p in info["problems"]:
            old = next((q for q in saved["problems"] if q["id"] == p["id"]), None)
            if old is not None:
                p["methods"] = old["methods"] + [m for m in p["methods"]
                                                 if m not in old["methods"]]
        info["methods"] = {**saved.get("methods", {}), **info["methods"]}
        info["runs"] = max(info["runs"], saved.get("runs", 0))
        # the digest of what the folder holds (not of this call's subset)
        identity = {k: info[k] for k in suite.identity()}
        info["digest"] = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()
                                        ).hexdigest()[:16]
    return info


def _progress_line(run: PlannedRun, record: dict[str, Any], done: int, total: int) -> str:
    value = record["value"]
    shown = "no solution" if value is None else f"{value:.1f}"
    return (f"[{done}/{total}] {run.problem.id} {run.method} seed {run.seed}: "
            f"{shown} ({record['simulations']} simulations, {record['wall_seconds']:.1f} s)")


def _say(bar, line: str, clock: tuple[float, int, int] | None = None) -> None:
    """One line per finished run on stderr (above the bar, which moves on by one).

    Without a bar (output not a terminal: a log file, a cluster job), ``clock`` = (start time,
    runs finished in this call, runs left) adds the elapsed time and an ETA at the mean pace of
    this call's runs, so a log shows what the bar would.
    """
    if bar is not None:
        bar.update()
        bar.write(line, file=sys.stderr)
        return
    if clock is not None:
        start, finished, left = clock
        elapsed = time.perf_counter() - start
        line += f"; elapsed {_hms(elapsed)}"
        if finished and left:
            line += f", ETA {_hms(elapsed / finished * left)}"
    print(line, file=sys.stderr, flush=True)


def _hms(seconds: float) -> str:
    """``H:MM:SS``.

    >>> _hms(3725.4)
    '1:02:05'
    """
    return str(datetime.timedelta(seconds=round(seconds)))


def reproduce(suite: Suite | str | Path, out: str | Path, *, runs: int | None = None,
              budget: int | None = None, problems: str | None = None,
              methods: str | None = None, backend: str = "local", jobs: int = 1,
              address: str | None = None, progress: bool | None = None,
              report: bool = True) -> dict[str, Any]:
    """Run a suite (or the part of it that has no record yet) and write its report.

    Args:
        suite: a :class:`Suite`, a bundled suite's name or a suite file.
        out: the suite's folder (created).
        runs, budget: override the suite's seeds per method and simulations per run.
        problems, methods: comma lists: run only these problem ids / methods of the suite.
        backend: ``local`` or ``ray`` (:mod:`scmgym.experiments.backends`).
        jobs: processes (local) or CPUs (single-node Ray).
        address: a Ray cluster's head (``HOST:PORT`` or ``auto``).
        progress: a progress bar (default: when stderr is a terminal); a line per finished run
            goes to stderr in any case.
        report: write the report at the end.

    Returns:
        ``{"planned", "recorded", "ran", "adopted", "files"}``: the runs of the call, those
        already recorded, those run now, those found finished on disk and recorded.

    Raises:
        RunsFailed: after every other run finished (and the report was written), when some
            runs raised an error; they are not recorded, so the next call retries them.
    """
    if not isinstance(suite, Suite):
        suite = load_suite(suite)
    for name, value in (("runs", runs), ("budget", budget)):
        if value is not None and not (isinstance(value, int) and value >= 1):
            raise DataError(f"--{name} must be a positive integer", column=f"--{name}",
                            value=value)
    suite = replace(suite, runs=runs or suite.runs, budget=budget or suite.budget)
    if budget is not None:  # the methods' budgets were checked at the suite's own budget
        from scmgym.experiments.methods import check_method, split_variant

        for sp in suite.problems:
            for m in sp.methods:
                base, hparams = split_variant(m, suite.methods[m])
                check_method(base, sp.problem, suite.budget, hparams)
    suite = suite.subset(problems, methods)
    runner = get_backend(backend, jobs, address)  # Ray missing or unreachable: fails here
    out = Path(out)
    _check_folder(out, suite)
    runs_dir = out / RUNS_DIR
    runs_dir.mkdir(parents=True, exist_ok=True)
    write_json(out / "suite.json", _merged_info(out, suite))
    if suite.text:
        (out / "suite.toml").write_text(suite.text)

    planned = plan(suite)
    recorded = {r["key"] for r in read_records(out)}
    writer = RecordWriter(out / RECORDS_FILE)
    adopted = 0
    todo = []
    for run in planned:  # finished on disk, not recorded: record it, do not rerun it
        if run.key in recorded:
            continue
        found = find_finished(runs_dir, run.problem.problem, run.method, run.seed,
                              suite.budget, suite.methods[run.method])
        if found is None:
            todo.append(run)
        else:
            writer.append(record_of(run, suite, found, out, None))
            adopted += 1
    done = len(planned) - len(todo)
    log.info("%s: %d run(s) planned, %d recorded, %d to run on %s", suite.name, len(planned),
             done, len(todo), backend)
    token = secrets.token_hex(8)
    (runs_dir / ".token").write_text(token)
    shared = {"problems": {sp.id: sp.problem.with_engine(suite.engine) for sp in
                           suite.problems},
              "hparams": suite.methods, "budget": suite.budget,
              "reeval_seeds": suite.reeval_seeds, "out": str(runs_dir), "token": token,
              "tests": {sp.id: sp.test for sp in suite.problems if sp.test},
              "test_seeds": suite.test_seeds}
    by_task = {run.task: run for run in todo}
    bar = _bar(len(planned), done, suite.name, progress)
    start = time.perf_counter()
    first = done

    def clock() -> tuple[float, int, int]:
        return start, done - first, len(planned) - done

    failures: list[tuple[str, str]] = []
    try:
        for task, answer in runner.run(run_task, [r.task for r in todo], shared):
            run = by_task[task]
            if answer.get("error"):
                done += 1
                name = f"{run.problem.id} {run.method} seed {run.seed}"
                failures.append((name, answer["error"]))
                _say(bar, f"[{done}/{len(planned)}] {name}: FAILED ({answer['error']}); not "
                     "recorded, a rerun retries it", clock())
                continue
            run_dir = write_returned_files(runs_dir, answer)
            record = record_of(run, suite, run_dir, out, answer["cpu_seconds"])
            if answer.get("test_cpu_seconds") is not None:
                record["test_cpu_seconds"] = answer["test_cpu_seconds"]
            writer.append(record)
            done += 1
            _say(bar, _progress_line(run, record, done, len(planned)), clock())
    finally:
        writer.close()
        if bar is not None:
            bar.close()
    log.info("%d run(s) in %.1f s", len(todo), time.perf_counter() - start)
    files = {}
    if report:
        from scmgym.experiments.report import write_report

        files = write_report(out)
    if failures:
        raise RunsFailed(failures)
    return {"planned": len(planned), "recorded": len(planned) - len(todo) - adopted,
            "ran": len(todo), "adopted": adopted, "files": files, "suite": suite}


def _bar(total: int, initial: int, name: str, progress: bool | None):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=name, unit="run", file=sys.stderr,
                dynamic_ncols=True)
