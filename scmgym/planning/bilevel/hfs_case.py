"""Instance B: how many workers does the Adige hybrid flow shop need, and when?

**Periods** ("weeks"). The orders of an HFS dataset are sorted by due date (stable: ties keep
the file's order) and cut into ``weeks`` groups of equal count (``numpy.array_split``: the first
groups get one order more when the count does not divide); week ``w`` is the ``w``-th group, so
a week is a due-date batch of orders, not seven calendar days (on d1 the 100 due dates span days
22-67, and one batch of 25 orders keeps the plant busy for 80-300 days depending on the crew).
Orders with the same due date can fall into two neighbouring weeks.

**Leader** (planning): integer crew sizes per week, ``M[w]``, ``E[w]``, ``R[w]`` (mechanical,
electrical, final-test workers; :class:`~scmgym.simulators.hfs.Workers`). Bounds (assumed, from
the plant data): ``M`` 1-3, ``E`` 1-12, ``R`` 1-3. A production day needs at most 1 M, 2 E and
1 R worker per order; on the bundled data the E pool is the bottleneck (about 20 of an order's
21-33 production days need E, 4-5 need M, 4-5 need R), and past about E = 10-12, M = 3, R = 3
the 20 stations and the one truck a day bind, so more workers no longer shorten a week (E = 1
makes every week holding a ``_p`` type impossible: those need 2 E workers on some days). The
leader's cost is staffing: per worker and week, 20 (M), 20 (E), 22 (R), in thousands of euros
(**assumed figures**; R, the final-test technicians, assumed dearer). There is no holding cost:
the simulator never delivers before the due date (delivery is ``max(pickup + 2, due)``), and
the leader has no constraints ``g(x)``.

**Follower** (scheduling), one per week: the plant simulated with the week's orders alone (a
sub-instance, dates kept as in the dataset, order ids renumbered 0..k-1 within the week) and the
week's crew, scheduled by a dispatching rule:

* ``edd`` (default): earliest due date first (:func:`~scmgym.simulators.hfs.edd_order`);
* ``search``: a short seeded random search over priority orders: EDD and
  ``search_evaluations - 1`` (default 19) perturbations of it (sort by due date plus a uniform
  jitter of up to 10 days), keeping the least total lateness (then the shortest makespan, then
  the first found). The random stream is seeded by ``(seed, week, M, E, R)``, so the answer is a
  function of the targets (the cache's requirement) and the same seed gives the same result.

* ``tree``: a learned tree policy (``policy.json`` of ``scmgym train eldt|gp --env hfs``)
  assigns the priorities: one episode of the HFS env on the week's orders with the week's crew,
  the orders in file order and ties broken deterministically.

The follower's cost is the due-date penalty: 0.5 (thousand
euros) per order-day late (**assumed**), on the total lateness ``sum(delivery - due)``; its
metrics are ``makespan`` (the day the week's last order is delivered, on the dataset's
calendar), ``lateness`` (total order-days late; the simulator never delivers early, so lateness
and tardiness coincide) and ``late_orders``. A dispatching rule proves nothing about optimality,
so every schedule is ``status="feasible"`` (never ``optimal``; a DOMINO result on this instance
is therefore feasible, never *guaranteed* feasible). A crew that can never finish the week (a
machine type present needs more workers of a kind on some production day than the crew holds:
:func:`~scmgym.simulators.hfs.check_feasible`, a proof) is ``infeasible`` with cost None. With a
``horizon`` (days) a week whose schedule does not deliver every order by that day is
``no_solution`` (the rule found none; other priority orders were not all tried, so it is not a
proof); without one the simulator's own day cap applies, which no feasible run reaches.

Independence of the weeks is the decomposition's assumption: each week's batch is simulated on
an otherwise empty plant (no stations, workers or trucks shared with other weeks' batches).

**The bundled due dates cannot all be met.** On d1-d3 about a third of the orders are late even
alone in the plant with every worker they need (d4: all, d5: 240 of 345), so no crew has zero
lateness; :func:`constant_crew_baseline` then reports no crew meeting the due dates, and the
cheapest constant crew by total cost is the reference. ``due_slack`` (days added to every due
date; 0 by default) gives a variant whose due dates can be met.

The simulation uses the compiled engine (``engine="fast"``, the same results as the SimPy
model, falling back to it without numba): a week of 25 d1 orders takes about half a
millisecond.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scmgym.errors import InfeasibleError, ScmgymError, SimulationLimitError
from scmgym.planning.bilevel.core import (
    BilevelProblem,
    Follower,
    FollowerCache,
    FollowerResult,
    Leader,
    evaluate,
)
from scmgym.simulators import hfs

#: the crew kinds, in the order of the leader's variables of one week
PRODUCTS = ("M", "E", "R")
#: staffing cost per worker and week, thousands of euros (assumed)
STAFF_COST = {"M": 20.0, "E": 20.0, "R": 22.0}
#: due-date penalty per order and day late, thousands of euros (assumed)
TARDINESS_COST = 0.5
#: crew bounds per week (see the module docstring)
LOWER = {"M": 1, "E": 1, "R": 1}
UPPER = {"M": 3, "E": 12, "R": 3}
#: the follower's dispatching rules
RULES = ("edd", "search", "tree")
#: priority orders the ``search`` rule simulates (EDD included)
SEARCH_EVALUATIONS = 20
#: the largest due-date jitter (days) of the ``search`` rule's perturbations
SEARCH_JITTER = 10.0


@dataclass(frozen=True)
class HFSCase:
    """The planning data: crew bounds, cost figures (thousands of euros), the ``search`` rule's
    size, ``due_slack`` (days added to every due date) and ``horizon`` (the day by which each
    week must deliver; None: no limit)."""

    staff_cost: dict[str, float] = field(default_factory=lambda: dict(STAFF_COST))
    tardiness_cost: float = TARDINESS_COST
    lower: dict[str, int] = field(default_factory=lambda: dict(LOWER))
    upper: dict[str, int] = field(default_factory=lambda: dict(UPPER))
    search_evaluations: int = SEARCH_EVALUATIONS
    search_jitter: float = SEARCH_JITTER
    due_slack: int = 0
    horizon: int | None = None

    def __post_init__(self) -> None:
        for k in PRODUCTS:
            lo, hi = self.lower.get(k), self.upper.get(k)
            if lo is None or hi is None or not 0 <= lo <= hi:
                raise ScmgymError(f"crew bounds of {k}: need 0 <= lower <= upper; got "
                                  f"{lo}..{hi}")
            if self.staff_cost.get(k) is None or self.staff_cost[k] < 0:
                raise ScmgymError(f"staff_cost of {k}: need a number >= 0")
        if self.tardiness_cost < 0:
            raise ScmgymError(f"tardiness_cost={self.tardiness_cost}: must be >= 0")
        if self.search_evaluations < 1:
            raise ScmgymError(f"search_evaluations={self.search_evaluations}: must be >= 1")
        if self.due_slack < 0:
            raise ScmgymError(f"due_slack={self.due_slack}: must be >= 0")
        if self.horizon is not None and self.horizon < 1:
            raise ScmgymError(f"horizon={self.horizon}: must be >= 1 day or None")


def split_weeks(instance: hfs.HFSInstance, weeks: int) -> list[tuple[int, ...]]:
    """The order ids of each week: sorted by due date (stable), cut into equal counts."""
    if not 1 <= weeks <= instance.n:
        raise ScmgymError(f"weeks={weeks}: need 1 <= weeks <= {instance.n} (the orders of "
                          f"{instance.name})")
    by_due = np.argsort(instance.column("date_delivery"), kind="stable")
    return [tuple(int(i) for i in group) for group in np.array_split(by_due, weeks)]


def week_instance(instance: hfs.HFSInstance, ids: Sequence[int], name: str,
                  due_slack: int = 0) -> hfs.HFSInstance:
    """The sub-instance of the orders ``ids`` (renumbered 0..k-1 in that order; dates kept,
    due dates plus ``due_slack``)."""
    rows = []
    for k, i in enumerate(ids):
        o = instance.orders[i]
        rows.append((k, o.machine_type, o.basement_day, o.panel_day,
                     min(o.due_day + due_slack, hfs.MAX_DATE_DAY)))
    return hfs.make_instance(rows, name)


class HFSLeader(Leader):
    """Crew sizes per week: variables ``M[w]``, ``E[w]``, ``R[w]`` for w = 1..W."""

    integer = True

    def __init__(self, case: HFSCase, weeks: Sequence[hfs.HFSInstance]) -> None:
        self.case = case
        self.weeks = list(weeks)
        W = len(self.weeks)
        self.names = tuple(f"{k}[{w}]" for w in range(1, W + 1) for k in PRODUCTS)
        self.lower = np.array([case.lower[k] for _ in range(W) for k in PRODUCTS], dtype=float)
        self.upper = np.array([case.upper[k] for _ in range(W) for k in PRODUCTS], dtype=float)
        self._price = np.array([case.staff_cost[k] for _ in range(W) for k in PRODUCTS])

    def crews(self, x) -> np.ndarray:
        """The crews as a (weeks x 3) integer array."""
        return np.rint(np.asarray(x, dtype=float)).astype(int).reshape(len(self.weeks), 3)

    def targets(self, x) -> list[dict[str, float]]:
        return [{k: int(v) for k, v in zip(PRODUCTS, row, strict=True)} for row in self.crews(x)]

    def cost(self, x) -> float:
        return float(self._price @ self.crews(x).reshape(-1))

    def plan(self, x) -> dict[str, Any]:
        crews = self.crews(x)
        rows = []
        for w, (inst, row) in enumerate(zip(self.weeks, crews, strict=True), start=1):
            due = inst.column("date_delivery")
            rows.append({"week": w, "orders": inst.n,
                         "due_days": [int(due.min()), int(due.max())],
                         "crew": {k: int(v) for k, v in zip(PRODUCTS, row, strict=True)},
                         "workers": int(row.sum()),
                         "staffing_cost": float(sum(self.case.staff_cost[k] * int(v)
                                                    for k, v in zip(PRODUCTS, row, strict=True)))})
        return {"weeks": rows, "staffing_cost": self.cost(x), "unit": "thousand euros"}


class HFSFollower(Follower):
    """One week's plant under a dispatching rule (see the module docstring)."""

    products = PRODUCTS

    def __init__(self, instance: hfs.HFSInstance, ids: Sequence[int], name: str, rule: str,
                 week: int, seed: int = 0, case: HFSCase | None = None,
                 policy: Any = None) -> None:
        if rule not in RULES:
            raise ScmgymError(f"rule {rule!r}; allowed: {', '.join(RULES)}")
        if rule == "tree" and policy is None:
            raise ScmgymError("rule 'tree' needs a policy (a policy.json from scmgym train "
                              "eldt|gp --env hfs)")
        self.policy = policy
        self.instance = instance
        self.ids = tuple(int(i) for i in ids)
        self.name = name
        self.rule = rule
        self.week = int(week)
        self.seed = int(seed)
        self.case = case or HFSCase()
        self._edd = hfs.edd_order(instance)

    def _tree_order(self, crew: tuple[int, int, int]) -> tuple[int, ...]:
        """The priority order the tree policy gives the week's orders: one episode of the HFS
        env on the week's sub-instance with this crew, orders in file order and ties broken
        deterministically (so the answer is a function of the crew)."""
        from scmgym.envs.hfs import HybridFlowShopEnv
        from scmgym.policies.base import run_episode

        env = HybridFlowShopEnv(dataset=self.instance, workers=crew, shuffle=False,
                                level_mode="deterministic", engine="fast")
        _, info = run_episode(self.policy, env, seed=self.seed)
        return tuple(int(i) for i in info["order"])

    def _run(self, order: Sequence[int], crew: tuple[int, int, int]) -> hfs.HFSResult:
        return hfs.simulate(self.instance, order, workers=crew, max_days=self.case.horizon,
                            record_work=False, engine="fast")

    @staticmethod
    def _score(result: hfs.HFSResult) -> tuple[int, int]:
        return (sum(r.delivery_day - r.due_day for r in result.records), result.makespan)

    def _search(self, crew: tuple[int, int, int]) -> hfs.HFSResult:
        rng = np.random.default_rng([self.seed, self.week, *crew])
        due = self.instance.column("date_delivery").astype(float)
        best, best_score, limit = None, None, None
        for k in range(self.case.search_evaluations):
            order = self._edd
            if k:
                key = due + rng.uniform(0.0, self.case.search_jitter, size=due.size)
                order = tuple(int(i) for i in np.argsort(key, kind="stable"))
            try:
                result = self._run(order, crew)
            except SimulationLimitError as err:  # past the horizon: try the next order
                limit = err
                continue
            score = self._score(result)
            if best_score is None or score < best_score:
                best, best_score = result, score
        if best is None:
            raise limit if limit is not None else SimulationLimitError("no schedule")
        return best

    def solve(self, targets: dict[str, float]) -> FollowerResult:
        start = time.perf_counter()
        crew = tuple(int(round(float(targets.get(k, 0)))) for k in PRODUCTS)
        solver = f"hfs-{self.rule}"
        try:
            hfs.check_feasible(self.instance, crew)
            if self.rule == "search":
                result = self._search(crew)
            elif self.rule == "tree":
                result = self._run(self._tree_order(crew), crew)
            else:
                result = self._run(self._edd, crew)
        except InfeasibleError as err:
            return FollowerResult("infeasible", None, {"reason": str(err)},
                                  round(time.perf_counter() - start, 4), solver)
        except SimulationLimitError as err:
            return FollowerResult("no_solution", None,
                                  {"reason": f"not every order delivered by day "
                                             f"{self.case.horizon} under rule {self.rule}: {err}"},
                                  round(time.perf_counter() - start, 4), solver)
        lateness = [r.delivery_day - r.due_day for r in result.records]
        total = int(sum(lateness))
        schedule = {
            "order": [self.ids[i] for i in result.order],
            "orders": [{"order_id": self.ids[r.order_id], "due_day": r.due_day,
                        "delivery_day": r.delivery_day, "lateness": late}
                       for r, late in zip(result.records, lateness, strict=True)],
        }
        metrics = {"makespan": float(result.makespan), "lateness": float(total),
                   "late_orders": float(sum(1 for v in lateness if v > 0))}
        return FollowerResult("feasible", self.case.tardiness_cost * total, schedule,
                              round(time.perf_counter() - start, 4), solver, metrics)


