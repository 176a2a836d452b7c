"""Trees over any observation: schema units and constants, the schema-driven ELDT grammar and
GP primitive set (with same-unit pairs), alpha='auto', the leaf-fitting pass, presets, the
make-or-buy oracle and suite variants."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from deap import gp
from hypothesis import given, settings
from hypothesis import strategies as st

import scmgym  # noqa: F401  (registers the envs)
from scmgym.core import Problem, plant_of_env
from scmgym.core.schema import Feature, TreeSchema
from scmgym.errors import DataError
from scmgym.experiments.methods import check_method, expand_preset, run_method
from scmgym.policies import TreePolicy, evaluate, policy_from_dict
from scmgym.policies import tree as T
from scmgym.policies.oracle import OraclePolicy
from scmgym.simulators import make_or_buy as mob
from scmgym.trainers import eldt
from scmgym.trainers import gp as G


def mob_env(observation="extended", dataset="list1"):
    return gym.make("scmgym/MakeOrBuy-v0", dataset=dataset, observation=observation)


def hfs_env(observation="relative"):
    return gym.make("scmgym/HybridFlowShop-v0", dataset="d1", workers=(2, 5, 2),
                    observation=observation)


def schema_of(env) -> TreeSchema:
    return plant_of_env(env).tree_schema(env)


ENVS = {"mob-extended": mob_env, "hfs-relative": hfs_env}


# -- schema --------------------------------------------------------------------------------------


def test_feature_constants_follow_step_and_thresholds():
    f = Feature("slack", -100400, 7000, unit="days", step=5, thresholds=(-12, 30))
    assert f.constants() == tuple(range(-15, 31, 5))
    assert Feature("a", 0, 20).constants() == tuple(range(21))
    cat = Feature("type", 0, 2, categories=("x", "y", "z"), step=5)
    assert cat.constants() == (0, 1, 2)
    assert f.format_constant(-12) == "-12 days" and cat.format_constant(1) == "y"
    for bad in (dict(step=0), dict(thresholds=(5, 1))):
        with pytest.raises(ValueError, match="feature 'f'"):
            Feature("f", 0, 10, **bad)


def test_schema_round_trips_units_steps_and_thresholds():
    schema = schema_of(mob_env())
    again = TreeSchema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert again == schema
    names = {f.name: f for f in schema.features}
    assert names["slack"].unit == "days" and names["slack"].thresholds == (-400, 400)
    assert names["a"].unit == "components" and names["plant_time"].step == 5
    # the study's observation keeps the study's plain schema
    assert all(f.unit is None for f in schema_of(mob_env("paper")).features)


def test_pairs_are_same_unit_features_only():
    schema = schema_of(mob_env())
    pairs = {(schema.names[i], schema.names[j]) for i, j in schema.comparable_pairs()}
    assert ("deadline", "plant_time") in pairs and ("a", "b") in pairs
    assert not any({"a", "slack"} == set(p) for p in pairs)
    hfs_schema = schema_of(hfs_env())
    assert all(hfs_schema.features[i].categories is None for i, _ in
               hfs_schema.comparable_pairs())


def test_conditions_print_with_units():
    schema = schema_of(mob_env())
    tree = T.Split(T.Var(5), "<", -12, T.Leaf(1),
                   T.Split(T.Var(3), "<", T.Var(4), T.Leaf(1), T.Leaf(0)))
    text = T.to_text(tree, schema)
    assert "if slack < -12 days:" in text and "if deadline < plant_time:" in text


# -- ELDT grammar --------------------------------------------------------------------------------


def test_study_grammar_on_the_study_observation_schema_grammar_elsewhere():
    env = mob_env("paper")
    assert eldt.grammar_for_env(env, "make-or-buy", schema_of(env)) == eldt.Grammar.make_or_buy()
    env = mob_env()
    g = eldt.grammar_for_env(env, "make-or-buy", schema_of(env))
    assert g.compare_features == tuple(range(6)) and not g.pairs and g.alternatives == 1
    with pytest.raises(ValueError, match="conditions='pairs' needs two features of the same"):
        eldt.Grammar.from_schema(schema_of(mob_env("paper")), pairs=True)


@pytest.mark.parametrize("name", sorted(ENVS))
@pytest.mark.parametrize("pairs", [False, True])
def test_decoded_trees_use_declared_constants_and_same_unit_pairs(name, pairs):
    env = ENVS[name]()
    schema = schema_of(env)
    grammar = eldt.Grammar.from_schema(schema, pairs=pairs)
    allowed_pairs = set(schema.comparable_pairs())
    rng = random.Random(0)
    seen_pair = False
    for _ in range(300):
        root = eldt.decode([rng.randint(0, 40000) for _ in range(100)], grammar)
        stack = [] if root is None else [root]
        while stack:
            node = stack.pop()
            if isinstance(node, T.Leaf):
                continue
            feat = schema.features[node.lhs.index]
            if isinstance(node.rhs, T.Var):
                seen_pair = True
                assert pairs and (node.lhs.index, node.rhs.index) in allowed_pairs
            else:
                assert node.rhs in feat.constants(), (feat.name, node.rhs)
                assert (node.op == "==") == (feat.categories is not None)
            stack += [node.then, node.otherwise]
    assert seen_pair == pairs


@given(st.lists(st.integers(0, 40000), min_size=20, max_size=60))
@settings(max_examples=50, deadline=None)
def test_learning_rate_auto_makes_values_means_of_targets(codons):
    """alpha='auto': act and act_many agree, and a leaf's value is the mean of its targets."""
    grammar = eldt.Grammar.make_or_buy()
    root = eldt.decode(codons, grammar) or T.Split(T.Var(0), "<", 5, T.Leaf(0), T.Leaf(0))
    obs = np.random.default_rng(len(codons)).integers(0, 21, size=(40, 3))
    a = eldt.QTree(root, 2, np.random.default_rng(3), learning_rate="auto", discount=0.5,
                   epsilon=0.3)
    b = eldt.QTree(root, 2, np.random.default_rng(3), learning_rate="auto", discount=0.5,
                   epsilon=0.3)
    acts = [a.act(row.tolist()) for row in obs]
    assert b.act_many(obs).tolist() == acts
    assert np.allclose(a.q, b.q)


