"""PPO trainer: budget counting, best-training vs final-policy numbers, seeding, save/load."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import scmgym  # noqa: F401  (registers the envs)
from scmgym.core import Problem, RunResult, get_plant
from scmgym.envs.hfs import HybridFlowShopEnv
from scmgym.envs.make_or_buy import MakeOrBuyEnv
from scmgym.experiments.methods import run_method
from scmgym.simulators import hfs
from scmgym.simulators import make_or_buy as mob
from scmgym.trainers.ppo import PAPER_HYPERPARAMETERS, PPOTrainer

HFS_RL_ENV_KWARGS = get_plant("hfs").rl_env_kwargs


def run_ppo(problem, budget, seed, run_dir=None, eval_episodes=100, **hparams):
    return run_method("ppo", problem, budget, seed, run_dir, eval_episodes=eval_episodes,
                      **hparams)

#: Tiny settings: an update every two episodes (both plants' episodes have 100 steps).
TINY = {"n_steps": 200, "batch_size": 50, "n_epochs": 1, "net_arch": (32, 32)}


def hfs_env() -> HybridFlowShopEnv:
    return HybridFlowShopEnv("d1", workers=(2, 5, 2), **HFS_RL_ENV_KWARGS)


def mob_env() -> MakeOrBuyEnv:
    return MakeOrBuyEnv("list1")


ENVS = {"hfs": hfs_env, "make-or-buy": mob_env}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny networks train faster on one thread (and two test workers share two cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trained(one_torch_thread) -> dict[str, PPOTrainer]:
    """One small run per plant, shared by the read-only checks."""
    return {name: PPOTrainer(make(), seed=0, **TINY).learn(budget=5) for name, make in ENVS.items()}


# -- budget --------------------------------------------------------------------------------------
@pytest.mark.parametrize("plant", ENVS)
def test_budget_is_exactly_respected(plant, trained):
    trainer = trained[plant]
    assert trainer.simulations == 5
    assert len(trainer.evaluator.rows) == 5
    assert [r[0] for r in trainer.evaluator.rows] == [1, 2, 3, 4, 5]
    # Stopped on the step that ended the 5th episode: not one step more.
    assert trainer.model.num_timesteps == 5 * 100
    # Two episodes per update of 200 steps: the 5th ended after two updates.
    assert [r[4] for r in trainer.evaluator.rows] == [0, 0, 1, 1, 2]


def test_budget_not_a_multiple_of_the_rollout_and_history_file(tmp_path):
    trainer = PPOTrainer(hfs_env(), seed=1, **{**TINY, "n_steps": 130, "batch_size": 65}).learn(
        budget=4, history_path=tmp_path / "history.csv")
    trainer.evaluator.close()
    assert trainer.simulations == 4
    assert trainer.model.num_timesteps == 400
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert [float(line.split(",")[1]) for line in lines[1:]] == \
        [r[1] for r in trainer.evaluator.rows]


def test_learn_twice_continues_and_counts_both_calls():
    trainer = PPOTrainer(mob_env(), seed=0, **TINY).learn(budget=3)
    trainer.learn(budget=2)
    assert trainer.simulations == 5
    assert [r[0] for r in trainer.evaluator.rows] == [1, 2, 3, 4, 5]


# -- best training episode -----------------------------------------------------------------------
@pytest.mark.parametrize(("plant", "best"), [("hfs", min), ("make-or-buy", max)])
def test_best_training_value_is_the_best_recorded_in_the_right_direction(plant, best, trained):
    trainer = trained[plant]
    values = [r[1] for r in trainer.evaluator.rows]
    assert trainer.best_training_value == best(values)
    assert trainer.evaluator.rows[-1][2] == best(values)
    assert [r[2] for r in trainer.evaluator.rows] == [best(values[:k + 1]) for k in range(5)]
    assert values[trainer.best_training_simulation - 1] == trainer.best_training_value


def test_hfs_best_solution_reproduces_its_makespan(trained):
    trainer = trained["hfs"]
    env = trainer.env.unwrapped
    order = trainer.best_training_solution
    assert sorted(order) == list(range(env.instance.n))
    result = hfs.simulate(env.instance, order, workers=env.workers, record_work=False)
    assert result.makespan == trainer.best_training_value
    assert trainer.best_training_episode_seed is None


def test_make_or_buy_best_solution_reproduces_its_revenue(trained):
    trainer = trained["make-or-buy"]
    vector = trainer.best_training_solution
    assert len(vector) == 100 and set(vector) <= {0, 1}
    result = mob.simulate(trainer.env.unwrapped.instance, vector,
                          seed=trainer.best_training_episode_seed)
    assert result.revenue == trainer.best_training_value


# -- seeding -------------------------------------------------------------------------------------
@pytest.mark.parametrize("plant", ENVS)
def test_same_seed_same_history(plant, trained):
    again = PPOTrainer(ENVS[plant](), seed=0, **TINY).learn(budget=5)
    assert again.evaluator.rows == trained[plant].evaluator.rows
    assert again.best_training_solution == trained[plant].best_training_solution


def test_different_seed_different_history(trained):
    other = PPOTrainer(mob_env(), seed=1, **TINY).learn(budget=5)
    assert other.evaluator.rows != trained["make-or-buy"].evaluator.rows


def test_gym_make_env_is_accepted():
    env = gym.make("scmgym/HybridFlowShop-v0", dataset="d1", **HFS_RL_ENV_KWARGS)
    trainer = PPOTrainer(env, seed=0, **TINY).learn(budget=2)
    assert trainer.simulations == 2
    assert trainer.objective.name == "makespan"


# -- evaluation and report -----------------------------------------------------------------------
@pytest.mark.parametrize("plant", ENVS)
def test_evaluate_and_report_name_both_numbers(plant, trained):
    trainer = trained[plant]
    ev = trainer.evaluate(n_episodes=3)
    assert {"mean", "sd", "min", "max", "n_episodes", "seed", "values"} <= set(ev)
    assert ev["n_episodes"] == len(ev["values"]) == 3
    values = ev["values"]
    assert (ev["min"], ev["max"]) == (min(values), max(values))
    assert ev["mean"] == pytest.approx(np.mean(values))
    assert ev["sd"] == pytest.approx(np.std(values, ddof=1))  # the sample standard deviation
    assert trainer.evaluate(n_episodes=3) == ev  # same seed, same deterministic policy
    report = trainer.report()
    for key in ("best_training_value", "best_training_solution", "final_policy_mean",
                "final_policy_sd", "final_policy_min", "final_policy_max"):
        assert key in report
    assert report["final_policy_mean"] == ev["mean"]
    assert report["best_training_value"] == trainer.best_training_value
    assert report["simulations"] == 5  # evaluation episodes are not charged
    if plant == "hfs":  # no shuffle, deterministic plant: every episode is the same
        assert ev["sd"] == 0.0


def test_paper_defaults_map_onto_sb3():
    trainer = PPOTrainer(hfs_env())
    model = trainer.model
    assert (model.n_steps, model.batch_size, model.n_epochs) == (4000, 128, 30)
    assert (model.gamma, model.gae_lambda, model.ent_coef) == (0.99, 1.0, 0.0)
    assert model.clip_range(1.0) == 0.3 and model.learning_rate == 5e-5
    assert model.policy_kwargs["net_arch"] == {"pi": [256, 256], "vf": [256, 256]}
    assert model.policy_kwargs["activation_fn"].__name__ == "Tanh"
    assert str(model.device) == "cpu"
    assert trainer.policy is model
    assert {k: trainer.hparams[k] for k in PAPER_HYPERPARAMETERS} == {
        **PAPER_HYPERPARAMETERS, "net_arch": [256, 256]}


# -- save / load ---------------------------------------------------------------------------------
@pytest.mark.parametrize("plant", ENVS)
def test_save_load_round_trip_same_deterministic_actions(plant, trained, tmp_path):
    trainer = trained[plant]
    path = trainer.save(tmp_path / "model")
    assert path.name == "model.zip" and path.is_file()
    loaded = PPOTrainer.load(path, ENVS[plant]())
    env = ENVS[plant]()
    obs, _ = env.reset(seed=3)
    observations = [obs]
    for _ in range(99):
        obs, *_ = env.step(env.action_space.sample())
        observations.append(obs)
    batch = np.array(observations)
    a, _ = trainer.policy.predict(batch, deterministic=True)
    b, _ = loaded.policy.predict(batch, deterministic=True)
    np.testing.assert_array_equal(a, b)
    assert loaded.best_training_value == trainer.best_training_value
    assert loaded.best_training_solution == trainer.best_training_solution
    assert loaded.hparams["n_steps"] == 200
    loaded.learn(budget=1)  # training continues from the loaded model
    assert loaded.simulations == 1
    assert loaded.model.num_timesteps == trainer.model.num_timesteps + 100  # not restarted
    # One episode is less than a rollout of n_steps=200: no update yet, so the weights are
    # still the loaded ones (not a fresh initialisation).
    trained_weights = trainer.model.policy.state_dict()
    for name, tensor in loaded.model.policy.state_dict().items():
        assert torch.equal(tensor, trained_weights[name]), name


# -- validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "names"), [
    ({"learning_rat": 1e-3}, ("learning_rat", "learning_rate")),
    ({"n_steps": 0}, ("n_steps", "0")),
    ({"batch_size": 1}, ("batch_size", "1")),
    ({"n_steps": 100, "batch_size": 200}, ("batch_size", "200")),
    ({"gamma": 1.5}, ("gamma", "1.5")),
    ({"learning_rate": -1.0}, ("learning_rate", "-1.0")),
    ({"activation": "sigmoid"}, ("activation", "sigmoid", "tanh")),
    ({"net_arch": (64, 0)}, ("net_arch",)),
    ({"n_epochs": 2.5}, ("n_epochs", "2.5")),
    ({"verbose": 3}, ("verbose", "3")),
    ({"policy": "CnnPolicy"}, ("policy",)),
])
def test_bad_hyperparameters_raise_value_error_naming_them(kwargs, names):
    with pytest.raises(ValueError) as err:
        PPOTrainer(mob_env(), **kwargs)
    for name in names:
        assert name in str(err.value)
    assert "allowed" in str(err.value)


def test_extra_sb3_arguments_pass_through():
    trainer = PPOTrainer(mob_env(), **TINY, target_kl=0.05, normalize_advantage=False)
    assert trainer.model.target_kl == 0.05 and trainer.model.normalize_advantage is False


def test_bad_env_and_budget():
    with pytest.raises(ValueError, match="allowed"):
        PPOTrainer(gym.make("CartPole-v1"))
    trainer = PPOTrainer(mob_env(), **TINY)
    with pytest.raises(ValueError, match="budget"):
        trainer.learn(budget=0)


# -- callbacks -----------------------------------------------------------------------------------
def test_callback_returning_false_stops_early():
    seen = []

    def callback(metrics):
        seen.append(metrics)
        return metrics["train/simulations"] < 2

    trainer = PPOTrainer(hfs_env(), seed=0, **TINY).learn(budget=10, callback=callback)
    assert trainer.simulations == 2 and len(seen) == 2
    assert all(key.startswith("train/") for key in seen[0])
    assert seen[-1]["train/best_value"] == trainer.best_training_value
    assert trainer.model.num_timesteps == 200


def test_an_sb3_callback_runs_beside_the_budget_and_can_stop_it():
    from stable_baselines3.common.callbacks import BaseCallback

    class StopAt(BaseCallback):
        def _on_step(self) -> bool:
            return self.num_timesteps < 150

    trainer = PPOTrainer(mob_env(), seed=0, **TINY).learn(budget=10, callback=StopAt())
    assert trainer.model.num_timesteps == 150 and trainer.simulations == 1


# -- run_ppo -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "best"), [("hfs:d1", min), ("make-or-buy:list1", max)])
def test_run_ppo_returns_a_run_result_and_writes_the_model(spec, best, tmp_path):
    problem = Problem.parse(spec)
    result = run_ppo(problem, 4, 0, run_dir=tmp_path, eval_episodes=2, **TINY)
    assert isinstance(result, RunResult) and result.method == "ppo"
    assert result.simulations == len(result.history) == 4
    assert result.best_value == best(r[1] for r in result.history)
    assert problem.evaluate(result.best_solution, seed=result.extra[
        "best_training_episode_seed"] or 0) == result.best_value
    assert {"mean", "sd", "min", "max"} <= set(result.evaluation)
    assert result.evaluation["policy"] == "sb3-ppo" and result.evaluation["n_episodes"] == 2
    assert result.extra["hparams"]["n_steps"] == 200
    assert (tmp_path / "model.zip").is_file()
    assert len((tmp_path / "history.csv").read_text().splitlines()) == 1 + 4
    result.save(tmp_path)
    assert RunResult.load(tmp_path).history == result.history


def test_interrupted_run_ppo_raises_and_writes_no_model(tmp_path, monkeypatch):
    # a Ctrl-C during training must not come back as a finished (shorter) run
    from scmgym.core import BudgetedEvaluator

    original, calls = BudgetedEvaluator.record, {"n": 0}

    def record(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BudgetedEvaluator, "record", record)
    with pytest.raises(KeyboardInterrupt):
        run_ppo(Problem.parse("make-or-buy:list1"), 4, 0, run_dir=tmp_path, eval_episodes=0,
                **TINY)
    assert not (tmp_path / "model.zip").exists()


# -- several envs, presets, torch threads -------------------------------------------------------
def _episode_seeds_of_fresh_env(seed: int, n: int) -> list[int]:
    """The episode seeds a make-or-buy env copy gives: first reset with ``seed``, then none."""
    env = mob_env()
    seeds = []
    for k in range(n):
        env.reset(seed=seed if k == 0 else None)
        seeds.append(env.episode_seed)
    return seeds


def _record_infos(trainer: PPOTrainer) -> list[dict]:
    """Capture the final info of every episode the trainer records."""
    infos, original = [], trainer._record_episode

    def record(info, episode_return):
        infos.append(info)
        return original(info, episode_return)

    trainer._record_episode = record
    return infos


def test_n_envs_1_is_the_single_env_code_path_of_before():
    """n_envs=1 (the default) trains SB3's PPO on the env itself, exactly as before n_envs:
    the same episodes and the same weights, bit for bit, as SB3 driven directly."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    trainer = PPOTrainer(mob_env(), seed=4, **TINY).learn(budget=5)
    explicit = PPOTrainer(mob_env(), seed=4, preset="paper", n_envs=1, vec_env="dummy",
                          **TINY).learn(budget=5)

    values = []

    class Record(BaseCallback):  # what the trainer's budget counter did before n_envs
        def _on_step(self) -> bool:
            if self.locals["dones"][0]:
                values.append(self.locals["infos"][0]["objective"])
            return len(values) < 5

    hp = {**PAPER_HYPERPARAMETERS, **TINY}
    arch = list(hp.pop("net_arch"))
    hp.pop("activation")
    model = PPO("MlpPolicy", mob_env(), seed=4, verbose=0, **hp, policy_kwargs={
        "net_arch": {"pi": arch, "vf": arch}, "activation_fn": torch.nn.Tanh})
    model.set_random_seed(4)
    model.learn(total_timesteps=500, callback=Record())
    assert [r[1] for r in trainer.evaluator.rows] == values
    assert explicit.evaluator.rows == trainer.evaluator.rows
    assert trainer.model.num_timesteps == model.num_timesteps == 500
    assert trainer.n_envs == 1 and trainer.model.get_env().envs[0].unwrapped is \
        trainer.env.unwrapped  # the env itself, not a copy
    reference = model.policy.state_dict()
    for other in (trainer, explicit):
        for name, tensor in other.model.policy.state_dict().items():
            assert torch.equal(tensor, reference[name]), name


