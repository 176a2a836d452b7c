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
"""

from __future__ import annotations

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
