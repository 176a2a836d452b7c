"""The make-or-buy reference policy: a dynamic programme that observes the plant time.

A fixed plan (the MILP's, the GA's) decides every order before the plant runs; a tree decides
each order from what its observation shows. This policy knows more than either: at each order
it reads the plant time (when the plant is free for the next made order) and looks ahead over
every later order with a dynamic programme over expected processing times. It is the
reference that makes "% of best-known" a command, and it is labelled as what it is: it uses
information a fixed plan does not have, and the expected times, not the simulated ones.

The programme. Orders are decided in list order ``k = 0..n-1`` at plant time ``t``; buying
earns 70 and leaves ``t`` unchanged; making takes a processing time ``D_k`` and earns 100 if
``t + D_k <= deadline_k``, else 50. With ``V_n = 0``::

    V_k(t) = max(70 + V_{k+1}(t),  E[r_k(t + D_k) + V_{k+1}(t + D_k)])

where the expectation is the mean over ``D_k``'s samples: ``durations="simulated"`` (default)
draws them by simulating order k alone on the idle plant (every other order bought) with
``samples`` seeds of the ``"oracle"`` stream; ``durations="expected"`` uses the one value
:func:`~scmgym.simulators.make_or_buy.expected_processing_time`. The programme is solved
on a grid of plant times ``0, h, 2h, ...`` up to the latest deadline (beyond it every later
order is bought, ``V_k = 70 (n - k)``), with ``V_{k+1}`` read between grid points by linear
interpolation. Acting: at order ``k`` and the observed plant time, make when the make branch
is worth more (ties: buy, which risks nothing).

>>> from scmgym.simulators import make_or_buy as mob
>>> policy = OraclePolicy.for_instance(mob.load_instance("list1"), durations="expected")
>>> policy.decide(0, 0.0), round(policy.value(0, 0.0))
(1, 8110)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

#: Default grid step of the plant time (days).
GRID_DAYS = 1.0
#: Where the processing times of the programme come from.
DURATIONS = ("simulated", "expected")
#: Index of the plant time in the make-or-buy env's extended observation.
PLANT_TIME_INDEX = 4


class OraclePolicy:
    """The dynamic-programme reference of one make-or-buy order list (module docstring).

    It acts in the make-or-buy env with ``observation="extended"`` (it reads the plant time,
    observation index 4) through the SB3 ``predict``, keeping the order number in the
    predictor state (``episode_start`` resets it).

    Args:
        counts: (n, 3) components a, b, c of each order, in list order.
        deadlines: (n,) deadlines (days).
        durations: (n, m) processing-time samples of each order (days; m >= 1).
        grid: the plant-time grid step (days).
        meta: provenance kept in JSON.
    """

    kind: ClassVar[str] = "oracle"
    env_kwargs: ClassVar[dict[str, Any]] = {"observation": "extended"}

    def __init__(self, counts, deadlines, durations, *, grid: float = GRID_DAYS,
                 meta: dict[str, Any] | None = None) -> None:
        from scmgym.simulators import make_or_buy as mob

        self.counts = np.asarray(counts, dtype=np.int64).reshape(-1, 3)
        self.deadlines = np.asarray(deadlines, dtype=float).reshape(-1)
        self.durations = np.asarray(durations, dtype=float)
        n = self.counts.shape[0]
        if self.deadlines.shape[0] != n:
            raise ValueError(f"{n} orders but {self.deadlines.shape[0]} deadlines; allowed: "
                             "one deadline per order")
        if self.durations.ndim != 2 or self.durations.shape[0] != n or \
                self.durations.shape[1] < 1 or not np.all(self.durations >= 0):
            raise ValueError(f"durations of shape {self.durations.shape}; allowed: ({n}, m), "
                             "m >= 1 non-negative samples per order")
        if not grid > 0:
            raise ValueError(f"grid={grid!r}; allowed: a positive number of days")
        self.grid = float(grid)
        self.meta = dict(meta or {})
        self.rewards = (mob.REVENUE_ON_TIME, mob.REVENUE_LATE, mob.REVENUE_BOUGHT)
        n = self.n
        top = float(self.deadlines.max()) if n else 0.0
        self.t = np.arange(0.0, top + 2 * self.grid, self.grid)
        self.v = np.zeros((n + 1, self.t.size))
        for k in range(n - 1, -1, -1):
            make, buy = self._branches(k, self.t)
            self.v[k] = np.maximum(make, buy)

    @classmethod
    def for_instance(cls, instance, *, durations: str = "simulated", samples: int = 30,
                     grid: float = GRID_DAYS, engine: str = "fast",
                     meta: dict[str, Any] | None = None) -> OraclePolicy:
        """The policy of a :class:`~scmgym.simulators.make_or_buy.MakeOrBuyInstance`, with
        ``durations`` ``"simulated"`` (``samples`` per order) or ``"expected"``."""
        from scmgym.core.seeds import stream_seeds
        from scmgym.simulators import make_or_buy as mob

        if durations not in DURATIONS:
            raise ValueError(f"durations={durations!r}; allowed: {', '.join(DURATIONS)}")
        if not (isinstance(samples, int) and samples >= 1):
            raise ValueError(f"samples={samples!r}; allowed: an integer >= 1")
        counts = [o.counts for o in instance.orders]
        deadlines = [o.deadline_days for o in instance.orders]
        if durations == "expected":
            table = np.array([[mob.expected_processing_time(*c)] for c in counts])
        else:
            seeds = list(stream_seeds("oracle", samples))
            table = np.zeros((instance.n, samples))
            for k in range(instance.n):
                plan = [1] * instance.n
                plan[k] = 0
                runs = mob.simulate_many(instance, plan, seeds, records=True, engine=engine)
                table[k] = [r.records[k].completion - r.records[k].start for r in runs]
        return cls(counts, deadlines, table, grid=grid,
                   meta={"instance": instance.name, "durations": durations,
                         "samples": int(table.shape[1]), **(meta or {})})

    @property
    def n(self) -> int:
        return int(self.counts.shape[0])

    def _later(self, k: int, t: np.ndarray) -> np.ndarray:
        """V_{k+1} at plant times t (every later order bought beyond the grid)."""
        bought = self.rewards[2] * (self.n - k - 1)
        return np.interp(t, self.t, self.v[k + 1], right=bought)

    def _branches(self, k: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        on_time, late, bought = self.rewards
        done = t[:, None] + self.durations[k][None, :]
        gain = np.where(done <= self.deadlines[k], on_time, late) + \
            self._later(k, done.ravel()).reshape(done.shape)
        return gain.mean(axis=1), bought + self._later(k, t)

    def value(self, k: int, plant_time: float) -> float:
        """The programme's expected revenue of orders k..n-1 from ``plant_time``."""
        make, buy = self._branches(k, np.array([float(plant_time)]))
        return float(max(make[0], buy[0]))

    def decide(self, k: int, plant_time: float) -> int:
        """0 (make) or 1 (buy) for order ``k`` (0-based) at ``plant_time``."""
        if not 0 <= k < self.n:
            raise ValueError(f"order {k}; allowed: 0..{self.n - 1}")
        make, buy = self._branches(k, np.array([float(plant_time)]))
        return 0 if make[0] > buy[0] else 1

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = True):
        """SB3-style: the extended observation -> (action, next order number)."""
        k = 0 if (episode_start is None and state is None) or \
            (episode_start is not None and bool(np.all(episode_start))) else int(state)
        arr = np.asarray(obs, dtype=float).reshape(-1)
        if arr.size <= PLANT_TIME_INDEX:
            raise ValueError(f"the oracle reads the plant time (observation index "
                             f"{PLANT_TIME_INDEX}); got an observation of {arr.size} "
                             "features; allowed: the make-or-buy env with "
                             "observation='extended'")
        return np.asarray(self.decide(k, arr[PLANT_TIME_INDEX]), dtype=np.int64), k + 1

    # -- saving ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        from scmgym.policies.base import FORMAT_VERSION

        return {"format": "scmgym-policy", "version": FORMAT_VERSION, "kind": self.kind,
                "counts": self.counts.tolist(), "deadlines": self.deadlines.tolist(),
                "durations": np.round(self.durations, 4).tolist(), "grid": self.grid,
                "env_kwargs": dict(self.env_kwargs), "meta": self.meta}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OraclePolicy:
        return cls(data["counts"], data["deadlines"], data["durations"],
                   grid=float(data.get("grid", GRID_DAYS)), meta=data.get("meta"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json() + "\n")
        return path

    def to_text(self) -> str:
        return (f"oracle: dynamic programme over {self.durations.shape[1]} processing-time "
                f"sample(s) per order, observing the plant time ({self.n} orders, grid "
                f"{self.grid:g} days)")
