"""The method registry: every method is ``method(problem, budget, seed, run_dir, **hparams)``.

:func:`run_method` is the one way to run a method, used by ``scmgym train``, ``scmgym compare``
and the Python API alike. Its lifecycle, the same for every method:

1. validate the method, the plant and the budget; write ``config.json`` (everything needed to
   rerun) in the run directory;
2. call the method's adapter, which runs the method with one
   :class:`~scmgym.core.BudgetedEvaluator` (the budget and the one ``history.csv``, written as
   it goes) and returns a :class:`~scmgym.core.RunResult` whose ``policy`` is what the method
   returns to act with: a tree (ELDT, GP), a plan (every schedule-as-a-whole method), or an SB3
   model (PPO, saved as ``model.zip``);
3. write ``policy.json`` (and ``tree.txt`` for trees), evaluate the policy over fresh episodes
   of the re-evaluation seed stream (``evaluation.json``; reused when it is already there), and
   write ``result.json``; a finished run keeps no checkpoint.

An interrupted run (Ctrl-C, SIGTERM) raises :class:`~scmgym.errors.RunInterrupted` after
writing its best policy so far; it writes no ``result.json``, so it is not taken as finished.

>>> sorted(METHODS)
['aco', 'edd', 'eldt', 'ga', 'gp', 'ils', 'milp', 'oracle', 'ppo', 'random', 'tpe']
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scmgym import __version__
from scmgym.core import BudgetedEvaluator, Problem, RunResult
from scmgym.core.io import jsonable, write_json
from scmgym.core.registry import resolve
from scmgym.errors import BudgetExhausted, DataError, RunInterrupted

Adapter = Callable[..., RunResult]


@dataclass(frozen=True)
class MethodSpec:
    """A registered method.

    Attributes:
        name: its name in commands and run directories.
        adapter: ``adapter(problem, budget, seed, run_dir, **hparams) -> RunResult``.
        kind: ``"policy"`` (learns a policy acting on each order) or ``"schedule"`` (searches
            whole solutions; returns a plan).
        deterministic: its result does not depend on the seed (run once in a comparison).
        plants: the plants it applies to (None: every plant).
        resumable: it checkpoints, so an interrupted run resumes where it stopped; any other
            run is redone from its start.
        summary: one line for help texts.
    """

    name: str
    adapter: Adapter
    kind: str
    summary: str
    deterministic: bool = False
    plants: tuple[str, ...] | None = None
    resumable: bool = False

    def applies_to(self, problem: Problem) -> bool:
        """The method runs on the problem's plant, and, for a schedule method, the problem
        has one instance (a plan is for one instance; a distribution needs a policy)."""
        return ((self.plants is None or problem.plant in self.plants)
                and (self.kind == "policy" or problem.single))


METHODS: dict[str, MethodSpec] = {}


def register_method(name: str, kind: str, summary: str, **options: Any):
    """Decorator: register an adapter under ``name`` (see :class:`MethodSpec`)."""
    def add(adapter: Adapter) -> Adapter:
        METHODS[name] = MethodSpec(name, adapter, kind, summary, **options)
        return adapter

    return add


def split_variant(label: str, hparams: dict[str, Any] | None = None
                  ) -> tuple[str, dict[str, Any]]:
    """A suite's method entry -> (registered method, its hyperparameters). A variant is a
    label whose table names its method (``[methods.eldt-strong]`` with ``method = "eldt"``);
    any other label is the method itself."""
    hp = dict(hparams or {})
    return str(hp.pop("method", label)), hp


def get_method(name: str) -> MethodSpec:
    try:
        return METHODS[name]
    except KeyError:
        raise DataError("unknown method", value=name,
                        allowed=", ".join(METHODS)) from None


# -- schedule-as-a-whole methods ------------------------------------------------------------------


def _history_path(run_dir: Path | None) -> Path | None:
    return None if run_dir is None else Path(run_dir) / "history.csv"


def run_with_budget(method: str, problem: Problem, budget: int, seed: int, fn,
                    history_path: Path | None = None, **hparams: Any) -> RunResult:
    """Run a schedule-as-a-whole method ``fn(evaluator, seed, **hparams)`` until it returns or
    the budget is spent; its outcome is the best solution found, as a plan."""
    from scmgym.policies import PlanPolicy

    evaluator = BudgetedEvaluator(problem, budget, seed=seed, history_path=history_path)
    start = time.perf_counter()
    extra: dict[str, Any] = {}
    status = "done"  # the method's own schedule ended
    try:
        extra = fn(evaluator, seed, **hparams) or {}
    except BudgetExhausted:
        status = "budget"
    finally:
        evaluator.close()
    plan = (None if evaluator.best_solution is None
            else PlanPolicy(evaluator.best_solution, {"method": method}).to_dict())
    return RunResult(method=method, problem=problem.label, seed=seed,
                     best_value=evaluator.best_value, best_solution=evaluator.best_solution,
                     simulations=evaluator.used, wall_seconds=time.perf_counter() - start,
                     history=evaluator.rows, policy=plan,
                     extra={"hparams": jsonable(hparams), "status": status,
                            **jsonable(extra)})


def _schedule_method(name: str, summary: str, target: str, **options: Any) -> None:
    """Register a baseline ``module:function`` taking ``(evaluator, seed, **hparams)``."""
    def adapter(problem: Problem, budget: int, seed: int, run_dir: Path | None = None,
                **hparams: Any) -> RunResult:
        fn = resolve(target)  # the baselines are imported on first use
        return run_with_budget(name, problem, budget, seed, fn, _history_path(run_dir),
                               **hparams)

    adapter.target = target  # type: ignore[attr-defined]  (its hyperparameters are checked)
    register_method(name, "schedule", summary, **options)(adapter)


_schedule_method("random", "uniformly random solutions", "scmgym.baselines.simple:random_search")
_schedule_method("edd", "earliest due date first (one simulation)",
                 "scmgym.baselines.simple:edd_greedy", plants=("hfs",), deterministic=True)
_schedule_method("tpe", "Optuna's TPE sampler", "scmgym.baselines.simple:optuna_tpe")
_schedule_method("ga", "genetic algorithm (DEAP operators)",
                 "scmgym.baselines.ga:genetic_algorithm")
_schedule_method("aco", "ant colony system", "scmgym.baselines.aco:ant_colony")
_schedule_method("ils", "iterated local search (swap / insert / flip moves, kicks)",
                 "scmgym.baselines.local_search:local_search")


@register_method("oracle", "schedule", "make-or-buy reference: a dynamic programme over expected "
                 "processing times that observes the plant time (not a fixed plan)",
                 deterministic=True, plants=("make-or-buy",))
def run_oracle(problem: Problem, budget: int, seed: int, run_dir: Path | None = None, *,
               durations: str = "simulated", samples: int = 30, grid: float = 1.0
               ) -> RunResult:
    """The make-or-buy reference policy (:mod:`scmgym.policies.oracle`): built from the order
    list without simulating, then played once (its history row); the comparison judges it over
    fresh seeds like every method's outcome. It reads the plant time at every order, which a
    plan decided in advance cannot: it is the "best-known" reference, not a competitor. Its
    duration samples are simulations outside the budget (30 x n by default): it is not a
    search under the study's budget."""
    from scmgym.policies.base import run_episode
    from scmgym.policies.oracle import OraclePolicy

    start = time.perf_counter()
    policy = OraclePolicy.for_instance(problem.instance, durations=durations, samples=samples,
                                       grid=grid, engine=problem.engine)
    evaluator = BudgetedEvaluator(problem, budget, seed=seed,
                                  history_path=_history_path(run_dir))
    try:
        env = problem.make_env(**policy.env_kwargs)
        total, info = run_episode(policy, env, seed)
        evaluator.record(float(info["objective"]), info["solution"], episode_return=total)
    finally:
        evaluator.close()
    return RunResult(method="oracle", problem=problem.label, seed=seed,
                     best_value=evaluator.best_value, best_solution=evaluator.best_solution,
                     simulations=evaluator.used, wall_seconds=time.perf_counter() - start,
                     history=evaluator.rows, policy=policy.to_dict(),
                     extra={"hparams": {"durations": durations, "samples": samples,
                                        "grid": grid}, "status": "done"})


