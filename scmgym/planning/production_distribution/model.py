"""The integrated production-distribution MILP, the plan it gives, and the plan check that every
method's plan passes through.

Decisions (all non-negative, days ``t = 0..T-1``):

* ``make[l, s, t]``: units of SKU ``s`` made on line ``l`` on day ``t`` (only where the line
  makes the SKU), with ``run[l, s, t]`` binary when the SKU has a minimum order quantity (MOQ)
  and MOQs are on;
* ``ship[s, d, t]``: units sent on day ``t`` from the DC's plant to DC ``d``, arriving on day
  ``t + lead(d)`` (only while that is within the horizon);
* ``transfer[s, p, q, t]``: units moved from plant ``p`` to plant ``q``, arriving after the
  transfer lead time;
* stock at each plant, and at each DC its stock and backlog (unmet demand carried forward),
  with the deviations from target and minimum.

Constraint families (one named rule each; the capstone's equation numbers in brackets):

* ``line_capacity`` (Eq. 7): sum over SKUs of ``make / rate`` <= hours available that day;
* ``moq_min``, ``moq_max``: a run makes at least the MOQ, or nothing;
* ``plant_balance`` (Eq. 12-14, the distribution side): plant stock = previous + made -
  shipped - transferred out + transferred in (arrived);
* ``dc_balance`` (Eq. 8, corrected): stock - backlog = previous stock - previous backlog +
  arrivals - demand. As printed in the capstone the signs of this balance do not agree with
  one another; the intended balance, implemented here, is inventory up by what arrives and
  down by demand, with unmet demand carried as backlog;
* ``over_target``, ``under_target``, ``under_minimum`` (Eq. 9-11): the deviations of the DC's
  stock from its target and its minimum (``min_share`` x target).

Objective (Eq. 2-6 and the distribution costs), each term a named expression reported
separately: over target, under target, under minimum and stockout (backlog) costs per unit
and day, transport cost per unit shipped, transfer cost per unit moved between plants.

:func:`evaluate_plan` recomputes stocks and costs from the decisions alone (production,
shipments, transfers) and checks every constraint above; a plan from any method, the MILP's
included, is reported through it, so costs compare like with like.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scmgym.planning.production_distribution.data import Arrays, PDInstance

COST_TERMS = ("over_target", "under_target", "under_minimum", "stockout", "transport",
              "transfer")
#: constraint families of the model, in the order of the module docstring
FAMILIES = ("line_capacity", "moq_min", "moq_max", "plant_balance", "dc_balance",
            "over_target", "under_target", "under_minimum")
#: tolerance of the plan check, in units (or hours), relative to the largest quantity
TOLERANCE = 1e-6


def _index(inst: PDInstance, transfers: bool):
    a = inst.arrays
    T = a.horizon
    make = [(ln, s, t) for ln, s in zip(*np.nonzero(a.rate > 0), strict=True) for t in range(T)]
    held = list(zip(*np.nonzero(a.held), strict=True))
    ship = [(s, d, t) for s, d in held for t in range(T) if t + a.lead[d] < T]
    n_p = len(inst.plants)
    moves = [(s, p, q, t) for s in range(len(inst.skus)) for p in range(n_p)
             for q in range(n_p) if p != q and transfers
             for t in range(T) if t + a.transfer_lead < T]
    return make, held, ship, moves


def build_pd_model(inst: PDInstance, *, moq: bool = True, transfers: bool = True):
    """The integrated MILP as a Pyomo ``ConcreteModel`` (indices are positions in
    ``inst.lines``, ``inst.skus``, ``inst.dcs``, ``inst.plants`` and days).

    Args:
        moq: enforce the minimum order quantities (binary run variables); off, the model is
            an LP.
        transfers: allow transfers between plants.
    """
    import pyomo.environ as pyo

    a = inst.arrays
    T = a.horizon
    make_idx, held, ship_idx, move_idx = _index(inst, transfers)
    m = pyo.ConcreteModel(name=f"production-distribution {inst.name}")
    m.make = pyo.Var(make_idx, domain=pyo.NonNegativeReals)
    runs = [(ln, s, t) for ln, s, t in make_idx if moq and a.moq[s] > 0]
    m.run = pyo.Var(runs, domain=pyo.Binary)
    m.ship = pyo.Var(ship_idx, domain=pyo.NonNegativeReals)
    m.transfer = pyo.Var(move_idx, domain=pyo.NonNegativeReals)
    stock_idx = [(s, p, t) for s in range(len(inst.skus)) for p in range(len(inst.plants))
                 for t in range(T)]
    m.plant_stock = pyo.Var(stock_idx, domain=pyo.NonNegativeReals)
    dc_idx = [(s, d, t) for s, d in held for t in range(T)]
    m.stock = pyo.Var(dc_idx, domain=pyo.NonNegativeReals)
    m.backlog = pyo.Var(dc_idx, domain=pyo.NonNegativeReals)
    m.over = pyo.Var(dc_idx, domain=pyo.NonNegativeReals)
    m.under = pyo.Var(dc_idx, domain=pyo.NonNegativeReals)
    m.below_min = pyo.Var(dc_idx, domain=pyo.NonNegativeReals)

    by_line_day: dict[tuple, list] = {}
    by_plant: dict[tuple, list] = {}
    for ln, s, t in make_idx:
        by_line_day.setdefault((ln, t), []).append((ln, s, t))
        by_plant.setdefault((s, a.line_plant[ln], t), []).append((ln, s, t))
    out_ship: dict[tuple, list] = {}
    arrive: dict[tuple, tuple] = {}
    for s, d, t in ship_idx:
        out_ship.setdefault((s, a.dc_plant[d], t), []).append((s, d, t))
        arrive[(s, d, t + a.lead[d])] = (s, d, t)
    moves_out: dict[tuple, list] = {}
    moves_in: dict[tuple, list] = {}
    for s, p, q, t in move_idx:
        moves_out.setdefault((s, p, t), []).append((s, p, q, t))
        moves_in.setdefault((s, q, t + a.transfer_lead), []).append((s, p, q, t))

    def line_capacity(m, ln, t):
        return sum(m.make[k] / a.rate[k[0], k[1]] for k in by_line_day[(ln, t)]) \
            <= a.hours[ln, t]
    m.line_capacity = pyo.Constraint(list(by_line_day), rule=line_capacity)

    def moq_min(m, ln, s, t):
        return m.make[ln, s, t] >= a.moq[s] * m.run[ln, s, t]

    def moq_max(m, ln, s, t):
        return m.make[ln, s, t] <= a.rate[ln, s] * a.hours[ln, t] * m.run[ln, s, t]
    m.moq_min = pyo.Constraint(runs, rule=moq_min)
    m.moq_max = pyo.Constraint(runs, rule=moq_max)

    def plant_balance(m, s, p, t):
        before = m.plant_stock[s, p, t - 1] if t > 0 else a.initial_plant[s, p]
        return m.plant_stock[s, p, t] == (
            before + sum(m.make[k] for k in by_plant.get((s, p, t), ()))
            - sum(m.ship[k] for k in out_ship.get((s, p, t), ()))
            - sum(m.transfer[k] for k in moves_out.get((s, p, t), ()))
            + sum(m.transfer[k] for k in moves_in.get((s, p, t), ())))
    m.plant_balance = pyo.Constraint(stock_idx, rule=plant_balance)

    def dc_balance(m, s, d, t):
        if t > 0:
            before = m.stock[s, d, t - 1] - m.backlog[s, d, t - 1]
        else:
            before = a.initial_dc[s, d]
        arrived = m.ship[arrive[(s, d, t)]] if (s, d, t) in arrive else 0.0
        return m.stock[s, d, t] - m.backlog[s, d, t] == before + arrived - a.demand[s, d, t]
    m.dc_balance = pyo.Constraint(dc_idx, rule=dc_balance)

    m.over_target = pyo.Constraint(
        dc_idx, rule=lambda m, s, d, t: m.over[s, d, t] >= m.stock[s, d, t] - a.target[s, d])
    m.under_target = pyo.Constraint(
        dc_idx, rule=lambda m, s, d, t: m.under[s, d, t] >= a.target[s, d] - m.stock[s, d, t])
    m.under_minimum = pyo.Constraint(
        dc_idx, rule=lambda m, s, d, t: m.below_min[s, d, t]
        >= a.min_share * a.target[s, d] - m.stock[s, d, t])

    m.cost_over_target = pyo.Expression(expr=sum(a.over_cost[k[0]] * m.over[k] for k in dc_idx))
    m.cost_under_target = pyo.Expression(
        expr=sum(a.under_cost[k[0]] * m.under[k] for k in dc_idx))
    m.cost_under_minimum = pyo.Expression(
        expr=sum(a.min_cost[k[0]] * m.below_min[k] for k in dc_idx))
    m.cost_stockout = pyo.Expression(
        expr=sum(a.stockout_cost[k[0]] * m.backlog[k] for k in dc_idx))
    m.cost_transport = pyo.Expression(
        expr=sum(a.transport_cost[k[0], k[1]] * m.ship[k] for k in ship_idx))
    m.cost_transfer = pyo.Expression(
        expr=sum(a.transfer_cost[k[0]] * m.transfer[k] for k in move_idx))
    m.total_cost = pyo.Objective(expr=sum(getattr(m, f"cost_{t}") for t in COST_TERMS),
                                 sense=pyo.minimize)
    return m


# ---- the configurator's capacity check -------------------------------------------------

def capacity_position(inst: PDInstance, level: float = 1.0) -> dict[tuple[str, str], dict]:
    """Production each plant needs against what its lines can make, per product type, over
    the horizon: the configurator's capacity check (capstone Figure 7).

    Needed: for every SKU of the type at every DC the plant serves, the horizon's demand plus
    ``level`` x the target, less the DC's initial stock (at least 0), summed, less the plant's
    own initial stock of those SKUs. Available: the hours of the plant's lines of that type
    over the horizon times each line's mean rate over the SKUs it makes. ``level`` 1 plans for
    the full target inventory; lower levels are the configurator's reduced safety stock.
    Returns ``{(plant, type): {"needed", "available", "fits"}}``."""
    a = inst.arrays
    out = {}
    for p, plant in enumerate(inst.plants):
        dcs = a.dc_plant == p
        for k, kind in enumerate(a.types):
            skus = a.sku_type == k
            want = level * a.target + a.demand.sum(axis=2) - a.initial_dc
            need = np.maximum(want, 0.0)[np.ix_(skus, dcs)].sum() \
                - a.initial_plant[skus, p].sum()
            lines = (a.line_plant == p) & (a.line_type == k)
            rates = a.rate[lines][:, skus]
            mean_rate = np.array([r[r > 0].mean() if (r > 0).any() else 0.0 for r in rates])
            avail = float((a.hours[lines].sum(axis=1) * mean_rate).sum())
            need = max(float(need), 0.0)
            out[(plant, kind)] = {"needed": need, "available": avail,
                                  "fits": need <= avail + 1e-9}
    return out


def plant_fits(inst: PDInstance, plant: str, level: float = 1.0) -> bool:
    """Whether ``plant`` passes the capacity check for every product type at ``level``."""
    return all(v["fits"] for (p, _), v in capacity_position(inst, level).items()
               if p == plant)


# ---- plans ----------------------------------------------------------------------------------

@dataclass
class Decisions:
    """A plan's decisions as dense arrays: ``make`` (L, S, T), ``ship`` (S, D, T) by dispatch
    day, ``transfer`` (S, P, P, T) by dispatch day (origin, destination)."""

    make: np.ndarray
    ship: np.ndarray
    transfer: np.ndarray

    @classmethod
    def zeros(cls, inst: PDInstance) -> Decisions:
        a = inst.arrays
        n_l, n_s = a.rate.shape
        n_d, n_p, T = len(a.lead), a.initial_plant.shape[1], a.horizon
        return cls(np.zeros((n_l, n_s, T)), np.zeros((n_s, n_d, T)),
                   np.zeros((n_s, n_p, n_p, T)))


def decisions_from_model(m, inst: PDInstance) -> Decisions:
    """Read the decisions of a solved model."""
    out = Decisions.zeros(inst)
    for name, arr in (("make", out.make), ("ship", out.ship), ("transfer", out.transfer)):
        for key, var in getattr(m, name).items():
            if var.value is not None:
                arr[key] = max(0.0, float(var.value))
    return out


@dataclass
class PlanReport:
    """A plan's decisions, the states they lead to, its costs and its check.

    ``costs`` holds one value per :data:`COST_TERMS`; ``violations`` lists each broken
    constraint in words (empty: the plan is feasible for the MILP)."""

    decisions: Decisions
    costs: dict[str, float]
    violations: list[str]
    hours_used: np.ndarray           # (L, T)
    plant_stock: np.ndarray          # (S, P, T)
    dc_stock: np.ndarray             # (S, D, T)
    backlog: np.ndarray              # (S, D, T)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def cost(self) -> float:
        return float(sum(self.costs.values()))

    @property
    def feasible(self) -> bool:
        return not self.violations


def simulate(a: Arrays, make: np.ndarray, ship: np.ndarray, transfer: np.ndarray) -> dict:
    """States and costs of a batch of plans (leading axis ``n``): ``make`` (n, L, S, T),
    ``ship`` (n, S, D, T), ``transfer`` (n, S, P, P, T). Returns arrays with the batch axis:
    ``costs`` (n, 6) in the order of :data:`COST_TERMS`, ``plant_stock`` (n, S, P, T),
    ``net`` (n, S, D, T) (stock minus backlog at the DCs) and ``hours`` (n, L, T)."""
    T = a.horizon
    n_p = a.initial_plant.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_hour = np.where(a.rate > 0, 1.0 / np.where(a.rate > 0, a.rate, 1.0), 0.0)
    hours = np.einsum("nlst,ls->nlt", make, per_hour)
    plant_of_line = np.eye(n_p)[a.line_plant]                    # (L, P)
    made = np.einsum("nlst,lp->nspt", make, plant_of_line)
    dc_of_plant = np.eye(n_p)[a.dc_plant]                        # (D, P)
    sent = np.einsum("nsdt,dp->nspt", ship, dc_of_plant)
    out = transfer.sum(axis=3)                                   # (n, S, P, T) by origin
    into = transfer.sum(axis=2)                                  # (n, S, P, T) by destination
    arrived_in = np.zeros_like(into)
    if a.transfer_lead < T:
        arrived_in[..., a.transfer_lead:] = into[..., :T - a.transfer_lead]
    plant_stock = a.initial_plant[None, :, :, None] + np.cumsum(
        made - sent - out + arrived_in, axis=3)
    arrivals = np.zeros_like(ship)
    for d, lead in enumerate(a.lead):
        if lead < T:
            arrivals[:, :, d, lead:] = ship[:, :, d, :T - lead]
    net = a.initial_dc[None, :, :, None] + np.cumsum(arrivals - a.demand[None], axis=3)
    stock = np.maximum(net, 0.0)
    backlog = np.maximum(-net, 0.0)
    held = a.held[None, :, :, None]
    target = a.target[None, :, :, None]
    over = np.where(held, np.maximum(stock - target, 0.0), 0.0)
    under = np.where(held, np.maximum(target - stock, 0.0), 0.0)
    below = np.where(held, np.maximum(a.min_share * target - stock, 0.0), 0.0)
    costs = np.stack([
        np.einsum("nsdt,s->n", over, a.over_cost),
        np.einsum("nsdt,s->n", under, a.under_cost),
        np.einsum("nsdt,s->n", below, a.min_cost),
        np.einsum("nsdt,s->n", backlog, a.stockout_cost),
        np.einsum("nsdt,sd->n", ship, a.transport_cost),
        np.einsum("nspqt,s->n", transfer, a.transfer_cost),
    ], axis=1)
    return {"costs": costs, "plant_stock": plant_stock, "net": net, "hours": hours}


def evaluate_plan(inst: PDInstance, decisions: Decisions, *, moq: bool = True,
                  transfers: bool = True) -> PlanReport:
    """Recompute the states and costs of a plan from its decisions, and check it against
    every constraint of :func:`build_pd_model` (with the same ``moq`` and ``transfers``)."""
    a = inst.arrays
    T = a.horizon
    make, ship, move = decisions.make, decisions.ship, decisions.transfer
    sim = simulate(a, make[None], ship[None], move[None])
    scale = max(1.0, float(np.abs(make).max(initial=0)), float(np.abs(ship).max(initial=0)))
    tol = TOLERANCE * scale
    bad: list[str] = []
    lines, skus, dcs, plants = inst.lines, inst.skus, inst.dcs, inst.plants

    def day(t) -> str:
        return f"day {int(t)}"

    for ln, s, t in zip(*np.nonzero(make < -tol), strict=True):
        bad.append(f"negative production of {skus[s]} on line {lines[ln]}, {day(t)}")
    for ln, s, t in zip(*np.nonzero((a.rate[:, :, None] <= 0) & (make > tol)), strict=True):
        bad.append(f"line {lines[ln]} makes {skus[s]} ({day(t)}), which it cannot make")
    over_hours = sim["hours"][0] - a.hours
    for ln, t in zip(*np.nonzero(over_hours > TOLERANCE * 24), strict=True):
        bad.append(f"line_capacity: line {lines[ln]} uses {sim['hours'][0][ln, t]:.4g} h on "
                   f"{day(t)}, {a.hours[ln, t]:.4g} h available")
    if moq:
        small = (make > tol) & (make < a.moq[None, :, None] - tol)
        for ln, s, t in zip(*np.nonzero(small), strict=True):
            bad.append(f"moq_min: line {lines[ln]} makes {make[ln, s, t]:.6g} of {skus[s]} on "
                       f"{day(t)}, below its MOQ {a.moq[s]:.6g}")
    for s, d, t in zip(*np.nonzero(ship < -tol), strict=True):
        bad.append(f"negative shipment of {skus[s]} to {dcs[d]}, {day(t)}")
    late = np.arange(T)[None, None, :] + a.lead[None, :, None] >= T
    for s, d, t in zip(*np.nonzero(late & (ship > tol)), strict=True):
        bad.append(f"shipment of {skus[s]} to {dcs[d]} on {day(t)} arrives after the horizon")
    for s, d, t in zip(*np.nonzero(~a.held[:, :, None] & (ship > tol)), strict=True):
        bad.append(f"shipment of {skus[s]} to {dcs[d]}, which does not hold it ({day(t)})")
    if np.any(move < -tol):
        bad.append("negative transfer")
    if not transfers and np.any(move > tol):
        bad.append("transfers between plants are not allowed in this plan")
    late_move = np.arange(T) + a.transfer_lead >= T
    if np.any(move[..., late_move] > tol):
        bad.append("a transfer arrives after the horizon")
    if np.any(np.einsum("sppt->", move) > tol):
        bad.append("a transfer from a plant to itself")
    ps = sim["plant_stock"][0]
    for s, p, t in zip(*np.nonzero(ps < -tol), strict=True):
        bad.append(f"plant_balance: plant {plants[p]} ships or transfers {-ps[s, p, t]:.6g} "
                   f"more {skus[s]} than it has on {day(t)}")
    net = sim["net"][0]
    report = PlanReport(decisions=decisions,
                        costs=dict(zip(COST_TERMS, map(float, sim["costs"][0]), strict=True)),
                        violations=bad, hours_used=sim["hours"][0], plant_stock=ps,
                        dc_stock=np.maximum(net, 0.0), backlog=np.maximum(-net, 0.0))
    report.tables = plan_tables(inst, report)
    return report


def plan_tables(inst: PDInstance, r: PlanReport) -> dict[str, pd.DataFrame]:
    """The plan as tables: production, shipments, transfers (non-zero rows), line use per day,
    plant stock and DC stock against target and minimum."""
    a = inst.arrays
    d = r.decisions
    lines, skus, dcs, plants = inst.lines, inst.skus, inst.dcs, inst.plants
    rows = [(lines[ln], skus[s], t, d.make[ln, s, t], d.make[ln, s, t] / a.rate[ln, s])
            for ln, s, t in zip(*np.nonzero(d.make > 1e-9), strict=True)]
    production = pd.DataFrame(rows, columns=["line", "sku", "day", "quantity", "hours"])
    rows = [(skus[s], dcs[k], t, t + int(a.lead[k]), d.ship[s, k, t])
            for s, k, t in zip(*np.nonzero(d.ship > 1e-9), strict=True)]
    shipments = pd.DataFrame(rows, columns=["sku", "dc", "day", "arrival", "quantity"])
    rows = [(skus[s], plants[p], plants[q], t, t + a.transfer_lead, d.transfer[s, p, q, t])
            for s, p, q, t in zip(*np.nonzero(d.transfer > 1e-9), strict=True)]
    transfers = pd.DataFrame(rows, columns=["sku", "origin", "destination", "day", "arrival",
                                            "quantity"])
    T = a.horizon
    L = len(lines)
    utilisation = pd.DataFrame({
        "line": np.repeat(lines, T), "day": np.tile(np.arange(T), L),
        "hours_used": r.hours_used.ravel(), "hours_available": a.hours.ravel()})
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation["utilisation"] = np.where(utilisation["hours_available"] > 0,
                                              utilisation["hours_used"]
                                              / utilisation["hours_available"], 0.0)
    S, P = len(skus), len(plants)
    plant_stock = pd.DataFrame({
        "sku": np.repeat(skus, P * T), "plant": np.tile(np.repeat(plants, T), S),
        "day": np.tile(np.arange(T), S * P), "stock": r.plant_stock.ravel()})
    s_idx, k_idx = np.nonzero(a.held)
    dc_stock = pd.DataFrame({
        "sku": np.repeat(np.asarray(skus)[s_idx], T),
        "dc": np.repeat(np.asarray(dcs)[k_idx], T),
        "day": np.tile(np.arange(T), len(s_idx)),
        "stock": r.dc_stock[s_idx, k_idx].ravel(), "backlog": r.backlog[s_idx, k_idx].ravel(),
        "target": np.repeat(a.target[s_idx, k_idx], T),
        "minimum": np.repeat(a.min_share * a.target[s_idx, k_idx], T)})
    return {"production": production, "shipments": shipments, "transfers": transfers,
            "utilisation": utilisation, "plant_stock": plant_stock, "dc_stock": dc_stock}


def kpis(inst: PDInstance, r: PlanReport) -> dict:
    """What the capstone's result tables show: utilisation per line (hours used over hours
    available across the horizon), units backlogged (stockout unit-days) and the DC inventory
    position against target (mean stock / mean target, share of SKU-DC-days below the
    minimum)."""
    a = inst.arrays
    avail = a.hours.sum(axis=1)
    used = r.hours_used.sum(axis=1)
    util = {line: float(u / h) if h > 0 else 0.0
            for line, u, h in zip(inst.lines, used, avail, strict=True)}
    held = np.broadcast_to(a.held[:, :, None], r.dc_stock.shape)
    target = np.broadcast_to(a.target[:, :, None], r.dc_stock.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = float(r.dc_stock[held].sum() / target[held].sum()) if target[held].sum() else 0.0
    below = float(np.mean(r.dc_stock[held] < a.min_share * target[held] - 1e-9)) \
        if held.any() else 0.0
    return {"utilisation": util, "stockout_unit_days": float(r.backlog.sum()),
            "backlog_at_end": float(r.backlog[..., -1].sum()),
            "stock_vs_target": cover, "below_minimum_share": below}
