"""Exceptions raised by scmgym, with messages that say where the problem is and what is allowed."""

from __future__ import annotations

from typing import Any


class ScmgymError(Exception):
    """Base class of every error scmgym raises on purpose."""


class MissingExtra(ScmgymError):
    """An optional dependency is not installed; the CLI exits with status 2."""

    exit_code = 2


class DataError(ScmgymError, ValueError):
    """Bad input data: a dataset file, a decision vector or a priority order.

    The message names the source (file), the row (or the line of a text file), the column,
    the offending value and what is allowed, as far as each applies. The parts are also kept
    as attributes for programs.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
        value: Any = None,
        allowed: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.row = row
        self.line = line
        self.column = column
        self.value = value
        self.allowed = allowed
        where = []
        if source is not None:
            where.append(str(source))
        if row is not None:
            where.append(f"row {row}")
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        msg = (", ".join(where) + ": " if where else "") + problem
        if value is not None:
            msg += f" (got {value!r})"
        if allowed is not None:
            msg += f"; allowed: {allowed}"
        super().__init__(msg)


class InfeasibleError(ScmgymError, ValueError):
    """A setting under which the simulation could never finish (detected before simulating)."""


class SimulationLimitError(ScmgymError, RuntimeError):
    """A simulation reached its safety cap (day or event limit) without finishing."""


class BudgetExhausted(ScmgymError):
    """Raised inside a method when its simulation budget is spent (a normal end of a run)."""


class RunsFailed(ScmgymError):
    """Some runs of a comparison or a suite raised an error; the others finished and were
    recorded. ``failures`` holds ``(run, error message)`` pairs; a rerun retries them."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        lines = "; ".join(f"{run}: {err}" for run, err in failures[:5])
        more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
        super().__init__(f"{len(failures)} run(s) failed: {lines}{more}")
        self.failures = failures


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM before it finished.

    Its run directory holds the last checkpoint (for methods that resume) and no
    ``result.json``, so it is never taken for a finished run. ``partial`` is the run's outcome
    so far (or None).
    """

    def __init__(self, message: str, *, run_dir=None, partial=None) -> None:
        super().__init__(message)
        self.run_dir = run_dir
        self.partial = partial