# -- policy-learning methods ----------------------------------------------------------------------


def expand_preset(method: str, hparams: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters with a ``preset`` name replaced by the tree trainer's preset values
    (``PRESETS`` of the trainer class; the values given beside it win). Other methods keep
    ``preset`` as it is: PPO takes it as its own argument, and a method without one names it
    as an unknown hyperparameter."""
    target = getattr(get_method(method).adapter, "trainer", None)
    if "preset" not in hparams or target is None:
        return dict(hparams)
    rest = dict(hparams)
    name = rest.pop("preset")
    presets = getattr(resolve(target), "PRESETS", {})
    if name not in presets:
        raise DataError(f"{method} has no preset {name!r}", value=name,
                        allowed=", ".join(presets))
    return {**presets[name], **rest}


def _tree_trainer(name: str, target: str, summary: str) -> None:
    def adapter(problem: Problem, budget: int, seed: int, run_dir: Path | None = None, *,
                resume: bool = False, verbose: int = 0, env_kwargs: dict | None = None,
                **hparams: Any) -> RunResult:
        env_kwargs = dict(env_kwargs or {})
        hparams = expand_preset(name, hparams)
        trainer = resolve(target)(problem.make_env(**env_kwargs), seed=seed, verbose=verbose,
                                  **hparams)
        trainer.learn(budget=budget, run_dir=run_dir, resume=resume)
        ev = trainer.evaluator
        policy = trainer.policy
        result = RunResult(
            method=name, problem=problem.label, seed=seed, best_value=ev.best_value,
            best_solution=ev.best_solution, simulations=ev.used,
            wall_seconds=trainer.wall_seconds, history=ev.rows,
            policy=None if policy is None else {**policy.to_dict(), "env_kwargs": env_kwargs},
            extra={"hparams": jsonable(trainer.hparams), "status": trainer.state["status"],
                   "generations": trainer.state["generation"],
                   "nominal_simulations": trainer.nominal_simulations})
        if trainer.interrupted:
            raise RunInterrupted(f"{name} seed {seed} interrupted", run_dir=run_dir,
                                 partial=result)
        return result

    adapter.trainer = target  # type: ignore[attr-defined]  (validated before a run starts)
    register_method(name, "policy", summary, resumable=True)(adapter)


_tree_trainer("eldt", "scmgym.trainers.eldt:ELDT",
              "evolutionary learning of decision trees (GE + Q-learned leaves)")
_tree_trainer("gp", "scmgym.trainers.gp:GPTrainer", "strongly typed genetic programming (DEAP)")


@register_method("ppo", "policy", "proximal policy optimisation (stable-baselines3)")
def run_ppo(problem: Problem, budget: int, seed: int, run_dir: Path | None = None, *,
            verbose: int = 0, **hparams: Any) -> RunResult:
    """PPO on the study's RL variant of the plant's env; every finished training episode is
    recorded by the trainer's budgeted evaluator. ``best_value`` is the best training episode
    (what the study logged); the returned policy is the final model, saved as ``model.zip``."""
    from scmgym.trainers.ppo import PPOTrainer

    # One torch thread unless --hp torch_threads says otherwise (the trainer's default):
    # parallel runs share the cores.
    env_kwargs = dict(problem.spec.rl_env_kwargs)
    trainer = PPOTrainer(problem.make_env(**env_kwargs), seed=seed, verbose=verbose, **hparams)
    trainer.learn(budget, history_path=_history_path(run_dir))
    trainer.evaluator.close()
    if trainer.interrupted:  # Ctrl-C / SIGTERM: not a finished run (no model, no result)
        raise RunInterrupted(f"ppo seed {seed} interrupted", run_dir=run_dir)
    # Without a run directory the model is not saved (no file) but is still the policy, on
    # the env variant it was trained on.
    policy = {"format": "scmgym-policy", "kind": "sb3-ppo", "file": None,
              "env_kwargs": env_kwargs}
    if run_dir is not None:
        trainer.save(Path(run_dir) / "model.zip")
        policy["file"] = "model.zip"
    ev = trainer.evaluator
    result = RunResult(
        method="ppo", problem=problem.label, seed=seed, best_value=ev.best_value,
        best_solution=ev.best_solution, simulations=ev.used, wall_seconds=trainer.wall_seconds,
        history=ev.rows, policy=policy,
        extra={"hparams": jsonable(trainer.hparams), "env_kwargs": jsonable(env_kwargs),
               "best_training_episode_seed": trainer.best_training_episode_seed,
               "timesteps": int(trainer.model.num_timesteps)})
    result.policy_object = trainer.model  # evaluated without a reload; never saved
    return result


@register_method("milp", "schedule", "MILP (Pyomo + HiGHS): HFS relaxation bound and order, "
                 "make-or-buy surrogate plan", deterministic=True)
def run_milp(problem: Problem, budget: int, seed: int, run_dir: Path | None = None, *,
             time_limit: float = 300.0) -> RunResult:
    """The MILP baseline as a run. HFS: the relaxation's bound, and the best of the orders read
    off it in simulation; make-or-buy: the mean-surrogate plan, simulated once (the comparison
    re-evaluates it over fresh seeds). The solver's status, objective, bound and times go to
    ``extra``; the simulations go through the budgeted evaluator like every method's."""
    from scmgym.baselines.milp import SolverOptions
    from scmgym.policies import PlanPolicy

    options = SolverOptions(time_limit=time_limit, threads=1)
    evaluator = BudgetedEvaluator(problem, budget, seed=seed,
                                  history_path=_history_path(run_dir))
    start = time.perf_counter()
    solver = MILP_SOLVERS.get(problem.plant)
    if solver is None:
        raise DataError("the MILP method has no model of this plant", value=problem.plant,
                        allowed=", ".join(MILP_SOLVERS))
    try:
        extra = solver(problem, options, evaluator)
    finally:
        evaluator.close()
    plan = (None if evaluator.best_solution is None
            else PlanPolicy(evaluator.best_solution, {"method": "milp"}).to_dict())
    return RunResult(method="milp", problem=problem.label, seed=seed,
                     best_value=evaluator.best_value, best_solution=evaluator.best_solution,
                     simulations=evaluator.used, wall_seconds=time.perf_counter() - start,
                     history=evaluator.rows, policy=plan,
                     extra={"hparams": {"time_limit": time_limit}, **jsonable(extra)})


def _milp_hfs(problem: Problem, options, evaluator: BudgetedEvaluator) -> dict[str, Any]:
    from scmgym.baselines.milp.hfs import solve_hfs

    res = solve_hfs(problem.instance, problem.workers, options=options, simulate=evaluator)
    return {k: v for k, v in res.to_dict().items() if k not in ("order", "workers")}


def _milp_make_or_buy(problem: Problem, options, evaluator: BudgetedEvaluator) -> dict[str, Any]:
    from scmgym.baselines.milp.make_or_buy import solve_make_or_buy

    res = solve_make_or_buy(problem.instance, options=options, eval_seeds=0)
    if res.decisions is not None:
        evaluator(list(res.decisions))
    return {k: v for k, v in res.to_dict().items() if k != "decisions"}


#: The MILP model of each plant: ``solver(problem, options, evaluator) -> extra``.
MILP_SOLVERS = {"hfs": _milp_hfs, "make-or-buy": _milp_make_or_buy}


# -- the runner -----------------------------------------------------------------------------------


def load_run_policy(run_dir: Path, policy: dict[str, Any]):
    """The policy object of a run directory's ``policy`` data (tree, plan or SB3 model)."""
    if policy.get("kind") == "sb3-ppo":
        from stable_baselines3 import PPO

        return PPO.load(Path(run_dir) / policy["file"], device="cpu")
    from scmgym.policies import policy_from_dict

    return policy_from_dict(policy)


def evaluate_run(run_dir: Path | None, result: RunResult, problem: Problem,
                 n_episodes: int, policy_object=None) -> dict[str, Any] | None:
    """The run's returned policy over ``n_episodes`` fresh episodes (re-evaluation stream),
    saved as ``evaluation.json`` and reused when it is already there for the same episodes.

    On a stochastic plant the best training episode's whole solution is re-evaluated too
    (``best_solution_mean``): the luckiest draw of the search, shown beside the policy."""
    from scmgym.policies import PlanPolicy, evaluate

    if n_episodes < 1 or (result.policy is None and result.best_solution is None):
        return None
    # A run that ended before it produced a policy (a budget smaller than one generation)
    # is judged by its best episode's solution, and says so ("policy": "plan").
    data = result.policy or PlanPolicy(result.best_solution).to_dict()
    digest = policy_digest(run_dir, data, result.best_solution)
    path = None if run_dir is None else Path(run_dir) / "evaluation.json"
    if path is not None and path.is_file():
        saved = json.loads(path.read_text())
        if (saved.get("n_episodes"), saved.get("stream"), saved.get("policy_digest")) == \
                (n_episodes, "reevaluation", digest):
            return saved
    policy = (policy_object if policy_object is not None
              else load_run_policy(run_dir, data))
    env_kwargs = data.get("env_kwargs")
    evaluation = evaluate(policy, problem, n_episodes, env_kwargs=env_kwargs)
    evaluation["policy"] = data.get("kind")
    evaluation["policy_digest"] = digest
    if problem.stochastic and problem.single and result.best_solution is not None:
        if isinstance(policy, PlanPolicy) and policy.solution == result.best_solution:
            evaluation["best_solution_mean"] = evaluation["mean"]
        else:
            again = evaluate(PlanPolicy(result.best_solution), problem, n_episodes)
            evaluation["best_solution_mean"] = again["mean"]
    if path is not None:
        write_json(path, evaluation)
    return evaluation


def policy_digest(run_dir: Path | None, policy: dict[str, Any],
                  best_solution: list[int] | None) -> str:
    """A fingerprint of what an evaluation judged: the policy data (and the model file it
    names) and the best solution; a saved evaluation is reused only for the same one."""
    h = hashlib.sha256(json.dumps([policy, best_solution], sort_keys=True).encode())
    if run_dir is not None and policy.get("file"):
        model = Path(run_dir) / policy["file"]
        if model.is_file():  # the weights, not the archive (which holds times and paths)
            import zipfile

            with zipfile.ZipFile(model) as archive:
                names = [n for n in archive.namelist() if n.endswith(".pth")]
                for name in sorted(names):
                    h.update(archive.read(name))
    return h.hexdigest()[:16]


def check_method(method: str, problem: Problem, budget: int,
                 hparams: dict[str, Any] | None = None) -> MethodSpec:
    """Everything about a run that can be checked before it starts: the method exists and
    applies to the plant, the budget is positive, and a trainer accepts the hyperparameters and
    the budget (it is built once, which is cheap)."""
    spec = get_method(method)
    if not spec.applies_to(problem):
        if spec.plants is not None and problem.plant not in spec.plants:
            raise DataError(f"method {method!r} does not apply to this plant",
                            value=problem.plant, allowed=", ".join(spec.plants or ()))
        policy_methods = ", ".join(n for n, m in METHODS.items() if m.kind == "policy")
        raise DataError(f"method {method!r} searches one schedule for one instance, but the "
                        "problem is a distribution of instances", value=problem.name,
                        allowed=f"a single dataset, or a policy method ({policy_methods})")
    if not (isinstance(budget, int) and budget >= 1):
        raise DataError("budget must be a positive number of simulations", value=budget)
    hparams = expand_preset(method, hparams or {})
    for attr, skip in (("target", ("ev", "seed")), ("trainer", ("env", "seed", "verbose"))):
        if getattr(spec.adapter, attr, None) is not None:
            _check_names(method, resolve(getattr(spec.adapter, attr)), hparams, skip)
    trainer = getattr(spec.adapter, "trainer", None)
    if trainer is not None:
        hp = dict(hparams)
        built = resolve(trainer)(problem.make_env(**hp.pop("env_kwargs", {})), **hp)
        if budget < built.min_budget():
            raise DataError(f"the budget is too small for {method} to evaluate its initial "
                            "population", value=budget,
                            allowed=f"at least {built.min_budget()} "
                            f"({built.describe_min_budget()})")
    return spec


def _check_names(method: str, fn, hparams: dict[str, Any], skip: tuple[str, ...]) -> None:
    """Hyperparameter names a method's function or class does not take are an error."""
    import inspect

    names = [n for n in inspect.signature(fn).parameters if n not in skip]
    unknown = sorted(set(hparams) - set(names) - {"env_kwargs"})
    if unknown:
        raise DataError(f"{method} has no hyperparameter {', '.join(unknown)}",
                        allowed=", ".join(names) or "none")


def config_of(method: str, problem: Problem, budget: int, seed: int,
              hparams: dict[str, Any], eval_episodes: int) -> dict[str, Any]:
    """What ``config.json`` holds: everything :func:`run_method` needs to redo the run."""
    return {"scmgym_version": __version__, "method": method, "problem": problem.to_dict(),
            "label": problem.label, "budget": budget, "seed": seed,
            "hparams": jsonable(hparams), "eval_episodes": eval_episodes,
            "engine": problem.engine}


#: What :func:`run_method` writes in a run directory besides ``config.json``, ``history.csv``
#: and the checkpoint (removed first when a run is redone or resumed in its directory).
OUTPUTS = ("result.json", "policy.json", "tree.txt", "tree.png", "evaluation.json",
           "convergence.png", "model.zip")


def run_method(method: str, problem: Problem, budget: int, seed: int = 0,
               run_dir: str | Path | None = None, *, eval_episodes: int = 100,
               resume: bool = False, verbose: int = 0, **hparams: Any) -> RunResult:
    """Run one method on one problem with one seed (see the module docstring's lifecycle).

    Args:
        method: a registered method name.
        problem: the problem.
        budget: the most real simulations.
        seed: the run's seed.
        run_dir: the run directory (created if missing); None keeps everything in memory.
        eval_episodes: fresh episodes of the returned policy's evaluation (0: none).
        resume: continue a checkpointed run in ``run_dir`` (resumable methods); any other
            method reruns from its start.
        verbose: 0 silent, 1 a progress bar where the method has one.
        **hparams: the method's hyperparameters.

    Returns:
        The run's :class:`~scmgym.core.RunResult` with ``evaluation`` filled in.
    """
    spec = check_method(method, problem, budget, hparams)
    if not (isinstance(eval_episodes, int) and eval_episodes >= 0):
        raise DataError("eval_episodes must be an integer >= 0", value=eval_episodes)
    run_dir = None if run_dir is None else Path(run_dir)
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / "config.json",
                   config_of(method, problem, budget, seed, hparams, eval_episodes))
        stale = OUTPUTS if resume else OUTPUTS + ("checkpoint.pkl", "history.csv")
        for name in stale:  # a run redone in its directory leaves nothing of the old one
            (run_dir / name).unlink(missing_ok=True)
    kwargs = dict(hparams)
    if spec.kind == "policy":
        kwargs["verbose"] = verbose
    if spec.resumable:
        kwargs["resume"] = resume
    try:
        result = spec.adapter(problem, budget, seed, run_dir, **kwargs)
    except RunInterrupted as exc:
        if run_dir is not None and exc.partial is not None:
            _write_policy(run_dir, exc.partial, problem)
        raise
    result.extra["budget"] = budget
    result.extra["settings"] = problem.settings
    if run_dir is not None:
        _write_policy(run_dir, result, problem)
    result.evaluation = evaluate_run(run_dir, result, problem, eval_episodes,
                                     getattr(result, "policy_object", None))
    if run_dir is not None:
        from scmgym.plots import convergence_plot

        convergence_plot(result.history, run_dir / "convergence.png",
                         f"{problem.label} {method} seed {seed}", problem.objective.name)
        result.save(run_dir)
        (run_dir / "checkpoint.pkl").unlink(missing_ok=True)
    return result


