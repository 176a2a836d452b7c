"""HFS engines side by side: median wall time of one simulation, SimPy vs the compiled engine.

Both engines run the same random permutations of d1 and d5 with workers (2, 5, 2) and
``record_work=False`` (what an optimiser needs: the makespan and records); the fast row
carries the speed-up (SimPy median / fast median). The first fast call of the process (which
loads the kernel from numba's disk cache, or compiles it) is excluded from the timings and
reported on its own row, next to the time to compile the kernel from scratch (no disk cache).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from numba import njit

from scmgym.simulators import hfs, hfs_fast

DATASETS = ("d1", "d5")
WORKERS = (2, 5, 2)


def _compile_from_scratch_ms(inst: hfs.HFSInstance) -> float:
    """Milliseconds to compile and run the kernel once, bypassing the disk cache."""
    need, ready, n_days, due = hfs_fast._plan_arrays(inst)
    kernel = njit(cache=False)(hfs_fast._run_days.py_func)
    start = time.perf_counter()
    kernel(np.arange(inst.n, dtype=np.int64), need, ready, n_days, due,
           np.array(WORKERS, dtype=np.int64), 20, 1, True, 10_000,
           np.zeros(ready.shape, dtype=np.int64))
    return (time.perf_counter() - start) * 1000


def run(repeats: int) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    first = hfs.load_instance(DATASETS[0])
    start = time.perf_counter()
    hfs_fast.simulate_fast(first, hfs.identity_order(first), workers=WORKERS)
    rows.append({"benchmark": "hfs fast first call (cache load/compile)",
                 "median_ms": (time.perf_counter() - start) * 1000, "runs": 1})
    rows.append({"benchmark": "hfs fast kernel compile, no disk cache",
                 "median_ms": _compile_from_scratch_ms(first), "runs": 1})
    for name in DATASETS:
        inst = hfs.load_instance(name)
        hfs.simulate(inst, hfs.identity_order(inst), workers=WORKERS)  # warm-up
        hfs_fast.simulate_fast(inst, hfs.identity_order(inst), workers=WORKERS)
        times: dict[str, list[float]] = {"simpy": [], "fast": []}
        makespans = []
        for _ in range(repeats):
            perm = rng.permutation(inst.n).tolist()
            results = {}
            for engine in ("simpy", "fast"):
                start = time.perf_counter()
                results[engine] = hfs.simulate(inst, perm, workers=WORKERS, engine=engine,
                                               record_work=False)
                times[engine].append((time.perf_counter() - start) * 1000)
            if results["simpy"].records != results["fast"].records:
                raise AssertionError(f"engines differ on {name} for permutation {perm}")
            makespans.append(results["fast"].makespan)
        medians = {engine: statistics.median(t) for engine, t in times.items()}
        for engine in ("simpy", "fast"):
            rows.append({
                "benchmark": f"hfs {engine} {name} random permutation",
                "median_ms": medians[engine],
                "runs": repeats,
                "median_makespan": statistics.median(makespans),
                **({"speedup": medians["simpy"] / medians["fast"]} if engine == "fast" else {}),
            })
        # The batch API (makespans only, what a search method's evaluator calls), per order.
        perms = [rng.permutation(inst.n) for _ in range(repeats)]
        hfs_fast.makespans(inst, perms[:1], workers=WORKERS)
        per_order = []
        for _ in range(5):
            start = time.perf_counter()
            hfs_fast.makespans(inst, perms, workers=WORKERS)
            per_order.append((time.perf_counter() - start) * 1000 / repeats)
        batch = statistics.median(per_order)
        rows.append({"benchmark": f"hfs fast {name} batch makespans, per order",
                     "median_ms": batch, "runs": 5 * repeats,
                     "speedup": medians["simpy"] / batch})
    rows.append(_in_method(repeats))
    rows += _env_episodes(repeats)
    rows += _trainers()
    return rows


def _trainers(budget: int = 200) -> list[dict]:
    """ELDT and GP on d1, cost per simulation with the env on each engine, side by side."""
    from scmgym.envs.hfs import HybridFlowShopEnv
    from scmgym.trainers.eldt import ELDT
    from scmgym.trainers.gp import GPTrainer

    rows = []
    for name, cls in (("eldt", ELDT), ("gp", GPTrainer)):
        per_sim = {}
        for engine in ("simpy", "fast"):
            start = time.perf_counter()
            trainer = cls(HybridFlowShopEnv("d1", engine=engine), seed=0).learn(budget=budget)
            per_sim[engine] = (time.perf_counter() - start) * 1000 / trainer.simulations
        for engine in ("simpy", "fast"):
            rows.append({"benchmark": f"{name} on d1, env engine {engine}, per simulation",
                         "median_ms": per_sim[engine], "runs": budget,
                         **({"speedup": per_sim["simpy"] / per_sim["fast"]}
                            if engine == "fast" else {})})
    return rows


def _env_episodes(repeats: int) -> list[dict]:
    """One RL episode on d1 (the RL env of the paper suite: ``action="priority"``, no shuffle,
    fast engine), stepped (what PPO does: one ``step`` per order) and open loop (reset, every
    observation at once, ``finish_open_loop``, what the tree trainers do), with the same
    actions; the stepped row carries ``overhead`` = stepped median / open-loop median and the
    cost of one ``step``. Both end in the same makespan (checked)."""
    from scmgym.core import Problem

    problem = Problem.parse("hfs:d1", WORKERS)
    env = problem.make_env(**problem.spec.rl_env_kwargs)
    rng = np.random.default_rng(0)
    n = env.unwrapped.instance.n
    times: dict[str, list[float]] = {"stepped": [], "open loop": []}
    for k in range(repeats + 1):  # the first episode warms up and is not timed
        actions = rng.integers(env.action_space.n, size=n)
        start = time.perf_counter()
        env.reset(seed=k)
        for a in actions:
            *_, info = env.step(int(a))
        stepped = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        env.reset(seed=k)
        env.unwrapped.open_loop_observations()
        _, _, info_open = env.unwrapped.finish_open_loop(actions)
        open_loop = (time.perf_counter() - start) * 1000
        if info["makespan"] != info_open["makespan"]:
            raise AssertionError(f"stepped and open-loop episodes differ on d1, seed {k}")
        if k:
            times["stepped"].append(stepped)
            times["open loop"].append(open_loop)
    medians = {mode: statistics.median(t) for mode, t in times.items()}
    return [{"benchmark": f"hfs env d1 episode, {mode}", "median_ms": medians[mode],
             "runs": repeats,
             **({"overhead": medians["stepped"] / medians["open loop"],
                 "step_us": 1000 * medians["stepped"] / n} if mode == "stepped" else {})}
            for mode in ("stepped", "open loop")]


def _in_method(repeats: int) -> dict:
    """Cost of one simulation inside random search on d1 (evaluator, RNG, history included)."""
    from scmgym.baselines.simple import random_search
    from scmgym.core import Problem
    from scmgym.experiments.methods import run_with_budget

    problem = Problem.parse("hfs:d1", WORKERS)
    budget = 20 * repeats
    start = time.perf_counter()
    run_with_budget("random", problem, budget, 0, random_search)
    return {"benchmark": "random search on d1, per simulation",
            "median_ms": (time.perf_counter() - start) * 1000 / budget, "runs": budget}


if __name__ == "__main__":
    for row in run(50):
        extra = f"  speed-up x{row['speedup']:.1f}" if "speedup" in row else ""
        print(f"{row['benchmark']:<44} {row['median_ms']:>10.3f} ms  runs {row['runs']}{extra}")
