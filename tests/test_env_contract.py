"""The contract every scmgym env keeps, checked over both plants and several configurations.

In the style of Gymnasium's ``tests/envs/test_envs.py`` and stable-baselines3's ``check_env``:
every test runs over every configuration below, built both through ``gym.make`` (with the
registered wrappers) and as the bare env class. Plant-specific behaviour (observation values,
reward formulas, plant options) is tested in ``test_hfs_env.py`` and ``test_make_or_buy_env.py``.
"""

from __future__ import annotations

import copy
import json
import pickle
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import EnvSpec
from gymnasium.error import InvalidAction, ResetNeeded
from gymnasium.utils.env_checker import check_env, data_equivalence
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import scmgym  # noqa: F401  (registers the envs)
from scmgym.core import Problem
from scmgym.envs._common import ActionError, EpisodeStateError
from scmgym.envs.hfs import HybridFlowShopEnv
from scmgym.envs.make_or_buy import MakeOrBuyEnv
from scmgym.simulators import hfs
from scmgym.simulators import make_or_buy as mob

HFS_ID = "scmgym/HybridFlowShop-v0"
MOB_ID = "scmgym/MakeOrBuy-v0"
PLANTS = {  # env id: (plant name, env class, default dataset, instance loader)
    HFS_ID: ("hfs", HybridFlowShopEnv, "d1", hfs.load_instance),
    MOB_ID: ("make-or-buy", MakeOrBuyEnv, "list1", mob.load_instance),
}


@dataclass(frozen=True)
class Config:
    name: str
    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: Whether the seed changes the episode under a fixed action sequence.
    stochastic: bool = True

    @property
    def plant(self) -> str:
        return PLANTS[self.env_id][0]

    @property
    def cls(self) -> type[gym.Env]:
        return PLANTS[self.env_id][1]

    @property
    def dataset(self) -> str:
        return self.kwargs.get("dataset", PLANTS[self.env_id][2])

    @property
    def n_orders(self) -> int:
        """The number of orders of the dataset, read without the env."""
        return PLANTS[self.env_id][3](self.dataset).n


CONFIGS = (
    Config("hfs-default", HFS_ID),  # d1, level actions drawn at random, shuffled orders
    Config("hfs-priority-no-shuffle", HFS_ID,
           {"dataset": "d4", "action": "priority", "shuffle": False}, stochastic=False),
    Config("hfs-deterministic-levels", HFS_ID, {"dataset": "d4", "level_mode": "deterministic"}),
    Config("hfs-normalized", HFS_ID, {"dataset": "d4", "reward": "normalized"}),
    Config("mob-default", MOB_ID),  # list1, paper observation, revenue reward
    Config("mob-extended", MOB_ID, {"dataset": "list1", "observation": "extended"}),
    Config("mob-scaled", MOB_ID, {"reward": "scaled"}),
)
BUILDS = ("make", "class")

over_configs = pytest.mark.parametrize("config", [pytest.param(c, id=c.name) for c in CONFIGS])
over_envs = pytest.mark.parametrize(("config", "how"), [
    pytest.param(c, how, id=f"{c.name}-{how}") for c in CONFIGS for how in BUILDS])


def build(config: Config, how: str) -> gym.Env:
    if how == "make":
        return gym.make(config.env_id, **config.kwargs)
    return config.cls(**config.kwargs)


def actions_for(env: gym.Env, n: int, seed: int = 1) -> list[int]:
    """A fixed action sequence of n valid actions (Python ints)."""
    rng = np.random.default_rng(seed)
    return [int(a) for a in rng.integers(env.action_space.n, size=n)]


def play(env: gym.Env, actions) -> list[tuple]:
    return [env.step(a) for a in actions]


def rollout(env: gym.Env, seed: int | None, actions) -> dict[str, Any]:
    return {"reset": env.reset(seed=seed), "steps": play(env, actions)}


def without_episode_seed(trajectory: dict[str, Any]) -> dict[str, Any]:
    """The trajectory without the ``episode_seed`` label, so only the dynamics are left."""
    out = copy.deepcopy(trajectory)
    for info in [out["reset"][1], *(step[4] for step in out["steps"])]:
        info.pop("episode_seed", None)
    return out


def same(a, b) -> bool:
    return data_equivalence(a, b, exact=True)