def _coverage_observations(policy, env, problem: Problem) -> tuple[list, str]:
    """The observations a tree's leaf coverage counts, and what they are: the instance's
    orders when the observation does not depend on the actions (the study's), else the
    observations the policy meets in one episode (re-evaluation seed 0; e.g. make-or-buy's
    extended observation, whose plant time depends on the decisions)."""
    from scmgym.core.seeds import stream_seed

    obs, _ = env.reset(seed=stream_seed("reevaluation", 0))
    base = env.unwrapped
    if getattr(base, "open_loop_observations", lambda: None)() is not None:
        return problem.spec.observations(env), "orders of the instance, dataset order"
    seen, done = [], False
    while not done:
        seen.append(obs.tolist())
        obs, _, terminated, truncated, _ = env.step(policy.action(seen[-1]))
        done = terminated or truncated
    return seen, "orders of one episode, re-evaluation seed 0"


def _write_policy(run_dir: Path, result: RunResult, problem: Problem) -> None:
    """``policy.json`` and, for a tree, ``tree.txt`` (the tree, simplified, leaf coverage)."""
    from scmgym.policies import TreePolicy, policy_from_dict

    if result.policy is None:
        return
    write_json(run_dir / "policy.json", result.policy)
    policy = policy_from_dict(result.policy) if result.policy.get("kind") != "sb3-ppo" else None
    if isinstance(policy, TreePolicy):
        simple = policy.simplify()
        env = problem.make_env(**(result.policy.get("env_kwargs") or {}))
        observations, where = _coverage_observations(simple, env, problem)
        coverage = simple.leaf_coverage(observations)
        lines = ["# Best tree", policy.to_text(), "", "# Simplified (same decisions)",
                 simple.to_text(), "", f"# Leaf coverage ({where})"]
        lines += [f"leaf {c['leaf']}: {c['action_name']:<12} {c['count']} orders"
                  for c in coverage]
        (run_dir / "tree.txt").write_text("\n".join(lines) + "\n")
        simple.render_png(run_dir / "tree.png",
                          title=f"{problem.label} {result.method} seed {result.seed}")
