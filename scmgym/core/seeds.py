"""Named seed streams: every seed a run uses comes from ``(purpose, index)``.

A seed is drawn from ``numpy.random.SeedSequence(root, spawn_key=(purpose code, index))``, so
the streams of different purposes never overlap and adding episodes to one stream leaves the
others as they are. The re-evaluation and test streams do not depend on a run's seed: every
method is judged on the same fresh scenarios (common random numbers).

>>> stream_seed("reevaluation", 0) == stream_seed("reevaluation", 0)
True
>>> stream_seed("reevaluation", 0) != stream_seed("test", 0)
True
"""

from __future__ import annotations

import numpy as np

#: The purposes a seed can serve, with their spawn-key codes (never renumber one).
STREAMS: dict[str, int] = {"search": 0, "reevaluation": 1, "test": 2, "validation": 3,
                           # generated instances of the splits (scmgym.core.instances)
                           "instances-train": 4, "instances-validation": 5,
                           "instances-test": 6,
                           # the make-or-buy oracle's duration samples; the tree trainers'
                           # leaf-fitting episodes (root: the run's seed)
                           "oracle": 7, "leaf-fit": 8,
                           # the runs of a bi-level study (scmgym.planning.bilevel.study)
                           "bilevel-runs": 9}


def stream_seed(purpose: str, index: int, root: int = 0) -> int:
    """The ``index``-th seed (0-based) of stream ``purpose``, an integer in ``[0, 2**63)``."""
    if purpose not in STREAMS:
        raise ValueError(f"seed stream {purpose!r}; allowed: {', '.join(STREAMS)}")
    if index < 0 or root < 0:
        raise ValueError(f"seed stream index={index}, root={root}; allowed: integers >= 0")
    seq = np.random.SeedSequence(int(root), spawn_key=(STREAMS[purpose], int(index)))
    return int(seq.generate_state(1, np.uint64)[0] >> np.uint64(1))


def stream_seeds(purpose: str, n: int, root: int = 0) -> list[int]:
    """The first ``n`` seeds of stream ``purpose``."""
    return [stream_seed(purpose, k, root) for k in range(n)]
