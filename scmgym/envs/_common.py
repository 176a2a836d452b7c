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
