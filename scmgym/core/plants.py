"""The two bundled plants' specs: the Adige hybrid flow shop and the ABCD make-or-buy plant.

Each function here is the one place that knows that plant's detail; the rest of the package
reaches it through :func:`scmgym.core.registry.get_plant`. Simulators are imported on first use,
so importing the registry stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scmgym.core.registry import Objective, PlantSpec, register_plant
from scmgym.core.schema import Feature, TreeSchema

# -- Adige hybrid flow shop ------------------------------------------------------------------


def _hfs_load(dataset: str):
    from scmgym.simulators import hfs

    return hfs.load_instance(dataset)


def _hfs_check(instance, problem) -> None:
    from scmgym.simulators import hfs

    hfs.check_feasible(instance, problem.workers)


def _hfs_simulate(problem, solution: Sequence[int], seed: int) -> float:
    return float(_hfs_simulate_many(problem, [solution], [seed])[0])


def _hfs_simulate_many(problem, solutions, seeds) -> np.ndarray:
    """Makespans on the problem's engine: the compiled batch path on ``"fast"`` (the same
    makespans as the SimPy model, tests/test_hfs_fast.py; the seed only moves truck hours, which
    no objective reads), the SimPy model on ``"simpy"`` or where numba is missing."""
    from scmgym.simulators import hfs

    return hfs.simulate_many(problem.instance, solutions, workers=problem.workers, seeds=seeds,
                             engine=problem.engine)


#: HFS relative observation: feature -> (unit, constant step).
HFS_UNITS = {"basement_day": ("days", 1), "panel_day": ("days", 1), "due_day": ("days", 1),
             "remaining": ("orders", 1), "slack": ("days", 1), "due_rank": ("%", 5),
             "load": ("worker-days", 1), "remaining_pct": ("% of orders", 5)}


def _hfs_tree_schema(env) -> TreeSchema:
    from scmgym.simulators import hfs

    base = env.unwrapped
    low = np.asarray(base.observation_space.low)
    high = np.asarray(base.observation_space.high)
    cats = tuple(sorted(hfs.TYPE_CODES, key=hfs.TYPE_CODES.get))
    # The study's observation keeps the study's plain rendering; the relative one declares
    # units and constant steps (HFS_UNITS) for the schema-driven grammars.
    units = {} if base.observation_mode == "paper" else HFS_UNITS
    feats = tuple(Feature(n, int(lo), int(hi), cats if i == 0 else None,
                          **dict(zip(("unit", "step"), units.get(n, (None, 1)), strict=True)))
                  for i, (n, lo, hi) in enumerate(zip(base.feature_names, low, high,
                                                      strict=True)))
    word = "level" if base.action_mode == "level" else "priority"
    return TreeSchema(feats, tuple(f"{word} {k}" for k in range(base.action_space.n)))


def _hfs_observations(env) -> list[list[int]]:
    return env.unwrapped.dataset_observations().tolist()


def _hfs_lower_bound(problem) -> int:
    from scmgym.simulators import hfs

    return hfs.lower_bound(problem.instance, problem.workers)


def _hfs_gantt(problem, solution: Sequence[int], path, title: str):
    from scmgym.plots import hfs_gantt
    from scmgym.simulators import hfs

    res = hfs.simulate(problem.instance, list(solution), workers=problem.workers)
    return hfs_gantt(res, path, title=f"{title}, makespan {res.makespan}")


def _hfs_generate(params: dict[str, Any], seed: int):
    from scmgym.simulators.hfs_generator import generate_hfs_instance

    p = dict(params)
    return generate_hfs_instance(p.pop("n", 100), seed, **p)


HFS = register_plant(PlantSpec(
    name="hfs",
    title="Adige hybrid flow shop",
    objective=Objective("makespan", "min"),
    solution="permutation",
    stochastic=False,
    datasets=("d1", "d2", "d3", "d4", "d5"),
    env_id="scmgym/HybridFlowShop-v0",
    env_entry_point="scmgym.envs.hfs:HybridFlowShopEnv",
    settings=("workers",),
    load=_hfs_load,
    check=_hfs_check,
    simulate=_hfs_simulate,
    simulate_many=_hfs_simulate_many,
    env_kwargs=lambda p: {"dataset": p.dataset, "workers": tuple(p.workers),
                          "engine": p.engine},
    label=lambda p: f"{p.name} ({','.join(map(str, p.workers))})",
    tree_schema=_hfs_tree_schema,
    observations=_hfs_observations,
    lower_bound=_hfs_lower_bound,
    # The study's RL variant (hfs spec §7.2): numeric priorities, orders in CSV order.
    rl_env_kwargs={"action": "priority", "shuffle": False},
    schedule_plot=_hfs_gantt,
    generate=_hfs_generate,
    generator_params={"n": 100, "profile": "short", "types": "all", "due_scale": 1.0},
))

# -- ABCD make-or-buy plant ------------------------------------------------------------------


def _mob_load(dataset: str):
    from scmgym.simulators import make_or_buy as mob

    return mob.load_instance(dataset)


def _mob_simulate(problem, solution: Sequence[int], seed: int) -> float:
    return float(_mob_simulate_many(problem, [solution], [seed])[0])


def _mob_simulate_many(problem, solutions, seeds) -> np.ndarray:
    """Revenues on the problem's engine (the same for a seed on either, by
    tests/test_make_or_buy_fast.py)."""
    from scmgym.simulators import make_or_buy as mob

    return mob.simulate_many(problem.instance, [list(x) for x in solutions], list(seeds),
                             engine=problem.engine)


#: Make-or-buy extended observation: constant step (days) of the time features, and the
#: slack's constants: from -400 days (beyond the longest order's processing time) to 400.
MOB_TIME_STEP = 5
MOB_SLACK_THRESHOLDS = (-400, 400)


def _mob_tree_schema(env) -> TreeSchema:
    """a, b, c (components); extended: deadline, plant time and slack in days, their
    constants every 5 days: the deadline's and plant time's over [0, latest deadline] (a plant
    time beyond it makes every order late), the slack's over [-400, 400]."""
    base = env.unwrapped
    low = np.asarray(base.observation_space.low)
    high = np.asarray(base.observation_space.high)
    domains = [(int(np.floor(lo)), int(np.ceil(hi))) for lo, hi in zip(low, high, strict=True)]
    if base.observation_mode == "paper":
        feats = tuple(Feature(n, lo, hi) for n, (lo, hi) in zip(base.feature_names, domains,
                                                                 strict=True))
        return TreeSchema(feats, ("make", "buy"))
    latest = domains[3][1]
    extra = {"deadline": {"thresholds": (0, latest)}, "plant_time": {"thresholds": (0, latest)},
             "slack": {"thresholds": MOB_SLACK_THRESHOLDS}}
    feats = tuple(Feature(n, lo, hi, unit="days" if n in extra else "components",
                          step=MOB_TIME_STEP if n in extra else 1, **extra.get(n, {}))
                  for n, (lo, hi) in zip(base.feature_names, domains, strict=True))
    return TreeSchema(feats, ("make", "buy"))


