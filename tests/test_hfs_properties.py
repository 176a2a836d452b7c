"""Invariants of the HFS simulator (spec §12.3) as hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import hfs_order_rows

from scmgym.simulators import hfs

D1 = hfs.load_instance("d1")


def check_invariants(inst: hfs.HFSInstance, res: hfs.HFSResult, trucks_per_day: int = 1) -> None:
    recs = res.records
    assert len(recs) == inst.n
    # makespan >= max dd, = the last delivery, >= every lower bound
    assert res.makespan >= max(o.due_day for o in inst.orders)
    assert res.makespan == max(r.delivery_day for r in recs)
    assert res.makespan >= hfs.lower_bound(inst, res.workers, stations=res.stations,
                                           trucks_per_day=trucks_per_day)
    # at most `stations` orders hold stations on any day
    assert res.stations_busy.max() <= res.stations
    # at most one pickup (per truck) per day, each order picked exactly once
    assert res.pickups.max() <= trucks_per_day
    assert int(res.pickups.sum()) == inst.n
    days = [r.pickup_day for r in recs]
    assert max(np.bincount(days)) <= trucks_per_day
    # delivery at max(pickup + 2, dd); a machine leaves only once finished
    for r, o in zip(recs, inst.orders, strict=True):
        assert r.delivery_day == max(r.pickup_day + 2, o.due_day)
        assert 1 <= r.admission_day < r.finish_day <= r.pickup_day
    # grants per day within the pools
    assert (res.granted <= np.array(res.workers)).all()
    assert (res.granted >= 0).all()
    # each production day worked exactly once, in order, after admission and before finish
    for r, work, o in zip(recs, res.work_days, inst.orders, strict=True):
        assert len(work) == o.type.days
        assert all(a < b for a, b in zip(work, work[1:], strict=False))
        assert work[0] >= r.admission_day and work[-1] == r.finish_day - 1
    # daily grant totals equal the work log's non-zero requirements
    totals = np.zeros_like(res.granted)
    for work, o in zip(res.work_days, inst.orders, strict=True):
        for day, need in zip(work, o.type.requirements, strict=True):
            totals[day - 1] += need
    assert (totals == res.granted).all()
    # stations: no two orders on one station at once
    stations = res.station_assignment()
    for k in set(stations):
        spans = sorted((r.admission_day, r.pickup_day) for r, s in zip(recs, stations,
                                                                       strict=True) if s == k)
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))
    # the truck reaches the logistics centre strictly between the next two updates
    for r, (dep, arr) in zip(recs, res.truck_hours, strict=True):
        update = hfs.FIRST_UPDATE_H + hfs.DAY_H * (r.pickup_day - 1)
        assert dep == update
        assert update + hfs.DAY_H < arr < update + 2 * hfs.DAY_H


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(100)), st.integers(0, 2**32 - 1))
def test_d1_random_permutations(perm, seed):
    res = hfs.simulate(D1, perm, workers=(2, 5, 2), seed=seed)
    check_invariants(D1, res)
    # truck draws never change the day-level result
    other = hfs.simulate(D1, perm, workers=(2, 5, 2), seed=seed + 1)
    assert other.makespan == res.makespan
    assert other.records == res.records
    assert other.truck_hours != res.truck_hours


orders_strategy = hfs_order_rows(max_size=9)


@settings(max_examples=150, deadline=None)
@given(
    orders=orders_strategy,
    workers=st.tuples(st.integers(1, 3), st.integers(2, 4), st.integers(1, 3)),
    stations=st.integers(1, 4),
    trucks=st.integers(1, 2),
    data=st.data(),
)
def test_random_small_instances(orders, workers, stations, trucks, data):
    inst = hfs.make_instance([(i, *row) for i, row in enumerate(orders)])
    perm = data.draw(st.permutations(range(inst.n)))
    res = hfs.simulate(inst, perm, workers=workers, stations=stations, trucks_per_day=trucks)
    check_invariants(inst, res, trucks_per_day=trucks)
    assert res.order == tuple(perm)
    # next-update pickup is never earlier than same-update pickup
    later = hfs.simulate(inst, perm, workers=workers, stations=stations, trucks_per_day=trucks,
                         pickup="next_update")
    assert later.makespan >= res.makespan


@settings(max_examples=60, deadline=None)
@given(orders=orders_strategy, data=st.data())
def test_priorities_equal_their_stable_sort(orders, data):
    inst = hfs.make_instance([(i, *row) for i, row in enumerate(orders)])
    prio = data.draw(st.lists(st.integers(0, 3), min_size=inst.n, max_size=inst.n))
    expected = sorted(range(inst.n), key=lambda i: -prio[i])  # stable: ties keep id order
    assert hfs.priority_order(inst, priorities=prio) == tuple(expected)
    a = hfs.simulate(inst, priorities=prio, workers=(2, 3, 2))
    b = hfs.simulate(inst, expected, workers=(2, 3, 2))
    assert a.makespan == b.makespan and a.records == b.records


def test_more_stations_than_orders_admits_all_on_day_one():
    res = hfs.simulate(D1, hfs.identity_order(D1), workers=(100, 100, 100), stations=100)
    assert {r.admission_day for r in res.records} == {1}


def test_two_trucks_never_slower():
    for rule in (hfs.identity_order, hfs.edd_order, hfs.reverse_order):
        one = hfs.simulate(D1, rule(D1), workers=(100, 100, 100))
        two = hfs.simulate(D1, rule(D1), workers=(100, 100, 100), trucks_per_day=2)
        assert two.makespan <= one.makespan
        assert two.pickups.max() == 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_seed_same_result(seed):
    a = hfs.simulate(D1, hfs.edd_order(D1), seed=seed)
    b = hfs.simulate(D1, hfs.edd_order(D1), seed=seed)
    assert a.truck_hours == b.truck_hours and a.records == b.records


def test_utilisation_shapes_and_ranges():
    res = hfs.simulate(D1, hfs.identity_order(D1), workers=(2, 5, 2))
    util = res.worker_utilisation()
    assert util.shape == (res.makespan, 3)
    assert ((util >= 0) & (util <= 1)).all()
    assert res.station_utilisation().max() == 1.0  # all 20 stations held on day 1
    assert res.stations_busy[0] == 20
    summary = res.to_dict()
    assert summary["makespan"] == 468 and len(summary["orders"]) == 100
    assert 0 < summary["mean_worker_utilisation"]["E"] <= 1
