"""Instance A: a week of daily production targets for the Kondili process (the case study of
Beykal, Avraamidou and Pistikopoulos, ESCAPE 31, 2021).

**Leader** (planning): two products, seven daily periods, the week's demand known.
Inventory balance ``Inv[s,t] = Inv[s,t-1] + Prd[s,t] - Dmd[s,t]``; a negative inventory is a
backlog, charged a penalty per unit and day; the plan is **cyclic**: the week ends with the
stock it started with (``Inv[s,7] = Inv[s,0]``), so the last day produces the next week's first
day's starting inventory. Production targets are integers in ``[0, 80]`` per product and day.

The leader's variables are the targets of days 1-6 and the starting inventory of each product;
the cyclic condition fixes day 7's target (``Prd[s,7] = sum_t Dmd[s,t] - sum_{t<7} Prd[s,t]``),
and its bounds ``0 <= Prd[s,7] <= 80`` are the leader's constraints ``g(x) <= 0``.

Leader cost: production ``c Prd`` plus holding ``h max(Inv, 0)`` plus backlog
``b max(-Inv, 0)`` per day (nonlinear variant: holding ``h Inv + h3 Inv^3``). Each day's
**follower** is the scheduling MILP of :mod:`scmgym.planning.bilevel.stn` with the day's targets
as its final-state constraint (nonlinear variant: a quadratic batch cost, an MIQP).

The published study's demand and cost figures are not in the sources available here; the ones
below are assumed and stated in ``docs/bilevel.md``. The demand is chosen so that two days ask
for more than one day's schedule can make (so planning on demand alone is infeasible).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from scmgym.baselines.milp.common import SolverOptions, solve
from scmgym.errors import ScmgymError
from scmgym.planning.bilevel.core import BilevelProblem, Follower, FollowerResult, Leader, verify
from scmgym.planning.bilevel.stn import CompiledSTN, STNData, build_stn_model, kondili, schedule_of

PRODUCTS = ("P1", "P2")
#: the week's demand per product (assumed; days 3 and 5 exceed one day's capacity)
DEMAND = {"P1": (30, 45, 75, 40, 80, 35, 50), "P2": (60, 50, 70, 45, 60, 55, 65)}
#: the production target bound per product and day
MAX_TARGET = 80
#: the starting inventory bound per product
MAX_START = 150


@dataclass(frozen=True)
class STNCase:
    """The planning data: demand, bounds and the leader's cost coefficients (per unit, per
    unit-day). ``cubic_holding`` > 0 makes the leader nonlinear."""

    demand: dict[str, tuple[float, ...]] = field(default_factory=lambda: dict(DEMAND))
    max_target: float = MAX_TARGET
    max_start: float = MAX_START
    production_cost: float = 1.0
    holding_cost: float = 0.5
    backlog_cost: float = 5.0
    cubic_holding: float = 0.0

    def __post_init__(self) -> None:
        lengths = {len(v) for v in self.demand.values()}
        if len(lengths) != 1:
            raise ScmgymError(f"demand: every product needs the same number of days; got "
                              f"{ {p: len(v) for p, v in self.demand.items()} }")
        for p, row in self.demand.items():
            if sum(row) > self.max_target * len(row):
                raise ScmgymError(f"demand of {p}: {sum(row)} in the week, more than "
                                  f"{self.max_target} a day can make")

    @property
    def products(self) -> tuple[str, ...]:
        return tuple(self.demand)

    @property
    def days(self) -> int:
        return len(next(iter(self.demand.values())))


class STNLeader(Leader):
    """The week's plan (see the module docstring for the variables)."""

    integer = True

    def __init__(self, case: STNCase) -> None:
        self.case = case
        P, T = case.products, case.days
        self.names = tuple([f"Prd[{p},{t}]" for t in range(1, T) for p in P]
                           + [f"Inv0[{p}]" for p in P])
        self.lower = np.zeros(len(self.names))
        self.upper = np.array([case.max_target] * (len(P) * (T - 1)) + [case.max_start] * len(P),
                              dtype=float)

    def production(self, x) -> np.ndarray:
        """Targets as a (days x products) array, day 7 from the cyclic condition."""
        c = self.case
        P, T = c.products, c.days
        free = np.asarray(x[: len(P) * (T - 1)], dtype=float).reshape(T - 1, len(P))
        demand = np.array([c.demand[p] for p in P], dtype=float).T  # days x products
        last = demand.sum(axis=0) - free.sum(axis=0)
        return np.vstack([free, last])

    def inventory(self, x) -> np.ndarray:
        """End-of-day inventory (days x products); row -1 equals the start (cyclic)."""
        c = self.case
        P = c.products
        start = np.asarray(x[-len(P):], dtype=float)
        demand = np.array([c.demand[p] for p in P], dtype=float).T
        return start + np.cumsum(self.production(x) - demand, axis=0)

    def targets(self, x):
        prd = self.production(x)
        return [{p: float(max(0.0, prd[t, i])) for i, p in enumerate(self.case.products)}
                for t in range(self.case.days)]

    def repair(self, x) -> np.ndarray:
        """``x`` with days 1-6 scaled so that the cyclic condition leaves day 7 within
        ``[0, max_target]`` (for sampled points: a random point almost never meets it)."""
        c = self.case
        P, T = len(c.products), c.days
        x = np.array(x, dtype=float)
        free = x[: P * (T - 1)].reshape(T - 1, P)
        total = np.array([sum(c.demand[p]) for p in c.products], dtype=float)
        for i in range(P):
            col = free[:, i]
            s = col.sum()
            low, high = total[i] - c.max_target, total[i]  # what days 1-6 may sum to
            if s > high and s > 0:
                col *= high / s
            elif s < low:
                room = c.max_target - col
                col += room * min(1.0, (low - s) / max(room.sum(), 1e-9))
            free[:, i] = np.floor(col) if s > high else np.ceil(col)
        x[: P * (T - 1)] = np.clip(free.reshape(-1), 0, c.max_target)
        return self.clip(x)

    def constraints(self, x) -> np.ndarray:
        last = self.production(x)[-1]
        return np.concatenate([-last, last - self.case.max_target])

    def constraint_names(self) -> list[str]:
        P = self.case.products
        return [f"Prd[{p},{self.case.days}] >= 0" for p in P] + \
            [f"Prd[{p},{self.case.days}] <= {self.case.max_target:g}" for p in P]

    def cost(self, x) -> float:
        c = self.case
        inv = self.inventory(x)
        held = np.maximum(inv, 0.0)
        cost = c.production_cost * self.production(x).sum()
        cost += c.holding_cost * held.sum() + c.cubic_holding * (held ** 3).sum()
        cost += c.backlog_cost * np.maximum(-inv, 0.0).sum()
        return float(cost)

    def plan(self, x) -> dict:
        c = self.case
        prd, inv = self.production(x), self.inventory(x)
        start = np.vstack([np.asarray(x[-len(c.products):], dtype=float), inv[:-1]])
        return {p: {"demand": list(map(float, c.demand[p])),
                    "production": [float(v) for v in prd[:, i]],
                    "starting_inventory": [float(v) for v in start[:, i]],
                    "ending_inventory": [float(v) for v in inv[:, i]]}
                for i, p in enumerate(c.products)}


