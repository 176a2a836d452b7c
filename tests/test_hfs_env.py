"""The Gymnasium environment scmgym/HybridFlowShop-v0."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import scmgym  # noqa: F401  (registers the envs)
from scmgym.envs.hfs import HybridFlowShopEnv, level_band
from scmgym.simulators import hfs


def run_episode(env, actions=None, seed=0):
    obs, info = env.reset(seed=seed)
    observations, ids = [obs], [info["order_id"]]
    rng = np.random.default_rng(123)
    total = 0.0
    for t in range(env.unwrapped.instance.n):
        a = actions[t] if actions is not None else int(rng.integers(env.action_space.n))
        obs, reward, terminated, truncated, info = env.step(a)
        observations.append(obs)
        total += reward
        if not terminated:
            ids.append(info["order_id"])
    assert terminated and not truncated
    return np.array(observations), ids, total, info


def test_made_by_id_with_the_module_prefix():
    env = gym.make("scmgym:scmgym/HybridFlowShop-v0", dataset="d2")
    assert isinstance(env.unwrapped, HybridFlowShopEnv)
    assert env.unwrapped.instance.name == "d2"


def test_spaces_and_observations():
    env = HybridFlowShopEnv(dataset="d1", priority_levels=5)
    assert env.action_space == gym.spaces.Discrete(5)
    assert env.observation_space.dtype == np.int64
    assert list(env.observation_space.high) == [11, 19, 19, 67, 100]
    obs_seq, ids, _, _ = run_episode(env)
    inst = env.instance
    for t, (obs, oid) in enumerate(zip(obs_seq[:-1], ids, strict=True)):
        o = inst.orders[oid]
        assert obs.dtype == np.int64 and obs in env.observation_space
        assert list(obs) == [hfs.TYPE_CODES[o.machine_type], o.basement_day, o.panel_day,
                             o.due_day, inst.n - t]
    assert (obs_seq[-1] == 0).all()
    assert sorted(ids) == list(range(inst.n))


def test_observations_are_copies():
    """Observations come from one array per episode: writing to one the env returned changes
    nothing the env returns later (the next reset, the open-loop matrix, a replay)."""
    env = HybridFlowShopEnv(dataset="d1", shuffle=True)
    obs, _ = env.reset(seed=3)
    expected = env.open_loop_observations()
    obs[:] = -1
    matrix = env.open_loop_observations()
    matrix[:] = -2
    np.testing.assert_array_equal(env.open_loop_observations(), expected)
    for t in range(1, 4):
        obs, *_ = env.step(0)
        np.testing.assert_array_equal(obs, expected[t])
        obs[:] = -3
    obs, _ = env.reset(seed=3)
    np.testing.assert_array_equal(obs, expected[0])


def test_reward_is_max_makespan_minus_simulated_makespan():
    env = HybridFlowShopEnv(dataset="d1")
    _, _, total, info = run_episode(env)
    res = hfs.simulate(env.instance, info["order"], workers=(2, 5, 2))
    assert total == 500 - res.makespan == 500 - info["makespan"]
    assert info["lower_bound"] == 440 and len(info["records"]) == 100


@pytest.mark.parametrize("dataset, expected", [("d1", 500), ("d3", 500), ("d4", 650),
                                               ("d5", 2500)])
def test_default_max_makespan(dataset, expected):
    assert HybridFlowShopEnv(dataset=dataset, workers=(2, 5, 2)).max_makespan == expected


def test_shuffle_false_presents_csv_order():
    env = HybridFlowShopEnv(dataset="d1", shuffle=False)
    _, ids, _, _ = run_episode(env)
    assert ids == list(range(100))


def test_priority_action_reproduces_identity():
    env = HybridFlowShopEnv(dataset="d1", action="priority", shuffle=False)
    assert env.action_space == gym.spaces.Discrete(100)
    actions = [99 - i for i in range(100)]  # row 0 most urgent
    _, _, total, info = run_episode(env, actions)
    assert info["order"] == list(range(100)) and info["makespan"] == 468
    assert total == 500 - 468


def test_deterministic_levels_sort_by_level_then_presentation():
    env = HybridFlowShopEnv(dataset="d1", level_mode="deterministic", shuffle=False)
    levels = [i % 5 for i in range(100)]
    _, _, _, info = run_episode(env, levels)
    expected = sorted(range(100), key=lambda i: -levels[i])
    assert info["order"] == expected


def test_random_levels_stay_in_their_band():
    env = HybridFlowShopEnv(dataset="d1", shuffle=False, priority_levels=5)
    levels = [4] * 20 + [0] * 80  # the first 20 rows at the top level
    _, _, _, info = run_episode(env, levels)
    assert sorted(info["order"][:20]) == list(range(20))


@pytest.mark.parametrize("n, levels", [(100, 5), (100, 3), (7, 7), (10, 4), (345, 6)])
def test_level_bands_partition_the_range(n, levels):
    bands = [level_band(k, n, levels) for k in range(levels)]
    assert bands[0][0] == 0 and bands[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bands, bands[1:], strict=False))
    sizes = [e - s for s, e in bands]
    assert max(sizes) - min(sizes) <= 1


def test_normalized_reward():
    env = HybridFlowShopEnv(dataset="d1", reward="normalized")
    _, _, total, info = run_episode(env)
    assert total == pytest.approx((500 - info["makespan"]) / (500 - 440))
    assert 0 < total < 1


def test_constructor_errors():
    with pytest.raises(ValueError, match="priority_levels=0"):
        HybridFlowShopEnv(priority_levels=0)
    with pytest.raises(ValueError, match="action='rank'"):
        HybridFlowShopEnv(action="rank")
    with pytest.raises(scmgym.errors.InfeasibleError, match="E pool has 1"):
        HybridFlowShopEnv(workers=(2, 1, 2))


def test_final_info_has_the_shared_objective_and_solution_keys():
    env = HybridFlowShopEnv(dataset="d1", action="priority", shuffle=False)
    _, _, _, info = run_episode(env, [99 - i for i in range(100)])
    assert info["objective"] == info["makespan"] == 468
    assert info["solution"] == info["order"] == list(range(100))
    assert {"lower_bound", "records"} <= info.keys()  # the plant's own keys stay


def test_env_passes_one_plant_options_down():
    env = HybridFlowShopEnv(dataset="d1", action="priority", shuffle=False, stations=7,
                            trucks_per_day=2, pickup="next_update")
    assert env.options == hfs.PlantOptions(stations=7, trucks_per_day=2, pickup="next_update")
    _, _, _, info = run_episode(env, [99 - i for i in range(100)])
    expected = hfs.simulate(env.instance, list(range(100)), options=env.options)
    assert info["makespan"] == expected.makespan
    assert env.lower_bound == hfs.lower_bound(env.instance, (2, 5, 2), stations=7,
                                              trucks_per_day=2)
    assert HybridFlowShopEnv(dataset="d1").options == hfs.PlantOptions()
    with pytest.raises(scmgym.errors.DataError, match="pickup"):
        HybridFlowShopEnv(dataset="d1", pickup="tomorrow")


def test_plant_options_defaults_are_the_original_plant():
    options = hfs.PlantOptions()
    assert (options.stations, options.trucks_per_day, options.pickup) == (20, 1, "same_update")
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.stations = 4  # type: ignore[misc]
    assert hfs.PlantOptions(stations=np.int64(4), trucks_per_day=2.0).stations == 4
    assert type(hfs.PlantOptions(trucks_per_day=2.0).trucks_per_day) is int


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"stations": 0}, scmgym.errors.InfeasibleError,
     r"^stations=0: no order could ever be admitted; allowed: stations >= 1$"),
    ({"trucks_per_day": -1}, scmgym.errors.InfeasibleError,
     r"^trucks_per_day=-1: no machine could ever leave; allowed: trucks_per_day >= 1$"),
    ({"stations": 2.5}, scmgym.errors.DataError,
     r"invalid plant option stations \(got 2\.5\); allowed: an integer >= 1"),
    ({"stations": True}, scmgym.errors.DataError, r"invalid plant option stations"),
    ({"trucks_per_day": "1"}, scmgym.errors.DataError,
     r"invalid plant option trucks_per_day \(got '1'\)"),
    ({"pickup": "tomorrow"}, scmgym.errors.DataError,
     r"invalid plant option pickup \(got 'tomorrow'\); "
     r"allowed: 'same_update' or 'next_update'"),
])
def test_plant_options_validation(kwargs, error, pattern):
    with pytest.raises(error, match=pattern) as caught:
        hfs.PlantOptions(**kwargs)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(error, match=pattern):  # the legacy keywords go through the same check
        hfs.simulate(hfs.load_instance("d1"), list(range(100)), **kwargs)


def test_legacy_plant_keywords():
    inst = hfs.load_instance("d1")
    order = hfs.identity_order(inst)
    new = hfs.simulate(inst, order, options=hfs.PlantOptions(pickup="next_update"))
    old = hfs.simulate(inst, order, pickup="next_update")
    assert new.makespan == old.makespan == 469
    assert new.records == old.records and new.work_days == old.work_days
    assert (new.pickups == old.pickups).all() and (new.granted == old.granted).all()
    small = hfs.PlantOptions(stations=5, trucks_per_day=2)
    assert (hfs.simulate(inst, order, options=small).makespan
            == hfs.simulate(inst, order, stations=5, trucks_per_day=2).makespan)
    assert (hfs.lower_bound(inst, (2, 5, 2), options=small)
            == hfs.lower_bound(inst, (2, 5, 2), stations=5, trucks_per_day=2))
    assert (hfs.lower_bounds(inst, (2, 5, 2), options=small)
            == hfs.lower_bounds(inst, (2, 5, 2), stations=5, trucks_per_day=2))
    # check_feasible takes the options both ways and really checks (a lone E worker cannot
    # build the lt7_p types of d1).
    for kwargs in ({"options": small}, {"stations": 5, "pickup": "next_update"}):
        with pytest.raises(scmgym.errors.InfeasibleError, match="E pool has 1"):
            hfs.check_feasible(inst, (2, 1, 2), **kwargs)
    assert (hfs.PlantOptions.of(None, stations=5, trucks_per_day=2) == small
            and hfs.PlantOptions.of(small) is small and hfs.PlantOptions.of() == hfs.PlantOptions())


@pytest.mark.parametrize("call", [hfs.simulate, hfs.check_feasible, hfs.lower_bound])
def test_legacy_plant_keywords_misuse(call):
    inst = hfs.load_instance("d1")
    first = list(range(100)) if call is hfs.simulate else (2, 5, 2)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) 'station'; allowed "
                       r"plant keywords: stations, trucks_per_day, pickup"):
        call(inst, first, station=4)
    with pytest.raises(TypeError, match=r"give options= or the keyword\(s\) stations, not both"):
        call(inst, first, options=hfs.PlantOptions(), stations=4)
    with pytest.raises(TypeError, match="options must be a PlantOptions or None, got dict"):
        call(inst, first, options={"stations": 4})
