"""The iterated local search baseline: budgets, valid solutions, determinism, its start."""

from __future__ import annotations

import pytest

from scmgym.baselines.local_search import local_search
from scmgym.experiments import BudgetedEvaluator, Problem, run_with_budget
from scmgym.simulators import hfs


@pytest.fixture(scope="module")
def problems() -> dict[str, Problem]:
    return {"hfs": Problem.parse("hfs:d1", "2,5,2"), "mob": Problem.parse("make-or-buy:list1")}


@pytest.mark.parametrize("name, budget", [("hfs", 120), ("mob", 40)])
def test_same_seed_same_history_exact_budget(problems, name, budget):
    runs = [run_with_budget("ils", problems[name], budget, s, local_search, neighbours=8)
            for s in (1, 1, 2)]
    assert runs[0].history == runs[1].history != runs[2].history
    assert [r.simulations for r in runs] == [budget] * 3


class Recorder(BudgetedEvaluator):
    def record(self, value, solution=None, **kwargs):
        super().record(value, solution, **kwargs)
        self.__dict__.setdefault("seen", []).append(list(solution))


def test_solutions_are_valid_and_the_edd_start_is_never_lost(problems):
    p = problems["hfs"]
    ev = Recorder(p, 300, seed=0)
    try:
        local_search(ev, 0, neighbours=16)
    except Exception as exc:  # noqa: BLE001
        assert type(exc).__name__ == "BudgetExhausted"
    assert all(sorted(x) == list(range(p.size)) for x in ev.seen)
    edd = hfs.simulate(p.instance, list(hfs.edd_order(p.instance)), workers=p.workers).makespan
    assert ev.seen[0] == [int(v) for v in hfs.edd_order(p.instance)]
    assert ev.best_value <= edd
    mob = Recorder(problems["mob"], 30, seed=0)
    with pytest.raises(Exception, match="budget"):
        local_search(mob, 0, start="random", neighbours=4)
    assert all(len(x) == 100 and set(x) <= {0, 1} for x in mob.seen)


@pytest.mark.parametrize("kwargs, name", [({"neighbours": 0}, "neighbours"),
                                          ({"patience": -1}, "patience"),
                                          ({"kick": 1.5}, "kick"), ({"start": "best"}, "start")])
def test_bad_options_are_named(problems, kwargs, name):
    with pytest.raises(ValueError, match=f"{name}="):
        local_search(BudgetedEvaluator(problems["hfs"], 10, seed=0), 0, **kwargs)
