"""Files of a run: run directories, atomic JSON, checkpoints, a flushed CSV row writer, and
SIGTERM as an interrupt."""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import pickle
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


def run_dir_prefix(problem: str, method: str, seed: int) -> str:
    """``<problem>__<method>__s<seed>__`` with the problem name made file-safe."""
    safe = problem.replace(":", "-").replace("/", "-")
    return f"{safe}__{method}__s{seed}__"


def make_run_dir(out: str | Path, problem: str, method: str, seed: int) -> Path:
    """``<out>/<problem>__<method>__s<seed>__<timestamp>/`` (created)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = Path(out) / (run_dir_prefix(problem, method, seed) + stamp)
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
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def jsonable(value: Any) -> Any:
    """Plain JSON data: tuples as lists, numpy scalars as numbers, anything exotic as repr."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Pickle a method's state atomically (checkpoints hold state, never policies)."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return pickle.load(fh)


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


def rewrite_csv(path: Path, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Replace a CSV file atomically by ``columns`` and ``rows``."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(rows)
    os.replace(tmp, path)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt inside the block, so a kill ends cleanly."""
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
