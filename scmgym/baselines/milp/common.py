"""Solver options and the solve call shared by the MILP models (Pyomo, HiGHS by default).

Every model in :mod:`scmgym.baselines.milp` is a plain ``pyomo.environ.ConcreteModel`` built by a
``build_<name>_model(instance, ...)`` factory, so it can be inspected, written to an LP/MPS file or
handed to any solver. :func:`solve` runs it through Pyomo's solver interface
(``pyomo.contrib.solver``), which gives the same result fields for every solver it knows.
"""
from __future__ import annotations

import time
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
    termination condition; ``objective`` is the incumbent's value (None without one) and ``bound``
    the best proven bound on the optimum (None if the solver gave none)."""

    status: str
    termination: str
    objective: float | None
    bound: float | None
    solve_seconds: float
    solver: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def solver_names() -> list[str]:
    """Names accepted by :class:`SolverOptions` ``solver``."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    return sorted(SolverFactory._cls)


def solve(model: Any, options: SolverOptions = SolverOptions()) -> SolveInfo:
    """Solve ``model`` in place (variable values are loaded when there is an incumbent)."""
    from pyomo.contrib.solver.common.factory import SolverFactory
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

    if options.solver not in SolverFactory._cls:
        raise ScmgymError(f"unknown solver {options.solver!r}; "
                          f"allowed: {', '.join(solver_names())}")
    solver = SolverFactory(options.solver)
    if not solver.available():
        raise ScmgymError(f"solver {options.solver!r} is not available on this machine "
                          f"(for 'highs': pip install highspy)")
    kwargs: dict[str, Any] = {"time_limit": options.time_limit, "rel_gap": options.mip_rel_gap,
                              "load_solutions": False,
                              "raise_exception_on_nonoptimal_result": False}
    if options.threads is not None:
        kwargs["threads"] = options.threads
    start = time.perf_counter()
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
