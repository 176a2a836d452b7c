"""A compiled engine for the make-or-buy plant: mode ``"fast"`` of the SimPy model in numba.

:class:`FastMakeOrBuySimulation` gives, for the same instance, decisions and seed, the same
run as :class:`~scmgym.simulators.make_or_buy.MakeOrBuySimulation` in its default mode
``"fast"`` (recurrence lines, idle-skipping truck, sampled ticks): the same revenue and counts,
and the same per-order start, completion and last-delivery times to the last bit (tests
compare them with ``==``). It consumes the run's random stream exactly as the SimPy model does:

* from the run's generator: the truck's creation time (one exponential) and three uniforms
  (its start point and trip time), then, for each made order, ``13 a + 11 b + 13 c`` uniforms
  in the model's order (the A, B and C line draws, 7, 5 and 7 per component, then the A, B
  and C truck trips, 6 per component). The model draws them in six calls per order; the
  engine draws the same doubles in one call (numpy's ``random`` fills arrays element by
  element, so the concatenation is the same sequence);
* from the child stream spawned from it: the assembly tick gaps, in blocks of 4096.

The events are not queued. Orders are dispatched one at a time, and within a made order every
actor's times follow in closed form from the draws:

* the lines: the max-plus recurrence of spec §4.2 gives each component's arrival in its
  output buffer when the order starts;
* the truck does not depend on the assembly: from its state when the order starts (a check
  pending at a known time, or idle since its last empty check), its serving trips and idle
  loops give every delivery time, as :class:`~.shortcuts.IdleSkippingTruck` computes them;
* the assembly merges those deliveries with its sampled ticks.

Every time is computed with the same floating-point operations, in the same order, as the SimPy
actors (``now + (when - now)`` for a skipped loop, the same sums of legs), which is why the
times agree exactly. Events at the same instant (measure zero, except the truck's check and the
next order's injection, which the model orders by scheduling) are ordered as SimPy orders them.

The other modes (``literal``, ``literal-ticks``, ...) exist only in the SimPy engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from scmgym.errors import DataError
from scmgym.simulators.compiled import signals_deferred
from scmgym.simulators.make_or_buy.data import MakeOrBuyInstance, check_decisions
from scmgym.simulators.make_or_buy.model import draw_truck
from scmgym.simulators.make_or_buy.spec import (
    ASSEMBLY_RATE,
    LINE_DRAWS,
    LOADING,
    LOOP_LEGS,
    LOOP_M,
    NODE1_TO_NODE2,
    REVENUE_BOUGHT,
    REVENUE_LATE,
    REVENUE_ON_TIME,
    SERVE,
    UNLOADING,
)
from scmgym.simulators.make_or_buy.stepper import EmptyOrders, MakeOrBuySimulation

__all__ = ["FastMakeOrBuySimulation", "draws_per_order", "revenues"]

#: Uniforms drawn per component of type A, B, C: its line draws and its truck trip.
DRAWS_PER_COMPONENT = (len(LINE_DRAWS[0]) + 6, len(LINE_DRAWS[1]) + 6, len(LINE_DRAWS[2]) + 6)
#: Tick gaps drawn at a time (as :meth:`~.model.Plant.next_tick_gap`).
_TICK_BLOCK = 4096

# -- the constants as arrays the kernel reads ---------------------------------------------------
#: Triangular (lo, mode, hi) of each line draw column, per type (padded to 7 columns).
_LINE = np.zeros((3, 7, 3))
for _j, _cols in enumerate(LINE_DRAWS):
    for _k, _dist in enumerate(_cols):
        _LINE[_j, _k] = _dist
_NCOLS = np.array([len(c) for c in LINE_DRAWS], dtype=np.int64)
#: Per type: output rectangle (x0, x1, y0, y1, ax, ay), then the input rectangle.
_RECT = np.array([[[r.x0, r.x1, r.y0, r.y1, r.ax, r.ay] for r in serve[:2]] for serve in SERVE],
                 dtype=float)
#: Per type: fixed metres check node -> output, output -> input, input -> check node.
_FIXED = np.array([serve[2:] for serve in SERVE], dtype=float)
_LOAD = np.array(LOADING, dtype=float)
_UNLOAD = np.array(UNLOADING, dtype=float)
#: Loop metres after an empty check of each buffer (Python's sum, as the SimPy truck).
_LEG_SUM = np.array([sum(legs) for legs in LOOP_LEGS], dtype=float)


@njit(cache=True)
def _tri(u, lo, mode, hi):
    """The inverse triangular CDF, as :func:`~.model.triangular` computes it."""
    width = hi - lo
    if u < (mode - lo) / width:
        return lo + math.sqrt(u * width * (mode - lo))
    return hi - math.sqrt((1.0 - u) * width * (hi - mode))


@njit(cache=True)
def _interior(rect, ux, uy):
    """Distance from a uniform point of ``rect`` to its attachment point (``Rect.interior``)."""
    x = rect[0] + ux * (rect[1] - rect[0])
    y = rect[2] + uy * (rect[3] - rect[2])
    return math.hypot(x - rect[4], y - rect[5])


@njit(cache=True)
def _next_check(c, t, taken, n, arr, v, leg_sum, loop_m):
    """After an empty check of buffer ``c`` at ``t``: (buffer, time) of the first later check
    that finds a component (``IdleSkippingTruck.next_check``); buffer -1 if none is coming."""
    period = loop_m / v
    best_j = -1
    best = 0.0
    offset = 0.0
    for step in range(1, 4):
        offset += leg_sum[(c + step - 1) % 3] / v
        j = (c + step) % 3
        i = taken[j]
        if i >= n[j]:
            continue
        when = t + offset
        a = arr[j, i]
        if a > when:
            when += math.ceil((a - when) / period) * period
            while when < a:
                when += period
        if best_j < 0 or when < best:
            best_j = j
            best = when
    return best_j, best


@njit(cache=True)
def _make_order(s, counts, u, ticks, state, v, line, ncols, rect, fixed, load, unload, leg_sum,
                loop_m):
    """Make one order dispatched at ``s``; return (completion, last delivery).

    Args:
        s: the dispatch (injection) time.
        counts: int64 (3,): components of type A, B, C.
        u: the order's ``13 a + 11 b + 13 c`` uniforms, in the model's order.
        ticks: the run's tick gaps; ``state[4]`` is the index of the next one.
        state: float64 (5,), the truck and tick state carried between orders: the buffer of the
            truck's next (or last) check, the time of its pending check, 1.0 if it is idle
            (its last check was empty and nothing was coming), the time of that empty check,
            and the next tick index.
        the rest: the plant's constants (module arrays).
    """
    nmax = max(counts[0], max(counts[1], counts[2]))
    arr = np.empty((3, max(nmax, 1)))
    trips = np.empty((3, max(nmax, 1), 5))
    # The line draws: one recurrence per line (RecurrenceLines.inject / line_recurrence).
    pos = 0
    d = np.empty(7)
    for j in range(3):
        nc = ncols[j]
        l1 = -np.inf
        l2 = -np.inf
        l3 = -np.inf
        enter = s
        for i in range(counts[j]):
            for k in range(nc):
                d[k] = _tri(u[pos + k], line[j, k, 0], line[j, k, 1], line[j, k, 2])
            pos += nc
            if nc == 7:
                f1 = enter + (d[0] + d[1])
                l1 = max(f1, l2)
                f2 = l1 + (d[2] + d[3])
                l2 = max(f2, l3)
                l3 = l2 + (d[4] + d[5] + d[6])
                arr[j, i] = l3
            else:
                f1 = enter + (d[0] + d[1])
                l1 = max(f1, l2)
                l2 = l1 + (d[2] + d[3] + d[4])
                arr[j, i] = l2
            enter = l1
    # The truck's round trips (Plant._draw_trips).
    for j in range(3):
        for i in range(counts[j]):
            d_out = _interior(rect[j, 0], u[pos], u[pos + 1])
            d_in = _interior(rect[j, 1], u[pos + 3], u[pos + 4])
            trips[j, i, 0] = (fixed[j, 0] + d_out) / v
            trips[j, i, 1] = _tri(u[pos + 2], load[0], load[1], load[2])
            trips[j, i, 2] = (d_out + fixed[j, 1] + d_in) / v
            trips[j, i, 3] = _tri(u[pos + 5], unload[0], unload[1], unload[2])
            trips[j, i, 4] = (d_in + fixed[j, 2]) / v
            pos += 6
    total = counts[0] + counts[1] + counts[2]
    del_type = np.empty(max(total, 1), dtype=np.int64)
    del_time = np.empty(max(total, 1))
    nd = 0
    if total > 0:
        taken = np.zeros(3, dtype=np.int64)
        c = int(state[0])
        now = 0.0
        if state[2] == 0.0 and state[1] <= s:
            # The pending check came before this order (at the same instant too: the truck's
            # event was scheduled first): it found nothing, the truck went idle.
            state[2] = 1.0
            state[3] = state[1]
        if state[2] == 1.0:  # woken at s: the closed-form loop from the last empty check
            j, when = _next_check(c, state[3], taken, counts, arr, v, leg_sum, loop_m)
            c = j
            now = s + (when - s)
        else:
            now = state[1]
        state[2] = 0.0
        while True:
            i = taken[c]
            if i < counts[c] and arr[c, i] <= now:
                taken[c] += 1
                t = now + (trips[c, i, 0] + trips[c, i, 1] + trips[c, i, 2] + trips[c, i, 3])
                del_type[nd] = c
                del_time[nd] = t
                nd += 1
                now = t + trips[c, i, 4]
                if nd == total:
                    break
                continue
            j, when = _next_check(c, now, taken, counts, arr, v, leg_sum, loop_m)
            c = j
            now = now + (when - now)
        state[0] = c
        state[1] = now
    # The assembly (SampledTickAssembly): idle at the start of every order.
    need = counts.copy()
    din = np.zeros(3, dtype=np.int64)
    k = int(state[4])
    last = s
    tick = -1.0
    pending = False
    if total == 0:  # woken at the injection; its first tick completes it
        tick = s + ticks[k]
        k += 1
        pending = True
    di = 0
    while True:
        if di < nd and (not pending or del_time[di] < tick):
            j = del_type[di]
            t = del_time[di]
            din[j] += 1
            last = t
            di += 1
            if not pending and need[j] > 0:
                tick = t + ticks[k]
                k += 1
                pending = True
            continue
        for j in range(3):
            if need[j] > 0 and din[j] > 0:
                need[j] -= 1
                din[j] -= 1
        if need[0] == 0 and need[1] == 0 and need[2] == 0:
            state[4] = k
            return tick, last
        if (din[0] > 0 and need[0] > 0) or (din[1] > 0 and need[1] > 0) or \
                (din[2] > 0 and need[2] > 0):
            tick = tick + ticks[k]
            k += 1
        else:
            pending = False


@njit(cache=True)
def _run(k0, s, counts, decisions, deadlines, u, ticks, state, v, line, ncols, rect, fixed, load,
         unload, leg_sum, loop_m, start, completion, last):
    """Orders ``k0..`` of a run, dispatched from time ``s`` with the given decisions; fills
    their per-order times and returns (on time, late, bought, dispatch time after them)."""
    pos = 0
    on_time = 0
    late = 0
    bought = 0
    for k in range(k0, decisions.shape[0]):
        start[k] = s
        if decisions[k] == 1:
            bought += 1
            on_time += 1
            completion[k] = s
            last[k] = s
            continue
        m = 13 * counts[k, 0] + 11 * counts[k, 1] + 13 * counts[k, 2]
        done, at = _make_order(s, counts[k], u[pos:pos + m], ticks, state, v, line, ncols,
                                    rect, fixed, load, unload, leg_sum, loop_m)
        pos += m
        completion[k] = done
        last[k] = at
        if done - deadlines[k] <= 0:
            on_time += 1
        else:
            late += 1
        s = done
    return on_time, late, bought, s


def draws_per_order(counts: np.ndarray) -> np.ndarray:
    """Uniforms a made order draws from the run's generator, per row of (a, b, c) counts."""
    return np.asarray(counts, dtype=np.int64) @ np.array(DRAWS_PER_COMPONENT, dtype=np.int64)


