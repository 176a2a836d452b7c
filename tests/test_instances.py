"""Instance distributions: the HFS generator against the bundled datasets, the named splits,
dataset texts, and envs, problems and trainers on more than one instance."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import scmgym  # noqa: F401  (registers the envs)
from scmgym.core import Problem
from scmgym.core.instances import SPLITS, instance_digest, parse_source
from scmgym.errors import DataError, InfeasibleError
from scmgym.simulators import hfs
from scmgym.simulators import make_or_buy as mob
from scmgym.simulators.hfs_generator import TYPE_FAMILIES, generate_hfs_instance

PLANTS = ("hfs", "make-or-buy")
ENV_IDS = {"hfs": "scmgym/HybridFlowShop-v0", "make-or-buy": "scmgym/MakeOrBuy-v0"}


def _days(instances, column):
    return np.concatenate([i.column(column) for i in instances])


# -- the HFS generator against the bundled datasets -------------------------------------------

@pytest.mark.parametrize("dataset,family", [("d1", "all"), ("d2", "lt7"), ("d3", "lt8")])
def test_short_profile_matches_d1_d3(dataset, family):
    ref = hfs.load_instance(dataset)
    gen = [generate_hfs_instance(100, seed=s, types=family) for s in range(30)]
    for column in ("date_basement_arrival", "date_electrical_panel_arrival", "date_delivery"):
        p = stats.ks_2samp(ref.column(column), _days(gen, column)).pvalue
        assert p > 0.01, (column, p)
    # the per-type counts: d1-d3 are consistent with a uniform draw over their family
    names = TYPE_FAMILIES[family]
    counts = [sum(o.machine_type == t for o in ref.orders) for t in names]
    assert stats.chisquare(counts).pvalue > 0.01
    pooled = [sum(o.machine_type == t for g in gen for o in g.orders) for t in names]
    assert stats.chisquare(pooled).pvalue > 0.001
    assert set(pooled) != {0} and len(names) == len({o.machine_type for g in gen
                                                     for o in g.orders})


@pytest.mark.parametrize("dataset,workers,profile,family",
                         [("d1", (2, 5, 2), "short", "all"), ("d2", (1, 5, 1), "short", "lt7"),
                          ("d3", (2, 5, 2), "short", "lt8"), ("d5", (1, 3, 1), "long", None)])
def test_crew_load_against_the_bound_matches(dataset, workers, profile, family):
    """The EDD makespan over the analytic lower bound (how loaded the crew is) of generated
    instances is within 3 % of the bundled dataset's."""
    def load(inst):
        edd = hfs.simulate(inst, hfs.edd_order(inst), workers=workers).makespan
        return edd / hfs.lower_bound(inst, workers)

    ref = hfs.load_instance(dataset)
    gen = [generate_hfs_instance(ref.n, seed=s, profile=profile, types=family)
           for s in range(6)]
    ratios = [load(g) for g in gen]
    assert abs(np.mean(ratios) - load(ref)) / load(ref) < 0.03, (ratios, load(ref))


def test_long_profile_matches_d5():
    ref = hfs.load_instance("d5")
    gen = [generate_hfs_instance(345, seed=s, profile="long") for s in range(5)]
    lag = _days(gen, "date_electrical_panel_arrival") - _days(gen, "date_basement_arrival")
    ref_lag = ref.column("date_electrical_panel_arrival") - ref.column("date_basement_arrival")
    assert abs(np.median(lag) - np.median(ref_lag)) <= 6 and lag.min() >= 5 and lag.max() <= 70
    span = [g.column("date_basement_arrival").max() for g in gen]
    assert abs(np.mean(span) - ref.column("date_basement_arrival").max()) < 60
    lt8 = np.mean([o.machine_type == "lt8" for g in gen for o in g.orders])
    assert abs(lt8 - 300 / 345) < 0.03
    # ids follow the due dates, as in d5
    assert all(np.all(np.diff(g.column("date_delivery")) >= 0) for g in gen)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 120), seed=st.integers(0, 2**32 - 1),
       profile=st.sampled_from(["short", "long"]), due_scale=st.floats(0.2, 3.0))