class STNFollower(Follower):
    """One day's scheduling MILP/MIQP, solved to proven optimality (a zero relative gap): the
    linear one by HiGHS through :class:`~scmgym.planning.bilevel.stn.CompiledSTN` (built once
    per process; ``compiled=False`` builds the Pyomo model for every target instead, the same
    answers), the quadratic one by SCIP through Pyomo (HiGHS has no MIQP)."""

    def __init__(self, data: STNData, options: SolverOptions | None = None,
                 compiled: bool = True) -> None:
        self.data = data
        self.products = data.products
        self.nonlinear = any(t.quadratic_cost for t in data.tasks)
        self.options = options or SolverOptions(
            solver="scip_direct" if self.nonlinear else "highs", time_limit=120.0, threads=1,
            mip_rel_gap=0.0)
        self.compiled = compiled and not self.nonlinear and self.options.solver == "highs"
        self._fast: CompiledSTN | None = None
        self.name = (f"{data.name}-H{data.horizon:g}-N{data.events}"
                     + ("-q" if self.nonlinear else ""))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fast": None}  # HiGHS objects stay in their process

    def solve(self, targets: dict[str, float]) -> FollowerResult:
        start = time.perf_counter()
        if self.compiled:
            if self._fast is None:
                self._fast = CompiledSTN(self.data, self.options.time_limit or 120.0)
            status, cost, schedule = self._fast.solve(targets)
            return FollowerResult(status=status, cost=cost, solution=schedule,
                                  seconds=round(time.perf_counter() - start, 4), solver="highs")
        model = build_stn_model(self.data, targets)
        info = solve(model, self.options)
        schedule = schedule_of(self.data, model) if info.objective is not None else None
        return FollowerResult(status=info.status, cost=info.objective, solution=schedule,
                              seconds=round(time.perf_counter() - start, 4), solver=info.solver)


def stn_problem(variant: str = "linear", *, events: int = 5, horizon: float = 8.0,
                case: STNCase | None = None) -> BilevelProblem:
    """Instance A as a :class:`BilevelProblem` (``variant``: linear or nonlinear)."""
    if variant not in ("linear", "nonlinear"):
        raise ScmgymError(f"variant {variant!r}; allowed: linear, nonlinear")
    nonlinear = variant == "nonlinear"
    case = case or STNCase()
    if nonlinear and not case.cubic_holding:
        case = replace(case, cubic_holding=0.001)
    if nonlinear:
        _need_scip()
    follower = STNFollower(kondili(horizon, events, nonlinear=nonlinear))
    leader = STNLeader(case)
    return BilevelProblem(f"stn-{variant}", leader, [follower] * case.days)


