"""The Adige hybrid flow shop (laser-cutting-machine assembly plant) as a SimPy model.

A faithful rebuild of the AnyLogic model of the ELDT study; the rules and every number follow the
plant specification (day-stepped, priority-driven dispatching):

* Orders wait for one of ``stations`` (20; see :class:`PlantOptions`) identical assembly
  stations. Once admitted, an order goes through the production days of its machine type; each
  production day needs a fixed number of M (mechanical), E (electrical) and R (final test)
  workers.
* Once a day (the *daily update*) every worker is freed, then orders are visited in descending
  priority. A station is given to a waiting order whenever one is free (materials are not checked
  at admission). An order on a station first advances if yesterday's requirement was met; it then
  gets its whole requirement for the current production day or nothing (first fit), provided the
  basement has arrived and, from the type's panel threshold day on, the electrical panel too.
* A finished machine keeps its station until the single daily truck takes it (highest priority
  first; a machine finished in an update can leave with that update's truck). The truck frees the
  station 5 h later and reaches the logistics centre after a triangular(24, 30, 36) h trip and a
  triangular(1, 2, 3) h unloading: always between the next two updates. The machine is delivered at
  the first update on or after its due date once it is there: ``max(pickup + 2, due)``.
* The makespan is the day of the update in which the last order is delivered.

The only random draws are the truck times, which can never change a day-level result; with the
same instance, priorities and workers the makespan is deterministic.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import simpy

from scmgym import datasets
from scmgym.errors import DataError, InfeasibleError, SimulationLimitError

__all__ = [
    "COLUMNS",
    "STATION_NAMES",
    "MACHINE_TYPES",
    "TYPE_CODES",
    "HFSInstance",
    "HFSOrder",
    "HFSResult",
    "MachineType",
    "OrderRecord",
    "PlantOptions",
    "Workers",
    "check_feasible",
    "default_max_days",
    "edd_order",
    "identity_order",
    "load_instance",
    "load_priority_file",
    "lower_bound",
    "lower_bounds",
    "make_instance",
    "priority_order",
    "reverse_order",
    "simulate",
    "simulate_many",
]

#: Columns of an HFS dataset file, in order.
COLUMNS = (
    "order_id",
    "machine_type",
    "date_basement_arrival",
    "date_electrical_panel_arrival",
    "date_delivery",
)

#: Hours from model start to the first daily update (day 1); any positive value gives the same
#: result.
FIRST_UPDATE_H = 120.0
#: Hours between two daily updates.
DAY_H = 24.0
#: Time from the truck's arrival at the delivery area to the machine leaving it (station freed).
TRUCK_LOADING_H = 5.0
#: Truck trip to the logistics centre, triangular (min, mode, max) in hours (AnyLogic
#: triangular(1, 1.5) days).
TRUCK_TRIP_H = (24.0, 30.0, 36.0)
#: Unloading at the logistics centre, triangular (min, mode, max) in hours: triangular(1, 3) hours.
TRUCK_UNLOAD_H = (1.0, 2.0, 3.0)

#: Days added to the longest feasible run to get the default day cap of :func:`default_max_days`.
MAX_DAYS_MARGIN_D = 10
#: The latest day a date of an order may name (about 27 years of daily updates; the bundled
#: datasets reach day 1200). The plant is simulated day by day up to the latest due date, so
#: a date beyond this is a data error, not a run that would not end.
MAX_DATE_DAY = 10_000

#: The 20 station names of the plant, in the order in which free stations are taken.
STATION_NAMES = tuple(f"{row}{k}" for row in "ABCDE" for k in range(1, 5))

Engine = Literal["simpy", "fast"]
_ENGINES: tuple[Engine, ...] = ("simpy", "fast")
_fast_warned = False

PickupMode = Literal["same_update", "next_update"]
_PICKUP_MODES: tuple[PickupMode, ...] = ("same_update", "next_update")


@dataclass(frozen=True)
class PlantOptions:
    """The plant's layout and shipping rule; the defaults are those of the original model.

    Attributes:
        stations: assembly stations (20 in the plant); an integer >= 1.
        trucks_per_day: machines shipped per daily update (1 in the plant); an integer >= 1.
        pickup: ``"same_update"`` (the model's behaviour): a machine found finished in an update
            can leave with that update's truck. ``"next_update"``: it waits for the next truck
            (makes every reference makespan exactly one day longer).

    Raises:
        DataError: a count that is not an integer, or an unknown ``pickup`` rule.
        InfeasibleError: ``stations`` or ``trucks_per_day`` below 1 (the run could never end).

    >>> PlantOptions(pickup="next_update")
    PlantOptions(stations=20, trucks_per_day=1, pickup='next_update')
    """

    stations: int = 20
    trucks_per_day: int = 1
    pickup: PickupMode = "same_update"

    def __post_init__(self) -> None:
        object.__setattr__(self, "stations", _plant_count(
            "stations", self.stations, "no order could ever be admitted"))
        object.__setattr__(self, "trucks_per_day", _plant_count(
            "trucks_per_day", self.trucks_per_day, "no machine could ever leave"))
        if not isinstance(self.pickup, str) or self.pickup not in _PICKUP_MODES:
            raise DataError("invalid plant option pickup", value=self.pickup,
                            allowed=" or ".join(map(repr, _PICKUP_MODES)))

    @classmethod
    def of(cls, options: PlantOptions | None = None, /, **legacy: Any) -> PlantOptions:
        """The options of a call given either ``options`` or the keywords of its fields.

        Keeps the older call style ``simulate(..., stations=4, pickup="next_update")`` working:
        the keywords build a :class:`PlantOptions`; with neither, the defaults apply.

        Raises:
            TypeError: a keyword that is not a field, both ``options`` and keywords, or an
                ``options`` that is not a :class:`PlantOptions`.
        """
        unknown = [key for key in legacy if key not in _PLANT_FIELDS]
        if unknown:
            raise TypeError(f"unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
                            f"allowed plant keywords: {', '.join(_PLANT_FIELDS)} (or "
                            "options=PlantOptions(...))")
        if options is None:
            return cls(**legacy)
        if not isinstance(options, PlantOptions):
            raise TypeError(f"options must be a PlantOptions or None, got "
                            f"{type(options).__name__}")
        if legacy:
            raise TypeError(f"give options= or the keyword(s) {', '.join(legacy)}, not both")
        return options


_PLANT_FIELDS = ("stations", "trucks_per_day", "pickup")


def _plant_count(name: str, value: Any, consequence: str) -> int:
    """A count option as an int: an integer (or an integral float) >= 1."""
    integral = isinstance(value, int | np.integer) or (
        isinstance(value, float | np.floating) and float(value).is_integer())
    if isinstance(value, bool | np.bool_) or not integral:
        raise DataError(f"invalid plant option {name}", value=value, allowed="an integer >= 1")
    count = int(value)
    if count < 1:
        raise InfeasibleError(f"{name}={count}: {consequence}; allowed: {name} >= 1")
    return count


@dataclass(frozen=True)
class MachineType:
    """One machine type: its daily worker requirements and electrical-panel threshold.

    Attributes:
        name: the type string used in the datasets (``"lt8_p_ula"``).
        code: the integer code of the 12-type map (spec §3.3), used in observations.
        panel_threshold: the first production day that needs the electrical panel (2 or 3).
        m, e, r: workers needed on production days 1, 2, ... (one entry per day).
    """

    name: str
    code: int
    panel_threshold: int
    m: tuple[int, ...]
    e: tuple[int, ...]
    r: tuple[int, ...]

    @property
    def days(self) -> int:
        """Number of production days D."""
        return len(self.m)

    @property
    def requirements(self) -> tuple[tuple[int, int, int], ...]:
        """(M, E, R) needed on each production day."""
        return tuple(zip(self.m, self.e, self.r, strict=True))


def _machine_type(name: str, code: int, thr: int, m: str, e: str, r: str) -> MachineType:
    if not len(m) == len(e) == len(r):
        raise AssertionError(f"requirement strings of {name} differ in length")
    return MachineType(name, code, thr, *(tuple(int(ch) for ch in s) for s in (m, e, r)))


#: The 12 machine types with their requirement tables (spec §3.2) and codes (spec §3.3).
MACHINE_TYPES: Mapping[str, MachineType] = {
    t.name: t
    for t in (
        _machine_type("lt7", 0, 3, "1110000000010000000000000000",
                      "0011111111111111111111000000", "0000000000000000000000001111"),
        _machine_type("lt7_p", 1, 3, "111000000100000000000",
                      "001111122122222000000", "000000000000000001111"),
        _machine_type("lt7_ins", 2, 3, "1110000000010000000100000000000",
                      "0011111111111111111011111000000", "0000000000000000000000000001111"),
        _machine_type("lt7_p_ins", 3, 3, "11100000010001000000000",
                      "00111112212220222000000", "00000000000000000001111"),
        _machine_type("lt8", 4, 2, "1100000001000000000000000000",
                      "0111111111111111111110000000", "0000000000000000000000011111"),
        _machine_type("lt8_p", 5, 2, "110000010000000000000",
                      "011112212222210000000", "000000000000000011111"),
        _machine_type("lt8_ula", 6, 2, "1110000000100001000000000000000",
                      "0111111111111111111111110000000", "0000000000000000000000000011111"),
        _machine_type("lt8_p_ula", 7, 2, "11100000100100000000000",
                      "01111122122221220000000", "00000000000000000011111"),
        _machine_type("lt8_12", 8, 3, "111000000010000000000000000000",
                      "001111111111111111111110000000", "000000000000000000000000011111"),
        _machine_type("lt8_p_12", 9, 3, "1110000010000000000000",
                      "0011112212222220000000", "0000000000000000011111"),
        _machine_type("lt8_12_ula", 10, 3, "111100000001000010000000000000000",
                      "001111111111111111111111110000000", "000000000000000000000000000011111"),
        _machine_type("lt8_p_12_ula", 11, 3, "111100000100100000000000",
                      "001111122122222220000000", "000000000000000000011111"),
    )
}

#: Machine type name -> integer code (the 12-type map of the GE optimiser; spec §3.3).
TYPE_CODES: Mapping[str, int] = {name: t.code for name, t in MACHINE_TYPES.items()}


class Workers(NamedTuple):
    """Worker pool sizes: M (mechanical), E (electrical), R (final test)."""

    m: int
    e: int
    r: int

    @classmethod
    def parse(cls, value: str | Sequence[int] | Workers) -> Workers:
        """Build from ``"2,5,2"``, ``(2, 5, 2)`` or a Workers; each count a non-negative integer."""
        parts: Sequence[Any] = value.split(",") if isinstance(value, str) else value
        allowed = "three non-negative integers M,E,R, e.g. 2,5,2"
        if len(parts) != 3:
            raise DataError("workers must be M,E,R", value=value, allowed=allowed)
        counts = []
        for name, part in zip("MER", parts, strict=True):
            try:
                number = float(str(part).strip())
            except ValueError:
                number = math.nan
            if not math.isfinite(number) or not number.is_integer() or number < 0:
                raise DataError(f"worker count {name} must be a non-negative integer",
                                value=part, allowed=allowed)
            counts.append(int(number))
        return cls(*counts)

    def __str__(self) -> str:
        return f"{self.m},{self.e},{self.r}"


@dataclass(frozen=True)
class HFSOrder:
    """One order (one laser-cutting machine) of an instance."""

    order_id: int
    machine_type: str
    basement_day: int
    panel_day: int
    due_day: int

    @property
    def type(self) -> MachineType:
        return MACHINE_TYPES[self.machine_type]


@dataclass(frozen=True)
class HFSInstance:
    """A validated set of orders; order ids are 0..n-1 in row order.

    Build one with :func:`load_instance` (files, bundled names) or :func:`make_instance` (rows).
    """

    name: str
    orders: tuple[HFSOrder, ...]
    source: str = "<memory>"

    def __post_init__(self) -> None:
        if not self.orders:
            raise DataError("an instance needs at least one order", source=self.source)
        for i, o in enumerate(self.orders):
            if o.order_id != i:
                raise DataError("order ids must be 0..n-1 in row order", source=self.source,
                                row=i + 2, column="order_id", value=o.order_id, allowed=str(i))
            if o.machine_type not in MACHINE_TYPES:
                raise DataError("unknown machine type", source=self.source, row=i + 2,
                                column="machine_type", value=o.machine_type,
                                allowed=", ".join(MACHINE_TYPES))
            for column, day in (("date_basement_arrival", o.basement_day),
                                ("date_electrical_panel_arrival", o.panel_day),
                                ("date_delivery", o.due_day)):
                if not 0 <= day <= MAX_DATE_DAY:
                    raise DataError("date out of range", source=self.source, row=i + 2,
                                    column=column, value=day,
                                    allowed=f"a day in [0, {MAX_DATE_DAY}]")

    def __len__(self) -> int:
        return len(self.orders)

    @property
    def n(self) -> int:
        """Number of orders."""
        return len(self.orders)

    def column(self, name: str) -> np.ndarray:
        """One column as an int64 array: a date column, ``"type_code"`` or ``"days"`` (D)."""
        getters = {
            "date_basement_arrival": lambda o: o.basement_day,
            "date_electrical_panel_arrival": lambda o: o.panel_day,
            "date_delivery": lambda o: o.due_day,
            "type_code": lambda o: TYPE_CODES[o.machine_type],
            "days": lambda o: o.type.days,
        }
        if name not in getters:
            raise KeyError(f"unknown column {name!r}; allowed: {', '.join(getters)}")
        return np.array([getters[name](o) for o in self.orders], dtype=np.int64)

    def to_rows(self) -> list[dict[str, Any]]:
        """The orders as rows with the file columns (:data:`COLUMNS`)."""
        return [dict(zip(COLUMNS, (o.order_id, o.machine_type, o.basement_day, o.panel_day,
                                   o.due_day), strict=True)) for o in self.orders]

    @property
    def types_present(self) -> tuple[str, ...]:
        """Machine types that occur in the instance, in first-seen order."""
        return tuple(dict.fromkeys(o.machine_type for o in self.orders))


def _order_from_cells(cells: Mapping[str, Any], row: int, source: str) -> HFSOrder:
    def date(col: str) -> int:
        return datasets.parse_int(str(cells[col]).strip(), source=source, row=row, column=col,
                                  minimum=0, maximum=MAX_DATE_DAY)

    oid = datasets.parse_int(str(cells["order_id"]).strip(), source=source, row=row,
                             column="order_id", minimum=0)
    mtype = str(cells["machine_type"]).strip()
    if mtype not in MACHINE_TYPES:
        raise DataError("unknown machine type", source=source, row=row, column="machine_type",
                        value=mtype, allowed=", ".join(MACHINE_TYPES))
    return HFSOrder(oid, mtype, date("date_basement_arrival"),
                    date("date_electrical_panel_arrival"), date("date_delivery"))


def _instance(rows: Iterable[Mapping[str, Any]], name: str, source: str) -> HFSInstance:
    orders = tuple(_order_from_cells(cells, i + 2, source) for i, cells in enumerate(rows))
    if not orders:
        raise DataError("no orders", source=source, allowed="at least one data row")
    datasets.check_ids([o.order_id for o in orders], source=source, column="order_id", first=0)
    return HFSInstance(name=name, orders=orders, source=source)


def load_instance(dataset: str | Path) -> HFSInstance:
    """Load and validate an HFS instance.

    Args:
        dataset: a bundled name (``"d1"`` ... ``"d5"``) or the path of a CSV or Excel file with
            the columns ``order_id, machine_type, date_basement_arrival,
            date_electrical_panel_arrival, date_delivery``. Ids must be 0..n-1 in row order;
            dates are non-negative integer day indices (day 1 = the first daily update).

    Raises:
        DataError: naming the file, row, column, value and what is allowed.

    >>> inst = load_instance("d1")
    >>> inst.n, inst.orders[0].machine_type
    (100, 'lt8_ula')
    """
    name, path = datasets.resolve(dataset, "hfs")
    frame = datasets.read_table(path, required=COLUMNS)
    source = str(dataset) if str(dataset) in datasets.bundled_names("hfs") else str(path)
    return _instance(frame.to_dict("records"), name, source)


def make_instance(
    rows: Iterable[Mapping[str, Any] | Sequence[Any]], name: str = "custom"
) -> HFSInstance:
    """Build a validated instance from rows (mappings with :data:`COLUMNS` keys, or 5-tuples).

    >>> make_instance([(0, "lt7", 1, 1, 1)]).orders[0].type.days
    28
    """
    cells = [dict(zip(COLUMNS, r, strict=True)) if not isinstance(r, Mapping) else r for r in rows]
    return _instance(cells, name, f"<{name}>")


# --------------------------------------------------------------------------------------------
# Priorities
# --------------------------------------------------------------------------------------------


def priority_order(
    instance: HFSInstance,
    order: Sequence[int] | None = None,
    *,
    priorities: Sequence[float] | np.ndarray | None = None,
    source: str = "priority order",
) -> tuple[int, ...]:
    """Normalise decisions into a priority order: order ids, highest priority first.

    Give exactly one of ``order`` (a permutation of the ids, highest priority first) or
    ``priorities`` (one number per order, by id; higher = more urgent; ties keep id order,
    as the stable sort of the original model does).

    Raises:
        DataError: ``order`` is not a permutation of 0..n-1, or ``priorities`` has the wrong
            length or a value that is not a finite number.
    """
    n = instance.n
    if (order is None) == (priorities is None):
        raise TypeError("give exactly one of order= or priorities=")
    if priorities is not None:
        values = np.asarray(priorities, dtype=float)
        if values.shape != (n,):
            raise DataError("priorities must have one number per order", source=source,
                            value=f"shape {values.shape}", allowed=f"{n} numbers")
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise DataError("priority is not a finite number", source=source,
                            column=f"order {int(bad[0])}", value=float(values[bad[0]]))
        return tuple(int(i) for i in np.argsort(-values, kind="stable"))
    ids = list(order)
    seen: dict[int, int] = {}
    for pos, raw in enumerate(ids):
        try:
            oid = int(raw)
        except (TypeError, ValueError):
            oid = -1
        if oid != raw or not 0 <= oid < n:
            raise DataError("not an order id", source=source, row=None,
                            column=f"position {pos}", value=raw, allowed=f"integers 0..{n - 1}")
        if oid in seen:
            raise DataError(f"order id repeated (first at position {seen[oid]})", source=source,
                            column=f"position {pos}", value=oid,
                            allowed=f"each id 0..{n - 1} exactly once")
        seen[oid] = pos
    if len(ids) != n:
        missing = sorted(set(range(n)) - set(seen))
        raise DataError(f"not a permutation of the {n} order ids; missing {missing[:10]}"
                        + (" ..." if len(missing) > 10 else ""), source=source,
                        value=f"{len(ids)} ids", allowed=f"each id 0..{n - 1} exactly once")
    return tuple(int(i) for i in ids)


def load_priority_file(path: str | Path, instance: HFSInstance) -> tuple[int, ...]:
    """Read a priority order from a CSV or Excel file with one column ``order_id``.

    Rows are the order ids, highest priority first; every id of the instance exactly once.

    Raises:
        DataError: naming the file, row, column, value and what is allowed.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("no such priority file", value=str(path),
                        allowed="a CSV or Excel file with one column order_id")
    frame = datasets.read_table(path, required=("order_id",))
    n = instance.n
    src = str(path)
    seen: dict[int, int] = {}
    ids = []
    for i, text in enumerate(frame["order_id"]):
        row = i + 2
        oid = datasets.parse_int(text, source=src, row=row, column="order_id", minimum=0,
                                 maximum=n - 1)
        if oid in seen:
            raise DataError(f"order id repeated (also on row {seen[oid]})", source=src, row=row,
                            column="order_id", value=oid,
                            allowed=f"each id 0..{n - 1} exactly once")
        seen[oid] = row
        ids.append(oid)
    if len(ids) != n:
        missing = sorted(set(range(n)) - set(seen))
        raise DataError(f"not a permutation of the {n} order ids of {instance.name}; missing "
                        f"{missing[:10]}" + (" ..." if len(missing) > 10 else ""), source=src,
                        column="order_id", value=f"{len(ids)} rows",
                        allowed=f"each id 0..{n - 1} exactly once")
    return tuple(ids)


def identity_order(instance: HFSInstance) -> tuple[int, ...]:
    """CSV order: row 0 gets the highest priority."""
    return tuple(range(instance.n))


def reverse_order(instance: HFSInstance) -> tuple[int, ...]:
    """Reversed CSV order: the last row gets the highest priority."""
    return tuple(range(instance.n - 1, -1, -1))


def edd_order(
    instance: HFSInstance, tie_break: Literal["stable", "quicksort"] = "stable"
) -> tuple[int, ...]:
    """Earliest due date first.

    Args:
        tie_break: ``"stable"`` (default): equal due dates keep CSV order. ``"quicksort"``: the
            original greedy script's pandas default sort, whose tie order is implementation
            defined (it depends on the numpy version); kept to reproduce that script.
    """
    dd = instance.column("date_delivery")
    kind = "stable" if tie_break == "stable" else "quicksort"
    if tie_break not in ("stable", "quicksort"):
        raise ValueError(f"tie_break={tie_break!r}; allowed: 'stable', 'quicksort'")
    return tuple(int(i) for i in np.argsort(dd, kind=kind))


# --------------------------------------------------------------------------------------------
# Feasibility and bounds
# --------------------------------------------------------------------------------------------


def check_feasible(
    instance: HFSInstance, workers: Workers | Sequence[int] | str, *,
    options: PlantOptions | None = None, **legacy: Any,
) -> None:
    """Raise :class:`InfeasibleError` if the run could never finish.

    A run never ends if some production day of a type present needs more workers of a kind than
    the pool holds (a pool of 0, or E = 1 while a ``_p`` type is present), or if there is no
    station or no truck (rejected by :class:`PlantOptions`).

    Args:
        instance: the orders.
        workers: pool sizes (M, E, R).
        options: the plant options (default :class:`PlantOptions`).
        **legacy: ``stations=``, ``trucks_per_day=``, ``pickup=`` instead of ``options``.
    """
    w = Workers.parse(workers)
    PlantOptions.of(options, **legacy)  # no station or no truck is rejected here
    for tname in instance.types_present:
        t = MACHINE_TYPES[tname]
        for kind, need, have in (("M", max(t.m), w.m), ("E", max(t.e), w.e), ("R", max(t.r), w.r)):
            if need > have:
                day = (t.m, t.e, t.r)["MER".index(kind)].index(need) + 1
                raise InfeasibleError(
                    f"workers {w} can never finish instance {instance.name!r}: type {tname} "
                    f"needs {need} {kind} worker(s) on production day {day} but the {kind} pool "
                    f"has {have}; allowed: {kind} >= {need} for this instance"
                )


def lower_bounds(
    instance: HFSInstance, workers: Workers | Sequence[int] | str, *,
    options: PlantOptions | None = None, **legacy: Any,
) -> dict[str, int]:
    """Lower bounds on the makespan valid for every priority order (spec §12.4).

    Args:
        instance: the orders.
        workers: pool sizes (M, E, R).
        options: the plant options (default :class:`PlantOptions`).
        **legacy: ``stations=``, ``trucks_per_day=``, ``pickup=`` instead of ``options``.

    Returns:
        A dict with ``due`` (max due date), ``trucks`` (min D + ceil(n / trucks) + 2),
        ``stations`` (ceil(sum(D + 1) / stations) + 2) and ``workers_M/E/R``
        (ceil(sum / pool) + 3).
    """
    w = Workers.parse(workers)
    plant = PlantOptions.of(options, **legacy)
    types = [o.type for o in instance.orders]
    sums = [sum(sum(t.m) for t in types), sum(sum(t.e) for t in types),
            sum(sum(t.r) for t in types)]
    bounds = {
        "due": max(o.due_day for o in instance.orders),
        "trucks": min(t.days for t in types) + math.ceil(instance.n / plant.trucks_per_day) + 2,
        "stations": math.ceil(sum(t.days + 1 for t in types) / plant.stations) + 2,
    }
    for kind, total, pool in zip("MER", sums, w, strict=True):
        if total and pool:
            bounds[f"workers_{kind}"] = math.ceil(total / pool) + 3
    return bounds


def lower_bound(
    instance: HFSInstance, workers: Workers | Sequence[int] | str, *,
    options: PlantOptions | None = None, **legacy: Any,
) -> int:
    """The largest of :func:`lower_bounds` (same arguments).

    >>> lower_bound(load_instance("d1"), (2, 5, 2))
    440
    """
    return max(lower_bounds(instance, workers, options=options, **legacy).values())


def default_max_days(
    instance: HFSInstance, options: PlantOptions | None = None, **legacy: Any
) -> int:
    """The default day cap: a day count no feasible run can reach.

    On a feasible setting, once every basement and panel has arrived the highest-priority
    unfinished order on a station is granted every day, so production ends within
    ``max(db, de) + sum(D)`` days; pickups add at most ``ceil(n / trucks)`` days and delivery waits
    end by ``max(dd) + 2``. The cap adds a margin of :data:`MAX_DAYS_MARGIN_D` (10) days to that
    sum. ``options`` (or the keyword ``trucks_per_day=``) gives the trucks per day.
    """
    plant = PlantOptions.of(options, **legacy)
    materials = max(max(o.basement_day, o.panel_day) for o in instance.orders)
    due = max(o.due_day for o in instance.orders)
    total_days = sum(o.type.days for o in instance.orders)
    return (materials + due + total_days + math.ceil(instance.n / plant.trucks_per_day)
            + MAX_DAYS_MARGIN_D)


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRecord:
    """What happened to one order (all values are day indices; day 1 = first update).

    Attributes:
        order_id: the order.
        machine_type: its type name.
        rank: its position in the priority order (0 = highest priority).
        admission_day: the update in which it got a station.
        finish_day: the update in which it was found finished (entered the delivery area).
        pickup_day: the update whose truck took it.
        delivery_day: the update in which it was delivered: ``max(pickup_day + 2, due)``.
        due_day: its contractual delivery date.
    """

    order_id: int
    machine_type: str
    rank: int
    admission_day: int
    finish_day: int
    pickup_day: int
    delivery_day: int
    due_day: int


@dataclass(frozen=True)
class HFSResult:
    """The outcome of one HFS simulation.

    Attributes:
        makespan: the day of the update in which the last order was delivered.
        order: the priority order simulated (order ids, highest priority first).
        workers: the worker pools.
        stations: the number of stations.
        records: one :class:`OrderRecord` per order, indexed by order id.
        granted: int array (makespan, 3): M, E, R workers granted in the update of day d at
            row d - 1.
        stations_busy: int array (makespan,): stations held (in production or awaiting the
            truck) after admissions in the update of day d, at index d - 1.
        pickups: int array (makespan,): machines taken by trucks in the update of day d.
        work_days: per order id, the update in which each of its production days was worked
            (all-zero days included), or None if not recorded.
        truck_hours: per order id, (departure, arrival at the logistics centre) in model hours.
    """

    makespan: int
    order: tuple[int, ...]
    workers: Workers
    stations: int
    records: tuple[OrderRecord, ...]
    granted: np.ndarray = field(repr=False)
    stations_busy: np.ndarray = field(repr=False)
    pickups: np.ndarray = field(repr=False)
    work_days: tuple[tuple[int, ...], ...] | None = field(default=None, repr=False)
    truck_hours: tuple[tuple[float, float], ...] | None = field(default=None, repr=False)

    def worker_utilisation(self) -> np.ndarray:
        """Share of each pool granted per day, shape (makespan, 3); NaN for an empty pool."""
        pools = np.array(self.workers, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(pools > 0, self.granted / pools, np.nan)

    def station_utilisation(self) -> np.ndarray:
        """Share of stations held per day, shape (makespan,)."""
        return self.stations_busy / self.stations

    def station_assignment(self) -> tuple[int, ...]:
        """Per order id, the index of the station it held (0 = A1 ... 19 = E4).

        Station identity has no effect on results; the model gives each admitted order the first
        free station in the order A1..A4, B1..B4, ..., E1..E4, and a station freed by a pickup is
        free again from the next update on. This replays that rule on the records.
        """
        free_from = [1] * self.stations  # first day each station can be taken again
        assignment = [-1] * len(self.records)
        for rec in sorted(self.records, key=lambda r: (r.admission_day, r.rank)):
            k = next(i for i, day in enumerate(free_from) if day <= rec.admission_day)
            assignment[rec.order_id] = k
            free_from[k] = rec.pickup_day + 1
        return tuple(assignment)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: makespan, order, workers and the per-order records."""
        util = self.worker_utilisation()
        return {
            "makespan": self.makespan,
            "order": list(self.order),
            "workers": {"M": self.workers.m, "E": self.workers.e, "R": self.workers.r},
            "stations": self.stations,
            "mean_worker_utilisation": {
                k: (None if np.isnan(util[:, i]).all() else round(float(np.nanmean(util[:, i])), 4))
                for i, k in enumerate("MER")
            },
            "mean_station_utilisation": round(float(self.station_utilisation().mean()), 4),
            "orders": [r.__dict__.copy() for r in self.records],
        }


# --------------------------------------------------------------------------------------------
# The SimPy model
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)  # the same orders are simulated again and again
def _day_plan(order: HFSOrder) -> tuple[tuple[int, int, int, int], ...]:
    """Per production day of an order: the (M, E, R) it needs and the first day it may be worked.

    The first day folds in the material gates (spec §4.5): the basement (``db``) for every day
    and, from the type's panel threshold on, the electrical panel too. An all-zero day needs
    nothing, whatever the materials (day 0), so it always counts as worked.
    """
    t = order.type
    plan = []
    for p, (m, e, r) in enumerate(t.requirements, start=1):
        if not (m or e or r):
            ready = 0
        elif p < t.panel_threshold:
            ready = order.basement_day
        else:
            ready = max(order.basement_day, order.panel_day)
        plan.append((m, e, r, ready))
    return tuple(plan)


class _Plant:
    """State and processes of one run. Times are model hours; the daily update is one process.

    One daily update (spec §4.3) runs these steps, in this order:

    1. :meth:`_free_pools`: every worker is freed.
    2. :meth:`_admit`: free stations go to the waiting orders, in priority order.
    3. :meth:`_work`: each order on a station, in priority order, advances if yesterday's
       requirement was met (or leaves production, finished) and then gets its whole requirement
       for the current production day or nothing (first fit, basement and panel gates).
    4. :meth:`_deliver`: machines at the logistics centre whose due date has come are delivered.
    5. :meth:`_check_done`: the run ends in the update that delivers the last order.
    6. :meth:`_ship`: the truck(s) of the update take the highest-priority finished machines.
    """

    def __init__(
        self,
        env: simpy.Environment,
        instance: HFSInstance,
        order: tuple[int, ...],
        workers: Workers,
        options: PlantOptions,
        max_days: int,
        rng: np.random.Generator,
        record_work: bool,
    ) -> None:
        n = instance.n
        self.env = env
        self.n = n
        self.workers = workers
        self.stations = options.stations
        self.trucks_per_day = options.trucks_per_day
        self.same_update = options.pickup == "same_update"
        self.max_days = max_days
        rank = [0] * n
        for pos, oid in enumerate(order):
            rank[oid] = pos
        self.rank = rank
        self.dd = [o.due_day for o in instance.orders]
        self.plan = [_day_plan(o) for o in instance.orders]
        # Truck times are drawn up front, one per pickup, in pickup order.
        self.trip = rng.triangular(*TRUCK_TRIP_H, size=n)
        self.unload = rng.triangular(*TRUCK_UNLOAD_H, size=n)
        self.trucks_sent = 0
        # Free workers of the current update.
        self.free_m = self.free_e = self.free_r = 0
        # Order state.
        self.prod_day = [0] * n
        self.met = [False] * n  # the current day's requirement is met (m = e = r = 0)
        self.waiting: deque[int] = deque(order)  # not yet on a station, priority order
        self.running: list[int] = []  # on a station, not finished, priority order
        self.area: list[int] = []  # finished, waiting for the truck, in order of completion
        self.at_center: list[int] = []  # at the logistics centre, not yet delivered
        self.busy = 0  # stations held
        self.delivered = 0
        self.admission = [0] * n
        self.finish = [0] * n
        self.pickup = [0] * n
        self.delivery = [0] * n
        self.truck_hours: list[tuple[float, float]] = [(math.nan, math.nan)] * n
        self.work: list[list[int]] | None = [[] for _ in range(n)] if record_work else None
        self.log_granted: list[tuple[int, int, int]] = []
        self.log_busy: list[int] = []
        self.log_pickups: list[int] = []
        self.makespan = 0

    def daily_update(self):
        """The daily update process: wait for day 1, then run one update every 24 h."""
        yield self.env.timeout(FIRST_UPDATE_H)
        day = 0
        while True:
            day += 1
            self._free_pools()
            admitted = self._admit(day)
            finished = self._work(day, admitted)
            self._deliver(day)
            self._log_day()
            if self._check_done(day):
                return
            self._ship(day, finished)
            self._check_day_cap(day)
            yield self.env.timeout(DAY_H)

    # -- the steps of one update, in order -----------------------------------------------------

    def _free_pools(self) -> None:
        """Free every worker: they are re-dispatched from scratch every day."""
        self.free_m, self.free_e, self.free_r = self.workers

    def _admit(self, day: int) -> list[int]:
        """Give free stations to waiting orders in priority order; return the admitted ones.

        Materials are not checked at admission. Every order already on a station outranks every
        waiting one, so admitting before :meth:`_work` visits orders in exactly the model's
        descending-priority order.
        """
        admitted = []
        while self.waiting and self.busy < self.stations:
            oid = self.waiting.popleft()
            self.busy += 1
            self.admission[oid] = day
            self.prod_day[oid] = 1
            self.met[oid] = self.plan[oid][0][:3] == (0, 0, 0)
            admitted.append(oid)
        return admitted

    def _work(self, day: int, admitted: list[int]) -> list[int]:
        """Visit the orders on a station in priority order; return those found finished.

        An order whose current production day was worked advances; past its last day it leaves
        production for the delivery area. Otherwise it gets its day's whole requirement or
        nothing (first fit; no partial grant, no reservation for higher-priority orders), provided
        its materials allow the day (:func:`_day_plan`). A blocked order retries the same day.
        """
        met, prod_day, plan, work = self.met, self.prod_day, self.plan, self.work
        free_m, free_e, free_r = self.free_m, self.free_e, self.free_r
        still_running = []
        finished = []
        for oid in (self.running + admitted) if admitted else self.running:
            if met[oid]:  # yesterday's requirement was granted: advance
                prod_day[oid] += 1
                if prod_day[oid] > len(plan[oid]):
                    self.finish[oid] = day
                    finished.append(oid)
                    continue
            m, e, r, ready = plan[oid][prod_day[oid] - 1]
            granted = day >= ready and free_m >= m and free_e >= e and free_r >= r
            if granted:
                free_m, free_e, free_r = free_m - m, free_e - e, free_r - r
                if work is not None:
                    work[oid].append(day)
            met[oid] = granted
            still_running.append(oid)
        self.running = still_running
        self.free_m, self.free_e, self.free_r = free_m, free_e, free_r
        return finished

    def _deliver(self, day: int) -> None:
        """Deliver the machines at the logistics centre whose due date has come."""
        if not self.at_center:
            return
        keep = []
        for oid in self.at_center:
            if self.dd[oid] <= day:
                self.delivery[oid] = day
                self.delivered += 1
            else:
                keep.append(oid)
        self.at_center = keep

    def _log_day(self) -> None:
        """Record the workers granted and the stations held in this update."""
        w = self.workers
        self.log_granted.append((w.m - self.free_m, w.e - self.free_e, w.r - self.free_r))
        self.log_busy.append(self.busy)

    def _check_done(self, day: int) -> bool:
        """End the run (makespan = this day) once every order is delivered."""
        if self.delivered < self.n:
            return False
        self.makespan = day
        self.log_pickups.append(0)
        return True

    def _ship(self, day: int, finished: list[int]) -> None:
        """Send this update's truck(s), each with the highest-priority machine in the area.

        With same-update pickup the machines finished in this update enter the delivery area
        before the trucks choose; otherwise right after.
        """
        if self.same_update:
            self.area.extend(finished)
        sent = 0
        while self.area and sent < self.trucks_per_day:
            best = min(self.area, key=self.rank.__getitem__)
            self.area.remove(best)
            self.pickup[best] = day
            self.env.process(self.truck(best))
            sent += 1
        self.log_pickups.append(sent)
        if not self.same_update:
            self.area.extend(finished)

    def _check_day_cap(self, day: int) -> None:
        """Raise :class:`SimulationLimitError` once ``max_days`` updates have run."""
        if day >= self.max_days:
            raise SimulationLimitError(
                f"no end after {day} days (max_days={self.max_days}); "
                f"{self.delivered} of {self.n} orders delivered"
            )

    # -- the truck -----------------------------------------------------------------------------

    def truck(self, oid: int):
        """One truck carrying one machine from the delivery area to the logistics centre."""
        env = self.env
        k = self.trucks_sent
        self.trucks_sent += 1
        start = env.now
        yield env.timeout(TRUCK_LOADING_H)
        self.busy -= 1  # the machine leaves the delivery area: its station is free
        yield env.timeout(float(self.trip[k] + self.unload[k]))
        self.truck_hours[oid] = (start, env.now)
        self.at_center.append(oid)


def simulate(
    instance: HFSInstance,
    order: Sequence[int] | None = None,
    *,
    priorities: Sequence[float] | np.ndarray | None = None,
    workers: Workers | Sequence[int] | str = (2, 5, 2),
    options: PlantOptions | None = None,
    max_days: int | None = None,
    seed: int | np.random.Generator | None = 0,
    record_work: bool = True,
    engine: Engine = "simpy",
    **legacy: Any,
) -> HFSResult:
    """Simulate the plant under one priority order and return the makespan and records.

    Args:
        instance: the orders.
        order: order ids, highest priority first (a permutation of 0..n-1).
        priorities: alternatively, one number per order id (higher = more urgent; ties keep
            id order). Give exactly one of ``order`` and ``priorities``.
        workers: pool sizes (M, E, R), e.g. ``(2, 5, 2)`` or ``"2,5,2"``.
        options: stations, trucks per day and pickup rule (default :class:`PlantOptions`, the
            original plant).
        max_days: safety cap on simulated days (default :func:`default_max_days`); reaching it
            raises :class:`SimulationLimitError`.
        seed: seed (or Generator) for the truck trip and unloading times. They never change
            the day-level result.
        record_work: keep, per order, the update in which each production day was worked.
        engine: ``"simpy"`` (default): this SimPy model. ``"fast"``: the compiled engine
            :func:`scmgym.simulators.hfs_fast.simulate_fast`, with the same result except
            ``truck_hours`` (``None``; ``seed`` is then unused). Without numba, ``"fast"`` warns
            once and uses ``"simpy"``.
        **legacy: ``stations=``, ``trucks_per_day=``, ``pickup=`` (the fields of
            :class:`PlantOptions`) instead of ``options``; not together with it.

    Raises:
        DataError: the order or priorities are not valid for the instance, or a plant option is
            not valid.
        InfeasibleError: the workers, stations or trucks can never finish the instance.
        SimulationLimitError: the run reached ``max_days``.
        TypeError: an unknown keyword, or ``options`` together with plant keywords.
        ValueError: an unknown ``engine``.

    >>> simulate(load_instance("d1"), identity_order(load_instance("d1"))).makespan
    468
    >>> d1 = load_instance("d1")
    >>> simulate(d1, identity_order(d1), options=PlantOptions(pickup="next_update")).makespan
    469
    """
    if not isinstance(engine, str) or engine not in _ENGINES:
        raise ValueError(f"engine={engine!r}; allowed: {', '.join(map(repr, _ENGINES))}")
    if engine == "fast":
        fast = _fast_engine()
        if fast is not None:
            return fast(instance, order, priorities=priorities, workers=workers, options=options,
                        max_days=max_days, record_work=record_work, **legacy)
    w = Workers.parse(workers)
    plant_options = PlantOptions.of(options, **legacy)
    ranked = priority_order(instance, order, priorities=priorities)
    check_feasible(instance, w, options=plant_options)
    cap = default_max_days(instance, plant_options) if max_days is None else int(max_days)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    env = simpy.Environment()
    plant = _Plant(env, instance, ranked, w, plant_options, cap, rng, record_work)
    env.run(until=env.process(plant.daily_update()))
    records = tuple(
        OrderRecord(
            order_id=i, machine_type=o.machine_type, rank=plant.rank[i],
            admission_day=plant.admission[i], finish_day=plant.finish[i],
            pickup_day=plant.pickup[i], delivery_day=plant.delivery[i], due_day=o.due_day,
        )
        for i, o in enumerate(instance.orders)
    )
    arrays = [np.array(plant.log_granted, dtype=np.int64).reshape(-1, 3),
              np.array(plant.log_busy, dtype=np.int64),
              np.array(plant.log_pickups, dtype=np.int64)]
    for a in arrays:
        a.setflags(write=False)
    return HFSResult(
        makespan=plant.makespan,
        order=ranked,
        workers=w,
        stations=plant_options.stations,
        records=records,
        granted=arrays[0],
        stations_busy=arrays[1],
        pickups=arrays[2],
        work_days=None if plant.work is None else tuple(tuple(x) for x in plant.work),
        truck_hours=tuple(plant.truck_hours),
    )


def simulate_many(
    instance: HFSInstance,
    orders: Sequence[Sequence[int]] | np.ndarray,
    *,
    workers: Workers | Sequence[int] | str = (2, 5, 2),
    options: PlantOptions | None = None,
    max_days: int | None = None,
    seeds: Sequence[int] | None = None,
    records: bool = False,
    engine: Engine = "fast",
) -> np.ndarray | list[HFSResult]:
    """Simulate a batch of priority orders: their makespans, or their whole results.

    Args:
        instance, workers, options, max_days: as :func:`simulate`.
        orders: one priority order per candidate (order ids, highest priority first).
        seeds: one truck seed per candidate (only ``records=True`` on SimPy reads them; they
            never change a makespan); default 0 each.
        records: False (default): an int64 array of makespans, by the compiled engine's batch
            path (:func:`scmgym.simulators.hfs_fast.makespans`) on ``engine="fast"``. True: one
            :class:`HFSResult` per candidate.
        engine: ``"fast"`` (default) or ``"simpy"``; the same makespans and records either way.

    >>> d1 = load_instance("d1")
    >>> simulate_many(d1, [identity_order(d1), reverse_order(d1)]).tolist()
    [468, 470]
    >>> [r.makespan for r in simulate_many(d1, [identity_order(d1)], records=True)]
    [468]
    """
    if not isinstance(engine, str) or engine not in _ENGINES:
        raise ValueError(f"engine={engine!r}; allowed: {', '.join(map(repr, _ENGINES))}")
    batch = [list(o) for o in orders]
    seeds = [0] * len(batch) if seeds is None else [int(x) for x in seeds]
    if len(seeds) != len(batch):
        raise ValueError(f"{len(batch)} orders and {len(seeds)} seeds: one seed per order")
    if not records and engine == "fast":
        try:
            from scmgym.simulators.hfs_fast import makespans
        except ImportError:
            pass
        else:
            return makespans(instance, batch, workers=workers, options=options,
                             max_days=max_days)
    results = [simulate(instance, o, workers=workers, options=options, max_days=max_days,
                        seed=sd, record_work=records, engine=engine)
               for o, sd in zip(batch, seeds, strict=True)]
    if records:
        return results
    return np.array([r.makespan for r in results], dtype=np.int64)


def _fast_engine():
    """``simulate_fast``, or None (after one warning per process) if numba cannot be imported."""
    global _fast_warned
    try:
        from scmgym.simulators.hfs_fast import simulate_fast
    except ImportError as exc:
        if not _fast_warned:
            _fast_warned = True
            warnings.warn(f"engine='fast' needs numba ({exc}); using engine='simpy'",
                          RuntimeWarning, stacklevel=3)
        return None
    return simulate_fast
