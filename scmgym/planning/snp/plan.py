"""An SNP plan: one table per decision type, read off a solved model, combined across
subproblems, written to disk, and checked against every constraint of the full model.

Tables (one row per non-zero decision):

* ``procurement``: location, product, bucket, quantity
* ``production``: process, location, product, bucket, quantity
* ``transport``: lane, origin, destination, product, bucket (dispatch), arrival, quantity
* ``delivery``: demand, location, product, priority, due, bucket, days_late, quantity
* ``stock``: location, product, bucket, quantity (end of bucket)
* ``nondelivery``: demand, location, product, priority, quantity
* ``safety``: location, product, bucket, shortfall (below the safety stock)

The first four are the decisions; stock, non-delivery and safety shortfall follow from them,
which is how :func:`check_plan` recomputes them before it checks the constraints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from scmgym.planning.snp.data import SNPInstance
from scmgym.planning.snp.model import COST_TERMS, FAMILIES, build_snp_model

#: Values below this are taken as zero when a plan is read off a model.
ZERO = 1e-7

PLAN_COLUMNS = {
    "procurement": ("location", "product", "bucket", "quantity"),
    "production": ("process", "location", "product", "bucket", "quantity"),
    "transport": ("lane", "origin", "destination", "product", "bucket", "arrival", "quantity"),
    "delivery": ("demand", "location", "product", "priority", "due", "bucket", "days_late",
                 "quantity"),
    "stock": ("location", "product", "bucket", "quantity"),
    "nondelivery": ("demand", "location", "product", "priority", "quantity"),
    "safety": ("location", "product", "bucket", "shortfall"),
}
DECISIONS = ("procurement", "production", "transport", "delivery")


@dataclass
class SNPPlan:
    """The plan's tables (see the module docstring)."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame(columns=PLAN_COLUMNS[name]))

    def write(self, folder: str | Path) -> list[Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name in PLAN_COLUMNS:
            path = folder / f"{name}.csv"
            self[name].to_csv(path, index=False, float_format="%.6g")
            paths.append(path)
        return paths

    @classmethod
    def read(cls, folder: str | Path) -> SNPPlan:
        folder = Path(folder)
        return cls({name: pd.read_csv(folder / f"{name}.csv", keep_default_na=False)
                    for name in PLAN_COLUMNS if (folder / f"{name}.csv").is_file()})

    def delivered_share(self, inst: SNPInstance) -> dict[int, float]:
        """Share of demanded units delivered (on time or late) per priority class."""
        dm = inst.frames["demands"]
        want = dm.groupby("priority")["quantity"].sum()
        got = self["delivery"].groupby("priority")["quantity"].sum() if len(
            self["delivery"]) else pd.Series(dtype=float)
        return {int(p): round(float(got.get(p, 0.0)) / float(q), 6) for p, q in want.items()}


def _values(var) -> list[tuple[tuple, float]]:
    out = []
    for key, v in var.items():
        x = v.value
        if x is not None and abs(x) > ZERO:
            out.append((key if isinstance(key, tuple) else (key,), float(x)))
    return out


def extract_plan(model, inst: SNPInstance) -> SNPPlan:
    """Read the plan off a solved model of ``inst``."""
    f = inst.frames
    start = model.snp_index.start
    tables: dict[str, pd.DataFrame] = {}
    rows = _values(model.procure)
    tables["procurement"] = pd.DataFrame([(s, p, t, x) for (s, p, t), x in rows],
                                         columns=PLAN_COLUMNS["procurement"])
    pr = f["processes"].set_index("process")
    rows = _values(model.make)
    tables["production"] = pd.DataFrame(
        [(k, pr.at[k, "location"], pr.at[k, "product"], t, x) for (k, t), x in rows],
        columns=PLAN_COLUMNS["production"])
    ln = f["lanes"].set_index("lane")
    rows = _values(model.ship)
    tables["transport"] = pd.DataFrame(
        [(a, ln.at[a, "origin"], ln.at[a, "destination"], ln.at[a, "product"], t,
          t + int(ln.at[a, "lead_time"]), x) for (a, t), x in rows],
        columns=PLAN_COLUMNS["transport"])
    dm = f["demands"].set_index("demand")
    rows = _values(model.deliver)
    tables["delivery"] = pd.DataFrame(
        [(d, dm.at[d, "location"], dm.at[d, "product"], int(dm.at[d, "priority"]),
          int(dm.at[d, "bucket"]), t, float(start[t] - start[int(dm.at[d, "bucket"])]), x)
         for (d, t), x in rows], columns=PLAN_COLUMNS["delivery"])
    rows = _values(model.stock)
    tables["stock"] = pd.DataFrame([(loc, p, t, x) for (loc, p, t), x in rows],
                                   columns=PLAN_COLUMNS["stock"])
    rows = _values(model.short)
    tables["nondelivery"] = pd.DataFrame(
        [(d, dm.at[d, "location"], dm.at[d, "product"], int(dm.at[d, "priority"]), x)
         for (d,), x in rows], columns=PLAN_COLUMNS["nondelivery"])
    rows = _values(model.below)
    tables["safety"] = pd.DataFrame([(loc, p, t, x) for (loc, p, t), x in rows],
                                    columns=PLAN_COLUMNS["safety"])
    return SNPPlan(tables)


def decision_keys(plan: SNPPlan) -> dict[str, dict[tuple, float]]:
    """The plan's decisions as ``{variable name: {index: value}}`` of the model's variables."""
    out: dict[str, dict[tuple, float]] = {"procure": {}, "make": {}, "ship": {}, "deliver": {}}
    for s, p, t, x in plan["procurement"][["location", "product", "bucket", "quantity"]].itertuples(
            index=False):
        out["procure"][(s, p, int(t))] = out["procure"].get((s, p, int(t)), 0.0) + x
    for k, t, x in plan["production"][["process", "bucket", "quantity"]].itertuples(index=False):
        out["make"][(k, int(t))] = out["make"].get((k, int(t)), 0.0) + x
    for a, t, x in plan["transport"][["lane", "bucket", "quantity"]].itertuples(index=False):
        out["ship"][(a, int(t))] = out["ship"].get((a, int(t)), 0.0) + x
    for d, t, x in plan["delivery"][["demand", "bucket", "quantity"]].itertuples(index=False):
        out["deliver"][(d, int(t))] = out["deliver"].get((d, int(t)), 0.0) + x
    return out


def combine_plans(plans: list[SNPPlan]) -> SNPPlan:
    """The decisions of several subproblems' plans together (quantities of the same decision
    added). Stock, non-delivery and safety shortfall are left to :func:`check_plan`."""
    tables = {}
    for name in DECISIONS:
        frames = [p[name] for p in plans if len(p[name])]
        if not frames:
            tables[name] = pd.DataFrame(columns=PLAN_COLUMNS[name])
            continue
        cat = pd.concat(frames, ignore_index=True)
        keys = [c for c in PLAN_COLUMNS[name] if c != "quantity"]
        tables[name] = cat.groupby(keys, as_index=False, sort=True)["quantity"].sum()[
            list(PLAN_COLUMNS[name])]
    return SNPPlan(tables)


@dataclass
class PlanCheck:
    """The full model's verdict on a plan: the cost terms, the total, and every violated
    constraint or bound (empty when the plan is feasible)."""

    costs: dict[str, float]
    objective: float
    violations: list[dict]
    plan: SNPPlan

    @property
    def feasible(self) -> bool:
        return not self.violations


def check_plan(inst: SNPInstance, plan: SNPPlan, *, tol: float = 1e-6) -> PlanCheck:
    """Recompute every constraint of the monolithic model of ``inst`` on ``plan``'s decisions.

    Stock follows from the stock balance, non-delivery from the demand, the safety shortfall
    from the stock, lot switches from the quantities and lot counts from the lot sizes; then
    every constraint of every family and every variable bound and integrality is checked with a
    tolerance of ``tol`` (relative to the right-hand side when it is larger than 1). Returns a
    :class:`PlanCheck` whose ``plan`` holds the recomputed stock, non-delivery and safety
    tables as well.
    """
    import pyomo.environ as pyo

    m = build_snp_model(inst)
    values = decision_keys(plan)
    violations: list[dict] = []
    for name, vals in values.items():
        var = getattr(m, name)
        for v in var.values():
            v.set_value(0.0, skip_validation=True)
        for key, x in vals.items():
            if key not in var:
                violations.append({"family": f"{name} (no such decision)", "index": key,
                                   "value": x, "bound": 0.0})
                continue
            var[key].set_value(x, skip_validation=True)
    # stock from the balance, bucket by bucket
    ix = m.snp_index
    for loc, p in ix.points:
        level = m.initial_stock[(loc, p)]
        for t in range(ix.T):
            level += sum(c * pyo.value(v) for c, v in m.flows.get((loc, p, t), ()))
            level += m.flow_constant.get((loc, p, t), 0.0)
            m.stock[loc, p, t].set_value(level, skip_validation=True)
    delivered: dict[str, float] = {}
    for (d, _t), v in m.deliver.items():
        delivered[d] = delivered.get(d, 0.0) + v.value
    for d, q in zip(inst.frames["demands"]["demand"], inst.frames["demands"]["quantity"],
            strict=True):
        m.short[d].set_value(q - delivered.get(d, 0.0), skip_validation=True)
    for (loc, p, t), v in m.below.items():
        target = v.ub
        v.set_value(min(target, max(0.0, target - m.stock[loc, p, t].value)),
                    skip_validation=True)
    for kind in ("make", "ship"):
        x = getattr(m, kind)
        for key, v in getattr(m, f"{kind}_on").items():
            v.set_value(1.0 if x[key].value > ZERO else 0.0, skip_validation=True)
        frame = inst.frames["processes" if kind == "make" else "lanes"]
        size = dict(zip(frame["process" if kind == "make" else "lane"], frame["lot_size"],
                strict=True))
        for key, v in getattr(m, f"{kind}_lots").items():
            v.set_value(x[key].value / size[key[0]], skip_validation=True)
    # every variable's bounds and integrality
    for var in m.component_objects(pyo.Var, active=True):
        for key, v in var.items():
            x = v.value
            lb, ub = v.lb, v.ub
            scale = tol * max(1.0, abs(x))
            if lb is not None and x < lb - scale:
                violations.append({"family": f"{var.name} >= {lb:g}", "index": key, "value": x,
                                   "bound": lb})
            elif ub is not None and x > ub + scale:
                violations.append({"family": f"{var.name} <= {ub:g}", "index": key, "value": x,
                                   "bound": ub})
            if (v.is_integer() or v.is_binary()) and abs(x - round(x)) > 1e-5:
                violations.append({"family": f"{var.name} integral", "index": key, "value": x,
                                   "bound": round(x)})
    # every constraint of every family
    for family in FAMILIES:
        con = getattr(m, family)
        for key, c in con.items():
            body = pyo.value(c.body)
            lo = pyo.value(c.lower) if c.has_lb() else None
            hi = pyo.value(c.upper) if c.has_ub() else None
            if lo is not None and body < lo - tol * max(1.0, abs(lo)):
                violations.append({"family": family, "index": key, "value": body, "bound": lo})
            elif hi is not None and body > hi + tol * max(1.0, abs(hi)):
                violations.append({"family": family, "index": key, "value": body, "bound": hi})
    costs = {term: round(float(pyo.value(getattr(m, f"cost_{term}"))), 6)
             for term in COST_TERMS}
    full = extract_plan(m, inst)
    full.tables.update({k: v for k, v in plan.tables.items() if k in DECISIONS})
    return PlanCheck(costs=costs, objective=round(sum(costs.values()), 6),
                     violations=violations, plan=full)


def describe_violation(v: dict) -> str:
    key = v["index"]
    idx = ", ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
    return f"{v['family']}[{idx}]: {v['value']:.6g} against {v['bound']:.6g}"
