"""Gymnasium environment over the ABCD make-or-buy simulator."""

from __future__ import annotations

from pathlib import Path
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
from scmgym.simulators import make_or_buy as mob

ObservationMode = Literal["paper", "extended"]
RewardMode = Literal["revenue", "scaled"]
#: Upper bound of the extended observation's plant time, per order in the list (days). A made
#: order takes at most ~350 days, so the bound is never reached in practice.
TIME_CAP_PER_ORDER = 1000


class MakeOrBuyEnv(gym.Env):
    """
    ## Description

    The ABCD make-or-buy plant of the ELDT study, simulated by
    :mod:`scmgym.simulators.make_or_buy`. Customer orders arrive in a fixed list; for each order,
    in list order, the agent decides to make it in the plant (three production lines, one
    truck, an assembly station; it takes ~30-320 days and only one order is made at a time) or
    to buy it from a supplier (done at once and on time, but 30 less revenue). Making pays off
    only for orders that can be finished by their deadline without delaying later ones too much.

    The plant is simulated as the decisions come in (a stepwise run of the same simulator that
    :func:`~scmgym.simulators.make_or_buy.simulate` uses), so the plant time at each decision
    is known; the final revenue equals ``simulate(instance, decisions, seed=episode_seed)``.

    ## Action Space

    ``Discrete(2)``: 0 = make the current order, 1 = buy it.

    ## Observation Space

    ``observation="paper"`` (default, as the study's tree methods): an ``int64`` array (3,):

    | index | name | unit | low | high |
    |---|---|---|---|---|
    | 0 | a: components A needed | components | 0 | 20 |
    | 1 | b: components B needed | components | 0 | 20 |
    | 2 | c: components C needed | components | 0 | 20 |

    ``observation="extended"`` (an extension beyond the paper, so that a policy can reason
    about lateness): a ``float32`` array (6,):

    | index | name | unit | low | high |
    |---|---|---|---|---|
    | 0 | a | components | 0 | 20 |
    | 1 | b | components | 0 | 20 |
    | 2 | c | components | 0 | 20 |
    | 3 | deadline (after 2024-06-19) | day | 0 | max deadline of the list(s) |
    | 4 | current plant time | day | 0 | T = 1000 n (n: the longest list) |
    | 5 | slack: deadline - time - expected processing time | day | -T - 400 | max deadline |

    The expected processing time is
    :func:`~scmgym.simulators.make_or_buy.expected_processing_time` (``31 + 14.3 *
    (max(a, b, c) - 1)`` days). Values are clipped to the bounds (the time bound
    ``T = 1000 n`` days is never reached in practice). The terminal observation is all zeros.

    ## Rewards

    0 on every step but the last. On the last step, with ``reward="revenue"`` (default, as the
    study), the revenue ``100 * on_time + 50 * late - 30 * bought`` (bought orders count as on
    time; 7000 for all-buy on 100 orders). With ``reward="scaled"``:
    ``(revenue - 70 * n) / (30 * n)``, the gain over buying everything per order in units of
    the best possible gain: 0 for all-buy, 1 if every order is made on time, -2/3 if every
    order is made late.

    ## Starting State

    The first order of the list, at plant time 0, with an idle plant. Each episode is a fresh
    random replication of the plant: ``reset()`` draws the episode's simulation seed from the
    env's RNG (``self.np_random``), so ``reset(seed=s)`` always gives the same episode and a
    reset without a seed continues the stream.

    ## Episode End

    The episode terminates after the decision for the last order (``n`` steps, 100 for the
    bundled lists). It is never truncated. The final ``info`` holds the two keys every scmgym
    env provides (:mod:`scmgym.envs._common`): ``objective``, the revenue (an ``int``, the
    final reward with ``reward="revenue"``), and ``solution``, the simulated decision vector
    (a list of 0/1 indexed by ``order_id - 1``, 1 = buy). It also holds ``revenue``,
    ``on_time``, ``late``, ``bought``, ``made``, ``end_time``, ``truck_speed`` and ``orders``
    (one record per order: decision, start, completion, deadline, on_time, lateness). Every
    ``info`` holds ``order_id`` (of the order to decide next, 0 when over), ``plant_time`` and
    ``episode_seed``, and ``instance`` / ``instance_index`` (the episode's order list).

    ``step()`` before ``reset()`` or after the end raises
    :class:`~scmgym.envs._common.EpisodeStateError` (a ``gymnasium.error.ResetNeeded``); an
    action outside ``Discrete(2)`` raises :class:`~scmgym.envs._common.ActionError` (a
    ``gymnasium.error.InvalidAction``).

    ## Arguments

    | kwarg | default | meaning |
    |---|---|---|
    | ``dataset`` | ``"list1"`` | ``list1``..``list3``, a CSV/Excel path, an instance, a list of |
    |  |  | them, or a distribution (``"list1,list2"``, ``"generated:train"``; below) |
    | ``observation`` | ``"paper"`` | ``"paper"``: a, b, c; ``"extended"``: + deadline, time, slack|
    | ``reward`` | ``"revenue"`` | ``"revenue"`` or ``"scaled"`` |
    | ``truck_speed_latch`` | ``True`` | reproduce the AnyLogic truck-speed artefact |
    | ``empty_orders`` | ``"next_tick"`` | making an empty order: ``"next_tick"`` or ``"reject"`` |
    | ``mode`` | ``"fast"`` | the simulator's shortcuts, from all (``"fast"``) to none (below) |
    | ``literal`` | ``None`` | alias: ``True`` is ``mode="literal"``; it must agree with ``mode`` |
    | ``engine`` | ``None`` | ``"fast"`` (compiled) or ``"simpy"``; None: see below |

    The modes: ``"fast"`` (every exact shortcut), ``"literal-ticks"``, ``"literal-truck"``,
    ``"literal-lines"`` and ``"literal"`` (no shortcut: every assembly tick, truck loop and
    component; 10-100 times slower). Every mode gives the same distribution of episodes;
    ``"literal-ticks"`` gives the same episode as ``"literal"`` for a seed, ``"literal-truck"``
    and ``"literal-lines"`` the same as ``"fast"`` (the table is in
    :mod:`scmgym.simulators.make_or_buy.shortcuts`). An unknown mode raises ``ValueError``
    naming the allowed ones. The compiled engine (``engine="fast"``; ``None`` picks it in mode
    ``"fast"`` and ``"simpy"`` in the other modes) gives the same episode as the SimPy model
    for the same seed, about 50 times faster (:mod:`scmgym.simulators.make_or_buy.fast`).

    ```python
    >>> import gymnasium as gym
    >>> import scmgym
    >>> env = gym.make("scmgym/MakeOrBuy-v0", dataset="list1", observation="extended")
    >>> obs, info = env.reset(seed=0)
    >>> obs[:3].tolist(), info["order_id"]
    ([18.0, 18.0, 5.0], 1)
    >>> for _ in range(100):
    ...     obs, reward, terminated, truncated, info = env.step(1)
    >>> reward, terminated, info["bought"]
    (7000.0, True, 100)

    ```

    With several lists (a list or a generated split, :mod:`scmgym.core.instances`), ``reset()``
    draws the episode's list from the env's RNG before its simulation seed, or takes
    ``reset(options={"instance": k})``; with one list nothing changes. The extended
    observation's bounds then hold over every list (over a fixed sample of an unbounded
    stream), and values beyond them are clipped (:mod:`scmgym.envs._common`).

    ## Registered Configurations

    * ``scmgym/MakeOrBuy-v0``: the defaults above (list1, paper observation, revenue reward).

    ## Version History

    * v0: initial version (SimPy rebuild of the AnyLogic model, plant specification §4). The
      ``engine`` kwarg came later: the compiled engine (default in mode ``"fast"``) and the
      SimPy model give identical episodes for a seed.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        dataset: str | Path | mob.MakeOrBuyInstance = "list1",
        observation: ObservationMode = "paper",
        reward: RewardMode = "revenue",
        truck_speed_latch: bool = True,
        empty_orders: mob.EmptyOrders = "next_tick",
        mode: mob.ModeName | None = None,
        literal: bool | None = None,
        render_mode: str | None = None,
        engine: mob.Engine | None = None,
    ) -> None:
        if observation not in ("paper", "extended"):
            raise ValueError(f"observation={observation!r}; allowed: 'paper', 'extended'")
        if reward not in ("revenue", "scaled"):
            raise ValueError(f"reward={reward!r}; allowed: 'revenue', 'scaled'")
        if empty_orders not in ("next_tick", "reject"):
            raise ValueError(f"empty_orders={empty_orders!r}; allowed: 'next_tick', 'reject'")
        sim_mode = mob.resolve_mode(mode, literal).name
        self.engine = mob.resolve_engine(engine, sim_mode)
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r}; this env does not render")
        self.source = instance_source("make-or-buy", dataset, mob.MakeOrBuyInstance)
        #: The current episode's order list (the first one before any reset).
        self.instance = self.source.get(0)
        self.instance_index = 0
        self.observation_mode = observation
        self.reward_mode = reward
        self.sim_options = {"truck_speed_latch": bool(truck_speed_latch),
                            "empty_orders": empty_orders, "mode": sim_mode}
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(2)
        top = mob.MAX_COUNT
        if observation == "paper":
            self.observation_space = spaces.Box(0, top, shape=(3,), dtype=np.int64)
        else:
            lists = [self.instance] if self.source.single else self.source.sample()
            dmax = float(max(int(x.column("deadline").max()) for x in lists))
            tmax = float(TIME_CAP_PER_ORDER * max(x.n for x in lists))
            self.observation_space = spaces.Box(
                low=np.array([0, 0, 0, 0, 0, -tmax - 400], dtype=np.float32),
                high=np.array([top, top, top, dmax, tmax, dmax], dtype=np.float32),
                dtype=np.float32,
            )
        #: Observation feature names, in order (used by tree policies to render conditions).
        self.feature_names = (("a", "b", "c") if observation == "paper" else
                              ("a", "b", "c", "deadline", "plant_time", "slack"))
        self._sim: mob.MakeOrBuySimulation | None = None
        self._episode_seed: int | None = None
        self._decisions: list[int] = []

    # -- Gymnasium API ---------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        k = pick_instance(self.source, self.np_random, options)
        if k != self.instance_index:
            self.instance, self.instance_index = self.source.get(k), k
        self._episode_seed = int(self.np_random.integers(0, 2**63 - 1))
        self._decisions = []
        self._sim = self._new_sim()
        return self._observation(), self._info()

    def open_loop_observations(self) -> np.ndarray | None:
        """After :meth:`reset`: every step's observation, (n, 3) int64, for the paper
        observation (a, b, c do not depend on the actions); None for the extended one (plant
        time and slack do). See :mod:`scmgym.envs._common`."""
        if self._sim is None or self._sim.done or self._decisions:
            raise EpisodeStateError("open_loop_observations() is for a freshly reset episode; "
                                    "call reset()")
        if self.observation_mode != "paper":
            return None
        return np.array([o.counts for o in self.instance.orders], dtype=np.int64)

    def finish_open_loop(self, actions) -> tuple[np.ndarray, float, dict[str, Any]]:
        """Play the whole episode with decision ``actions[k]`` for order ``k + 1``: the same
        run, revenue and reward as :meth:`step` (one engine call for all of them). Returns
        (final observation, final reward, info with ``revenue``, ``objective``, ``solution``)."""
        if self._sim is None:
            raise EpisodeStateError("call reset() before finish_open_loop()")
        a = check_open_loop(self, len(self._decisions), self._sim.done, actions, 2)
        decisions = a.tolist()
        self._sim.decide_many(decisions)
        self._decisions.extend(decisions)
        revenue = self._sim.revenue
        info = {"revenue": revenue, INFO_OBJECTIVE: revenue, INFO_SOLUTION: decisions}
        return self._observation(), self._reward(revenue), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._sim is None:
            raise EpisodeStateError("call reset() before step()")
        if self._sim.done:
            raise EpisodeStateError("the episode is over (every order has been decided); "
                                    "call reset() to start a new one")
        decision = self._action_value(action)
        self._sim.decide(decision)
        self._decisions.append(decision)
        if not self._sim.done:
            return self._observation(), 0.0, False, False, self._info()
        result = self._sim.result()
        info = self._info()
        info.update(result.to_dict())
        info[INFO_OBJECTIVE] = result.revenue
        info[INFO_SOLUTION] = list(result.decisions)
        return self._observation(), self._reward(result.revenue), True, False, info

    # -- helpers ---------------------------------------------------------------------------

    @property
    def n(self) -> int:
        """Orders in the current list."""
        return self.instance.n

    @property
    def episode_seed(self) -> int | None:
        """The simulation seed of the current episode (None before the first reset)."""
        return self._episode_seed

    @property
    def plant_time(self) -> float:
        """Plant time (days) at which the current order is dispatched."""
        if self._sim is None:
            raise EpisodeStateError("call reset() first")
        return self._sim.now

    def _new_sim(self) -> mob.MakeOrBuySimulation:
        return mob.open_simulation(self.instance, engine=self.engine, seed=self._episode_seed,
                                   **self.sim_options)

    def _action_value(self, action: Any) -> int:
        value = np.asarray(action)
        if value.shape == (1,):
            value = value.reshape(())
        if value.shape != () or value.dtype.kind not in "iub" or int(value) not in (0, 1):
            raise ActionError(f"action {action!r} is not in Discrete(2); allowed: "
                              "0 (make) or 1 (buy)")
        return int(value)

    def _reward(self, revenue: int) -> float:
        if self.reward_mode == "revenue":
            return float(revenue)
        return float((revenue - mob.REVENUE_BOUGHT * self.n)
                     / ((mob.REVENUE_ON_TIME - mob.REVENUE_BOUGHT) * self.n))

    def _observation(self) -> np.ndarray:
        sim = self._sim
        order = None if sim is None else sim.next_order
        dtype = self.observation_space.dtype
        if order is None:
            return np.zeros(self.observation_space.shape, dtype=dtype)
        if self.observation_mode == "paper":
            return np.array(order.counts, dtype=dtype)
        now = sim.now
        slack = order.deadline_days - now - mob.expected_processing_time(*order.counts)
        obs = np.array([*order.counts, order.deadline_days, now, slack], dtype=dtype)
        return np.clip(obs, self.observation_space.low, self.observation_space.high)

    def _info(self) -> dict[str, Any]:
        sim = self._sim
        order = sim.next_order
        return {"order_id": 0 if order is None else order.order_id, "plant_time": sim.now,
                "episode_seed": self._episode_seed, INFO_INSTANCE: self.instance.name,
                INFO_INSTANCE_INDEX: self.instance_index}

    def __getstate__(self) -> dict[str, Any]:
        # A SimPy run holds live generators; store how to replay it instead.
        state = self.__dict__.copy()
        state["_sim"] = None
        state["_has_sim"] = self._sim is not None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        has_sim = state.pop("_has_sim", False)
        self.__dict__.update(state)
        if has_sim:
            self._sim = self._new_sim()
            for decision in self._decisions:
                self._sim.decide(decision)
