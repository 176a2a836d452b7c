"""Gymnasium environment over the Adige hybrid flow shop simulator."""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from scmgym.envs._common import (
    INFO_INSTANCE,
    INFO_INSTANCE_INDEX,
    INFO_OBJECTIVE,
    INFO_SOLUTION,
    ActionError,
    EpisodeStateError,
    check_open_loop,
    instance_source,
    pick_instance,
)
from scmgym.simulators import hfs
from scmgym.simulators.compiled import jit

#: ``max_makespan`` of the reward per bundled dataset (the study's published settings).
MAX_MAKESPAN = {"d1": 500, "d2": 500, "d3": 500, "d4": 650, "d5": 2500}

#: The observation's feature names: the study's, and the relative extension's.
PAPER_FEATURES = ("machine_type", "basement_day", "panel_day", "due_day", "remaining")
RELATIVE_FEATURES = PAPER_FEATURES + ("slack", "due_rank", "load", "remaining_pct")
#: Worker-days (M + E + R over its production days) of each machine-type code.
TYPE_LOAD = np.array([sum(t.m) + sum(t.e) + sum(t.r) for t in
                      sorted(hfs.MACHINE_TYPES.values(), key=lambda t: t.code)], dtype=np.int64)
TYPE_DAYS = np.array([t.days for t in sorted(hfs.MACHINE_TYPES.values(), key=lambda t: t.code)],
                     dtype=np.int64)


def level_band(level: int, n: int, levels: int) -> tuple[int, int]:
    """The priority band ``[start, end)`` of a level: L consecutive sub-ranges of 0..n-1.

    ``size = n // L`` and ``rem = n % L``; level k starts at ``k * size + min(k, rem)`` and holds
    ``size + 1`` values if ``k < rem``, else ``size``.

    >>> level_band(0, 100, 5), level_band(4, 100, 5), level_band(1, 100, 3)
    ((0, 20), (80, 100), (34, 67))
    """
    size, rem = divmod(n, levels)
    start = level * size + min(level, rem)
    return start, start + size + (1 if level < rem else 0)