def test_n_envs_2_records_exactly_the_budget_in_env_index_order(tmp_path):
    # Both copies' episodes end on the same steps: the 5th episode ends on the 3rd step with
    # env 1's third, which must be neither recorded nor charged.
    trainer = PPOTrainer(mob_env(), seed=7, n_envs=2, **{**TINY, "n_steps": 100})
    infos = _record_infos(trainer)
    trainer.learn(budget=5, history_path=tmp_path / "history.csv")
    trainer.evaluator.close()
    assert trainer.n_envs == 2 and trainer.hparams["vec_env"] == "dummy"
    assert trainer.simulations == len(trainer.evaluator.rows) == len(infos) == 5
    assert [r[0] for r in trainer.evaluator.rows] == [1, 2, 3, 4, 5]
    assert trainer.model.num_timesteps == 3 * 100 * 2  # stopped on the 3rd step of 100
    assert [r[4] for r in trainer.evaluator.rows] == [0, 0, 1, 1, 2]  # an update per 200
    env0, env1 = _episode_seeds_of_fresh_env(7, 3), _episode_seeds_of_fresh_env(8, 2)
    assert [i["episode_seed"] for i in infos] == [env0[0], env1[0], env0[1], env1[1], env0[2]]
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert len(lines) == 1 + 5
    assert [float(line.split(",")[1]) for line in lines[1:]] == \
        [r[1] for r in trainer.evaluator.rows]
    assert trainer.best_training_value == max(r[1] for r in trainer.evaluator.rows)
    trainer.learn(budget=2)  # continues from a fresh reset of both copies
    assert trainer.simulations == 7 and [r[0] for r in trainer.evaluator.rows] == list(
        range(1, 8))


