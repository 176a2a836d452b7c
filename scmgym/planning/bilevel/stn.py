"""The scheduling follower: a continuous-time state-task network (STN) of one planning period.

The formulation is Ierapetritou and Floudas (1998), "Effective continuous-time formulation for
short-term scheduling. 1. Multipurpose batch processes" (Ind. Eng. Chem. Res. 37, 4341), with
unit-specific event points: a task ``i`` (each task runs in one unit; a reaction that two reactors
can run is two tasks) may start at event point ``n`` (binary ``w[i, n]``), with a batch
``B[i, n]``, a start ``Ts[i, n]`` and a finish ``Tf[i, n]`` in hours. The families of
constraints, one rule each in :func:`build_stn_model`:

- **allocation**: at most one task per unit and event point;
- **capacity**: ``Vmin w <= B <= Vmax w``;
- **storage**: the stock of each state within its storage limit;
- **material balance**: ``S[s, n] = S[s, n-1] - d[s, n] + produced at n-1 - consumed at n``
  (what a task makes at ``n`` is available from ``n + 1``);
- **duration**: ``Tf = Ts + alpha w + beta B``;
- **sequence**: same task in the same unit, different tasks in the same unit, and a task that
  consumes what another made (different units) start after its predecessor ends, relaxed by
  ``H (1 - w)`` when the predecessor does not run;
- **time horizon**: every task ends by ``H``;
- **final state**: the deliveries of each product meet the leader's target for the period.

The objective is the follower's cost: a fixed cost per batch started plus a variable
(material-handling) cost per unit processed; the nonlinear variant adds a quadratic cost of
each batch (``q B^2``), which makes the follower an MIQP.

Example 2 of the paper (the process of Kondili, Pantelides and Sargent, 1993) is
:func:`kondili`: feeds A, B, C; heating A to HotA; reaction 1 (B + C to IntBC), reaction 2 (HotA
+ IntBC to P1 and IntAB) and reaction 3 (C + IntAB to ImpureE) in two reactors; separation of
ImpureE into P2 and IntAB in a still. Capacities, storage limits, stoichiometry and the duration
coefficients are the published ones; the costs are not in the sources available here and are
assumed (``docs/bilevel.md`` lists them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scmgym.errors import ScmgymError


@dataclass(frozen=True)
class Task:
    """A task in one unit: the states it consumes and produces (fractions of the batch), its
    unit's batch limits, the duration ``alpha + beta * batch`` (h) and its costs."""

    name: str
    unit: str
    consumes: dict[str, float]
    produces: dict[str, float]
    vmax: float
    alpha: float
    beta: float
    vmin: float = 0.0
    fixed_cost: float = 0.0
    variable_cost: float = 0.0
    quadratic_cost: float = 0.0


@dataclass(frozen=True)
class STNData:
    """A state-task network: tasks, storage limits (``None``: unlimited), the initial stock, the
    products (the states a target can ask for), the horizon ``H`` (h) and the event points."""

    tasks: tuple[Task, ...]
    storage: dict[str, float | None]
    initial: dict[str, float]
    products: tuple[str, ...]
    horizon: float
    events: int
    name: str = "stn"
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        states = set(self.storage)
        for t in self.tasks:
            for s in (*t.consumes, *t.produces):
                if s not in states:
                    raise ScmgymError(f"STN {self.name}: task {t.name} uses state {s!r}, which "
                                      f"has no storage entry; states: {sorted(states)}")
            if not 0 <= t.vmin <= t.vmax:
                raise ScmgymError(f"STN {self.name}: task {t.name}: batch limits "
                                  f"vmin={t.vmin}, vmax={t.vmax}; need 0 <= vmin <= vmax")
        for p in self.products:
            if p not in states:
                raise ScmgymError(f"STN {self.name}: product {p!r} is not a state")
        if self.horizon <= 0 or self.events < 1:
            raise ScmgymError(f"STN {self.name}: horizon {self.horizon} h and {self.events} "
                              f"event points; need a positive horizon and at least 1 point")

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.unit for t in self.tasks))

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(self.storage)


