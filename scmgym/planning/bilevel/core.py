"""Bi-level planning over periods, general over the follower.

A **leader** (planning) chooses a vector ``x`` of bounded variables; from it come the targets of
each period, the leader's own cost (inventory, production, staffing, ...) and the leader's
constraints ``g(x) <= 0`` (inventory balance and the cyclic condition, written into the
decoding and those inequalities). Each period has a **follower** (scheduling) that, given the
period's targets, returns whether a schedule meets them, the least cost of one and the schedule.
A plan's total cost is the leader's cost plus every follower's cost; a plan is only good if every
follower is feasible.

Followers are solved through a :class:`FollowerCache`, keyed by the follower and its targets, so
a point the optimiser revisits costs nothing; the cache can live in a JSON-lines file beside a
run (written as it goes) so that a killed study resumes without solving anything twice.

**What "guaranteed feasible" means** (:attr:`Evaluation.guaranteed`): every follower was solved
to *proven* optimality at this leader point (so the follower's reaction, and with it the plan's
cost, is the one the bi-level problem defines), and the leader's constraints hold. A follower
that returned a schedule without a proof of optimality (a time limit, or a dispatching rule
instead of an exact solver) makes the point *feasible*, not guaranteed; an infeasible follower
makes it infeasible.
"""

from __future__ import annotations

import json
import math
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scmgym.errors import ScmgymError

#: how far a leader constraint may be above zero and still count as met
TOLERANCE = 1e-6


@dataclass(frozen=True)
class FollowerResult:
    """A follower's answer to one period's targets.

    ``status``: ``optimal`` (proven), ``feasible`` (a schedule without a proof of optimality),
    ``infeasible`` (proven: no schedule meets the targets), ``no_solution`` (none found, not
    proven impossible). ``cost`` is the follower's cost (None without a schedule); ``solution``
    the schedule (plain data); ``solver`` what decided it."""

    status: str
    cost: float | None
    solution: Any = None
    seconds: float = 0.0
    solver: str = ""
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return self.cost is not None and self.status in ("optimal", "feasible")

    @property
    def proven(self) -> bool:
        """Proven optimal (a guaranteed reaction)."""
        return self.status == "optimal"

    def to_dict(self) -> dict:
        return asdict(self)


class Follower(ABC):
    """The lower level of one period. ``name`` identifies the follower in the cache (two periods
    with the same plant and data share it); ``products`` name the targets it takes."""

    name: str
    products: tuple[str, ...]

    @abstractmethod
    def solve(self, targets: dict[str, float]) -> FollowerResult:
        """The least-cost reaction to ``targets`` (deterministic: same targets, same answer)."""


class Leader(ABC):
    """The upper level: bounded variables ``x`` (``names``, ``lower``, ``upper``; all integer
    when ``integer``), decoded into one dict of targets per period."""

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    integer: bool = True

    @property
    def dimension(self) -> int:
        return len(self.names)

    @abstractmethod
    def targets(self, x: np.ndarray) -> list[dict[str, float]]:
        """The targets of each period."""

    @abstractmethod
    def cost(self, x: np.ndarray) -> float:
        """The leader's own cost."""

    def constraints(self, x: np.ndarray) -> np.ndarray:
        """Leader constraints as ``g(x) <= 0`` (none by default)."""
        return np.zeros(0)

    def constraint_names(self) -> list[str]:
        return [f"g{i}" for i in range(len(self.constraints(self.lower)))]

    def plan(self, x: np.ndarray) -> dict[str, Any]:
        """The plan ``x`` stands for, as plain data (tables a planner reads)."""
        return {n: float(v) for n, v in zip(self.names, x, strict=True)}

    def repair(self, x: np.ndarray) -> np.ndarray:
        """A sampled point moved to meet the leader's own constraints where that is cheap to do
        (by default unchanged); applied to the sampled points only, never to the optimiser's."""
        return x

    def clip(self, x: Sequence[float]) -> np.ndarray:
        """``x`` within bounds (and rounded when integer)."""
        x = np.clip(np.asarray(x, dtype=float), self.lower, self.upper)
        return np.round(x) if self.integer else x


@dataclass
class BilevelProblem:
    """A leader and one follower per period."""

    name: str
    leader: Leader
    followers: list[Follower]

    def __post_init__(self) -> None:
        n = len(self.leader.targets(self.leader.lower))
        if n != len(self.followers):
            raise ScmgymError(f"bi-level problem {self.name}: the leader plans {n} periods "
                              f"but {len(self.followers)} followers were given")


def read_answers(paths) -> dict[str, FollowerResult]:
    """The follower answers in JSON-lines files (missing files and torn lines skipped)."""
    answers: dict[str, FollowerResult] = {}
    for path in paths:
        path = Path(path)
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            answers[row["key"]] = FollowerResult(**row["result"])
    return answers


def _key(follower: Follower, targets: dict[str, float]) -> str:
    parts = ",".join(f"{p}={round(float(targets.get(p, 0.0)), 6):g}" for p in follower.products)
    return f"{follower.name}|{parts}"