def test_n_envs_same_seed_same_history_and_the_given_env_is_not_used():
    env = hfs_env()
    runs = [PPOTrainer(e, seed=2, n_envs=3, **TINY).learn(budget=7)
            for e in (env, hfs_env())]
    assert runs[0].evaluator.rows == runs[1].evaluator.rows
    assert runs[0].best_training_solution == runs[1].best_training_solution
    assert runs[0].simulations == 7 and runs[0].model.num_timesteps == 3 * 100 * 3
    assert all(copy.unwrapped is not env.unwrapped for copy in runs[0].model.get_env().envs)
    other = PPOTrainer(hfs_env(), seed=3, n_envs=3, **TINY).learn(budget=7)
    assert other.evaluator.rows != runs[0].evaluator.rows


def test_a_callback_stop_with_several_envs_records_no_later_episode_of_that_step():
    seen = []
    trainer = PPOTrainer(mob_env(), seed=0, n_envs=2, **TINY).learn(
        budget=10, callback=lambda m: seen.append(m) or False)
    assert trainer.simulations == len(seen) == 1  # env 1's episode ended on that step too
    assert trainer.model.num_timesteps == 2 * 100


def test_subproc_gives_the_same_run_as_dummy():
    runs = {}
    for vec_env in ("dummy", "subproc"):
        trainer = PPOTrainer(mob_env(), seed=5, n_envs=2, vec_env=vec_env,
                             **{**TINY, "n_steps": 100}).learn(budget=5)
        trainer.learn(budget=2)
        runs[vec_env] = (trainer.evaluator.rows, trainer.best_training_solution,
                         trainer.best_training_episode_seed, trainer.model.num_timesteps)
        trainer.close()
    assert runs["dummy"] == runs["subproc"]


