"""A compiled engine for the HFS plant: the SimPy model's day rules in one numba kernel.

:func:`simulate_fast` returns the same :class:`~scmgym.simulators.hfs.HFSResult` as
:func:`~scmgym.simulators.hfs.simulate` for the same instance, priority order, workers and plant
options: the same makespan, the same per-order records (admission, finish, pickup and delivery
days), the same daily logs (``granted``, ``stations_busy``, ``pickups``) and, with
``record_work=True``, the same ``work_days``. It validates its arguments with the same functions
in the same order, so bad inputs raise the same errors, and it stops at the same day cap with the
same :class:`~scmgym.errors.SimulationLimitError`.

The kernel steps day by day with the steps of ``_Plant.daily_update`` (free the pools, admit,
work, deliver, check done, ship, check the day cap) on plain numpy arrays. The truck process is
not simulated: a truck leaving in the update of day ``p`` frees its station 5 h later (before the
update of day ``p + 1``) and reaches the logistics centre 30-44 h after the update (between the
updates of days ``p + 1`` and ``p + 2``) whatever its triangular trip and unloading draws, so the
machine is at the centre from day ``p + 2`` on and is delivered on ``max(p + 2, due)``. The draws
can therefore change no day-level field, and the fast engine does not draw them. They only set
the hours in ``truck_hours``, which the fast result leaves as ``None``; use the SimPy engine when
those hours are needed.

numba compiles the kernel on first use (cached on disk with ``cache=True``, so later processes
load it in well under a second).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from scmgym.errors import DataError, SimulationLimitError
from scmgym.simulators.compiled import signals_deferred
from scmgym.simulators.hfs import (
    HFSInstance,
    HFSResult,
    OrderRecord,
    PlantOptions,
    Workers,
    _day_plan,
    check_feasible,
    default_max_days,
    priority_order,
)

__all__ = ["simulate_fast"]

#: Status codes of the kernel.
_DONE = 0
_DAY_CAP = 1

#: Initial number of rows of the kernel's daily log (doubled when a run is longer).
_LOG_ROWS = 512


@njit(cache=True)
def _grow(log):
    """The daily log with twice the rows, the old rows copied."""
    bigger = np.zeros((2 * log.shape[0], log.shape[1]), dtype=np.int64)
    bigger[: log.shape[0]] = log
    return bigger


@njit(cache=True)
def _run_days(order, need, ready, n_days, due, pool, stations, trucks, same_update, max_days,
              work):
    """Run the daily updates of one simulation.

    Args:
        order: int64 (n,): order ids, highest priority first.
        need: int64 (n, max D, 3): M, E, R needed on each production day of each order.
        ready: int64 (n, max D): the first day each production day may be worked (material
            gates; 0 for an all-zero day).
        n_days: int64 (n,): production days D of each order.
        due: int64 (n,): due days.
        pool: int64 (3,): the M, E, R pools.
        stations: number of stations.
        trucks: machines shipped per update.
        same_update: a machine found finished in an update can leave with that update's truck.
        max_days: the day cap: a run not done after the update of this day stops.
        work: int64 (n, max D), written: the day each production day was worked.

    Returns:
        ``(status, day, admission, finish, pickup, delivery, log)``: status ``_DONE`` (day is the
        makespan) or ``_DAY_CAP`` (day is the day the cap stopped the run); the per-order days
        (0 = never); ``log`` int64 (day, 5): M, E, R granted, stations held and pickups per day.
    """
    n = order.shape[0]
    rank = np.empty(n, dtype=np.int64)
    for pos in range(n):
        rank[order[pos]] = pos
    admission = np.zeros(n, dtype=np.int64)
    finish = np.zeros(n, dtype=np.int64)
    pickup = np.zeros(n, dtype=np.int64)
    delivery = np.zeros(n, dtype=np.int64)
    prod_day = np.zeros(n, dtype=np.int64)
    met = np.zeros(n, dtype=np.bool_)
    running = np.empty(n, dtype=np.int64)  # on a station, not finished, priority order
    area = np.empty(n, dtype=np.int64)  # finished, waiting for a truck
    finished = np.empty(n, dtype=np.int64)  # found finished in this update
    log = np.zeros((_LOG_ROWS, 5), dtype=np.int64)
    n_running = 0
    n_area = 0
    next_waiting = 0  # order[next_waiting:] are still waiting
    busy = 0
    picked = 0
    last_delivery = 0
    day = 0
    while True:
        day += 1
        if day > log.shape[0]:
            log = _grow(log)
        # _free_pools
        free_m = pool[0]
        free_e = pool[1]
        free_r = pool[2]
        # _admit: waiting orders take free stations in priority order
        while next_waiting < n and busy < stations:
            oid = order[next_waiting]
            next_waiting += 1
            busy += 1
            admission[oid] = day
            prod_day[oid] = 1
            met[oid] = need[oid, 0, 0] == 0 and need[oid, 0, 1] == 0 and need[oid, 0, 2] == 0
            running[n_running] = oid
            n_running += 1
        # _work: advance or finish, then the whole requirement or nothing (first fit)
        n_finished = 0
        kept = 0
        for j in range(n_running):
            oid = running[j]
            if met[oid]:
                prod_day[oid] += 1
                if prod_day[oid] > n_days[oid]:
                    finish[oid] = day
                    finished[n_finished] = oid
                    n_finished += 1
                    continue
            p = prod_day[oid] - 1
            m = need[oid, p, 0]
            e = need[oid, p, 1]
            r = need[oid, p, 2]
            if day >= ready[oid, p] and free_m >= m and free_e >= e and free_r >= r:
                free_m -= m
                free_e -= e
                free_r -= r
                met[oid] = True
                work[oid, p] = day
            else:
                met[oid] = False
            running[kept] = oid
            kept += 1
        n_running = kept
        # _log_day
        log[day - 1, 0] = pool[0] - free_m
        log[day - 1, 1] = pool[1] - free_e
        log[day - 1, 2] = pool[2] - free_r
        log[day - 1, 3] = busy
        # _deliver and _check_done: every machine is delivered at max(pickup + 2, due)
        if picked == n and day >= last_delivery:
            return _DONE, day, admission, finish, pickup, delivery, log[:day]
        # _ship: the highest-priority machines in the delivery area leave
        if same_update:
            for j in range(n_finished):
                area[n_area] = finished[j]
                n_area += 1
        sent = 0
        while n_area > 0 and sent < trucks:
            best = 0
            for j in range(1, n_area):
                if rank[area[j]] < rank[area[best]]:
                    best = j
            oid = area[best]
            n_area -= 1
            area[best] = area[n_area]
            pickup[oid] = day
            delivery[oid] = max(day + 2, due[oid])
            last_delivery = max(last_delivery, delivery[oid])
            picked += 1
            busy -= 1  # the station is free 5 h later, before the next update
            sent += 1
        log[day - 1, 4] = sent
        if not same_update:
            for j in range(n_finished):
                area[n_area] = finished[j]
                n_area += 1
        # _check_day_cap
        if day >= max_days:
            return _DAY_CAP, day, admission, finish, pickup, delivery, log[:day]


_PLANS: dict[int, tuple[weakref.ref, tuple[np.ndarray, ...]]] = {}
_CAPS: dict[tuple, tuple[weakref.ref, int]] = {}


def _plan_arrays(instance: HFSInstance) -> tuple[np.ndarray, ...]:
    """``(need, ready, n_days, due)`` of an instance, built once per instance object."""
    key = id(instance)
    hit = _PLANS.get(key)
    if hit is not None and hit[0]() is instance:
        return hit[1]
    plans = [_day_plan(o) for o in instance.orders]
    width = max(len(p) for p in plans)
    need = np.zeros((instance.n, width, 3), dtype=np.int64)
    ready = np.zeros((instance.n, width), dtype=np.int64)
    for i, plan in enumerate(plans):
        rows = np.array(plan, dtype=np.int64).reshape(-1, 4)
        need[i, : len(plan)] = rows[:, :3]
        ready[i, : len(plan)] = rows[:, 3]
    n_days = np.array([len(p) for p in plans], dtype=np.int64)
    due = np.array([o.due_day for o in instance.orders], dtype=np.int64)
    arrays = (need, ready, n_days, due)
    for a in arrays:
        a.setflags(write=False)
    _PLANS[key] = (weakref.ref(instance, lambda _ref, k=key: _PLANS.pop(k, None)), arrays)
    return arrays


def _checked_cap(instance: HFSInstance, workers: Workers, options: PlantOptions) -> int:
    """:func:`check_feasible` (raises) and :func:`default_max_days` of a setting, computed once
    per instance object and setting (a search calls the batch path thousands of times)."""
    key = (id(instance), tuple(workers), options)
    hit = _CAPS.get(key)
    if hit is not None and hit[0]() is instance:
        return hit[1]
    check_feasible(instance, workers, options=options)
    cap = default_max_days(instance, options)
    if len(_CAPS) > 256:
        _CAPS.clear()
    _CAPS[key] = (weakref.ref(instance), cap)
    return cap


def _record(**fields: Any) -> OrderRecord:
    """An :class:`OrderRecord` built without the frozen dataclass ``__init__``.

    Equal to ``OrderRecord(**fields)`` (the class has no validation), about three times faster,
    which matters when a whole simulation takes a millisecond.
    """
    record = object.__new__(OrderRecord)
    record.__dict__.update(fields)
    return record


def simulate_fast(
    instance: HFSInstance,
    order: Sequence[int] | None = None,
    *,
    priorities: Sequence[float] | np.ndarray | None = None,
    workers: Workers | Sequence[int] | str = (2, 5, 2),
    options: PlantOptions | None = None,
    max_days: int | None = None,
    record_work: bool = False,
    **legacy: Any,
) -> HFSResult:
    """Simulate the plant with the compiled engine; same arguments and result as ``simulate``.

    The result equals that of :func:`~scmgym.simulators.hfs.simulate` in every field except
    ``truck_hours``, which is ``None``: the truck's random trip and unloading times decide only
    those hours, never a day-level field, so they are not drawn (hence no ``seed``).

    Args:
        instance: the orders.
        order: order ids, highest priority first (a permutation of 0..n-1).
        priorities: alternatively, one number per order id (higher = more urgent; ties keep
            id order). Give exactly one of ``order`` and ``priorities``.
        workers: pool sizes (M, E, R), e.g. ``(2, 5, 2)`` or ``"2,5,2"``.
        options: stations, trucks per day and pickup rule (default :class:`PlantOptions`).
        max_days: safety cap on simulated days (default :func:`default_max_days`); reaching it
            raises :class:`SimulationLimitError`.
        record_work: also fill ``work_days`` (per order, the update in which each production day
            was worked); the kernel always tracks them, this only builds the tuples.
        **legacy: ``stations=``, ``trucks_per_day=``, ``pickup=`` instead of ``options``.

    Raises:
        DataError: the order or priorities are not valid for the instance, or a plant option is
            not valid.
        InfeasibleError: the workers, stations or trucks can never finish the instance.
        SimulationLimitError: the run reached ``max_days``.
        TypeError: an unknown keyword, or ``options`` together with plant keywords.

    >>> from scmgym.simulators.hfs import identity_order, load_instance
    >>> d1 = load_instance("d1")
    >>> simulate_fast(d1, identity_order(d1)).makespan
    468
    """
    w = Workers.parse(workers)
    plant_options = PlantOptions.of(options, **legacy)
    ranked = priority_order(instance, order, priorities=priorities)
    cap = _checked_cap(instance, w, plant_options)
    if max_days is not None:
        cap = int(max_days)
    need, ready, n_days, due = _plan_arrays(instance)
    work = np.zeros(ready.shape, dtype=np.int64)
    with signals_deferred():
        status, day, admission, finish, pickup, delivery, log = _run_days(
            np.array(ranked, dtype=np.int64), need, ready, n_days, due,
            np.array(w, dtype=np.int64), plant_options.stations, plant_options.trucks_per_day,
            plant_options.pickup == "same_update", cap, work,
        )
    if status == _DAY_CAP:
        delivered = int(np.count_nonzero((pickup > 0) & (delivery <= day)))
        raise SimulationLimitError(
            f"no end after {day} days (max_days={cap}); {delivered} of {instance.n} orders "
            "delivered"
        )
    rank = np.empty(instance.n, dtype=np.int64)
    rank[np.array(ranked, dtype=np.int64)] = np.arange(instance.n)
    columns = zip(rank.tolist(), admission.tolist(), finish.tolist(), pickup.tolist(),
                  delivery.tolist(), strict=True)
    records = tuple(
        _record(order_id=i, machine_type=o.machine_type, rank=k, admission_day=a,
                finish_day=f, pickup_day=p, delivery_day=d, due_day=o.due_day)
        for i, (o, (k, a, f, p, d)) in enumerate(zip(instance.orders, columns, strict=True))
    )
    granted = np.ascontiguousarray(log[:, :3])
    busy = log[:, 3].copy()
    pickups = log[:, 4].copy()
    for a in (granted, busy, pickups):
        a.setflags(write=False)
    work_days = None
    if record_work:
        work_days = tuple(tuple(row[:k]) for row, k in zip(work.tolist(), n_days.tolist(),
                                                           strict=True))
    return HFSResult(
        makespan=int(day),
        order=ranked,
        workers=w,
        stations=plant_options.stations,
        records=records,
        granted=granted,
        stations_busy=busy,
        pickups=pickups,
        work_days=work_days,
        truck_hours=None,
    )


def makespans(
    instance: HFSInstance,
    orders: Sequence[Sequence[int]] | np.ndarray,
    *,
    workers: Workers | Sequence[int] | str = (2, 5, 2),
    options: PlantOptions | None = None,
    max_days: int | None = None,
) -> np.ndarray:
    """The makespan of each priority order of a batch (the batch API of the fast engine).

    The same makespans as :func:`simulate_fast` (and so as the SimPy model), without building
    the per-order records: what search methods and re-evaluations need. The plant settings are
    checked once for the whole batch; every order must be a permutation of the order ids.

    >>> from scmgym.simulators.hfs import identity_order, load_instance
    >>> d1 = load_instance("d1")
    >>> makespans(d1, [identity_order(d1), identity_order(d1)[::-1]]).tolist()
    [468, 470]
    """
    w = Workers.parse(workers)
    plant_options = PlantOptions.of(options)
    batch = np.asarray(orders, dtype=np.int64)
    if batch.ndim != 2 or batch.shape[1] != instance.n or not np.array_equal(
            np.sort(batch, axis=1), np.broadcast_to(np.arange(instance.n), batch.shape)):
        for row in np.atleast_2d(batch):  # the first bad one gets priority_order's error
            priority_order(instance, list(np.atleast_1d(row)))
        raise DataError("priority orders must be a 2-D batch of permutations of the order ids",
                        value=f"shape {batch.shape}", allowed=f"shape (k, {instance.n})")
    cap = _checked_cap(instance, w, plant_options)
    if max_days is not None:
        cap = int(max_days)
    need, ready, n_days, due = _plan_arrays(instance)
    work = np.zeros(ready.shape, dtype=np.int64)
    pool = np.array(w, dtype=np.int64)
    out = np.empty(len(batch), dtype=np.int64)
    for k, order in enumerate(batch):
        with signals_deferred():
            status, day, *_ = _run_days(order, need, ready, n_days, due, pool,
                                        plant_options.stations, plant_options.trucks_per_day,
                                        plant_options.pickup == "same_update", cap, work)
        if status == _DAY_CAP:
            raise SimulationLimitError(f"no end after {day} days (max_days={cap}) for order "
                                       f"{k} of the batch")
        out[k] = day
    return out
