"""Exact shortcuts of the literal model, and the modes that combine them.

Each shortcut is a subclass of one actor of :mod:`~scmgym.simulators.make_or_buy.model`; a
:class:`Mode` names one class per actor, and a run builds its actors once, from its mode.

* :class:`RecurrenceLines`: the lines are computed by the max-plus recurrence of spec §4.2
  from the same draws instead of one SimPy process per component; identical arrival times.
* :class:`IdleSkippingTruck`: while no output buffer holds a component, the truck's loop is
  deterministic (fixed distances at a fixed speed), so the truck jumps in closed form to the
  first check of a buffer that holds a component by then; identical truck times. It needs the
  arrival times in advance, hence the recurrence lines.
* :class:`SampledTickAssembly`: ticks that find nothing to take change nothing; the first tick
  after a component becomes takeable is drawn as ``now + Exp(12/day)`` instead of simulating
  every tick. By the memorylessness (strong Markov property) of the Poisson process this is
  exact in distribution; it uses the tick stream differently, so single runs differ from the
  literal ticks but their distributions are the same (tests/test_make_or_buy_sim.py checks
  this).

The modes (:data:`MODES`):

=================  ==========  ===========  =======  ====================================
mode               lines       truck        ticks    same seed, same run as
=================  ==========  ===========  =======  ====================================
``fast``           recurrence  skips loops  sampled  ``literal-truck``, ``literal-lines``
``literal-ticks``  recurrence  skips loops  every    ``literal``
``literal-truck``  recurrence  every loop   sampled  ``fast``
``literal-lines``  processes   every loop   sampled  ``fast``
``literal``        processes   every loop   every    ``literal-ticks``
=================  ==========  ===========  =======  ====================================

"Same run" is up to float rounding (~1e-9 days): the shortcuts sum the same draws in another
order. Every mode has the same distribution of results.

>>> resolve_mode(None).name, resolve_mode(literal=True).name
('fast', 'literal')
>>> MODES["literal-ticks"].sample_ticks, MODES["literal-ticks"].skip_idle_loops
(False, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import simpy

from scmgym.simulators.make_or_buy.model import Assembly, Lines, Plant, Process, Truck
from scmgym.simulators.make_or_buy.spec import LOOP_LEGS, LOOP_M, NODE1_TO_NODE2, STAGES

ModeName = Literal["fast", "literal-ticks", "literal-truck", "literal-lines", "literal"]
#: The mode of a run unless ``mode`` or ``literal=True`` says otherwise.
DEFAULT_MODE = "fast"


def line_recurrence(t0: float, draws: list[list[float]], stages: int) -> list[float]:
    """Arrival times in the output buffer of one blocking serial line (spec §4.2).

    ``draws`` rows are per component: (m1, S1, m2, S2, m3, S3, m4) for three stages, or
    (m1, S1, m2, S2, m4) for two. Zone ``z`` of component ``i`` is left at ``L_z(i)``; a
    component enters zone ``z + 1`` when it has finished stage ``z`` and the previous component
    has left zone ``z + 1``.
    """
    out = []
    l1 = l2 = l3 = -math.inf
    enter = t0
    for d in draws:
        if stages == 3:
            f1 = enter + (d[0] + d[1])
            l1 = max(f1, l2)
            f2 = l1 + (d[2] + d[3])
            l2 = max(f2, l3)
            l3 = l2 + (d[4] + d[5] + d[6])
            out.append(l3)
        else:
            f1 = enter + (d[0] + d[1])
            l1 = max(f1, l2)
            l2 = l1 + (d[2] + d[3] + d[4])
            out.append(l2)
        enter = l1
    return out


class RecurrenceLines(Lines):
    """The lines by their recurrence: every arrival time is known when the order starts."""

    def __init__(self, plant: Plant) -> None:
        super().__init__(plant)
        #: Output-buffer arrival times of the active order's components, per type.
        self.arrivals: list[list[float]] = [[], [], []]

    def inject(self, draws: list[list[list[float]]]) -> None:
        now = self.plant.env.now
        self.arrivals = [line_recurrence(now, draws[j], STAGES[j]) for j in range(3)]

    def available(self, j: int) -> bool:
        i = self.plant.taken[j]
        arr = self.arrivals[j]
        return i < len(arr) and arr[i] <= self.plant.env.now

    def take(self, j: int) -> None:
        """Nothing to count: :attr:`Plant.taken` says which arrival is next."""


class IdleSkippingTruck(Truck):
    """The truck with idle loops skipped in closed form (exact: the idle loop is
    deterministic); a serving trip is one timeout to the delivery and one back."""

    def __init__(self, plant: Plant) -> None:
        super().__init__(plant)
        self._idle: simpy.Event | None = None  # waiting for an order while nothing is on its way

    def wake(self) -> None:
        if self._idle is not None and not self._idle.triggered:
            self._idle.succeed()

    def run(self) -> Process:
        plant = self.plant
        env = plant.env
        yield env.timeout(plant.truck_created + plant.truck_park
                          + NODE1_TO_NODE2 / plant.truck_speed)
        c = 0
        while True:
            if plant.lines.available(c):
                to_out, load, carry, unload, back = plant.trips[c][plant.taken[c]]
                plant.take(c)
                yield env.timeout(to_out + load + carry + unload)
                plant.deliver(c)
                yield env.timeout(back)
                continue
            t_empty = env.now
            nxt = self.next_check(c, t_empty)
            while nxt is None:
                self._idle = env.event()
                yield self._idle
                self._idle = None
                nxt = self.next_check(c, t_empty)
            c, when = nxt
            yield env.timeout(when - env.now)

    def next_check(self, c: int, t: float) -> tuple[int, float] | None:
        """After an empty check of buffer ``c`` at time ``t``: the first later check that
        finds a component, as (buffer, time), or None if no component is on its way."""
        plant = self.plant
        arrivals: list[list[float]] = plant.lines.arrivals  # type: ignore[attr-defined]
        v = plant.truck_speed
        period = LOOP_M / v
        best: tuple[int, float] | None = None
        offset = 0.0
        for step in (1, 2, 3):
            offset += sum(LOOP_LEGS[(c + step - 1) % 3]) / v
            j = (c + step) % 3
            i = plant.taken[j]
            arr = arrivals[j]
            if i >= len(arr):
                continue
            when = t + offset
            if arr[i] > when:
                when += math.ceil((arr[i] - when) / period) * period
                while when < arr[i]:  # rounding
                    when += period
            if best is None or when < best[1]:
                best = (j, when)
        return best


class SampledTickAssembly(Assembly):
    """Assembly D, sampling only the first tick after a component becomes takeable."""

    def __init__(self, plant: Plant) -> None:
        super().__init__(plant)
        self._idle: simpy.Event | None = None  # waiting until something is takeable

    def takeable(self) -> bool:
        """The next tick would take something (an empty order: complete it)."""
        plant = self.plant
        if plant.active is None:
            return False
        need, din = plant.need, plant.din
        if need[0] == need[1] == need[2] == 0:
            return True
        return (din[0] > 0 and need[0] > 0) or (din[1] > 0 and need[1] > 0) or \
            (din[2] > 0 and need[2] > 0)

    def wake(self) -> None:
        if self._idle is not None and not self._idle.triggered and self.takeable():
            self._idle.succeed()

    def run(self) -> Process:
        env = self.plant.env
        while True:
            if not self.takeable():
                self._idle = env.event()
                yield self._idle
                self._idle = None
            yield env.timeout(self.plant.next_tick_gap())
            self.tick()


@dataclass(frozen=True)
class Mode:
    """A named choice of one class per actor.

    Attributes:
        name: the mode's name.
        lines, truck, assembly: the classes of the run's actors.
        summary: what the mode simulates literally, in a few words.
    """

    name: str
    lines: type[Lines]
    truck: type[Truck]
    assembly: type[Assembly]
    summary: str

    def __post_init__(self) -> None:
        if self.skip_idle_loops and not self.line_recurrence:
            raise ValueError(f"mode {self.name!r}: skip_idle_loops needs line_recurrence (the "
                             "closed-form truck needs the output-buffer arrival times in "
                             "advance)")

    @property
    def line_recurrence(self) -> bool:
        """The lines are computed by their recurrence."""
        return issubclass(self.lines, RecurrenceLines)

    @property
    def skip_idle_loops(self) -> bool:
        """The truck skips its idle loops in closed form."""
        return issubclass(self.truck, IdleSkippingTruck)

    @property
    def sample_ticks(self) -> bool:
        """Only the assembly ticks that can take something are drawn."""
        return issubclass(self.assembly, SampledTickAssembly)


#: The modes by name; see the module docstring for what each one simulates.
MODES: dict[str, Mode] = {m.name: m for m in (
    Mode("fast", RecurrenceLines, IdleSkippingTruck, SampledTickAssembly,
         "every shortcut (the default)"),
    Mode("literal-ticks", RecurrenceLines, IdleSkippingTruck, Assembly,
         "every assembly tick; the exact shortcuts for the lines and the truck"),
    Mode("literal-truck", RecurrenceLines, Truck, SampledTickAssembly,
         "every truck loop; the line recurrence and sampled ticks"),
    Mode("literal-lines", Lines, Truck, SampledTickAssembly,
         "one process per component and every truck loop; sampled ticks"),
    Mode("literal", Lines, Truck, Assembly, "no shortcut: every component, loop and tick"),
)}


def resolve_mode(mode: str | None = None, literal: bool | None = None) -> Mode:
    """The mode of a run from its ``mode`` option and the older ``literal`` alias.

    Args:
        mode: a name in :data:`MODES`; None: ``"literal"`` if ``literal`` is true, else
            ``"fast"``.
        literal: ``True`` is an alias of ``mode="literal"``; ``False`` allows every mode but
            ``"literal"``; None: no constraint.

    Raises:
        ValueError: ``mode`` is not a mode name (the message lists the modes), or ``mode`` and
            ``literal`` disagree.

    >>> resolve_mode("literal-truck", literal=False).summary
    'every truck loop; the line recurrence and sampled ticks'
    >>> resolve_mode("quick")
    Traceback (most recent call last):
    ...
    ValueError: mode='quick' is not a make-or-buy mode; allowed: 'fast', 'literal-ticks', \
'literal-truck', 'literal-lines', 'literal'
    """
    if mode is not None and (not isinstance(mode, str) or mode not in MODES):
        raise ValueError(f"mode={mode!r} is not a make-or-buy mode; allowed: "
                         f"{', '.join(repr(name) for name in MODES)}")
    if literal is not None and (not isinstance(literal, (bool, np.bool_, int, np.integer))
                                or literal not in (0, 1)):
        raise ValueError(f"literal={literal!r}; allowed: True (= mode='literal') or False")
    if literal is None:
        return MODES[mode or DEFAULT_MODE]
    if mode is None:
        return MODES["literal" if literal else DEFAULT_MODE]
    if (mode == "literal") != bool(literal):
        raise ValueError(f"literal={bool(literal)} contradicts mode={mode!r}: literal=True is "
                         "an alias of mode='literal'; give only mode")
    return MODES[mode]
