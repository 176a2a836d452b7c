"""Several DOMINO runs of one problem, resumable and parallel.

The runs' seeds come from one root seed (``stream_seeds("bilevel-runs", runs, root=seed)``),
so run ``k`` is the same whether it runs alone, in a batch, serially or on a worker. With an
output folder:

- ``followers/*.jsonl`` hold every follower answer as it is solved (the sampled points' solves
  in ``samples.jsonl``, each run's own in ``run-<seed>.jsonl``), read back on a rerun;
- ``runs.jsonl`` holds each finished run, one line, written when it ends.

A killed study (Ctrl-C, SIGTERM, kill -9) is resumed by the same call: finished runs are read
back, the others are repeated, and every follower already solved is answered from the files, so
no solve is lost or done twice. Because a follower's answer does not depend on when it was
solved, a resumed study gives the same numbers as one that was never interrupted.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from scmgym.core.seeds import stream_seeds
from scmgym.planning.bilevel.core import BilevelProblem, FollowerCache, read_answers, solve_pending
from scmgym.planning.bilevel.domino import (
    DominoResult,
    DominoRun,
    DominoSettings,
    run_domino,
    sample,
)


def run_study(problem: BilevelProblem, settings: DominoSettings, runs: int = 10, seed: int = 0,
              out: str | Path | None = None, runner=None,
              progress: Callable[[str, int, int], None] | None = None) -> DominoResult:
    """``runs`` DOMINO runs (see the module docstring); ``runner`` as in
    :func:`~scmgym.planning.bilevel.core.solve_pending` (serial by default);
    ``progress(phase, done, total)`` is called per sampled follower solve ("sample"), per
    evaluation of a run solved in this process ("evaluate") and per finished run ("runs")."""
    from scmgym.planning.runners import SerialRunner

    start = time.perf_counter()
    seeds = stream_seeds("bilevel-runs", runs, root=seed)
    out = Path(out) if out is not None else None
    done: dict[int, DominoRun] = {}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        done = {r.seed: r for r in _read_runs(out / "runs.jsonl") if r.seed in seeds}
    todo = [s for s in seeds if s not in done]
    folder = out / "followers" if out is not None else None
    cache = FollowerCache(folder / "samples.jsonl" if folder else None,
                          known=read_answers(folder.glob("*.jsonl")) if folder else None)
    # 1. every pending run's sample, solved together (in parallel when the runner is)
    points = [p for s in todo for p in sample(problem, settings.samples, settings.sampler, s)]
    solve_pending(problem, points, cache, runner,
                  None if progress is None else lambda d, n: progress("sample", d, n))
    # 2. the runs: in this process (with an evaluation-level progress), or one task each
    runner = runner or SerialRunner()
    serial = isinstance(runner, SerialRunner) or getattr(runner, "jobs", 2) == 1
    if progress is not None:
        progress("runs", len(done), runs)
    if serial:
        for s in todo:
            own = FollowerCache(folder / f"run-{s}.jsonl" if folder else None, known=cache.answers)
            count = [0]

            def tick(_n, count=count):
                count[0] += 1
                if progress is not None:
                    progress("evaluate", count[0], settings.samples + settings.budget)
            run = run_domino(problem, settings, s, own, progress=tick)
            cache.answers.update(own.answers)
            _finish(out, done, run, progress, runs)
    else:
        tasks = [(s, str(folder / f"run-{s}.jsonl") if folder else None) for s in todo]
        for _, run in runner.run(_run_task, tasks, shared=(problem, settings, cache.answers)):
            _finish(out, done, run, progress, runs)
    result = DominoResult(problem=problem.name, settings=asdict(settings),
                          runs=[done[s] for s in seeds],
                          seconds=round(time.perf_counter() - start, 3))
    result.extra["seeds"] = seeds
    return result


def _run_task(shared, task) -> DominoRun:
    problem, settings, answers = shared
    seed, path = task
    return run_domino(problem, settings, seed, FollowerCache(path, known=answers))


def _finish(out, done, run: DominoRun, progress, runs: int) -> None:
    done[run.seed] = run
    if out is not None:
        with (out / "runs.jsonl").open("a") as fh:
            fh.write(json.dumps(run.to_dict()) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    if progress is not None:
        progress("runs", len(done), runs)


def _read_runs(path: Path) -> list[DominoRun]:
    runs = []
    if not path.exists():
        return runs
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # torn by a kill
        row.pop("objective", None)
        runs.append(DominoRun(**row))
    return runs
