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

Exact shortcuts (on by default, each behind an option; ``literal=True`` turns all three off):

* ``line_recurrence``: the lines are computed by the max-plus recurrence of spec §4.2 from the
  same draws instead of one SimPy process per component; identical arrival times.
* ``skip_idle_loops``: while no output buffer holds a component, the truck's loop is
  deterministic (fixed distances at a fixed speed), so the truck jumps in closed form to the
  first check of a buffer that holds a component by then; identical truck times.
* ``sample_ticks``: ticks that find nothing to take change nothing; the rebuild draws the first
  tick after a component becomes takeable as ``now + Exp(12/day)`` instead of simulating every
  tick. By the memorylessness (strong Markov property) of the Poisson process this is exact in
  distribution; it uses the random stream differently, so single runs differ from the literal
  ticks but their distributions are the same (tests/test_make_or_buy_sim.py checks this).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import simpy

from scmgym import datasets
from scmgym.errors import DataError

__all__ = [
    "COLUMNS",
    "MAX_COUNT",
    "START_DATE",
    "MakeOrBuyInstance",
    "MakeOrBuyOrder",
    "MakeOrBuyResult",
    "MakeOrBuySimulation",
    "OrderRecord",
    "check_decisions",
    "expected_processing_time",
    "generate_make_or_buy_instance",
    "load_decisions",
    "load_instance",
    "make_instance",
    "simulate",
]

logger = logging.getLogger(__name__)

#: Columns of a make-or-buy dataset file, in order.
COLUMNS = ("id", "a", "b", "c", "deadline")
#: Model time 0 (the AnyLogic experiment's start date); deadlines are counted in days from it.
START_DATE = date(2024, 6, 19)
#: Largest component count per type (the original lists use RANDBETWEEN(0, 20)).
MAX_COUNT = 20
#: Revenue of an order made on time, made late, and bought (100 revenue - 30 cost).
REVENUE_ON_TIME, REVENUE_LATE, REVENUE_BOUGHT = 100, 50, 70
#: Assembly ticks per day (AnyLogic rate 0.5 per hour).
ASSEMBLY_RATE = 12.0

EmptyOrders = Literal["next_tick", "reject"]

_MIN, _HOUR, _SEC = 1 / 1440, 1 / 24, 1 / 86400
# Triangular distributions as (min, mode, max), in days (spec §4.2, §4.4).
_MOVE_IN = (1 * _MIN, 1.5 * _MIN, 2 * _MIN)  # input queue -> stage 1
_MOVE_STAGE = (0.5 * _HOUR, 1 * _HOUR, 1.5 * _HOUR)  # stage -> next stage
_MOVE_OUT = (1 * _HOUR, 1.5 * _HOUR, 2 * _HOUR)  # last stage -> output buffer
_STAGE_LONG = (5.0, 12.5, 20.0)  # stages 1 and 2
_STAGE_SHORT = (1.0, 1.5, 2.0)  # stage 3 of lines A and C
_TRUCK_PARK = (0.5, 1.0, 1.5)  # the truck's first (trip-time) move, days
_LOADING = (0.5 * _HOUR, 1 * _HOUR, 1.5 * _HOUR)
_UNLOADING = (0.5 * _SEC, 1 * _SEC, 1.5 * _SEC)
#: Mean of the exponential time at which the truck is created (AnyLogic Source default, 1 s).
_TRUCK_CREATE_MEAN = _SEC
#: The truck speed when the latch is off: 1 m/s in metres per day.
_DEFAULT_SPEED = 86400.0

# Draw columns per component: lines A and C (three stages) and line B (two stages).
_LINE3 = (_MOVE_IN, _STAGE_LONG, _MOVE_STAGE, _STAGE_LONG, _MOVE_STAGE, _STAGE_SHORT, _MOVE_OUT)
_LINE2 = (_MOVE_IN, _STAGE_LONG, _MOVE_STAGE, _STAGE_LONG, _MOVE_OUT)