@pytest.mark.parametrize(("kwargs", "names"), [
    ({"preset": "slow"}, ("preset", "slow", "'paper'", "'fast'")),
    ({"preset": None}, ("preset", "None", "'paper'")),
    ({"n_envs": 0}, ("n_envs", "0", ">= 1")),
    ({"n_envs": 1.5}, ("n_envs", "1.5")),
    ({"vec_env": "threads"}, ("vec_env", "threads", "'dummy'", "'subproc'")),
    ({"torch_threads": 0}, ("torch_threads", "0")),
    ({"n_envs": 2, "n_steps": 10, "batch_size": 30}, ("batch_size", "30", "20")),
])
def test_bad_preset_n_envs_vec_env_raise_value_error_naming_the_allowed(kwargs, names):
    with pytest.raises(ValueError) as err:
        PPOTrainer(mob_env(), **kwargs)
    for name in names:
        assert name in str(err.value)
    assert "allowed" in str(err.value)


def test_presets_are_applied_and_explicit_arguments_override_them():
    from scmgym.trainers.ppo import FAST_HYPERPARAMETERS, PRESETS

    assert set(PRESETS) == {"paper", "fast"} and PRESETS["paper"] is PAPER_HYPERPARAMETERS
    fast = PPOTrainer(mob_env(), preset="fast").model
    assert (fast.n_steps, fast.batch_size, fast.n_epochs) == (
        4000, FAST_HYPERPARAMETERS["batch_size"], FAST_HYPERPARAMETERS["n_epochs"])
    assert fast.learning_rate == FAST_HYPERPARAMETERS["learning_rate"]
    assert fast.policy_kwargs["net_arch"]["pi"] == list(FAST_HYPERPARAMETERS["net_arch"])
    assert fast.gamma == PAPER_HYPERPARAMETERS["gamma"]  # the rest is the paper's
    # A preset's n_steps is the train batch: shared by the envs (4000 samples per update).
    for n_envs, per_env in ((2, 2000), (4, 1000)):
        model = PPOTrainer(mob_env(), n_envs=n_envs).model
        assert (model.n_envs, model.n_steps, model.batch_size) == (n_envs, per_env, 128)
    # An explicit value overrides the preset; an explicit n_steps is per env, as in SB3.
    trainer = PPOTrainer(mob_env(), preset="fast", n_envs=2, n_steps=250, n_epochs=3,
                         learning_rate=2e-4, net_arch=(8,))
    model = trainer.model
    assert (model.n_steps, model.n_epochs, model.learning_rate) == (250, 3, 2e-4)
    assert model.batch_size == FAST_HYPERPARAMETERS["batch_size"]
    assert model.policy_kwargs["net_arch"] == {"pi": [8], "vf": [8]}
    assert trainer.hparams["preset"] == "fast" and trainer.hparams["n_envs"] == 2