# -- checkers ----------------------------------------------------------------------------------
@over_envs
def test_gymnasium_and_sb3_checkers_pass(config, how):
    base = build(config, how).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any other checker warning fails the test
        if base.spec is None:
            # Only gym.make attaches a spec; without one the checker cannot re-make the env in
            # another render mode and says so. Neither env renders (asserted below), so there
            # is no render mode to test.
            warnings.filterwarnings("ignore", message=r".*Not able to test alternative render "
                                    r"modes due to the environment not having a spec")
        check_env(base)
        sb3_check_env(base, warn=True)
    assert base.metadata["render_modes"] == [] and base.render_mode is None


@over_configs
def test_gym_make_and_the_class_build_the_same_env(config):
    made, bare = build(config, "make"), build(config, "class")
    assert type(made.unwrapped) is config.cls
    assert made.observation_space == bare.observation_space
    assert made.action_space == bare.action_space
    actions = actions_for(bare, config.n_orders)
    assert same(rollout(made, 4, actions), rollout(bare, 4, actions))


# -- seeding and determinism -------------------------------------------------------------------
@over_envs
def test_reset_with_a_seed_is_reproducible(config, how):
    env = build(config, how)
    first = env.reset(seed=11)
    play(env, actions_for(env, 10))  # state in between must not leak into the next reset
    again = env.reset(seed=11)
    fresh = build(config, how).reset(seed=11)
    assert same(first, again) and same(first, fresh)


@over_envs
def test_same_seed_and_actions_give_the_same_trajectory(config, how):
    env, other = build(config, how), build(config, how)
    actions = actions_for(env, config.n_orders)
    a = rollout(env, 7, actions)
    b = rollout(other, 7, actions)
    c = rollout(env, 7, actions)  # the same env again, after a whole episode
    assert same(a, b) and same(a, c)
    final_a, final_c = a["steps"][-1][4], c["steps"][-1][4]
    assert (final_a["objective"], final_a["solution"]) == (final_c["objective"],
                                                           final_c["solution"])


@over_envs
def test_another_seed_gives_another_trajectory_exactly_when_stochastic(config, how):
    env = build(config, how)
    actions = actions_for(env, config.n_orders)
    a = without_episode_seed(rollout(env, 7, actions))
    b = without_episode_seed(rollout(env, 8, actions))
    if config.stochastic:  # HFS: another presentation order; make-or-buy: another replication
        assert not same(a, b)
    else:  # HFS in CSV order with numeric priorities: no randomness is left
        assert same(a, b)


# -- spaces and types --------------------------------------------------------------------------
def check_observation(env: gym.Env, obs) -> None:
    space = env.observation_space
    assert type(obs) is np.ndarray
    assert obs.dtype == space.dtype and obs.shape == space.shape
    assert space.contains(obs), f"{obs} not in {space}"


@over_envs
def test_steps_have_the_declared_types_and_one_step_per_order(config, how):
    env = build(config, how)
    n = config.n_orders
    obs, info = env.reset(seed=3)
    check_observation(env, obs)
    assert type(info) is dict
    steps = play(env, actions_for(env, n))
    for t, (obs, reward, terminated, truncated, info) in enumerate(steps):
        check_observation(env, obs)
        assert type(reward) is float
        assert type(terminated) is bool and type(truncated) is bool
        assert terminated == (t == n - 1) and truncated is False
        assert type(info) is dict
        if t < n - 1:
            assert reward == 0.0  # both plants reward only the finished episode


# -- final info and the Problem view ---------------------------------------------------------
@over_envs
def test_final_info_has_objective_and_a_solution_per_order(config, how):
    env = build(config, how)
    n = config.n_orders
    actions = actions_for(env, n)
    run = rollout(env, 5, actions)
    infos = [run["reset"][1], *(step[4] for step in run["steps"])]
    for info in infos[:-1]:
        assert "objective" not in info and "solution" not in info
    final = infos[-1]
    solution = final["solution"]
    assert type(solution) is list and len(solution) == n
    assert all(type(x) is int for x in solution)
    if config.plant == "hfs":  # the priority order simulated, highest priority first
        assert sorted(solution) == list(range(n))
        assert final["objective"] == final["makespan"]
    else:  # 0/1 by order id - 1 (1 = buy): the decisions, in list order
        assert solution == actions
        assert final["objective"] == final["revenue"]


