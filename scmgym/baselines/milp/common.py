"""Solver options and the solve call shared by the MILP models (Pyomo, HiGHS by default).

Every model in :mod:`scmgym.baselines.milp` is a plain ``pyomo.environ.ConcreteModel`` built by a
``build_<name>_model(instance, ...)`` factory, so it can be inspected, written to an LP/MPS file or
handed to any solver. :func:`solve` runs it through Pyomo's solver interface
(``pyomo.contrib.solver``), which gives the same result fields for every solver it knows.
"""
from __future__ import annotations

import io
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from scmgym.errors import ScmgymError


@dataclass(frozen=True)
class SolverOptions:
    """How to run the solver.

    ``solver`` is a name from Pyomo's solver factory (``pyomo.contrib.solver``): ``"highs"``
    (default, through ``highspy``), ``"gurobi_direct"``, ``"scip_direct"``, ... ``time_limit`` is in
    seconds; ``mip_rel_gap`` stops once (incumbent - bound) / incumbent is below it; ``threads``
    ``None`` lets the solver choose.
    """

    time_limit: float = 300.0
    mip_rel_gap: float = 1e-4
    threads: int | None = None
    solver: str = "highs"

    def __post_init__(self) -> None:
        if not self.time_limit > 0:
            raise ValueError(f"time_limit must be > 0 seconds, got {self.time_limit!r}")
        if not 0 <= self.mip_rel_gap < 1:
            raise ValueError(f"mip_rel_gap must be in [0, 1), got {self.mip_rel_gap!r}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 or None, got {self.threads!r}")


@dataclass(frozen=True)
class SolveInfo:
    """What the solver reported: ``status`` is "optimal", "feasible" (stopped by the time or gap
    limit with an incumbent), "no_solution" or "infeasible"; ``termination`` is the solver's own
    termination condition, or ``"emptyModel"`` when the model had no free variable and was
    decided without calling the solver; ``objective`` is the incumbent's value (None without one)
    and ``bound`` the best proven bound on the optimum (None if the solver gave none)."""

    status: str
    termination: str
    objective: float | None
    bound: float | None
    solve_seconds: float
    solver: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SolverProgress:
    """One line of a solver's branch-and-bound log, as read while it solves: seconds since the
    solve began, the incumbent's objective and the best bound (None while there is none) and
    the relative gap (a fraction, None while it is infinite)."""

    seconds: float
    incumbent: float | None
    bound: float | None
    gap: float | None


def _number(text: str) -> float | None:
    text = text.strip().rstrip("%")
    try:
        value = float(text)
    except ValueError:
        return None
    return None if value != value or abs(value) == float("inf") else value


# HiGHS's MIP table row: an optional one-letter source, nodes processed, in queue, leaves,
# explored %, then BestBound, BestSol, Gap, ... and the time ("12.3s") last.
_HIGHS_ROW = re.compile(r"^\s*[A-Za-z]?\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+(\S+)\s+(\S+)\s+(\S+)"
                        r"\s.*?([\d.]+)s\s*$")


class SolverLogReader(io.TextIOBase):
    """A text stream for the solver's log (Pyomo's ``tee``) that calls ``callback`` with a
    :class:`SolverProgress` for each row of the branch-and-bound table it understands.

    HiGHS rows are read by their fixed layout; SCIP's table is read by its header (the columns
    named ``time``, ``dualbound``, ``primalbound`` and ``gap``). Other lines, and the logs of
    other solvers, are passed over, so a solver whose log is not understood simply reports no
    progress."""

    def __init__(self, callback: Callable[[SolverProgress], None]) -> None:
        super().__init__()
        self.callback = callback
        self._pending = ""
        self._scip_columns: dict[str, int] | None = None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            progress = self.parse(line)
            if progress is not None:
                self.callback(progress)
        return len(text)

    def parse(self, line: str) -> SolverProgress | None:
        m = _HIGHS_ROW.match(line)
        if m is not None:
            gap = _number(m.group(3))
            return SolverProgress(seconds=float(m.group(4)), bound=_number(m.group(1)),
                                  incumbent=_number(m.group(2)),
                                  gap=None if gap is None else gap / 100)
        if "|" not in line:
            return None
        cells = [c.strip() for c in line.split("|")]
        if "dualbound" in cells and "primalbound" in cells and "time" in cells:
            self._scip_columns = {name: i for i, name in enumerate(cells)}
            return None
        cols = self._scip_columns
        if cols is None or len(cells) != len(cols):
            return None
        # a row's time cell may start with SCIP's one-letter heuristic marker ("d 2.0s")
        when = cells[cols["time"]].split()
        seconds = _number(when[-1].rstrip("s")) if when else None
        if seconds is None:
            return None
        gap = _number(cells[cols["gap"]]) if "gap" in cols else None
        return SolverProgress(seconds=seconds, bound=_number(cells[cols["dualbound"]]),
                              incumbent=_number(cells[cols["primalbound"]]),
                              gap=None if gap is None else gap / 100)


