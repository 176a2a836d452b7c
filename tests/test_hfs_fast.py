"""The compiled HFS engine gives exactly the SimPy model's results and errors."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import hfs_order_rows

from scmgym.errors import DataError, InfeasibleError, SimulationLimitError
from scmgym.simulators import hfs
from scmgym.simulators.hfs_fast import simulate_fast

INSTANCES = {name: hfs.load_instance(name) for name in ("d1", "d2", "d3", "d4", "d5")}
D1 = INSTANCES["d1"]
RULES = {"identity": hfs.identity_order, "edd": hfs.edd_order, "reverse": hfs.reverse_order}


def assert_same(slow: hfs.HFSResult, fast: hfs.HFSResult, *, work: bool = True) -> None:
    """Every field equal, except truck_hours (None in the fast result)."""
    assert fast.makespan == slow.makespan
    assert fast.records == slow.records
    assert fast.order == slow.order
    assert fast.workers == slow.workers
    assert fast.stations == slow.stations
    for name in ("granted", "stations_busy", "pickups"):
        a, b = getattr(slow, name), getattr(fast, name)
        assert a.shape == b.shape and a.dtype == b.dtype and (a == b).all(), name
        assert not b.flags.writeable
    if work:
        assert fast.work_days == slow.work_days
    assert fast.truck_hours is None
    assert fast.station_assignment() == slow.station_assignment()


def both(inst, order=None, **kwargs):
    slow = hfs.simulate(inst, order, engine="simpy", **kwargs)
    fast = hfs.simulate(inst, order, engine="fast", **kwargs)
    return slow, fast


@pytest.mark.parametrize("workers", [(2, 5, 2), (1, 2, 1), (3, 6, 3)])
@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("name", list(INSTANCES))
def test_datasets_and_rules(name, rule, workers):
    inst = INSTANCES[name]
    assert_same(*both(inst, RULES[rule](inst), workers=workers))


@pytest.mark.parametrize("pickup", ["same_update", "next_update"])
@pytest.mark.parametrize("stations", [20, 7])
@pytest.mark.parametrize("trucks", [1, 2])
@pytest.mark.parametrize("name", ["d1", "d5"])
def test_plant_options(name, pickup, stations, trucks):
    inst = INSTANCES[name]
    options = hfs.PlantOptions(stations=stations, trucks_per_day=trucks, pickup=pickup)
    for rule in (hfs.identity_order, hfs.edd_order):
        assert_same(*both(inst, rule(inst), workers=(2, 5, 2), options=options))
    # the legacy keywords give the same as options=
    legacy = simulate_fast(inst, hfs.edd_order(inst), stations=stations, trucks_per_day=trucks,
                           pickup=pickup)
    assert legacy.records == simulate_fast(inst, hfs.edd_order(inst), options=options).records


def test_priorities_and_record_work_flag():
    prio = np.random.default_rng(3).integers(0, 5, D1.n)
    assert_same(*both(D1, priorities=prio, workers="2,5,2"))
    lean = simulate_fast(D1, priorities=prio)
    assert lean.work_days is None
    assert_same(hfs.simulate(D1, priorities=prio), lean, work=False)


@settings(max_examples=30, deadline=None)
@given(perm=st.permutations(range(100)),
       workers=st.sampled_from([(2, 5, 2), (1, 2, 1), (3, 6, 3), (2, 3, 1)]))
def test_d1_random_permutations(perm, workers):
    assert_same(*both(D1, perm, workers=workers))


orders_strategy = hfs_order_rows(max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    orders=orders_strategy,
    workers=st.tuples(st.integers(1, 3), st.integers(2, 4), st.integers(1, 3)),
    stations=st.integers(1, 4),
    trucks=st.integers(1, 2),
    pickup=st.sampled_from(["same_update", "next_update"]),
    data=st.data(),
)
def test_random_small_instances(orders, workers, stations, trucks, pickup, data):
    inst = hfs.make_instance([(i, *row) for i, row in enumerate(orders)])
    perm = data.draw(st.permutations(range(inst.n)))
    options = hfs.PlantOptions(stations=stations, trucks_per_day=trucks, pickup=pickup)
    assert_same(*both(inst, perm, workers=workers, options=options))


@settings(max_examples=60, deadline=None)
@given(orders=orders_strategy, max_days=st.integers(-2, 120), data=st.data())
def test_day_cap_same_error(orders, max_days, data):
    inst = hfs.make_instance([(i, *row) for i, row in enumerate(orders)])
    perm = data.draw(st.permutations(range(inst.n)))
    assert_same_outcome(inst, perm, workers=(1, 2, 1), stations=2, max_days=max_days)


def outcome(fn, *args, **kwargs):
    """The result, or the type and message of the error raised."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the comparison is the point
        return type(exc), str(exc)


