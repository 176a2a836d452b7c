"""The problem view, the budget wrapper, RunResult, and the simple baselines."""

from __future__ import annotations

import pytest

from scmgym.baselines.simple import edd_greedy, optuna_tpe, random_search
from scmgym.errors import BudgetExhausted, DataError
from scmgym.experiments import BudgetedEvaluator, Problem, RunResult, run_with_budget


def test_problem_views():
    hfs = Problem.parse("hfs:d1", "2,5,2")
    assert (hfs.kind, hfs.direction, hfs.size, hfs.objective.name) == ("permutation", "min",
                                                                       100, "makespan")
    assert hfs.evaluate(list(range(100))) == 468.0 and not hfs.stochastic
    mob = Problem.parse("make-or-buy:list1")
    assert (mob.kind, mob.direction, mob.stochastic) == ("binary", "max", True)
    assert mob.evaluate([1] * 100, seed=3) == 7000.0
    assert mob.make_env().instance.n == 100 and hfs.make_env().workers == (2, 5, 2)


@pytest.mark.parametrize("text, message", [
    ("hfs", "problem must be PLANT:DATASET"), ("flowshop:d1", "unknown plant"),
    ("hfs:d9", "no such dataset"),
])
def test_bad_problems(text, message):
    with pytest.raises(DataError, match=message):
        Problem.parse(text)


def test_budget_wrapper_counts_stops_and_writes_history(tmp_path):
    ev = BudgetedEvaluator(Problem.parse("hfs:d1"), 3, seed=0, history_path=tmp_path / "h.csv")
    values = [ev(list(range(100))), ev(list(range(99, -1, -1))),
              ev(list(range(100)))]
    assert values == [468.0, 470.0, 468.0]
    with pytest.raises(BudgetExhausted):
        ev(list(range(100)))
    ev.close()
    assert ev.used == 3 and ev.best_value == 468.0 and ev.best_solution == list(range(100))
    assert (tmp_path / "h.csv").read_text().splitlines() == [
        "simulation,value,best_so_far,episode_return,generation", "1,468.0,468.0,,",
        "2,470.0,468.0,,", "3,468.0,468.0,,"]


def test_stochastic_seeds_are_reproducible():
    runs = [run_with_budget("random", Problem.parse("make-or-buy:list1"), 8, 5, random_search)
            for _ in range(2)]
    assert runs[0].history == runs[1].history and runs[0].simulations == 8


def test_run_result_round_trip(tmp_path):
    r = run_with_budget("random", Problem.parse("hfs:d4"), 5, 1, random_search)
    r.save(tmp_path)
    back = RunResult.load(tmp_path)
    assert back == r and back.best_value == min(v for _, v, *_ in r.history)


def test_edd_is_one_simulation():
    r = run_with_budget("edd", Problem.parse("hfs:d1"), 5000, 0, edd_greedy)
    assert (r.simulations, r.best_value) == (1, 472.0)
    q = run_with_budget("edd", Problem.parse("hfs:d1"), 5000, 0, edd_greedy,
                        tie_break="quicksort")
    assert q.best_value == 470.0
    with pytest.raises(ValueError, match="HFS plant only"):
        run_with_budget("edd", Problem.parse("make-or-buy:list1"), 5, 0, edd_greedy)


def test_tpe_respects_budget_and_seed():
    a = run_with_budget("tpe", Problem.parse("hfs:d4"), 15, 2, optuna_tpe)
    b = run_with_budget("tpe", Problem.parse("hfs:d4"), 15, 2, optuna_tpe)
    assert a.simulations == 15 and a.history == b.history
    m = run_with_budget("tpe", Problem.parse("make-or-buy:list1"), 12, 0, optuna_tpe)
    assert m.simulations == 12 and m.best_value >= 5000
