"""The plant registry: one :class:`PlantSpec` per plant, so code asks instead of branching.

Everything the rest of the package needs to know about a plant is in its spec: its name, how
to load and check an instance, how to simulate one whole solution, its objective and solution
space, its env (by entry point; envs sit above this layer and are loaded by name), the tree
schema of the env's observation, and the few plant-specific pieces the methods need. Adding a
plant means writing one spec and calling :func:`register_plant`.

>>> get_plant("hfs").objective.name, get_plant("make-or-buy").objective.direction
('makespan', 'max')
>>> sorted(PLANTS)
['hfs', 'make-or-buy']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scmgym.core.schema import TreeSchema
from scmgym.errors import DataError


@dataclass(frozen=True)
class Objective:
    """A plant objective: its name (the key of an env's final ``info``) and its direction."""

    name: str
    direction: str  # "min" or "max"

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return a < b if self.direction == "min" else a > b

    def best(self, values: Sequence[float]) -> float:
        return min(values) if self.direction == "min" else max(values)

    def worst(self, values: Sequence[float]) -> float:
        return max(values) if self.direction == "min" else min(values)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class PlantSpec:
    """What one plant is, for every layer above the simulators.

    Attributes:
        name: the plant's name in problems and run directories (``"hfs"``).
        title: a human title.
        objective: name and direction.
        solution: the solution space of whole-schedule methods, ``"permutation"`` (order ids,
            highest priority first) or ``"binary"`` (one 0/1 decision per order).
        stochastic: whether one solution's objective varies with the seed.
        datasets: the bundled dataset names; ``default_dataset`` is the first.
        env_id, env_entry_point: the Gymnasium id and ``"module:Class"`` of its env.
        settings: the plant settings a problem carries besides the dataset (``("workers",)``).
        load: ``load(dataset) -> instance`` (validates; clear errors).
        check: ``check(instance, problem)`` raises before any simulation if the settings can
            never finish.
        simulate: ``simulate(problem, solution, seed) -> objective value`` (one simulation,
            on ``problem.engine``).
        simulate_many: ``simulate_many(problem, solutions, seeds) -> array`` of objective
            values, one per (solution, seed) pair, or None (then one ``simulate`` each).
        env_kwargs: ``env_kwargs(problem) -> dict`` of the env for this problem.
        label: ``label(problem) -> str`` (name with the settings that change a result).
        tree_schema: ``tree_schema(env) -> TreeSchema`` of the env's observation.
        observations: ``observations(env)``: one observation per order of the instance, in
            dataset order (for leaf coverage).
        lower_bound: ``lower_bound(problem) -> int`` or None where the plant has none.
        rl_env_kwargs: env kwargs of the study's reinforcement-learning variant (PPO).
        schedule_plot: ``schedule_plot(problem, solution, path, title) -> path`` draws one
            solution's schedule, or None.
        default_budget: simulations per run of the study's protocol.
        generate: ``generate(params, seed) -> instance``: a random instance from the plant's
            generator (``params`` holds :attr:`generator_params` keys and ``name``), or None.
        generator_params: the generator's parameters with their defaults (for help and
            errors; see :mod:`scmgym.core.instances`).
    """

    name: str
    title: str
    objective: Objective
    solution: str
    stochastic: bool
    datasets: tuple[str, ...]
    env_id: str
    env_entry_point: str
    load: Callable[[str], Any]
    check: Callable[[Any, Any], None]
    simulate: Callable[[Any, Sequence[int], int], float]
    env_kwargs: Callable[[Any], dict[str, Any]]
    label: Callable[[Any], str]
    tree_schema: Callable[[Any], TreeSchema]
    observations: Callable[[Any], list[list[int]]]
    settings: tuple[str, ...] = ()
    lower_bound: Callable[[Any], int] | None = None
    rl_env_kwargs: dict[str, Any] = field(default_factory=dict)
    schedule_plot: Callable[[Any, Sequence[int], Any, str], Any] | None = None
    default_budget: int = 5000
    simulate_many: Callable[[Any, Sequence[Sequence[int]], Sequence[int]], Any] | None = None
    generate: Callable[[dict[str, Any], int], Any] | None = None
    generator_params: dict[str, Any] = field(default_factory=dict)

    @property
    def default_dataset(self) -> str:
        return self.datasets[0]


PLANTS: dict[str, PlantSpec] = {}


def resolve(target: str) -> Any:
    """The object named by ``"package.module:attribute"`` (imported on first use)."""
    import importlib

    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def register_plant(spec: PlantSpec) -> PlantSpec:
    """Add a plant to the registry (an existing name is replaced)."""
    PLANTS[spec.name] = spec
    return spec


def get_plant(name: str) -> PlantSpec:
    """The spec of plant ``name``; an unknown name is a :class:`DataError` listing the plants."""
    try:
        return PLANTS[name]
    except KeyError:
        raise DataError("unknown plant", value=name, allowed=" or ".join(PLANTS)) from None


def plant_of_env(env: Any) -> PlantSpec:
    """The spec of the plant an env (bare or wrapped, or a subclass) simulates."""
    base = getattr(env, "unwrapped", env)
    by_entry = {spec.env_entry_point: spec for spec in PLANTS.values()}
    for cls in type(base).__mro__:
        spec = by_entry.get(f"{cls.__module__}:{cls.__qualname__}")
        if spec is not None:
            return spec
    raise ValueError(f"{type(base).__name__} is not an scmgym plant env; allowed: "
                     + ", ".join(s.env_id for s in PLANTS.values()))


from scmgym.core import plants as _plants  # noqa: E402  (registers the bundled plants)

del _plants
