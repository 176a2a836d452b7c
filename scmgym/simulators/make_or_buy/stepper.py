"""A run of the plant driven one decision at a time, and :func:`simulate` (all decisions at once).

The run builds its :class:`~scmgym.simulators.make_or_buy.model.Plant` with the actors of its
mode and pauses the SimPy environment whenever the dispatcher needs a decision it does not have
yet; the Gymnasium env supplies them one by one.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import simpy

from scmgym.errors import DataError
from scmgym.simulators.make_or_buy.data import (
    MakeOrBuyInstance,
    MakeOrBuyOrder,
    check_decisions,
    decision_value,
)
from scmgym.simulators.make_or_buy.model import Plant
from scmgym.simulators.make_or_buy.result import MakeOrBuyResult, OrderRecord
from scmgym.simulators.make_or_buy.shortcuts import ModeName, resolve_mode
from scmgym.simulators.make_or_buy.spec import REVENUE_BOUGHT, REVENUE_LATE, REVENUE_ON_TIME

logger = logging.getLogger(__name__)

EmptyOrders = Literal["next_tick", "reject"]
Engine = Literal["simpy", "fast"]
ENGINES: tuple[Engine, ...] = ("simpy", "fast")
_fast_warned = False


class MakeOrBuySimulation:
    """One run of the plant that can be driven one decision at a time.

    :func:`simulate` builds one with every decision given up front; the Gymnasium env feeds
    decisions one by one and reads :attr:`now` (the plant time at which the next order is
    dispatched) in between. Both follow the same events and draws, so the same seed gives the
    same result either way.

    Args:
        instance: the orders.
        seed: seed or ``numpy.random.Generator`` of the run (the only source of randomness).
        decisions: decisions given up front (validated); more can follow via :meth:`decide`.
        truck_speed_latch, empty_orders, mode, literal: see :func:`simulate`.

    Attributes:
        mode: the name of the run's mode.
        plant: the :class:`~scmgym.simulators.make_or_buy.model.Plant` being simulated.
    """

    def __init__(
        self,
        instance: MakeOrBuyInstance,
        *,
        seed: int | np.random.Generator | None = 0,
        decisions: Sequence[Any] | np.ndarray | str | None = None,
        truck_speed_latch: bool = True,
        empty_orders: EmptyOrders = "next_tick",
        mode: ModeName | None = None,
        literal: bool | None = None,
    ) -> None:
        if empty_orders not in ("next_tick", "reject"):
            raise ValueError(f"empty_orders={empty_orders!r}; allowed: 'next_tick', 'reject'")
        actors = resolve_mode(mode, literal)
        self._check_mode(actors.name)
        self.instance = instance
        self.truck_speed_latch = bool(truck_speed_latch)
        self.empty_orders = empty_orders
        self.mode = actors.name
        self._actors = actors
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.plant = self._new_plant(rng)
        if decisions is not None:
            self.plant.decisions.extend(self._checked_prefix(decisions))
        self._run_until_decision()

    # -- what an engine provides ---------------------------------------------------------

    def _check_mode(self, mode: str) -> None:
        """Raise if this engine cannot run ``mode`` (the SimPy engine runs every mode)."""

    def _new_plant(self, rng: np.random.Generator) -> Plant:
        actors = self._actors
        return Plant(self.instance, rng, truck_speed_latch=self.truck_speed_latch,
                     lines=actors.lines, truck=actors.truck, assembly=actors.assembly)

    def _run_until_decision(self) -> None:
        """Run the plant until it needs a decision it does not have (or the run is over)."""
        self.plant.start()
        self.env.run(until=self.plant.paused)

    # -- state ---------------------------------------------------------------------------

    @property
    def env(self) -> simpy.Environment:
        """The SimPy environment of the run."""
        return self.plant.env

    @property
    def now(self) -> float:
        """Plant time (days): when the next order is dispatched, or the end time when done."""
        return float(self.plant.env.now)

    @property
    def done(self) -> bool:
        """True once every order has been dispatched and completed."""
        return self.plant.finished

    @property
    def next_order(self) -> MakeOrBuyOrder | None:
        """The order awaiting a decision (None when done)."""
        k = len(self.plant.decisions)
        return None if self.done or k >= self.instance.n else self.instance.orders[k]

    @property
    def truck_speed(self) -> float:
        """The truck speed in metres per day for the whole run."""
        return self.plant.truck_speed

    @property
    def on_time(self) -> int:
        """Orders counted on time so far, bought ones included."""
        return self.plant.on_time

    @property
    def late(self) -> int:
        """Made orders completed late so far."""
        return self.plant.late

    @property
    def bought(self) -> int:
        """Bought orders so far."""
        return self.plant.bought

    @property
    def line_recurrence(self) -> bool:
        """The mode computes the lines by their recurrence."""
        return self._actors.line_recurrence

    @property
    def skip_idle_loops(self) -> bool:
        """The mode skips the truck's idle loops in closed form."""
        return self._actors.skip_idle_loops

    @property
    def sample_ticks(self) -> bool:
        """The mode draws only the assembly ticks that can take something."""
        return self._actors.sample_ticks

    # -- driving -------------------------------------------------------------------------

    def _checked_prefix(self, decisions: Sequence[Any] | np.ndarray | str) -> tuple[int, ...]:
        full = check_decisions(self.instance, decisions)
        for k, x in enumerate(full):
            self._check_empty(k, x)
        return full

    def _check_empty(self, k: int, decision: int) -> None:
        order = self.instance.orders[k]
        if decision == 0 and order.is_empty and self.empty_orders == "reject":
            raise DataError("an order with a = b = c = 0 cannot be made (empty_orders='reject')",
                            source=self.instance.source, row=k + 2, column="a, b, c",
                            value=(0, 0, 0), allowed="buy it (decision 1), or "
                            "empty_orders='next_tick' (complete at the next assembly tick)")

    def decide(self, decision: int) -> None:
        """Dispatch the next order with ``decision`` (0 make, 1 buy) and run until the plant
        needs the following decision (or the run ends).

        Raises:
            DataError: the decision is not 0/1, or an empty order is made under
                ``empty_orders='reject'``.
            RuntimeError: every order has already been decided.
        """
        plant = self.plant
        k = len(plant.decisions)
        if self.done or k >= self.instance.n:
            raise RuntimeError("all orders have been decided; the run is over")
        value = decision_value(decision)
        if value is None:
            raise DataError("not a decision", source=f"decision for order id {k + 1}",
                            value=decision, allowed="0 (make) or 1 (buy)")
        self._check_empty(k, value)
        plant.decisions.append(value)
        self._resume()

    def _resume(self) -> None:
        """Run on after new decisions, until the plant needs another one (or the run ends)."""
        plant = self.plant
        if plant.resume is not None:
            resume, plant.resume = plant.resume, None
            plant.paused = plant.env.event()
            resume.succeed()
            plant.env.run(until=plant.paused)

    def _checked_rest(self, k: int, decisions: Sequence[Any] | np.ndarray) -> list[int]:
        """The decisions of orders ``k..`` (all of them), checked as :meth:`decide` checks."""
        n = self.instance.n
        if self.done or k >= n:
            raise RuntimeError("all orders have been decided; the run is over")
        values = list(decisions)
        if len(values) != n - k:
            raise DataError(f"{len(values)} decisions for the {n - k} orders left",
                            source=f"decisions for order ids {k + 1}..{n}",
                            value=len(values), allowed=f"{n - k} decisions")
        out = []
        for i, raw in enumerate(values):
            value = decision_value(raw)
            if value is None:
                raise DataError("not a decision", source=f"decision for order id {k + i + 1}",
                                value=raw, allowed="0 (make) or 1 (buy)")
            self._check_empty(k + i, value)
            out.append(value)
        return out

    def decide_many(self, decisions: Sequence[Any] | np.ndarray) -> None:
        """Decide every order left at once (as many :meth:`decide` calls, the same run); the
        run is then finished. The decisions are checked before any is dispatched."""
        self.plant.decisions.extend(self._checked_rest(len(self.plant.decisions), decisions))
        self._resume()

    @property
    def revenue(self) -> int:
        """``100 * on_time + 50 * late - 30 * bought`` of the orders done so far."""
        return (REVENUE_ON_TIME * self.on_time + REVENUE_LATE * self.late
                - (REVENUE_ON_TIME - REVENUE_BOUGHT) * self.bought)

    def result(self) -> MakeOrBuyResult:
        """The result of the finished run.

        Raises:
            RuntimeError: the run is not finished (some order still lacks a decision).
        """
        plant = self.plant
        if not self.done:
            raise RuntimeError(f"the run is not finished: {len(plant.decisions)} of "
                               f"{self.instance.n} orders decided")
        records = []
        for k, o in enumerate(self.instance.orders):
            done = plant.completion[k]
            x = plant.decisions[k]
            records.append(OrderRecord(
                order_id=o.order_id, decision=x, start=plant.start_time[k], completion=done,
                last_delivery=plant.last_delivery[k],
                deadline_days=o.deadline_days, on_time=plant.order_on_time[k],
                lateness=0.0 if x == 1 else max(0.0, done - o.deadline_days),
            ))
        return MakeOrBuyResult(revenue=self.revenue, on_time=self.on_time, late=self.late,
                               bought=self.bought, end_time=self.now,
                               truck_speed=self.truck_speed, records=tuple(records))


