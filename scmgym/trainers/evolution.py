"""The resumable evolutionary loop shared by the ELDT and GP trainers.

A run is a state machine (evaluate the initial population; then per generation: vary, evaluate
the changed offspring, update the hall of fame, replace). The state is checkpointed after every
fitness evaluation, together with the states of Python's ``random`` (used by DEAP's operators),
the trainer's numpy Generator and the env's RNG, so a killed run resumes exactly where its last
complete evaluation ended and gives the same result as an uninterrupted run.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from deap import tools

from scmgym.trainers import common

log = logging.getLogger(__name__)


def check_param(name: str, value: Any, ok: bool, allowed: str) -> None:
    """Raise ValueError naming the hyperparameter, its value and the allowed range."""
    if not ok:
        raise ValueError(f"{name}={value!r}; allowed: {allowed}")


class EvolutionaryTrainer:
    """Base class: subclasses define the individuals, variation, evaluation and replacement."""

    method = "evolution"

    def __init__(self, env, hparams: dict[str, Any], verbose: int) -> None:
        check_param("verbose", verbose, verbose in (0, 1, 2), "0, 1 or 2")
        check_param("population_size", hparams["population_size"],
                    hparams["population_size"] >= 2, "an integer >= 2")
        check_param("generations", hparams["generations"], hparams["generations"] >= 0,
                    "an integer >= 0")
        self.env = env
        self.hparams = hparams
        self.verbose = verbose
        self.schema = common.tree_schema(env)
        self.objective = common.objective_of(env)
        self.policy = None
        self.history: common.History | None = None
        self.state: dict[str, Any] | None = None
        self.interrupted = False
        self.wall_seconds = 0.0

    # -- hooks -----------------------------------------------------------------------------------
    def _new_individual(self):
        raise NotImplementedError

    def _vary(self, population: list) -> list:
        raise NotImplementedError

    def _evaluate(self, ind, generation: int) -> None:
        raise NotImplementedError

    def _replace(self, population: list, offspring: list) -> list:
        raise NotImplementedError

    def _make_policy(self):
        raise NotImplementedError

    def _pack(self, ind) -> Any:
        """A picklable form of an individual (for checkpoints)."""
        return ind

    def _unpack(self, data: Any):
        return data

    # -- episodes --------------------------------------------------------------------------------
    def _episode(self, act: Callable[[Sequence[float]], int], generation: int,
                 on_reward: Callable[[float], None] | None = None,
                 on_end: Callable[[Sequence[float]], None] | None = None) -> tuple[float, float]:
        """Run one episode (one real simulation); record it; return (return, objective)."""
        env = self.env
        obs, _ = env.reset(seed=self.env_seed)
        self.env_seed = None  # seeded once; later episodes continue the env's RNG
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(act(obs.tolist()))
            total += float(reward)
            if on_reward is not None:
                on_reward(float(reward))
            done = terminated or truncated
        if on_end is not None:
            on_end(obs.tolist())
        self.budget.charge(1)
        value = float(info[self.objective.name])
        self.history.record(value, total, generation)
        st = self.state
        if st.get("best_value") is None or self.objective.better(value, st["best_value"]):
            st["best_value"] = value
            st["best_solution"] = common.solution_from_info(info)
        return total, value

    # -- the loop --------------------------------------------------------------------------------
    def learn(self, budget: int = 5000, callback: common.Callback | None = None,
              run_dir: str | Path | None = None, resume: bool = False):
        """Evolve until ``generations`` are done or ``budget`` simulations are spent.

        Args:
            budget: the most real simulations (episodes) to run.
            callback: called after every generation with a dict of metrics (``train/...``
                keys); returning False stops training.
            run_dir: if given, ``history.csv`` (a row per simulation) and ``checkpoint.pkl``
                (after every evaluation) are written there as the run goes.
            resume: continue from ``run_dir/checkpoint.pkl``; ``budget`` may be raised.

        Returns:
            self, with ``policy`` (the best policy found), ``history`` and ``state``.
        """
        run_dir = Path(run_dir) if run_dir is not None else None
        self._checkpoint_path = run_dir / "checkpoint.pkl" if run_dir is not None else None
        hist_path = run_dir / "history.csv" if run_dir is not None else None
        if resume:
            if self._checkpoint_path is None or not self._checkpoint_path.exists():
                raise FileNotFoundError(f"no checkpoint to resume in {run_dir}")
            self._restore(common.load_checkpoint(self._checkpoint_path))
            self.budget = common.Budget(budget, self.state["simulations"])
            self.history = common.History.resume(hist_path, self.objective,
                                                 self.state["simulations"])
        else:
            seed = self.hparams["seed"]
            random.seed(seed)
            self.rng = np.random.default_rng(seed)
            self.env_seed = seed
            self.budget = common.Budget(budget)
            self.history = common.History(hist_path, self.objective)
            self.state = {"phase": "init", "generation": 0, "pos": 0, "offspring": None,
                          "population": [self._new_individual()
                                         for _ in range(self.hparams["population_size"])],
                          "hof": tools.HallOfFame(1), "status": "running", "evaluations": 0,
                          "best_value": None, "best_solution": None}
            self._init_state(self.state)
        self._saved_simulations = self.budget.used
        start = time.perf_counter()
        bar = self._progress(budget)
        self.interrupted = False
        try:
            with common.terminate_as_interrupt():
                self._run(callback, bar)
        except common.BudgetExhausted:
            self.state["status"] = "budget"
        except KeyboardInterrupt:
            # The checkpoint of the last complete evaluation stays as it is: resuming from it
            # redoes the interrupted evaluation with the same random numbers.
            self.interrupted = True
            log.warning("training interrupted after %d simulations", self.budget.used)
        finally:
            if bar is not None:
                bar.close()
            if self.interrupted:  # back to the last checkpoint: what a resume continues from
                self.budget.used = self._saved_simulations
                self.history.truncate(self._saved_simulations)
            else:
                self._save_state()
            self.history.close()
        self.wall_seconds = time.perf_counter() - start
        self.policy = self._make_policy()
        return self

    def _init_state(self, state: dict[str, Any]) -> None:
        """Subclasses add their own entries to a fresh state."""

    def _progress(self, budget: int):
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=budget, initial=self.budget.used, desc=self.method, unit="sim")

    def _run(self, callback, bar) -> None:
        st = self.state
        while True:
            if st["phase"] == "init":
                self._evaluate_all(st["population"], 0, bar)
                st["hof"].update(st["population"])
                st.update(phase="select", pos=0)
                self._save_state()
                self._report(callback)
            elif st["phase"] == "select":
                if st["generation"] >= self.hparams["generations"]:
                    st["status"] = "done"
                    return
                st["generation"] += 1
                st["offspring"] = self._vary(st["population"])
                st.update(phase="eval", pos=0)
                self._save_state()
            else:
                self._evaluate_all(st["offspring"], st["generation"], bar)
                st["hof"].update(st["offspring"])
                st["population"] = self._replace(st["population"], st["offspring"])
                st.update(phase="select", pos=0, offspring=None)
                self._save_state()
                if self._report(callback) is False:
                    st["status"] = "callback"
                    return

    def _evaluate_all(self, individuals: list, generation: int, bar) -> None:
        """Evaluate, in order, the individuals whose fitness is not valid; checkpoint each."""
        st = self.state
        while st["pos"] < len(individuals):
            ind = individuals[st["pos"]]
            if not ind.fitness.valid:
                used = self.budget.used
                self._evaluate(ind, generation)
                st["evaluations"] += 1
                if bar is not None:
                    bar.update(self.budget.used - used)
            st["pos"] += 1
            self._save_state()

    def _report(self, callback) -> bool | None:
        pop = self.state["population"]
        fits = [ind.fitness.values[0] for ind in pop]
        metrics = {"train/generation": self.state["generation"],
                   "train/simulations": self.budget.used,
                   "train/best_fitness": self.state["hof"][0].fitness.values[0],
                   "train/mean_fitness": float(np.mean(fits))}
        if self.verbose >= 2:
            log.info("%s generation %d: %s", self.method, self.state["generation"], metrics)
        return callback(metrics) if callback is not None else None

    # -- checkpoints -----------------------------------------------------------------------------
    def _save_state(self) -> None:
        self._saved_simulations = self.budget.used
        if self._checkpoint_path is None:
            return
        st = self.state
        env_rng = getattr(self.env.unwrapped, "_np_random", None)
        packed = {k: v for k, v in st.items() if k not in ("population", "offspring", "hof")}
        packed.update(
            population=[self._pack_with_fitness(i) for i in st["population"]],
            offspring=None if st["offspring"] is None
            else [self._pack_with_fitness(i) for i in st["offspring"]],
            hof=[self._pack_with_fitness(i) for i in st["hof"]],
            py_random=random.getstate(), np_random=self.rng.bit_generator.state,
            env_rng=None if env_rng is None else env_rng.bit_generator.state,
            env_seed=self.env_seed, simulations=self.budget.used,
        )
        common.save_checkpoint(self._checkpoint_path, packed)

    def _pack_with_fitness(self, ind) -> tuple[Any, tuple | None]:
        return self._pack(ind), (ind.fitness.values if ind.fitness.valid else None)

    def _unpack_with_fitness(self, item: tuple[Any, tuple | None]):
        ind = self._unpack(item[0])
        if item[1] is not None:
            ind.fitness.values = item[1]
        return ind

    def _restore(self, packed: dict[str, Any]) -> None:
        st = dict(packed)
        st["population"] = [self._unpack_with_fitness(i) for i in packed["population"]]
        st["offspring"] = (None if packed["offspring"] is None
                           else [self._unpack_with_fitness(i) for i in packed["offspring"]])
        hof = tools.HallOfFame(1)
        hof.update([self._unpack_with_fitness(i) for i in packed["hof"]])
        st["hof"] = hof
        random.setstate(packed["py_random"])
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = packed["np_random"]
        if packed.get("env_rng") is not None:
            self.env.unwrapped.np_random = np.random.Generator(np.random.PCG64())
            self.env.unwrapped.np_random.bit_generator.state = packed["env_rng"]
        self.env_seed = packed["env_seed"]
        self.state = st

    # -- saving ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save the best policy as JSON (the only saved form of a policy; never a pickle)."""
        if self.policy is None:
            raise RuntimeError("nothing to save: learn() has not produced a policy yet")
        return self.policy.save(path)

    @staticmethod
    def load(path: str | Path):
        """Load a policy saved with :meth:`save` (an ELDT or GP tree policy)."""
        from scmgym.policies import load_policy

        return load_policy(path)

    # -- reporting -------------------------------------------------------------------------------
    @property
    def simulations(self) -> int:
        """Real simulations run."""
        return self.budget.used

    @property
    def nominal_simulations(self) -> int:
        """The paper's count: generations x population x episodes per evaluation."""
        hp = self.hparams
        return self.state["generation"] * hp["population_size"] * hp.get("n_episodes", 1)