@over_envs
def test_problem_reproduces_the_final_objective(config, how):
    env = build(config, how)
    *_, final = rollout(env, 5, actions_for(env, config.n_orders))["steps"][-1]
    problem = Problem(config.plant, config.dataset)
    assert problem.size == config.n_orders
    if config.plant == "hfs":  # no randomness in the plant: any seed gives the makespan
        for seed in (0, 12345):
            assert problem.evaluate(final["solution"], seed=seed) == final["objective"]
    else:
        seed = final["episode_seed"]
        result = mob.simulate(problem.instance, final["solution"], seed=seed)
        assert result.revenue == final["objective"]
        assert problem.evaluate(final["solution"], seed=seed) == final["objective"]


# -- errors ------------------------------------------------------------------------------------
@over_envs
def test_step_outside_an_episode_raises_episode_state_error(config, how):
    env = build(config, how)
    with pytest.raises(EpisodeStateError, match=r"reset\(\)") as before:
        env.unwrapped.step(0)
    assert isinstance(before.value, ResetNeeded) and isinstance(before.value, RuntimeError)
    with pytest.raises(ResetNeeded):  # through gym.make, OrderEnforcing's own error comes first
        env.step(0)
    first = env.reset(seed=2)
    play(env, actions_for(env, config.n_orders))
    with pytest.raises(EpisodeStateError, match=r"reset\(\)") as after:
        env.step(0)
    assert isinstance(after.value, ResetNeeded) and isinstance(after.value, RuntimeError)
    assert same(env.reset(seed=2), first)  # the env is usable again after a reset


def bad_actions(n: int) -> list:
    return [-1, n, 2.5, "x", None, 0.0, np.int64(n), np.int64(-1), np.float64(0.0), [0, 1],
            np.array([0, 1])]


@over_envs
def test_actions_outside_the_space_raise_action_error_and_change_nothing(config, how):
    env, clean = build(config, how), build(config, how)
    actions = actions_for(env, config.n_orders)
    reference = rollout(clean, 6, actions)
    start = env.reset(seed=6)
    for bad in bad_actions(env.action_space.n):
        # pytest.raises(ActionError) also fails on a bare KeyError, IndexError or TypeError.
        with pytest.raises(ActionError, match=re.escape(f"not in {env.action_space}")) as err:
            env.step(bad)
        assert isinstance(err.value, InvalidAction) and isinstance(err.value, ValueError)
    # Numpy integers and 0-d integer arrays (what a policy's predict returns) are valid too.
    forms = (int, np.int64, lambda a: np.array(a, dtype=np.int64))
    steps = [env.step(forms[t % 3](a)) for t, a in enumerate(actions)]
    assert same({"reset": start, "steps": steps}, reference)


# -- pickling and the spec ---------------------------------------------------------------------
@over_envs
def test_pickled_mid_episode_env_continues_the_same_trajectory(config, how):
    env = build(config, how)
    actions = actions_for(env, config.n_orders)
    reference = rollout(build(config, how), 9, actions)["steps"][37:]
    env.reset(seed=9)
    play(env, actions[:37])
    clone = pickle.loads(pickle.dumps(env))
    assert type(clone) is type(env) and type(clone.unwrapped) is config.cls
    rest_clone = play(clone, actions[37:])
    rest_env = play(env, actions[37:])
    assert same(rest_clone, reference) and same(rest_env, reference)
    done_clone = pickle.loads(pickle.dumps(env))  # a finished episode stays finished
    with pytest.raises(EpisodeStateError):
        done_clone.step(0)
    never_reset = pickle.loads(pickle.dumps(build(config, how)))
    with pytest.raises(EpisodeStateError):
        never_reset.unwrapped.step(0)
    assert same(rollout(never_reset, 9, actions)["steps"][37:], reference)


@over_configs
def test_spec_round_trips_through_json_and_remakes_the_env(config):
    env = build(config, "make")
    spec = env.spec
    assert spec.id == config.env_id and spec.kwargs == config.kwargs
    text = spec.to_json()
    assert json.loads(text)["kwargs"] == config.kwargs
    back = EnvSpec.from_json(text)
    assert back == spec
    remade = gym.make(back)
    assert remade.spec == spec and type(remade.unwrapped) is config.cls
    assert remade.observation_space == env.observation_space
    assert remade.action_space == env.action_space
    actions = actions_for(env, config.n_orders)
    assert same(rollout(remade, 3, actions), rollout(env, 3, actions))
