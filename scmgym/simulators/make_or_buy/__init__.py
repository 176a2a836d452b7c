"""The ABCD make-or-buy plant ("ABCD production") as a SimPy model.

A rebuild of the AnyLogic model of the ELDT study (plant specification §4); times are in days,
model time 0 is 2024-06-19.

* Orders are dispatched one at a time, in list order. For each order the decision is 0 (make)
  or 1 (buy). A bought order is done at once, on time, for +70 (100 revenue - 30 cost); it takes
  no time and draws no random number.
* A made order needing ``a`` A, ``b`` B and ``c`` C components injects them into three blocking
  serial lines (A and C: three stages, B: two), each stage holding one component, with
  triangular stage and move times. Finished components wait in an output buffer per type.
* One truck polls the A, B and C output buffers in a loop and carries one component per trip
  to the assembly input of that type. Its first move is a trip-time move that, in AnyLogic,
  sets its speed for the whole run (the *speed latch*, ``truck_speed_latch=True``).
* Assembly D fires at the ticks of a Poisson process (12 per day); each tick takes at most one
  waiting component of each type the current order still needs. The order is complete at the
  tick that takes its last component: +100 if that is on or before its deadline day, +50 if
  not. Only then is the next order dispatched.
* Revenue = 100 * on_time + 50 * late - 30 * bought, where ``on_time`` counts bought orders too
  (as the model's counter does): = 70 * n + 30 * (made on time) - 20 * (made late).

Exact shortcuts, chosen by the run's ``mode`` (default ``"fast"``: all three; ``"literal"``,
or its alias ``literal=True``: none; see :mod:`.shortcuts` for the modes in between):

* line recurrence: the lines are computed by the max-plus recurrence of spec §4.2 from the
  same draws instead of one SimPy process per component; identical arrival times.
* idle-loop skipping: while no output buffer holds a component, the truck's loop is
  deterministic (fixed distances at a fixed speed), so the truck jumps in closed form to the
  first check of a buffer that holds a component by then; identical truck times.
* sampled ticks: ticks that find nothing to take change nothing; the rebuild draws the first
  tick after a component becomes takeable as ``now + Exp(12/day)`` instead of simulating every
  tick. By the memorylessness (strong Markov property) of the Poisson process this is exact in
  distribution; it uses the random stream differently, so single runs differ from the literal
  ticks but their distributions are the same (tests/test_make_or_buy_sim.py checks this).

The subpackage follows the specification:

* :mod:`.spec`: the plant's constants, with units (times, distances, revenues, geometry);
* :mod:`.data`: orders and instances, their loaders and generator, decision checks;
* :mod:`.model`: the literal model, one small SimPy generator per actor (dispatcher, lines,
  truck, assembly);
* :mod:`.shortcuts`: the exact shortcuts as replacement actors, and the modes;
* :mod:`.stepper`: :class:`MakeOrBuySimulation` (a run driven decision by decision) and
  :func:`simulate`;
* :mod:`.result`: :class:`OrderRecord` and :class:`MakeOrBuyResult`;
* :mod:`.fast`: the compiled engine (``engine="fast"``): mode ``"fast"`` in numba, the same
  run for the same seed, and :func:`simulate_many` (revenues of many candidates at once).
"""

from __future__ import annotations

from scmgym.simulators.make_or_buy.data import (
    COLUMNS,
    MakeOrBuyInstance,
    MakeOrBuyOrder,
    check_decisions,
    expected_processing_time,
    generate_make_or_buy_instance,
    load_decisions,
    load_instance,
    make_instance,
)
from scmgym.simulators.make_or_buy.model import (
    triangular as _tri,  # noqa: F401  (the private names the tests use)
)
from scmgym.simulators.make_or_buy.model import (
    triangular_columns as _tri_columns,  # noqa: F401
)
from scmgym.simulators.make_or_buy.result import MakeOrBuyResult, OrderRecord
from scmgym.simulators.make_or_buy.shortcuts import (
    DEFAULT_MODE,
    MODES,
    Mode,
    ModeName,
    resolve_mode,
)
from scmgym.simulators.make_or_buy.shortcuts import (
    line_recurrence as _line_recurrence,  # noqa: F401
)
from scmgym.simulators.make_or_buy.spec import (
    ASSEMBLY_RATE,
    MAX_COUNT,
    REVENUE_BOUGHT,
    REVENUE_LATE,
    REVENUE_ON_TIME,
    START_DATE,
)
from scmgym.simulators.make_or_buy.stepper import (
    ENGINES,
    EmptyOrders,
    Engine,
    MakeOrBuySimulation,
    logger,  # noqa: F401
    open_simulation,
    resolve_engine,
    simulate,
)

__all__ = [
    "ASSEMBLY_RATE",
    "COLUMNS",
    "DEFAULT_MODE",
    "ENGINES",
    "MAX_COUNT",
    "MODES",
    "REVENUE_BOUGHT",
    "REVENUE_LATE",
    "REVENUE_ON_TIME",
    "START_DATE",
    "EmptyOrders",
    "Engine",
    "MakeOrBuyInstance",
    "MakeOrBuyOrder",
    "MakeOrBuyResult",
    "MakeOrBuySimulation",
    "Mode",
    "ModeName",
    "OrderRecord",
    "check_decisions",
    "expected_processing_time",
    "generate_make_or_buy_instance",
    "load_decisions",
    "load_instance",
    "make_instance",
    "open_simulation",
    "resolve_engine",
    "resolve_mode",
    "simulate_many",
    "simulate",
]


def simulate_many(instance, decisions, seeds, *, truck_speed_latch=True,
                  empty_orders="next_tick", engine="fast", records=False):
    """The revenue of each (decision vector, seed) pair, as an int64 array (or, with
    ``records=True``, the whole :class:`MakeOrBuyResult` of each).

    ``decisions`` is one vector per seed (m, n), or one vector that every seed simulates;
    ``seeds`` has one seed per run. ``simulate_many(...)[i]`` equals
    ``simulate(instance, decisions[i], seed=seeds[i]).revenue`` on either engine; ``"fast"``
    (default) runs them in the compiled engine without building records. See
    :func:`scmgym.simulators.make_or_buy.fast.revenues`.

    >>> simulate_many(load_instance("list1"), [1] * 100, [0, 1]).tolist()
    [7000, 7000]
    >>> [r.bought for r in simulate_many(load_instance("list1"), [1] * 100, [0], records=True)]
    [100]
    """
    import numpy as np

    if not records and resolve_engine(engine) == "fast":
        from scmgym.simulators.make_or_buy.fast import revenues

        return revenues(instance, decisions, seeds, truck_speed_latch=truck_speed_latch,
                        empty_orders=empty_orders)
    seeds = list(np.atleast_1d(seeds))
    if isinstance(decisions, str) or np.ndim(decisions) == 1:
        decisions = [decisions] * len(seeds)
    if len(decisions) != len(seeds):
        raise ValueError(f"{len(decisions)} decision vectors and {len(seeds)} seeds: give one "
                         "vector per seed, or one vector")
    results = [simulate(instance, x, seed=int(s), truck_speed_latch=truck_speed_latch,
                        empty_orders=empty_orders, engine=engine)
               for x, s in zip(decisions, seeds, strict=True)]
    if records:
        return results
    return np.array([r.revenue for r in results], dtype=np.int64)
