"""A problem: one plant, one instance and the plant's settings, seen by every method.

Schedule-as-a-whole methods call :meth:`Problem.evaluate` (one real simulation of a whole
solution); policy-learning methods call :meth:`Problem.make_env`. Everything plant-specific is
asked of the plant's :class:`~scmgym.core.registry.PlantSpec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scmgym.core.registry import Objective, PlantSpec, get_plant, resolve
from scmgym.errors import DataError

DEFAULT_WORKERS = (2, 5, 2)
#: The simulator engines every plant offers (the same results; ``"fast"`` is compiled).
ENGINES = ("fast", "simpy")


def parse_workers(value: Sequence[int] | str) -> tuple[int, int, int]:
    from scmgym.simulators.hfs import Workers

    return tuple(Workers.parse(value))


@dataclass(frozen=True)
class Problem:
    """One plant instance seen as a black box ``evaluate(solution, seed) -> objective``.

    Args:
        plant: a registered plant name (``"hfs"`` or ``"make-or-buy"``).
        dataset: a bundled name or a path; or, for policy-learning methods, a distribution of
            instances: a comma-separated list or a split of the plant's generator
            (``"list1,list2"``, ``"generated:train"``; :mod:`scmgym.core.instances`).
        workers: HFS worker pools (M, E, R); None is the plant's default (2, 5, 2). Giving it
            for a plant without this setting is an error.
        engine: the simulator engine of every evaluation and env, ``"fast"`` (compiled,
            default) or ``"simpy"`` (the reference models). Both give the same results for the
            same seed, so the engine is not part of the problem's identity (equality,
            :meth:`to_dict`, labels).

    >>> p = Problem.parse("hfs:d1", "2,5,2")
    >>> p.label, p.objective.name, p.direction, p.kind, p.size
    ('hfs:d1 (2,5,2)', 'makespan', 'min', 'permutation', 100)
    """

    plant: str
    dataset: str
    workers: tuple[int, int, int] | None = None
    engine: str = field(default="fast", compare=False)

    def __post_init__(self) -> None:
        spec = get_plant(self.plant)
        if self.engine not in ENGINES:
            raise DataError("unknown engine", column="engine", value=self.engine,
                            allowed=" or ".join(ENGINES))
        object.__setattr__(self, "dataset", str(self.dataset))
        if "workers" in spec.settings:
            workers = DEFAULT_WORKERS if self.workers is None else self.workers
            object.__setattr__(self, "workers", parse_workers(workers))
        elif self.workers is not None:
            raise DataError(f"the {spec.title} has no worker pools", column="workers",
                            value=self.workers, allowed="no workers setting for this plant")
        from scmgym.core.instances import parse_source

        source = parse_source(self.plant, self.dataset)
        object.__setattr__(self, "dataset", source.text)
        inst = source.get(0)
        spec.check(inst, self)  # the others are checked by the env when first drawn
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_instance", inst if source.single else None)

    @classmethod
    def parse(cls, text: str, workers: Sequence[int] | str | None = None, *,
              engine: str = "fast") -> Problem:
        """``"PLANT:DATASET"``, e.g. ``"hfs:d1"`` (dataset part: a bundled name or a path)."""
        from scmgym.core.registry import PLANTS

        plant, sep, dataset = text.partition(":")
        if not sep or not dataset:
            allowed = " or ".join(f"{s.name}:<{s.datasets[0]}..{s.datasets[-1]} or path>"
                                  for s in PLANTS.values())
            raise DataError("problem must be PLANT:DATASET", value=text, allowed=allowed)
        return cls(plant, dataset, workers, engine)

    # -- what the plant is -----------------------------------------------------------------------
    @property
    def spec(self) -> PlantSpec:
        return get_plant(self.plant)

    @property
    def source(self):
        """Where the instances come from (:class:`~scmgym.core.instances.InstanceSource`)."""
        return self._source  # type: ignore[attr-defined]

    @property
    def single(self) -> bool:
        """One instance (every method applies), not a distribution (policy methods only)."""
        return self.source.single

    @property
    def instance(self):
        """The problem's one instance; a distribution has none (a :class:`DataError`)."""
        if self._instance is None:  # type: ignore[attr-defined]
            raise DataError("this needs one instance, but the problem is a distribution of "
                            "instances", value=self.name,
                            allowed="a single dataset (a bundled name or a path)")
        return self._instance  # type: ignore[attr-defined]

    @property
    def name(self) -> str:
        """``plant:dataset``."""
        return f"{self.plant}:{self.dataset}"

    @property
    def label(self) -> str:
        """The name with the settings that change a result (``hfs:d1 (2,5,2)``)."""
        return self.spec.label(self)

    @property
    def objective(self) -> Objective:
        return self.spec.objective

    @property
    def direction(self) -> str:
        """``"min"`` or ``"max"``."""
        return self.spec.objective.direction

    @property
    def kind(self) -> str:
        """Solution space: ``"permutation"`` or ``"binary"`` (1 = buy)."""
        return self.spec.solution

    @property
    def size(self) -> int:
        return self.instance.n

    @property
    def stochastic(self) -> bool:
        """Whether one solution's objective varies with the seed."""
        return self.spec.stochastic

    @property
    def settings(self) -> dict[str, Any]:
        """The plant settings of this problem (e.g. ``{"workers": [2, 5, 2]}``)."""
        return {k: list(getattr(self, k)) for k in self.spec.settings}

    def better(self, a: float, b: float) -> bool:
        return self.objective.better(a, b)

    def lower_bound(self) -> int | None:
        """The plant's analytic lower bound, or None where it has none."""
        fn = self.spec.lower_bound
        return None if fn is None or not self.single else fn(self)

    # -- running it ------------------------------------------------------------------------------
    def evaluate(self, solution: Sequence[int], *, seed: int = 0) -> float:
        """One real simulation of ``solution``."""
        return self.spec.simulate(self, solution, seed)

    def evaluate_many(self, solutions: Sequence[Sequence[int]],
                      seeds: Sequence[int]) -> np.ndarray:
        """One real simulation per (solution, seed) pair, as a float array; entry ``i`` equals
        ``evaluate(solutions[i], seed=seeds[i])``. The plant's batch path (compiled, no
        per-order records) is used where it has one."""
        if len(solutions) != len(seeds):
            raise ValueError(f"{len(solutions)} solutions and {len(seeds)} seeds: one seed per "
                             "solution")
        if not len(solutions):
            return np.empty(0)
        many = self.spec.simulate_many
        if many is None:
            return np.array([self.evaluate(x, seed=int(s)) for x, s in
                             zip(solutions, seeds, strict=True)], dtype=float)
        return np.asarray(many(self, solutions, seeds), dtype=float)

    def env_kwargs(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments of the plant's env for this problem."""
        return {**self.spec.env_kwargs(self), **overrides}

    def make_env(self, **kwargs: Any):
        """The plant's Gymnasium env (the unwrapped class) for this problem."""
        import inspect

        cls = resolve(self.spec.env_entry_point)
        allowed = [n for n in inspect.signature(cls).parameters if n != "self"]
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise DataError(f"the {self.spec.title} env takes no argument "
                            f"{', '.join(unknown)}", value=self.name,
                            allowed=", ".join(allowed))
        return cls(**self.env_kwargs(**kwargs))

    def with_engine(self, engine: str) -> Problem:
        """The same problem on another engine."""
        return Problem(self.plant, self.dataset, self.workers, engine)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that rebuilds the problem with :meth:`from_dict` (the engine is not part
        of it: see :attr:`engine`)."""
        return {"plant": self.plant, "dataset": self.dataset, **self.settings}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        kwargs = {k: tuple(v) for k, v in data.items() if k not in ("plant", "dataset")}
        return cls(data["plant"], data["dataset"], **kwargs)