def assert_same_outcome(*args, **kwargs):
    slow = outcome(hfs.simulate, *args, engine="simpy", **kwargs)
    fast = outcome(simulate_fast, *args, **kwargs)
    if isinstance(slow, hfs.HFSResult):
        assert isinstance(fast, hfs.HFSResult), fast
        assert_same(slow, fast, work=False)
    else:
        assert fast == slow
    return slow


P_ONLY = hfs.make_instance([(0, "lt7_p", 1, 1, 1), (1, "lt8", 1, 1, 1)], name="p")


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        ((P_ONLY, [0, 1]), {"workers": (2, 1, 2)}, InfeasibleError),
        ((D1, list(range(100))), {"workers": (0, 5, 2)}, InfeasibleError),
        ((D1, list(range(100))), {"workers": (2, 5, 0)}, InfeasibleError),
        ((D1, list(range(100))), {"workers": "2,5"}, DataError),
        ((D1, list(range(100))), {"workers": (2, -1, 2)}, DataError),
        ((D1, list(range(100))), {"stations": 0}, InfeasibleError),
        ((D1, list(range(100))), {"trucks_per_day": 0}, InfeasibleError),
        ((D1, list(range(100))), {"pickup": "later"}, DataError),
        ((D1, list(range(100))), {"stations": 2.5}, DataError),
        ((D1, list(range(100))), {"colour": "red"}, TypeError),
        ((D1, list(range(100))), {"options": hfs.PlantOptions(), "stations": 3}, TypeError),
        ((D1, list(range(100))), {"options": "plant"}, TypeError),
        ((D1, [0] * 100), {}, DataError),
        ((D1, list(range(99))), {}, DataError),
        ((D1, [*range(99), 100]), {}, DataError),
        ((D1, [*range(99), 99.5]), {}, DataError),
        ((D1, [*range(99), "x"]), {}, DataError),
        ((D1,), {}, TypeError),
        ((D1, list(range(100))), {"priorities": list(range(100))}, TypeError),
        ((D1,), {"priorities": [1.0] * 99}, DataError),
        ((D1,), {"priorities": [np.nan] * 100}, DataError),
        ((D1, list(range(100))), {"max_days": 100}, SimulationLimitError),
        ((D1, list(range(100))), {"max_days": 467}, SimulationLimitError),
        ((D1, list(range(100))), {"max_days": 0}, SimulationLimitError),
    ],
)
def test_same_errors(args, kwargs, error):
    slow = assert_same_outcome(*args, **kwargs)
    assert slow[0] is error


def test_cap_exactly_at_makespan_is_not_an_error():
    assert_same_outcome(D1, list(range(100)), max_days=468)


def test_engine_argument():
    with pytest.raises(ValueError, match=r"engine='numba'; allowed: 'simpy', 'fast'"):
        hfs.simulate(D1, hfs.identity_order(D1), engine="numba")
    with pytest.raises(ValueError, match="allowed: 'simpy', 'fast'"):
        hfs.simulate(D1, hfs.identity_order(D1), engine=None)
    assert hfs.simulate(D1, hfs.identity_order(D1)).truck_hours is not None  # default: simpy


