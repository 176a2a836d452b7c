"""What both plant envs share: the error types they raise and the keys of their final ``info``.

Both envs raise the same errors, each a subclass of Gymnasium's error and of the built-in type a
caller would catch without knowing Gymnasium:

* :class:`EpisodeStateError` (``gymnasium.error.ResetNeeded`` and ``RuntimeError``): ``step()``
  before ``reset()`` or after the episode ended.
* :class:`ActionError` (``gymnasium.error.InvalidAction`` and ``ValueError``): an action outside
  the action space.

The final ``info`` of both envs holds, besides the plant's own keys, ``objective`` (the plant
objective of the simulated episode: makespan or revenue) and ``solution`` (the whole decision
that was simulated: the HFS priority order, highest priority first, or the make-or-buy 0/1
vector indexed by ``order_id - 1``, 1 = buy). Methods read only these two keys.

**Open-loop episodes.** Where an episode's observations do not depend on the actions (the
study's observations of both plants), an env offers ``open_loop_observations()`` (after
``reset``: every step's observation, one row per step, or None when they depend on the actions)
and ``finish_open_loop(actions)`` (play every step at once; the same env random draws, final
observation, final reward and final ``objective`` / ``solution`` as stepping, and every earlier
step's reward is 0.0). Tree trainers use them to decide a whole episode in one compiled pass
(:mod:`scmgym.policies.batch`); the final info of ``finish_open_loop`` holds only the two keys
above and the plant objective's own key.

**Instance distributions.** Both envs take, as ``dataset``, one instance (a name, a path or an
instance object), a list of them, or any dataset text of :mod:`scmgym.core.instances`
(``"list1,list2"``, ``"generated:train"``). ``reset()`` then draws the episode's instance from
the env's RNG (no draw when there is only one, so single-instance episodes are as before), or
takes ``reset(options={"instance": k})``; every ``info`` names it (``instance``,
``instance_index``). The observation space is fixed for the env's life: its bounds hold over
every instance of a bounded source and over a fixed sample of an unbounded stream
(:func:`~scmgym.core.instances.InstanceSource.sample`), and values beyond them are clipped.
"""

from __future__ import annotations

from typing import Any

from gymnasium.error import InvalidAction, ResetNeeded

from scmgym.errors import ScmgymError

#: Final-``info`` keys every scmgym env provides.
INFO_OBJECTIVE = "objective"
INFO_SOLUTION = "solution"


class EpisodeStateError(ScmgymError, ResetNeeded, RuntimeError):
    """``step()`` called before ``reset()`` or after the episode ended."""


class ActionError(ScmgymError, InvalidAction, ValueError):
    """An action outside the env's action space."""


def check_open_loop(env, step: int, done: bool, actions, n_actions: int):
    """The actions of a whole episode as an int64 array, checked: the episode has just been
    reset, there is one action per step, each in ``0..n_actions-1``."""
    import numpy as np

    name = type(env).__name__
    if step != 0 or done:
        raise EpisodeStateError(f"{name}: finish_open_loop() plays a whole episode; call "
                                "reset() first (and no step() before it)")
    a = np.asarray(actions)
    n = env.instance.n
    if a.shape != (n,) or a.dtype.kind not in "iub" or (n and (a.min() < 0
                                                            or a.max() >= n_actions)):
        raise ActionError(f"{name}: finish_open_loop() needs {n} actions in 0..{n_actions - 1}"
                          f" (got shape {a.shape}, dtype {a.dtype})")
    return a.astype(np.int64)


#: The info keys that name an episode's instance.
INFO_INSTANCE = "instance"
INFO_INSTANCE_INDEX = "instance_index"


def instance_source(plant: str, dataset: Any, instance_type: type):
    """The :class:`~scmgym.core.instances.InstanceSource` of an env's ``dataset`` argument:
    dataset text, one instance object, or a list of names / paths / instance objects."""
    from scmgym.core.instances import InstanceSource, parse_source

    if isinstance(dataset, InstanceSource):
        return dataset
    items = [dataset] if isinstance(dataset, instance_type) else dataset
    if isinstance(items, (list, tuple)) and any(isinstance(x, instance_type) for x in items):
        names = [x.name if isinstance(x, instance_type) else str(x) for x in items]
        src = InstanceSource(plant, ",".join(names), tuple(names))
        for k, x in enumerate(items):
            if isinstance(x, instance_type):
                src.pinned[k] = x
        return src
    return parse_source(plant, items if isinstance(items, (list, tuple)) else str(items))


def pick_instance(source, rng, options: dict[str, Any] | None) -> int:
    """The index of a reset's instance: ``options["instance"]`` if given, else a draw from
    ``rng`` (none for a single instance)."""
    if options and options.get("instance") is not None:
        return int(options["instance"])
    return source.draw(rng)
