"""The append-only record of a suite: one JSON line per finished run, in ``records.jsonl``.

A line is written (and flushed to disk) by the process that drives the suite, once, when a run
has finished and its run directory holds ``result.json``; nothing else ever writes the file and
no line is ever rewritten. Reading is forgiving in the one way a kill -9 can require: a last line
cut short is ignored (its run is then found finished on disk and recorded again, once);
the next writer ends it with a newline, so it stays a line of its own. Two lines
with the same ``key`` are one run: the first counts.

A record holds (see :func:`record_of`):

==================  ===========================================================================
key                 the run's identity: problem, method, seed, budget and hyperparameters
problem, label      the suite's problem id (``hfs:d1``) and the problem's label
plant, direction    the plant and the objective's direction (``min`` / ``max``)
stochastic          whether the plant is stochastic (the headline is then a re-evaluated mean)
method, seed        what ran
deterministic       the method's result does not depend on the seed (it runs once)
budget, hparams     the budget and the method's hyperparameters
run_dir             the run directory, relative to the suite's folder
value               the headline: the re-evaluated mean (stochastic plant) or the best value
best_value          the best simulation of the run (on a stochastic plant, its single draw)
evaluation_mean     the returned policy's mean over the re-evaluation episodes (or null)
best_episode_plan   the best episode's solution re-evaluated on the same episodes (or null)
bound               a lower bound the run proved (the HFS MILP's relaxation), or null
simulations         real simulations charged to the budget
wall_seconds        the run's wall time; cpu_seconds: the CPU time of the process that ran it
==================  ===========================================================================
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scmgym.core.io import jsonable

log = logging.getLogger(__name__)

#: The file name of a suite's records.
RECORDS_FILE = "records.jsonl"


def run_key(problem: dict[str, Any], method: str, seed: int, budget: int,
            hparams: dict[str, Any]) -> str:
    """The identity of a run: the same settings always give the same key."""
    data = json.dumps([problem, method, seed, budget, jsonable(hparams)], sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Every record of ``path`` (a ``records.jsonl`` or the folder holding it), first line of a
    key first; a missing file is no records; a last line cut short by a kill is skipped."""
    path = Path(path)
    if path.is_dir():
        path = path / RECORDS_FILE
    if not path.is_file():
        return []
    lines = path.read_text().split("\n")
    records, seen = [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line torn by a killed writer (ended by the next)
            log.warning("%s: line %d is cut short (a killed run); its run is recorded again "
                        "on the next call", path, number)
            continue
        if record["key"] not in seen:
            seen.add(record["key"])
            records.append(record)
    return records


class RecordWriter:
    """Appends records to ``records.jsonl``, each flushed and synced before ``append`` returns.

    A file whose last line was cut short (a writer killed mid-line) is first ended with a newline,
    so the next record starts on a line of its own."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torn = self.path.is_file() and self.path.stat().st_size > 0 and \
            not self.path.read_bytes().endswith(b"\n")
        self._fh = self.path.open("a")
        if torn:
            self._fh.write("\n")

    def append(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(jsonable(record), sort_keys=True) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def extend(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.append(record)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
