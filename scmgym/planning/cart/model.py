"""The CAR-T supply chain MILP: which manufacturing sites to open, and each patient's route.

A **route** is a site, an outbound mode and a return mode within the return-time limit
(:attr:`~scmgym.planning.cart.data.CARTInstance.routes`). Since a therapy never waits, a
patient collected on day ``d`` at centre ``c`` who takes route ``r`` starts manufacturing on day
``d + s_r`` (``s_r`` = leukapheresis + outbound leg) and holds one of the site's lines for the
manufacturing days; QC does not use a line. Two exact formulations:

* ``"patient"``: a binary ``x[p, r]`` per patient and route (every patient is one unit through
  the chain, as in the published model);
* ``"aggregated"`` (default): an integer ``z[g, r]`` per group of patients collected at the same
  centre on the same day and route: how many of the group take it. Patients of a group are
  interchangeable (same routes, costs and days), so any patient-level plan maps to a group-level
  one of the same cost and back: the two formulations have the same optimum and the same sites
  (tested).

Constraint families (one named rule each):

* ``assign``: each patient (each group's count) takes exactly one route;
* ``open_site``: only routes through open sites (``y[m]`` binary);
* ``line_capacity``: on every day, the batches in manufacturing at a site fit its lines (times
  ``y[m]``);
* ``max_sites``: at most ``max_sites`` sites open (2 in the published model).

Objective: facility cost ``horizon x (capital + running) per day`` of each open site, plus the
transport cost of the routes taken, plus material and QC per therapy (a constant). The
complicating binaries are the ``y[m]``: fixing them (``sites=``) leaves a model with only the
open sites' routes, which :mod:`scmgym.planning.decomposition` learns to predict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyomo.environ as pyo

from scmgym.planning.cart.data import CARTInstance

FORMULATIONS = ("aggregated", "patient")


class Infeasible(ValueError):
    """The model has no solution for a reason seen before any solve (the reason is the
    message)."""


def structurally_infeasible(inst: CARTInstance, sites: list[str] | None) -> str | None:
    """Why no plan can exist with ``sites`` fixed open (None: all candidates), if it shows
    without solving: more sites than allowed, or a centre with patients and no route."""
    if sites is not None and len(sites) > inst.setting("max_sites"):
        return f"{len(sites)} sites fixed open, at most {inst.setting('max_sites')} allowed"
    routes = inst.routes
    if sites is not None:
        routes = routes[routes["site"].isin(sites)]
    served = set(routes["centre"])
    lost = sorted(set(inst.frames["patients"]["centre"]) - served)
    if lost:
        return f"no route from centre(s) {', '.join(lost)} through the sites allowed"
    return None
COST_TERMS = ("facility", "transport", "therapy")


def _units(inst: CARTInstance, formulation: str) -> list[tuple[str, int, int]]:
    """(centre, day, count) per unit of decision: a patient, or a group of patients."""
    p = inst.frames["patients"]
    if formulation == "patient":
        return [(c, int(d), 1) for c, d in zip(p["centre"], p["day"], strict=True)]
    groups = p.groupby(["centre", "day"], sort=True).size()
    return [(c, int(d), int(n)) for (c, d), n in groups.items()]


def build_cart_model(inst: CARTInstance, *, formulation: str = "aggregated",
                     sites: Iterable[str] | None = None) -> pyo.ConcreteModel:
    """The MILP of the module docstring. ``sites``: the sites fixed open (every other one
    closed and its routes left out): the reduced model of a decomposition."""
    if formulation not in FORMULATIONS:
        raise ValueError(f"formulation={formulation!r}; allowed: {', '.join(FORMULATIONS)}")
    f = inst.frames
    fixed = None if sites is None else list(dict.fromkeys(sites))
    if fixed is not None:
        unknown = [s for s in fixed if s not in inst.sites]
        if unknown:
            raise ValueError(f"unknown site(s) {unknown}; allowed: {', '.join(inst.sites)}")
    candidates = inst.sites if fixed is None else fixed
    site_rows = f["sites"].set_index("site")
    lines = site_rows["lines"].to_dict()
    daily = (site_rows["capital_cost"] + site_rows["running_cost"]).to_dict()
    horizon = inst.setting("horizon")
    making = inst.setting("manufacturing_days")
    routes = inst.routes[inst.routes["site"].isin(candidates)].reset_index(drop=True)
    by_centre = {c: list(idx) for c, idx in routes.groupby("centre").groups.items()}
    units = _units(inst, formulation)

    m = pyo.ConcreteModel(name=f"cart {inst.name} ({formulation})")
    keys = [(u, r) for u, (c, _, _) in enumerate(units) for r in by_centre.get(c, ())]
    if formulation == "patient":
        m.x = pyo.Var(keys, domain=pyo.Binary)
    else:
        m.x = pyo.Var(keys, domain=pyo.NonNegativeIntegers,
                      bounds=lambda _m, u, r: (0, units[u][2]))
    if fixed is None:
        m.y = pyo.Var(candidates, domain=pyo.Binary)
        y = m.y
    else:
        y = {s: 1 for s in candidates}
    route_site = routes["site"].to_numpy()
    route_start = routes["start"].to_numpy(int)
    by_unit: dict[int, list] = defaultdict(list)
    by_unit_site: dict[tuple, list] = defaultdict(list)
    busy: dict[tuple, list] = defaultdict(list)
    for u, r in keys:
        by_unit[u].append((u, r))
        by_unit_site[(u, route_site[r])].append((u, r))
        start = units[u][1] + route_start[r]
        for t in range(start, start + making):
            busy[(route_site[r], t)].append((u, r))

    why = structurally_infeasible(inst, fixed)
    if why is not None:
        raise Infeasible(why)
    m.assign = pyo.Constraint(range(len(units)), rule=lambda m, u: sum(
        m.x[k] for k in by_unit[u]) == units[u][2])
    if fixed is None:
        m.open_site = pyo.Constraint(list(by_unit_site), rule=lambda m, u, s: sum(
            m.x[k] for k in by_unit_site[(u, s)]) <= units[u][2] * m.y[s])
        m.max_sites = pyo.Constraint(expr=sum(m.y[s] for s in candidates)
                                     <= inst.setting("max_sites"))
    m.line_capacity = pyo.Constraint(list(busy), rule=lambda m, s, t: sum(
        m.x[k] for k in busy[(s, t)]) <= lines[s] * y[s])
    cost = routes["cost"].to_numpy(float)
    m.cost_facility = pyo.Expression(expr=horizon * sum(daily[s] * y[s] for s in candidates))
    m.cost_transport = pyo.Expression(expr=sum(cost[r] * m.x[u, r] for u, r in keys))
    m.cost_therapy = pyo.Expression(expr=inst.n_patients * (inst.setting("material_cost")
                                                            + inst.setting("qc_cost")))
    m.total_cost = pyo.Objective(expr=m.cost_facility + m.cost_transport + m.cost_therapy,
                                 sense=pyo.minimize)
    m._routes = routes
    m._units = units
    return m
