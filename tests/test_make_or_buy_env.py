"""The scmgym/MakeOrBuy-v0 Gymnasium environment."""

from __future__ import annotations

import json
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import InvalidAction, ResetNeeded
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import scmgym  # noqa: F401  (registers the envs)
from scmgym.envs._common import ActionError, EpisodeStateError
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


@pytest.mark.parametrize("observation", ["paper", "extended"])
def test_gymnasium_and_sb3_checkers_pass(observation):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning fails the test
        check_env(MakeOrBuyEnv(SMALL, observation=observation), skip_render_check=True)
        sb3_check_env(MakeOrBuyEnv(SMALL, observation=observation), warn=True)
        check_env(gym.make("scmgym/MakeOrBuy-v0", observation=observation).unwrapped,
                  skip_render_check=True)


def test_registered_env_defaults_and_spec_json():
    env = gym.make("scmgym/MakeOrBuy-v0", dataset="list2", reward="scaled")
    assert env.unwrapped.instance.name == "list2" and env.unwrapped.n == 100
    assert env.action_space == gym.spaces.Discrete(2)
    assert env.observation_space.dtype == np.int64 and env.observation_space.shape == (3,)
    spec = json.loads(env.spec.to_json())
    assert spec["kwargs"] == {"dataset": "list2", "reward": "scaled"}


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


def test_same_seed_same_episode_and_fresh_replications():
    env = MakeOrBuyEnv(SMALL, observation="extended")
    a = run_episode(env, [0] * 5, seed=42)
    b = run_episode(env, [0] * 5, seed=42)
    assert [o.tolist() for o in a[0]] == [o.tolist() for o in b[0]] and a[4] == b[4]
    c = run_episode(env, [0] * 5)  # no seed: the env's stream continues
    d = run_episode(env, [0] * 5)
    assert len({a[4]["episode_seed"], c[4]["episode_seed"], d[4]["episode_seed"]}) == 3
    assert c[4]["end_time"] != d[4]["end_time"]


def test_scaled_reward():
    env = MakeOrBuyEnv("list1", reward="scaled")
    assert run_episode(env, [1] * 100, seed=0)[1][-1] == 0.0
    _, rewards, _, _, info = run_episode(env, [0] * 100, seed=0)
    assert rewards[-1] == pytest.approx((info["revenue"] - 7000) / 3000)


def test_errors_before_reset_after_end_and_bad_actions():
    env = MakeOrBuyEnv(SMALL)
    with pytest.raises(ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    for bad in (2, -1, 0.5, "a", np.array([0, 1]), None):
        with pytest.raises(InvalidAction):
            env.step(bad)
    assert env.step(np.int64(1))[1] == 0.0  # numpy integers are fine
    for _ in range(4):
        env.step(1)
    with pytest.raises(ResetNeeded, match="episode is over"):
        env.step(0)
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
    assert info["solution"] == actions
    assert [o["decision"] for o in info["orders"]] == info["solution"]
    result = mob.simulate(SMALL, info["solution"], seed=info["episode_seed"])
    assert result.revenue == info["objective"]
    scaled = MakeOrBuyEnv(SMALL, reward="scaled")
    _, rewards, _, _, info2 = run_episode(scaled, actions, seed=2)
    assert info2["objective"] == info["objective"] and rewards[-1] != info2["objective"]
    obs, info0 = env.reset(seed=0)
    assert "objective" not in info0 and "solution" not in info0


def test_env_errors_are_the_shared_types():
    env = MakeOrBuyEnv(SMALL)
    with pytest.raises(EpisodeStateError):
        env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        _ = env.plant_time
    env.reset(seed=0)
    with pytest.raises(ActionError, match="Discrete"):
        env.step(3)
    with pytest.raises(ValueError):
        env.step(-1)


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


def test_pickles_fresh_mid_episode_and_wrapped():
    env = MakeOrBuyEnv(SMALL, observation="extended")
    fresh = pickle.loads(pickle.dumps(env))
    assert run_episode(fresh, [0] * 5, seed=3)[4]["revenue"] == run_episode(
        env, [0] * 5, seed=3)[4]["revenue"]
    env.reset(seed=9)
    env.step(0)
    env.step(1)
    clone = pickle.loads(pickle.dumps(env))
    assert clone.plant_time == env.plant_time
    for a in (0, 0):
        o1, *_ = env.step(a)
        o2, *_ = clone.step(a)
        assert o1.tolist() == o2.tolist()
    assert env.step(0)[4]["end_time"] == clone.step(0)[4]["end_time"]
    wrapped = gym.make("scmgym/MakeOrBuy-v0")
    wrapped.reset(seed=0)
    again = pickle.loads(pickle.dumps(wrapped))
    assert again.unwrapped.episode_seed == wrapped.unwrapped.episode_seed


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
