"""Typed GP: primitive sets, expression-to-tree conversion, the loop, budget and resume."""

from __future__ import annotations

import random

import numpy as np
import pytest
from deap import gp

from scmgym.core import plant_of_env
from scmgym.envs.hfs import HybridFlowShopEnv
from scmgym.envs.make_or_buy import MakeOrBuyEnv
from scmgym.policies import GPTreePolicy, load_policy
from scmgym.policies import tree as T
from scmgym.trainers import gp as G


@pytest.fixture(scope="module")
def hfs_env():
    return HybridFlowShopEnv(dataset="d1")


def psets(hfs_env):
    schema = plant_of_env(hfs_env).tree_schema(hfs_env)
    return [("hfs", G.hfs_primitive_set(schema, 5), G.HFS_INPUTS),
            ("mob", G.mob_primitive_set(False), G.MOB_INPUTS),
            ("mob-bool", G.mob_primitive_set(True), G.MOB_INPUTS)]


def test_generation_never_fails_at_any_depth(hfs_env):
    random.seed(0)
    for _, pset, _ in psets(hfs_env):
        for gen in (gp.genFull, gp.genGrow, gp.genHalfAndHalf):
            for lo in range(0, 5):
                for hi in range(lo, 7):
                    for _ in range(5):
                        expr = gen(pset, lo, hi)
                        assert gp.PrimitiveTree(expr).height <= hi


def test_conversion_decides_like_the_compiled_expression(hfs_env):
    random.seed(1)
    rng = np.random.default_rng(1)
    for name, pset, inputs in psets(hfs_env):
        for _ in range(60):
            expr = gp.PrimitiveTree(gp.genHalfAndHalf(pset, 1, 5))
            fn = gp.compile(expr, pset)
            root = G.expression_to_tree(expr, pset, inputs)
            for _ in range(20):
                if name == "hfs":
                    obs = [int(rng.integers(12)), *rng.integers(0, 25, size=3).tolist(), 7]
                    assert T.find_leaf(root, obs).action == fn(*obs[:4])
                else:
                    obs = rng.integers(0, 21, size=3).tolist()
                    expected = 0 if fn(*obs) == "not_outsource" else 1
                    assert T.find_leaf(root, obs).action == expected


def test_pack_round_trip_keeps_ephemerals(hfs_env):
    random.seed(2)
    for _, pset, _ in psets(hfs_env):
        for _ in range(30):
            expr = gp.PrimitiveTree(gp.genHalfAndHalf(pset, 1, 4))
            state = random.getstate()
            back = gp.PrimitiveTree(G.unpack_expression(G.pack_expression(expr), pset))
            assert random.getstate() == state  # no new ephemeral draws
            assert str(back) == str(expr)


def test_comparisons_render_feature_first():
    pset = G.mob_primitive_set()
    expr = G.parse_expression(
        "if_then_else(lt(7, c), outsource, not_outsource)", pset)
    root = G.expression_to_tree(expr, pset, G.MOB_INPUTS)
    assert root == T.Split(T.Var(2), ">", 7, T.Leaf(1), T.Leaf(0))


def test_boolean_operators_expand_into_splits():
    pset = G.mob_primitive_set(boolean_ops=True)
    expr = G.parse_expression(
        "if_then_else(and_(lt(a, 6), not_(lt(c, 6))), not_outsource, outsource)", pset)
    pol = GPTreePolicy(G.expression_to_tree(expr, pset, G.MOB_INPUTS),
                       plant_of_env(MakeOrBuyEnv()).tree_schema(MakeOrBuyEnv()))
    assert pol.to_text() == ("if a < 6:\n    if c < 6:\n        buy\n    else:\n        make\n"
                             "else:\n    buy")
    for obs in [(5, 0, 6), (5, 0, 5), (6, 0, 9)]:
        assert pol.action(obs) == (0 if obs[0] < 6 and obs[2] >= 6 else 1)


def test_bad_hyperparameters(hfs_env):
    with pytest.raises(ValueError, match=r"mutation_prob=2; allowed: a probability"):
        G.GPTrainer(hfs_env, mutation_prob=2)
    with pytest.raises(ValueError, match=r"init_depth=\(3, 2\)"):
        G.GPTrainer(hfs_env, init_depth=(3, 2))
    with pytest.raises(ValueError, match=r"max_height=3; allowed: None or an integer >= "):
        G.GPTrainer(hfs_env, max_height=3)


def test_hfs_run_minimises_makespan_and_counts_simulations(hfs_env):
    trainer = G.GPTrainer(HybridFlowShopEnv(dataset="d1"), generations=4, seed=0)
    trainer.learn(budget=1000)
    rows = trainer.evaluator.rows
    assert trainer.simulations == len(rows)
    assert 20 <= trainer.simulations <= 20 + 4 * 20
    assert trainer.nominal_simulations == 4 * 20
    assert trainer.policy.meta["fitness"] == min(r[1] for r in rows)
    assert [r[2] for r in rows] == list(np.minimum.accumulate([r[1] for r in rows]))


def test_same_seed_same_run_and_json_round_trip(tmp_path):
    runs = [G.GPTrainer(MakeOrBuyEnv(), generations=2, population_size=6, seed=5,
                        boolean_ops=True).learn(budget=100) for _ in range(2)]
    assert runs[0].evaluator.rows == runs[1].evaluator.rows
    pol = runs[0].policy
    assert pol.to_json() == runs[1].policy.to_json()
    assert pol.meta["fitness"] == max(r[1] for r in runs[0].evaluator.rows)
    back = load_policy(runs[0].save(tmp_path / "gp.json"))
    from scmgym.simulators import make_or_buy as mob

    grid = [o.counts for name in ("list1", "list2", "list3")
            for o in mob.load_instance(name).orders]  # every observation of the datasets
    assert [back.action(o) for o in grid] == [pol.action(o) for o in grid]


def test_height_limit_holds():
    trainer = G.GPTrainer(HybridFlowShopEnv(dataset="d1"), generations=6, seed=3, max_height=6,
                          mutation_prob=0.9, crossover_prob=0.9).learn(budget=500)
    assert all(ind.height <= 6 for ind in trainer.state["population"])


def test_budget_stops_mid_generation():
    trainer = G.GPTrainer(MakeOrBuyEnv(), generations=100, population_size=6, seed=0)
    trainer.learn(budget=9)
    assert trainer.simulations == 9 and trainer.state["status"] == "budget"


def test_kill_and_resume_loses_no_evaluation(tmp_path, interrupter):
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "run"
    ref_dir.mkdir()
    run_dir.mkdir()
    kwargs = dict(generations=4, population_size=8, seed=7, boolean_ops=True)
    ref = G.GPTrainer(MakeOrBuyEnv(), **kwargs).learn(budget=200, run_dir=ref_dir)
    interrupter.arm(13)
    assert G.GPTrainer(MakeOrBuyEnv(), **kwargs).learn(budget=200, run_dir=run_dir).interrupted
    interrupter.disarm()
    resumed = G.GPTrainer(MakeOrBuyEnv(), **kwargs).learn(budget=200, run_dir=run_dir,
                                                          resume=True)
    assert (run_dir / "history.csv").read_text() == (ref_dir / "history.csv").read_text()
    assert resumed.policy.to_json() == ref.policy.to_json()