def test_generated_instances_are_valid_and_reproducible(n, seed, profile, due_scale):
    a = generate_hfs_instance(n, seed, profile=profile, due_scale=due_scale)
    b = generate_hfs_instance(n, seed, profile=profile, due_scale=due_scale)
    assert a.n == n and instance_digest(a) == instance_digest(b)
    assert all(o.due_day >= 1 and o.panel_day >= 1 and o.basement_day >= 1 for o in a.orders)
    hfs.check_feasible(a, (2, 5, 2))


def test_due_scale_tightens_due_dates():
    loose = generate_hfs_instance(100, 3)
    tight = generate_hfs_instance(100, 3, due_scale=0.5)
    slack = lambda i: i.column("date_delivery") - i.column("date_basement_arrival")  # noqa: E731
    assert slack(tight).mean() < 0.6 * slack(loose).mean()


@pytest.mark.parametrize("kwargs,column", [
    ({"n_orders": 0}, "n_orders"), ({"n_orders": 5, "profile": "medium"}, "profile"),
    ({"n_orders": 5, "types": "lt9"}, "types"), ({"n_orders": 5, "types": ["lt7", "x"]}, "types"),
    ({"n_orders": 5, "types": {"lt7": 0.0}}, "types"),
    ({"n_orders": 5, "due_scale": 0}, "due_scale"),
])
def test_generator_errors_name_the_parameter(kwargs, column):
    with pytest.raises(DataError) as err:
        generate_hfs_instance(**kwargs)
    assert err.value.column == column and "allowed" in str(err.value)


# -- splits -------------------------------------------------------------------------------------

@pytest.mark.parametrize("plant", PLANTS)
def test_splits_are_disjoint_by_content(plant):
    seen: dict[str, str] = {}
    for split in SPLITS:
        src = parse_source(plant, f"generated(n=20):{split}:150")
        for inst in src.instances():
            digest = instance_digest(inst)
            assert seen.setdefault(digest, split) == split, (inst.name, seen[digest])
    assert len(seen) == 450


@pytest.mark.parametrize("plant", PLANTS)
def test_a_split_prefix_does_not_depend_on_the_count(plant):
    few = parse_source(plant, "generated:test:3").instances()
    many = parse_source(plant, "generated:test:10").instances()
    assert [instance_digest(i) for i in few] == [instance_digest(i) for i in many[:3]]
    assert [i.name for i in few] == ["generated:test#0", "generated:test#1", "generated:test#2"]


def test_size_and_load_axes():
    for n in (50, 100, 200, 400):
        assert parse_source("hfs", f"generated(n={n}):test:2").get(1).n == n
        assert parse_source("make-or-buy", f"generated(n={n}):test:2").get(1).n == n
    tight = parse_source("hfs", "generated(due_scale=0.5):test:1").get(0)
    assert tight.name == "generated(due_scale=0.5):test#0"


# -- dataset texts ------------------------------------------------------------------------------

@pytest.mark.parametrize("text,column", [
    ("generated:tran", "split"), ("generated(size=3):train", "size"),
    ("generated:test:0", "count"), ("generated:test:x", "count"),
    ("generated(n=0):test:2", "n_orders"), ("generated(profile=huge):test:2", "profile"),
])
def test_bad_generated_texts(text, column):
    with pytest.raises(DataError) as err:
        parse_source("hfs", text)
    assert err.value.column == column


@pytest.mark.parametrize("text", ["list1,generated:train", "generated", "list1,,list2",
                                  "generated(n):test:1"])
def test_bad_dataset_lists(text):
    with pytest.raises(DataError):
        parse_source("make-or-buy", text)


def test_a_missing_member_names_itself():
    with pytest.raises(DataError, match="no such dataset.*nowhere.csv"):
        Problem("make-or-buy", "list1,nowhere.csv").source.get(1)


# -- envs on several instances ------------------------------------------------------------------

