"""``scmgym train METHOD``: run any registered method once and write its run directory.

Every method (random, edd, tpe, ga, aco, eldt, gp, ppo, milp) goes through
:func:`scmgym.experiments.methods.run_method`, so the run directory
``<out>/<problem>__<method>__s<seed>__<timestamp>/`` has the same files whichever method or
command made it: ``config.json``, ``history.csv`` (one row per simulation, written as the run
goes), ``policy.json`` (a tree, a plan or a model reference; ``tree.txt`` and ``tree.png`` for
trees), ``evaluation.json`` (the policy over fresh episodes), ``convergence.png`` and
``result.json``; ``checkpoint.pkl`` only while a resumable run (ELDT, GP) is unfinished.
``--resume DIR`` continues such a run from its checkpoint.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from scmgym.core import PLANTS, Problem, get_plant
from scmgym.core.io import make_run_dir
from scmgym.errors import DataError, RunInterrupted, ScmgymError
from scmgym.experiments.methods import METHODS, check_method, get_method, run_method

EXIT_INTERRUPTED = 130

#: Named flags -> (hyperparameter, methods that take it).
_FLAGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "generations": ("generations", ("eldt", "gp", "ga", "aco")),
    "population": ("population_size", ("eldt", "gp", "ga")),
    "episodes": ("episodes_per_evaluation", ("eldt", "gp")),
    "rotation": ("rotation", ("eldt", "gp")),
    "replacement": ("replacement", ("eldt",)),
    "lamarckian": ("lamarckian", ("eldt",)),
    "max_height": ("max_height", ("gp",)),
    "boolean_ops": ("boolean_ops", ("gp",)),
    "time_limit": ("time_limit", ("milp",)),
    "preset": ("preset", ("eldt", "gp", "ppo")),
    "conditions": ("conditions", ("eldt", "gp")),
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "train", help="run one method once (ELDT, GP, PPO or a baseline) into a run directory",
        description="Run one registered method on a plant under a simulation budget and write a "
        "run directory (config, history, policy, tree, evaluation, plots, result).")
    p.add_argument("method", nargs="?", choices=tuple(METHODS), metavar="METHOD",
                   help=f"one of {', '.join(METHODS)}")
    p.add_argument("--env", choices=tuple(PLANTS), default=None,
                   help="plant (default make-or-buy)")
    p.add_argument("--dataset", "--list", dest="dataset", default=None,
                   help="bundled dataset or a path (default: the plant's first, d1 or list1; "
                   "--list is an alias); for eldt, gp and ppo also a distribution: a comma "
                   "list (list1,list2) or a generator split (generated:train, "
                   "generated(n=200):train:100)")
    p.add_argument("--workers", default=None, help="HFS worker pools M,E,R (2,5,2)")
    p.add_argument("--engine", choices=("fast", "simpy"), default=None,
                   help="simulator engine: fast (compiled, default) or simpy (the reference "
                   "models); both give the same results for the same seed (with --resume: "
                   "the run's engine unless given)")
    p.add_argument("--levels", type=int, default=None,
                   help="HFS priority levels L of the tree methods' env (default 5)")
    p.add_argument("--observation", choices=("paper", "extended", "relative"), default=None,
                   help="the policy's observation: paper (the study's, default), extended "
                   "(make-or-buy: + deadline, plant time, slack) or relative (HFS: + slack, "
                   "due rank, load, remaining share)")
    p.add_argument("--budget", type=int, default=None,
                   help="most real simulations (default 5000; with --resume: the run's budget, "
                   "or a larger one to extend it)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    p.add_argument("--out", type=Path, default=None, help="parent folder (runs/)")
    p.add_argument("--generations", type=int, default=None,
                   help="generations (ELDT, GP, GA, ACO; default: published)")
    p.add_argument("--population", type=int, default=None,
                   help="population size (ELDT, GP, GA; default: published)")
    p.add_argument("--episodes", type=int, default=None,
                   help="ELDT, GP: episodes per fitness evaluation (default 5 and 1)")
    p.add_argument("--rotation", choices=("episode", "generation"), default=None,
                   help="ELDT, GP on a distribution: each episode draws its instance "
                   "(episode, default) or a generation's individuals play the same ones "
                   "(generation)")
    p.add_argument("--replacement", choices=("slotwise", "parents"), default=None,
                   help="ELDT: slotwise (faithful, default) or parents")
    p.add_argument("--lamarckian", action="store_true", default=None,
                   help="ELDT: offspring inherit their parent's Q-tables")
    p.add_argument("--max-height", type=int, default=None, help="GP: static height limit")
    p.add_argument("--boolean-ops", action="store_true", default=None,
                   help="GP make-or-buy: add and/or/not primitives")
    p.add_argument("--time-limit", type=float, default=None, help="MILP: solver seconds (300)")
    p.add_argument("--preset", choices=("paper", "strong", "fast"), default=None,
                   help="ELDT, GP: the study's settings (paper, default) or the ones that "
                   "measure best (strong: docs/trainers.md); PPO: paper or fast "
                   "(docs/ppo.md); other flags override a preset")
    p.add_argument("--conditions", choices=("constant", "pairs"), default=None,
                   help="ELDT, GP: conditions against constants (default) or also between "
                   "two features of the same unit (pairs; needs --observation extended or "
                   "relative)")
    p.add_argument("--hp", action="append", default=[], metavar="NAME=VALUE",
                   help="any other hyperparameter of the method (VALUE read as JSON, else as "
                   "text); repeatable")
    p.add_argument("--eval-episodes", type=int, default=None,
                   help="fresh episodes for the final evaluation of the returned policy (20)")
    p.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR from its last checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def check_resumable(run_dir: Path, method: str, budget: int) -> None:
    """Refuse, before anything is written, a resume that could not continue the run."""
    from scmgym.core.io import load_checkpoint

    if (run_dir / "result.json").is_file():
        raise DataError("the run is finished; a finished run keeps no checkpoint to continue",
                        source=str(run_dir), allowed="an interrupted run directory (start a "
                        "new run for a larger budget)")
    checkpoint = run_dir / "checkpoint.pkl"
    if not get_method(method).resumable or not checkpoint.is_file():
        return  # nothing to continue: run_method redoes the run from its start
    try:
        state = load_checkpoint(checkpoint)
        used = int(state["evaluator"]["used"])
    except Exception as exc:  # a damaged or foreign file, whatever pickle says about it
        raise DataError(f"the checkpoint cannot be read ({type(exc).__name__}: {exc})",
                        source=str(checkpoint), allowed="the checkpoint.pkl of an "
                        "interrupted run (delete the run directory to start again)") from None
    if budget < used:
        raise DataError(f"--budget is below the {used} simulations the run has done",
                        value=budget, allowed=f"at least {used}")


def _hparams(args: argparse.Namespace) -> dict[str, Any]:
    hp: dict[str, Any] = {}
    for flag, (name, methods) in _FLAGS.items():
        value = getattr(args, flag)
        if value is None:
            continue
        if args.method not in methods:
            raise DataError(f"--{flag.replace('_', '-')} does not apply to {args.method}",
                            allowed="methods " + ", ".join(methods))
        hp[name] = value
    for item in args.hp:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise DataError("--hp takes NAME=VALUE", value=item)
        try:
            hp[name] = json.loads(text)
        except json.JSONDecodeError:
            hp[name] = text
    for flag, key in (("levels", "priority_levels"), ("observation", "observation")):
        value = getattr(args, flag)
        if value is None:
            continue
        if get_method(args.method).kind != "policy":
            raise DataError(f"--{flag} applies to the policy methods", value=args.method)
        hp["env_kwargs"] = {**hp.get("env_kwargs", {}), key: value}
    return hp


#: The options that define a new run: refused with --resume, which takes only --budget and
#: --no-progress (everything else comes from the run's config.json).
_TRAIN_FLAGS = ("method", "env", "dataset", "workers", "levels", "observation", "seed", "out",
                "generations", "population", "episodes", "rotation", "replacement",
                "lamarckian", "max_height", "boolean_ops", "time_limit", "preset", "conditions",
                "hp", "eval_episodes")
#: --engine may be given with --resume: the engines give the same results.


def run(args: argparse.Namespace) -> int:
    resume = args.resume is not None
    if resume:
        cfg_path = args.resume / "config.json"
        if not cfg_path.is_file():
            raise DataError("not a run directory (no config.json)", source=str(args.resume))
        given = [name for name, value in vars(args).items()
                 if name in _TRAIN_FLAGS and value not in (None, [])]
        if given:
            raise DataError(f"--resume continues a run as its config.json says; "
                            f"{', '.join('--' + g.replace('_', '-') for g in given)} cannot "
                            "change it",
                            allowed="--resume DIR [--budget N] [--engine E] [--no-progress]")
        config = json.loads(cfg_path.read_text())
        if not isinstance(config.get("problem"), dict) or config.get("method") not in METHODS:
            raise DataError("config.json is not a run configuration of this scmgym version",
                            source=str(cfg_path), column="problem",
                            allowed="a run directory written by scmgym train or compare")
        method, problem = config["method"], Problem.from_dict(config["problem"])
        problem = problem.with_engine(args.engine or config.get("engine", "fast"))
        budget = config["budget"] if args.budget is None else args.budget
        seed, hparams, eval_episodes = config["seed"], config["hparams"], config["eval_episodes"]
        run_dir = args.resume
        check_resumable(run_dir, method, budget)
    else:
        if args.method is None:
            raise DataError("a method is required", allowed=", ".join(METHODS)
                            + " (or --resume RUN_DIR)")
        if args.budget is not None and args.budget < 1:
            raise DataError("--budget must be positive", value=args.budget,
                            allowed="a positive number of simulations")
        seed = 0 if args.seed is None else args.seed
        eval_episodes = 20 if args.eval_episodes is None else args.eval_episodes
        method, plant = args.method, args.env or "make-or-buy"
        spec = get_plant(plant)
        problem = Problem(plant, args.dataset or spec.default_dataset, args.workers,
                          args.engine or "fast")
        budget = spec.default_budget if args.budget is None else args.budget
        hparams = _hparams(args)
        run_dir = None
    verbose = 0 if args.no_progress or not sys.stderr.isatty() else 1
    if run_dir is None:
        check_method(method, problem, budget, hparams)
        run_dir = make_run_dir(args.out or Path("runs"), problem.name, method, seed)
    try:
        result = run_method(method, problem, budget, seed, run_dir, eval_episodes=eval_episodes,
                            resume=resume, verbose=verbose, **hparams)
    except (ValueError, ScmgymError):
        # Refused before its first simulation (a hyperparameter the method itself checks):
        # a new run directory holding only its config is removed, so nothing half-made stays.
        history = run_dir / "history.csv"
        started = history.exists() and len(history.read_text().splitlines()) > 1
        if not resume and not started:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    except RunInterrupted:
        print(f"run directory: {run_dir}")
        print(f"\ninterrupted; continue with: scmgym train --resume {run_dir}")
        return EXIT_INTERRUPTED
    objective = problem.objective
    print(f"run directory: {run_dir}")
    status = result.extra.get("status", "done")
    print(f"status {status}: {result.simulations} simulations, {result.wall_seconds:.1f} s")
    print(f"best {objective} during the run: {result.best_value}")
    ev = result.evaluation
    if ev is not None:
        print(f"returned {ev['policy']} over {ev['n_episodes']} fresh episodes: "
              f"{objective} mean {ev['mean']:.1f} (sd {ev['sd']:.1f})")
    tree = run_dir / "tree.txt"
    if tree.is_file():
        simple = tree.read_text().split("# Simplified (same decisions)\n")[1].split("\n\n")[0]
        print("\nbest tree (simplified):")
        print(simple)
    return 0