def test_the_trainer_sets_one_torch_thread_unless_told_otherwise():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        PPOTrainer(mob_env(), **TINY)
        assert torch.get_num_threads() == 1
        torch.set_num_threads(2)
        PPOTrainer(mob_env(), torch_threads=None, **TINY)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_run_ppo_with_a_preset_and_several_envs(tmp_path):
    result = run_ppo(Problem.parse("make-or-buy:list1"), 5, 0, run_dir=tmp_path,
                     eval_episodes=1, preset="fast", n_envs=2, n_steps=100, batch_size=100)
    assert result.simulations == len(result.history) == 5
    assert len((tmp_path / "history.csv").read_text().splitlines()) == 1 + 5
    assert result.extra["hparams"]["preset"] == "fast"
    assert result.extra["hparams"]["n_envs"] == 2
    assert result.extra["timesteps"] == 3 * 100 * 2


def test_a_model_trained_on_several_envs_saves_and_loads_on_one(tmp_path):
    trainer = PPOTrainer(mob_env(), seed=0, n_envs=2, **{**TINY, "n_steps": 100}).learn(budget=3)
    loaded = PPOTrainer.load(trainer.save(tmp_path / "model"), mob_env())
    assert loaded.n_envs == 1 and loaded.hparams["n_envs"] == 2
    obs = np.array([mob_env().reset(seed=k)[0] for k in range(5)])
    np.testing.assert_array_equal(trainer.policy.predict(obs, deterministic=True)[0],
                                  loaded.policy.predict(obs, deterministic=True)[0])
    assert loaded.learn(budget=1).simulations == 1