def test_learning_rate_auto_first_update_replaces_the_initial_value():
    root = T.Leaf(0)
    q = eldt.QTree(root, 1, np.random.default_rng(0), learning_rate="auto", discount=0.0,
                   epsilon=0.0)
    for reward in (10.0, 20.0, 60.0):
        q.act([0])
        q.reward = reward
    q.act([0])  # updates with the last reward
    assert q.q[0, 0] == pytest.approx(30.0)


# -- GP primitive set ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENVS))
@pytest.mark.parametrize("pairs", [False, True])
def test_schema_set_converts_like_the_compiled_expression(name, pairs):
    env = ENVS[name]()
    schema = schema_of(env)
    pset, inputs = G.schema_primitive_set(schema, pairs=pairs, boolean_ops=True)
    random.seed(2)
    rng = np.random.default_rng(2)
    lows = np.array([max(f.low, -500) for f in schema.features])
    highs = np.array([min(f.high, 8000) for f in schema.features])
    for _ in range(60):
        expr = gp.PrimitiveTree(gp.genHalfAndHalf(pset, 1, 5))
        fn = gp.compile(expr, pset)
        root = G.expression_to_tree(expr, pset, inputs)
        for _ in range(15):
            obs = rng.integers(lows, highs + 1).tolist()
            assert T.find_leaf(root, obs).action == fn(*obs)


def test_parsimony_selection_and_bad_values():
    trainer = G.GPTrainer(mob_env(), selection="parsimony", generations=3, seed=0)
    trainer.learn(budget=100)
    assert trainer.policy is not None
    for bad in (dict(selection="lexicase"), dict(parsimony_size=3.0),
                dict(conditions="both")):
        with pytest.raises(ValueError, match=next(iter(bad))):
            G.GPTrainer(mob_env(), **bad)


# -- the leaf-fitting pass -----------------------------------------------------------------------


