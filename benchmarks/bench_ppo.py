"""PPO training cost: milliseconds per episode (one episode = one simulation), side by side.

Each row trains :class:`~scmgym.trainers.ppo.PPOTrainer` (one torch thread) from scratch on
hfs d1 (the RL env: ``action="priority"``, ``shuffle=False``) or make-or-buy list1 (compiled
engine) for two updates' worth of episodes plus one (so the run ends with its second update,
and the cost per episode is the steady state: one update per train batch of 4000 samples plus
its 40 episodes), with ``preset`` "paper" or "fast", ``n_envs`` 1, 2 or 4, and ``vec_env``
"dummy" or "subproc". ``median_ms`` is CPU milliseconds per episode: the process's
``time.process_time()`` plus the CPU time of the SubprocVecEnv workers (read from
``/proc/<pid>/stat``) over ``learn()`` only (building the model and starting the workers are
not timed). ``wall_ms`` is the wall time per episode, ``speedup`` the paper n_envs=1 dummy row
(today's setting) over this one, in episodes per CPU-second.

Opt-in (about 7 minutes with 3 repeats on 2 shared cores):
``python benchmarks/run.py --only ppo --repeats 3``; at most 3 runs per row. One problem or
preset alone: ``python benchmarks/bench_ppo.py --problem hfs --preset fast --repeats 3``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

OPT_IN = True
PROBLEMS = {"hfs": ("hfs", "d1"), "make-or-buy": ("make-or-buy", "list1")}
PRESETS = ("paper", "fast")
#: (n_envs, vec_env) side by side; (1, "dummy") is today's setting.
SETUPS = ((1, "dummy"), (2, "dummy"), (4, "dummy"), (2, "subproc"), (4, "subproc"))
MAX_REPEATS = 3
EPISODE_STEPS = 100  # both bundled problems: one step per order, 100 orders


def _make_env(problem: str):
    from scmgym.core import Problem

    plant, dataset = PROBLEMS[problem]
    prob = Problem(plant, dataset)
    return prob.make_env(**prob.spec.rl_env_kwargs)


def _worker_cpu_seconds(trainer) -> float:
    """CPU seconds (user + system) of the SubprocVecEnv worker processes so far (0: none)."""
    from stable_baselines3.common.vec_env import SubprocVecEnv

    env = trainer.model.get_env()
    if not isinstance(env, SubprocVecEnv):
        return 0.0
    ticks, total = os.sysconf("SC_CLK_TCK"), 0.0
    for process in env.processes:
        with open(f"/proc/{process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def measure(problem: str, preset: str = "paper", n_envs: int = 1, vec_env: str = "dummy",
            seed: int = 0, budget: int | None = None, **hparams) -> dict:
    """One training run: CPU and wall milliseconds per episode over ``learn(budget)``.

    The default budget is two train batches' worth of episodes plus one."""
    from scmgym.trainers.ppo import PRESETS as HP
    from scmgym.trainers.ppo import PPOTrainer

    trainer = PPOTrainer(_make_env(problem), preset=preset, n_envs=n_envs, vec_env=vec_env,
                         seed=seed, **hparams)
    try:
        samples = trainer.model.n_steps * trainer.n_envs
        if budget is None:
            budget = 2 * samples // EPISODE_STEPS + 1
        cpu0, wall0 = time.process_time() + _worker_cpu_seconds(trainer), time.perf_counter()
        trainer.learn(budget=budget)
        cpu = time.process_time() + _worker_cpu_seconds(trainer) - cpu0
        wall = time.perf_counter() - wall0
    finally:
        trainer.close()
    assert trainer.simulations == budget
    return {"cpu_ms": 1000 * cpu / budget, "wall_ms": 1000 * wall / budget, "budget": budget,
            "updates": trainer.iterations, "samples_per_update": samples,
            "best": trainer.best_training_value, "preset_batch": HP[preset]["batch_size"]}


def _warm_up(problem: str) -> None:
    """Load the env's compiled engine and torch in this process before timing anything."""
    measure(problem, "fast", budget=2, n_steps=100, batch_size=100, n_epochs=1)


def run(repeats: int, problems=tuple(PROBLEMS), presets=PRESETS, setups=SETUPS) -> list[dict]:
    rows = []
    for problem in problems:
        _warm_up(problem)
        base = None
        for preset in presets:
            for n_envs, vec_env in setups:
                runs = [measure(problem, preset, n_envs, vec_env, seed=k)
                        for k in range(max(1, min(repeats, MAX_REPEATS)))]
                cpu = statistics.median(r["cpu_ms"] for r in runs)
                if (preset, n_envs, vec_env) == ("paper", 1, "dummy"):
                    base = cpu
                rows.append({
                    "benchmark": f"ppo {problem} {preset} n_envs={n_envs} {vec_env}",
                    "median_ms": cpu, "runs": len(runs),
                    "wall_ms": statistics.median(r["wall_ms"] for r in runs),
                    "speedup": None if base is None else base / cpu,
                    "budget": runs[0]["budget"], "updates": runs[0]["updates"],
                    "samples_per_update": runs[0]["samples_per_update"],
                    "cpu_ms_runs": [round(r["cpu_ms"], 1) for r in runs],
                })
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=MAX_REPEATS)
    parser.add_argument("--problem", choices=PROBLEMS, action="append")
    parser.add_argument("--preset", choices=PRESETS, action="append")
    parser.add_argument("--setup", action="append", metavar="N_ENVS:VEC_ENV",
                        help="e.g. 4:dummy (default: all of " +
                        ", ".join(f"{n}:{v}" for n, v in SETUPS) + ")")
    args = parser.parse_args(argv)
    setups = SETUPS if not args.setup else tuple(
        (int(n), v) for n, v in (s.split(":") for s in args.setup))
    rows = run(args.repeats, tuple(args.problem or PROBLEMS), tuple(args.preset or PRESETS),
               setups)
    print(f"{'benchmark':<40} {'cpu ms/ep':>10} {'wall ms/ep':>11} {'x today':>8} "
          f"{'runs':>5}  cpu ms/ep of each run")
    for row in rows:
        speedup = "" if row["speedup"] is None else f"{row['speedup']:.2f}"
        print(f"{row['benchmark']:<40} {row['median_ms']:>10.1f} {row['wall_ms']:>11.1f} "
              f"{speedup:>8} {row['runs']:>5}  {row['cpu_ms_runs']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
