"""Solving the production-distribution model exactly (the integrated MILP), the distribution
problem for a given production plan (an LP), and the result both methods report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from scmgym.baselines.milp.common import SolverOptions, solve
from scmgym.planning.production_distribution.data import PDInstance
from scmgym.planning.production_distribution.model import (
    Decisions,
    PlanReport,
    build_pd_model,
    decisions_from_model,
    evaluate_plan,
    kpis,
)


@dataclass
class PDResult:
    """One method's plan for an instance.

    ``cost`` is the plan's total cost as :func:`~scmgym.planning.production_distribution.
    model.evaluate_plan` recomputes it (None when the plan is infeasible: an infeasible plan is
    never reported as a cost); ``bound`` and ``gap`` come from the MILP solver (None for the
    configurator); ``path`` lists the configurator's phases (each with its name, cost and
    seconds)."""

    method: str
    status: str
    feasible: bool
    cost: float | None
    costs: dict[str, float]
    seconds: float
    bound: float | None = None
    gap: float | None = None
    path: list[dict] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    kpis: dict = field(default_factory=dict)
    report: PlanReport | None = None
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {"method": self.method, "status": self.status, "feasible": self.feasible,
               "cost": self.cost, "costs": self.costs, "bound": self.bound, "gap": self.gap,
               "seconds": round(self.seconds, 3), "kpis": self.kpis,
               "violations": self.violations[:50]}
        if self.path:
            out["path"] = self.path
        return out


def result_from_report(method: str, status: str, inst: PDInstance, report: PlanReport,
                       seconds: float, **extra) -> PDResult:
    return PDResult(method=method, status=status, feasible=report.feasible,
                    cost=report.cost if report.feasible else None,
                    costs={k: round(v, 6) for k, v in report.costs.items()},
                    seconds=seconds, violations=report.violations,
                    kpis=kpis(inst, report), report=report, **extra)


def solve_milp(inst: PDInstance, options: SolverOptions | None = None, *, moq: bool = True,
               transfers: bool = True,
               on_progress=None) -> PDResult:
    """The integrated MILP (HiGHS by default): the reference optimum and its bound."""
    start = time.perf_counter()
    m = build_pd_model(inst, moq=moq, transfers=transfers)
    info = solve(m, options or SolverOptions(), on_progress=on_progress)
    seconds = time.perf_counter() - start
    if info.objective is None:
        return PDResult(method="milp", status=info.status, feasible=False, cost=None,
                        costs={}, seconds=seconds, bound=info.bound)
    report = evaluate_plan(inst, decisions_from_model(m, inst), moq=moq, transfers=transfers)
    result = result_from_report("milp", info.status, inst, report, seconds, bound=info.bound)
    if result.cost is not None and info.bound is not None and result.cost > 0:
        result.gap = max(0.0, (result.cost - info.bound) / result.cost)
    return result


def solve_distribution(inst: PDInstance, make: np.ndarray,
                       options: SolverOptions | None = None, *, transfers: bool = True
                       ) -> Decisions:
    """The distribution problem for a given production plan ``make`` (L, S, T): the
    shipments and transfers that minimise the whole cost (transport, transfers, and the
    inventory terms that the shipments change), an LP; always feasible, since unmet demand
    becomes backlog. Returns the plan's decisions (``make`` as given)."""
    m = build_pd_model(inst, moq=False, transfers=transfers)
    for key, var in m.make.items():
        var.fix(float(make[key]))
    info = solve(m, options or SolverOptions(time_limit=60))
    if info.objective is None:
        raise RuntimeError(f"the distribution LP ended without a plan ({info.status})")
    dec = decisions_from_model(m, inst)
    dec.make = np.array(make, float)
    return dec