@pytest.mark.parametrize("plant,text", [("hfs", "d1,d2,d3"), ("make-or-buy", "list1,list2,list3"),
                                        ("hfs", "generated(n=30):train"),
                                        ("make-or-buy", "generated(n=30):train")])
def test_env_draws_the_instance_from_its_rng(plant, text):
    kwargs = {"workers": (2, 5, 2)} if plant == "hfs" else {}
    env = gym.make(ENV_IDS[plant], dataset=text, **kwargs)
    names = [env.reset(seed=s)[1]["instance"] for s in range(12)]
    again = [env.reset(seed=s)[1]["instance"] for s in range(12)]
    assert names == again and len(set(names)) > 1
    obs, info = env.reset(seed=0, options={"instance": 1})
    assert info["instance_index"] == 1 and env.observation_space.contains(obs)
    done = False
    while not done:
        obs, reward, term, trunc, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        done = term or trunc
    assert info["instance_index"] == 1 and isinstance(reward, float)


def test_unbounded_stream_clips_to_its_bounds():
    env = gym.make(ENV_IDS["hfs"], dataset="generated(due_scale=3):train", workers=(2, 5, 2))
    high = env.observation_space.high
    for s in range(30):
        obs, _ = env.reset(seed=s)
        assert (obs <= high).all()
        assert env.unwrapped.open_loop_observations().max(axis=0).tolist() <= high.tolist()


def test_single_instance_episodes_are_unchanged():
    """A one-instance source draws nothing from the env's RNG: the same episodes as ever."""
    a = gym.make(ENV_IDS["make-or-buy"], dataset="list1").unwrapped
    b = gym.make(ENV_IDS["make-or-buy"], dataset=mob.load_instance("list1")).unwrapped
    a.reset(seed=5)
    b.reset(seed=5)
    assert a.episode_seed == b.episode_seed
    assert int(np.random.default_rng(5).integers(0, 2**63 - 1)) == a.episode_seed


def test_priority_action_needs_one_size():
    with pytest.raises(ValueError, match="one number of orders"):
        gym.make(ENV_IDS["hfs"], dataset="d1,d5", workers=(2, 5, 2), action="priority")


def test_an_infeasible_member_fails_when_drawn():
    small = hfs.make_instance([(0, "lt7", 1, 1, 30)], name="one-lt7")  # needs E = 1
    env = gym.make(ENV_IDS["hfs"], dataset=[small, "d1"], workers=(2, 1, 2),
                   priority_levels=1)
    with pytest.raises(InfeasibleError, match="can never finish instance .d1."):
        for s in range(20):
            env.reset(seed=s)


# -- problems and methods on a distribution -----------------------------------------------------

def test_schedule_methods_refuse_a_distribution():
    from scmgym.experiments.methods import check_method

    problem = Problem("make-or-buy", "list1,list2")
    assert not problem.single and problem.lower_bound() is None
    with pytest.raises(DataError, match="policy method"):
        check_method("ga", problem, 100)
    with pytest.raises(DataError, match="needs one instance"):
        problem.instance  # noqa: B018


@pytest.mark.parametrize("method", ["eldt", "gp"])
def test_trainers_on_a_distribution_are_deterministic(method):
    from scmgym.experiments.methods import run_method

    problem = Problem("make-or-buy", "generated(n=30):train")
    runs = [run_method(method, problem, 120, seed=3, eval_episodes=5, rotation="generation")
            for _ in range(2)]
    assert runs[0].best_value == runs[1].best_value
    assert runs[0].evaluation["values"] == runs[1].evaluation["values"]


def test_generation_rotation_gives_a_generation_one_instance(monkeypatch):
    from scmgym.trainers.gp import GPTrainer

    env = gym.make(ENV_IDS["make-or-buy"], dataset="generated(n=20):train").unwrapped
    seen: list[int] = []
    reset = env.reset

    def spy(*, seed=None, options=None):
        obs, info = reset(seed=seed, options=options)
        seen.append(info["instance_index"])
        return obs, info

    monkeypatch.setattr(env, "reset", spy)
    trainer = GPTrainer(env, population_size=6, generations=3, rotation="generation", seed=1)
    trainer.learn(budget=1000)
    first = seen[:6]
    assert len(set(first)) == 1  # the initial population met one instance
    assert len(set(seen)) > 1  # and later generations others


