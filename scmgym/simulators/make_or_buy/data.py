"""Orders and decisions: the instance types, their loaders and generator, decision checks.

An instance is the order list of spec §3.1 (ids 1..n in row order, counts 0..20 per type, a
deadline date); a decision vector holds one 0 (make) or 1 (buy) per order, by position.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from scmgym import datasets
from scmgym.errors import DataError
from scmgym.simulators.make_or_buy.spec import ASSEMBLY_RATE, MAX_COUNT, START_DATE

#: Columns of a make-or-buy dataset file, in order.
COLUMNS = ("id", "a", "b", "c", "deadline")


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


def decision_value(raw: Any) -> int | None:
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
        value = decision_value(raw)
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
