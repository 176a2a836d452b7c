"""ELDT: genotype decoding, Q-learned leaves, the evolutionary loop, budget and resume."""

from __future__ import annotations

import random

import numpy as np
import pytest
from deap import base

from scmgym.core import plant_of_env
from scmgym.envs.hfs import HybridFlowShopEnv
from scmgym.policies import DecisionTreePolicy, load_policy
from scmgym.policies import tree as T
from scmgym.trainers import eldt

MOB = eldt.Grammar.make_or_buy()


def small_env():
    return HybridFlowShopEnv(dataset="d1")


# decoding --------------------------------------------------------------------------------------


def test_decode_reads_codons_leftmost_first():
    # bt, if, condition (1 % 3 -> b), op (1 -> ">"), const 12, action leaf, action leaf
    node = eldt.decode([0, 0, 1, 1, 12, 0, 0], MOB)
    assert node == T.Split(T.Var(1), ">", 12, T.Leaf(0), T.Leaf(0))
    # the first action expands into a nested if (codon 3 % 2 = 1), whose codons follow
    node = eldt.decode([0, 0, 0, 0, 5, 3, 0, 2, 1, 7, 0, 0, 0], MOB)
    assert node == T.Split(T.Var(0), "<", 5,
                           T.Split(T.Var(2), ">", 7, T.Leaf(0), T.Leaf(0)), T.Leaf(0))


def test_decode_wraps_and_rejects_at_the_limit():
    # 7 expansions from a 7-codon genotype: a derivation ending exactly on the last allowed
    # codon is rejected (the original mapping loop's boundary), one more pass allows it.
    assert eldt.decode([0, 0, 1, 1, 12, 0, 0], MOB, max_wraps=1) is None
    assert eldt.decode([0, 0, 1, 1, 12, 0, 0], MOB, max_wraps=2) is not None
    # a single even codon wraps: 7 expansions from 1 codon within 10 passes
    assert eldt.decode([2], MOB) == T.Split(T.Var(2), "<", 2, T.Leaf(0), T.Leaf(0))
    # an odd codon always expands actions into new ifs: never completes
    assert eldt.decode([3], MOB) is None


def test_invalid_share_of_random_genotypes_matches_spec():
    rng = random.Random(0)
    invalid = sum(eldt.decode([rng.randint(0, 40000) for _ in range(100)], MOB) is None
                  for _ in range(2000))
    assert 0.22 < invalid / 2000 < 0.30  # spec: about 26 %


def test_hfs_grammar_constant_ranges():
    schema = plant_of_env(small_env()).tree_schema(small_env())
    g = eldt.Grammar.hfs(schema)
    assert dict(g.constants) == {0: 12, 1: 19, 2: 19, 3: 67, 4: 100}
    assert g.eq_feature == 0 and g.compare_features == (1, 2, 3, 4)
    # alternative 1 of <if> is the machine-type equality
    node = eldt.decode([0, 1, 0, 8, 0, 0], g)
    assert node == T.Split(T.Var(0), "==", 8, T.Leaf(0), T.Leaf(0))


# leaves ----------------------------------------------------------------------------------------


def test_q_update_rule_and_terminal_bootstrap():
    root = T.Split(T.Var(0), "<", 5, T.Leaf(0), T.Leaf(0))
    learner = eldt.QTree(root, 2, np.random.default_rng(0), learning_rate=0.5, discount=0.5,
                         epsilon=0.0, init_q=[[1.0, 0.0], [0.0, 2.0]])
    learner.new_episode()
    assert learner.act([1]) == 0  # leaf 0, greedy action 0
    learner.reward = 10.0
    assert learner.act([9]) == 1  # leaf 1: update leaf 0 with 10 + 0.5 * max(q1) = 11
    assert learner.q[0][0] == pytest.approx(1.0 + 0.5 * (11.0 - 1.0))
    learner.reward = 4.0
    learner.act([1])  # terminal-style call: leaf 1 updated with 4 + 0.5 * max(q0)
    assert learner.q[1][1] == pytest.approx(2.0 + 0.5 * (4.0 + 0.5 * 6.0 - 2.0))


def test_fresh_q_values_are_uniform_in_minus_one_one():
    root = T.Leaf(0)
    learner = eldt.QTree(root, 5, np.random.default_rng(1), learning_rate=0.1, discount=0.1,
                         epsilon=0.1)
    assert learner.q[0].shape == (5,) and (np.abs(learner.q[0]) <= 1).all()


def test_lamarckian_init_copies_parent_values():
    root = T.Split(T.Var(0), "<", 5, T.Leaf(0), T.Leaf(0))
    learner = eldt.QTree(root, 2, np.random.default_rng(0), learning_rate=0.1, discount=0.1,
                         epsilon=0.1, init_q=[[0.3, 0.4]])
    assert list(learner.q[0]) == [0.3, 0.4]  # inherited
    assert not np.allclose(learner.q[1], [0.3, 0.4])  # no parent leaf 1: fresh values


# replacement -----------------------------------------------------------------------------------


def individuals(fits, parents=None):
    out = []
    for i, f in enumerate(fits):
        ind = eldt.Individual([i])
        ind.fitness.values = (f,)
        ind.parents = parents[i] if parents else [i]
        out.append(ind)
    return out