def test_a_checkpoint_from_before_the_rotation_hyperparameters_resumes(tmp_path):
    """A checkpoint written before ``rotation`` and ``episodes_per_evaluation`` existed holds
    neither in its identity; it resumes as a run with their defaults."""
    from scmgym.core.io import load_checkpoint, save_checkpoint
    from scmgym.trainers.gp import GPTrainer

    def trainer():
        return GPTrainer(gym.make(ENV_IDS["make-or-buy"]).unwrapped, population_size=4,
                         generations=3, seed=2)

    trainer().learn(budget=8, run_dir=tmp_path)
    path = tmp_path / "checkpoint.pkl"
    packed = load_checkpoint(path)
    for key in ("rotation", "episodes_per_evaluation"):
        del packed["identity"]["hparams"][key]
    packed.pop("rotation_key")
    save_checkpoint(path, packed)
    resumed = trainer().learn(budget=16, run_dir=tmp_path, resume=True)
    straight = trainer().learn(budget=16)
    assert resumed.evaluator.best_value == straight.evaluator.best_value
    changed = GPTrainer(gym.make(ENV_IDS["make-or-buy"]).unwrapped, population_size=4,
                        generations=3, seed=2, rotation="generation")
    with pytest.raises(ValueError, match="rotation"):
        changed.learn(budget=24, run_dir=tmp_path, resume=True)


# -- the HFS relative observation ---------------------------------------------------------------

def test_relative_observation_features():
    env = gym.make(ENV_IDS["hfs"], dataset="d1", observation="relative").unwrapped
    assert env.feature_names[5:] == ("slack", "due_rank", "load", "remaining_pct")
    inst = env.instance
    obs = env.dataset_observations()
    o = inst.orders[0]
    t = o.type
    assert obs[0, 5] == o.due_day - max(o.basement_day, o.panel_day) - t.days
    assert obs[0, 7] == sum(t.m) + sum(t.e) + sum(t.r)
    dd = inst.column("date_delivery")
    assert obs[0, 6] == round(100 * (dd <= o.due_day).sum() / inst.n)
    assert obs[0, 8] == 100 and obs[-1, 8] == 1
    assert obs[:, :5].tolist() == gym.make(ENV_IDS["hfs"], dataset="d1").unwrapped \
        .dataset_observations().tolist()
    env.reset(seed=3)
    steps = env.open_loop_observations()
    assert all(env.observation_space.contains(x) for x in steps)
    assert env.observation_space.low[5] < 0  # some orders are due before they can be made


@pytest.mark.parametrize("method", ["eldt", "gp"])
def test_trees_use_the_relative_features(method, tmp_path):
    from scmgym.experiments.methods import run_method
    from scmgym.policies import load_policy

    problem = Problem("hfs", "generated(n=30):train", (2, 5, 2))
    run_method(method, problem, 400, seed=1, run_dir=tmp_path, eval_episodes=2,
               env_kwargs={"observation": "relative"}, rotation="generation")
    policy = load_policy(tmp_path / "policy.json")
    text = (tmp_path / "tree.txt").read_text()
    assert [f.name for f in policy.schema.features][5:] == ["slack", "due_rank", "load",
                                                            "remaining_pct"]
    env = problem.make_env(observation="relative")
    obs, _ = env.reset(seed=0)
    assert 0 <= int(policy.predict(obs)[0]) < env.action_space.n
    assert "leaf 0" in text


def test_the_paper_grammar_is_unchanged():
    from scmgym.core.registry import get_plant
    from scmgym.trainers.eldt import Grammar

    env = gym.make(ENV_IDS["hfs"], dataset="d1").unwrapped
    g = Grammar.hfs(get_plant("hfs").tree_schema(env))
    assert g.compare_features == (1, 2, 3, 4) and g.offsets == ()
    assert g.constants == ((0, 12), (1, 19), (2, 19), (3, 67), (4, 100))
