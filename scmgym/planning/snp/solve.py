"""Solve an SNP instance, whole or by one of the decompositions of Gamrath et al. (ZIB report
16-45, section 4), and diagnose an infeasible one.

``solve_snp(instance, decomposition=...)``:

* ``"none"``: the monolithic MIP;
* ``"components"``: independent connected components (no shared product, bill of materials or
  resource) solved one by one; objectives and bounds add up, so it is exact;
* ``"product"``: product lines (a family of end products with everything their bills of
  materials need) in a chosen order; each sees the capacity the lines before it left
  (first come, first served), optionally less what an LP relaxation reserves for the lines
  after it; a component shared by several lines is planned again as needed by each, on top of
  what was already planned for it;
* ``"time"``: overlapping windows over the horizon; a window's decisions before the next
  window's start are fixed as the window slides;
* ``"priority"``: the highest priority class alone, its deliveries fixed, then the next class
  added, and so on.

A decomposed plan is put together and checked against every constraint of the monolithic model
(:func:`~scmgym.planning.snp.plan.check_plan`); its cost is the monolithic objective of that
plan. Decompositions other than ``components`` give no bound on the optimum.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

from scmgym.baselines.milp.common import SolveInfo, SolverOptions, SolverProgress, solve
from scmgym.errors import ScmgymError
from scmgym.planning.snp.data import SNPInstance
from scmgym.planning.snp.model import (
    COST_TERMS,
    ELASTIC_FAMILIES,
    Offsets,
    build_snp_model,
    model_size,
)
from scmgym.planning.snp.plan import (
    SNPPlan,
    check_plan,
    combine_plans,
    decision_keys,
    describe_violation,
    extract_plan,
)

log = logging.getLogger(__name__)

DECOMPOSITIONS = ("none", "components", "product", "time", "priority")
ORDERS = ("value", "demand", "given")
TIME_SPLITS = ("even", "complexity")
#: Shortest time limit handed to one subproblem (seconds).
MIN_STEP_SECONDS = 1.0


@dataclass
class Step:
    """One subproblem of a decomposition."""

    name: str
    status: str
    objective: float | None
    bound: float | None
    build_seconds: float
    solve_seconds: float
    time_limit: float
    variables: int
    integers: int
    constraints: int


@dataclass
class SNPResult:
    """What :func:`solve_snp` returns.

    ``status``: "optimal" (proven, within the gap tolerance), "feasible" (a plan that meets every
    constraint, not proven optimal; every decomposed plan but ``components``), "no_solution"
    (no plan within the time limit), "infeasible" (the hard constraints contradict each other:
    see ``diagnosis``). ``objective`` is the total cost of the plan under the monolithic model,
    ``costs`` its seven terms, ``bound`` a proven lower bound (None when the method gives
    none) and ``gap`` = (objective - bound) / objective.
    """

    instance: str
    decomposition: str
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    costs: dict[str, float]
    plan: SNPPlan | None
    steps: list[Step]
    build_seconds: float
    solve_seconds: float
    check_seconds: float
    seconds: float
    size: dict[str, int]
    delivered: dict[int, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    diagnosis: list[dict] = field(default_factory=list)
    solver: str = "highs"

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("plan")
        out["delivered"] = {str(k): v for k, v in self.delivered.items()}
        return out


def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None:
        return None
    if abs(objective) < 1e-9:
        return 0.0 if abs(bound) < 1e-9 else None
    return round(max(0.0, (objective - bound) / abs(objective)), 9)


def _fix(model, decisions: dict[str, dict[tuple, float]], keep: Callable[[str, tuple], bool],
         inst: SNPInstance) -> int:
    """Fix every decision variable of ``model`` for which ``keep(name, key)`` holds, at its
    value in ``decisions`` (0 where absent), with the lot switches and counts that follow."""
    n = 0
    sizes = {"make": dict(zip(inst.frames["processes"]["process"],
                              inst.frames["processes"]["lot_size"], strict=True)),
             "ship": dict(zip(inst.frames["lanes"]["lane"], inst.frames["lanes"]["lot_size"],
                     strict=True))}
    for name in ("procure", "make", "ship", "deliver"):
        var = getattr(model, name)
        vals = decisions.get(name, {})
        for key, v in var.items():
            if keep(name, key):
                v.fix(vals.get(key, 0.0))
                n += 1
    for kind in ("make", "ship"):
        x = getattr(model, kind)
        for key, v in getattr(model, f"{kind}_on").items():
            if x[key].fixed:
                v.fix(1.0 if x[key].value > 1e-7 else 0.0)
        for key, v in getattr(model, f"{kind}_lots").items():
            if x[key].fixed:
                v.fix(round(x[key].value / sizes[kind][key[0]]))
    return n


class _Runner:
    """Builds and solves the subproblems of one call of :func:`solve_snp`."""

    def __init__(self, inst: SNPInstance, options: SolverOptions,
                 progress: Callable[[str], None] | None,
                 solver_progress: Callable[[str, float, SolverProgress], None] | None = None
                 ) -> None:
        self.inst = inst
        self.options = options
        self.progress = progress
        self.solver_progress = solver_progress
        self.steps: list[Step] = []
        self.start = time.perf_counter()
        self.total_steps = 1
        #: when a subproblem finds no plan in its time, decide nothing new in it
        self.fallback = False

    def remaining(self) -> float:
        return self.options.time_limit - (time.perf_counter() - self.start)

    def run(self, name: str, inst: SNPInstance, *, time_limit: float,
            offsets: Offsets | None = None,
            fix: tuple[dict, Callable[[str, tuple], bool]] | None = None):
        t0 = time.perf_counter()
        model = build_snp_model(inst, offsets=offsets)
        if fix is not None:
            _fix(model, fix[0], fix[1], inst)
        build = time.perf_counter() - t0
        size = model_size(model)
        limit = max(MIN_STEP_SECONDS, time_limit)
        live = None
        if self.solver_progress is not None:
            label, report = f"[{len(self.steps) + 1}/{self.total_steps}] {name}", \
                self.solver_progress

            def live(p: SolverProgress) -> None:
                report(label, limit, p)
        info = solve(model, replace(self.options, time_limit=limit), on_progress=live)
        if info.status == "no_solution" and self.fallback:
            # no plan within this subproblem's share of the time: keep what earlier
            # subproblems decided and decide nothing new (every free decision 0), so the
            # decomposition still ends with a plan; the step says so
            _fix(model, {}, lambda var, key: not getattr(model, var)[key].fixed, inst)
            zero = solve(model, replace(self.options, time_limit=max(MIN_STEP_SECONDS,
                                                                      self.remaining())))
            info = replace(zero, status=("no_solution: nothing new decided"
                                         if zero.objective is not None else zero.status),
                           solve_seconds=round(info.solve_seconds + zero.solve_seconds, 3),
                           bound=None)
        step = Step(name=name, status=info.status, objective=info.objective, bound=info.bound,
                    build_seconds=round(build, 3), solve_seconds=info.solve_seconds,
                    time_limit=round(limit, 3), **size)
        self.steps.append(step)
        line = (f"[{len(self.steps)}/{self.total_steps}] {name}: {info.status}"
                + (f" {info.objective:.6g}" if info.objective is not None else "")
                + f" ({build:.1f} s build, {info.solve_seconds:.1f} s solve)")
        log.info(line)
        if self.progress is not None:
            self.progress(line)
        plan = extract_plan(model, inst) if info.objective is not None else None
        return model, info, plan


def solve_snp(inst: SNPInstance, decomposition: str = "none", *,
              options: SolverOptions | None = None, order: str = "value",
              preallocate: bool = False, time_split: str = "even",
              window: int | None = None, overlap: int | None = None,
              verify: bool | None = None, diagnose: bool = True, fallback: bool = True,
              progress: Callable[[str], None] | None = None,
              solver_progress: Callable[[str, float, SolverProgress], None] | None = None
              ) -> SNPResult:
    """Plan ``inst``.

    Args:
        inst: the instance.
        decomposition: one of :data:`DECOMPOSITIONS` (module docstring).
        options: solver, total time limit (split among the subproblems), gap tolerance.
        order: product lines by ``"value"`` (non-delivery cost of their demand, highest
            first), ``"demand"`` (units demanded) or ``"given"`` (the products table's order).
        preallocate: product decomposition: reserve for the lines still to come the capacity
            an LP relaxation of the whole model gives them.
        time_split: ``"even"`` or by ``"complexity"`` (the subproblem's estimated size); the
            time a subproblem leaves unused goes to those after it.
        window, overlap: time decomposition: buckets per window (default a quarter of the
            horizon, but at least twice the longest lead time plus 2) and buckets shared with
            the next window (default half the window).
        verify: check the plan against the monolithic model (default: for every
            decomposition, not for ``"none"``, whose plan is the monolithic model's own).
        diagnose: on infeasibility, solve the elastic model and name what must give.
        fallback: in a decomposition, a subproblem that finds no plan within its share of
            the time decides nothing new (its free decisions are set to 0 and the rest
            solved), so the decomposition still ends with a plan whose cost shows it; the
            step's status is then "no_solution: nothing new decided". Off: the whole call
            ends with "no_solution".
        progress: called with one line per finished subproblem.
        solver_progress: called while a subproblem solves, for each row of the solver's log
            (HiGHS and SCIP), with the subproblem's label (``"[2/5] product line 2"``), its
            time limit and a :class:`~scmgym.baselines.milp.common.SolverProgress`.
    """
    if decomposition not in DECOMPOSITIONS:
        raise ScmgymError(f"unknown decomposition {decomposition!r}; allowed: "
                          f"{', '.join(DECOMPOSITIONS)}")
    if order not in ORDERS:
        raise ScmgymError(f"unknown order {order!r}; allowed: {', '.join(ORDERS)}")
    if time_split not in TIME_SPLITS:
        raise ScmgymError(f"unknown time_split {time_split!r}; allowed: "
                          f"{', '.join(TIME_SPLITS)}")
    runner = _Runner(inst, options or SolverOptions(), progress, solver_progress)
    runner.fallback = fallback and decomposition != "none"
    verify = decomposition != "none" if verify is None else verify
    if decomposition == "none":
        plans, bound, status = _monolithic(runner)
    elif decomposition == "components":
        plans, bound, status = _components(runner, time_split)
    elif decomposition == "product":
        plans, bound, status = _product(runner, order, preallocate, time_split)
    elif decomposition == "time":
        plans, bound, status = _time(runner, window, overlap)
    else:
        plans, bound, status = _priority(runner)
    return _finish(runner, decomposition, plans, bound, status, verify, diagnose)


# ---- decompositions -------------------------------------------------------------------------

def _monolithic(runner: _Runner):
    model, info, plan = runner.run("monolithic", runner.inst, time_limit=runner.remaining())
    runner.model = model
    runner.info = info
    return ([plan] if plan is not None else []), info.bound, info.status


def _union_find(items: list[str]):
    parent = {x: x for x in items}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    return find, union


def connected_components(inst: SNPInstance) -> list[list[str]]:
    """Products that share nothing with the rest (no bill of materials, resource or demand in
    common), as lists in the products table's order."""
    f = inst.frames
    products = list(f["products"]["product"])
    find, union = _union_find(products)
    pr = f["processes"]
    out_of = dict(zip(pr["process"], pr["product"], strict=True))
    for k, comp in zip(f["bom"]["process"], f["bom"]["component"], strict=True):
        union(out_of[k], comp)
    first_user: dict[str, str] = {}
    for frame in (pr, f["lanes"]):
        for r, p, u in zip(frame["resource"], frame["product"], frame["usage"], strict=True):
            if r and u > 0:
                if r in first_user:
                    union(first_user[r], p)
                else:
                    first_user[r] = p
    groups: dict[str, list[str]] = {}
    for p in products:
        groups.setdefault(find(p), []).append(p)
    return list(groups.values())


def _weights(sizes: list[float], split: str) -> list[float]:
    return [max(1.0, s) for s in sizes] if split == "complexity" else [1.0] * len(sizes)


def _share(runner: _Runner, weights: list[float], i: int) -> float:
    rest = sum(weights[i:])
    return runner.remaining() * weights[i] / rest if rest > 0 else runner.remaining()


def _estimate(inst: SNPInstance) -> float:
    f = inst.frames
    return float(inst.n_buckets * (len(f["processes"]) + len(f["lanes"])
                                   + len(f["procurement"]) + len(f["stock"]))
                 + len(f["demands"]))


def _worst(statuses: list[str]) -> str:
    """The status of the whole from its parts' (a part that fell back to deciding nothing
    new leaves a plan, not proven optimal)."""
    for s in ("infeasible", "no_solution"):
        if s in statuses:
            return s
    return "optimal" if all(s == "optimal" for s in statuses) else "feasible"


def _components(runner: _Runner, split: str):
    inst = runner.inst
    parts = [inst.restrict(products=g, name=f"{inst.name}/component{i + 1}")
             for i, g in enumerate(connected_components(inst))]
    runner.total_steps = len(parts)
    weights = _weights([_estimate(p) for p in parts], split)
    plans, statuses, bound = [], [], 0.0
    for i, part in enumerate(parts):
        _, info, plan = runner.run(f"component {i + 1} ({len(part.frames['products'])} products)",
                                   part, time_limit=_share(runner, weights, i))
        statuses.append(info.status)
        if info.status == "infeasible":
            runner.failed = part
            return plans, None, "infeasible"
        if plan is None:
            return plans, None, "no_solution"
        plans.append(plan)
        bound = None if bound is None or info.bound is None else bound + info.bound
    return plans, bound, _worst(statuses)


def product_lines(inst: SNPInstance, order: str = "value") -> list[list[str]]:
    """End products grouped by family (a product without a family is a line of its own), in
    the requested order."""
    f = inst.frames
    fam = dict(zip(f["products"]["product"], f["products"]["family"], strict=True))
    lines: dict[str, list[str]] = {}
    for p in inst.end_products():
        lines.setdefault(fam[p] or f"product:{p}", []).append(p)
    groups = list(lines.values())
    if order == "given":
        return groups
    dm = f["demands"]
    pen = inst.penalty().fillna(math.inf)
    weight = (dm["quantity"] * pen) if order == "value" else dm["quantity"]
    by_product = weight.groupby(dm["product"]).sum().to_dict()
    return sorted(groups, key=lambda g: -sum(by_product.get(p, 0.0) for p in g))


def _flows_of(inst: SNPInstance, plan: SNPPlan, stock: dict, cap: dict) -> None:
    """Add ``plan``'s decisions to the net stock flows and the capacity use (in place)."""
    f = inst.frames
    pr = f["processes"].set_index("process")
    ln = f["lanes"].set_index("lane")
    needs = defaultdict(list)
    for k, comp, q in zip(f["bom"]["process"], f["bom"]["component"], f["bom"]["quantity"],
            strict=True):
        needs[k].append((comp, q))
    dec = decision_keys(plan)
    for (s, p, t), x in dec["procure"].items():
        stock[(s, p, t)] += x
    for (k, t), x in dec["make"].items():
        loc, p = pr.at[k, "location"], pr.at[k, "product"]
        stock[(loc, p, t)] += x
        for comp, q in needs.get(k, ()):
            stock[(loc, comp, t)] -= q * x
        r, u = pr.at[k, "resource"], pr.at[k, "usage"]
        if r and u > 0:
            cap[(r, t)] += u * x
    for (a, t), x in dec["ship"].items():
        o, d, p, lt = (ln.at[a, "origin"], ln.at[a, "destination"], ln.at[a, "product"],
                       int(ln.at[a, "lead_time"]))
        stock[(o, p, t)] -= x
        stock[(d, p, t + lt)] += x
        r, u = ln.at[a, "resource"], ln.at[a, "usage"]
        if r and u > 0:
            cap[(r, t)] += u * x
    dm = f["demands"].set_index("demand")
    for (d, t), x in dec["deliver"].items():
        stock[(dm.at[d, "location"], dm.at[d, "product"], t)] -= x


def _lp_reservations(runner: _Runner, lines: list[list[str]]) -> list[dict]:
    """Capacity per resource and bucket that an LP relaxation of the whole model gives to
    each line (products are owned by the first line that needs them)."""
    import pyomo.environ as pyo

    inst = runner.inst
    t0 = time.perf_counter()
    model = build_snp_model(inst, relax=True)
    info = solve(model, replace(runner.options, time_limit=max(MIN_STEP_SECONDS,
                                                                0.2 * runner.remaining())))
    runner.steps.append(Step("LP preallocation", info.status, info.objective, info.bound,
                             round(time.perf_counter() - t0 - info.solve_seconds, 3),
                             info.solve_seconds, runner.options.time_limit,
                             **model_size(model)))
    owner: dict[str, int] = {}
    for i, line in enumerate(lines):
        for p in inst.components_of(line):
            owner.setdefault(p, i)
    res: list[dict] = [defaultdict(float) for _ in lines]
    if info.objective is None:
        return res
    f = inst.frames
    for frame, var, key in ((f["processes"], model.make, "process"), (f["lanes"], model.ship,
                                                                       "lane")):
        for k, p, r, u in zip(frame[key], frame["product"], frame["resource"], frame["usage"],
                strict=True):
            if r and u > 0 and p in owner:
                for t in range(inst.n_buckets):
                    if (k, t) in var:
                        res[owner[p]][(r, t)] += u * (pyo.value(var[k, t]) or 0.0)
    return res


def _product(runner: _Runner, order: str, preallocate: bool, split: str):
    inst = runner.inst
    lines = product_lines(inst, order)
    reserve = _lp_reservations(runner, lines) if preallocate else None
    runner.total_steps = len(lines)
    dm = inst.frames["demands"]
    owned: set[str] = set()
    stock_flow: dict = defaultdict(float)
    cap_used: dict = defaultdict(float)
    parts = []
    for line in lines:
        closure = inst.components_of(line)
        new = closure - owned
        owned |= closure
        parts.append((line, closure, list(dm.loc[dm["product"].isin(new), "demand"])))
    weights = _weights([_estimate(inst.restrict(products=c, demands=d))
                        for _, c, d in parts], split)
    plans, statuses = [], []
    for i, (line, closure, demands) in enumerate(parts):
        sub = inst.restrict(products=closure, demands=demands,
                            name=f"{inst.name}/line{i + 1}")
        offsets = Offsets(stock={k: v for k, v in stock_flow.items() if k[1] in closure},
                          capacity=dict(cap_used))
        if reserve is not None:
            later: dict = defaultdict(float)
            for j in range(i + 1, len(lines)):
                for key, v in reserve[j].items():
                    later[key] += v
            for key, v in later.items():
                offsets.capacity[key] = offsets.capacity.get(key, 0.0) + v
        label = line[0] if len(line) == 1 else f"{line[0]}..{line[-1]} ({len(line)} products)"
        _, info, plan = runner.run(f"line {label}", sub, time_limit=_share(runner, weights, i),
                                   offsets=offsets)
        statuses.append(info.status)
        if info.status == "infeasible":
            runner.failed = sub
            return plans, None, "infeasible"
        if plan is None:
            return plans, None, "no_solution"
        plans.append(plan)
        _flows_of(inst, plan, stock_flow, cap_used)
    return plans, None, "feasible" if statuses else "optimal"


def _time(runner: _Runner, window: int | None, overlap: int | None):
    inst = runner.inst
    T = inst.n_buckets
    longest = int(inst.frames["lanes"]["lead_time"].max()) if len(inst.frames["lanes"]) else 0
    w = window if window is not None else min(T, max(2, -(-T // 4), 2 * longest + 2))
    o = overlap if overlap is not None else w // 2
    if w < 1 or not 0 <= o < w:
        raise ScmgymError(f"time decomposition needs window >= 1 and 0 <= overlap < window, "
                          f"got window={w}, overlap={o}")
    starts = list(range(0, T, w - o))
    starts = [s for i, s in enumerate(starts) if i == 0 or starts[i - 1] + w < T]
    stages = []
    for i, s in enumerate(starts):
        end = T - 1 if i == len(starts) - 1 else min(T - 1, s + w - 1)
        stages.append((f"window buckets {s}-{end}",
                       inst.restrict(last_bucket=end, name=f"{inst.name}/window{i + 1}"),
                       lambda name, key, s=s: key[-1] < s))
    return _sequential(runner, stages)


def _sequential(runner: _Runner, stages: list[tuple[str, SNPInstance, Callable]]):
    """Solve ``stages`` in turn, each with the decisions of the one before it that ``keep``
    selects fixed, sharing the remaining time evenly; the last plan is the result."""
    runner.total_steps = len(stages)
    decisions: dict = {}
    plan = None
    for i, (name, sub, keep) in enumerate(stages):
        _, info, plan = runner.run(name, sub, time_limit=runner.remaining() / (len(stages) - i),
                                   fix=(decisions, keep))
        if info.status == "infeasible":
            runner.failed = sub
            return [], None, "infeasible"
        if plan is None:
            return [], None, "no_solution"
        decisions = decision_keys(plan)
    return [plan], None, "feasible"


def _priority(runner: _Runner):
    inst = runner.inst
    dm = inst.frames["demands"]
    classes = sorted(set(dm["priority"]))
    if not classes:
        return _monolithic(runner)
    prio = dict(zip(dm["demand"], dm["priority"], strict=True))
    return _sequential(runner, [
        (f"priority <= {c}",
         inst.restrict(demands=list(dm.loc[dm["priority"] <= c, "demand"]),
                       name=f"{inst.name}/priority{c}"),
         lambda name, key, c=c: name == "deliver" and prio[key[0]] < c)
        for c in classes])


# ---- result, verification, diagnosis ----------------------------------------------------------

def _finish(runner: _Runner, decomposition: str, plans: list[SNPPlan], bound, status: str,
            verify: bool, diagnose: bool) -> SNPResult:
    inst = runner.inst
    build = round(sum(s.build_seconds for s in runner.steps), 3)
    solve_s = round(sum(s.solve_seconds for s in runner.steps), 3)
    size = {k: max((getattr(s, k) for s in runner.steps), default=0)
            for k in ("variables", "integers", "constraints")}
    common = dict(instance=inst.name, decomposition=decomposition, steps=runner.steps,
                  build_seconds=build, solve_seconds=solve_s, size=size,
                  solver=runner.options.solver)
    if status in ("infeasible", "no_solution"):
        diagnosis = []
        if status == "infeasible" and diagnose:
            diagnosis = diagnose_infeasibility(getattr(runner, "failed", inst), runner.options)
        return SNPResult(status=status, objective=None, bound=None, gap=None, costs={},
                         plan=None, check_seconds=0.0,
                         seconds=round(time.perf_counter() - runner.start, 3),
                         diagnosis=diagnosis, **common)
    t0 = time.perf_counter()
    violations: list[str] = []
    if decomposition == "none" and not verify:
        import pyomo.environ as pyo

        model = runner.model
        costs = {t: round(float(pyo.value(getattr(model, f"cost_{t}"))), 6) for t in COST_TERMS}
        plan = plans[0]
        objective = runner.info.objective
    else:
        plan_in = plans[0] if len(plans) == 1 else combine_plans(plans)
        check = check_plan(inst, plan_in)
        costs, objective, plan = check.costs, check.objective, check.plan
        violations = [describe_violation(v) for v in check.violations[:50]]
        if check.violations:
            status = "violated"
            log.warning("the combined plan violates %d constraint(s) of the full model; "
                        "first: %s", len(check.violations), violations[0])
    check_s = round(time.perf_counter() - t0, 3)
    return SNPResult(status=status, objective=objective, bound=bound,
                     gap=_gap(objective, bound), costs=costs, plan=plan,
                     check_seconds=check_s,
                     seconds=round(time.perf_counter() - runner.start, 3),
                     delivered=plan.delivered_share(inst), violations=violations, **common)


def _describe_excess(inst: SNPInstance, family: str, key, amount: float) -> dict:
    f = inst.frames
    start, days = inst.starts(), inst.days()

    def span(t: int) -> str:
        return f"bucket {t} (days {start[t]:g}-{start[t] + days[t]:g})"

    if family == "resource_capacity":
        r, t = key
        loc = f["resources"].set_index("resource").at[r, "location"]
        text = (f"resource {r} at {loc} needs {amount:.6g} more than its capacity in "
                f"{span(t)}")
        where_ = {"resource": r, "location": loc, "bucket": int(t)}
    elif family == "procurement_capacity":
        s, p, t = key
        text = (f"procurement of {p} from supplier {s} exceeds its capacity by {amount:.6g} "
                f"in {span(t)}")
        where_ = {"location": s, "product": p, "bucket": int(t)}
    elif family == "storage_capacity":
        loc, p, t = key
        text = f"stock of {p} at {loc} exceeds the storage limit by {amount:.6g} in {span(t)}"
        where_ = {"location": loc, "product": p, "bucket": int(t)}
    else:
        d = key if not isinstance(key, tuple) else key[0]
        row = f["demands"].set_index("demand").loc[d]
        text = (f"hard demand {d} ({row['quantity']:g} of {row['product']} at "
                f"{row['location']}, due in {span(int(row['bucket']))}) cannot be met: "
                f"{amount:.6g} units short")
        where_ = {"demand": d, "location": row["location"], "product": row["product"],
                  "bucket": int(row["bucket"])}
    return {"family": family, **where_, "amount": round(float(amount), 6), "text": text}


def diagnose_infeasibility(inst: SNPInstance, options: SolverOptions | None = None
                           ) -> list[dict]:
    """Which hard constraints of ``inst`` must give, and by how much, for a plan to exist.

    Solves the elastic model (every capacity, storage limit and hard demand may be exceeded at
    a cost of one per unit, and only the excess is minimised) and returns one entry per
    exceeded constraint, named in the planner's terms (location, product, resource, bucket or
    demand), largest first. Empty when the instance is feasible.
    """
    model = build_snp_model(inst, elastic=True)
    info: SolveInfo = solve(model, options or SolverOptions())
    if info.objective is None:
        return [{"family": "elastic model", "amount": None,
                 "text": f"the elastic model could not be solved ({info.status})"}]
    found = []
    for family in ELASTIC_FAMILIES:
        for key, v in getattr(model, f"excess_{family}").items():
            if v.value is not None and v.value > 1e-6:
                found.append(_describe_excess(inst, family, key, v.value))
    found.sort(key=lambda e: -e["amount"])
    return found
