"""What every trainer shares: simulation budget, history writer, run directory, checkpoints,
tree schemas of the envs, and the convergence plot."""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import pickle
import signal
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scmgym.errors import ScmgymError
from scmgym.policies import tree as T

HISTORY_COLUMNS = ("simulation", "value", "best_so_far", "episode_return", "generation")


class BudgetExhausted(ScmgymError):
    """Raised inside a trainer when the simulation budget is spent."""


@dataclass(frozen=True)
class Objective:
    """The plant objective an env reports at the end of an episode (in ``info``)."""

    name: str  # key in the final info: "makespan" or "revenue"
    sense: str  # "min" or "max"

    def better(self, a: float, b: float) -> bool:
        return a < b if self.sense == "min" else a > b


def objective_of(env) -> Objective:
    """The objective of an scmgym env (HFS: makespan, minimised; make-or-buy: revenue)."""
    from scmgym.envs.hfs import HybridFlowShopEnv

    return (Objective("makespan", "min") if isinstance(env.unwrapped, HybridFlowShopEnv)
            else Objective("revenue", "max"))


def tree_schema(env) -> T.TreeSchema:
    """Feature names and integer domains, and action names, of an scmgym env's observation."""
    from scmgym.envs.hfs import HybridFlowShopEnv
    from scmgym.simulators import hfs

    base = env.unwrapped
    low = np.asarray(base.observation_space.low)
    high = np.asarray(base.observation_space.high)
    if isinstance(base, HybridFlowShopEnv):
        names = ("machine_type", "basement_day", "panel_day", "due_day", "remaining")
        cats = tuple(sorted(hfs.TYPE_CODES, key=hfs.TYPE_CODES.get))
        feats = tuple(T.Feature(n, int(lo), int(hi), cats if i == 0 else None)
                      for i, (n, lo, hi) in enumerate(zip(names, low, high, strict=True)))
        if base.action_mode == "level":
            actions = tuple(f"level {k}" for k in range(base.action_space.n))
        else:
            actions = tuple(f"priority {k}" for k in range(base.action_space.n))
        return T.TreeSchema(feats, actions)
    names = tuple(base.feature_names)
    feats = tuple(T.Feature(n, int(np.floor(lo)), int(np.ceil(hi)))
                  for n, lo, hi in zip(names, low, high, strict=True))
    return T.TreeSchema(feats, ("make", "buy"))


def solution_from_info(info: dict[str, Any]) -> list[int] | None:
    """The whole solution an episode simulated, from its final ``info``: the HFS priority order
    (highest first) or the make-or-buy decision vector (1 = buy)."""
    if "order" in info:
        return [int(x) for x in info["order"]]
    if "orders" in info:
        return [int(r["decision"]) for r in info["orders"]]
    return None


class Budget:
    """Counts real simulations (finished episodes) against a limit."""

    def __init__(self, limit: int, used: int = 0) -> None:
        if limit < 1:
            raise ValueError(f"budget={limit}; allowed: a positive number of simulations")
        self.limit = int(limit)
        self.used = int(used)

    @property
    def remaining(self) -> int:
        return self.limit - self.used

    def charge(self, n: int = 1) -> None:
        if self.used + n > self.limit:
            raise BudgetExhausted(f"simulation budget of {self.limit} spent")
        self.used += n


class RowWriter:
    """Append rows to a CSV file, flushed one by one (the header is written to a new file).

    With ``fresh=True`` an existing file is replaced rather than appended to.
    """

    def __init__(self, path: Path, columns: tuple[str, ...], *, fresh: bool = False) -> None:
        new = fresh or not path.exists()
        self._fh = path.open("w" if fresh else "a", newline="")
        self._writer = csv.writer(self._fh)
        if new:
            self.write(columns)

    def write(self, row: tuple) -> None:
        self._writer.writerow(row)
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class History:
    """One CSV row per simulation, appended and flushed as it goes.

    Columns: ``simulation`` (1-based), ``value`` (the plant objective of that simulation),
    ``best_so_far``, ``episode_return`` and ``generation``.
    """

    def __init__(self, path: Path | None, objective: Objective) -> None:
        self.path = path
        self.objective = objective
        self.rows: list[tuple] = []
        self.best: float | None = None
        self._out = RowWriter(path, HISTORY_COLUMNS) if path is not None else None

    def record(self, value: float, episode_return: float, generation: int) -> None:
        if self.best is None or self.objective.better(value, self.best):
            self.best = value
        row = (len(self.rows) + 1, value, self.best, episode_return, generation)
        self.rows.append(row)
        if self._out is not None:
            self._out.write(row)

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def truncate(self, keep: int) -> None:
        """Keep only the first ``keep`` rows, in memory and on disk (after an interruption)."""
        self.rows = self.rows[:keep]
        self.best = self.rows[-1][2] if self.rows else None
        if self.path is not None:
            reopen = self._out is not None
            self.close()
            _rewrite(self.path, self.rows)
            if reopen:
                self._out = RowWriter(self.path, HISTORY_COLUMNS)

    @classmethod
    def resume(cls, path: Path, objective: Objective, keep: int) -> History:
        """Reopen a history file, keeping its first ``keep`` rows (those in the checkpoint)."""
        with path.open(newline="") as fh:
            rows = [(int(r[0]), float(r[1]), float(r[2]), float(r[3]), int(r[4]))
                    for r in list(csv.reader(fh))[1:1 + keep]]
        _rewrite(path, rows)
        hist = cls(path, objective)
        hist.rows = rows
        hist.best = rows[-1][2] if rows else None
        return hist


def _rewrite(path: Path, rows: list[tuple]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HISTORY_COLUMNS)
        writer.writerows(rows)
    os.replace(tmp, path)


def make_run_dir(out: str | Path, problem: str, method: str, seed: int) -> Path:
    """``<out>/<problem>__<method>__s<seed>__<timestamp>/`` (created)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    safe = problem.replace(":", "-").replace("/", "-")
    path = Path(out) / f"{safe}__{method}__s{seed}__{stamp}"
    path.mkdir(parents=True, exist_ok=False)
    return path


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a crash leaves the old file or the new one, never half of one)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default))
    os.replace(tmp, path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer | np.floating):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Pickle the trainer state atomically."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return pickle.load(fh)


@contextmanager
def terminate_as_interrupt():
    """Turn SIGTERM into KeyboardInterrupt while training, so a kill ends cleanly."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def convergence_plot(history: History, path: Path, title: str) -> Path:
    """Objective of every simulation and the best so far, against simulations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if history.rows:
        sims = [r[0] for r in history.rows]
        ax.scatter(sims, [r[1] for r in history.rows], s=4, alpha=0.3, label="simulation")
        ax.plot(sims, [r[2] for r in history.rows], color="C3", label="best so far")
    ax.set_xlabel("simulations")
    ax.set_ylabel(history.objective.name)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


Callback = Callable[[dict[str, Any]], bool | None]