def _mob_observations(env) -> list[list[int]]:
    base = env.unwrapped
    return [[int(getattr(o, k)) for k in base.feature_names[:3]] for o in base.instance.orders]


def _no_check(instance: Any, problem: Any) -> None:
    """Every make-or-buy instance can be simulated."""


def _mob_generate(params: dict[str, Any], seed: int):
    from scmgym.simulators import make_or_buy as mob

    p = dict(params)
    return mob.generate_make_or_buy_instance(p.pop("n", 100), seed, **p)


MAKE_OR_BUY = register_plant(PlantSpec(
    name="make-or-buy",
    title="ABCD make-or-buy plant",
    objective=Objective("revenue", "max"),
    solution="binary",
    stochastic=True,
    datasets=("list1", "list2", "list3"),
    env_id="scmgym/MakeOrBuy-v0",
    env_entry_point="scmgym.envs.make_or_buy:MakeOrBuyEnv",
    load=_mob_load,
    check=_no_check,
    simulate=_mob_simulate,
    simulate_many=_mob_simulate_many,
    env_kwargs=lambda p: {"dataset": p.dataset, "engine": p.engine},
    label=lambda p: p.name,
    tree_schema=_mob_tree_schema,
    observations=_mob_observations,
    generate=_mob_generate,
    generator_params={"n": 100, "max_count": 20, "deadline_scale": "n/100",
                      "allow_empty": False},
))