@dataclass(frozen=True)
class _Rect:
    """A rectangle node (metres) and the point where its path attaches."""

    x0: float
    x1: float
    y0: float
    y1: float
    ax: float
    ay: float

    def interior(self, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
        """Distance from uniform points (given by uniforms ux, uy) to the attachment point."""
        x = self.x0 + ux * (self.x1 - self.x0)
        y = self.y0 + uy * (self.y1 - self.y0)
        return np.hypot(x - self.ax, y - self.ay)


# Network geometry of spec §4.6 (10 px = 1 m).
_TRUCK_AREA = _Rect(5, 40, 1, 11, 40, 5)
_TRUCK_AREA_EXIT = 15.0  # exit point -> node1 (14 m path + 1 m into the node)
# Per type: output rectangle, assembly-input rectangle, fixed metres check node -> output,
# output -> input (besides the two interiors), input -> check node.
_SERVE = (
    (_Rect(40, 48, 15, 35, 48, 25), _Rect(59, 67, 15, 35, 59, 25), 7.0, 11.0, 4.0),  # A, node2
    (_Rect(67, 102, 49, 55, 85, 49), _Rect(67, 102, 35, 41, 85, 41), 4.0, 8.0, 4.0),  # B, node3
    (_Rect(117, 125, 15, 35, 117, 25), _Rect(102, 110, 15, 35, 110, 25), 4.0, 7.0, 3.0),  # C
)
#: Loop legs after an empty check: A (node2) -> B (node3), B -> C (node4), C -> node1 -> A.
_LOOP_LEGS = ((50.0,), (48.0,), (78.0, 20.0))
_NODE1_TO_NODE2 = 20.0
_LOOP_M = 196.0


def _tri(u: np.ndarray, lo: Any, mode: Any, hi: Any) -> np.ndarray:
    """Inverse CDF of the triangular distribution (one uniform per sample, as AnyLogic)."""
    lo, mode, hi = (np.asarray(v, dtype=float) for v in (lo, mode, hi))
    width = hi - lo
    cut = (mode - lo) / width
    left = lo + np.sqrt(u * width * (mode - lo))
    right = hi - np.sqrt((1.0 - u) * width * (hi - mode))
    return np.where(u < cut, left, right)


def _tri_columns(u: np.ndarray, dists: Sequence[tuple[float, float, float]]) -> np.ndarray:
    lo, mode, hi = (np.array(col) for col in zip(*dists, strict=True))
    return _tri(u, lo, mode, hi)


# --------------------------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MakeOrBuyOrder:
    """One customer order.

    Attributes:
        order_id: 1..n, the position in the list (decision index ``order_id - 1``).
        a, b, c: components of type A, B, C needed (0..20).
        deadline: the due date (on time iff completed on or before 00:00 of this day).
        deadline_days: the deadline in model days (days after 2024-06-19).
    """

    order_id: int
    a: int
    b: int
    c: int
    deadline: date

    def __post_init__(self) -> None:
        for col in ("a", "b", "c"):
            value = getattr(self, col)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) \
                    or not 0 <= value <= MAX_COUNT:
                raise DataError("component count out of range", row=self.order_id + 1,
                                column=col, value=value,
                                allowed=f"an integer in [0, {MAX_COUNT}]")
        if not isinstance(self.deadline, date) or isinstance(self.deadline, datetime) \
                or self.deadline < START_DATE:
            raise DataError("deadline before the start date", row=self.order_id + 1,
                            column="deadline", value=str(self.deadline),
                            allowed=f"a date on or after {START_DATE.isoformat()}")

    @property
    def deadline_days(self) -> int:
        """Deadline in model days (days after 2024-06-19)."""
        return (self.deadline - START_DATE).days

    @property
    def counts(self) -> tuple[int, int, int]:
        """(a, b, c)."""
        return (self.a, self.b, self.c)

    @property
    def is_empty(self) -> bool:
        """True if the order needs no component (a = b = c = 0)."""
        return self.a == self.b == self.c == 0


@dataclass(frozen=True)
class MakeOrBuyInstance:
    """A validated list of orders; ids are 1..n in row order (any n >= 1).

    Build one with :func:`load_instance` (files, bundled names), :func:`make_instance` (rows)
    or :func:`generate_make_or_buy_instance` (random lists shaped like the originals).
    """

    name: str
    orders: tuple[MakeOrBuyOrder, ...]
    source: str = "<memory>"

    def __post_init__(self) -> None:
        if not self.orders:
            raise DataError("an instance needs at least one order", source=self.source)
        for i, o in enumerate(self.orders):
            if o.order_id != i + 1:
                raise DataError("order ids must be 1..n in row order", source=self.source,
                                row=i + 2, column="id", value=o.order_id, allowed=str(i + 1))

    def __len__(self) -> int:
        return len(self.orders)

    @property
    def n(self) -> int:
        """Number of orders."""
        return len(self.orders)

    def column(self, name: str) -> np.ndarray:
        """One column as an int64 array: ``"id"``, ``"a"``, ``"b"``, ``"c"`` or ``"deadline"``
        (in model days)."""
        getters = {
            "id": lambda o: o.order_id,
            "a": lambda o: o.a,
            "b": lambda o: o.b,
            "c": lambda o: o.c,
            "deadline": lambda o: o.deadline_days,
        }
        if name not in getters:
            raise KeyError(f"unknown column {name!r}; allowed: {', '.join(getters)}")
        return np.array([getters[name](o) for o in self.orders], dtype=np.int64)

    def to_rows(self) -> list[dict[str, Any]]:
        """The orders as rows with the file columns (deadline as an ISO date)."""
        return [{"id": o.order_id, "a": o.a, "b": o.b, "c": o.c,
                 "deadline": o.deadline.isoformat()} for o in self.orders]


