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