class FollowerCache:
    """Follower answers by (follower, targets); optionally appended to a JSON-lines ``path``
    (one line per solve, flushed and synced) and read back on start, so a rerun solves nothing
    twice. A torn last line (a kill mid-write) is dropped."""

    def __init__(self, path: str | Path | None = None,
                 known: dict[str, FollowerResult] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.answers: dict[str, FollowerResult] = dict(known or {})
        self.solves = 0
        self.hits = 0
        if self.path is not None:
            self.answers.update(read_answers([self.path]))

    def key(self, follower: Follower, targets: dict[str, float]) -> str:
        return _key(follower, targets)

    def get(self, follower: Follower, targets: dict[str, float]) -> FollowerResult | None:
        return self.answers.get(_key(follower, targets))

    def put(self, key: str, result: FollowerResult) -> None:
        if key in self.answers:
            return
        self.answers[key] = result
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as fh:
                fh.write(json.dumps({"key": key, "result": result.to_dict()}) + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def solve(self, follower: Follower, targets: dict[str, float]) -> FollowerResult:
        key = _key(follower, targets)
        hit = self.answers.get(key)
        if hit is not None:
            self.hits += 1
            return hit
        result = follower.solve(targets)
        self.solves += 1
        self.put(key, result)
        return result


@dataclass
class Evaluation:
    """A leader point and what it costs: the leader's cost, each period's follower answer, the
    total (None unless every follower is feasible), the leader constraints' values."""

    x: list[float]
    leader_cost: float
    followers: list[FollowerResult]
    violations: list[float]

    @property
    def follower_cost(self) -> float:
        return float(sum(f.cost for f in self.followers if f.cost is not None))

    @property
    def infeasible_periods(self) -> list[int]:
        return [t for t, f in enumerate(self.followers) if not f.feasible]

    @property
    def leader_feasible(self) -> bool:
        return all(v <= TOLERANCE for v in self.violations)

    @property
    def feasible(self) -> bool:
        return self.leader_feasible and not self.infeasible_periods

    @property
    def guaranteed(self) -> bool:
        """Feasible with every follower proven optimal (see the module docstring)."""
        return self.feasible and all(f.proven for f in self.followers)

    @property
    def total(self) -> float | None:
        return self.leader_cost + self.follower_cost if self.feasible else None

    def penalised(self, weight: float) -> float:
        """The total, plus ``weight`` per unit of leader violation and per infeasible period
        (the penalty form of the constraints, for optimisers without a barrier)."""
        excess = sum(max(0.0, v) for v in self.violations) + len(self.infeasible_periods)
        return self.leader_cost + self.follower_cost + weight * excess

    def to_dict(self) -> dict:
        return {"x": self.x, "total": self.total, "leader_cost": self.leader_cost,
                "follower_cost": self.follower_cost, "feasible": self.feasible,
                "guaranteed_feasible": self.guaranteed, "violations": self.violations,
                "infeasible_periods": self.infeasible_periods,
                "follower_status": [f.status for f in self.followers],
                "follower_costs": [f.cost for f in self.followers],
                "follower_metrics": [dict(f.metrics) for f in self.followers]}


def evaluate(problem: BilevelProblem, x: Sequence[float],
             cache: FollowerCache | None = None) -> Evaluation:
    """Solve every period's follower at leader point ``x`` (through ``cache``)."""
    leader = problem.leader
    x = leader.clip(x)
    cache = cache if cache is not None else FollowerCache()
    answers = [cache.solve(f, t) for f, t in zip(problem.followers, leader.targets(x), strict=True)]
    g = [float(v) for v in np.atleast_1d(leader.constraints(x))]
    cost = float(leader.cost(x))
    if not math.isfinite(cost):
        raise ScmgymError(f"{problem.name}: the leader cost is {cost} at x={list(x)}")
    return Evaluation([float(v) for v in x], cost, answers, g)


def verify(problem: BilevelProblem, x: Sequence[float]) -> Evaluation:
    """Re-solve every follower at ``x`` from scratch (no cache): the check behind a reported
    guaranteed-feasible plan."""
    return evaluate(problem, x, FollowerCache())


def solve_pending(problem: BilevelProblem, points: Sequence[Sequence[float]],
                  cache: FollowerCache, runner=None,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """Solve, through ``runner`` (``run(fn, tasks, shared)``: serial by default, the experiment
    backends in parallel), every follower problem of ``points`` not yet in ``cache``. Returns how
    many were solved."""
    from scmgym.planning.runners import SerialRunner

    leader = problem.leader
    tasks, seen = [], set()
    for x in points:
        for t, targets in enumerate(leader.targets(leader.clip(x))):
            key = cache.key(problem.followers[t], targets)
            if key not in cache.answers and key not in seen:
                seen.add(key)
                tasks.append((key, t, targets))
    runner = runner or SerialRunner()
    done = 0
    for (key, _, _), result in runner.run(_solve_task, tasks, shared=problem):
        cache.put(key, result)
        cache.solves += 1
        done += 1
        if progress is not None:
            progress(done, len(tasks))
    return done


def _solve_task(problem: BilevelProblem, task: tuple) -> FollowerResult:
    _, period, targets = task
    return problem.followers[period].solve(targets)


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """File descriptor 1 to /dev/null for the block (what C++ code writes there included), so
    that ``--json`` output stays one JSON object."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        yield
        return
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
