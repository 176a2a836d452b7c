"""The plant as SimPy processes: the literal reference model (plant specification §4).

Each actor of the AnyLogic model is one small generator that does what its blocks do, event by
event:

* the **dispatcher** (§4.1, :meth:`Plant.dispatch`) takes the orders one at a time, in list
  order: a bought order is done at once, a made one injects its components into the lines and
  waits until the assembly completes it;
* the **lines** (§4.2, :meth:`Lines.component`): each component is one process through the
  blocking zones of its line (a zone is a capacity-1 resource, held until the next one is free);
* the **truck** (§4.4, :meth:`Truck.run`) drives its loop leg by leg, polling the A, B and C
  output buffers and serving each until it is empty, one component per round trip;
* the **assembly** (§4.5, :meth:`Assembly.run`) fires at every tick of a Poisson process and
  takes at most one waiting component of each type the order still needs.

:mod:`~scmgym.simulators.make_or_buy.shortcuts` subclasses the lines, the truck and the assembly
with exact shortcuts; the *mode* of a run picks one class per actor when the run is built. The
draws do not depend on the mode: :meth:`Plant.inject` draws every line and truck time of an
order up front, the assembly ticks come from their own stream.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
import simpy

from scmgym.simulators.make_or_buy.data import MakeOrBuyInstance, MakeOrBuyOrder
from scmgym.simulators.make_or_buy.spec import (
    ASSEMBLY_RATE,
    DEFAULT_SPEED,
    LINE_DRAWS,
    LOADING,
    LOOP_LEGS,
    NODE1_TO_NODE2,
    SERVE,
    STAGES,
    TRUCK_AREA,
    TRUCK_AREA_EXIT,
    TRUCK_CREATE_MEAN,
    TRUCK_PARK,
    UNLOADING,
)

Process = Generator[simpy.Event, Any, None]
#: One truck round trip for one component: (to the output, loading, carrying to the assembly
#: input, unloading, back to the check node), in days.
Trip = tuple[float, float, float, float, float]


def triangular(u: np.ndarray, lo: Any, mode: Any, hi: Any) -> np.ndarray:
    """Inverse CDF of the triangular distribution (one uniform per sample, as AnyLogic)."""
    lo, mode, hi = (np.asarray(v, dtype=float) for v in (lo, mode, hi))
    width = hi - lo
    cut = (mode - lo) / width
    left = lo + np.sqrt(u * width * (mode - lo))
    right = hi - np.sqrt((1.0 - u) * width * (hi - mode))
    return np.where(u < cut, left, right)


def triangular_columns(u: np.ndarray, dists: Sequence[tuple[float, float, float]]) -> np.ndarray:
    """Column ``i`` of the uniforms ``u`` through the triangular distribution ``dists[i]``."""
    lo, mode, hi = (np.array(col) for col in zip(*dists, strict=True))
    return triangular(u, lo, mode, hi)


def draw_truck(rng: np.random.Generator, latch: bool) -> tuple[float, float, float]:
    """The run's first draws (§3.3, §4.4): the truck is created at Exp(1 s), then makes a
    trip-time move of T0 days from a random point of the truck area to node1 that (latch on)
    fixes its speed to D0 / T0. Returns (creation time, T0, speed in metres per day)."""
    created = float(rng.exponential(TRUCK_CREATE_MEAN))
    u = rng.random(3)
    d0 = float(TRUCK_AREA.interior(u[0], u[1])) + TRUCK_AREA_EXIT
    park = float(triangular(u[2], *TRUCK_PARK))
    return created, park, d0 / park if latch else DEFAULT_SPEED


class Plant:
    """The state of one run, shared by its actors, and the dispatcher (§3.4, §4.1).

    Args:
        instance: the orders.
        rng: the run's generator, its only source of randomness. The assembly ticks draw from
            a child stream spawned from it, so that the lines and the truck see the same draws
            whichever assembly is used.
        truck_speed_latch: the truck's first move fixes its speed for the run (see
            :func:`~scmgym.simulators.make_or_buy.simulate`); off: 1 m/s.
        lines, truck, assembly: the class of each actor (the run's mode); each is built with
            the plant.

    Attributes:
        decisions: the decisions known so far (0 make, 1 buy), filled by the stepper.
        start_time, completion, last_delivery, order_on_time: per order, in id order (NaN /
            True until the order is done).
        on_time, late, bought: the model's counters (``on_time`` counts bought orders too).
        truck_speed: metres per day, for the whole run.
        active: index of the made order in process, None between orders.
        need: components the active order still needs, per type A, B, C.
        din: components waiting at the assembly inputs, per type.
        taken: components the truck has taken from each output buffer for the active order.
        trips: per type, the truck's drawn round trip for each component of the active order.
        paused: succeeds when the run needs the next decision or is over.
        resume: while paused for a decision, the event that resumes the dispatcher.
        finished: every order is done.
    """

    def __init__(
        self,
        instance: MakeOrBuyInstance,
        rng: np.random.Generator,
        *,
        truck_speed_latch: bool,
        lines: type[Lines],
        truck: type[Truck],
        assembly: type[Assembly],
    ) -> None:
        self.instance = instance
        self.rng = rng
        self.tick_rng = rng.spawn(1)[0]
        self._ticks: list[float] = []
        n = instance.n
        self.decisions: list[int] = []
        self.start_time = [math.nan] * n
        self.completion = [math.nan] * n
        self.last_delivery = [math.nan] * n
        self.order_on_time = [True] * n
        self.on_time = self.late = self.bought = 0
        self.truck_created, self.truck_park, self.truck_speed = draw_truck(rng,
                                                                           truck_speed_latch)
        # The order in process.
        self.active: int | None = None
        self.need = [0, 0, 0]
        self.din = [0, 0, 0]
        self.taken = [0, 0, 0]
        self.trips: list[list[Trip]] = [[], [], []]
        # SimPy.
        self.env = simpy.Environment()
        self.paused = self.env.event()
        self.resume: simpy.Event | None = None
        self.complete: simpy.Event | None = None
        self.finished = False
        self.lines = lines(self)
        self.truck = truck(self)
        self.assembly = assembly(self)

    def start(self) -> None:
        """Start the dispatcher, the truck and the assembly (the lines start with each made
        order); the stepper then runs the environment until :attr:`paused`."""
        self.env.process(self.dispatch())
        self.env.process(self.truck.run())
        self.env.process(self.assembly.run())

    # -- the dispatcher (§4.1) -----------------------------------------------------------

    def dispatch(self) -> Process:
        """The orders one at a time, in list order; each starts when the previous one is done."""
        env = self.env
        for k, order in enumerate(self.instance.orders):
            if k >= len(self.decisions):
                yield self.await_decision()
            self.start_time[k] = env.now
            self.last_delivery[k] = env.now
            if self.decisions[k] == 1:  # bought: done at once, on time, no draw
                self.bought += 1
                self.on_time += 1
                self.completion[k] = env.now
                continue
            self.complete = env.event()
            self.inject(k, order)
            yield self.complete  # succeeded by the assembly tick that takes the last component
        self.finished = True
        self.paused.succeed()

    def await_decision(self) -> simpy.Event:
        """Pause the run until the stepper knows the next decision: succeed :attr:`paused` and
        return the event that resumes the dispatcher."""
        self.resume = self.env.event()
        self.paused.succeed()
        return self.resume

    def inject(self, k: int, order: MakeOrBuyOrder) -> None:
        """Make order ``k``: draw all its line and truck times, then inject its components."""
        rng = self.rng
        self.active = k
        self.need = list(order.counts)
        self.taken = [0, 0, 0]
        self.din = [0, 0, 0]
        draws = [triangular_columns(rng.random((count, len(LINE_DRAWS[j]))), LINE_DRAWS[j])
                 .tolist() for j, count in enumerate(order.counts)]
        self.trips = [self._draw_trips(j, count) for j, count in enumerate(order.counts)]
        self.lines.inject(draws)
        self.truck.wake()
        if order.is_empty:
            self.assembly.wake()

    def _draw_trips(self, j: int, count: int) -> list[Trip]:
        """The truck's round trips for ``count`` components of type ``j`` (§4.4, §4.6): a
        random point in the output and in the input rectangle, loading and unloading."""
        out_rect, in_rect, to_out, carry, back = SERVE[j]
        v = self.truck_speed
        u = self.rng.random((count, 6))
        d_out = out_rect.interior(u[:, 0], u[:, 1])
        d_in = in_rect.interior(u[:, 3], u[:, 4])
        load = triangular(u[:, 2], *LOADING)
        unload = triangular(u[:, 5], *UNLOADING)
        legs = np.column_stack([(to_out + d_out) / v, load, (d_out + carry + d_in) / v,
                                unload, (d_in + back) / v])
        return [tuple(row) for row in legs.tolist()]

    # -- what the actors do to the shared state ------------------------------------------

    def take(self, j: int) -> None:
        """The truck takes the component in the slot of output buffer ``j`` (§4.3)."""
        self.taken[j] += 1
        self.lines.take(j)

    def deliver(self, j: int) -> None:
        """The truck unloads a component of type ``j`` at the assembly input (§4.4)."""
        self.din[j] += 1
        self.last_delivery[self.active] = self.env.now
        self.assembly.wake()

    def next_tick_gap(self) -> float:
        """The time to the next assembly tick: Exp(12 per day), from the tick stream."""
        if not self._ticks:
            self._ticks = (self.tick_rng.standard_exponential(4096) / ASSEMBLY_RATE).tolist()
            self._ticks.reverse()
        return self._ticks.pop()

    def complete_order(self) -> None:
        """The active order has all its components (§4.5): count it and dispatch the next."""
        k = self.active
        now = self.env.now
        deadline = self.instance.orders[k].deadline_days
        self.completion[k] = now
        if now - deadline <= 0:
            self.on_time += 1
        else:
            self.late += 1
            self.order_on_time[k] = False
        self.active = None
        self.complete.succeed()


class Lines:
    """The three blocking serial lines (§4.2): one process per component.

    Lines A and C have three zones, line B two; a component holds its zone until it has a place
    in the next one, so a slow stage blocks the components behind it.
    """

    def __init__(self, plant: Plant) -> None:
        self.plant = plant
        #: Components in each output buffer (queue + one-slot delay, §4.3).
        self.out_count = [0, 0, 0]

    def inject(self, draws: list[list[list[float]]]) -> None:
        """Inject a made order's components: ``draws[j]`` holds one row of draws per component
        of type ``j`` (the columns of :data:`~.spec.LINE3` or :data:`~.spec.LINE2`)."""
        env = self.plant.env
        for j in range(3):
            zones = [simpy.Resource(env, capacity=1) for _ in range(STAGES[j])]
            for d in draws[j]:
                env.process(self.component(j, d, zones))

    def component(self, j: int, d: list[float], zones: list[simpy.Resource]) -> Process:
        """One component through its zones: move in and stage 1, move and stage 2 (and, on a
        three-stage line, move, stage 3 and the move to the output buffer)."""
        env = self.plant.env
        z1 = zones[0].request()
        yield z1
        yield env.timeout(d[0] + d[1])
        z2 = zones[1].request()
        yield z2
        zones[0].release(z1)
        if len(zones) == 3:
            yield env.timeout(d[2] + d[3])
            z3 = zones[2].request()
            yield z3
            zones[1].release(z2)
            yield env.timeout(d[4] + d[5] + d[6])
            zones[2].release(z3)
        else:
            yield env.timeout(d[2] + d[3] + d[4])
            zones[1].release(z2)
        self.out_count[j] += 1

    def available(self, j: int) -> bool:
        """A component waits in output buffer ``j`` now."""
        return self.out_count[j] > 0

    def take(self, j: int) -> None:
        """The truck takes one component from output buffer ``j``."""
        self.out_count[j] -= 1


class Truck:
    """The truck (§4.4), leg by leg: every idle loop is simulated.

    It polls A at node2, B at node3, C at node4, in that order, forever; at a check it serves
    that type until the buffer is empty, one component per round trip. Its state carries over
    from order to order.
    """

    def __init__(self, plant: Plant) -> None:
        self.plant = plant

    def wake(self) -> None:
        """A made order's components entered the lines. The literal truck keeps polling."""

    def run(self) -> Process:
        """Creation, the first (trip-time) move to node1, node1 -> node2, then the loop."""
        plant = self.plant
        env, v = plant.env, plant.truck_speed
        yield env.timeout(plant.truck_created)
        yield env.timeout(plant.truck_park)
        yield env.timeout(NODE1_TO_NODE2 / v)
        c = 0
        while True:
            while plant.lines.available(c):
                to_out, load, carry, unload, back = plant.trips[c][plant.taken[c]]
                yield env.timeout(to_out)
                yield env.timeout(load)
                plant.take(c)
                yield env.timeout(carry)
                yield env.timeout(unload)
                plant.deliver(c)
                yield env.timeout(back)
            for leg in LOOP_LEGS[c]:
                yield env.timeout(leg / v)
            c = (c + 1) % 3


class Assembly:
    """Assembly D (§4.5): a tick at every event of a Poisson process (12 per day)."""

    def __init__(self, plant: Plant) -> None:
        self.plant = plant

    def wake(self) -> None:
        """A component reached an assembly input (or an empty order started). The literal
        assembly ticks anyway."""

    def run(self) -> Process:
        """Every tick, for the whole run, whether or not an order is in process."""
        env = self.plant.env
        while True:
            yield env.timeout(self.plant.next_tick_gap())
            self.tick()

    def tick(self) -> None:
        """Take at most one waiting component of each type the order still needs; the order is
        complete at the tick that takes its last one (at once for an empty order)."""
        plant = self.plant
        if plant.active is None:
            return
        need, din = plant.need, plant.din
        for j in range(3):
            if need[j] > 0 and din[j] > 0:
                need[j] -= 1
                din[j] -= 1
        if need[0] == need[1] == need[2] == 0:
            plant.complete_order()
