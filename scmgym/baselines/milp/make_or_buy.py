"""A make-or-buy MILP on deterministic surrogate times, and the plan's simulated revenue.

The plant dispatches the orders one at a time in list order; a bought order takes no time, a made
order occupies the plant from the previous made order's completion until its own. Replacing every
made order's random processing time by a deterministic surrogate ``t[k]``
(:mod:`scmgym.baselines.milp.surrogate`, the mean or a quantile) turns the plant into a small
MILP:

* ``make[k]`` binary: order k is made (decision 0 in the simulator's convention, 1 = buy);
* ``completion[k] = completion[k-1] + t[k] * make[k]`` (``completion[-1] = 0``): for a made order
  the sum of the surrogate times of the made orders up to and including it, exactly what the
  simulator measures as its completion (days from 2024-06-19); for a bought order the time at
  which it is dispatched;
* ``on_time[k]`` binary, ``on_time[k] <= make[k]`` and
  ``completion[k] <= deadline[k] + M[k] * (1 - on_time[k])``: a made order whose surrogate
  completion exceeds its deadline day has ``on_time = 0``; otherwise it may be 1, and the
  maximisation makes it 1 (an order completed exactly on its deadline day is on time, as in the
  simulator);
* ``late[k] = make[k] - on_time[k]``;
* maximise ``70 n + 30 * sum(on_time) - 20 * sum(late)``: the simulator's revenue identity
  ``100 on_time + 50 late - 30 bought`` with bought orders counted on time (spec §6), for any n.

**Big-M.** ``M[k] = max(0, T[k] - deadline[k])`` with ``T[k] = t[0] + ... + t[k]``, the completion
of order k if every order up to it were made, which is an upper bound on ``completion[k]`` (the
variable's bound). It is the smallest constant that never cuts off a solution with
``on_time[k] = 0``, so the LP relaxation is as tight as this formulation allows. When
``M[k] = 0`` (order k meets its deadline even if everything before it is made) the constraint is
not generated.

At an optimum no order is made late (buying it instead earns 20 more and delays nobody), so the
MILP picks the largest-value set of made orders that all meet their deadlines under the surrogate.
The model is a plan under a surrogate: its objective is the revenue the plan would earn if every
processing time equalled its surrogate; it is neither the plan's expected simulated revenue nor a
bound on it (:func:`solve_make_or_buy` reports both side by side). See docs/milp.md.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scmgym.baselines.milp.common import SolveInfo, SolverOptions, solve
from scmgym.baselines.milp.surrogate import check_quantile, surrogate_times
from scmgym.errors import DataError
from scmgym.simulators import make_or_buy as mob

__all__ = [
    "DEFAULT_OPTIONS",
    "LATE_PENALTY",
    "ON_TIME_BONUS",
    "MakeOrBuyMILPResult",
    "build_make_or_buy_model",
    "decisions_from_model",
    "solve_make_or_buy",
    "surrogate_outcome",
]

logger = logging.getLogger(__name__)

#: Revenue of a made on-time order above a bought one (100 - 70).
ON_TIME_BONUS = mob.REVENUE_ON_TIME - mob.REVENUE_BOUGHT
#: Revenue of a made late order below a bought one (70 - 50).
LATE_PENALTY = mob.REVENUE_BOUGHT - mob.REVENUE_LATE
#: Default solver options of :func:`solve_make_or_buy` (HiGHS, 300 s, relative gap 1e-4).
DEFAULT_OPTIONS = SolverOptions()


@dataclass(frozen=True)
class _ModelData:
    """What the model was built from (kept on the model as ``model.data``)."""

    instance: mob.MakeOrBuyInstance
    quantile: float | None
    times: tuple[float, ...]
    big_m: tuple[float, ...]


def _as_instance(instance: mob.MakeOrBuyInstance | str | Path) -> mob.MakeOrBuyInstance:
    """An instance, or a bundled name (``"list1"``..``"list3"``) / path loaded by
    :func:`scmgym.simulators.make_or_buy.load_instance`."""
    if isinstance(instance, mob.MakeOrBuyInstance):
        return instance
    if isinstance(instance, (str, Path)):
        return mob.load_instance(instance)
    raise DataError("not a make-or-buy instance", value=type(instance).__name__,
                    allowed="a MakeOrBuyInstance, a bundled name (list1, list2, list3) or a path")


def _check_times(times: Sequence[float], n: int) -> tuple[float, ...]:
    values = list(np.asarray(times, dtype=object).ravel()) if isinstance(times, np.ndarray) \
        else list(times)
    if len(values) != n:
        raise DataError("wrong number of processing times", column="times",
                        value=f"{len(values)} times", allowed=f"{n}, one per order")
    out = []
    for k, v in enumerate(values):
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = math.nan
        if isinstance(v, bool) or not math.isfinite(x) or x < 0:
            raise DataError("bad processing time", column=f"times[{k}] (order id {k + 1})",
                            value=v, allowed="a finite number of days >= 0")
        out.append(x)
    return tuple(out)


def build_make_or_buy_model(
    instance: mob.MakeOrBuyInstance | str | Path,
    quantile: float | None = None,
    times: Sequence[float] | None = None,
) -> Any:
    """Build the make-or-buy MILP (a ``pyomo.environ.ConcreteModel``, not solved).

    Args:
        instance: the orders, or a bundled name / path for
            :func:`scmgym.simulators.make_or_buy.load_instance`.
        quantile: which surrogate time to use: ``None`` the mean, or a supported quantile
            (0.5, 0.75, 0.9, 0.95) for a robust plan.
        times: one processing time (days) per order, overriding the surrogate (``quantile`` is
            then only recorded).

    Components: set ``K`` (order positions 0..n-1), params ``time``, ``deadline``, ``big_m``;
    binaries ``make``, ``on_time``; continuous ``completion``; expression ``late``; constraints
    ``completion_def``, ``on_time_only_if_made``, ``deadline_met``; objective ``revenue``
    (maximise). ``model.data`` keeps the instance, quantile, times and big-M values.

    Raises:
        DataError: an unsupported quantile, or ``times`` of the wrong length or with a negative
            or non-finite value.

    >>> inst = mob.make_instance([(1, 1, 0, 0, 10), (2, 1, 0, 0, 30), (3, 1, 0, 0, 25)])
    >>> m = build_make_or_buy_model(inst, times=[10, 10, 10])
    >>> [m.big_m[k] for k in m.K], len(m.deadline_met)
    ([0.0, 0.0, 5.0], 1)
    """
    import pyomo.environ as pyo

    inst = _as_instance(instance)
    key = check_quantile(quantile)
    t = surrogate_times(inst, key) if times is None else _check_times(times, inst.n)
    t = tuple(float(x) for x in t)
    deadlines = [o.deadline_days for o in inst.orders]
    cum = np.cumsum(t).tolist()
    big_m = tuple(max(0.0, cum[k] - deadlines[k]) for k in range(inst.n))

    m = pyo.ConcreteModel(name=f"make-or-buy {inst.name}")
    m.data = _ModelData(instance=inst, quantile=key, times=t, big_m=big_m)
    m.K = pyo.Set(initialize=range(inst.n), ordered=True)
    m.time = pyo.Param(m.K, initialize=dict(enumerate(t)), within=pyo.NonNegativeReals)
    m.deadline = pyo.Param(m.K, initialize=dict(enumerate(deadlines)))
    m.big_m = pyo.Param(m.K, initialize=dict(enumerate(big_m)), within=pyo.NonNegativeReals)

    m.make = pyo.Var(m.K, within=pyo.Binary)
    m.on_time = pyo.Var(m.K, within=pyo.Binary)
    m.completion = pyo.Var(m.K, within=pyo.NonNegativeReals, bounds=lambda m, k: (0.0, cum[k]))
    m.late = pyo.Expression(m.K, rule=lambda m, k: m.make[k] - m.on_time[k])

    def completion_rule(m, k):
        before = m.completion[k - 1] if k > 0 else 0.0
        return m.completion[k] == before + m.time[k] * m.make[k]

    def on_time_rule(m, k):
        return m.on_time[k] <= m.make[k]

    def deadline_rule(m, k):
        if m.big_m[k] == 0:
            return pyo.Constraint.Skip  # on time even if every order up to k is made
        return m.completion[k] <= m.deadline[k] + m.big_m[k] * (1 - m.on_time[k])

    m.completion_def = pyo.Constraint(m.K, rule=completion_rule)
    m.on_time_only_if_made = pyo.Constraint(m.K, rule=on_time_rule)
    m.deadline_met = pyo.Constraint(m.K, rule=deadline_rule)
    m.revenue = pyo.Objective(
        expr=mob.REVENUE_BOUGHT * inst.n
        + sum(ON_TIME_BONUS * m.on_time[k] - LATE_PENALTY * m.late[k] for k in m.K),
        sense=pyo.maximize)
    return m


def decisions_from_model(model: Any) -> tuple[int, ...]:
    """The decision vector of a solved model in the simulator's convention (1 = buy)."""
    import pyomo.environ as pyo

    return tuple(0 if (pyo.value(model.make[k]) or 0.0) > 0.5 else 1 for k in model.K)