class _Truck:
    """The run's first draws (Plant.__init__): the truck's speed and its first check time."""

    __slots__ = ("speed", "first_check")

    def __init__(self, rng: np.random.Generator, latch: bool) -> None:
        created, park, self.speed = draw_truck(rng, latch)
        # IdleSkippingTruck.run: one timeout from time 0 to the first check of buffer A.
        self.first_check = 0.0 + (created + park + NODE1_TO_NODE2 / self.speed)


def _initial_state(truck: _Truck) -> np.ndarray:
    return np.array([0.0, truck.first_check, 0.0, 0.0, 0.0])


def _tick_gaps(tick_rng: np.random.Generator, at_least: int) -> np.ndarray:
    """At least ``at_least`` tick gaps, drawn in blocks as the SimPy assembly draws them."""
    blocks = max(1, -(-at_least // _TICK_BLOCK))
    return np.concatenate([tick_rng.standard_exponential(_TICK_BLOCK) / ASSEMBLY_RATE
                           for _ in range(blocks)])


class _Instance:
    """An instance as the kernel's arrays (kept per instance object)."""

    __slots__ = ("counts", "deadlines", "draws", "empty")

    def __init__(self, instance: MakeOrBuyInstance) -> None:
        self.counts = np.array([o.counts for o in instance.orders], dtype=np.int64).reshape(-1, 3)
        self.deadlines = np.array([o.deadline_days for o in instance.orders], dtype=float)
        self.draws = draws_per_order(self.counts)
        self.empty = ~self.counts.any(axis=1)


_ARRAYS: dict[int, tuple[MakeOrBuyInstance, _Instance]] = {}


def _arrays(instance: MakeOrBuyInstance) -> _Instance:
    hit = _ARRAYS.get(id(instance))
    if hit is None or hit[0] is not instance:
        if len(_ARRAYS) > 64:
            _ARRAYS.clear()
        hit = (instance, _Instance(instance))
        _ARRAYS[id(instance)] = hit
    return hit[1]


_CONSTS = (_LINE, _NCOLS, _RECT, _FIXED, _LOAD, _UNLOAD, _LEG_SUM, LOOP_M)


class _FastPlant:
    """The state :class:`MakeOrBuySimulation` reads from its plant, kept by the fast engine."""

    def __init__(self, instance: MakeOrBuyInstance, rng: np.random.Generator,
                 truck_speed_latch: bool) -> None:
        self.instance = instance
        self.arrays = _arrays(instance)
        self.rng = rng
        self.tick_rng = rng.spawn(1)[0]
        truck = _Truck(rng, truck_speed_latch)
        self.truck_speed = truck.speed
        self.state = _initial_state(truck)
        self.ticks = np.empty(0)
        n = instance.n
        self.decisions: list[int] = []
        self.start_time = [math.nan] * n
        self.completion = [math.nan] * n
        self.last_delivery = [math.nan] * n
        self.order_on_time = [True] * n
        self.on_time = self.late = self.bought = 0
        self.now = 0.0
        self.finished = False
        self.dispatched = 0

    def advance(self) -> None:
        """Dispatch every order whose decision is known (the dispatcher's loop), in one kernel
        call: their uniforms are drawn in one call (the same doubles as order by order)."""
        a = self.arrays
        k0, k1 = self.dispatched, len(self.decisions)
        if k1 > k0:
            x = np.array(self.decisions[k0:k1], dtype=np.int64)
            made = x == 0
            u = self.rng.random(int(a.draws[k0:k1][made].sum()))
            need = int(self.state[4]) + int(a.counts[k0:k1][made].sum()) + int(made.sum()) + 1
            if need > self.ticks.shape[0]:
                more = _tick_gaps(self.tick_rng, need - self.ticks.shape[0])
                self.ticks = np.concatenate([self.ticks, more])
            m = k1 - k0
            start, completion, last = np.empty(m), np.empty(m), np.empty(m)
            with signals_deferred():
                on_time, late, bought, self.now = _run(
                    0, self.now, a.counts[k0:k1], x, a.deadlines[k0:k1], u, self.ticks, self.state,
                    self.truck_speed, *_CONSTS, start, completion, last)
            self.on_time += on_time
            self.late += late
            self.bought += bought
            self.start_time[k0:k1] = start.tolist()
            self.completion[k0:k1] = completion.tolist()
            self.last_delivery[k0:k1] = last.tolist()
            late_made = made & (completion - a.deadlines[k0:k1] > 0)
            self.order_on_time[k0:k1] = (~late_made).tolist()
            self.dispatched = k1
        if k1 >= self.instance.n:
            self.finished = True


class FastMakeOrBuySimulation(MakeOrBuySimulation):
    """:class:`MakeOrBuySimulation` (mode ``"fast"``) on the compiled engine: the same run for
    the same seed, driven the same way (all decisions up front or one by one)."""

    engine = "fast"

    def _check_mode(self, mode: str) -> None:
        if mode != "fast":
            raise ValueError(f"engine='fast' implements mode 'fast' only (got mode={mode!r}); "
                             "use engine='simpy' for the other modes")

    def _new_plant(self, rng: np.random.Generator) -> _FastPlant:  # type: ignore[override]
        return _FastPlant(self.instance, rng, self.truck_speed_latch)

    def _run_until_decision(self) -> None:
        self.plant.advance()

    @property
    def env(self):  # noqa: D102  (no SimPy environment)
        raise AttributeError("the compiled engine has no SimPy environment")

    @property
    def now(self) -> float:
        return float(self.plant.now)

    def _resume(self) -> None:
        self.plant.advance()


def _checked_vector(instance: MakeOrBuyInstance, a: _Instance, arr: np.ndarray, row: Any,
                    i: int, empty_orders: str) -> np.ndarray:
    """Candidate ``i`` as an int64 decision vector, or the DataError that names it."""
    if arr.shape == (instance.n,) and arr.dtype.kind in "iub" and \
            bool(((arr == 0) | (arr == 1)).all()):
        x = arr.astype(np.int64)  # a valid vector already: no per-element check
    else:
        try:
            x = np.array(check_decisions(instance, row), dtype=np.int64)
        except DataError as exc:
            raise DataError(f"candidate {i}: {exc.problem}", source=exc.source, row=exc.row,
                            column=exc.column, value=exc.value, allowed=exc.allowed) from None
    if empty_orders == "reject" and bool(np.any(a.empty & (x == 0))):
        k = int(np.flatnonzero(a.empty & (x == 0))[0])
        raise DataError(f"candidate {i}: an order with a = b = c = 0 cannot be made "
                        "(empty_orders='reject')", source=instance.source, row=k + 2,
                        column="a, b, c", value=(0, 0, 0),
                        allowed="buy it (decision 1), or empty_orders='next_tick'")
    return x


def revenues(
    instance: MakeOrBuyInstance,
    decisions: Sequence[Sequence[int]] | np.ndarray,
    seeds: Sequence[int] | np.ndarray,
    *,
    truck_speed_latch: bool = True,
    empty_orders: EmptyOrders = "next_tick",
) -> np.ndarray:
    """The revenue of each (decision vector, seed) pair, on the compiled engine.

    Args:
        instance: the orders.
        decisions: one decision vector per candidate, shape (m, n), or one vector (n,) that
            every seed simulates.
        seeds: one seed per candidate, shape (m,) (with one vector: one run per seed).
        truck_speed_latch, empty_orders: as :func:`~.stepper.simulate`.

    Returns:
        int64 (m,): ``revenues[i]`` is ``simulate(instance, decisions[i], seed=seeds[i]).revenue``
        (either engine).

    Raises:
        DataError: a decision vector is not valid for the instance (it names the candidate).
        ValueError: the decisions and seeds do not pair up.
    """
    seeds = [int(s) for s in np.atleast_1d(np.asarray(seeds, dtype=object))]
    if isinstance(decisions, str):
        decisions = check_decisions(instance, decisions)
    batch = np.asarray(decisions)
    if batch.ndim == 1:
        batch = np.broadcast_to(batch, (len(seeds), batch.shape[0]))
    if batch.ndim != 2 or batch.shape[0] != len(seeds):
        raise ValueError(f"decisions of shape {np.shape(decisions)} and {len(seeds)} seeds: "
                         "give one vector per seed (m, n), or one vector (n,)")
    a = _arrays(instance)
    out = np.empty(len(seeds), dtype=np.int64)
    n = instance.n
    start, completion, last = np.empty(n), np.empty(n), np.empty(n)
    checked: dict[bytes, np.ndarray] = {}
    for i, (row, seed) in enumerate(zip(batch, seeds, strict=True)):
        arr = np.asarray(row)
        key = arr.tobytes()
        x = checked.get(key)
        if x is None:
            x = _checked_vector(instance, a, arr, row, i, empty_orders)
            if len(checked) > 1024:
                checked.clear()
            checked[key] = x
        rng = np.random.default_rng(seed)
        tick_rng = rng.spawn(1)[0]
        truck = _Truck(rng, truck_speed_latch)
        made = x == 0
        u = rng.random(int(a.draws[made].sum()))
        ticks = _tick_gaps(tick_rng, int(a.counts[made].sum()) + int(made.sum()) + 1)
        with signals_deferred():
            on_time, late, bought, _ = _run(0, 0.0, a.counts, x, a.deadlines, u, ticks,
                                            _initial_state(truck), truck.speed, *_CONSTS,
                                            start, completion, last)
        out[i] = (REVENUE_ON_TIME * on_time + REVENUE_LATE * late
                  - (REVENUE_ON_TIME - REVENUE_BOUGHT) * bought)
    return out
