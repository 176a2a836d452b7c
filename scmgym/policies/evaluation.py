"""The one evaluation path: a policy or a plan over N fresh episodes of a problem.

Episode ``k`` of an evaluation uses seed ``k`` of a named stream
(:func:`scmgym.core.seeds.stream_seed`): ``"reevaluation"`` for judging a run's outcome,
``"test"`` for held-out checks. The streams do not depend on the run, so every method is judged
on the same episodes, and a longer evaluation extends a shorter one. Statistics use the sample
standard deviation (``ddof=1``; 0 for one episode).

* A plan (:class:`PlanPolicy`, a whole solution) is simulated once per seed, in one batch
  (:meth:`Problem.evaluate_many`); on a deterministic plant one simulation is the whole
  evaluation.
* A policy (anything with the stable-baselines3 ``predict``: trees, SB3 models) acts in the
  problem's env, reset with each seed, and the episode's final ``info["objective"]`` is its
  value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scmgym.core import Problem, stream_seeds
from scmgym.policies.base import PlanPolicy, run_episode


def summary(values: Sequence[float]) -> dict[str, Any]:
    """``mean``, ``sd`` (sample), ``min``, ``max`` and ``values`` of some objective values."""
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "sd": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            "min": float(arr.min()), "max": float(arr.max()),
            "values": [float(v) for v in arr]}


def evaluate(policy, problem: Problem, n_episodes: int = 100, *, stream: str = "reevaluation",
             env_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate ``policy`` on ``problem`` over ``n_episodes`` episodes of seed ``stream``.

    Args:
        policy: a :class:`PlanPolicy` or anything with ``predict`` (tree policies, SB3 models).
        problem: the problem.
        n_episodes: episodes (>= 1).
        stream: the seed stream.
        env_kwargs: env keyword arguments beyond the problem's (e.g. the RL variant of the
            HFS env a PPO model was trained on).

    Returns:
        ``stream``, ``n_episodes`` and the :func:`summary` of the objective values.

    >>> p = Problem.parse("make-or-buy:list1")
    >>> evaluate(PlanPolicy([1] * 100), p, 3)["values"]
    [7000.0, 7000.0, 7000.0]
    """
    if not (isinstance(n_episodes, int) and n_episodes >= 1):
        raise ValueError(f"n_episodes={n_episodes!r}; allowed: an integer >= 1")
    if isinstance(policy, PlanPolicy):
        n_sims = n_episodes if problem.stochastic else 1
        values = problem.evaluate_many([policy.solution] * n_sims,
                                       list(stream_seeds(stream, n_sims))).tolist()
        values = values * (n_episodes // n_sims)
    else:
        env = problem.make_env(**(env_kwargs or {}))
        values = [float(run_episode(policy, env, s)[1]["objective"])
                  for s in stream_seeds(stream, n_episodes)]
    return {"stream": stream, "n_episodes": n_episodes, **summary(values)}