@pytest.mark.parametrize("trainer_cls", [eldt.ELDT, G.GPTrainer])
def test_leaf_fit_improves_or_keeps_and_stays_in_budget(trainer_cls):
    t = trainer_cls(mob_env(), generations=100, leaf_fit=0.3, leaf_fit_episodes=5, seed=1)
    t.learn(budget=300)
    info = t.state["leaf_fit"]
    assert t.simulations <= 300 and info["simulations"] >= info["episodes"]
    assert info["after"] >= info["before"]
    assert t.policy.meta["leaf_fit"] == info
    # the fitted tree's mean on the fitting episodes is what the pass reported
    root = t.policy.root
    again = trainer_cls(mob_env(), generations=100, leaf_fit=0.3, leaf_fit_episodes=5, seed=1)
    again.learn(budget=300)
    assert again.policy.to_json() == t.policy.to_json()
    assert T.count_leaves(root) >= 1


def test_leaf_fit_resumes_after_an_interrupt(tmp_path, interrupter):
    kw = dict(generations=3, leaf_fit=0.4, leaf_fit_episodes=4, seed=2)
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "run"
    ref_dir.mkdir()
    run_dir.mkdir()
    ref = eldt.ELDT(mob_env(), **kw).learn(budget=200, run_dir=ref_dir)
    used = ref.state["leaf_fit"]["simulations"]
    assert used > 4
    interrupter.arm(ref.simulations - used + 3)  # inside the fitting pass
    first = eldt.ELDT(mob_env(), **kw).learn(budget=200, run_dir=run_dir)
    assert first.interrupted
    interrupter.disarm()
    resumed = eldt.ELDT(mob_env(), **kw).learn(budget=200, run_dir=run_dir, resume=True)
    assert (run_dir / "history.csv").read_text() == (ref_dir / "history.csv").read_text()
    assert resumed.policy.to_json() == ref.policy.to_json()


def test_leaf_fit_bad_values_are_named():
    with pytest.raises(ValueError, match="leaf_fit"):
        eldt.ELDT(mob_env(), leaf_fit=1.0)
    with pytest.raises(ValueError, match="leaf_fit_episodes"):
        G.GPTrainer(mob_env(), leaf_fit_episodes=0)


# -- presets -------------------------------------------------------------------------------------


def test_presets_expand_and_explicit_values_win():
    hp = expand_preset("eldt", {"preset": "strong", "leaf_fit": 0.2})
    assert hp["lamarckian"] is True and hp["leaf_fit"] == 0.2 and "preset" not in hp
    assert expand_preset("gp", {"preset": "paper"}) == {}
    with pytest.raises(DataError, match="eldt has no preset 'fast'.*allowed: paper, strong"):
        expand_preset("eldt", {"preset": "fast"})
    assert expand_preset("ppo", {"preset": "fast"}) == {"preset": "fast"}  # PPO's own
    with pytest.raises(DataError, match="ga has no hyperparameter preset"):
        check_method("ga", Problem.parse("make-or-buy:list1"), 500, {"preset": "strong"})
    check_method("gp", Problem.parse("make-or-buy:list1"), 500, {"preset": "strong"})


# -- the oracle ----------------------------------------------------------------------------------


def test_oracle_programme_and_round_trip():
    inst = mob.load_instance("list1")
    policy = OraclePolicy.for_instance(inst, durations="expected")
    # V_k at a time past every deadline: every later order is bought
    assert policy.value(50, 10**6) == pytest.approx(70 * 50)
    # the value never rises with a later plant time
    times = np.linspace(0, 3000, 61)
    values = [policy.value(10, t) for t in times]
    assert all(a >= b - 1e-9 for a, b in zip(values, values[1:], strict=False))
    again = policy_from_dict(json.loads(policy.to_json()))
    assert [again.decide(k, 100.0 * k) for k in range(20)] == \
        [policy.decide(k, 100.0 * k) for k in range(20)]
    with pytest.raises(ValueError, match="observation='extended'"):
        policy.predict(np.zeros(3), episode_start=True)
    with pytest.raises(ValueError, match="durations="):
        OraclePolicy.for_instance(inst, durations="guess")
    broken = {**policy.to_dict(), "durations": policy.to_dict()["durations"][:-1]}
    with pytest.raises(ValueError, match="an oracle policy holds counts"):
        policy_from_dict(broken)


