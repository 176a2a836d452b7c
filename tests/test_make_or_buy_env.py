"""The scmgym/MakeOrBuy-v0 Gymnasium environment."""

from __future__ import annotations

import json
import pickle

import gymnasium as gym
import numpy as np
import pytest

import scmgym  # noqa: F401  (registers the envs)
from scmgym.envs._common import EpisodeStateError
from scmgym.envs.make_or_buy import MakeOrBuyEnv
from scmgym.errors import DataError
from scmgym.simulators import make_or_buy as mob

SMALL = mob.make_instance([(1, 3, 2, 4, 76), (2, 2, 3, 1, 137), (3, 5, 1, 1, 226),
                           (4, 0, 0, 0, 300), (5, 1, 0, 0, 250)], "small")


def run_episode(env, actions, seed=None):
    obs, info = env.reset(seed=seed)
    observations, rewards = [obs], []
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        observations.append(obs)
        rewards.append(reward)
    return observations, rewards, terminated, truncated, info


def test_registered_env_with_another_list_and_the_declared_spaces():
    env = gym.make("scmgym/MakeOrBuy-v0", dataset="list2", reward="scaled")
    assert env.unwrapped.instance.name == "list2" and env.unwrapped.n == 100
    assert env.action_space == gym.spaces.Discrete(2)
    assert env.observation_space == gym.spaces.Box(0, 20, shape=(3,), dtype=np.int64)
    extended = MakeOrBuyEnv("list2", observation="extended").observation_space
    assert extended.dtype == np.float32 and extended.shape == (6,)


@pytest.mark.parametrize("observation", ["paper", "extended"])
def test_episode_contract_and_final_reward_equals_simulate(observation):
    env = MakeOrBuyEnv(SMALL, observation=observation)
    actions = [0, 1, 0, 0, 1]
    obs_list, rewards, terminated, truncated, info = run_episode(env, actions, seed=5)
    for obs in obs_list:
        assert obs.dtype == env.observation_space.dtype and env.observation_space.contains(obs)
    assert obs_list[0][:3].tolist() == [3, 2, 4] and obs_list[2][:3].tolist() == [5, 1, 1]
    assert all(type(r) is float for r in rewards) and rewards[:-1] == [0.0] * 4
    assert terminated is True and truncated is False
    assert not obs_list[-1].any()  # terminal observation: zeros
    result = mob.simulate(SMALL, actions, seed=info["episode_seed"])
    assert rewards[-1] == float(result.revenue)
    assert (info["revenue"], info["on_time"], info["late"], info["bought"]) == (
        result.revenue, result.on_time, result.late, result.bought)
    assert [o["completion"] for o in info["orders"]] == result.completion_times().tolist()


def test_extended_observation_time_and_slack():
    env = MakeOrBuyEnv(SMALL, observation="extended")
    obs, info = env.reset(seed=1)
    assert obs.tolist() == pytest.approx([3, 2, 4, 76, 0.0, 76 - 31 - 14.3 * 3], abs=1e-4)
    obs, *_ = env.step(0)  # make order 1: the plant time moves to its completion
    t1 = env.plant_time
    assert t1 > 11 and obs[4] == pytest.approx(t1, rel=1e-6)
    assert obs[5] == pytest.approx(137 - t1 - (31 + 14.3 * 2), rel=1e-5)
    obs2, *_ = env.step(1)  # buying takes no time
    assert obs2[4] == obs[4]
    for a in (0, 0, 0):
        obs3, reward, terminated, _, info = env.step(a)
    assert terminated and info["orders"][0]["completion"] == pytest.approx(t1)
    assert info["orders"][1]["start"] == pytest.approx(t1)


def test_resets_without_a_seed_continue_the_stream_with_fresh_replications():
    env = MakeOrBuyEnv(SMALL, observation="extended")
    a = run_episode(env, [0] * 5, seed=42)
    c = run_episode(env, [0] * 5)  # no seed: the env's stream continues
    d = run_episode(env, [0] * 5)
    assert len({a[4]["episode_seed"], c[4]["episode_seed"], d[4]["episode_seed"]}) == 3
    assert c[4]["end_time"] != d[4]["end_time"]
    run_episode(env, [0] * 5, seed=42)  # the stream after a seeded reset is the same again
    assert run_episode(env, [0] * 5)[4] == c[4]


def test_scaled_reward():
    env = MakeOrBuyEnv("list1", reward="scaled")
    assert run_episode(env, [1] * 100, seed=0)[1][-1] == 0.0
    _, rewards, _, _, info = run_episode(env, [0] * 100, seed=0)
    assert rewards[-1] == pytest.approx((info["revenue"] - 7000) / 3000)