def resolve_engine(engine: str | None, mode: str | None = None,
                   literal: bool | None = None) -> Engine:
    """The engine of a run: ``engine`` checked against the mode, or (None) ``"fast"`` for mode
    ``"fast"`` and ``"simpy"`` for the other modes.

    ``"fast"`` falls back to ``"simpy"`` (one warning per process) if numba cannot be imported:
    the same runs, only slower.

    Raises:
        ValueError: an unknown engine, or ``engine="fast"`` with a mode other than ``"fast"``.
    """
    global _fast_warned
    name = resolve_mode(mode, literal).name
    if engine is None:
        engine = "fast" if name == "fast" else "simpy"
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"engine={engine!r}; allowed: {', '.join(map(repr, ENGINES))}")
    if engine == "fast" and name != "fast":
        raise ValueError(f"engine='fast' implements mode 'fast' only (got mode={name!r}); "
                         "use engine='simpy' for the other modes")
    if engine == "fast":
        try:
            import scmgym.simulators.make_or_buy.fast  # noqa: F401
        except ImportError as exc:
            if not _fast_warned:
                _fast_warned = True
                warnings.warn(f"engine='fast' needs numba ({exc}); using engine='simpy'",
                              RuntimeWarning, stacklevel=3)
            return "simpy"
    return engine