def test_slotwise_replacement():
    trainer = eldt.ELDT(small_env())
    pop = individuals([5, 5, 5])
    off = individuals([6, 5, 1])
    pop = trainer._replace(pop, off)
    assert [ind.fitness.values[0] for ind in pop] == [6, 5, 5]


def test_parents_replacement_replaces_the_worse_parent():
    trainer = eldt.ELDT(small_env(), replacement="parents")
    pop = individuals([1, 9, 5])
    off = individuals([7, 2, 3], parents=[[1, 0], [2], [1]])
    pop = trainer._replace(pop, off)
    assert [ind.fitness.values[0] for ind in pop] == [7, 9, 5]


# the trainer -----------------------------------------------------------------------------------


def test_bad_hyperparameters_are_named():
    with pytest.raises(ValueError, match=r"population_size=1; allowed: an integer >= 2"):
        eldt.ELDT(small_env(), population_size=1)
    with pytest.raises(ValueError, match=r"crossover_prob=1.5; allowed: a probability"):
        eldt.ELDT(small_env(), crossover_prob=1.5)
    with pytest.raises(ValueError, match=r"replacement='best'"):
        eldt.ELDT(small_env(), replacement="best")
    with pytest.raises(ValueError, match="action='level'"):
        eldt.ELDT(HybridFlowShopEnv(action="priority"))


def test_training_is_deterministic_and_counts_simulations():
    a = eldt.ELDT(small_env(), generations=4, seed=3).learn(budget=1000)
    b = eldt.ELDT(small_env(), generations=4, seed=3).learn(budget=1000)
    assert a.evaluator.rows == b.evaluator.rows
    assert a.policy.to_json() == b.policy.to_json()
    assert a.simulations == len(a.evaluator.rows) and a.simulations % 5 == 0
    assert a.nominal_simulations == 4 * 5 * 5
    assert a.state["status"] == "done"
    # history: values are makespans, best so far is their running minimum
    values = [r[1] for r in a.evaluator.rows]
    assert [r[2] for r in a.evaluator.rows] == list(np.minimum.accumulate(values))
    assert all(r[3] == 500 - r[1] for r in a.evaluator.rows)


def test_budget_stops_training():
    trainer = eldt.ELDT(small_env(), generations=200, seed=0).learn(budget=48)
    assert trainer.state["status"] == "budget"
    assert trainer.simulations == 45  # whole evaluations of 5 episodes only


def test_budget_below_one_initial_population_is_refused_before_any_simulation():
    with pytest.raises(ValueError, match=r"budget=24; allowed: at least 25 simulations \(one "
                       r"evaluation of the initial population: 5 individuals x 5 episodes\)"):
        eldt.ELDT(small_env(), seed=0).learn(budget=24)


def test_invalid_genotypes_are_not_simulated(monkeypatch):
    monkeypatch.setattr(eldt, "decode", lambda *a, **k: None)
    trainer = eldt.ELDT(small_env(), generations=3, seed=0).learn(budget=100)
    assert trainer.simulations == 0 and trainer.policy is None
    assert all(ind.fitness.values == (0.0,) for ind in trainer.state["population"])


def test_policy_is_greedy_in_its_leaves_and_round_trips(tmp_path):
    trainer = eldt.ELDT(small_env(), generations=3, seed=1).learn(budget=200)
    pol = trainer.policy
    assert isinstance(pol, DecisionTreePolicy) and pol.genotype is not None
    for leaf in T.leaves(pol.root):
        assert leaf.action == int(np.argmax(leaf.q))
    back = load_policy(pol.save(tmp_path / "p.json"))
    env = small_env()
    obs_all = [[*env._features[i], n] for i in range(100) for n in (1, 50, 100)]
    assert [back.action(o) for o in obs_all] == [pol.action(o) for o in obs_all]


def test_callback_can_stop_training():
    seen = []

    def cb(metrics):
        seen.append(metrics)
        return metrics["train/generation"] < 2

    trainer = eldt.ELDT(small_env(), generations=50, seed=0).learn(budget=5000, callback=cb)
    assert trainer.state["status"] == "callback" and trainer.state["generation"] == 2
    assert set(seen[0]) >= {"train/generation", "train/simulations", "train/best_fitness"}


def test_kill_and_resume_loses_no_evaluation(tmp_path, interrupter):
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "run"
    ref_dir.mkdir()
    run_dir.mkdir()
    ref = eldt.ELDT(small_env(), generations=5, seed=4).learn(budget=1000, run_dir=ref_dir)

    interrupter.arm(37)
    first = eldt.ELDT(small_env(), generations=5, seed=4).learn(budget=1000, run_dir=run_dir)
    assert first.interrupted
    interrupter.disarm()
    resumed = eldt.ELDT(small_env(), generations=5, seed=4).learn(
        budget=1000, run_dir=run_dir, resume=True)
    assert resumed.state["status"] == "done"
    assert (run_dir / "history.csv").read_text() == (ref_dir / "history.csv").read_text()
    assert resumed.policy.to_json() == ref.policy.to_json()


def test_fitness_class_is_maximising():
    assert issubclass(eldt._Fitness, base.Fitness) and eldt._Fitness.weights == (1.0,)