def test_oracle_method_beats_a_fixed_plan_and_is_make_or_buy_only(tmp_path):
    p = Problem.parse("make-or-buy:list1")
    res = run_method("oracle", p, 10, 0, tmp_path / "o", eval_episodes=20, samples=5)
    assert res.simulations == 1 and res.evaluation["mean"] > 7900
    saved = json.loads((tmp_path / "o" / "policy.json").read_text())
    assert saved["kind"] == "oracle" and saved["env_kwargs"] == {"observation": "extended"}
    assert evaluate(policy_from_dict(saved), p, 20,
                    env_kwargs=saved["env_kwargs"])["mean"] == res.evaluation["mean"]
    with pytest.raises(DataError, match="does not apply"):
        check_method("oracle", Problem.parse("hfs:d1"), 10)


# -- suites: variants ----------------------------------------------------------------------------


VARIANT_SUITE = """
name = "variants"
version = 1
budget = 120
runs = 1
reeval_seeds = 5

[[problems]]
id = "make-or-buy:list1"

[methods.gp]
generations = 2

[methods.gp-x]
method = "gp"
generations = 2
preset = "strong"
env_kwargs = {observation = "extended"}
"""


def test_suite_variants_run_under_their_label(tmp_path):
    from scmgym.experiments.reproduce import reproduce
    from scmgym.experiments.suite import load_suite

    path = tmp_path / "v.toml"
    path.write_text(VARIANT_SUITE)
    suite = load_suite(path)
    assert suite.base("gp-x") == "gp" and suite.base("gp") == "gp"
    reproduce(suite, out=tmp_path / "out")
    records = [json.loads(line) for line in (tmp_path / "out" / "records.jsonl").open()]
    assert sorted(r["method"] for r in records) == ["gp", "gp-x"]
    run = next(r for r in records if r["method"] == "gp-x")["run_dir"]
    config = json.loads((tmp_path / "out" / run / "config.json").read_text())
    assert config["method"] == "gp" and config["hparams"]["preset"] == "strong"
    policy = json.loads((tmp_path / "out" / run / "policy.json").read_text())
    assert policy["env_kwargs"] == {"observation": "extended"}
    sizes = (tmp_path / "out" / "report" / "tree_sizes.csv").read_text().splitlines()
    assert sizes[0].startswith("problem,method,trees,depth_mean")
    assert [line.split(",")[1] for line in sizes[1:]] == ["gp", "gp-x"]
    assert "## Tree sizes (simplified)" in (tmp_path / "out" / "report" / "report.md").read_text()


@pytest.mark.parametrize("table, message", [
    ('[methods.x]\nmethod = "nope"\n', "unknown method"),
    ('[methods.X__y]\nmethod = "gp"\n', "a variant's label"),
    ('[methods.gp-y]\nmethod = "gp"\npreset = "fast"\n', "gp has no preset 'fast'"),
])
def test_bad_variants_are_named(tmp_path, table, message):
    from scmgym.experiments.suite import load_suite

    text = VARIANT_SUITE.split("[methods.gp]")[0] + table
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        load_suite(path)


# -- CLI -----------------------------------------------------------------------------------------


def test_train_cli_extended_strong_pairs(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "scmgym.cli", "train", "eldt", "--env", "make-or-buy",
         "--observation", "extended", "--preset", "strong", "--conditions", "pairs",
         "--budget", "150", "--generations", "3", "--eval-episodes", "3", "--out",
         str(tmp_path), "--no-progress"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    run = next(tmp_path.iterdir())
    config = json.loads((run / "config.json").read_text())
    assert config["hparams"]["preset"] == "strong"
    assert config["hparams"]["conditions"] == "pairs"
    policy = policy_from_dict(json.loads((run / "policy.json").read_text()))
    assert isinstance(policy, TreePolicy) and policy.meta["hparams"]["lamarckian"] is True
    assert "leaf_fit" in policy.meta
    assert "Leaf coverage (orders of one episode" in (run / "tree.txt").read_text()