def _need_scip() -> None:
    from scmgym.errors import MissingExtra

    try:
        import pyscipopt  # noqa: F401
    except ImportError as err:
        raise MissingExtra("the nonlinear variant's follower is an MIQP, which HiGHS cannot "
                           "solve; it needs SCIP: pip install 'scmgym[scip]'") from err


# -- references ---------------------------------------------------------------------------------

def sequential(problem: BilevelProblem) -> dict:
    """Plan on demand alone (the leader's problem without scheduling: the cheapest plan is to
    make each day's demand that day), then schedule each day: which days cannot be scheduled."""
    leader: STNLeader = problem.leader  # type: ignore[assignment]
    c = leader.case
    T, P = c.days, c.products
    demand = np.array([c.demand[p] for p in P], dtype=float).T
    x = np.concatenate([demand[:-1].reshape(-1), np.zeros(len(P))])
    # (with holding and backlog both costing, making to demand with no stock is optimal
    # for the leader alone whenever demand is within the target bounds)
    ev = verify(problem, x)
    return {"x": list(map(float, x)), "plan": leader.plan(x), "leader_cost": ev.leader_cost,
            "feasible": ev.feasible, "infeasible_days": [t + 1 for t in ev.infeasible_periods],
            "follower_status": [f.status for f in ev.followers], "total": ev.total,
            "days": T}


def integrated(problem: BilevelProblem, options: SolverOptions | None = None) -> dict:
    """The single-level MILP of the linear variant: the leader's plan and every day's schedule in
    one model (the followers' cost is part of the leader's objective, so the single-level optimum
    is the bi-level one: the reference DOMINO is measured against)."""
    import pyomo.environ as pyo

    leader: STNLeader = problem.leader  # type: ignore[assignment]
    follower: STNFollower = problem.followers[0]  # type: ignore[assignment]
    c = leader.case
    if c.cubic_holding or any(t.quadratic_cost for t in follower.data.tasks):
        raise ScmgymError("the integrated model is written for the linear variant only")
    P, T = list(c.products), range(1, c.days + 1)
    m = pyo.ConcreteModel(name="integrated planning and scheduling")
    m.prd = pyo.Var(P, T, domain=pyo.NonNegativeIntegers, bounds=(0, c.max_target))
    m.start = pyo.Var(P, domain=pyo.NonNegativeIntegers, bounds=(0, c.max_start))
    m.held = pyo.Var(P, T, domain=pyo.NonNegativeReals)
    m.short = pyo.Var(P, T, domain=pyo.NonNegativeReals)

    def balance(m, p, t):
        made = sum(m.prd[p, k] - c.demand[p][k - 1] for k in T if k <= t)
        return m.held[p, t] - m.short[p, t] == m.start[p] + made
    m.balance = pyo.Constraint(P, T, rule=balance)
    m.cyclic = pyo.Constraint(P, rule=lambda m, p: sum(m.prd[p, t] for t in T) == sum(c.demand[p]))
    m.day = pyo.Block(T)
    for t in T:
        sub = build_stn_model(follower.data, {})
        sub.cost.deactivate()
        m.day[t].transfer_attributes_from(sub)
        m.day[t].final_state.deactivate()
        last = follower.data.events - 1

        def meets(b, p, t=t, last=last):
            made = sum(task.produces.get(p, 0.0) * b.B[task.name, last]
                       for task in follower.data.tasks)
            return sum(b.deliver[p, n] for n in b.N) + made >= m.prd[p, t]
        m.day[t].meets = pyo.Constraint(P, rule=meets)
    sched = sum(task.fixed_cost * m.day[t].w[task.name, n] + task.variable_cost
                * m.day[t].B[task.name, n] for t in T for task in follower.data.tasks
                for n in m.day[t].N)
    m.cost = pyo.Objective(expr=c.production_cost * sum(m.prd.values())
                           + c.holding_cost * sum(m.held.values())
                           + c.backlog_cost * sum(m.short.values()) + sched)
    started = time.perf_counter()
    info = solve(m, options or SolverOptions(time_limit=600.0, threads=1, mip_rel_gap=0.0))
    out = {"status": info.status, "objective": info.objective, "bound": info.bound,
           "seconds": round(time.perf_counter() - started, 3)}
    if info.objective is not None:
        x = [m.prd[p, t].value for t in range(1, c.days) for p in P] + \
            [m.start[p].value for p in P]
        out["x"] = [float(round(v)) for v in x]
        out["plan"] = leader.plan(np.asarray(out["x"]))
    return out
