"""Solving the CAR-T MILP, whole or with the sites fixed (a reduced model)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from scmgym.baselines.milp.common import SolverOptions, model_size, solve
from scmgym.planning.cart.data import CARTInstance
from scmgym.planning.cart.model import COST_TERMS, Infeasible, build_cart_model

#: the solver settings of the exact reference: proven optimal (no relative gap)
EXACT = SolverOptions(time_limit=600.0, mip_rel_gap=0.0)


@dataclass
class CARTResult:
    """A solve's outcome: ``status`` (optimal, feasible, infeasible, no_solution), the cost and
    its terms, the solver's bound, the open sites, cost per therapy, the model size and the
    seconds spent. ``routes`` counts the patients per (site, outbound mode, return mode)."""

    status: str
    cost: float | None
    bound: float | None
    sites: tuple[str, ...]
    costs: dict[str, float] = field(default_factory=dict)
    per_therapy: float | None = None
    size: dict[str, int] = field(default_factory=dict)
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    routes: dict[str, int] = field(default_factory=dict)
    reason: str = ""

    @property
    def feasible(self) -> bool:
        return self.cost is not None

    @property
    def gap(self) -> float | None:
        if self.cost is None or self.bound is None or self.cost <= 0:
            return None
        return max(0.0, (self.cost - self.bound) / self.cost)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["sites"] = list(self.sites)
        out["gap"] = self.gap
        return out


def solve_cart(inst: CARTInstance, *, formulation: str = "aggregated",
               sites: Iterable[str] | None = None,
               options: SolverOptions | None = None) -> CARTResult:
    """Solve the MILP (``sites=None``) or the reduced model with ``sites`` fixed open.

    An instance with no feasible plan (more demand than the lines can take within the return
    time, or a fixed site set without a route for some centre) ends with status
    ``"infeasible"`` and no cost."""
    options = options or EXACT
    fixed = None if sites is None else tuple(dict.fromkeys(sites))
    t0 = time.perf_counter()
    try:
        m = build_cart_model(inst, formulation=formulation, sites=fixed)
    except Infeasible as exc:
        return CARTResult(status="infeasible", cost=None, bound=None, sites=fixed or (),
                          build_seconds=time.perf_counter() - t0, reason=str(exc))
    build = time.perf_counter() - t0
    size = model_size(m)
    info = solve(m, options)
    if info.objective is None:
        return CARTResult(status=info.status, cost=None, bound=info.bound, sites=fixed or (),
                          size=size, build_seconds=build, solve_seconds=info.solve_seconds)
    if fixed is None:
        opened = tuple(s for s in inst.sites if round(m.y[s].value or 0.0) == 1)
    else:
        opened = fixed
    routes = m._routes
    counts: dict[str, int] = {}
    for (_, r), var in m.x.items():
        n = round(var.value or 0.0)
        if n:
            row = routes.iloc[r]
            key = f"{row['site']} {row['out_mode']}/{row['back_mode']}"
            counts[key] = counts.get(key, 0) + n
    import pyomo.environ as pyo

    costs = {t: round(float(pyo.value(getattr(m, f"cost_{t}"))), 6) for t in COST_TERMS}
    cost = round(sum(costs.values()), 6)
    return CARTResult(status=info.status, cost=cost, bound=info.bound, sites=opened,
                      costs=costs, per_therapy=cost / max(1, inst.n_patients), size=size,
                      build_seconds=build, solve_seconds=info.solve_seconds,
                      routes=dict(sorted(counts.items())))