def kondili(horizon: float = 8.0, events: int = 5, *, nonlinear: bool = False) -> STNData:
    """Example 2 of Ierapetritou and Floudas (1998): the Kondili et al. process.

    Published: the stoichiometry, the unit capacities (heater 100, reactor 1 80, reactor 2 50,
    still 200), the storage limits (HotA 100, IntAB 200, IntBC 150, ImpureE 200; feeds and
    products unlimited), the duration coefficients (``alpha = 2/3 tau``, ``beta = alpha / Vmax``
    with Kondili's processing times ``tau``: heating 1 h, reactions 1 and 2 2 h, reaction 3 1 h,
    separation 2 h), the 8 h horizon and the 5 event points. Assumed (not in the sources at
    hand): the fixed cost per batch (heating 5, reactions 10, separation 8), the handling cost
    per unit processed (heating 0.10, reactions 0.25, separation 0.15) and, for the nonlinear
    variant, the quadratic batch cost ``q = 0.002`` per unit squared.
    """
    q = 0.002 if nonlinear else 0.0

    def task(name, unit, consumes, produces, vmax, tau, fixed, var):
        alpha = 2.0 / 3.0 * tau
        return Task(name, unit, consumes, produces, vmax, alpha, alpha / vmax,
                    fixed_cost=fixed, variable_cost=var, quadratic_cost=q)

    reactors = (("R1", 80.0), ("R2", 50.0))
    tasks = [task("heating", "heater", {"A": 1.0}, {"HotA": 1.0}, 100.0, 1.0, 5.0, 0.10)]
    for unit, cap in reactors:
        tasks.append(task(f"reaction1@{unit}", unit, {"B": 0.5, "C": 0.5}, {"IntBC": 1.0},
                          cap, 2.0, 10.0, 0.25))
    for unit, cap in reactors:
        tasks.append(task(f"reaction2@{unit}", unit, {"HotA": 0.4, "IntBC": 0.6},
                          {"P1": 0.4, "IntAB": 0.6}, cap, 2.0, 10.0, 0.25))
    for unit, cap in reactors:
        tasks.append(task(f"reaction3@{unit}", unit, {"C": 0.2, "IntAB": 0.8},
                          {"ImpureE": 1.0}, cap, 1.0, 10.0, 0.25))
    tasks.append(task("separation", "still", {"ImpureE": 1.0}, {"IntAB": 0.1, "P2": 0.9},
                      200.0, 2.0, 8.0, 0.15))
    storage = {"A": None, "B": None, "C": None, "HotA": 100.0, "IntAB": 200.0, "IntBC": 150.0,
               "ImpureE": 200.0, "P1": None, "P2": None}
    initial = {"A": float("inf"), "B": float("inf"), "C": float("inf")}
    return STNData(tuple(tasks), storage, initial, ("P1", "P2"), horizon, events,
                   name="kondili", notes={"source": "Ierapetritou and Floudas (1998), Example 2"})


def check_targets(data: STNData, targets: dict[str, float]) -> None:
    """Refuse a target on a state that is not a product, or a negative (or NaN) one."""
    for s, v in targets.items():
        if s not in data.products:
            raise ScmgymError(f"STN {data.name}: target for {s!r}, which is not a product; "
                              f"products: {list(data.products)}")
        if not v >= 0:
            raise ScmgymError(f"STN {data.name}: target {s}={v}; targets must be >= 0")