def test_without_numba_fast_warns_once_and_uses_simpy(monkeypatch):
    monkeypatch.setitem(sys.modules, "scmgym.simulators.hfs_fast", None)  # import fails
    monkeypatch.setattr(hfs, "_fast_warned", False)
    with pytest.warns(RuntimeWarning, match="numba"):
        first = hfs.simulate(D1, hfs.identity_order(D1), engine="fast")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = hfs.simulate(D1, hfs.identity_order(D1), engine="fast")
    assert first.truck_hours is not None and second.makespan == first.makespan == 468


@pytest.mark.parametrize("name", ["d1", "d2", "d3", "d4", "d5"])
def test_batch_makespans_equal_the_simpy_model(name):
    from scmgym.simulators.hfs_fast import makespans

    inst = hfs.load_instance(name)
    rng = np.random.default_rng(7)
    batch = [rng.permutation(inst.n) for _ in range(6)] + [list(hfs.edd_order(inst))]
    got = makespans(inst, batch, workers=(1, 2, 1) if name == "d4" else (2, 5, 2))
    want = [hfs.simulate(inst, list(o), workers=(1, 2, 1) if name == "d4" else (2, 5, 2),
                         record_work=False).makespan for o in batch]
    assert got.tolist() == want


def test_batch_makespans_refuse_what_simulate_refuses():
    from scmgym.simulators.hfs_fast import makespans

    inst = hfs.load_instance("d1")
    with pytest.raises(DataError, match="order id repeated"):
        makespans(inst, [list(range(inst.n)), [0] * inst.n])
    with pytest.raises(InfeasibleError, match="E pool has 1"):
        makespans(inst, [list(range(inst.n))], workers=(2, 1, 2))


def test_the_problem_view_uses_the_fast_engine_with_the_same_makespans():
    from scmgym.core import Problem

    problem = Problem.parse("hfs:d2")
    rng = np.random.default_rng(3)
    for _ in range(5):
        order = rng.permutation(problem.size).tolist()
        assert problem.evaluate(order) == hfs.simulate(problem.instance, order,
                                                       record_work=False).makespan


def test_the_env_gives_the_same_episodes_with_either_engine():
    from scmgym.envs.hfs import HybridFlowShopEnv

    runs = {}
    for engine in ("simpy", "fast"):
        env = HybridFlowShopEnv("d1", engine=engine)
        rng = np.random.default_rng(0)
        episodes = []
        for seed in (0, 1, 2):
            obs, info = env.reset(seed=seed)
            steps, done = [obs.tolist()], False
            while not done:
                obs, reward, done, _, info = env.step(int(rng.integers(5)))
                steps.append((obs.tolist(), reward))
            episodes.append((steps, info["objective"], info["solution"], info["records"]))
        runs[engine] = episodes
    assert runs["simpy"] == runs["fast"]
    with pytest.raises(ValueError, match="engine='numba'; allowed: 'fast', 'simpy'"):
        HybridFlowShopEnv("d1", engine="numba")


def test_cli_engines_print_the_same_schedule(capsys):
    from scmgym.cli import main

    outputs = []
    for engine in ("simpy", "fast"):
        assert main(["simulate", "hfs", "--dataset", "d2", "--engine", engine, "--json"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]


def test_simulate_many_makespans_and_records_on_both_engines():
    rng = np.random.default_rng(3)
    orders = [rng.permutation(D1.n).tolist() for _ in range(4)]
    expected = [hfs.simulate(D1, o).makespan for o in orders]
    for engine in ("simpy", "fast"):
        spans = hfs.simulate_many(D1, orders, engine=engine)
        assert spans.dtype == np.int64 and spans.tolist() == expected
        results = hfs.simulate_many(D1, orders, engine=engine, records=True)
        assert [r.records for r in results] == [hfs.simulate(D1, o).records for o in orders]
    with pytest.raises(ValueError, match="one seed per order"):
        hfs.simulate_many(D1, orders, seeds=[1])
    with pytest.raises(ValueError, match="engine='numba'"):
        hfs.simulate_many(D1, orders, engine="numba")
