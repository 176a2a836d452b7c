"""Both plants' engines side by side: SimPy vs compiled, per dataset, and growth with size.

* Per dataset (hfs d1-d5 with workers (2, 5, 2); make-or-buy list1-list3): the median wall time
  of one simulation on each engine, the same inputs for both (random permutations; random
  decision vectors with about a third of the orders made, the Optuna history's average, each
  run a new seed), checked equal; the fast rows carry ``speedup`` = SimPy median / fast median.
  ``batch`` rows time the batch paths (``hfs_fast.makespans``, ``make_or_buy.simulate_many``)
  per simulation, as the search methods call them.
* First calls: a fresh process compiling the kernels into an empty numba cache, then a fresh
  process loading them from it.
* Growth: generated instances of 100, 300, 1000 and 3000 orders on the fast batch paths; the
  ``exponent`` row is the least-squares slope of log(time) on log(orders) (1 = linear).
  HFS: copies of d1, copy k with every day shifted by 320 k days, workers (2, 5, 2), priority
  orders random within each copy and the copies in time order (a random permutation of all the
  orders would let far-future orders hold stations for years); the horizon grows with the
  orders. Make-or-buy: the package's generator.

Run: ``python benchmarks/bench_engines.py`` (or ``make bench``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from scmgym.simulators import hfs, hfs_fast
from scmgym.simulators import make_or_buy as mob

HFS_SETS = ("d1", "d2", "d3", "d4", "d5")
MOB_SETS = ("list1", "list2", "list3")
WORKERS = (2, 5, 2)
SIZES = (100, 300, 1000, 3000)
#: Share of made orders in the make-or-buy vectors (the Optuna history's average: 34 of 100).
MADE = 0.34


def _ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _pair_rows(plant: str, name: str, times: dict[str, list[float]], batch: float) -> list[dict]:
    med = {e: statistics.median(t) for e, t in times.items()}
    rows = [{"benchmark": f"{plant} {name} simpy", "median_ms": med["simpy"],
             "runs": len(times["simpy"]), "dataset": name}]
    rows.append({"benchmark": f"{plant} {name} fast", "median_ms": med["fast"],
                 "runs": len(times["fast"]), "dataset": name,
                 "speedup": med["simpy"] / med["fast"]})
    rows.append({"benchmark": f"{plant} {name} fast batch, per simulation", "median_ms": batch,
                 "runs": len(times["fast"]), "dataset": name, "speedup": med["simpy"] / batch})
    return rows


def _hfs_rows(repeats: int, rng: np.random.Generator) -> list[dict]:
    rows = []
    for name in HFS_SETS:
        inst = hfs.load_instance(name)
        for engine in ("simpy", "fast"):  # warm-up
            hfs.simulate(inst, hfs.identity_order(inst), workers=WORKERS, engine=engine)
        perms = [rng.permutation(inst.n).tolist() for _ in range(repeats)]
        times: dict[str, list[float]] = {"simpy": [], "fast": []}
        for perm in perms:
            out = {}
            for engine in ("simpy", "fast"):
                start = time.perf_counter()
                out[engine] = hfs.simulate(inst, perm, workers=WORKERS, engine=engine,
                                           record_work=False)
                times[engine].append((time.perf_counter() - start) * 1000)
            if out["simpy"].records != out["fast"].records:
                raise AssertionError(f"the engines differ on {name} for {perm}")
        batch = statistics.median(
            _ms(lambda inst=inst, perms=perms: hfs_fast.makespans(inst, perms, workers=WORKERS))
            / repeats
            for _ in range(5))
        rows += _pair_rows("hfs", name, times, batch)
    return rows


def _mob_vectors(n: int, count: int, rng: np.random.Generator) -> list[list[int]]:
    return [(rng.random(n) >= MADE).astype(int).tolist() for _ in range(count)]


def _mob_rows(repeats: int, rng: np.random.Generator) -> list[dict]:
    rows = []
    for name in MOB_SETS:
        inst = mob.load_instance(name)
        for engine in ("simpy", "fast"):  # warm-up
            mob.simulate(inst, [0, 1] * (inst.n // 2) + [1] * (inst.n % 2), engine=engine)
        xs = _mob_vectors(inst.n, repeats, rng)
        seeds = rng.integers(0, 2**63 - 1, size=repeats).tolist()
        times: dict[str, list[float]] = {"simpy": [], "fast": []}
        for x, seed in zip(xs, seeds, strict=True):
            out = {}
            for engine in ("simpy", "fast"):
                start = time.perf_counter()
                out[engine] = mob.simulate(inst, x, seed=seed, engine=engine)
                times[engine].append((time.perf_counter() - start) * 1000)
            if out["simpy"] != out["fast"]:
                raise AssertionError(f"the engines differ on {name} for seed {seed}")
        batch = statistics.median(
            _ms(lambda inst=inst, xs=xs, seeds=seeds: mob.simulate_many(inst, xs, seeds))
            / repeats for _ in range(5))
        rows += _pair_rows("make-or-buy", name, times, batch)
    return rows


_FIRST_CALL = """
import time
t = time.perf_counter()
{setup}
print((time.perf_counter() - t) * 1000)
"""
_FIRST = {
    "hfs": "from scmgym.simulators import hfs, hfs_fast\n"
           "d1 = hfs.load_instance('d1')\n"
           "t = time.perf_counter()\n"
           "hfs_fast.makespans(d1, [list(range(100))])",
    "make-or-buy": "from scmgym.simulators import make_or_buy as mob\n"
                   "l1 = mob.load_instance('list1')\n"
                   "t = time.perf_counter()\n"
                   "mob.simulate_many(l1, [0] * 100, [0])",
}


def _first_call_rows() -> list[dict]:
    """The first batch call of a fresh process: compiling the kernels into an empty numba
    cache (``NUMBA_CACHE_DIR``, once per installation), then loading them from it."""
    rows = []
    for plant, setup in _FIRST.items():
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            for what in ("compile (empty cache)", "load from the disk cache"):
                out = subprocess.run([sys.executable, "-c", _FIRST_CALL.format(setup=setup)],
                                     capture_output=True, text=True, check=True, env=env)
                rows.append({"benchmark": f"{plant} fast first call, {what}",
                             "median_ms": float(out.stdout.split()[-1]), "runs": 1})
    return rows


def hfs_scaled(n: int) -> hfs.HFSInstance:
    """``n`` orders: copies of d1, copy ``k`` with every day shifted by ``320 k`` days."""
    d1 = hfs.load_instance("d1")
    rows = []
    for i in range(n):
        o, shift = d1.orders[i % d1.n], 320 * (i // d1.n)
        rows.append((i, o.machine_type, o.basement_day + shift, o.panel_day + shift,
                     o.due_day + shift))
    return hfs.make_instance(rows, name=f"d1x{n}")


def _growth_rows(repeats: int, rng: np.random.Generator) -> list[dict]:
    rows = []
    count = max(3, repeats // 5)
    for plant in ("hfs", "make-or-buy"):
        per_size = []
        for n in SIZES:
            if plant == "hfs":
                inst = hfs_scaled(n)
                perms = [np.concatenate([100 * k + rng.permutation(100)
                                         for k in range(n // 100)]) for _ in range(count)]
                hfs_fast.makespans(inst, perms[:1], workers=WORKERS)

                def call(inst=inst, perms=perms):
                    return hfs_fast.makespans(inst, perms, workers=WORKERS)
            else:
                inst = mob.generate_make_or_buy_instance(n, seed=n)
                xs = _mob_vectors(n, count, rng)
                seeds = list(range(count))

                def call(inst=inst, xs=xs, seeds=seeds):
                    return mob.simulate_many(inst, xs, seeds)
            ms = statistics.median(_ms(call) / count for _ in range(5))
            per_size.append(ms)
            rows.append({"benchmark": f"{plant} fast, {n} generated orders", "median_ms": ms,
                         "runs": 5 * count, "orders": n})
        slope = float(np.polyfit(np.log(SIZES), np.log(per_size), 1)[0])
        rows.append({"benchmark": f"{plant} fast growth exponent (100-3000 orders)",
                     "median_ms": float("nan"), "runs": len(SIZES), "exponent": slope})
    return rows


def run(repeats: int) -> list[dict]:
    rng = np.random.default_rng(0)
    repeats = max(5, min(repeats, 30))  # SimPy runs of d5 take ~0.1 s each
    return (_hfs_rows(repeats, rng) + _mob_rows(repeats, rng) + _first_call_rows()
            + _growth_rows(repeats, rng))


if __name__ == "__main__":
    for row in run(int(sys.argv[1]) if len(sys.argv) > 1 else 30):
        extra = "".join(f"  {k} {row[k]:.2f}" for k in ("speedup", "exponent") if k in row)
        print(f"{row['benchmark']:<52} {row['median_ms']:>10.3f} ms  runs {row['runs']}{extra}")