def surrogate_outcome(
    instance: mob.MakeOrBuyInstance, decisions: Sequence[Any] | str, times: Sequence[float]
) -> tuple[int, int, int]:
    """Revenue, made on time and made late of a plan if every made order took exactly its
    ``times`` entry (the MILP's world): ``(70 n + 30 on_time - 20 late, on_time, late)``.

    >>> inst = mob.make_instance([(1, 1, 0, 0, 10), (2, 1, 0, 0, 15)])
    >>> surrogate_outcome(inst, [0, 0], [10, 10])
    (150, 1, 1)
    """
    x = mob.check_decisions(instance, decisions)
    t = _check_times(times, instance.n)
    now, on_time, late = 0.0, 0, 0
    for k, order in enumerate(instance.orders):
        if x[k] == 1:
            continue
        now += t[k]
        if now <= order.deadline_days:
            on_time += 1
        else:
            late += 1
    revenue = mob.REVENUE_BOUGHT * instance.n + ON_TIME_BONUS * on_time - LATE_PENALTY * late
    return revenue, on_time, late


@dataclass(frozen=True)
class MakeOrBuyMILPResult:
    """A make-or-buy MILP plan, its surrogate objective and its simulated revenue.

    Attributes:
        instance: the instance name; n_orders: its number of orders.
        status, termination, objective, bound, solve_seconds, solver: from
            :class:`~scmgym.baselines.milp.common.SolveInfo`. ``objective`` is the plan's
            revenue *under the surrogate times*, ``bound`` the solver's bound on that surrogate
            optimum. Neither bounds the stochastic revenue.
        decisions: the plan, one 0 (make) / 1 (buy) per order (None without a solution).
        quantile: the surrogate used (None = mean).
        made: number of made orders.
        surrogate_on_time, surrogate_late: made orders on time / late under the surrogate.
        simulated_mean_revenue, simulated_sd_revenue: mean and sample sd of the simulated
            revenue of ``decisions`` over ``eval_seeds`` runs (seeds ``seed .. seed +
            eval_seeds - 1``); None when not simulated. The sd is of single runs, not of the
            mean (standard error = sd / sqrt(eval_seeds)).
        eval_seeds, seed: the simulated evaluation.
    """

    instance: str
    n_orders: int
    status: str
    termination: str
    objective: float | None
    bound: float | None
    solve_seconds: float
    solver: str
    decisions: tuple[int, ...] | None
    quantile: float | None
    made: int | None
    surrogate_on_time: int | None
    surrogate_late: int | None
    simulated_mean_revenue: float | None
    simulated_sd_revenue: float | None
    eval_seeds: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (decisions as a list)."""
        data = asdict(self)
        data["decisions"] = None if self.decisions is None else list(self.decisions)
        return data


def solve_make_or_buy(
    instance: mob.MakeOrBuyInstance | str | Path,
    quantile: float | None = None,
    options: SolverOptions = DEFAULT_OPTIONS,
    eval_seeds: int = 100,
    seed: int = 0,
) -> MakeOrBuyMILPResult:
    """Build and solve the MILP, then simulate the plan.

    Args:
        instance: the orders, or a bundled name (``"list1"``..``"list3"``) / path.
        quantile: ``None`` (mean surrogate) or a supported quantile, e.g. 0.9 for a robust plan.
        options: solver, time limit, gap, threads.
        eval_seeds: simulated runs of the plan (0: no simulation).
        seed: first simulation seed; the runs use ``seed .. seed + eval_seeds - 1``.

    Raises:
        DataError: unsupported quantile, bad instance, or a negative ``eval_seeds``.
        ScmgymError: the solver is unknown or unavailable.

    Example (list1, mean surrogate)::

        r = solve_make_or_buy("list1", options=SolverOptions(time_limit=30))
        r.objective, r.simulated_mean_revenue, r.made
    """
    if isinstance(eval_seeds, bool) or not isinstance(eval_seeds, (int, np.integer)) \
            or eval_seeds < 0:
        raise DataError("eval_seeds must be a non-negative integer", column="eval_seeds",
                        value=eval_seeds, allowed="an integer >= 0")
    inst = _as_instance(instance)
    model = build_make_or_buy_model(inst, quantile=quantile)
    key = model.data.quantile
    info: SolveInfo = solve(model, options)
    decisions = made = on_time = late = mean = sd = None
    if info.objective is not None:
        decisions = decisions_from_model(model)
        made = decisions.count(0)
        _, on_time, late = surrogate_outcome(inst, decisions, model.data.times)
        if eval_seeds > 0:
            revenues = np.array([mob.simulate(inst, decisions, seed=s).revenue
                                 for s in range(int(seed), int(seed) + int(eval_seeds))],
                                dtype=float)
            mean = round(float(revenues.mean()), 3)
            sd = round(float(revenues.std(ddof=1)), 3) if eval_seeds > 1 else 0.0
    logger.info("make-or-buy MILP %s (quantile %s): %s, objective %s, simulated mean %s",
                inst.name, key, info.status, info.objective, mean)
    return MakeOrBuyMILPResult(
        instance=inst.name, n_orders=inst.n, status=info.status, termination=info.termination,
        objective=info.objective, bound=info.bound, solve_seconds=info.solve_seconds,
        solver=info.solver, decisions=decisions, quantile=key, made=made,
        surrogate_on_time=on_time, surrogate_late=late, simulated_mean_revenue=mean,
        simulated_sd_revenue=sd, eval_seeds=int(eval_seeds), seed=int(seed))