def hfs_problem(dataset: str | Path | hfs.HFSInstance = "d1", weeks: int = 4, rule: str = "edd",
                seed: int = 0, *, case: HFSCase | None = None,
                policy: str | Path | None = None) -> BilevelProblem:
    """Instance B as a :class:`BilevelProblem`: ``dataset`` (a bundled name, a file, or an
    instance) cut into ``weeks`` due-date batches, each scheduled by ``rule`` (``edd`` or
    ``search``; ``seed`` seeds the search)."""
    if rule not in RULES:
        raise ScmgymError(f"rule {rule!r}; allowed: {', '.join(RULES)}")
    case = case or HFSCase()
    tree = None
    if rule == "tree":
        if policy is None:
            raise ScmgymError("rule 'tree' needs --policy, a policy.json from scmgym train "
                              "eldt|gp --env hfs")
        from scmgym.policies.base import TreePolicy, load_policy

        if not Path(policy).is_file():
            raise ScmgymError(f"--policy {policy}: no such file (a policy.json written by "
                              "scmgym train eldt|gp --env hfs)")
        tree = load_policy(policy)
        if not isinstance(tree, TreePolicy):
            raise ScmgymError(f"{policy}: rule 'tree' needs a tree policy, not "
                              f"{type(tree).__name__}")
    instance = dataset if isinstance(dataset, hfs.HFSInstance) else hfs.load_instance(dataset)
    tag = f"-{rule}" + (f"-s{seed}" if rule == "search" else "")
    if tree is not None:  # the tree's text names it: another tree, other cache keys
        import hashlib

        tag += "-" + hashlib.sha256(tree.to_text().encode()).hexdigest()[:10]
    if case.due_slack:
        tag += f"-slack{case.due_slack}"
    if case.horizon is not None:
        tag += f"-h{case.horizon}"
    if case.tardiness_cost != TARDINESS_COST:
        tag += f"-pen{case.tardiness_cost:g}"
    if rule == "search" and (case.search_evaluations, case.search_jitter) != (
            SEARCH_EVALUATIONS, SEARCH_JITTER):
        tag += f"-n{case.search_evaluations}j{case.search_jitter:g}"
    subs, followers = [], []
    for w, ids in enumerate(split_weeks(instance, weeks), start=1):
        name = f"hfs-{instance.name}-w{w}of{weeks}{tag}"
        sub = week_instance(instance, ids, name, case.due_slack)
        subs.append(sub)
        followers.append(HFSFollower(sub, ids, name, rule, w, seed, case, tree))
    return BilevelProblem(f"hfs-{instance.name}-{weeks}w-{rule}", HFSLeader(case, subs),
                          followers)


