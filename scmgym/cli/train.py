"""``scmgym train eldt|gp``: train a tree policy and write a run directory.

The run directory ``<out>/<problem>__<method>__s<seed>__<timestamp>/`` receives, as the run goes,
``config.json``, ``history.csv`` (one row per simulation) and ``checkpoint.pkl`` (after every
evaluation); at the end (also after Ctrl-C or SIGTERM) ``policy.json``, ``tree.txt``,
``tree.png``, ``convergence.png``, ``evaluation.json`` and ``summary.json``.
``--resume DIR`` continues a run from its checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from scmgym import __version__
from scmgym.errors import DataError
from scmgym.policies import evaluate_policy
from scmgym.trainers import common

EXIT_INTERRUPTED = 130


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "train", help="train an interpretable tree policy (ELDT or GP)",
        description="Train an ELDT (GE + Q-learned leaves) or typed-GP tree policy on a plant "
        "and write a run directory (config, history, policy, tree, plots, evaluation).")
    p.add_argument("method", nargs="?", choices=("eldt", "gp"), help="training method")
    p.add_argument("--env", choices=("make-or-buy", "hfs"), default="make-or-buy",
                   help="plant (default make-or-buy)")
    p.add_argument("--list", default="list1", help="make-or-buy order list or path (list1)")
    p.add_argument("--dataset", default="d1", help="HFS dataset or path (default d1)")
    p.add_argument("--workers", default="2,5,2", help="HFS worker pools M,E,R (2,5,2)")
    p.add_argument("--levels", type=int, default=5, help="HFS priority levels L (default 5)")
    p.add_argument("--budget", type=int, default=None,
                   help="most real simulations (default 5000; with --resume: the run's budget, "
                   "or a larger one to extend it)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", type=Path, default=Path("runs"), help="parent folder (runs/)")
    p.add_argument("--generations", type=int, default=None,
                   help="generations (default: published, ELDT 200, GP 250)")
    p.add_argument("--population", type=int, default=None,
                   help="population size (default: published, ELDT 5, GP 20)")
    p.add_argument("--episodes", type=int, default=None,
                   help="ELDT: episodes per fitness evaluation (default 5)")
    p.add_argument("--replacement", choices=("slotwise", "parents"), default=None,
                   help="ELDT: slotwise (faithful, default) or parents")
    p.add_argument("--lamarckian", action="store_true",
                   help="ELDT: offspring inherit their parent's Q-tables")
    p.add_argument("--max-height", type=int, default=None, help="GP: static height limit")
    p.add_argument("--boolean-ops", action="store_true",
                   help="GP make-or-buy: add and/or/not primitives")
    p.add_argument("--eval-episodes", type=int, default=20,
                   help="fresh episodes for the final evaluation of the best policy (20)")
    p.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR from its last checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def _env_spec(args: argparse.Namespace) -> dict[str, Any]:
    if args.env == "hfs":
        from scmgym.simulators.hfs import Workers

        workers = Workers.parse(args.workers)
        return {"id": "scmgym/HybridFlowShop-v0", "problem": f"hfs:{args.dataset}",
                "kwargs": {"dataset": str(args.dataset), "workers": list(workers),
                           "priority_levels": args.levels}}
    return {"id": "scmgym/MakeOrBuy-v0", "problem": f"make-or-buy:{args.list}",
            "kwargs": {"dataset": str(args.list)}}


def _hparams(args: argparse.Namespace) -> dict[str, Any]:
    hp: dict[str, Any] = {"seed": args.seed}
    if args.generations is not None:
        hp["generations"] = args.generations
    if args.population is not None:
        hp["population_size"] = args.population
    if args.method == "eldt":
        if args.episodes is not None:
            hp["n_episodes"] = args.episodes
        if args.replacement is not None:
            hp["replacement"] = args.replacement
        if args.lamarckian:
            hp["lamarckian"] = True
    else:
        if args.max_height is not None:
            hp["max_height"] = args.max_height
        if args.boolean_ops:
            hp["boolean_ops"] = True
    return hp


def make_env(spec: dict[str, Any]):
    """The env of a run config (unwrapped class, so trainers see its attributes directly)."""
    from scmgym.envs.hfs import HybridFlowShopEnv
    from scmgym.envs.make_or_buy import MakeOrBuyEnv

    cls = HybridFlowShopEnv if spec["id"] == "scmgym/HybridFlowShop-v0" else MakeOrBuyEnv
    return cls(**spec["kwargs"])


def make_trainer(method: str, env, hparams: dict[str, Any], verbose: int):
    from scmgym.trainers.eldt import ELDT
    from scmgym.trainers.gp import GPTrainer

    cls = ELDT if method == "eldt" else GPTrainer
    return cls(env, **hparams, verbose=verbose)


def run(args: argparse.Namespace) -> int:
    if args.resume is not None:
        run_dir = args.resume
        cfg_path = run_dir / "config.json"
        if not cfg_path.is_file():
            raise DataError("not a run directory (no config.json)", source=str(run_dir))
        config = json.loads(cfg_path.read_text())
        if args.budget is not None:  # an explicit budget may extend a finished run
            config["budget"] = args.budget
    else:
        if args.method is None:
            raise DataError("a method is required", allowed="eldt or gp (or --resume RUN_DIR)")
        if args.budget is not None and args.budget < 1:
            raise DataError("--budget must be positive", value=args.budget,
                            allowed="a positive number of simulations")
        spec = _env_spec(args)
        config = {"scmgym_version": __version__, "method": args.method,
                  "problem": spec["problem"], "env": spec, "hparams": _hparams(args),
                  "budget": 5000 if args.budget is None else args.budget, "seed": args.seed,
                  "eval_episodes": args.eval_episodes, "status": "running"}
        env = make_env(spec)  # validates the data before a run directory exists
        make_trainer(args.method, env, config["hparams"], 0)  # validates the hyperparameters
        run_dir = common.make_run_dir(args.out, spec["problem"], args.method, args.seed)
        common.write_json(run_dir / "config.json", config)

    env = make_env(config["env"])
    verbose = 0 if args.no_progress or not sys.stderr.isatty() else 1
    trainer = make_trainer(config["method"], env, config["hparams"], verbose)
    trainer.learn(budget=config["budget"], run_dir=run_dir, resume=args.resume is not None)
    status = "interrupted" if trainer.interrupted else trainer.state["status"]
    config["status"] = status
    common.write_json(run_dir / "config.json", config)
    summary = finish_run(run_dir, trainer, config)
    print(f"run directory: {run_dir}")
    print(f"status {status}: {summary['simulations']} simulations "
          f"(nominal {summary['nominal_simulations']}), "
          f"{summary['generations']} generations, {summary['wall_seconds']:.1f} s")
    if trainer.policy is not None:
        ev = summary["evaluation"]
        print(f"best {trainer.objective.name} during training: {summary['best_training_value']}")
        print(f"final evaluation over {ev['episodes']} fresh episodes: "
              f"{trainer.objective.name} mean {ev['mean']:.1f} (sd {ev['sd']:.1f})")
        print("\nbest tree (simplified):")
        print(trainer.policy.simplify().to_text())
    if trainer.interrupted:
        print(f"\ninterrupted; continue with: scmgym train --resume {run_dir}")
        return EXIT_INTERRUPTED
    return 0


def finish_run(run_dir: Path, trainer, config: dict[str, Any]) -> dict[str, Any]:
    """Write the policy, tree, plots, evaluation and summary of a (possibly interrupted) run."""
    title = f"{config['problem']} {config['method']} seed {config['seed']}"
    history = common.History.resume(run_dir / "history.csv", trainer.objective,
                                    trainer.simulations)
    history.close()
    common.convergence_plot(history, run_dir / "convergence.png", title)
    summary: dict[str, Any] = {
        "method": config["method"], "problem": config["problem"], "seed": config["seed"],
        "status": config["status"], "simulations": trainer.simulations,
        "nominal_simulations": trainer.nominal_simulations,
        "generations": trainer.state["generation"], "wall_seconds": trainer.wall_seconds,
        "objective": trainer.objective.name, "best_training_value": history.best,
        "evaluation": None,
    }
    policy = trainer.policy
    if policy is not None:
        policy.save(run_dir / "policy.json")
        simple = policy.simplify()
        coverage = simple.leaf_coverage(instance_observations(trainer.env))
        lines = ["# Best tree", policy.to_text(), "", "# Simplified (same decisions)",
                 simple.to_text(), "", "# Leaf coverage (orders of the instance, CSV order)"]
        lines += [f"leaf {c['leaf']}: {c['action_name']:<12} {c['count']} orders"
                  for c in coverage]
        (run_dir / "tree.txt").write_text("\n".join(lines) + "\n")
        simple.render_png(run_dir / "tree.png", title=title)
        env = make_env(config["env"])
        ev = evaluate_policy(policy, env, config.get("eval_episodes", 20),
                             seed=config["seed"] + 1_000_003)
        values = [float(i[trainer.objective.name]) for i in ev.infos]
        summary["evaluation"] = {"episodes": len(values), "mean": float(np.mean(values)),
                                 "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                                 "min": min(values), "max": max(values), "values": values,
                                 "leaf_coverage": coverage}
        common.write_json(run_dir / "evaluation.json", summary["evaluation"])
    common.write_json(run_dir / "summary.json", summary)
    return summary


def instance_observations(env) -> list[list[int]]:
    """The observation of every order of the env's instance, presented in CSV order."""
    base = env.unwrapped
    if hasattr(base, "_features"):  # HFS: features + orders remaining
        n = len(base._features)
        return [[*map(int, base._features[i]), n - i] for i in range(n)]
    names = base.feature_names
    return [[int(getattr(o, k)) for k in names[:3]] for o in base.instance.orders]
