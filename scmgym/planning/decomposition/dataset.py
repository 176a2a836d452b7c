"""Solved instances for learning a decomposition: generated, solved to proven optimality (in
parallel when given one of the project's backends), written as they finish, resumable.

Instance ``i`` of split ``s`` (``train``, ``validation``, ``test``) comes from the seed
``stream_seed("instances-" + s, i, root=seed)``: the splits are disjoint seed streams, and
:func:`check_disjoint` also compares the instances' content hashes. Each solved instance is
one JSON line of ``DIR/<split>.jsonl``: its index and seed, the problem's parameters, the
content hash, the daily sequence (the classifiers' input), the label vector, the objective,
the status, the seconds and the model size. A second call (or one after kill -9) solves only the
indices that have no line yet; a line is written whole or not at all, so nothing is counted
twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scmgym.core.seeds import stream_seed
from scmgym.errors import DataError
from scmgym.planning.decomposition.problems import get_problem
from scmgym.planning.runners import SerialRunner

SPLITS = ("train", "validation", "test")


def _solve_one(problem, task: tuple[str, int, int]) -> dict:
    split, index, seed = task
    params = problem.draw(seed)
    inst = problem.instance(params)
    return {"split": split, "index": index, "seed": seed, "params": params,
            "hash": problem.digest(inst), **problem.row(inst)}


def read_rows(path: Path) -> list[dict]:
    """The complete lines of a split file (a line cut by a kill is dropped)."""
    if not path.is_file():
        return []
    rows = []
    with path.open() as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            rows.append(json.loads(line))
    return rows


def _truncate_partial(path: Path) -> None:
    """Drop a last line that a kill left unfinished, so the next line starts clean."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[:data.rfind(b"\n") + 1])


def generate_dataset(problem, out: str | Path, counts: dict[str, int], *,
                     seed: int = 0, runner=None,
                     progress: Callable[[str, int, int], None] | None = None
                     ) -> dict[str, list[dict]]:
    """Solve ``counts[split]`` instances of each split into ``out/<split>.jsonl``; return the
    rows of every split (old and new), sorted by index. ``problem`` is a problem or its name
    (:data:`~scmgym.planning.decomposition.problems.PROBLEMS`); ``runner`` runs the solves
    (:class:`SerialRunner` by default)."""
    if isinstance(problem, str):
        problem = get_problem(problem)  # a clear error for an unknown name, before any work
    bad = [s for s in counts if s not in SPLITS]
    if bad:
        raise DataError("unknown split", value=bad[0], allowed=", ".join(SPLITS))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = out / "dataset.json"
    expected = {"problem": problem.name, "seed": seed, "setup": problem.setup()}
    if meta.is_file():
        found = json.loads(meta.read_text())
        if {k: found.get(k) for k in expected} != expected:
            raise DataError("the dataset folder holds another problem or seed",
                            source=str(meta), value={k: found.get(k) for k in expected},
                            allowed=f"{expected} (or another --out)")
    meta.write_text(json.dumps(expected) + "\n")
    result = {}
    runner = runner or SerialRunner()
    for split, n in counts.items():
        path = out / f"{split}.jsonl"
        _truncate_partial(path)
        rows = read_rows(path)
        have = {r["index"] for r in rows}
        tasks = [(split, i, stream_seed(f"instances-{split}", i, root=seed))
                 for i in range(n) if i not in have]
        done = len(rows)
        with path.open("a") as fh:
            for _, row in runner.run(_solve_one, tasks, shared=problem):
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                rows.append(row)
                done += 1
                if progress is not None:
                    progress(split, done, max(n, done))
        result[split] = sorted((r for r in rows if r["index"] < n), key=lambda r: r["index"])
    check_disjoint(result)
    return result


def check_disjoint(splits: dict[str, list[dict]]) -> None:
    """No instance content may appear in two splits."""
    seen: dict[str, str] = {}
    for split, rows in splits.items():
        for r in rows:
            other = seen.get(r["hash"])
            if other is not None and other != split:
                raise DataError("the same instance is in two splits", value=r["hash"],
                                allowed=f"disjoint splits (found in {other} and {split})")
            seen[r["hash"]] = split


def arrays(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(sequences (n, days), labels (n, L)) of dataset rows."""
    return (np.array([r["sequence"] for r in rows], float),
            np.array([r["labels"] for r in rows], int))