def model_size(model: Any) -> dict[str, int]:
    """Variables (all, and binary or integer) and active constraints of a built model."""
    import pyomo.environ as pyo

    n_var = n_int = 0
    for v in model.component_data_objects(pyo.Var, descend_into=True):
        n_var += 1
        if v.is_integer() or v.is_binary():
            n_int += 1
    n_con = sum(1 for _ in model.component_data_objects(pyo.Constraint, active=True,
                                                        descend_into=True))
    return {"variables": n_var, "integers": n_int, "constraints": n_con}


def solver_names() -> list[str]:
    """Names accepted by :class:`SolverOptions` ``solver``."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    # a pyomo.common.factory.Factory iterates over its registered names
    return sorted(SolverFactory)


def _has_free_variable(model: Any) -> bool:
    """Whether an unfixed variable appears in an active constraint or objective of ``model``
    (stops at the first one found, so it is cheap on every real model)."""
    import pyomo.environ as pyo
    from pyomo.core.expr.visitor import identify_variables

    for ctype in (pyo.Objective, pyo.Constraint):
        for comp in model.component_data_objects(ctype, active=True, descend_into=True):
            expr = comp.expr if ctype is pyo.Objective else comp.body
            for _ in identify_variables(expr, include_fixed=False):
                return True
    return False


def _solve_without_variables(model: Any, solver: str, tol: float = 1e-6) -> SolveInfo | None:
    """Decide a model with no free variable without calling the solver: its constraints are
    constants (satisfied or not) and its objective is a constant. None if it has several active
    objectives (left to the solver to reject)."""
    import pyomo.environ as pyo

    start = time.perf_counter()
    objectives = list(model.component_data_objects(pyo.Objective, active=True))
    if len(objectives) > 1:
        return None
    for con in model.component_data_objects(pyo.Constraint, active=True):
        value = pyo.value(con.body)
        if (con.has_lb() and value < pyo.value(con.lower) - tol) or (
                con.has_ub() and value > pyo.value(con.upper) + tol):
            return SolveInfo(status="infeasible", termination="provenInfeasible",
                             objective=None, bound=None,
                             solve_seconds=round(time.perf_counter() - start, 3), solver=solver)
    value = round(float(pyo.value(objectives[0].expr)), 6) if objectives else None
    return SolveInfo(status="optimal", termination="emptyModel", objective=value, bound=value,
                     solve_seconds=round(time.perf_counter() - start, 3), solver=solver)


@contextmanager
def _interrupts_reraised() -> Iterator[None]:
    """Re-raise, after the solve, a Ctrl-C or SIGTERM that arrived during it.

    Pyomo's HiGHS interface sets highspy's ``HandleKeyboardInterrupt``: the solver's callback
    then catches the ``KeyboardInterrupt`` that Ctrl-C (or the SIGTERM handler of
    :func:`scmgym.core.io.terminate_as_interrupt`) raises, cancels the solve, and Pyomo reports
    it as an error with no solution. A loop of solves (a dataset of instances, the subproblems of
    a decomposition) then went on with the next one, so Ctrl-C was lost. The handlers in place are
    wrapped for the solve's duration; each still runs, and the interrupt is raised again once the
    solver returns. Outside the main thread (where handlers cannot be set) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def noted(signum, frame):
        seen.append(signum)
        handler = previous[signum]
        if callable(handler):
            handler(signum, frame)
        else:
            raise KeyboardInterrupt(f"signal {signum}")

    # SIGINT unless ignored; SIGTERM only under a Python handler (by default it just kills)
    wrapped = [sig for sig, handler in previous.items()
               if callable(handler) or (sig == signal.SIGINT and handler == signal.SIG_DFL)]
    for sig in wrapped:
        signal.signal(sig, noted)
    try:
        yield
    finally:
        for sig in wrapped:
            signal.signal(sig, previous[sig])
    if seen:
        raise KeyboardInterrupt(f"signal {seen[0]} during the solve")