class HybridFlowShopEnv(gym.Env):
    """
    ## Description

    The Adige laser-cutting-machine assembly plant (a hybrid flow shop) of the ELDT study,
    simulated by :mod:`scmgym.simulators.hfs`. An episode assigns a priority to every order, one
    order per step; after the last step the plant is simulated once under the resulting priority
    order (orders stably sorted by priority, descending; ties keep presentation order) and the
    reward says how short the makespan was.

    ## Action Space

    With ``action="level"`` (default, the tree methods' encoding) the action is a
    ``Discrete(priority_levels)`` priority level. Level ``k`` maps to the k-th of L consecutive
    bands of ``0..n-1`` (``size = n // L``, ``rem = n % L``, start ``k*size + min(k, rem)``);
    ``level_mode="random"`` (default, as the original) draws the numeric priority uniformly in the
    band from the env's RNG, ``level_mode="deterministic"`` uses the band's start, so that orders
    at one level keep their presentation order.

    With ``action="priority"`` the action is a ``Discrete(n)`` numeric priority (the study's PPO
    variant); higher is more urgent.

    ## Observation Space

    An ``int64`` array of shape (5,) describing the order to prioritise now:

    | index | name | unit | low | high |
    |---|---|---|---|---|
    | 0 | machine-type code (12-type map) | category | 0 | 11 |
    | 1 | basement arrival | day | 0 | max over the dataset(s) |
    | 2 | electrical-panel arrival | day | 0 | max over the dataset(s) |
    | 3 | due date | day | 0 | max over the dataset(s) |
    | 4 | orders remaining, this one included | orders | 0 | n (the largest) |

    Type codes: lt7 0, lt7_p 1, lt7_ins 2, lt7_p_ins 3, lt8 4, lt8_p 5, lt8_ula 6, lt8_p_ula 7,
    lt8_12 8, lt8_p_12 9, lt8_12_ula 10, lt8_p_12_ula 11. The terminal observation is all zeros.

    ``observation="relative"`` (an extension beyond the study, for policies meant to work on
    instances they were not trained on: features that mean the same in any instance) appends
    four features, an ``int64`` array of shape (9,):

    | index | name | unit | low | high |
    |---|---|---|---|---|
    | 5 | slack: due - max(basement, panel) - the type's production days | day | min | max |
    | 6 | due rank: share of the instance's orders due on or before this one | % | 0 | 100 |
    | 7 | load: the type's worker-days (M + E + R over its days) | worker-days | 0 | max |
    | 8 | orders remaining, in % of the instance's orders (rounded) | % | 0 | 100 |

    ## Rewards

    0 on every step but the last. On the last step ``reward = max_makespan - makespan`` (days;
    higher is better) with ``reward="paper"``, or ``(max_makespan - makespan) /
    (max_makespan - lower_bound)`` with ``reward="normalized"`` (1 at the §12.4 lower bound,
    0 at ``max_makespan``). Defaults of ``max_makespan``: 500 for d1-d3, 650 for d4, 2500 for d5;
    for other datasets :func:`scmgym.simulators.hfs.default_max_days`.

    ## Starting State

    ``reset()`` presents the orders in a fresh random order drawn from the env's RNG
    (``shuffle=True``, as the original GE environment), or in CSV order (``shuffle=False``, as the
    original RL environment). No randomness is left in the plant's day-level dynamics.

    ## Episode End

    The episode terminates after n steps (one per order), when the plant has been simulated.
    It is never truncated. ``info`` then holds ``makespan``, ``lower_bound``, ``order`` (the
    priority order simulated) and ``records`` (one dict per order: admission, finish, pickup and
    delivery days), plus the keys shared by every scmgym env (:mod:`scmgym.envs._common`):
    ``objective`` (the makespan, equal to ``info["makespan"]``) and ``solution`` (the priority
    order simulated as a list of ints, equal to ``info["order"]``). Before that,
    ``info["order_id"]`` names the order the observation describes. Every ``info`` names the
    episode's dataset: ``instance`` and ``instance_index``.

    ``step()`` before ``reset()`` or after the episode ended raises
    :class:`~scmgym.envs._common.EpisodeStateError` (a ``gymnasium.error.ResetNeeded`` and a
    ``RuntimeError``); an action outside the action space raises
    :class:`~scmgym.envs._common.ActionError` (a ``gymnasium.error.InvalidAction`` and a
    ``ValueError``).

    ## Arguments

    | kwarg | default | meaning |
    |---|---|---|
    | ``dataset`` | ``"d1"`` | bundled name ``d1``..``d5``, a CSV/Excel path, an instance, a |
    |  |  | list of them, or a distribution (``"d1,d2"``, ``"generated:train"``; below) |
    | ``workers`` | ``(2, 5, 2)`` | worker pools M, E, R (the study does not state its values) |
    | ``action`` | ``"level"`` | ``"level"`` or ``"priority"`` |
    | ``priority_levels`` | ``5`` | L for ``action="level"``; the study does not state its value |
    | ``level_mode`` | ``"random"`` | ``"random"`` or ``"deterministic"`` |
    | ``shuffle`` | ``True`` | shuffle the presentation order on reset |
    | ``reward`` | ``"paper"`` | ``"paper"`` or ``"normalized"`` |
    | ``max_makespan`` | per dataset | the reward's reference makespan |
    | ``stations``, ``trucks_per_day``, ``pickup`` | 20, 1, ``"same_update"`` | plant options |
    | ``engine`` | ``"fast"`` | ``"fast"`` (compiled) or ``"simpy"``: identical episodes |
    | ``observation`` | ``"paper"`` | ``"paper"`` (5 features) or ``"relative"`` (9; above) |
    | ``priorities`` | ``None`` | ``action="priority"``: ``Discrete(priorities)`` instead of |
    |  |  | ``Discrete(n)`` (a policy trained on n orders, applied to another size) |

    With several datasets (a list or a generated split, :mod:`scmgym.core.instances`),
    ``reset()`` draws the episode's dataset from the env's RNG before the presentation order,
    or takes ``reset(options={"instance": k})``; with one dataset nothing changes. The
    observation bounds then hold over every dataset (over a fixed sample of an unbounded
    stream) and values beyond them are clipped; ``max_makespan`` and the lower bound are the
    episode's dataset's own unless ``max_makespan`` is given; ``action="priority"`` needs every
    dataset to have the same number of orders; ``priority_levels`` is checked against the
    smallest. Every dataset is checked feasible for the workers when it is first used.

    The plant options are kept as one :class:`~scmgym.simulators.hfs.PlantOptions`,
    ``env.options``, used for every simulation and bound of the env.

    >>> import gymnasium as gym, scmgym
    >>> env = gym.make("scmgym/HybridFlowShop-v0", dataset="d1", workers=(2, 5, 2))
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, env.action_space
    ((5,), Discrete(5))

    ## Registered Configurations

    * ``scmgym/HybridFlowShop-v0``

    ## Version History

    * v0: initial version, faithful to the AnyLogic model of the ELDT study. The ``engine``
      kwarg came later: the compiled engine (default) and the SimPy model give identical
      episodes (tests/test_hfs_fast.py, tests/test_env_contract.py), so the id is unchanged.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        dataset: str = "d1",
        workers: tuple[int, int, int] | str = (2, 5, 2),
        action: Literal["level", "priority"] = "level",
        priority_levels: int = 5,
        level_mode: Literal["random", "deterministic"] = "random",
        shuffle: bool = True,
        reward: Literal["paper", "normalized"] = "paper",
        max_makespan: int | None = None,
        stations: int = 20,
        trucks_per_day: int = 1,
        pickup: Literal["same_update", "next_update"] = "same_update",
        engine: hfs.Engine = "fast",
        observation: Literal["paper", "relative"] = "paper",
        priorities: int | None = None,
    ) -> None:
        self.source = instance_source("hfs", dataset, hfs.HFSInstance)
        self.workers = hfs.Workers.parse(workers)
        _check_choice("action", action, ("level", "priority"))
        _check_choice("level_mode", level_mode, ("random", "deterministic"))
        _check_choice("reward", reward, ("paper", "normalized"))
        _check_choice("engine", engine, ("fast", "simpy"))
        _check_choice("observation", observation, ("paper", "relative"))
        self.engine = engine
        self.observation_mode = observation
        #: Observation feature names, in order (tree policies render conditions with them).
        self.feature_names = PAPER_FEATURES if observation == "paper" else RELATIVE_FEATURES
        self.options = hfs.PlantOptions(stations=stations, trucks_per_day=trucks_per_day,
                                        pickup=pickup)
        first = self.source.get(0)
        sample = [first] if self.source.single else self.source.sample()
        sizes = {x.n for x in sample}
        if priorities is not None and not (isinstance(priorities, int | np.integer)
                                           and not isinstance(priorities, bool)
                                           and priorities >= 1):
            raise ValueError(f"priorities={priorities!r}; allowed: None or an integer >= 1")
        if action == "priority" and priorities is None and len(sizes) > 1:
            raise ValueError(f"action='priority' needs one number of orders, but the datasets "
                             f"of {self.source.text!r} have {sorted(sizes)}; allowed: datasets "
                             "of one size, priorities=N, or action='level'")
        n_min = min(sizes)
        if action == "level" and not (isinstance(priority_levels, int | np.integer)
                                      and 1 <= priority_levels <= n_min):
            raise ValueError(f"priority_levels={priority_levels!r}; allowed: an integer in "
                             f"[1, {n_min}] (the number of orders)")
        self.action_mode = action
        self.priority_levels = int(priority_levels)
        self.level_mode = level_mode
        self.shuffle = bool(shuffle)
        self.reward_mode = reward
        self._max_makespan_arg = None if max_makespan is None else int(max_makespan)
        self._setups: dict[int, tuple] = {}
        self._use(0, first)
        static = [self._features_of(x) for x in sample]
        low = np.zeros(len(self.feature_names), dtype=np.int64)
        high = np.zeros(len(self.feature_names), dtype=np.int64)
        cols = [i for i, name in enumerate(self.feature_names)
                if name not in ("remaining", "remaining_pct")]
        high[cols] = np.max([f.max(axis=0) for f in static], axis=0)
        low[cols] = np.minimum(np.min([f.min(axis=0) for f in static], axis=0), 0)
        high[0] = len(hfs.TYPE_CODES) - 1
        high[4] = max(sizes)
        if observation == "relative":
            high[6], high[7], high[8] = 100, TYPE_LOAD.max(), 100
        self.observation_space = spaces.Box(low=low, high=high, dtype=np.int64)
        self.action_space = spaces.Discrete(self.priority_levels if action == "level"
                                            else priorities or max(sizes))
        self._presentation: np.ndarray | None = None
        self._episode_obs: np.ndarray | None = None
        self._priorities: list[int] = []
        self._step = 0
        self._done = True

    # ------------------------------------------------------------------------------------------
    def _features_of(self, instance: hfs.HFSInstance) -> np.ndarray:
        """The features of each order that do not change during an episode, in dataset
        order: type, basement, panel, due (and, relative, slack, due rank, load)."""
        cols = ("type_code", "date_basement_arrival", "date_electrical_panel_arrival",
                "date_delivery")
        code, db, de, dd = (instance.column(c) for c in cols)
        if self.observation_mode == "paper":
            return np.stack([code, db, de, dd], axis=1).astype(np.int64)
        slack = dd - np.maximum(db, de) - TYPE_DAYS[code]
        rank = np.rint(100.0 * np.searchsorted(np.sort(dd), dd, side="right") / len(dd))
        return np.stack([code, db, de, dd, slack, rank, TYPE_LOAD[code]],
                        axis=1).astype(np.int64)

    def _step_obs(self, static: np.ndarray, step: np.ndarray | int) -> np.ndarray:
        """Observations from the static features and the step (remaining orders)."""
        n = self.instance.n
        remaining = n - np.asarray(step)
        parts = [static[..., :4], np.expand_dims(remaining, -1)]
        if self.observation_mode == "relative":
            pct = np.rint(100.0 * remaining / n).astype(np.int64)
            parts += [static[..., 4:], np.expand_dims(pct, -1)]
        obs = np.concatenate(parts, axis=-1).astype(np.int64)
        return np.clip(obs, self.observation_space.low, self.observation_space.high)

    def dataset_observations(self) -> np.ndarray:
        """One observation per order of the current instance, in dataset order, as the first
        step would show it (for leaf coverage)."""
        n = self.instance.n
        return self._step_obs(self._features, np.arange(n))

    def _use(self, k: int, instance: hfs.HFSInstance | None = None) -> None:
        """Make dataset ``k`` of the source the current one (checked and set up once)."""
        setup = self._setups.get(k)
        if setup is None:
            inst = self.source.get(k) if instance is None else instance
            hfs.check_feasible(inst, self.workers, options=self.options)
            top = self._max_makespan_arg
            if top is None:
                top = MAX_MAKESPAN.get(inst.source, hfs.default_max_days(inst))
            bound = hfs.lower_bound(inst, self.workers, options=self.options)
            if self.reward_mode == "normalized" and top <= bound:
                raise ValueError(f"max_makespan={top} must exceed the lower bound {bound} of "
                                 f"{inst.name!r} for reward='normalized'")
            setup = (inst, self._features_of(inst), int(top), bound)
            if len(self._setups) >= 256:
                self._setups.pop(next(iter(self._setups)))
            self._setups[k] = setup
        self.instance, self._features, self.max_makespan, self.lower_bound = setup
        self.instance_index = k

    # ------------------------------------------------------------------------------------------
    def _obs(self) -> np.ndarray:
        n = self.instance.n
        if self._step >= n:
            return np.zeros(len(self.feature_names), dtype=np.int64)
        return self._episode_obs[self._step].copy()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        k = pick_instance(self.source, self.np_random, options)
        if k != self.instance_index:
            self._use(k)
        n = self.instance.n
        self._presentation = (self.np_random.permutation(n) if self.shuffle
                              else np.arange(n))
        self._priorities = []
        self._step = 0
        self._done = False
        # Every step's observation at once: they never depend on the actions, and one
        # vectorised call per episode costs less than one per step.
        self._episode_obs = self._step_obs(self._features[self._presentation], np.arange(n))
        return self._obs(), {"order_id": int(self._presentation[0]), **self._instance_info()}

    def _instance_info(self) -> dict[str, Any]:
        return {INFO_INSTANCE: self.instance.name, INFO_INSTANCE_INDEX: self.instance_index}

    def open_loop_observations(self) -> np.ndarray:
        """After :meth:`reset`: the observation of every step, (n, 5) int64 ((n, 9) relative;
        they never depend on the actions); see :mod:`scmgym.envs._common`."""
        if self._presentation is None or self._done or self._step != 0:
            raise EpisodeStateError("HybridFlowShopEnv: open_loop_observations() is for a "
                                    "freshly reset episode; call reset()")
        return self._episode_obs.copy()

    def finish_open_loop(self, actions) -> tuple[np.ndarray, float, dict[str, Any]]:
        """Play the whole episode with ``actions[t]`` at step ``t``: the same priorities, env
        random draws, order, makespan and reward as :meth:`step` would give (the makespan by
        the engine's batch path). Returns (final observation, final reward, info with
        ``makespan``, ``objective`` and ``solution``)."""
        if self._presentation is None:
            raise EpisodeStateError("HybridFlowShopEnv: call reset() before finish_open_loop()")
        a = check_open_loop(self, self._step, self._done, actions, int(self.action_space.n))
        n = self.instance.n
        if self.action_mode == "level":
            bands = np.array([level_band(k, n, self.priority_levels)
                              for k in range(self.priority_levels)], dtype=np.int64)
            if self.level_mode == "random":
                priorities = _draw_priorities(self.np_random, bands[a, 0], bands[a, 1])
            else:
                priorities = bands[a, 0]
        else:
            priorities = a
        self._priorities = priorities.tolist()
        self._step = n
        self._done = True
        order = self._presentation[np.argsort(-priorities, kind="stable")].tolist()
        seed = int(self.np_random.integers(2**63 - 1))
        try:
            if self.engine != "fast":
                raise ImportError
            from scmgym.simulators.hfs_fast import makespans
        except ImportError:  # simpy, or fast without numba (simulate warns and uses simpy)
            makespan = hfs.simulate(self.instance, order, workers=self.workers,
                                    options=self.options, seed=seed, record_work=False,
                                    engine=self.engine).makespan
        else:
            makespan = int(makespans(self.instance, [order], workers=self.workers,
                                     options=self.options)[0])
        reward = float(self.max_makespan - makespan)
        if self.reward_mode == "normalized":
            reward /= float(self.max_makespan - self.lower_bound)
        info = {"makespan": makespan, INFO_OBJECTIVE: makespan, INFO_SOLUTION: order,
                **self._instance_info()}
        return self._obs(), reward, info

    def step(self, action):
        if self._presentation is None:
            raise EpisodeStateError("HybridFlowShopEnv: call reset() before step()")
        if self._done:
            raise EpisodeStateError("HybridFlowShopEnv: the episode has ended; call reset()")
        if not self.action_space.contains(action):
            raise ActionError(f"HybridFlowShopEnv: action {action!r} is not in "
                              f"{self.action_space}")
        a = int(action)
        if self.action_mode == "level":
            start, end = level_band(a, self.instance.n, self.priority_levels)
            if self.level_mode == "random":
                priority = int(self.np_random.integers(start, end))
            else:
                priority = start
        else:
            priority = a
        self._priorities.append(priority)
        self._step += 1
        if self._step < self.instance.n:
            return self._obs(), 0.0, False, False, {
                "order_id": int(self._presentation[self._step]), **self._instance_info()}

        self._done = True
        # Stable sort of the presentation order by priority, descending.
        ranked = sorted(range(self.instance.n), key=lambda i: -self._priorities[i])
        order = [int(self._presentation[i]) for i in ranked]
        result = hfs.simulate(self.instance, order, workers=self.workers, options=self.options,
                              seed=int(self.np_random.integers(2**63 - 1)), record_work=False,
                              engine=self.engine)
        reward = float(self.max_makespan - result.makespan)
        if self.reward_mode == "normalized":
            reward /= float(self.max_makespan - self.lower_bound)
        info = {
            "makespan": result.makespan,
            "lower_bound": self.lower_bound,
            "order": list(result.order),
            "records": [r.__dict__.copy() for r in result.records],
            INFO_OBJECTIVE: result.makespan,
            INFO_SOLUTION: list(result.order),
            **self._instance_info(),
        }
        return self._obs(), reward, True, False, info


@jit
def _draw_priorities(rng, start, end):
    """One priority per step, uniform in its band, drawn as the steps draw them."""
    out = np.empty(start.shape[0], dtype=np.int64)
    for t in range(start.shape[0]):
        out[t] = rng.integers(start[t], end[t])
    return out


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r}; allowed: {', '.join(map(repr, allowed))}")
