"""The compiled make-or-buy engine gives exactly the SimPy model's runs (mode "fast") and errors."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scmgym.core.problem import Problem
from scmgym.envs.make_or_buy import MakeOrBuyEnv
from scmgym.errors import DataError
from scmgym.simulators import make_or_buy as mob
from scmgym.simulators.make_or_buy import stepper
from scmgym.simulators.make_or_buy.fast import FastMakeOrBuySimulation, draws_per_order, revenues

LISTS = {name: mob.load_instance(name) for name in ("list1", "list2", "list3")}
LIST1 = LISTS["list1"]


def both(inst, decisions, **kwargs):
    return (mob.simulate(inst, decisions, engine="simpy", **kwargs),
            mob.simulate(inst, decisions, engine="fast", **kwargs))


@pytest.mark.parametrize("name", list(LISTS))
@pytest.mark.parametrize("share", [0.0, 0.34, 0.7, 1.0])
def test_bundled_lists_same_run(name, share):
    inst = LISTS[name]
    rng = np.random.default_rng(hash((name, share)) % 2**32)
    for seed in range(3):
        x = (rng.random(inst.n) >= share).astype(int).tolist()  # share = fraction made
        slow, fast = both(inst, x, seed=seed)
        assert fast == slow  # revenue, counts, end time, speed and every record, bit for bit


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 40), inst_seed=st.integers(0, 10**6), seed=st.integers(0, 2**63 - 1),
       made=st.floats(0, 1), latch=st.booleans(), allow_empty=st.booleans(),
       max_count=st.sampled_from([0, 1, 3, 20]))
def test_generated_instances_same_run(n, inst_seed, seed, made, latch, allow_empty, max_count):
    inst = mob.generate_make_or_buy_instance(n, inst_seed, max_count=max_count,
                                             allow_empty=allow_empty or max_count == 0)
    x = (np.random.default_rng(inst_seed).random(n) >= made).astype(int).tolist()
    slow, fast = both(inst, x, seed=seed, truck_speed_latch=latch)
    assert fast == slow
    assert revenues(inst, [x], [seed], truck_speed_latch=latch).tolist() == [slow.revenue]


def test_empty_orders_made_and_rejected():
    inst = mob.make_instance([(1, 0, 0, 0, "2024-07-01"), (2, 2, 0, 1, "2024-09-01"),
                              (3, 0, 0, 0, "2024-09-02"), (4, 0, 3, 0, "2025-01-01")])
    for seed in range(20):
        slow, fast = both(inst, [0, 0, 0, 0], seed=seed)
        assert fast == slow
    with pytest.raises(DataError, match="cannot be made"):
        mob.simulate(inst, [0, 1, 1, 1], engine="fast", empty_orders="reject")
    with pytest.raises(DataError, match=r"candidate 1.*cannot be made"):
        revenues(inst, [[1, 1, 1, 1], [1, 1, 0, 1]], [0, 1], empty_orders="reject")


def test_decided_one_by_one_is_the_same_run():
    x = [int(v) for v in np.random.default_rng(5).integers(0, 2, LIST1.n)]
    whole = mob.simulate(LIST1, x, seed=9)
    for engine in ("simpy", "fast"):
        sim = mob.open_simulation(LIST1, engine=engine, seed=9)
        times = []
        for v in x:
            times.append(sim.now)
            sim.decide(v)
        assert sim.done and sim.result() == whole
        assert times == [r.start for r in whole.records]


def test_a_generator_seed_is_left_in_the_same_state():
    gens = [np.random.default_rng(123), np.random.default_rng(123)]
    x = [0, 1, 0, 0] * 25
    results = [mob.simulate(LIST1, x, seed=g, engine=e)
               for g, e in zip(gens, ("simpy", "fast"), strict=True)]
    assert results[0] == results[1]
    assert gens[0].bit_generator.state == gens[1].bit_generator.state
    assert gens[0].random() == gens[1].random()


def test_draws_per_order_counts_the_model_draws():
    assert draws_per_order(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [2, 3, 4]])).tolist() == \
        [13, 11, 13, 13 * 2 + 11 * 3 + 13 * 4]


def test_simulate_many_pairs_vectors_and_seeds():
    rng = np.random.default_rng(0)
    xs = rng.integers(0, 2, size=(6, LIST1.n))
    seeds = rng.integers(0, 2**63 - 1, size=6)
    fast = mob.simulate_many(LIST1, xs, seeds)
    slow = mob.simulate_many(LIST1, xs, seeds, engine="simpy")
    assert fast.dtype == np.int64 and fast.tolist() == slow.tolist()
    assert fast.tolist() == [mob.simulate(LIST1, x, seed=int(s)).revenue
                             for x, s in zip(xs, seeds, strict=False)]
    one = mob.simulate_many(LIST1, "01" * 50, [1, 2, 3])
    assert one.tolist() == [mob.simulate(LIST1, "01" * 50, seed=s).revenue for s in (1, 2, 3)]
    with pytest.raises(ValueError, match="one vector per seed"):
        mob.simulate_many(LIST1, xs, [1, 2])
    with pytest.raises(DataError, match="candidate 2"):
        mob.simulate_many(LIST1, [[0] * 100, [1] * 100, [2] * 100], [0, 1, 2])


def test_problem_evaluate_many_on_both_engines():
    xs = [[0, 1] * 50, [1] * 100, [0] * 100]
    seeds = [11, 12, 13]
    fast = Problem("make-or-buy", "list1")
    slow = fast.with_engine("simpy")
    assert fast == slow and fast.to_dict() == slow.to_dict()  # not part of the identity
    assert fast.evaluate_many(xs, seeds).tolist() == slow.evaluate_many(xs, seeds).tolist() == \
        [fast.evaluate(x, seed=s) for x, s in zip(xs, seeds, strict=False)]
    with pytest.raises(DataError, match="unknown engine"):
        Problem("make-or-buy", "list1", engine="numba")


def test_env_episodes_identical_on_both_engines():
    rng = np.random.default_rng(2)
    actions = rng.integers(0, 2, LIST1.n)
    runs = []
    for engine in ("simpy", "fast"):
        env = MakeOrBuyEnv("list1", observation="extended", engine=engine)
        assert env.engine == engine
        obs, info = env.reset(seed=4)
        trace = [(obs.tolist(), info)]
        for a in actions:
            obs, r, term, trunc, info = env.step(int(a))
            trace.append((obs.tolist(), r, term, trunc, info))
        runs.append(trace)
    assert runs[0] == runs[1]
    assert MakeOrBuyEnv("list1").engine == "fast"
    assert MakeOrBuyEnv("list1", mode="literal").engine == "simpy"


def test_engine_errors():
    with pytest.raises(ValueError, match="implements mode 'fast' only"):
        mob.simulate(LIST1, [1] * 100, engine="fast", mode="literal-ticks")
    with pytest.raises(ValueError, match="implements mode 'fast' only"):
        FastMakeOrBuySimulation(LIST1, mode="literal")
    with pytest.raises(ValueError, match=r"engine='numba'; allowed: 'simpy', 'fast'"):
        mob.simulate(LIST1, [1] * 100, engine="numba")
    with pytest.raises(ValueError, match="implements mode 'fast' only"):
        MakeOrBuyEnv("list1", mode="literal", engine="fast")
    sim = mob.open_simulation(LIST1, engine="fast", decisions=[1] * 100)
    with pytest.raises(RuntimeError, match="all orders have been decided"):
        sim.decide(1)
    with pytest.raises(AttributeError, match="no SimPy environment"):
        _ = sim.env
    sim = mob.open_simulation(LIST1, engine="fast")
    with pytest.raises(DataError, match="not a decision"):
        sim.decide(3)
    with pytest.raises(RuntimeError, match="not finished"):
        sim.result()


def test_without_numba_fast_warns_once_and_uses_simpy(monkeypatch):
    monkeypatch.setitem(sys.modules, "scmgym.simulators.make_or_buy.fast", None)  # import fails
    monkeypatch.setattr(stepper, "_fast_warned", False)
    with pytest.warns(RuntimeWarning, match="numba"):
        first = mob.simulate(LIST1, [0, 1] * 50, seed=3, engine="fast")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = mob.simulate_many(LIST1, [0, 1] * 50, [3])
    assert again.tolist() == [first.revenue]
    monkeypatch.undo()
    assert mob.simulate(LIST1, [0, 1] * 50, seed=3, engine="fast") == first


def test_simulate_many_records_on_request():
    xs = [[0, 1] * 50, [1, 0] * 50]
    for engine in ("simpy", "fast"):
        results = mob.simulate_many(LIST1, xs, [4, 5], engine=engine, records=True)
        assert results == [mob.simulate(LIST1, x, seed=s) for x, s in zip(xs, (4, 5),
                                                                            strict=True)]