def build_stn_model(data: STNData, targets: dict[str, float]):
    """The follower's MILP (MIQP with quadratic costs) for one period's ``targets``.

    Raises :class:`ScmgymError` for a target on a state that is not a product or a negative
    target."""
    import pyomo.environ as pyo

    check_targets(data, targets)
    H = data.horizon
    tasks = {t.name: t for t in data.tasks}
    m = pyo.ConcreteModel(name=f"{data.name} follower")
    m.I = pyo.Set(initialize=list(tasks), ordered=True)
    m.S = pyo.Set(initialize=list(data.states), ordered=True)
    m.N = pyo.RangeSet(0, data.events - 1)
    m.w = pyo.Var(m.I, m.N, domain=pyo.Binary)
    m.B = pyo.Var(m.I, m.N, domain=pyo.NonNegativeReals)
    m.Ts = pyo.Var(m.I, m.N, bounds=(0, H))
    m.Tf = pyo.Var(m.I, m.N, bounds=(0, H))  # the time-horizon constraints, as bounds
    m.stock = pyo.Var(m.S, m.N, domain=pyo.NonNegativeReals)
    m.deliver = pyo.Var(data.products, m.N, domain=pyo.NonNegativeReals)

    def allocation(m, unit, n):
        return sum(m.w[i, n] for i in m.I if tasks[i].unit == unit) <= 1
    m.allocation = pyo.Constraint(list(data.units), m.N, rule=allocation)

    m.capacity_max = pyo.Constraint(
        m.I, m.N, rule=lambda m, i, n: m.B[i, n] <= tasks[i].vmax * m.w[i, n])
    m.capacity_min = pyo.Constraint(
        m.I, m.N, rule=lambda m, i, n: m.B[i, n] >= tasks[i].vmin * m.w[i, n])

    def storage(m, s, n):
        cap = data.storage[s]
        return pyo.Constraint.Skip if cap is None else m.stock[s, n] <= cap
    m.storage = pyo.Constraint(m.S, m.N, rule=storage)

    def balance(m, s, n):
        made = 0 if n == 0 else sum(t.produces.get(s, 0.0) * m.B[i, n - 1]
                                    for i, t in tasks.items())
        used = sum(t.consumes.get(s, 0.0) * m.B[i, n] for i, t in tasks.items())
        out = m.deliver[s, n] if s in data.products else 0
        start = data.initial.get(s, 0.0)
        if start == float("inf"):  # an unlimited feed: never short
            return pyo.Constraint.Skip
        before = start if n == 0 else m.stock[s, n - 1]
        return m.stock[s, n] == before + made - used - out
    m.balance = pyo.Constraint(m.S, m.N, rule=balance)

    def final_state(m, s):
        last = data.events - 1
        made = sum(t.produces.get(s, 0.0) * m.B[i, last] for i, t in tasks.items())
        return sum(m.deliver[s, n] for n in m.N) + made >= float(targets.get(s, 0.0))
    m.final_state = pyo.Constraint(list(data.products), rule=final_state)

    m.duration = pyo.Constraint(m.I, m.N, rule=lambda m, i, n: m.Tf[i, n] == m.Ts[i, n]
                                + tasks[i].alpha * m.w[i, n] + tasks[i].beta * m.B[i, n])

    later = [n for n in m.N if n > 0]

    def same_unit(m, i, k, n):  # i at n starts after k (same unit, k = i included) ends at n-1
        if tasks[i].unit != tasks[k].unit:
            return pyo.Constraint.Skip
        return m.Ts[i, n] >= m.Tf[k, n - 1] - H * (1 - m.w[k, n - 1])
    m.same_unit = pyo.Constraint(m.I, m.I, later, rule=same_unit)

    def monotone_start(m, i, n):
        return m.Ts[i, n] >= m.Ts[i, n - 1]
    m.monotone_start = pyo.Constraint(m.I, later, rule=monotone_start)

    def monotone_finish(m, i, n):
        return m.Tf[i, n] >= m.Tf[i, n - 1]
    m.monotone_finish = pyo.Constraint(m.I, later, rule=monotone_finish)

    def feeds(i, k):  # task k makes a state that task i consumes
        return any(s in tasks[i].consumes for s in tasks[k].produces)

    def upstream(m, i, k, n):  # i at n starts after k (another unit) that fed it ends at n-1
        if tasks[i].unit == tasks[k].unit or not feeds(i, k):
            return pyo.Constraint.Skip
        return m.Ts[i, n] >= m.Tf[k, n - 1] - H * (1 - m.w[k, n - 1])
    m.upstream = pyo.Constraint(m.I, m.I, later, rule=upstream)

    # what a task makes at the last event point must also be finished by H (bounds on Tf)
    cost = sum(t.fixed_cost * m.w[i, n] + t.variable_cost * m.B[i, n]
               for i, t in tasks.items() for n in m.N)
    quad = sum(t.quadratic_cost * m.B[i, n] ** 2 for i, t in tasks.items() for n in m.N
               if t.quadratic_cost)
    m.cost = pyo.Objective(expr=cost + quad, sense=pyo.minimize)
    return m