def _parse_deadline(value: Any, *, source: str, row: int) -> date:
    """A deadline cell: a date, an ISO date string (a time of day is ignored, only the
    calendar date counts), or a Python int = days after the start date."""
    allowed = f"a date YYYY-MM-DD on or after {START_DATE.isoformat()}"
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        day = START_DATE + timedelta(days=int(value))
    else:
        text = str(value).strip()
        try:
            day = datetime.fromisoformat(text).date() if len(text) >= 10 else None
        except ValueError:
            day = None
        if day is None:
            raise DataError("not a date", source=source, row=row, column="deadline",
                            value=text, allowed=allowed)
    if day < START_DATE:
        raise DataError("deadline before the start date", source=source, row=row,
                        column="deadline", value=day.isoformat(), allowed=allowed)
    return day


def _count(value: Any, *, source: str, row: int, column: str) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = str(int(value))
    return datasets.parse_int(str(value).strip(), source=source, row=row, column=column,
                              minimum=0, maximum=MAX_COUNT)


def _instance(rows: Iterable[Mapping[str, Any]], name: str, source: str) -> MakeOrBuyInstance:
    orders = []
    for i, cells in enumerate(rows):
        row = i + 2
        for col in COLUMNS:
            if col not in cells:
                raise DataError("missing column", source=source, row=row, column=col,
                                allowed=f"columns {', '.join(COLUMNS)}")
        oid = datasets.parse_int(str(cells["id"]).strip(), source=source, row=row, column="id",
                                 minimum=1)
        a, b, c = (_count(cells[col], source=source, row=row, column=col) for col in "abc")
        deadline = _parse_deadline(cells["deadline"], source=source, row=row)
        orders.append(MakeOrBuyOrder(oid, a, b, c, deadline))
    if not orders:
        raise DataError("no orders", source=source, allowed="at least one data row")
    datasets.check_ids([o.order_id for o in orders], source=source, column="id", first=1)
    return MakeOrBuyInstance(name=name, orders=tuple(orders), source=source)


def load_instance(dataset: str | Path) -> MakeOrBuyInstance:
    """Load and validate a make-or-buy instance.

    Args:
        dataset: a bundled name (``"list1"``, ``"list2"``, ``"list3"``) or the path of a CSV or
            Excel file with the columns ``id, a, b, c, deadline``. Ids must be 1..n in row
            order (any n >= 1); counts are integers 0..20; deadlines are dates (ISO
            ``YYYY-MM-DD`` in a CSV, date cells in Excel) on or after 2024-06-19. Excel files
            are read as their cached cell values (the original files hold RANDBETWEEN
            formulas that are never recomputed).

    Raises:
        DataError: naming the file, row, column, value and what is allowed.

    >>> inst = load_instance("list1")
    >>> inst.n, inst.orders[0].counts, inst.orders[0].deadline_days
    (100, (18, 18, 5), 1449)
    """
    name, path = datasets.resolve(dataset, "make_or_buy")
    frame = datasets.read_table(path, required=COLUMNS)
    bundled = isinstance(dataset, str) and dataset in datasets.bundled_names("make_or_buy")
    source = str(dataset) if bundled else str(path)
    return _instance(frame.to_dict("records"), name, source)


def make_instance(
    rows: Iterable[Mapping[str, Any] | Sequence[Any]], name: str = "custom"
) -> MakeOrBuyInstance:
    """Build a validated instance from rows: mappings with the :data:`COLUMNS` keys, or
    5-tuples ``(id, a, b, c, deadline)``. A deadline is a date, an ISO date string, or an int
    (days after 2024-06-19).

    >>> make_instance([(1, 2, 0, 1, "2025-01-01")]).orders[0].deadline_days
    196
    """
    cells = [dict(zip(COLUMNS, r, strict=True)) if not isinstance(r, Mapping) else r for r in rows]
    return _instance(cells, name, f"<{name}>")


