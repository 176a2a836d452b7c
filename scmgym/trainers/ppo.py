"""PPO (stable-baselines3) on the scmgym envs, under the same simulation budget as every method.

The study trained RLlib's PPO with its defaults (hfs spec §9.6, make-or-buy spec §10.5). This
module wraps stable-baselines3's :class:`~stable_baselines3.PPO` through its constructor
arguments and a :class:`~stable_baselines3.common.callbacks.BaseCallback`; nothing of SB3 is
copied or overridden.

* **Budget.** One finished episode is one real simulation. The callback counts the episodes
  that end, records each one (objective from the episode's final ``info``, the solution that
  was simulated), and stops SB3 on the very step on which the ``budget``-th episode ends, so a
  run never charges more than ``budget`` simulations (the study's loop ran whole iterations of
  ~40 episodes and overshot).
* **Two numbers.** ``best_training_*`` is the best episode seen while training, with a
  stochastic (sampling) policy: what the study logged. ``final_policy_*`` is the deterministic
  (argmax) policy after the last update, evaluated over fresh episodes.
* **Speed.** ``n_envs`` copies of the env step side by side (``vec_env="dummy"``: in this
  process, the default; ``"subproc"``: one process each) and one torch thread per process;
  ``preset="fast"`` (:data:`FAST_HYPERPARAMETERS`) is a cheaper optimisation than the faithful
  ``preset="paper"`` (:data:`PAPER_HYPERPARAMETERS`, the default). See ``docs/ppo.md``.

>>> from scmgym.envs.make_or_buy import MakeOrBuyEnv
>>> trainer = PPOTrainer(MakeOrBuyEnv("list1"), n_steps=100, batch_size=50, n_epochs=1,
...                      net_arch=(16,), seed=0).learn(budget=2)
>>> trainer.simulations, len(trainer.best_training_solution)
(2, 100)
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import time
import warnings
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from scmgym.core import BudgetedEvaluator, check_param, plant_of_env
from scmgym.core.io import jsonable, terminate_as_interrupt
from scmgym.core.params import is_int as _is_int
from scmgym.core.params import is_number as _is_number
from scmgym.policies.base import evaluate_policy
from scmgym.trainers.evolution import Callback

log = logging.getLogger(__name__)

#: The study's RLlib PPO defaults as stable-baselines3 PPO arguments (see :class:`PPOTrainer`):
#: ``preset="paper"``, the faithful default. ``n_steps`` is the train batch in samples; with
#: ``n_envs`` envs each env collects ``n_steps // n_envs`` of them per update.
PAPER_HYPERPARAMETERS: dict[str, Any] = {
    "learning_rate": 5e-5, "n_steps": 4000, "batch_size": 128, "n_epochs": 30,
    "gamma": 0.99, "gae_lambda": 1.0, "clip_range": 0.3, "ent_coef": 0.0, "vf_coef": 1.0,
    "max_grad_norm": 1e10, "net_arch": (256, 256), "activation": "tanh", "device": "cpu",
}

#: ``preset="fast"``: the paper's setting with a cheaper optimisation, chosen by measurement
#: (``benchmarks/bench_ppo.py``, ``docs/ppo.md``). The same train batch of 4000 samples and
#: the same losses, but 10 epochs of 8 mini-batches of 500 (80 gradient steps per update
#: instead of 960) on 64x64 networks, with a larger step size (1e-3) to make up for the fewer
#: steps. An option for quick runs, not the study's setting.
FAST_HYPERPARAMETERS: dict[str, Any] = {
    **PAPER_HYPERPARAMETERS, "learning_rate": 1e-3, "batch_size": 500, "n_epochs": 10,
    "net_arch": (64, 64),
}

#: The hyperparameter presets by name (``PPOTrainer(preset=...)``).
PRESETS: dict[str, dict[str, Any]] = {"paper": PAPER_HYPERPARAMETERS,
                                      "fast": FAST_HYPERPARAMETERS}

#: ``vec_env`` choices: SB3's DummyVecEnv (the envs step in turn, in this process; measured
#: the faster here, hence the default) or SubprocVecEnv (one process per env).
VEC_ENVS: dict[str, type[VecEnv]] = {"dummy": DummyVecEnv, "subproc": SubprocVecEnv}
DEFAULT_VEC_ENV = "dummy"

#: Default seed of :meth:`PPOTrainer.evaluate` is the training seed plus this offset, so the
#: evaluation episodes are fresh replications, not the training ones.
EVAL_SEED_OFFSET = 10_000

_ACTIVATIONS = ("tanh", "relu", "elu", "leaky_relu")
#: PPO arguments the trainer sets itself (not overridable).
_MANAGED = ("self", "policy", "env", "seed", "verbose", "_init_setup_model")
#: Trainer options kept in ``hparams`` (for the record) that are not SB3 PPO arguments.
_TRAINER_OPTIONS = ("preset", "n_envs", "vec_env", "torch_threads")


def _set_torch_threads(n: int | None) -> None:
    """One process, ``n`` intra-op torch threads (None: leave the process's setting)."""
    if n is not None:
        import torch

        if torch.get_num_threads() != n:
            torch.set_num_threads(n)



def sb3_ppo_arguments() -> tuple[str, ...]:
    """The keyword arguments of ``stable_baselines3.PPO`` a user may set through the trainer."""
    names = inspect.signature(PPO.__init__).parameters
    return tuple(n for n in names if n not in _MANAGED)


class _EpisodeBudget(BaseCallback):
    """Counts finished episodes, records each, and stops SB3 when the budget is reached."""

    def __init__(self, trainer: PPOTrainer, budget: int, callback, bar) -> None:
        super().__init__(verbose=0)
        self.trainer = trainer
        self.budget = budget
        self.user_callback = callback
        self.bar = bar
        self.finished = 0
        self.stopped = False  # by the budget or by the user callback
        self.returns: np.ndarray | None = None
        self._iteration_values: list[float] = []

    def _on_step(self) -> bool:
        dones = np.asarray(self.locals["dones"])
        rewards = np.asarray(self.locals["rewards"], dtype=float)
        infos = self.locals["infos"]
        if self.returns is None:
            self.returns = np.zeros(len(dones))
        self.returns += rewards
        keep_going = True
        for i in np.flatnonzero(dones):  # in env-index order
            if self.finished >= self.budget:  # never more than the budget (defensive)
                break
            episode_return = float(self.returns[i])
            self.returns[i] = 0.0
            value = self.trainer._record_episode(infos[i], episode_return)
            self._iteration_values.append(value)
            self.finished += 1
            if self.bar is not None:
                self.bar.update(1)
            if self.user_callback is not None:
                metrics = self.trainer._metrics(value, episode_return)
                if self.user_callback(metrics) is False:
                    keep_going = False
            if self.finished >= self.budget:
                keep_going = False
            if not keep_going:  # episodes of later envs ending on this step are not recorded
                break
        if not keep_going:
            self.stopped = True
        return keep_going

    def _on_rollout_end(self) -> None:
        trainer = self.trainer
        if trainer.verbose >= 2:
            vals = self._iteration_values
            log.info("ppo iteration %d: %d episodes, mean %s %.6g, best so far %.6g "
                     "(%d simulations)", trainer.iterations, len(vals),
                     trainer.objective.name, float(np.mean(vals)) if vals else float("nan"),
                     float(trainer.best_training_value) if vals else float("nan"),
                     trainer.simulations)
        self._iteration_values = []
        trainer.iterations += 1


class PPOTrainer:
    """Proximal policy optimisation (stable-baselines3) on an scmgym env, budgeted in episodes.

    The defaults (``preset="paper"``, :data:`PAPER_HYPERPARAMETERS`) are the study's RLlib PPO
    defaults (old API stack, one worker, one env) mapped onto SB3's PPO arguments:

    =================================  ==============================================
    RLlib                              SB3 (this trainer)
    =================================  ==============================================
    ``lr`` 5e-5                        ``learning_rate=5e-5``
    ``train_batch_size`` 4000          ``n_steps=4000 // n_envs`` per env
    ``sgd_minibatch_size`` 128         ``batch_size=128`` (31 of 128, one of 32)
    ``num_sgd_iter`` 30                ``n_epochs=30``
    ``gamma`` 0.99, ``lambda`` 1.0     ``gamma=0.99``, ``gae_lambda=1.0``
    ``clip_param`` 0.3                 ``clip_range=0.3``
    ``entropy_coeff`` 0                ``ent_coef=0.0``
    ``vf_loss_coeff`` 1.0              ``vf_coef=1.0``
    ``grad_clip`` None                 ``max_grad_norm=1e10`` (no clipping in effect)
    fcnet [256, 256] tanh, no sharing  ``net_arch=(256, 256)`` for pi and vf, ``tanh``
    =================================  ==============================================

    No SB3 equivalent (left out, hence a documented difference): RLlib's adaptive KL penalty
    (``kl_coeff`` 0.2, ``kl_target`` 0.01) in the loss, and ``vf_clip_param`` 10, which clips
    the squared value error itself (SB3's ``clip_range_vf`` clips the change of the value
    prediction, a different thing; it stays off). SB3 normalises advantages per mini-batch,
    RLlib over the train batch; the network initialisation differs (orthogonal vs normc). SB3's
    ``target_kl`` (early stop of the epochs) is not RLlib's KL penalty and stays None.

    For the HFS plant, the study's RL variant is the env with ``action="priority"``
    (``Discrete(n)`` numeric priorities) and ``shuffle=False`` (orders in CSV order), with the
    reward ``max_makespan - makespan`` at the end: build the env that way
    (``HybridFlowShopEnv("d1", **HFS_RL_ENV_KWARGS)``, as :func:`run_ppo` does). Any other
    configuration of either env is accepted as given.

    Every hyperparameter left at None takes its value from the preset; an explicit value
    overrides it.

    Args:
        env: one scmgym env (``HybridFlowShopEnv`` or ``MakeOrBuyEnv``, bare or from
            ``gym.make``) with a ``Discrete`` action space. With ``n_envs=1`` SB3 wraps it
            (Monitor, DummyVecEnv) and trains on it; with more, the trainer trains on
            ``n_envs`` deep copies of it (taken at construction) and leaves it untouched.
        preset: ``"paper"`` (:data:`PAPER_HYPERPARAMETERS`, the study's setting) or ``"fast"``
            (:data:`FAST_HYPERPARAMETERS`: fewer, larger mini-batch steps on a smaller network
            with a larger step size; an option for quick runs, not the study's setting).
        n_envs: env copies stepped side by side, >= 1. Env ``i`` is seeded ``seed + i`` at its
            first reset (SB3's seeding); the same seed gives the same run. Episodes ending on
            the same step are recorded in env-index order.
        vec_env: ``"dummy"`` (SB3's DummyVecEnv: the envs step in turn in this process) or
            ``"subproc"`` (SubprocVecEnv: one process per env; needs a picklable env; call
            :meth:`close` to end the processes). Default: ``"dummy"``, the faster here (a
            step of either env is far cheaper than the inter-process round trip).
        learning_rate: Adam step size (> 0), or an SB3 schedule (a callable of the progress
            remaining).
        n_steps: environment steps per update **per env**, as in SB3: an update trains on
            ``n_steps * n_envs`` samples. From the preset it is the preset's train batch
            divided by the envs, ``4000 // n_envs`` (4000 samples per update with 1, 2 or 4
            envs); given explicitly it is taken as is.
        batch_size: mini-batch size, in [2, n_steps * n_envs].
        n_epochs: passes over each train batch, >= 1.
        gamma, gae_lambda: discount and GAE lambda, in [0, 1].
        clip_range: PPO's ratio clip (> 0) or a schedule.
        ent_coef, vf_coef: entropy and value-loss coefficients, >= 0.
        max_grad_norm: gradient-norm clip, > 0.
        net_arch: hidden layer sizes, used for both the policy and the value network.
        activation: ``"tanh"``, ``"relu"``, ``"elu"`` or ``"leaky_relu"``.
        device: torch device, ``"cpu"`` by default.
        torch_threads: torch's intra-op threads, set with ``torch.set_num_threads`` when the
            model is built (a process-wide setting); default 1, the fastest for these small
            networks and the setting of ``scmgym train``/``compare``; None leaves it as it is.
        seed: seeds SB3 (Python's ``random``, numpy and torch globally, the action space) and
            the env's first reset; the same seed gives the same run.
        verbose: 0 silent, 1 progress bar (on a TTY), 2 progress bar and a log line per update.
        **sb3_kwargs: any other ``stable_baselines3.PPO`` argument (``clip_range_vf``,
            ``normalize_advantage``, ``target_kl``, ``policy_kwargs``, ``tensorboard_log``...);
            ``policy_kwargs`` entries override ``net_arch``/``activation``.

    Raises:
        ValueError: an unknown argument name (the message lists the allowed ones), a value out
            of its range, an env that is not an scmgym env with a Discrete action space, or
            arguments SB3 itself rejects.

    Attributes:
        model: the SB3 ``PPO`` model; ``policy`` is the same object (it has ``predict``).
        history: :class:`~scmgym.trainers.common.History`, one row per finished episode
            (``simulation, value, best_so_far, episode_return, generation``; generation = the
            number of policy updates before the episode ended).
        best_training_value, best_training_solution: the best training episode's objective
            and solution (HFS: priority order; make-or-buy: 0/1 vector, 1 = buy).
        best_training_episode_seed: the make-or-buy episode seed of that episode (its revenue
            is ``simulate(instance, solution, seed=this)``); None for HFS.
        final_policy: the last :meth:`evaluate` result, or None.
    """

    method = "ppo"

    def __init__(self, env, *, preset: str = "paper", n_envs: int = 1,
                 vec_env: str | None = None,
                 learning_rate: float | Callable[[float], float] | None = None,
                 n_steps: int | None = None, batch_size: int | None = None,
                 n_epochs: int | None = None, gamma: float | None = None,
                 gae_lambda: float | None = None,
                 clip_range: float | Callable[[float], float] | None = None,
                 ent_coef: float | None = None, vf_coef: float | None = None,
                 max_grad_norm: float | None = None, net_arch: Sequence[int] | None = None,
                 activation: str | None = None, device: str | None = None,
                 torch_threads: int | None = 1, seed: int = 0, verbose: int = 0,
                 **sb3_kwargs: Any) -> None:
        check_param("preset", preset, isinstance(preset, str) and preset in PRESETS,
                    ", ".join(map(repr, PRESETS)))
        check_param("n_envs", n_envs, _is_int(n_envs) and n_envs >= 1, "an integer >= 1")
        check_param("vec_env", vec_env, vec_env is None or (isinstance(vec_env, str)
                                                            and vec_env in VEC_ENVS),
                    ", ".join(map(repr, VEC_ENVS)) + " or None (" + repr(DEFAULT_VEC_ENV) + ")")
        check_param("torch_threads", torch_threads,
                    torch_threads is None or (_is_int(torch_threads) and torch_threads >= 1),
                    "an integer >= 1 or None")
        given = {"learning_rate": learning_rate, "n_steps": n_steps, "batch_size": batch_size,
                 "n_epochs": n_epochs, "gamma": gamma, "gae_lambda": gae_lambda,
                 "clip_range": clip_range, "ent_coef": ent_coef, "vf_coef": vf_coef,
                 "max_grad_norm": max_grad_norm, "net_arch": net_arch,
                 "activation": activation, "device": device}
        defaults = dict(PRESETS[preset])
        # A preset's n_steps is its train batch in samples: each of the n_envs collects a share.
        defaults["n_steps"] = max(1, defaults["n_steps"] // int(n_envs))
        hp = {k: defaults[k] if v is None else v for k, v in given.items()}
        (learning_rate, n_steps, batch_size, n_epochs, gamma, gae_lambda, clip_range, ent_coef,
         vf_coef, max_grad_norm, net_arch, activation, device) = hp.values()
        # SB3 itself rejects unknown argument names, a learning rate <= 0, n_steps < 2 and a
        # batch size < 2 (its errors are passed on by _build_model); the checks here are the
        # ones it does not make.
        check_param("seed", seed, _is_int(seed) and seed >= 0, "an integer >= 0")
        check_param("verbose", verbose, verbose in (0, 1, 2), "0, 1 or 2")
        check_param("n_steps", n_steps, _is_int(n_steps) and n_steps >= 1,
                    "an integer >= 1 (steps per env per update)")
        check_param("batch_size", batch_size,
                    not _is_int(batch_size) or batch_size <= n_steps * n_envs,
                    f"an integer in [2, n_steps * n_envs = {n_steps * n_envs}]")
        check_param("n_epochs", n_epochs, _is_int(n_epochs) and n_epochs >= 1, "an integer >= 1")
        for name, value in (("gamma", gamma), ("gae_lambda", gae_lambda)):
            check_param(name, value, _is_number(value) and 0.0 <= value <= 1.0,
                        "a number in [0, 1]")
        check_param("clip_range", clip_range, callable(clip_range)
                    or (_is_number(clip_range) and clip_range > 0),
                    "a number > 0 or a schedule (callable)")
        for name, value in (("ent_coef", ent_coef), ("vf_coef", vf_coef)):
            check_param(name, value, _is_number(value) and value >= 0, "a number >= 0")
        check_param("max_grad_norm", max_grad_norm,
                    _is_number(max_grad_norm) and max_grad_norm > 0, "a number > 0")
        check_param("net_arch", net_arch,
                    isinstance(net_arch, Sequence) and not isinstance(net_arch, str)
                    and all(_is_int(h) and h >= 1 for h in net_arch),
                    "a sequence of positive layer sizes, e.g. (256, 256)")
        check_param("activation", activation, activation in _ACTIVATIONS,
                    ", ".join(map(repr, _ACTIVATIONS)))
        check_param("device", device, isinstance(device, str) and device.split(":")[0]
                    in ("cpu", "cuda", "mps", "auto"), "'cpu', 'cuda[:k]', 'mps' or 'auto'")
        policy_kwargs = sb3_kwargs.pop("policy_kwargs", None) or {}
        check_param("policy_kwargs", policy_kwargs, isinstance(policy_kwargs, dict),
                    "a dict of SB3 policy arguments")
        self._check_env(env)

        self.env = env
        self.seed = int(seed)
        self.verbose = verbose
        self.objective = plant_of_env(env).objective
        self.hparams: dict[str, Any] = {
            "learning_rate": learning_rate, "n_steps": int(n_steps),
            "batch_size": int(batch_size), "n_epochs": int(n_epochs), "gamma": float(gamma),
            "gae_lambda": float(gae_lambda), "clip_range": clip_range,
            "ent_coef": float(ent_coef), "vf_coef": float(vf_coef),
            "max_grad_norm": float(max_grad_norm), "net_arch": [int(h) for h in net_arch],
            "activation": activation, "device": device,
            **({"policy_kwargs": dict(policy_kwargs)} if policy_kwargs else {}), **sb3_kwargs,
            "preset": preset, "n_envs": int(n_envs),
            "vec_env": vec_env or DEFAULT_VEC_ENV,
            "torch_threads": torch_threads,
        }
        self.model = self._build_model()
        self._init_state()

    # -- construction ----------------------------------------------------------------------------
    @staticmethod
    def _check_env(env) -> None:
        from gymnasium import spaces

        if isinstance(env, VecEnv) or not hasattr(env, "unwrapped"):
            raise ValueError(f"env={env!r}; allowed: one Gymnasium env (HybridFlowShopEnv or "
                             "MakeOrBuyEnv), not a VecEnv")
        plant = plant_of_env(env)  # a clear error for anything but an scmgym plant env
        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(f"env action space {env.action_space}; allowed: Discrete")
        base = env.unwrapped
        variant = {k: getattr(base, "action_mode" if k == "action" else k, v)
                   for k, v in plant.rl_env_kwargs.items()}
        if variant != plant.rl_env_kwargs:
            log.info("%s env with %s: not the study's RL variant %s", plant.name, variant,
                     plant.rl_env_kwargs)

    def _build_model(self) -> PPO:
        import torch

        hp = dict(self.hparams)
        options = {k: hp.pop(k, None) for k in _TRAINER_OPTIONS}
        _set_torch_threads(options["torch_threads"])
        activation = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "elu": torch.nn.ELU,
                      "leaky_relu": torch.nn.LeakyReLU}[hp.pop("activation")]
        arch = hp.pop("net_arch")
        policy_kwargs = {"net_arch": {"pi": list(arch), "vf": list(arch)},
                         "activation_fn": activation, **hp.pop("policy_kwargs", {})}
        n_envs, kind = options["n_envs"] or 1, options["vec_env"] or DEFAULT_VEC_ENV
        # One env in this process: SB3 wraps the env itself (Monitor, DummyVecEnv), as before
        # n_envs existed; otherwise copies of it in a VecEnv.
        env = self.env if (n_envs, kind) == (1, "dummy") else self._vec_env(n_envs, kind)
        try:
            with warnings.catch_warnings():
                if (hp["n_steps"] * n_envs, hp["batch_size"]) == (4000, 128):
                    # The documented paper mapping: each epoch ends on a mini-batch of 32.
                    warnings.filterwarnings("ignore", "You have specified a mini-batch size",
                                            UserWarning)
                return PPO("MlpPolicy", env, seed=self.seed, verbose=0,
                           policy_kwargs=policy_kwargs, **hp)
        except (AssertionError, TypeError, ValueError) as exc:
            if env is not self.env:
                env.close()
            allowed = ", ".join(sorted(sb3_ppo_arguments() + ("net_arch", "activation")))
            raise ValueError(f"stable-baselines3 PPO rejected the hyperparameters: {exc}; "
                             f"allowed: the arguments {allowed} in SB3's ranges") from exc

    def _vec_env(self, n_envs: int, kind: str) -> VecEnv:
        """``n_envs`` deep copies of the env (Monitor-wrapped), env ``i`` seeded ``seed + i``
        (SB3's ``make_vec_env``); a SubprocVecEnv is closed when the trainer is collected."""
        vec = make_vec_env(functools.partial(copy.deepcopy, self.env), n_envs=n_envs,
                           seed=self.seed, vec_env_cls=VEC_ENVS[kind])
        if isinstance(vec, SubprocVecEnv):
            weakref.finalize(self, vec.close)
        return vec

    def close(self) -> None:
        """End the env processes of ``vec_env="subproc"`` (no-op otherwise); the trainer can
        then no longer learn, but its policy still acts and evaluates."""
        env = self.model.get_env()
        if isinstance(env, SubprocVecEnv):
            env.close()

    @property
    def n_envs(self) -> int:
        """The envs SB3 trains on."""
        return int(self.model.n_envs)

    def _init_state(self) -> None:
        # Its budget is set by each learn() call: the episodes so far plus that call's budget.
        self.evaluator = BudgetedEvaluator(None, 1, objective=self.objective)
        self.best_training_value: float | None = None
        self.best_training_solution: list[int] | None = None
        self.best_training_simulation: int | None = None
        self.best_training_episode_seed: int | None = None
        self.final_policy: dict[str, Any] | None = None
        self.iterations = 0
        self.wall_seconds = 0.0
        self.interrupted = False
        self._seeded = False

    @property
    def policy(self) -> PPO:
        """The SB3 model (``predict(obs, deterministic=True)`` acts)."""
        return self.model

    @property
    def simulations(self) -> int:
        """Finished training episodes (real simulations) so far."""
        return self.evaluator.used

    # -- training --------------------------------------------------------------------------------
    def learn(self, budget: int = 5000, callback: Callback | BaseCallback | None = None,
              history_path: str | Path | None = None) -> PPOTrainer:
        """Train until ``budget`` more episodes have finished (or a callback stops it).

        Args:
            budget: training episodes (real simulations) to run in this call, >= 1. SB3 is
                stopped on the step that ends the ``budget``-th episode, so exactly ``budget``
                simulations are charged unless a callback or an interrupt stops it earlier.
                The steps since the last update are then not trained on.
            callback: called after every finished episode with a dict of metrics
                (``train/simulations``, ``train/value``, ``train/best_value``,
                ``train/episode_return``, ``train/iteration``, ``train/timesteps``); returning
                False stops training. An SB3 ``BaseCallback`` is also accepted and runs beside
                the budget counter.
            history_path: if given (at the first call), the one history (``history.csv``)
                is written there as the episodes finish.

        Returns:
            self, with ``evaluator`` (budget and history), ``best_training_*`` and the
            trained ``model``.
        """
        check_param("budget", budget, _is_int(budget) and budget >= 1,
                    "a positive number of simulations")
        if history_path is not None and self.evaluator.used == 0:
            self.evaluator = BudgetedEvaluator(None, 1, objective=self.objective,
                                               history_path=Path(history_path))
        self.evaluator.budget = self.evaluator.used + int(budget)
        user_fn = None if isinstance(callback, BaseCallback) else callback
        counter = _EpisodeBudget(self, int(budget), user_fn, self._progress(budget))
        callbacks: BaseCallback = (CallbackList([counter, callback])
                                   if isinstance(callback, BaseCallback) else counter)
        if not self._seeded:
            # Reseed at the first learn() so the run does not depend on what used the global
            # RNGs since construction; the env's first reset gets the seed too.
            self.model.set_random_seed(self.seed)
            self._seeded = True
        episode_steps = self._episode_steps()
        start = time.perf_counter()
        self.interrupted = False
        first = self.model.num_timesteps == 0
        try:
            with terminate_as_interrupt():
                while counter.finished < budget and not counter.stopped:
                    steps = (budget - counter.finished) * episode_steps
                    target = steps + (0 if first else self.model.num_timesteps)
                    self.model.learn(total_timesteps=steps, callback=callbacks,
                                     reset_num_timesteps=first, progress_bar=False)
                    first = False
                    if self.model.num_timesteps < target and not counter.stopped:
                        counter.stopped = True  # an SB3 callback of the caller stopped it
        except KeyboardInterrupt:
            self.interrupted = True
            log.warning("ppo training interrupted after %d simulations", self.simulations)
        finally:
            if counter.stopped or self.interrupted:
                # SB3 stopped inside a rollout: its last observation is stale, so the next
                # learn() starts from a fresh reset (the partial rollout is dropped).
                self.model.set_env(self.model.get_env(), force_reset=True)
            if counter.bar is not None:
                counter.bar.close()
            self.wall_seconds += time.perf_counter() - start
        return self

    def _episode_steps(self) -> int:
        """Steps of one episode (both envs: one per order); used to size SB3's total steps."""
        instance = getattr(self.env.unwrapped, "instance", None)
        return int(getattr(instance, "n", 0)) or 1000

    def _progress(self, budget: int):
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=budget, desc=self.method, unit="sim", disable=None)

    def _record_episode(self, info: dict[str, Any], episode_return: float) -> float:
        value = float(info["objective"])
        solution = [int(x) for x in info["solution"]]
        self.evaluator.generation = self.iterations
        self.evaluator.record(value, solution, episode_return=episode_return)
        if (self.best_training_value is None
                or self.objective.better(value, self.best_training_value)):
            self.best_training_value = value
            self.best_training_solution = solution
            self.best_training_simulation = self.simulations
            seed = info.get("episode_seed")
            self.best_training_episode_seed = None if seed is None else int(seed)
        return value

    def _metrics(self, value: float, episode_return: float) -> dict[str, Any]:
        return {"train/simulations": self.simulations, "train/value": value,
                "train/best_value": self.best_training_value,
                "train/episode_return": episode_return, "train/iteration": self.iterations,
                "train/timesteps": int(self.model.num_timesteps)}

    # -- evaluation ------------------------------------------------------------------------------
    def evaluate(self, n_episodes: int = 100, seed: int | None = None,
                 env=None) -> dict[str, Any]:
        """The deterministic (argmax) current policy over ``n_episodes`` fresh episodes.

        These simulations are not charged to the training budget.

        Args:
            n_episodes: episodes, >= 1.
            seed: seeds the first reset; later ones continue the env's RNG. Default: the
                training seed + :data:`EVAL_SEED_OFFSET`.
            env: the env to evaluate on; default: a deep copy of the training env (the
                training env itself is left as SB3 holds it).

        Returns:
            ``objective``, ``n_episodes``, ``seed``, ``mean``, ``sd`` (sample standard
            deviation, 0 for one episode), ``min``, ``max`` and ``values`` (one per episode).
            Also kept as ``final_policy``. With the HFS RL env (no shuffle, deterministic
            plant) every episode is the same, so ``sd`` is 0.
        """
        check_param("n_episodes", n_episodes, _is_int(n_episodes) and n_episodes >= 1,
                    "an integer >= 1")
        seed = self.seed + EVAL_SEED_OFFSET if seed is None else int(seed)
        env = copy.deepcopy(self.env) if env is None else env
        result = evaluate_policy(self.model, env, int(n_episodes), seed=seed,
                                 deterministic=True)
        values = [float(info[self.objective.name]) for info in result.infos]
        self.final_policy = {
            "objective": self.objective.name, "n_episodes": int(n_episodes), "seed": seed,
            "mean": float(np.mean(values)),
            "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "min": float(np.min(values)), "max": float(np.max(values)), "values": values,
        }
        return self.final_policy

    def report(self) -> dict[str, Any]:
        """Both numbers, named as such: ``best_training_*`` (best training episode, as the
        study logged) and ``final_policy_*`` (the last :meth:`evaluate`, None before one)."""
        final = self.final_policy or {}
        return {
            "method": self.method, "objective": self.objective.name,
            "direction": self.objective.direction, "simulations": self.simulations,
            "timesteps": int(self.model.num_timesteps), "iterations": self.iterations,
            "wall_seconds": self.wall_seconds,
            "best_training_value": self.best_training_value,
            "best_training_solution": self.best_training_solution,
            "best_training_simulation": self.best_training_simulation,
            "best_training_episode_seed": self.best_training_episode_seed,
            **{f"final_policy_{k}": final.get(k)
               for k in ("mean", "sd", "min", "max", "n_episodes", "seed")},
        }

    # -- saving ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save the SB3 model as a zip (``.zip`` is appended if missing); the trainer's
        hyperparameters and best training episode travel with it. Returns the path."""
        path = Path(path)
        if path.suffix != ".zip":
            path = path.with_name(path.name + ".zip")
        # SB3 saves the model's attributes; this one is plain JSON data.
        self.model.scmgym_meta = jsonable({
            "seed": self.seed, "hparams": self.hparams, "report": self.report()})
        self.model.save(path)
        return path

    @classmethod
    def load(cls, path: str | Path, env, *, verbose: int = 0,
             torch_threads: int | None = 1) -> PPOTrainer:
        """A trainer around a model saved with :meth:`save` (or any SB3 PPO zip), on ``env``.

        The best training episode is restored if it was saved; the per-episode history is not.
        Further ``learn()`` calls continue training from the loaded weights, on ``env`` alone
        (one env, whatever ``n_envs`` the model was trained with). ``torch_threads`` as in
        the constructor.
        """
        check_param("verbose", verbose, verbose in (0, 1, 2), "0, 1 or 2")
        cls._check_env(env)
        _set_torch_threads(torch_threads)
        model = PPO.load(path, env=env, device="cpu")
        meta = getattr(model, "scmgym_meta", None) or {}
        trainer = cls.__new__(cls)
        trainer.env = env
        trainer.seed = int(meta.get("seed", model.seed or 0))
        trainer.verbose = verbose
        trainer.objective = plant_of_env(env).objective
        trainer.hparams = dict(meta.get("hparams", {}))
        trainer.model = model
        trainer._init_state()
        report = meta.get("report", {})
        trainer.best_training_value = report.get("best_training_value")
        trainer.best_training_solution = report.get("best_training_solution")
        trainer.best_training_episode_seed = report.get("best_training_episode_seed")
        return trainer