def open_simulation(instance: MakeOrBuyInstance, *, engine: str | None = None,
                    **kwargs: Any) -> MakeOrBuySimulation:
    """A :class:`MakeOrBuySimulation` on ``engine`` (see :func:`resolve_engine`); ``kwargs``
    are those of the class. Both engines give the same run for the same seed."""
    engine = resolve_engine(engine, kwargs.get("mode"), kwargs.get("literal"))
    if engine == "fast":
        from scmgym.simulators.make_or_buy.fast import FastMakeOrBuySimulation

        return FastMakeOrBuySimulation(instance, **kwargs)
    return MakeOrBuySimulation(instance, **kwargs)


def simulate(
    instance: MakeOrBuyInstance,
    decisions: Sequence[Any] | np.ndarray | str,
    *,
    seed: int | np.random.Generator | None = 0,
    truck_speed_latch: bool = True,
    empty_orders: EmptyOrders = "next_tick",
    mode: ModeName | None = None,
    literal: bool | None = None,
    engine: Engine = "simpy",
) -> MakeOrBuyResult:
    """Simulate the plant under one decision vector and return the revenue and records.

    Args:
        instance: the orders.
        decisions: one 0 (make) or 1 (buy) per order, by position (``decisions[k]`` is the
            order with id ``k + 1``); a string of 0/1 characters is accepted.
        seed: seed or ``numpy.random.Generator``; the run's only source of randomness. Each
            seed is one independent replication (AnyLogic never re-seeds between runs, so
            its repeated evaluations are replications too).
        truck_speed_latch: AnyLogic artefact, on by default: the truck's first move is a
            trip-time move that sets its speed to distance / trip time (~33 m/day, a random
            effect per run) and it is never restored. Off: the truck drives at its nominal
            1 m/s after that first move.
        empty_orders: what making an order with a = b = c = 0 does (such an order crashes the
            AnyLogic model with a division by zero; none exists in the bundled lists).
            ``"next_tick"`` (default): it is complete at the next assembly tick.
            ``"reject"``: making one raises :class:`DataError` (buying one is fine).
        mode: which shortcuts the run uses (all modes have the same distribution of results):
            ``"fast"`` (default) every shortcut; ``"literal"`` none (tick-by-tick assembly,
            loop-by-loop truck, one SimPy process per component; 10-100 times slower);
            ``"literal-ticks"`` every tick with the exact line and truck shortcuts (the same
            run as ``"literal"`` for a seed); ``"literal-truck"`` and ``"literal-lines"``
            the truck (and the lines) literally with sampled ticks (the same run as
            ``"fast"``). See :mod:`~scmgym.simulators.make_or_buy.shortcuts`.
        literal: alias: ``True`` is ``mode="literal"``; ``False`` any other mode.
        engine: ``"simpy"`` (default): this SimPy model. ``"fast"``: the compiled engine
            (:mod:`~scmgym.simulators.make_or_buy.fast`), the same run for the same seed in
            mode ``"fast"``, about 50 times faster; it has no other mode. Without numba it
            warns once and uses ``"simpy"``.

    Raises:
        DataError: the decisions are not valid for the instance.
        ValueError: an unknown ``mode``, ``engine`` or ``empty_orders``, ``mode`` and
            ``literal`` disagree, or ``engine="fast"`` with another mode than ``"fast"``.

    >>> from scmgym.simulators import make_or_buy as mob
    >>> r = mob.simulate(mob.load_instance("list1"), [1] * 100)
    >>> r.revenue, r.bought, r.end_time
    (7000, 100, 0.0)
    >>> mob.simulate(mob.load_instance("list1"), [1] * 100, mode="literal") == r
    True
    >>> x = [0, 1] * 50
    >>> list1 = mob.load_instance("list1")
    >>> mob.simulate(list1, x, engine="fast") == mob.simulate(list1, x)
    True
    """
    sim = open_simulation(
        instance, engine=engine, seed=seed, decisions=decisions,
        truck_speed_latch=truck_speed_latch, empty_orders=empty_orders, mode=mode,
        literal=literal,
    )
    result = sim.result()
    logger.debug("make-or-buy %s: revenue %d (on time %d, late %d, bought %d), end %.1f d",
                 instance.name, result.revenue, result.on_time, result.late, result.bought,
                 result.end_time)
    return result
