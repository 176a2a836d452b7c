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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from deap import tools

from scmgym.core import BudgetedEvaluator, check_param, plant_of_env
from scmgym.core.io import load_checkpoint, save_checkpoint, terminate_as_interrupt
from scmgym.errors import BudgetExhausted
from scmgym.policies.batch import open_loop_env

log = logging.getLogger(__name__)

Callback = Callable[[dict[str, Any]], "bool | None"]

#: How a trainer on a distribution of instances picks each episode's instance:
#: ``"episode"``: every episode draws its own from the env's RNG (the env's default);
#: ``"generation"``: each generation draws one list of instances (one per episode of an
#: evaluation) and every individual of that generation plays the same ones, so that the
#: individuals compared in a selection met the same orders (GP hyper-heuristic practice);
#: the next generation draws new ones. With one instance both are the same.
ROTATIONS = ("episode", "generation")

#: Most passes of the leaf-fitting coordinate search over the leaves.
LEAF_FIT_PASSES = 3

__all__ = ["Callback", "EvolutionaryTrainer", "check_param", "own_global_random"]


@contextmanager
def own_global_random(rng: random.Random) -> Iterator[None]:
    """Run the block with Python's global ``random`` (which DEAP's operators use) in the state
    of ``rng``; afterwards ``rng`` holds the advanced state and the global module is back in
    the state it was in before. A trainer thus never disturbs, nor depends on, other users of
    the global module."""
    outside = random.getstate()
    random.setstate(rng.getstate())
    try:
        yield
    finally:
        rng.setstate(random.getstate())
        random.setstate(outside)


def _rotation_key(seed: int | None) -> int:
    """The key of a run's per-generation instance lists (``rotation="generation"``)."""
    return int(np.random.SeedSequence(0 if seed is None else seed).generate_state(1)[0])


