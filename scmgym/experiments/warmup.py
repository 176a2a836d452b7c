"""Compile every numba kernel of the package in this process (before starting workers)."""

from __future__ import annotations

from scmgym.simulators.compiled import HAVE_NUMBA


def warm_up() -> None:
    """Compile (or load from numba's disk cache) every compiled kernel of the package, in this
    process, by running each compiled path once on the bundled data.

    numba's disk cache is not safe against several processes compiling the same kernel and
    writing its cache files at the same moment (a process may load a half-written file). A
    parent that starts worker processes (``scmgym compare --jobs N``, the test runner) calls
    this first, so that the workers only read the cache. With a warm cache it takes well under
    a second; on a fresh installation it compiles everything once (a few seconds).
    """
    if not HAVE_NUMBA:
        return
    from scmgym.core.problem import Problem
    from scmgym.simulators import hfs
    from scmgym.simulators import make_or_buy as mob
    from scmgym.trainers.eldt import ELDT

    d1 = hfs.load_instance("d1")
    hfs.simulate_many(d1, [hfs.identity_order(d1)])
    hfs.simulate(d1, hfs.identity_order(d1), engine="fast")
    list1 = mob.load_instance("list1")
    mob.simulate_many(list1, [0, 1] * 50, [0])
    mob.simulate(list1, [0, 1] * 50, engine="fast")
    for problem in (Problem("hfs", "d1"), Problem("make-or-buy", "list1")):
        # Open-loop episodes: the tree lookup, the compiled Q-learning and the env's draws.
        ELDT(problem.make_env(), seed=0, population_size=2, generations=0,
             episodes_per_evaluation=1).learn(budget=2)