def generate_make_or_buy_instance(
    n_orders: int,
    seed: int | np.random.Generator | None = 0,
    *,
    max_count: int = MAX_COUNT,
    allow_empty: bool = False,
    deadline_scale: float | None = None,
    name: str | None = None,
) -> MakeOrBuyInstance:
    """A random instance shaped like the original lists, for generalisation studies.

    Counts are uniform integers 0..``max_count`` per type (the lists' RANDBETWEEN(0, 20));
    an order with a = b = c = 0 is redrawn unless ``allow_empty``. Deadlines follow the lists'
    two-part pattern (not sorted by id): the first half of the orders are due uniformly in
    days [800, 3300], the second half in [3000, 7000] (spread over years), both multiplied by
    ``deadline_scale``, by default ``n_orders / 100``, so that a list of any length is about as
    overloaded as the originals (making everything takes ~220 days per order).

    Args:
        n_orders: number of orders (>= 1).
        seed: seed or Generator.
        max_count: largest count per type (0..20).
        allow_empty: keep orders with a = b = c = 0.
        deadline_scale: multiplier of the deadline ranges (default ``n_orders / 100``).
        name: instance name (default ``"generated-n<n>-s<seed>"``).

    >>> inst = generate_make_or_buy_instance(5, seed=1)
    >>> inst.n, all(0 <= o.a <= 20 for o in inst.orders)
    (5, True)
    """
    if isinstance(n_orders, bool) or not isinstance(n_orders, (int, np.integer)) or n_orders < 1:
        raise DataError("n_orders must be a positive integer", value=n_orders,
                        allowed="an integer >= 1")
    if not 0 <= max_count <= MAX_COUNT or (max_count == 0 and not allow_empty):
        raise DataError("max_count out of range", value=max_count,
                        allowed=f"an integer in [1, {MAX_COUNT}] (0 only with allow_empty)")
    scale = n_orders / 100 if deadline_scale is None else float(deadline_scale)
    if not math.isfinite(scale) or scale <= 0:
        raise DataError("deadline_scale must be positive", value=deadline_scale,
                        allowed="a finite number > 0")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    counts = rng.integers(0, max_count + 1, size=(n_orders, 3))
    if not allow_empty:
        empty = ~counts.any(axis=1)
        while empty.any():
            counts[empty] = rng.integers(0, max_count + 1, size=(int(empty.sum()), 3))
            empty = ~counts.any(axis=1)
    first = np.arange(n_orders) < (n_orders + 1) // 2
    lo = np.where(first, 800.0, 3000.0) * scale
    hi = np.where(first, 3300.0, 7000.0) * scale
    days = np.maximum(np.rint(lo + rng.random(n_orders) * (hi - lo)).astype(int), 0)
    tag = "rng" if isinstance(seed, np.random.Generator) else seed
    label = name or f"generated-n{n_orders}-s{tag}"
    rows = [(i + 1, int(a), int(b), int(c), int(d))
            for i, ((a, b, c), d) in enumerate(zip(counts, days, strict=True))]
    return make_instance(rows, name=label)


def expected_processing_time(a: int, b: int, c: int) -> float:
    """A rough expected time (days) to make one order on the idle plant.

    The specification's rule of thumb (§12.2 fact 10): ``31 + 14.3 * (max(a, b, c) - 1)``
    days: the first component of the longest line arrives after ~27 days, every further one
    ~14.3 days later, and the truck and assembly add a few days. It is within ~4 % of the
    simulated single-order means for one type and underestimates orders that need all three
    types by ~5-10 days (the truck then carries three components per cycle). An empty order
    (a = b = c = 0) completes at the next assembly tick: 1/12 day.

    >>> expected_processing_time(1, 0, 0), expected_processing_time(20, 3, 7)
    (31.0, 302.7)
    """
    m = max(a, b, c)
    if m == 0:
        return 1.0 / ASSEMBLY_RATE
    return round(31.0 + 14.3 * (m - 1), 6)


def _decision_value(raw: Any) -> int | None:
    """0 or 1 from a bool, an integer-valued number or a "0"/"1" string; None otherwise."""
    value: int | None = None
    if isinstance(raw, (bool, np.bool_, int, np.integer)):
        value = int(raw)
    elif isinstance(raw, (float, np.floating)) and float(raw).is_integer():
        value = int(raw)
    elif isinstance(raw, str) and raw.strip() in ("0", "1"):
        value = int(raw.strip())
    return value if value in (0, 1) else None


def check_decisions(
    instance: MakeOrBuyInstance, decisions: Sequence[Any] | np.ndarray | str, *,
    source: str = "decisions",
) -> tuple[int, ...]:
    """Validate a decision vector: one 0 (make) or 1 (buy) per order, by position.

    ``decisions[k]`` is the decision for the order with id ``k + 1``. A string of ``0``/``1``
    characters is accepted too (e.g. ``"0110"``).

    Raises:
        DataError: wrong length, or a value other than 0/1 (naming its position and order id).

    >>> check_decisions(make_instance([(1, 1, 0, 0, 9), (2, 0, 1, 0, 9)]), "01")
    (0, 1)
    """
    n = instance.n
    items = list(decisions.strip()) if isinstance(decisions, str) else list(
        np.asarray(decisions, dtype=object).ravel()) if isinstance(decisions, np.ndarray) \
        else list(decisions)
    if len(items) != n:
        raise DataError("wrong number of decisions", source=source,
                        value=f"{len(items)} decisions",
                        allowed=f"{n} decisions, one per order (ids 1..{n})")
    out = []
    for pos, raw in enumerate(items):
        value = _decision_value(raw)
        if value is None:
            raise DataError("not a decision", source=source,
                            column=f"position {pos} (order id {pos + 1})", value=raw,
                            allowed="0 (make) or 1 (buy)")
        out.append(value)
    return tuple(out)