class EvolutionaryTrainer:
    """Base class: subclasses define the individuals, variation, evaluation and replacement."""

    method = "evolution"

    def __init__(self, env, hparams: dict[str, Any], verbose: int) -> None:
        check_param("verbose", verbose, verbose in (0, 1, 2), "0, 1 or 2")
        check_param("rotation", hparams.get("rotation", "episode"),
                    hparams.get("rotation", "episode") in ROTATIONS, " or ".join(ROTATIONS))
        check_param("population_size", hparams["population_size"],
                    hparams["population_size"] >= 2, "an integer >= 2")
        check_param("generations", hparams["generations"], hparams["generations"] >= 0,
                    "an integer >= 0")
        share = hparams.get("leaf_fit", 0.0)
        check_param("leaf_fit", share, isinstance(share, (int, float)) and 0.0 <= share < 1.0,
                    "a share of the budget in [0, 1) (0: no leaf-fitting pass)")
        episodes = hparams.get("leaf_fit_episodes", 1)
        check_param("leaf_fit_episodes", episodes, isinstance(episodes, int) and episodes >= 1,
                    "an integer >= 1")
        self.env = env
        self.hparams = hparams
        self.verbose = verbose
        self.plant = plant_of_env(env)
        self.schema = self.plant.tree_schema(env)
        self.objective = self.plant.objective
        self.policy = None
        self.evaluator: BudgetedEvaluator | None = None
        self.state: dict[str, Any] | None = None
        self.interrupted = False
        self.wall_seconds = 0.0
        self._random_live = False  # whether the global ``random`` holds the trainer's state
        #: Play episodes open-loop where the env allows it (:mod:`scmgym.policies.batch`): the
        #: same episodes, actions and records as stepping, in one compiled pass. Off: one
        #: ``step`` per order (the reference path the tests compare with).
        self.open_loop = True

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

    def _tree_to_fit(self):
        """The tree the leaf-fitting pass starts from (the one the policy would return)."""
        raise NotImplementedError

    def _pack(self, ind) -> Any:
        """A picklable form of an individual (for checkpoints)."""
        return ind

    def _unpack(self, data: Any):
        return data

    # -- episodes --------------------------------------------------------------------------------
    def _episode(self, act: Callable[[Sequence[float]], int], generation: int,
                 on_reward: Callable[[float], None] | None = None,
                 on_end: Callable[[Sequence[float]], None] | None = None,
                 plan: Callable[[np.ndarray], np.ndarray] | None = None,
                 slot: int = 0) -> tuple[float, float]:
        """Run one episode (one real simulation); record it; return (return, objective).

        ``act(obs)`` decides one step. ``plan(observations)``, if given, decides every step of
        an open-loop episode at once (the actions ``act`` would take, with ``on_reward(0.0)``
        between steps accounted for); it is used when the env offers open-loop episodes.
        ``slot`` is the episode's number within its evaluation (``rotation="generation"``
        plays instance ``slot`` of the generation's list)."""
        env = self.env
        obs, _ = env.reset(seed=self.env_seed, options=self._rotation_options(generation, slot))
        self.env_seed = None  # seeded once; later episodes continue the env's RNG
        base = open_loop_env(env) if plan is not None and self.open_loop else None
        steps = None if base is None else base.open_loop_observations()
        total, done = 0.0, False
        if steps is not None:
            obs, reward, info = base.finish_open_loop(plan(steps))
            total += float(reward)  # every earlier step's reward is 0.0
            if on_reward is not None:
                on_reward(float(reward))
            done = True
        while not done:
            obs, reward, terminated, truncated, info = env.step(act(obs.tolist()))
            total += float(reward)
            if on_reward is not None:
                on_reward(float(reward))
            done = terminated or truncated
        if on_end is not None:
            on_end(obs.tolist())
        value = float(info["objective"])
        self.evaluator.generation = generation
        self.evaluator.record(value, info["solution"], episode_return=total)
        return total, value

    def _rotation_options(self, generation: int, slot: int) -> dict[str, Any] | None:
        """The reset options of an episode under ``rotation="generation"`` (None otherwise):
        instance ``slot`` of the generation's list, a pure function of the run's rotation key,
        the generation and the slot (so a resumed run plays the same instances)."""
        source = getattr(self.env.unwrapped, "source", None)
        if self.hparams.get("rotation", "episode") != "generation" or source is None \
                or source.single:
            return None
        rng = np.random.default_rng([self.state["rotation_key"], generation, slot])
        return {"instance": source.draw(rng)}

    # -- the loop --------------------------------------------------------------------------------
    def learn(self, budget: int = 5000, callback: Callback | None = None,
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
            self, with ``policy`` (the best policy found), ``evaluator`` (budget, history and
            best episode) and ``state``.
        """
        check_param("budget", budget, isinstance(budget, int) and budget >= self.min_budget(),
                    f"at least {self.min_budget()} simulations (one evaluation of the initial "
                    f"population: {self.describe_min_budget()})")
        run_dir = Path(run_dir) if run_dir is not None else None
        self._checkpoint_path = run_dir / "checkpoint.pkl" if run_dir is not None else None
        hist_path = run_dir / "history.csv" if run_dir is not None else None
        if resume:
            if self._checkpoint_path is None or not self._checkpoint_path.exists():
                raise FileNotFoundError(f"no checkpoint to resume in {run_dir}")
            packed = load_checkpoint(self._checkpoint_path)
            self._restore(packed)
            self.evaluator = BudgetedEvaluator.resume(None, budget, hist_path,
                                                      packed["evaluator"],
                                                      objective=self.objective)
        else:
            seed = self.hparams["seed"]
            self.random = random.Random(seed)
            self.rng = np.random.default_rng(seed)
            self.env_seed = seed
            self.evaluator = BudgetedEvaluator(None, budget, history_path=hist_path,
                                               objective=self.objective)
            with own_global_random(self.random):
                population = [self._new_individual()
                              for _ in range(self.hparams["population_size"])]
            self.state = {"phase": "init", "generation": 0, "pos": 0, "offspring": None,
                          "population": population, "hof": tools.HallOfFame(1),
                          "status": "running", "evaluations": 0}
            self._init_state(self.state)
            self.state["rotation_key"] = _rotation_key(seed)
        # The leaf-fitting pass's share is kept out of the evolution's reach.
        self._evolution_budget = budget - int(round(self.hparams.get("leaf_fit", 0.0) * budget))
        self._saved = self.evaluator.state_dict()
        # A resumed run's time is the sum over its invocations (up to its last checkpoint).
        self._wall_before = float(self.state.get("wall_seconds", 0.0))
        self._started = time.perf_counter()
        bar = self._progress(budget)
        self.interrupted = False
        try:
            with terminate_as_interrupt(), own_global_random(self.random):
                self._random_live = True
                try:
                    try:
                        self._run(callback, bar)
                    except BudgetExhausted:
                        self.state["status"] = "budget"
                    if self.hparams.get("leaf_fit", 0.0) > 0 and "leaf_fit" not in self.state:
                        self._save_state()  # a resume redoes the pass from here
                        self._fit_leaves(bar)
                finally:
                    self._random_live = False
        except KeyboardInterrupt:
            # The checkpoint of the last complete evaluation stays as it is: resuming from it
            # redoes the interrupted evaluation with the same random numbers.
            self.interrupted = True
            log.warning("training interrupted after %d simulations", self.evaluator.used)
        finally:
            if bar is not None:
                bar.close()
            if self.interrupted:  # back to the last checkpoint: what a resume continues from
                self.evaluator.load_state(self._last_checkpoint())
            else:
                self._save_state()
            self.evaluator.close()
        self.wall_seconds = self._elapsed()
        self.policy = self._make_policy()
        return self

    def min_budget(self) -> int:
        """The fewest simulations that evaluate the whole initial population (and leave the
        leaf-fitting share beside it)."""
        hp = self.hparams
        need = hp["population_size"] * hp.get("episodes_per_evaluation", 1)
        share = hp.get("leaf_fit", 0.0)
        return need if not share else int(np.ceil(need / (1.0 - share)))

    def _room(self, episodes: int) -> None:
        """Raise :class:`BudgetExhausted` unless ``episodes`` more training episodes fit in
        the evolution's part of the budget (the rest is the leaf-fitting pass's)."""
        limit = min(self._evolution_budget, self.evaluator.budget)
        if self.evaluator.used + episodes > limit:
            raise BudgetExhausted("not enough budget for a full evaluation")

    # -- the leaf-fitting pass -------------------------------------------------------------------
    def _fit_seeds(self) -> list[int]:
        """The leaf-fitting episodes' seeds: ``leaf_fit_episodes`` of them, the same for every
        candidate tree (an HFS tree's episodes differ too: the presentation order and the
        priorities inside a level are drawn per episode)."""
        from scmgym.core.seeds import stream_seeds

        n = self.hparams.get("leaf_fit_episodes", 1)
        return [int(s) for s in stream_seeds("leaf-fit", n, root=int(self.hparams["seed"]))]

    def _play_tree(self, root, seeds: list[int]) -> float:
        """The tree's mean objective over episodes with the given seeds (each a real
        simulation, recorded like every training episode)."""
        from scmgym.policies import tree as T
        from scmgym.policies.batch import FlatTree, leaf_actions

        flat = FlatTree.of(root)
        values = []
        for s in seeds:
            obs, _ = self.env.reset(seed=s)
            base = open_loop_env(self.env) if self.open_loop else None
            steps = None if base is None else base.open_loop_observations()
            if steps is not None:
                _, reward, info = base.finish_open_loop(leaf_actions(flat, steps))
                total = float(reward)
            else:
                total, done = 0.0, False
                while not done:
                    obs, reward, terminated, truncated, info = self.env.step(
                        T.find_leaf(root, obs.tolist()).action)
                    total += float(reward)
                    done = terminated or truncated
            values.append(float(info["objective"]))
            self.evaluator.generation = self.state["generation"]
            self.evaluator.record(values[-1], info["solution"], episode_return=total)
        return float(np.mean(values))

    def _fit_leaves(self, bar) -> None:
        """Set each leaf's action by simulation: a coordinate search over the leaves (every
        other action of one leaf, the rest held fixed), each candidate played on the same
        fresh episodes (:meth:`_fit_seeds`); a change is kept when it improves the mean
        objective. Up to :data:`LEAF_FIT_PASSES` passes, within the rest of the budget."""
        from scmgym.policies import tree as T

        root = self._tree_to_fit()
        if root is None:
            return
        seeds = self._fit_seeds()
        n_actions = int(self.env.action_space.n)
        better = (lambda a, b: a < b) if self.objective.direction == "min" else \
            (lambda a, b: a > b)
        used = self.evaluator.used

        def fits() -> bool:
            return self.evaluator.remaining >= len(seeds)

        actions = [leaf.action for leaf in T.leaves(root)]

        def with_actions(acts: list[int]):
            it = iter(acts)

            def refit(leaf: T.Leaf) -> T.Leaf:
                # a leaf whose action changed drops its Q-values (no longer their argmax)
                a = next(it)
                return T.Leaf(a, leaf.q if a == leaf.action else None)

            return T.map_leaves(root, refit)

        info = {"episodes": len(seeds), "passes": 0, "changed": 0, "before": None,
                "after": None}
        if fits():
            best = self._play_tree(root, seeds)
            info["before"] = info["after"] = best
            for _ in range(LEAF_FIT_PASSES):
                improved = False
                for k in range(len(actions)):
                    for a in range(n_actions):
                        if a == actions[k] or not fits():
                            continue
                        trial = actions[:k] + [a] + actions[k + 1:]
                        value = self._play_tree(with_actions(trial), seeds)
                        if better(value, best):
                            best, actions, improved = value, trial, True
                            info["changed"] += 1
                info["passes"] += 1
                if not improved or not fits():
                    break
            info["after"] = best
        info["simulations"] = self.evaluator.used - used
        self.state["leaf_fit"] = info
        self.state["fitted_tree"] = with_actions(actions)
        if bar is not None:
            bar.update(self.evaluator.used - used)
        self._save_state()

    def describe_min_budget(self) -> str:
        """What :meth:`min_budget` counts, in words."""
        hp = self.hparams
        episodes = hp.get("episodes_per_evaluation", 1)
        return (f"{hp['population_size']} individuals" if episodes == 1
                else f"{hp['population_size']} individuals x {episodes} episodes")

    def _init_state(self, state: dict[str, Any]) -> None:
        """Subclasses add their own entries to a fresh state."""

    def _progress(self, budget: int):
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=budget, initial=self.evaluator.used, desc=self.method, unit="sim")

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
                used = self.evaluator.used
                self._evaluate(ind, generation)
                st["evaluations"] += 1
                if bar is not None:
                    bar.update(self.evaluator.used - used)
            st["pos"] += 1
            self._save_state()

    def _report(self, callback) -> bool | None:
        pop = self.state["population"]
        fits = [ind.fitness.values[0] for ind in pop]
        metrics = {"train/generation": self.state["generation"],
                   "train/simulations": self.evaluator.used,
                   "train/best_fitness": self.state["hof"][0].fitness.values[0],
                   "train/mean_fitness": float(np.mean(fits))}
        if self.verbose >= 2:
            log.info("%s generation %d: %s", self.method, self.state["generation"], metrics)
        return callback(metrics) if callback is not None else None

    # -- checkpoints -----------------------------------------------------------------------------
    def _save_state(self) -> None:
        evaluator = self.evaluator.state_dict()
        if self._checkpoint_path is not None:
            self._write_checkpoint(evaluator)
        # Only once the checkpoint is on disk is it what an interrupted run returns to.
        self._saved = evaluator

    def _last_checkpoint(self) -> dict[str, Any]:
        """The evaluator state of the checkpoint a resume would start from. The file on disk
        decides: an interrupt can fall between writing it and noting it in memory."""
        if self._checkpoint_path is not None and self._checkpoint_path.exists():
            return load_checkpoint(self._checkpoint_path)["evaluator"]
        return self._saved

    def _write_checkpoint(self, evaluator: dict[str, Any]) -> None:
        st = self.state
        env_rng = self._env_rng_state()
        packed = {k: v for k, v in st.items() if k not in ("population", "offspring", "hof")}
        packed.update(
            population=[self._pack_with_fitness(i) for i in st["population"]],
            offspring=None if st["offspring"] is None
            else [self._pack_with_fitness(i) for i in st["offspring"]],
            hof=[self._pack_with_fitness(i) for i in st["hof"]],
            py_random=(random.getstate() if self._random_live else self.random.getstate()),
            np_random=self.rng.bit_generator.state,
            env_rng=env_rng, env_seed=self.env_seed, simulations=evaluator["used"],
            wall_seconds=self._elapsed(), identity=self._identity(),
            evaluator=evaluator,
        )
        save_checkpoint(self._checkpoint_path, packed)

    def _elapsed(self) -> float:
        """Seconds of this run so far, earlier invocations included."""
        return self._wall_before + time.perf_counter() - self._started

    def _env_rng_state(self) -> dict[str, Any] | None:
        """The env's RNG state, or None before its first reset (Gymnasium creates the
        Generator on first use, and reading ``np_random`` would create one)."""
        if self.env_seed is not None:
            return None
        return self.env.unwrapped.np_random.bit_generator.state

    def _pack_with_fitness(self, ind) -> tuple[Any, tuple | None]:
        return self._pack(ind), (ind.fitness.values if ind.fitness.valid else None)

    def _unpack_with_fitness(self, item: tuple[Any, tuple | None]):
        ind = self._unpack(item[0])
        if item[1] is not None:
            ind.fitness.values = item[1]
        return ind

    def _identity(self) -> dict[str, Any]:
        """What a checkpoint belongs to: the plant, the instance and the hyperparameters."""
        base = self.env.unwrapped
        source = getattr(base, "source", None)
        if source is not None and not source.single:
            return {"plant": self.plant.name, "instance": source.text, "orders": None,
                    "hparams": dict(self.hparams)}
        return {"plant": self.plant.name, "instance": base.instance.name,
                "orders": base.instance.n, "hparams": dict(self.hparams)}

    def _restore(self, packed: dict[str, Any]) -> None:
        saved, now = packed.get("identity"), self._identity()
        if saved is not None and isinstance(saved.get("hparams"), dict):
            # A hyperparameter added since the checkpoint was written is taken to have had
            # its default then (the behaviour before it existed).
            defaults = self._defaults()
            old = saved["hparams"]
            saved = {**saved, "hparams": {**{k: defaults[k] for k in now["hparams"]
                                              if k not in old and k in defaults}, **old}}
        if saved is not None and saved != now:
            diff = [k for k in now if saved.get(k) != now[k]]
            raise ValueError(f"the checkpoint belongs to another run ({', '.join(diff)} "
                             f"differ: checkpoint {[saved.get(k) for k in diff]}, now "
                             f"{[now[k] for k in diff]}); allowed: resume with the run's "
                             "own configuration")
        st = dict(packed)
        st["population"] = [self._unpack_with_fitness(i) for i in packed["population"]]
        st["offspring"] = (None if packed["offspring"] is None
                           else [self._unpack_with_fitness(i) for i in packed["offspring"]])
        hof = tools.HallOfFame(1)
        hof.update([self._unpack_with_fitness(i) for i in packed["hof"]])
        st["hof"] = hof
        self.random = random.Random()
        self.random.setstate(packed["py_random"])
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = packed["np_random"]
        if packed.get("env_rng") is not None:
            env_rng = np.random.Generator(np.random.PCG64())
            env_rng.bit_generator.state = packed["env_rng"]
            self.env.unwrapped.np_random = env_rng
        self.env_seed = packed["env_seed"]
        st.setdefault("rotation_key", _rotation_key(self.hparams["seed"]))
        self.state = st

    def _defaults(self) -> dict[str, Any]:
        """The defaults of the trainer's keyword hyperparameters."""
        import inspect

        return {n: p.default for n, p in inspect.signature(type(self).__init__).parameters.items()
                if p.default is not inspect.Parameter.empty}

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
        return self.evaluator.used

    @property
    def nominal_simulations(self) -> int:
        """The paper's count: generations x population x episodes per evaluation."""
        hp = self.hparams
        episodes = hp.get("episodes_per_evaluation", 1)
        return self.state["generation"] * hp["population_size"] * episodes