# -- reference ----------------------------------------------------------------------------------

def constant_crew_baseline(problem: BilevelProblem, cache: FollowerCache | None = None) -> dict:
    """Every constant crew (the same M, E, R every week) within the bounds, evaluated: the
    cheapest (by total cost) whose total lateness is zero, ``meets_due_dates`` (None when no
    crew meets every due date), the cheapest overall, ``cheapest``, and the least late,
    ``least_late`` (then cheapest), each with its totals and per-week metrics."""
    leader = problem.leader
    if not isinstance(leader, HFSLeader):
        raise ScmgymError(f"{problem.name}: constant_crew_baseline needs an HFS problem")
    W = len(leader.weeks)
    case = leader.case
    cache = cache if cache is not None else FollowerCache()
    rows = []
    ranges = [range(case.lower[k], case.upper[k] + 1) for k in PRODUCTS]
    for crew in itertools.product(*ranges):
        ev = evaluate(problem, list(crew) * W, cache)
        per_week = [{"week": w, "status": f.status, "cost": f.cost, **f.metrics}
                    for w, f in enumerate(ev.followers, start=1)]
        lateness = (sum(f.metrics["lateness"] for f in ev.followers) if ev.feasible
                    else None)
        rows.append({"crew": dict(zip(PRODUCTS, crew, strict=True)), "x": ev.x,
                     "feasible": ev.feasible, "total": ev.total, "leader_cost": ev.leader_cost,
                     "follower_cost": ev.follower_cost if ev.feasible else None,
                     "lateness": lateness, "weeks": per_week})
    feasible = [r for r in rows if r["feasible"]]
    on_time = [r for r in feasible if r["lateness"] == 0]

    def cheapest(candidates):
        return min(candidates, key=lambda r: r["total"]) if candidates else None

    least_late = (min(feasible, key=lambda r: (r["lateness"], r["total"])) if feasible
                  else None)
    return {"meets_due_dates": cheapest(on_time), "cheapest": cheapest(feasible),
            "least_late": least_late, "crews_evaluated": len(rows),
            "feasible_crews": len(feasible), "on_time_crews": len(on_time),
            "unit": "thousand euros"}