def load_decisions(path: str | Path, instance: MakeOrBuyInstance) -> tuple[int, ...]:
    """Read a decision file: CSV or Excel with the columns ``id, decision``, one row per order
    in id order (ids 1..n), decision 0 (make) or 1 (buy).

    Raises:
        DataError: naming the file, row, column, value and what is allowed (a missing file or
            column, a wrong id, a value other than 0/1, or a row count that is not n).
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError("no such decision file", value=str(path),
                        allowed="the path of an existing CSV or Excel file with columns "
                        "id, decision")
    src = str(file)
    frame = datasets.read_table(file, required=("id", "decision"))
    ids = [datasets.parse_int(str(v), source=src, row=i + 2, column="id", minimum=1)
           for i, v in enumerate(frame["id"])]
    datasets.check_ids(ids, source=src, column="id", first=1)
    values = tuple(datasets.parse_int(str(v), source=src, row=i + 2, column="decision",
                                      minimum=0, maximum=1)
                   for i, v in enumerate(frame["decision"]))
    if len(ids) != instance.n:
        raise DataError("wrong number of decisions", source=src, value=f"{len(ids)} rows",
                        allowed=f"{instance.n} rows, one per order of {instance.name} "
                        f"(ids 1..{instance.n})")
    return values


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRecord:
    """What happened to one order (times in model days).

    Attributes:
        order_id: the order (1..n).
        decision: 0 made, 1 bought.
        start: the time it was dispatched (the previous made order's completion, 0 first).
        completion: made: the assembly tick that took its last component; bought: ``start``.
        last_delivery: made: when the truck delivered the order's last component to the
            assembly input (``start`` for an order without components); bought: ``start``.
        deadline_days: its deadline in model days.
        on_time: made: ``completion <= deadline_days``; bought: always True.
        lateness: days after the deadline, ``max(0, completion - deadline_days)``; 0 when on
            time and for bought orders.
    """

    order_id: int
    decision: int
    start: float
    completion: float
    last_delivery: float
    deadline_days: int
    on_time: bool
    lateness: float


@dataclass(frozen=True)
class MakeOrBuyResult:
    """The outcome of one make-or-buy simulation.

    Attributes:
        revenue: ``100 * on_time + 50 * late - 30 * bought``.
        on_time: orders counted on time, bought ones included (the model's counter).
        late: made orders completed after their deadline day.
        bought: bought orders.
        end_time: time at which the last order was done (the run's end).
        truck_speed: the truck speed in metres per day for the whole run.
        records: one :class:`OrderRecord` per order, in id order.
    """

    revenue: int
    on_time: int
    late: int
    bought: int
    end_time: float
    truck_speed: float
    records: tuple[OrderRecord, ...] = field(repr=False)

    @property
    def made(self) -> int:
        """Number of made orders."""
        return self.on_time + self.late - self.bought

    @property
    def made_on_time(self) -> int:
        """Made orders completed on time."""
        return self.on_time - self.bought

    @property
    def decisions(self) -> tuple[int, ...]:
        """The decision vector simulated."""
        return tuple(r.decision for r in self.records)

    def completion_times(self) -> np.ndarray:
        """Completion time per order (float array, id order)."""
        return np.array([r.completion for r in self.records], dtype=float)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with the per-order records."""
        return {
            "revenue": self.revenue,
            "on_time": self.on_time,
            "late": self.late,
            "bought": self.bought,
            "made": self.made,
            "made_on_time": self.made_on_time,
            "end_time": self.end_time,
            "truck_speed": self.truck_speed,
            "orders": [r.__dict__.copy() for r in self.records],
        }


# --------------------------------------------------------------------------------------------
# The SimPy model
# --------------------------------------------------------------------------------------------


def _line_recurrence(t0: float, draws: list[list[float]], stages: int) -> list[float]:
    """Arrival times in the output buffer of one blocking serial line (spec §4.2).

    ``draws`` rows are per component: (m1, S1, m2, S2, m3, S3, m4) for three stages, or
    (m1, S1, m2, S2, m4) for two.
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
        truck_speed_latch, empty_orders, literal, line_recurrence, skip_idle_loops,
            sample_ticks: see :func:`simulate`.
    """

    def __init__(
        self,
        instance: MakeOrBuyInstance,
        *,
        seed: int | np.random.Generator | None = 0,
        decisions: Sequence[Any] | np.ndarray | str | None = None,
        truck_speed_latch: bool = True,
        empty_orders: EmptyOrders = "next_tick",
        literal: bool = False,
        line_recurrence: bool | None = None,
        skip_idle_loops: bool | None = None,
        sample_ticks: bool | None = None,
    ) -> None:
        if empty_orders not in ("next_tick", "reject"):
            raise ValueError(f"empty_orders={empty_orders!r}; allowed: 'next_tick', 'reject'")
        self.instance = instance
        self.truck_speed_latch = bool(truck_speed_latch)
        self.empty_orders = empty_orders
        self.line_recurrence = (not literal) if line_recurrence is None else bool(line_recurrence)
        self.skip_idle_loops = (not literal) if skip_idle_loops is None else bool(skip_idle_loops)
        self.sample_ticks = (not literal) if sample_ticks is None else bool(sample_ticks)
        if self.skip_idle_loops and not self.line_recurrence:
            raise ValueError("skip_idle_loops=True needs line_recurrence=True (the closed-form "
                             "truck needs the output-buffer arrival times in advance)")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self._rng = rng
        # The assembly ticks draw from a child stream of the run's generator, so that the
        # lines and the truck see the same draws whichever tick mode is used.
        self._tick_rng = rng.spawn(1)[0]
        self._ticks: list[float] = []
        n = instance.n
        self._decisions: list[int] = []
        self._start = [math.nan] * n
        self._completion = [math.nan] * n
        self._last_delivery = [math.nan] * n
        self._on_time = [True] * n
        self.on_time = self.late = self.bought = 0
        # Truck: created at Exp(1 s), then a trip-time move of T0 days from a random point of
        # the truck area to node1 that (latch on) fixes its speed to D0 / T0 for the run.
        created = float(rng.exponential(_TRUCK_CREATE_MEAN))
        u = rng.random(3)
        d0 = float(_TRUCK_AREA.interior(u[0], u[1])) + _TRUCK_AREA_EXIT
        t0 = float(_tri(u[2], *_TRUCK_PARK))
        self.truck_speed = d0 / t0 if self.truck_speed_latch else _DEFAULT_SPEED
        self._truck_created, self._truck_park = created, t0
        # State of the order in process.
        self._active: int | None = None
        self._need = [0, 0, 0]
        self._din = [0, 0, 0]  # components waiting at the assembly inputs
        self._arrivals: list[list[float]] = [[], [], []]  # output-buffer arrivals (this order)
        self._taken = [0, 0, 0]  # components the truck has taken from each output buffer
        self._out_count = [0, 0, 0]  # literal lines: components in each output buffer
        self._trips: list[list[tuple[float, float, float, float, float]]] = [[], [], []]
        # SimPy plumbing.
        env = simpy.Environment()
        self.env = env
        self._pause = env.event()
        self._resume: simpy.Event | None = None
        self._complete: simpy.Event | None = None
        self._wake: simpy.Event | None = None
        self._work: simpy.Event | None = None
        self._finished = False
        if decisions is not None:
            self._decisions.extend(self._checked_prefix(decisions))
        env.process(self._dispatcher())
        env.process(self._truck_fast() if self.skip_idle_loops else self._truck_literal())
        env.process(self._assembly_sampled() if self.sample_ticks else self._assembly_literal())
        env.run(until=self._pause)

    # -- driving -------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Plant time (days): when the next order is dispatched, or the end time when done."""
        return float(self.env.now)

    @property
    def done(self) -> bool:
        """True once every order has been dispatched and completed."""
        return self._finished

    @property
    def next_order(self) -> MakeOrBuyOrder | None:
        """The order awaiting a decision (None when done)."""
        k = len(self._decisions)
        return None if self._finished or k >= self.instance.n else self.instance.orders[k]

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
        k = len(self._decisions)
        if self._finished or k >= self.instance.n:
            raise RuntimeError("all orders have been decided; the run is over")
        value = _decision_value(decision)
        if value is None:
            raise DataError("not a decision", source=f"decision for order id {k + 1}",
                            value=decision, allowed="0 (make) or 1 (buy)")
        self._check_empty(k, value)
        self._decisions.append(value)
        if self._resume is not None:
            resume, self._resume = self._resume, None
            self._pause = self.env.event()
            resume.succeed()
            self.env.run(until=self._pause)

    def result(self) -> MakeOrBuyResult:
        """The result of the finished run.

        Raises:
            RuntimeError: the run is not finished (some order still lacks a decision).
        """
        if not self._finished:
            raise RuntimeError(f"the run is not finished: {len(self._decisions)} of "
                               f"{self.instance.n} orders decided")
        records = []
        for k, o in enumerate(self.instance.orders):
            done = self._completion[k]
            x = self._decisions[k]
            records.append(OrderRecord(
                order_id=o.order_id, decision=x, start=self._start[k], completion=done,
                last_delivery=self._last_delivery[k],
                deadline_days=o.deadline_days, on_time=self._on_time[k],
                lateness=0.0 if x == 1 else max(0.0, done - o.deadline_days),
            ))
        revenue = (REVENUE_ON_TIME * self.on_time + REVENUE_LATE * self.late
                   - (REVENUE_ON_TIME - REVENUE_BOUGHT) * self.bought)
        return MakeOrBuyResult(revenue=revenue, on_time=self.on_time, late=self.late,
                               bought=self.bought, end_time=self.now,
                               truck_speed=self.truck_speed, records=tuple(records))

    # -- processes -----------------------------------------------------------------------

    def _dispatcher(self):
        env = self.env
        for k, order in enumerate(self.instance.orders):
            if k >= len(self._decisions):
                self._resume = env.event()
                self._pause.succeed()
                yield self._resume
            self._start[k] = env.now
            self._last_delivery[k] = env.now
            if self._decisions[k] == 1:
                self.bought += 1
                self.on_time += 1
                self._completion[k] = env.now
                continue
            self._complete = env.event()
            self._begin(k, order)
            yield self._complete
        self._finished = True
        self._pause.succeed()

    def _begin(self, k: int, order: MakeOrBuyOrder) -> None:
        """Inject a made order's components: draw its line and truck times, start the lines."""
        rng, now = self._rng, self.env.now
        self._active = k
        self._need = list(order.counts)
        self._taken = [0, 0, 0]
        self._din = [0, 0, 0]
        lines = []
        for j, count in enumerate(order.counts):
            dists = _LINE2 if j == 1 else _LINE3
            lines.append(_tri_columns(rng.random((count, len(dists))), dists).tolist())
        v = self.truck_speed
        for j, count in enumerate(order.counts):
            out_rect, in_rect, to_out, carry, back = _SERVE[j]
            u = rng.random((count, 6))
            d_out = out_rect.interior(u[:, 0], u[:, 1])
            d_in = in_rect.interior(u[:, 3], u[:, 4])
            load = _tri(u[:, 2], *_LOADING)
            unload = _tri(u[:, 5], *_UNLOADING)
            legs = np.column_stack([(to_out + d_out) / v, load, (d_out + carry + d_in) / v,
                                    unload, (d_in + back) / v])
            self._trips[j] = [tuple(row) for row in legs.tolist()]
        if self.line_recurrence:
            self._arrivals = [_line_recurrence(now, lines[j], 2 if j == 1 else 3)
                              for j in range(3)]
        else:
            self._arrivals = [[], [], []]
            for j in range(3):
                stages = 2 if j == 1 else 3
                zones = [simpy.Resource(self.env, capacity=1) for _ in range(stages)]
                for d in lines[j]:
                    self.env.process(self._component(j, d, zones))
        if self._work is not None and not self._work.triggered:
            self._work.succeed()
        if order.is_empty:
            self._wake_assembly()

    def _component(self, j: int, d: list[float], zones: list[simpy.Resource]):
        """Literal line: one component through its zones (blocking after service)."""
        env = self.env
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
        self._arrivals[j].append(env.now)
        self._out_count[j] += 1

    def _available(self, j: int, t: float) -> bool:
        if self.line_recurrence:
            i = self._taken[j]
            arr = self._arrivals[j]
            return i < len(arr) and arr[i] <= t
        return self._out_count[j] > 0

    def _take(self, j: int) -> None:
        self._taken[j] += 1
        if not self.line_recurrence:
            self._out_count[j] -= 1

    def _deliver(self, j: int) -> None:
        self._din[j] += 1
        self._last_delivery[self._active] = self.env.now
        self._wake_assembly()

    def _truck_literal(self):
        """The truck leg by leg: every idle loop is simulated."""
        env, v = self.env, self.truck_speed
        yield env.timeout(self._truck_created)
        yield env.timeout(self._truck_park)
        yield env.timeout(_NODE1_TO_NODE2 / v)
        c = 0
        while True:
            while self._available(c, env.now):
                to_out, load, carry, unload, back = self._trips[c][self._taken[c]]
                yield env.timeout(to_out)
                yield env.timeout(load)
                self._take(c)
                yield env.timeout(carry)
                yield env.timeout(unload)
                self._deliver(c)
                yield env.timeout(back)
            for leg in _LOOP_LEGS[c]:
                yield env.timeout(leg / v)
            c = (c + 1) % 3

    def _next_check(self, c: int, t: float) -> tuple[int, float] | None:
        """After an empty check of buffer ``c`` at time ``t``: the first later check that
        finds a component, as (buffer, time), or None if no component is on its way."""
        v = self.truck_speed
        period = _LOOP_M / v
        best: tuple[int, float] | None = None
        offset = 0.0
        for step in (1, 2, 3):
            offset += sum(_LOOP_LEGS[(c + step - 1) % 3]) / v
            j = (c + step) % 3
            i = self._taken[j]
            arr = self._arrivals[j]
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

    def _truck_fast(self):
        """The truck with idle loops skipped in closed form (exact: the idle loop is
        deterministic); serving trips are one timeout to the delivery and one back."""
        env = self.env
        yield env.timeout(self._truck_created + self._truck_park
                          + _NODE1_TO_NODE2 / self.truck_speed)
        c = 0
        while True:
            if self._available(c, env.now):
                to_out, load, carry, unload, back = self._trips[c][self._taken[c]]
                self._take(c)
                yield env.timeout(to_out + load + carry + unload)
                self._deliver(c)
                yield env.timeout(back)
                continue
            t_empty = env.now
            nxt = self._next_check(c, t_empty)
            while nxt is None:
                self._work = env.event()
                yield self._work
                self._work = None
                nxt = self._next_check(c, t_empty)
            c, when = nxt
            yield env.timeout(when - env.now)

    def _next_tick_gap(self) -> float:
        if not self._ticks:
            self._ticks = (self._tick_rng.standard_exponential(4096) / ASSEMBLY_RATE).tolist()
            self._ticks.reverse()
        return self._ticks.pop()

    def _takeable(self) -> bool:
        if self._active is None:
            return False
        need, din = self._need, self._din
        if need[0] == need[1] == need[2] == 0:
            return True  # an empty order: complete at the next tick
        return (din[0] > 0 and need[0] > 0) or (din[1] > 0 and need[1] > 0) or \
            (din[2] > 0 and need[2] > 0)

    def _wake_assembly(self) -> None:
        if self._wake is not None and not self._wake.triggered and self._takeable():
            self._wake.succeed()

    def _assembly_literal(self):
        """Assembly D: every tick of the Poisson process (rate 12 per day)."""
        env = self.env
        while True:
            yield env.timeout(self._next_tick_gap())
            self._tick()

    def _assembly_sampled(self):
        """Assembly D, sampling only the first tick after a component becomes takeable."""
        env = self.env
        while True:
            if not self._takeable():
                self._wake = env.event()
                yield self._wake
                self._wake = None
            yield env.timeout(self._next_tick_gap())
            self._tick()

    def _tick(self) -> None:
        """One assembly tick: take at most one waiting component of each needed type."""
        k = self._active
        if k is None:
            return
        need, din = self._need, self._din
        for j in range(3):
            if need[j] > 0 and din[j] > 0:
                need[j] -= 1
                din[j] -= 1
        if need[0] == need[1] == need[2] == 0:
            now = self.env.now
            deadline = self.instance.orders[k].deadline_days
            self._completion[k] = now
            if now - deadline <= 0:
                self.on_time += 1
            else:
                self.late += 1
                self._on_time[k] = False
            self._active = None
            self._complete.succeed()


def simulate(
    instance: MakeOrBuyInstance,
    decisions: Sequence[Any] | np.ndarray | str,
    *,
    seed: int | np.random.Generator | None = 0,
    truck_speed_latch: bool = True,
    empty_orders: EmptyOrders = "next_tick",
    literal: bool = False,
    line_recurrence: bool | None = None,
    skip_idle_loops: bool | None = None,
    sample_ticks: bool | None = None,
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
        literal: turn every shortcut off (tick-by-tick assembly, loop-by-loop truck, one
            SimPy process per component). Same distribution, 10-100 times slower.
        line_recurrence: compute the lines by their recurrence (default: not ``literal``).
        skip_idle_loops: skip the truck's idle loops in closed form (default: not
            ``literal``).
        sample_ticks: draw only the first assembly tick after a component becomes takeable
            (default: not ``literal``).

    Raises:
        DataError: the decisions are not valid for the instance.

    >>> r = simulate(load_instance("list1"), [1] * 100)
    >>> r.revenue, r.bought, r.end_time
    (7000, 100, 0.0)
    """
    sim = MakeOrBuySimulation(
        instance, seed=seed, decisions=decisions, truck_speed_latch=truck_speed_latch,
        empty_orders=empty_orders, literal=literal, line_recurrence=line_recurrence,
        skip_idle_loops=skip_idle_loops, sample_ticks=sample_ticks,
    )
    result = sim.result()
    logger.debug("make-or-buy %s: revenue %d (on time %d, late %d, bought %d), end %.1f d",
                 instance.name, result.revenue, result.on_time, result.late, result.bought,
                 result.end_time)
    return result