#: the ``threads`` of the last HiGHS solve in this process ("unset" before the first)
_HIGHS_THREADS: list = ["unset"]


def _highs_threads(threads: int | None) -> None:
    """HiGHS keeps one thread scheduler per process, sized by the first solve: a later solve
    asking for another thread count fails at once (``Option 'threads' is set to 1 but the
    scheduler has already been initialized to use 2 threads``) and Pyomo reports no solution.
    When the count changes, the scheduler is reset first, so solves with different
    ``threads`` can follow one another in one process."""
    last = _HIGHS_THREADS[0]
    if last != "unset" and last != threads:
        import highspy

        reset = getattr(highspy.Highs, "resetGlobalScheduler", None)
        if reset is not None:
            reset(True)
    _HIGHS_THREADS[0] = threads


def solve(model: Any, options: SolverOptions = SolverOptions(),
          on_progress: Callable[[SolverProgress], None] | None = None) -> SolveInfo:
    """Solve ``model`` in place (variable values are loaded when there is an incumbent).

    ``on_progress`` is called with a :class:`SolverProgress` for each row of the solver's
    branch-and-bound log (HiGHS and SCIP; see :class:`SolverLogReader`). While the solver runs,
    Pyomo redirects the process's standard output and error into that log (at the file
    descriptor level), so the callback must write to a stream opened before the solve (a
    duplicate of the terminal's descriptor, as ``scmgym plan`` does), not ``print``."""
    from pyomo.contrib.solver.common.factory import SolverFactory
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

    if options.solver not in SolverFactory:
        raise ScmgymError(f"unknown solver {options.solver!r}; "
                          f"allowed: {', '.join(solver_names())}")
    solver = SolverFactory(options.solver)
    if not solver.available():
        raise ScmgymError(f"solver {options.solver!r} is not available on this machine "
                          f"(for 'highs': pip install highspy)")
    # A model whose variables were all eliminated while building it (the HFS relaxation when
    # the analytic bound already equals the horizon and no worker kind is kept) is passed to
    # HiGHS with 0 columns and 0 rows. HiGHS then stops before presolve with model status
    # kModelEmpty, and Pyomo's HiGHS interface maps that to TerminationCondition.unknown with
    # SolutionStatus.noSolution and no objective or bound (Pyomo issue #3106, open as of
    # 6.10), although the optimum is simply the constant objective. Such a model is decided
    # here instead (termination "emptyModel", Pyomo's name for a model without variables).
    if not _has_free_variable(model):
        trivial = _solve_without_variables(model, options.solver)
        if trivial is not None:
            return trivial
    kwargs: dict[str, Any] = {"time_limit": options.time_limit, "rel_gap": options.mip_rel_gap,
                              "load_solutions": False,
                              "raise_exception_on_nonoptimal_result": False}
    if options.threads is not None:
        kwargs["threads"] = options.threads
    if options.solver == "highs":
        _highs_threads(options.threads)
    if on_progress is not None:
        kwargs["tee"] = [SolverLogReader(on_progress)]
    start = time.perf_counter()
    with _interrupts_reraised():
        results = solver.solve(model, **kwargs)
    seconds = time.perf_counter() - start
    has_solution = results.solution_status in (SolutionStatus.feasible, SolutionStatus.optimal)
    if has_solution:
        results.solution_loader.load_vars()
    term = results.termination_condition
    if term == TerminationCondition.convergenceCriteriaSatisfied and has_solution:
        status = "optimal"
    elif term in (TerminationCondition.provenInfeasible, TerminationCondition.locallyInfeasible):
        status = "infeasible"
    else:
        status = "feasible" if has_solution else "no_solution"
    bound = results.objective_bound
    # round off the solver's floating-point noise (8109.9999999999945 -> 8110.0)
    bound = None if bound is None or abs(bound) == float("inf") else round(float(bound), 6)
    objective = None if not has_solution else round(float(results.incumbent_objective), 6)
    return SolveInfo(status=status, termination=term.name, objective=objective, bound=bound,
                     solve_seconds=round(seconds, 3), solver=options.solver)
