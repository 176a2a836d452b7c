"""A time-indexed relaxation of the Adige plant (day level): a lower bound on the makespan of every
priority order, and a priority order read off the relaxed schedule.

The plant (spec §4) is a priority-dispatched, day-by-day allocation. Any priority order produces a
*day-level schedule*: the day tau[i][p] on which order i works production day p, the day it is
picked up, and its delivery day. Every such schedule satisfies the rules below, so the smallest
makespan over all schedules that satisfy them (the model's optimum) is at most the makespan of every
priority order: the MILP bound is valid.

Kept (each a necessary condition on any simulated schedule):

* release curves: by day t an order can only have worked the production days whose basement
  (``day >= db``) and, from the panel threshold on, panel (``day >= de``) allow it, one
  production day a day; all-zero days need nothing (bounds of ``V``);
* rate: in a bucket of L days an order works at most L consecutive production days, so it uses
  at most the largest requirement of any L consecutive days (``work_rate``);
* pools: the M, E and R used by all orders in a bucket never exceed the pool times the bucket
  length (``pool``);
* deadline curves: production day p worked after day t cannot be delivered before
  ``t + 1 + (D - p) + 3`` (finish detection, pickup, two days of transport; one more with
  next-update pickup), so its workers are used by day t when that exceeds the makespan; linear
  in the makespan indicators ``delta`` (``work_deadline``);
* trucks: at most ``trucks_per_day`` pickups a day, every order picked by makespan - 2, and an
  order's cumulative pickup by day d at most the share of its R work (its last production days)
  done by the update before (same update: of) day d;
* the makespan is at least every due date and the analytic bounds of spec §12.4.

Relaxed (dropped, which can only lower the optimum):

* the priority rule itself: any schedule meeting the capacities is allowed, not only one produced
  by a first-fit pass over a fixed order;
* integrality of the work: worker use ``V`` is continuous, so a day's requirement may be spread
  over days, and the kinds of one order are not tied to the same production day;
* station occupancy (only the analytic station bound enters) and the truck's choice rule;
* time is bucketed: in the middle of the horizon constraints are only imposed at bucket
  boundaries, with capacities summed over the bucket (a weaker set of constraints);
* worker kinds whose analytic bound is far below the best one (``kinds="auto"``).

Only the makespan indicators ``delta[s] = [makespan >= s]`` for s between the analytic bound and the
horizon are binary, so the model stays small: d1-d4 build in seconds and solve within the default
time limit.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from scmgym.baselines.milp.common import SolveInfo, SolverOptions, solve
from scmgym.simulators import hfs

_KINDS = "MER"


def _release_days(order: hfs.HFSOrder) -> list[int]:
    """Earliest day each production day can be worked (index p-1), ignoring other orders."""
    t = order.type
    days: list[int] = []
    prev = 0
    for p, req in enumerate(t.requirements, start=1):
        earliest = prev + 1
        if any(req):
            earliest = max(earliest, order.basement_day)
            if p >= t.panel_threshold:
                earliest = max(earliest, order.panel_day)
        days.append(earliest)
        prev = earliest
    return days


def _checkpoints(horizon: int, dense_until: int, dense_from: int, bucket: int) -> list[int]:
    """Days 0..horizon at which the model is written: every day up to ``dense_until`` and from
    ``dense_from`` on, every ``bucket`` days in between."""
    days = set(range(0, min(dense_until, horizon) + 1))
    days.update(range(max(dense_from, 0), horizon + 1))
    days.update(range(0, horizon + 1, bucket))
    days.add(horizon)
    return sorted(days)


@dataclass
class HFSModelData:
    """What :func:`build_hfs_model` derived from the instance (kept on ``model.data``)."""

    lower_bound: int
    horizon_makespan: int
    checkpoints: list[int]
    release: list[list[int]]
    lag: int
    truck_days: list[int] = field(default_factory=list)


def build_hfs_model(  # noqa: C901  (one family of constraints after another)
    instance: hfs.HFSInstance,
    workers: hfs.Workers | Sequence[int] | str = (2, 5, 2),
    *,
    plant: hfs.PlantOptions | None = None,
    upper_bound: int | None = None,
    bucket: int = 7,
    dense_head: int = 30,
    kinds: str = "auto",
    **legacy: Any,
) -> Any:
    """Build the time-indexed relaxation as a Pyomo ``ConcreteModel`` minimising the makespan.

    Args:
        instance: the orders.
        workers: the M, E, R pools.
        plant: the plant options (default :class:`~scmgym.simulators.hfs.PlantOptions`); the
            keywords ``stations=``, ``trucks_per_day=``, ``pickup=`` are accepted instead, as
            in :func:`scmgym.simulators.hfs.simulate`.
        upper_bound: a makespan some priority order reaches (the horizon); by default the best of
            EDD and identity, simulated. It must be an achievable makespan for the bound to hold.
        bucket: days per time bucket in the middle of the horizon (1 = fully daily).
        dense_head: the first days are modelled day by day (ramp-up).
        kinds: the worker kinds modelled: ``"auto"`` (default) keeps a kind, and the trucks, only
            when its analytic bound is within ``max D + 10`` days of the best analytic bound (the
            others cannot bind and only slow the solver; dropping constraints keeps the bound
            valid), ``"all"``, or letters such as ``"ER"``.

    Returns:
        The model; ``model.makespan`` is the objective expression, ``model.V[i, k, j]`` the
        workers of kind k order i used up to checkpoint day ``model.data.checkpoints[j]``,
        ``model.data`` an :class:`HFSModelData`.
    """
    import pyomo.environ as pyo

    w = hfs.Workers.parse(workers)
    plant = hfs.PlantOptions.of(plant, **legacy)
    hfs.check_feasible(instance, w, options=plant)
    if bucket < 1:
        raise ValueError(f"bucket must be >= 1 day, got {bucket}")
    lag = 1 if plant.pickup == "next_update" else 0
    lb = hfs.lower_bound(instance, w, options=plant)
    if upper_bound is None:
        upper_bound = min(
            hfs.simulate(instance, order, workers=w, options=plant, record_work=False).makespan
            for order in (hfs.edd_order(instance), hfs.identity_order(instance)))
    ub = max(int(upper_bound), lb)
    tail = 3 + lag  # last work day -> delivery
    horizon = ub - tail  # no production after this day
    orders = instance.orders
    types = [o.type for o in orders]
    max_d = max(t.days for t in types)
    dense_from = lb - tail - max_d - 2
    days = _checkpoints(horizon, dense_head, dense_from, bucket)
    release = [_release_days(o) for o in orders]
    n_ready = [np.searchsorted(np.asarray(r), days, side="right").tolist() for r in release]
    cum = [{k: np.concatenate([[0], np.cumsum(getattr(t, k.lower()))]).tolist() for k in _KINDS}
           for t in types]
    caps = dict(zip(_KINDS, w, strict=True))
    bounds = hfs.lower_bounds(instance, w, options=plant)
    near = lb - max_d - 10
    if kinds == "auto":
        kinds = "".join(k for k in _KINDS if bounds.get(f"workers_{k}", 0) >= near)
        with_trucks = bounds["trucks"] >= near
    elif kinds == "all":
        kinds, with_trucks = _KINDS, True
    else:
        if not kinds or set(kinds) - set(_KINDS):
            raise ValueError(f"kinds must be 'auto', 'all' or letters of 'MER', got {kinds!r}")
        with_trucks = "R" in kinds
    if with_trucks and "R" not in kinds:
        kinds += "R"  # the pickups are tied to the R work, the last production days
    truck_days = list(range(max(dense_from, 0) + 1 + lag, ub - 1)) if with_trucks else []

    m = pyo.ConcreteModel(name=f"hfs_{instance.name}")
    m.data = HFSModelData(lb, ub, days, release, lag, truck_days)
    m.I = pyo.Set(initialize=range(instance.n), ordered=True)
    m.T = pyo.Set(initialize=range(len(days)), ordered=True)  # checkpoint index j -> days[j]
    m.K = pyo.Set(initialize=[k for k in _KINDS if k in kinds], ordered=True)
    m.S = pyo.Set(initialize=range(lb + 1, ub + 1), ordered=True)
    m.IK = pyo.Set(initialize=[(i, k) for i in m.I for k in m.K if cum[i][k][-1] > 0],
                   dimen=2, ordered=True)

    m.delta = pyo.Var(m.S, domain=pyo.Binary)

    def one_minus_delta(s: int) -> Any:
        """1 - [makespan >= s]: 0 below the analytic bound, 1 above the horizon."""
        if s <= lb:
            return 0
        if s > ub:
            return 1
        return 1 - m.delta[s]

    m.makespan = pyo.Expression(expr=lb + sum(m.delta[s] for s in m.S))
    m.obj = pyo.Objective(expr=m.makespan, sense=pyo.minimize)
    m.delta_order = pyo.Constraint(
        [s for s in m.S if s + 1 in m.S], rule=lambda m, s: m.delta[s] >= m.delta[s + 1])

    def v_bounds(m, i, k, j):
        if days[j] >= horizon:
            return (cum[i][k][-1], cum[i][k][-1])
        return (0, cum[i][k][n_ready[i][j]])

    # V[i, k, j]: workers of kind k used by order i on days 1..days[j] (release curve as bound)
    m.V = pyo.Var(m.IK, m.T, bounds=v_bounds)

    steps = [j for j in m.T if j > 0]
    length = {j: days[j] - days[j - 1] for j in steps}

    def window(i: int, k: str, n: int) -> int:
        """Most workers of kind k order i can use in n consecutive days (n production days)."""
        c = cum[i][k]
        n = min(n, len(c) - 1)
        return max(c[p + n] - c[p] for p in range(len(c) - n))

    m.work_rate = pyo.Constraint(
        m.IK, steps, rule=lambda m, i, k, j: pyo.inequality(
            0, m.V[i, k, j] - m.V[i, k, j - 1], window(i, k, length[j])))

    def pool_rule(m, k, j):
        terms = [m.V[i, kk, j] - m.V[i, kk, j - 1] for (i, kk) in m.IK if kk == k]
        if not terms:
            return pyo.Constraint.Skip
        return sum(terms) <= caps[k] * length[j]

    m.pool = pyo.Constraint(m.K, steps, rule=pool_rule)

    # Deadlines: production day p worked after day t cannot be delivered before t + 1 + q_p.
    q = [[t.days - p + tail for p in range(1, t.days + 1)] for t in types]
    tail_js = [j for j in m.T if days[j] + 1 + tail + max_d > lb and days[j] < horizon]

    def work_deadline(m, i, k, j):
        t = days[j]
        req = getattr(types[i], k.lower())
        need = sum(r * one_minus_delta(t + 1 + qp) for r, qp in zip(req, q[i], strict=True) if r)
        if isinstance(need, int) and need == 0:
            return pyo.Constraint.Skip
        return m.V[i, k, j] >= need

    m.work_deadline = pyo.Constraint(m.IK, tail_js, rule=work_deadline)

    # Trucks: Q[i, d] = picked by day d; at most trucks_per_day a day; picked by makespan - 2.
    # An order is finished exactly when its R work (its last production days) is done.
    index_of = {d: j for j, d in enumerate(days)}
    m.TD = pyo.Set(initialize=truck_days, ordered=True)
    m.Q = pyo.Var(m.I, m.TD, bounds=(0, 1))

    def finished_by(i, d):
        """Share of order i's R work done by day d: 1 when finished, and the convex hull of
        [finished] below."""
        if d >= horizon:
            return 1
        return m.V[i, "R", index_of[d]] / cum[i]["R"][-1]

    m.pickup_after_finish = pyo.Constraint(
        m.I, m.TD, rule=lambda m, i, d: m.Q[i, d] <= finished_by(i, d - 1 - lag))
    m.pickup_monotone = pyo.Constraint(
        m.I, [d for d in truck_days if d - 1 in m.TD],
        rule=lambda m, i, d: m.Q[i, d] >= m.Q[i, d - 1])

    def trucks_rule(m, d):
        if d - 1 in m.TD:
            return sum(m.Q[i, d] - m.Q[i, d - 1] for i in m.I) <= plant.trucks_per_day
        return sum(m.Q[i, d] for i in m.I) <= plant.trucks_per_day * d

    m.trucks = pyo.Constraint(m.TD, rule=trucks_rule)
    m.pickup_deadline = pyo.Constraint(
        m.I, m.TD, rule=lambda m, i, d: m.Q[i, d] >= one_minus_delta(d + 3))
    return m


@dataclass(frozen=True)
class HFSMILPResult:
    """The bound, the plan read off the relaxed schedule, and its simulated makespan.

    ``bound`` is the larger of the analytic bound (spec §12.4) and the solver's proven bound on the
    relaxation; it holds for every priority order. ``objective`` is the relaxation's incumbent
    makespan (a relaxed schedule, not a plant schedule). ``order`` is the priority order read off
    the relaxed schedule (the best of the :data:`ORDER_RULES` in simulation, named in
    ``order_rule``) and ``simulated_makespan`` its makespan; ``gap`` is (simulated - bound) /
    simulated. ``horizon_makespan`` is the upper bound the model was built with.
    """

    dataset: str
    workers: tuple[int, int, int]
    status: str
    termination: str
    objective: float | None
    bound: int
    solver_bound: float | None
    analytic_bound: int
    horizon_makespan: int
    order_rule: str | None
    solve_seconds: float
    build_seconds: float
    solver: str
    order: tuple[int, ...] | None
    simulated_makespan: int | None
    gap: float | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["order"] = None if self.order is None else list(self.order)
        data["workers"] = list(self.workers)
        return data


ORDER_RULES = ("finish", "centroid", "start")


def order_from_solution(model: Any, rule: str = "finish") -> tuple[int, ...]:
    """A priority order read off a solved model's relaxed schedule of each order's main work
    (E, or the first kind modelled): ``"finish"`` ranks first the orders whose work ends first,
    ``"centroid"`` by the mean day of the work, ``"start"`` by the day it starts. Ties: the other
    keys, then the order id."""
    import pyomo.environ as pyo

    if rule not in ORDER_RULES:
        raise ValueError(f"rule must be one of {ORDER_RULES}, got {rule!r}")
    days = model.data.checkpoints
    kinds = [k for k in model.K]
    main = "E" if "E" in kinds else (kinds[0] if kinds else None)

    def key(i: int) -> tuple[float, ...]:
        if main is None or (i, main) not in model.IK:
            return (days[-1], days[-1], days[-1], i)
        values = [pyo.value(model.V[i, main, j]) or 0.0 for j in model.T]
        total = values[-1]
        finish = next((days[j] for j, v in enumerate(values) if v >= total - 1e-6), days[-1])
        start = next((days[j] for j, v in enumerate(values) if v > 1e-6), days[-1])
        centroid = sum(days[j] * (values[j] - values[j - 1]) for j in range(1, len(values)))
        keys = {"finish": finish, "centroid": centroid / total, "start": start}
        return (keys[rule], *(keys[r] for r in ORDER_RULES if r != rule), i)

    return tuple(sorted(model.I, key=key))


def solve_hfs(
    instance: hfs.HFSInstance,
    workers: hfs.Workers | Sequence[int] | str = (2, 5, 2),
    *,
    options: SolverOptions | None = None,
    plant: hfs.PlantOptions | None = None,
    upper_bound: int | None = None,
    bucket: int = 7,
    simulate: Callable[[Sequence[int]], float] | None = None,
    **legacy: Any,
) -> HFSMILPResult:
    """Build and solve the relaxation, simulate the order read off it and report the gap.

    ``options`` are the solver's; ``plant`` (or the keywords ``stations=``, ``trucks_per_day=``,
    ``pickup=``) the plant's, as in :func:`build_hfs_model`. ``simulate(order) -> makespan``,
    if given, simulates each candidate order instead of the plain simulator (a budgeted
    evaluator, so that the candidates count as the method's simulations).
    """
    import time

    w = hfs.Workers.parse(workers)
    plant = hfs.PlantOptions.of(plant, **legacy)
    start = time.perf_counter()
    model = build_hfs_model(instance, w, plant=plant, upper_bound=upper_bound, bucket=bucket)
    build_seconds = time.perf_counter() - start
    info: SolveInfo = solve(model, options or SolverOptions())
    analytic = model.data.lower_bound
    bound = analytic
    if info.bound is not None:
        bound = max(bound, math.ceil(info.bound - 1e-6))
    if info.status == "optimal" and info.objective is not None:
        bound = max(bound, round(info.objective))
    order = simulated = gap = rule = None
    if info.objective is not None:
        for candidate in ORDER_RULES:
            cand_order = order_from_solution(model, candidate)
            makespan = (int(simulate(cand_order)) if simulate is not None else
                        hfs.simulate(instance, cand_order, workers=w, options=plant,
                                     record_work=False).makespan)
            if simulated is None or makespan < simulated:
                order, simulated, rule = cand_order, makespan, candidate
        gap = round((simulated - bound) / simulated, 6)
    return HFSMILPResult(
        dataset=instance.name, workers=tuple(w), status=info.status, termination=info.termination,
        objective=info.objective, bound=bound, solver_bound=info.bound, analytic_bound=analytic,
        horizon_makespan=model.data.horizon_makespan, order_rule=rule,
        solve_seconds=info.solve_seconds,
        build_seconds=round(build_seconds, 3), solver=info.solver, order=order,
        simulated_makespan=simulated, gap=gap)


def schedule_values(model: Any, result: hfs.HFSResult) -> None:
    """Set the model's variables to the day-level schedule of a simulation (``record_work=True``).

    Every simulated schedule satisfies the relaxation (that is why its optimum is a bound); the
    tests use this to check each constraint family against real runs.
    """
    if result.work_days is None:
        raise ValueError("the simulation was run with record_work=False; work days are needed")
    days = model.data.checkpoints
    for i in model.I:
        worked = result.work_days[i]
        for j in model.T:
            done = sum(1 for d in worked if d <= days[j])
            for (ii, k) in model.IK:
                if ii == i:
                    req = getattr(hfs.MACHINE_TYPES[result.records[i].machine_type], k.lower())
                    model.V[i, k, j].set_value(sum(req[:done]), skip_validation=True)
        for d in model.TD:
            model.Q[i, d].set_value(int(result.records[i].pickup_day <= d), skip_validation=True)
    for s in model.S:
        model.delta[s].set_value(int(result.makespan >= s), skip_validation=True)


def violated_constraints(model: Any, tol: float = 1e-6) -> list[str]:
    """Names of the constraints (and variable bounds) the current values break."""
    import pyomo.environ as pyo

    bad = []
    for con in model.component_data_objects(pyo.Constraint, active=True):
        value = pyo.value(con.body)
        if (con.has_lb() and value < pyo.value(con.lower) - tol) or (
                con.has_ub() and value > pyo.value(con.upper) + tol):
            bad.append(f"{con.name}: {value} not in "
                       f"[{pyo.value(con.lower)}, {pyo.value(con.upper)}]")
    for var in model.component_data_objects(pyo.Var):
        v = var.value
        if v is None or (var.lb is not None and v < var.lb - tol) or (
                var.ub is not None and v > var.ub + tol):
            bad.append(f"{var.name}: {v} not in [{var.lb}, {var.ub}]")
    return bad