def test_constructor_errors():
    with pytest.raises(ValueError, match="observation"):
        MakeOrBuyEnv(SMALL, observation="full")
    with pytest.raises(ValueError, match="reward"):
        MakeOrBuyEnv(SMALL, reward="profit")
    with pytest.raises(DataError):
        MakeOrBuyEnv("no_such_list")


def test_final_info_has_objective_and_solution():
    env = MakeOrBuyEnv(SMALL)
    actions = [0, 1, 0, 1, 1]
    *_, info = run_episode(env, actions, seed=2)
    assert info["objective"] == info["revenue"] and type(info["objective"]) is int
    assert [o["decision"] for o in info["orders"]] == info["solution"] == actions
    scaled = MakeOrBuyEnv(SMALL, reward="scaled")
    _, rewards, _, _, info2 = run_episode(scaled, actions, seed=2)
    assert info2["objective"] == info["objective"] and rewards[-1] != info2["objective"]


def test_plant_time_before_reset_raises_episode_state_error():
    env = MakeOrBuyEnv(SMALL)
    with pytest.raises(EpisodeStateError, match=r"reset\(\)"):
        _ = env.plant_time
    env.reset(seed=0)
    assert env.plant_time == 0.0


def test_mode_kwarg_and_literal_alias():
    actions = [0, 1, 0, 0, 1]
    lit = run_episode(MakeOrBuyEnv(SMALL, mode="literal"), actions, seed=4)[4]
    alias = run_episode(MakeOrBuyEnv(SMALL, literal=True), actions, seed=4)[4]
    assert alias == lit
    assert lit["objective"] == mob.simulate(SMALL, actions, seed=lit["episode_seed"],
                                            mode="literal").revenue
    fast = run_episode(MakeOrBuyEnv(SMALL), actions, seed=4)[4]
    assert fast["episode_seed"] == lit["episode_seed"]
    truck = run_episode(MakeOrBuyEnv(SMALL, mode="literal-truck"), actions, seed=4)[4]
    assert truck["revenue"] == fast["revenue"]
    assert truck["end_time"] == pytest.approx(fast["end_time"], abs=1e-7)
    env = MakeOrBuyEnv(SMALL, literal=True)
    assert env.sim_options == {"truck_speed_latch": True, "empty_orders": "next_tick",
                               "mode": "literal"}
    assert MakeOrBuyEnv(SMALL).sim_options["mode"] == "fast"
    registered = gym.make("scmgym/MakeOrBuy-v0", mode="literal-ticks")
    assert json.loads(registered.spec.to_json())["kwargs"] == {"mode": "literal-ticks"}
    assert registered.unwrapped.sim_options["mode"] == "literal-ticks"
    clone = pickle.loads(pickle.dumps(MakeOrBuyEnv(SMALL, mode="literal-lines")))
    assert clone.sim_options["mode"] == "literal-lines"


def test_bad_mode_in_env():
    with pytest.raises(ValueError) as err:
        MakeOrBuyEnv(SMALL, mode="slow")
    assert "mode='slow'" in str(err.value)
    assert "allowed: 'fast', 'literal-ticks', 'literal-truck', 'literal-lines', 'literal'" \
        in str(err.value)
    with pytest.raises(ValueError, match="contradicts"):
        MakeOrBuyEnv(SMALL, mode="fast", literal=True)
    with pytest.raises(ValueError, match="contradicts"):
        MakeOrBuyEnv(SMALL, mode="literal", literal=False)


def test_empty_order_reject_option_in_env():
    env = MakeOrBuyEnv(SMALL, empty_orders="reject")
    env.reset(seed=0)
    for a in (1, 1, 1):
        env.step(a)
    with pytest.raises(DataError, match="a = b = c = 0"):
        env.step(0)
    env.step(1)  # buying it is fine


def test_dataset_path_kwarg(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("id,a,b,c,deadline\n1,1,0,0,2024-08-01\n2,0,2,0,2024-07-01\n")
    env = MakeOrBuyEnv(str(path))
    _, rewards, terminated, _, info = run_episode(env, [0, 0], seed=0)
    assert terminated and env.n == 2 and info["late"] >= 1  # order 2 is due after 12 days


def test_docstring_has_the_cartpole_sections():
    doc = MakeOrBuyEnv.__doc__
    for section in ("Description", "Action Space", "Observation Space", "Rewards",
                    "Starting State", "Episode End", "Arguments", "Registered Configurations",
                    "Version History"):
        assert f"## {section}" in doc
    assert "gym.make(" in doc and "| index | name | unit | low | high |" in doc
