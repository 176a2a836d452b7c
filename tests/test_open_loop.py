"""Open-loop episodes: a whole episode decided at once gives what stepping gives, for every env
setting and for the tree trainers (the same actions, Q-updates, records and result)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scmgym  # noqa: F401  (registers the envs)
from scmgym.core import Problem
from scmgym.envs._common import ActionError, EpisodeStateError
from scmgym.envs.hfs import HybridFlowShopEnv
from scmgym.envs.make_or_buy import MakeOrBuyEnv
from scmgym.policies import tree as T
from scmgym.policies.batch import FlatTree, leaf_actions, leaf_indices, open_loop_env
from scmgym.trainers.eldt import ELDT
from scmgym.trainers.gp import GPTrainer

ENVS = {
    "hfs-level-random": lambda: HybridFlowShopEnv("d1"),
    "hfs-level-deterministic": lambda: HybridFlowShopEnv("d2", level_mode="deterministic",
                                                         priority_levels=7),
    "hfs-priority-csv-order": lambda: HybridFlowShopEnv("d1", action="priority", shuffle=False),
    "hfs-simpy-normalized": lambda: HybridFlowShopEnv("d3", engine="simpy", reward="normalized"),
    "mob-fast": lambda: MakeOrBuyEnv("list1"),
    "mob-simpy-scaled": lambda: MakeOrBuyEnv("list2", engine="simpy", reward="scaled"),
}


@pytest.mark.parametrize("name", list(ENVS))
def test_open_loop_episode_equals_stepping(name):
    stepped, batched = ENVS[name](), ENVS[name]()
    for episode in range(3):
        seed = 11 if episode == 0 else None  # later episodes continue the env's RNG
        obs, _ = stepped.reset(seed=seed)
        first, _ = batched.reset(seed=seed)
        steps = batched.open_loop_observations()
        assert (steps[0] == first).all()
        actions = np.random.default_rng(episode).integers(0, stepped.action_space.n, len(steps))
        seen, rewards = [], []
        for a in actions:
            seen.append(obs)
            obs, reward, terminated, truncated, info = stepped.step(int(a))
            rewards.append(reward)
        assert terminated and not truncated
        assert (np.array(seen) == steps).all()
        assert rewards[:-1] == [0.0] * (len(steps) - 1)
        final, reward, short = batched.finish_open_loop(actions)
        assert (final == obs).all() and reward == rewards[-1]
        assert short["objective"] == info["objective"] and short["solution"] == info["solution"]
    assert stepped.np_random.random() == batched.np_random.random()  # the same draws


def test_open_loop_errors_and_closed_loop_observation():
    env = HybridFlowShopEnv("d1")
    with pytest.raises(EpisodeStateError):
        env.finish_open_loop([0] * 100)
    env.reset(seed=0)
    with pytest.raises(ActionError, match="100 actions in 0..4"):
        env.finish_open_loop([0] * 99)
    with pytest.raises(ActionError, match="100 actions in 0..4"):
        env.finish_open_loop([5] * 100)
    env.step(0)
    with pytest.raises(EpisodeStateError, match="reset"):
        env.finish_open_loop([0] * 100)
    mob = MakeOrBuyEnv("list1", observation="extended")
    mob.reset(seed=0)
    assert mob.open_loop_observations() is None  # plant time and slack depend on the actions
    with pytest.raises(ActionError, match="in 0..1"):
        _finish(MakeOrBuyEnv("list1"), [2] * 100)


def _finish(env, actions):
    env.reset(seed=0)
    return env.finish_open_loop(actions)


def test_open_loop_env_only_through_neutral_wrappers():
    made = gym.make("scmgym/HybridFlowShop-v0", dataset="d1")
    assert open_loop_env(made) is made.unwrapped
    assert open_loop_env(HybridFlowShopEnv("d1")) is not None
    assert open_loop_env(gym.wrappers.NormalizeReward(made)) is None
    short = gym.make("scmgym/MakeOrBuy-v0", max_episode_steps=50)
    assert open_loop_env(short) is None  # a time limit before the episode's end


def _random_tree(draw, depth: int, features: int) -> T.Node:
    if depth == 0 or draw(st.booleans()):
        return T.Leaf(draw(st.integers(0, 4)))

    def operand():
        return T.Var(draw(st.integers(0, features - 1))) if draw(st.booleans()) \
            else draw(st.integers(-2, 25))
    return T.Split(operand(), draw(st.sampled_from(T.OPS)), operand(),
                   _random_tree(draw, depth - 1, features), _random_tree(draw, depth - 1, features))


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_leaf_indices_match_leaf_index(data):
    root = _random_tree(data.draw, data.draw(st.integers(0, 6)), 3)
    x = np.array(data.draw(st.lists(st.lists(st.integers(0, 20), min_size=3, max_size=3),
                                    min_size=1, max_size=30)))
    flat = FlatTree.of(root)
    assert leaf_indices(flat, x).tolist() == [T.leaf_index(root, row.tolist()) for row in x]
    assert leaf_actions(flat, x).tolist() == [T.find_leaf(root, row.tolist()).action for row in x]


def _train(cls, problem, open_loop, **hp):
    trainer = cls(problem.make_env(), seed=5, **hp)
    trainer.open_loop = open_loop
    trainer.learn(budget=120)
    return trainer


CASES = [(ELDT, "make-or-buy", "list1", {"generations": 3, "population_size": 4}),
         (ELDT, "hfs", "d1", {"generations": 3, "population_size": 4, "lamarckian": True}),
         (ELDT, "make-or-buy", "list2", {"generations": 3, "population_size": 4,
                                         "epsilon": 0.5, "replacement": "parents"}),
         (GPTrainer, "make-or-buy", "list1", {"generations": 3, "population_size": 6}),
         (GPTrainer, "hfs", "d1", {"generations": 3, "population_size": 6})]


@pytest.mark.parametrize("cls, plant, dataset, hp", CASES,
                         ids=[f"{c.__name__}-{d}-{i}" for i, (c, _, d, _) in enumerate(CASES)])
def test_trainers_same_run_open_loop_and_stepping(cls, plant, dataset, hp):
    problem = Problem(plant, dataset)
    runs = [_train(cls, problem, ol, **hp) for ol in (False, True)]
    assert runs[0].evaluator.rows == runs[1].evaluator.rows
    assert runs[0].policy.to_dict() == runs[1].policy.to_dict()
    if cls is ELDT:
        assert runs[0].state["best_fitness"] == runs[1].state["best_fitness"]