def schedule_of(data: STNData, model) -> list[dict]:
    """The batches a solved model runs: task, unit, event point, start, finish, batch size."""
    rows = []
    for t in data.tasks:
        for n in model.N:
            if model.w[t.name, n].value is not None and model.w[t.name, n].value > 0.5:
                rows.append({"task": t.name, "unit": t.unit, "event": int(n),
                             "start": round(float(model.Ts[t.name, n].value), 4),
                             "finish": round(float(model.Tf[t.name, n].value), 4),
                             "batch": round(float(model.B[t.name, n].value), 4)})
    return sorted(rows, key=lambda r: (r["start"], r["unit"]))


class CompiledSTN:
    """The follower's MILP built once and re-solved per target by HiGHS directly.

    :func:`build_stn_model` is the readable model; building it through Pyomo for every target
    costs about five times HiGHS's own solve. Here it is built once (targets 0), handed to
    HiGHS as an MPS file, and each solve only changes the lower bounds of the final-state rows
    (the targets) and clears the solver's state first, so an answer does not depend on the
    solves before it. ``tests/test_bilevel.py`` checks it equal to the Pyomo path. Linear costs
    only (HiGHS solves no MIQP)."""

    def __init__(self, data: STNData, time_limit: float = 120.0) -> None:
        import os
        import tempfile

        import highspy
        import pyomo.environ  # noqa: F401  (registers the MPS writer)

        if any(t.quadratic_cost for t in data.tasks):
            raise ScmgymError("CompiledSTN solves the linear follower only (HiGHS has no MIQP)")
        self.data = data
        model = build_stn_model(data, {})
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "stn.mps")
            model.write(path, io_options={"symbolic_solver_labels": True})
            from scmgym.planning.bilevel.core import quiet_stdout

            with quiet_stdout():  # HiGHS prints its banner on creation
                h = highspy.Highs()
                h.setOptionValue("output_flag", False)
            h.readModel(path)
        for key, value in (("threads", 1), ("mip_rel_gap", 0.0), ("time_limit", time_limit),
                           ("random_seed", 0)):
            h.setOptionValue(key, value)
        lp = h.getLp()
        rows = {name: i for i, name in enumerate(lp.row_names_)}
        self.rows = {p: rows[f"c_l_final_state({p})_"] for p in data.products}
        self.columns = {name: i for i, name in enumerate(lp.col_names_)}
        self.highs = h

    def solve(self, targets: dict[str, float]) -> tuple[str, float | None, list[dict] | None]:
        """(status, cost, schedule) for ``targets``; status as :class:`SolveInfo`'s."""
        import highspy

        check_targets(self.data, targets)
        h = self.highs
        for p, row in self.rows.items():
            h.changeRowBounds(row, float(targets.get(p, 0.0)), highspy.kHighsInf)
        h.clearSolver()
        h.run()
        status = h.getModelStatus()
        ok = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        if status == highspy.HighsModelStatus.kOptimal:
            name = "optimal"
        elif status == highspy.HighsModelStatus.kInfeasible:
            return "infeasible", None, None
        else:
            name = "feasible" if ok else "no_solution"
        if not ok:
            return name, None, None
        values = h.getSolution().col_value
        return name, round(float(h.getInfo().objective_function_value), 6), self._schedule(values)

    def _schedule(self, values) -> list[dict]:
        col = self.columns
        rows = []
        for t in self.data.tasks:
            label = t.name.replace("@", "_")
            for n in range(self.data.events):
                if values[col[f"w({label}_{n})"]] > 0.5:
                    rows.append({"task": t.name, "unit": t.unit, "event": n,
                                 "start": round(float(values[col[f"Ts({label}_{n})"]]), 4),
                                 "finish": round(float(values[col[f"Tf({label}_{n})"]]), 4),
                                 "batch": round(float(values[col[f"B({label}_{n})"]]), 4)})
        return sorted(rows, key=lambda r: (r["start"], r["unit"]))
