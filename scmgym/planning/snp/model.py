"""The SNP mixed-integer program: one Pyomo model factory with one named rule per constraint
family, the plan it yields, and a check of any plan against every constraint.

Sets (all sparse: an index exists only where the data gives it a meaning)

* buckets ``t = 0..T-1`` of ``days[t]`` days, starting on day ``start[t]``;
* stock points ``(l, p)``: a product at a location where it can be held;
* procurement sources ``(s, p)``, processes ``k`` (one output product, a bill of materials,
  at most one resource), lanes ``a`` (origin, destination, product, lead time ``L_a``),
  resources ``r``, demands ``d`` (location, product, due bucket, quantity, priority class).

Variables: ``procure[s,p,t]``, ``make[k,t]``, ``ship[a,t]`` (dispatched in ``t``, arriving in
``t + L_a``; only while ``t + L_a < T``), ``stock[l,p,t]``, ``deliver[d,t]`` (for ``t`` from the
due bucket while ``start[t] - start[due] <= max_lateness``), ``short[d]`` (never delivered),
``below[l,p,t]`` (safety-stock shortfall), binaries ``make_on``/``ship_on`` (minimum lots and
fixed costs) and integers ``make_lots``/``ship_lots`` (fixed lot sizes).

Constraint families (each a named rule below): ``stock_balance``, ``resource_capacity``,
``procurement_capacity``, ``storage_capacity``, ``demand_fulfilment``, ``hard_demand``,
``safety_stock``, ``lot_min``, ``lot_max`` and ``lot_multiple``. The objective is the sum of
seven cost terms, kept as named expressions: procurement, production, transport, storage,
lateness, non-delivery and safety.

Two modelling choices a reader should know (docs/planning.md gives the equations):

* production in a bucket is available in the same bucket, and its components are consumed in
  the same bucket;
* the big-M of a lot switch is the smaller of the resource's capacity in that bucket over the
  use per unit, and the horizon's total requirement of the product (demand plus safety stock
  plus what processes further down need, raised to the minimum lot, plus one lot). No plan
  gains by making or moving more than that in one bucket, since every cost is non-negative.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scmgym.baselines.milp.common import model_size  # noqa: F401 (re-exported)
from scmgym.planning.snp.data import SNPInstance

COST_TERMS = ("procurement", "production", "transport", "storage", "lateness", "nondelivery",
              "safety")

#: Constraint families of the model, in the order the factory builds them.
FAMILIES = ("stock_balance", "resource_capacity", "procurement_capacity", "storage_capacity",
            "demand_fulfilment", "hard_demand", "safety_stock", "lot_min", "lot_max",
            "lot_multiple")

#: The hard families that the elastic model relaxes (with a penalised excess each).
ELASTIC_FAMILIES = ("resource_capacity", "procurement_capacity", "storage_capacity",
                    "hard_demand")


@dataclass
class Offsets:
    """What earlier subproblems of a decomposition already decided, as constants.

    ``stock[(l, p, t)]`` is a net inflow at a stock point in bucket t (positive: arrives);
    ``capacity[(r, t)]`` is capacity already used.
    """

    stock: dict[tuple[str, str, int], float] = field(default_factory=dict)
    capacity: dict[tuple[str, int], float] = field(default_factory=dict)


@dataclass
class Index:
    """The sparse index sets and coefficients of one model, computed once from the tables."""

    T: int
    days: np.ndarray
    start: np.ndarray
    points: list[tuple[str, str]]
    procure: list[tuple[str, str, int]]
    make: list[tuple[str, int]]
    ship: list[tuple[str, int]]
    deliver: list[tuple[str, int]]
    demands: pd.DataFrame
    capacity: dict[tuple[str, int], float]
    proc_cap: dict[tuple[str, str, int], float]
    make_M: dict[tuple[str, int], float]
    ship_M: dict[tuple[str, int], float]
    stock_par: pd.DataFrame


def _requirements(inst: SNPInstance) -> dict[str, float]:
    """Horizon requirement of each product: its demand and safety stock plus what processes
    further down need of it (bills of materials are acyclic, checked on loading)."""
    f = inst.frames
    req: dict[str, float] = defaultdict(float)
    for p, q in f["demands"].groupby("product")["quantity"].sum().items():
        req[p] += q
    for p, q in f["stock"].groupby("product")["safety"].sum().items():
        req[p] += q
    bom = f["bom"].merge(f["processes"][["process", "product", "lot_size", "min_lot"]],
                         on="process")
    uses: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for out, comp, qty, lot, mn in zip(bom["product"], bom["component"], bom["quantity"],
                                       bom["lot_size"], bom["min_lot"], strict=True):
        uses[comp].append((out, qty, max(lot, mn)))
    done: dict[str, float] = {}

    def total(p: str, depth: int = 0) -> float:
        if p in done:
            return done[p]
        value = req.get(p, 0.0) + sum(qty * (total(out, depth + 1) + extra)
                                      for out, qty, extra in uses.get(p, ()))
        done[p] = value
        return value

    import sys
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return {p: total(p) for p in f["products"]["product"]}
    finally:
        sys.setrecursionlimit(limit)


def build_index(inst: SNPInstance, offsets: Offsets | None = None) -> Index:
    """Sparse index sets, bounds and big-Ms of the model of ``inst`` (linear in its size)."""
    f = inst.frames
    T = inst.n_buckets
    days, start = inst.days(), inst.starts()
    pr, ln, dm = f["processes"], f["lanes"], f["demands"]
    points = set(zip(f["stock"]["location"], f["stock"]["product"], strict=True))
    points |= set(zip(f["procurement"]["location"], f["procurement"]["product"], strict=True))
    points |= set(zip(pr["location"], pr["product"], strict=True))
    bom = f["bom"].merge(pr[["process", "location"]], on="process")
    points |= set(zip(bom["location"], bom["component"], strict=True))
    points |= set(zip(ln["origin"], ln["product"], strict=True))
    points |= set(zip(ln["destination"], ln["product"], strict=True))
    points |= set(zip(dm["location"], dm["product"], strict=True))
    points_l = sorted(points)
    stock_par = pd.DataFrame(points_l, columns=["location", "product"]).merge(
        f["stock"], on=["location", "product"], how="left")
    for col, val in (("initial", 0.0), ("safety", 0.0), ("holding_cost", 0.0),
                     ("safety_cost", 0.0)):
        stock_par[col] = stock_par[col].fillna(val)

    # capacity per resource and bucket, less what earlier subproblems used
    cap: dict[tuple[str, int], float] = {}
    for r, c in zip(f["resources"]["resource"], f["resources"]["capacity"], strict=True):
        for t in range(T):
            cap[(r, t)] = c * days[t]
    for r, t, c in zip(f["capacity"]["resource"], f["capacity"]["bucket"],
                       f["capacity"]["capacity"], strict=True):
        cap[(r, int(t))] = c
    if offsets is not None:
        for key, used in offsets.capacity.items():
            if key in cap:
                cap[key] = max(0.0, cap[key] - used)

    procure = [(s, p, t) for s, p in zip(f["procurement"]["location"],
                                        f["procurement"]["product"], strict=True) for t in range(T)]
    proc_cap = {}
    for s, p, c in zip(f["procurement"]["location"], f["procurement"]["product"],
                       f["procurement"]["capacity"], strict=True):
        if not math.isnan(c):
            for t in range(T):
                proc_cap[(s, p, t)] = c * days[t]
    make = [(k, t) for k in pr["process"] for t in range(T)]
    ship = [(a, t) for a, lt in zip(ln["lane"], ln["lead_time"],
            strict=True) for t in range(T - int(lt))]
    pri = f["priorities"].set_index("priority")
    late_days = dm["priority"].map(pri["max_lateness"]).to_numpy(float)
    deliver = []
    for d, due, ml in zip(dm["demand"], dm["bucket"], late_days, strict=True):
        due = int(due)
        t = due
        while t < T and start[t] - start[due] <= ml + 1e-9:
            deliver.append((d, t))
            t += 1

    req = _requirements(inst)
    make_M: dict[tuple[str, int], float] = {}
    for k, p, r, use, mn, lot, fc in zip(pr["process"], pr["product"], pr["resource"],
                                          pr["usage"], pr["min_lot"], pr["lot_size"],
                                          pr["fixed_cost"], strict=True):
        if mn > 0 or fc > 0:
            base = max(req[p], mn) + lot
            for t in range(T):
                bound = base
                if r and use > 0:
                    bound = min(bound, cap.get((r, t), 0.0) / use)
                make_M[(k, t)] = bound
    ship_M: dict[tuple[str, int], float] = {}
    for a, p, r, use, mn, lot, fc, lt in zip(ln["lane"], ln["product"], ln["resource"],
                                              ln["usage"], ln["min_lot"], ln["lot_size"],
                                              ln["fixed_cost"], ln["lead_time"], strict=True):
        if mn > 0 or fc > 0:
            base = max(req[p], mn) + lot
            for t in range(T - int(lt)):
                bound = base
                if r and use > 0:
                    bound = min(bound, cap.get((r, t), 0.0) / use)
                ship_M[(a, t)] = bound
    return Index(T=T, days=days, start=start, points=points_l, procure=procure, make=make,
                 ship=ship, deliver=deliver, demands=dm, capacity=cap, proc_cap=proc_cap,
                 make_M=make_M, ship_M=ship_M, stock_par=stock_par)


def build_snp_model(inst: SNPInstance, *, offsets: Offsets | None = None,
                    elastic: bool = False, relax: bool = False):
    """The Pyomo model of ``inst``.

    Args:
        inst: the instance.
        offsets: decisions of earlier subproblems, as constant flows and used capacity.
        elastic: relax the hard families (:data:`ELASTIC_FAMILIES`) by a non-negative excess
            each and minimise the total excess instead of the cost (infeasibility diagnosis).
        relax: integer and binary variables continuous (the LP relaxation).

    Returns:
        a ``pyomo.environ.ConcreteModel``; ``model.snp_index`` holds the :class:`Index`,
        ``model.flows`` the stock-balance terms used by :func:`check_plan`.
    """
    import pyomo.environ as pyo

    f = inst.frames
    ix = build_index(inst, offsets)
    T, days, start = ix.T, ix.days, ix.start
    pr, ln, dm = f["processes"], f["lanes"], f["demands"]
    m = pyo.ConcreteModel(name=f"snp:{inst.name}")
    m.snp_index = ix
    nonneg = pyo.NonNegativeReals
    binary = pyo.UnitInterval if relax else pyo.Binary
    integer = nonneg if relax else pyo.NonNegativeIntegers

    stock_keys = [(loc, p, t) for loc, p in ix.points for t in range(T)]
    m.procure = pyo.Var(ix.procure, within=nonneg, dense=False)
    m.make = pyo.Var(ix.make, within=nonneg, dense=False)
    m.ship = pyo.Var(ix.ship, within=nonneg, dense=False)
    m.stock = pyo.Var(stock_keys, within=nonneg, dense=False)
    m.deliver = pyo.Var(ix.deliver, within=nonneg, dense=False)
    m.short = pyo.Var(list(dm["demand"]), within=nonneg, dense=False)
    sp = ix.stock_par
    with_safety = sp[sp["safety"] > 0]
    safety = {(loc, p): s for loc, p, s in zip(with_safety["location"],
                                               with_safety["product"], with_safety["safety"],
                                                       strict=True)}
    below_keys = [(loc, p, t) for (loc, p) in safety for t in range(T)]
    m.below = pyo.Var(below_keys, within=nonneg, dense=False,
                      bounds=lambda _m, loc, p, t: (0, safety[(loc, p)]))

    make_lot = pr[pr["lot_size"] > 0].set_index("process")["lot_size"].to_dict()
    ship_lot = ln[ln["lot_size"] > 0].set_index("lane")["lot_size"].to_dict()
    m.make_on = pyo.Var(list(ix.make_M), within=binary, dense=False)
    m.ship_on = pyo.Var(list(ix.ship_M), within=binary, dense=False)
    # (dense=False creates a variable when a constraint first uses it, so key lists, not the
    # variables, are what the constraint families below iterate over)
    make_lot_keys = [(k, t) for k, t in ix.make if k in make_lot]
    ship_lot_keys = [(a, t) for a, t in ix.ship if a in ship_lot]
    m.make_lots = pyo.Var(make_lot_keys, within=integer, dense=False)
    m.ship_lots = pyo.Var(ship_lot_keys, within=integer, dense=False)

    # ---- stock balance: stock = previous + procured + made - consumed + arrived - sent
    #      - delivered (+ offsets) ------------------------------------------------------
    flows: dict[tuple[str, str, int], list] = defaultdict(list)
    for s, p, t in ix.procure:
        flows[(s, p, t)].append((1.0, m.procure[s, p, t]))
    pr_loc = dict(zip(pr["process"], zip(pr["location"], pr["product"], strict=True), strict=True))
    for k, t in ix.make:
        loc, p = pr_loc[k]
        flows[(loc, p, t)].append((1.0, m.make[k, t]))
    needs = defaultdict(list)
    for k, comp, q in zip(f["bom"]["process"], f["bom"]["component"], f["bom"]["quantity"],
            strict=True):
        needs[k].append((comp, q))
    for k, t in ix.make:
        loc = pr_loc[k][0]
        for comp, q in needs.get(k, ()):
            flows[(loc, comp, t)].append((-q, m.make[k, t]))
    lane = dict(zip(ln["lane"], zip(ln["origin"], ln["destination"], ln["product"],
                                    ln["lead_time"], strict=True), strict=True))
    for a, t in ix.ship:
        o, dst, p, lt = lane[a]
        flows[(o, p, t)].append((-1.0, m.ship[a, t]))
        flows[(dst, p, t + int(lt))].append((1.0, m.ship[a, t]))
    dm_pt = dict(zip(dm["demand"], zip(dm["location"], dm["product"], strict=True), strict=True))
    for d, t in ix.deliver:
        loc, p = dm_pt[d]
        flows[(loc, p, t)].append((-1.0, m.deliver[d, t]))
    initial = {(loc, p): v for loc, p, v in zip(sp["location"], sp["product"], sp["initial"],
            strict=True)}
    const = defaultdict(float)
    if offsets is not None:
        for key, v in offsets.stock.items():
            const[key] += v
    m.flows = flows
    m.flow_constant = const
    m.initial_stock = initial

    def stock_balance(m, loc, p, t):
        before = m.stock[loc, p, t - 1] if t > 0 else initial[(loc, p)]
        inflow = sum(c * v for c, v in flows.get((loc, p, t), ()))
        return m.stock[loc, p, t] == before + inflow + const.get((loc, p, t), 0.0)

    m.stock_balance = pyo.Constraint(stock_keys, rule=stock_balance)

    # ---- excess variables of the elastic model --------------------------------------------
    use_terms: dict[tuple[str, int], list] = defaultdict(list)
    for k, r, u in zip(pr["process"], pr["resource"], pr["usage"], strict=True):
        if r and u > 0:
            for t in range(T):
                use_terms[(r, t)].append((u, m.make[k, t]))
    for a, r, u, lt in zip(ln["lane"], ln["resource"], ln["usage"], ln["lead_time"], strict=True):
        if r and u > 0:
            for t in range(T - int(lt)):
                use_terms[(r, t)].append((u, m.ship[a, t]))
    cap_keys = sorted(use_terms)
    max_stock = {(loc, p): v for loc, p, v in zip(sp["location"], sp["product"],
                                                  sp["max_stock"],
                                                          strict=True) if not math.isnan(v)}
    storage_keys = [(loc, p, t) for (loc, p) in max_stock for t in range(T)]
    penalty = inst.penalty().to_numpy(float)
    hard = [d for d, pen in zip(dm["demand"], penalty, strict=True) if math.isnan(pen)]
    proc_keys = sorted(ix.proc_cap)
    if elastic:
        m.excess_resource_capacity = pyo.Var(cap_keys, within=nonneg, dense=False)
        m.excess_procurement_capacity = pyo.Var(proc_keys, within=nonneg, dense=False)
        m.excess_storage_capacity = pyo.Var(storage_keys, within=nonneg, dense=False)
        m.excess_hard_demand = pyo.Var(hard, within=nonneg, dense=False)

    def excess(name, key):
        return getattr(m, f"excess_{name}")[key] if elastic else 0.0

    def resource_capacity(m, r, t):
        return (sum(u * v for u, v in use_terms[(r, t)])
                <= ix.capacity.get((r, t), 0.0) + excess("resource_capacity", (r, t)))

    m.resource_capacity = pyo.Constraint(cap_keys, rule=resource_capacity)

    def procurement_capacity(m, s, p, t):
        return m.procure[s, p, t] <= ix.proc_cap[(s, p, t)] + excess("procurement_capacity",
                                                                      (s, p, t))

    m.procurement_capacity = pyo.Constraint(proc_keys, rule=procurement_capacity)

    def storage_capacity(m, loc, p, t):
        return m.stock[loc, p, t] <= max_stock[(loc, p)] + excess("storage_capacity",
                                                                   (loc, p, t))

    m.storage_capacity = pyo.Constraint(storage_keys, rule=storage_capacity)

    # ---- demand fulfilment: delivered on time or late, plus never delivered, is the demand
    by_demand: dict[str, list] = defaultdict(list)
    for d, t in ix.deliver:
        by_demand[d].append(m.deliver[d, t])
    qty = dict(zip(dm["demand"], dm["quantity"], strict=True))

    def demand_fulfilment(m, d):
        return sum(by_demand.get(d, ())) + m.short[d] == qty[d]

    m.demand_fulfilment = pyo.Constraint(list(dm["demand"]), rule=demand_fulfilment)

    def hard_demand(m, d):
        return m.short[d] <= excess("hard_demand", d)

    m.hard_demand = pyo.Constraint(hard, rule=hard_demand)

    # ---- safety stock: stock plus shortfall reaches the target -------------------------------
    def safety_stock(m, loc, p, t):
        return m.stock[loc, p, t] + m.below[loc, p, t] >= safety[(loc, p)]

    m.safety_stock = pyo.Constraint(below_keys, rule=safety_stock)

    # ---- lots: minimum lot (switch on/off), big-M, multiples of a fixed lot size ----------
    make_min = pr.set_index("process")["min_lot"].to_dict()
    ship_min = ln.set_index("lane")["min_lot"].to_dict()
    lot_keys = [("make", k, t) for k, t in ix.make_M if make_min[k] > 0]
    lot_keys += [("ship", a, t) for a, t in ix.ship_M if ship_min[a] > 0]
    on_keys = [("make", k, t) for k, t in ix.make_M] + [("ship", a, t) for a, t in ix.ship_M]
    multiple_keys = [("make", k, t) for k, t in make_lot_keys] + [
        ("ship", a, t) for a, t in ship_lot_keys]

    def parts(kind):
        return ((m.make, m.make_on, m.make_lots, make_min, ix.make_M, make_lot) if kind == "make"
                else (m.ship, m.ship_on, m.ship_lots, ship_min, ix.ship_M, ship_lot))

    def lot_min(m, kind, key, t):
        x, on, _, mins, _, _ = parts(kind)
        return x[key, t] >= mins[key] * on[key, t]

    def lot_max(m, kind, key, t):
        x, on, _, _, big, _ = parts(kind)
        return x[key, t] <= big[(key, t)] * on[key, t]

    def lot_multiple(m, kind, key, t):
        x, _, lots, _, _, size = parts(kind)
        return x[key, t] == size[key] * lots[key, t]

    m.lot_min = pyo.Constraint(lot_keys, rule=lot_min)
    m.lot_max = pyo.Constraint(on_keys, rule=lot_max)
    m.lot_multiple = pyo.Constraint(multiple_keys, rule=lot_multiple)

    # ---- costs ---------------------------------------------------------------------------
    pcost = {(s, p): c for s, p, c in zip(f["procurement"]["location"],
                                         f["procurement"]["product"], f["procurement"]["cost"],
                                                 strict=True)}
    kcost = dict(zip(pr["process"], pr["cost"], strict=True))
    kfix = dict(zip(pr["process"], pr["fixed_cost"], strict=True))
    acost = dict(zip(ln["lane"], ln["cost"], strict=True))
    afix = dict(zip(ln["lane"], ln["fixed_cost"], strict=True))
    hold = {(loc, p): h for loc, p, h in zip(sp["location"], sp["product"], sp["holding_cost"],
            strict=True)
            if h > 0}
    sscost = {(loc, p): c for loc, p, c in zip(sp["location"], sp["product"], sp["safety_cost"],
            strict=True)}
    pri = f["priorities"].set_index("priority")
    late_cost = dict(zip(dm["demand"], dm["priority"].map(pri["lateness_cost"]), strict=True))
    due = dict(zip(dm["demand"], dm["bucket"], strict=True))
    pen = dict(zip(dm["demand"], penalty, strict=True))

    m.cost_procurement = pyo.Expression(expr=sum(
        pcost[(s, p)] * m.procure[s, p, t] for s, p, t in ix.procure if pcost[(s, p)]))
    m.cost_production = pyo.Expression(expr=sum(
        kcost[k] * m.make[k, t] for k, t in ix.make if kcost[k]) + sum(
        kfix[k] * m.make_on[k, t] for k, t in ix.make_M if kfix[k]))
    m.cost_transport = pyo.Expression(expr=sum(
        acost[a] * m.ship[a, t] for a, t in ix.ship if acost[a]) + sum(
        afix[a] * m.ship_on[a, t] for a, t in ix.ship_M if afix[a]))
    m.cost_storage = pyo.Expression(expr=sum(
        hold[(loc, p)] * days[t] * m.stock[loc, p, t] for (loc, p) in hold for t in range(T)))
    m.cost_lateness = pyo.Expression(expr=sum(
        late_cost[d] * (start[t] - start[int(due[d])]) * m.deliver[d, t]
        for d, t in ix.deliver if t > due[d] and late_cost[d]))
    m.cost_nondelivery = pyo.Expression(expr=sum(
        pen[d] * m.short[d] for d in dm["demand"] if not math.isnan(pen[d]) and pen[d]))
    m.cost_safety = pyo.Expression(expr=sum(
        sscost[(loc, p)] * days[t] * m.below[loc, p, t] for loc, p, t in below_keys
        if sscost[(loc, p)]))
    total = sum(getattr(m, f"cost_{term}") for term in COST_TERMS)
    if elastic:
        m.violation = pyo.Expression(expr=sum(
            v for name in ELASTIC_FAMILIES for v in getattr(m, f"excess_{name}").values()))
        m.objective = pyo.Objective(expr=m.violation, sense=pyo.minimize)
    else:
        m.objective = pyo.Objective(expr=total, sense=pyo.minimize)
    return m
