"""Optuna TPE baseline: the default path gives the old path's trials; options are checked; budgets
are exact; runs are reproducible; the memoised sampler returns Optuna's own arrays."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from scmgym.baselines.simple import (
    _memo_sampler_class,
    _tpe_sampler,
    optuna_tpe,
    optuna_tpe_reference,
)
from scmgym.experiments import BudgetedEvaluator, Problem, run_method

PROBLEMS = {"hfs": ("hfs:d1", "2,5,2"), "make-or-buy": ("make-or-buy:list1",)}


@pytest.fixture(scope="module", params=list(PROBLEMS))
def problem(request) -> Problem:
    return Problem.parse(*PROBLEMS[request.param])


def _run(problem: Problem, budget: int, seed: int, fn=optuna_tpe, **hparams):
    ev = BudgetedEvaluator(problem, budget, seed=seed)
    extra = fn(ev, seed, **hparams)
    return ev, extra


@pytest.mark.slow
def test_default_gives_the_old_paths_history(problem):
    # 40 trials: 10 random startup trials, then 30 TPE suggestions on a growing history.
    old, old_extra = _run(problem, 40, 7, optuna_tpe_reference)
    new, new_extra = _run(problem, 40, 7)
    assert new.rows == old.rows
    assert new.best_solution == old.best_solution
    assert new_extra == old_extra == {"trials": 40}


def test_options_at_their_defaults_are_the_default(problem):
    base, _ = _run(problem, 25, 3)
    same, _ = _run(problem, 25, 3, batch=1, n_startup_trials=None, n_ei_candidates=None,
                   multivariate=None, window=None)
    assert same.rows == base.rows
    # A window as long as the run never drops a trial: the same TPE.
    wide, _ = _run(problem, 25, 3, window=25)
    assert wide.rows == base.rows


@pytest.mark.parametrize(("name", "value", "allowed"), [
    ("batch", 0, "an integer >= 1"),
    ("batch", 2.5, "an integer >= 1"),
    ("batch", True, "an integer >= 1"),
    ("n_startup_trials", -1, "an integer >= 0"),
    ("n_ei_candidates", 0, "an integer >= 1"),
    ("n_ei_candidates", "24", "an integer >= 1"),
    ("window", 0, "an integer >= 1"),
    ("multivariate", "yes", "true or false"),
    ("multivariate", 1, "true or false"),
])
def test_bad_options_are_rejected_before_any_simulation(name, value, allowed):
    ev = BudgetedEvaluator(Problem.parse(*PROBLEMS["make-or-buy"]), 5, seed=0)
    with pytest.raises(ValueError, match=f"{name}=.*allowed: .*{allowed}"):
        optuna_tpe(ev, 0, **{name: value})
    assert ev.used == 0


@pytest.mark.parametrize("hparams", [{}, {"batch": 7}, {"batch": 30}, {"window": 12},
                                     {"n_startup_trials": 5, "n_ei_candidates": 8},
                                     {"multivariate": False}])
def test_budget_is_respected_exactly(problem, hparams):
    ev, extra = _run(problem, 23, 1, **hparams)
    assert ev.used == len(ev.rows) == 23
    assert extra == {"trials": 23}
    assert [row[0] for row in ev.rows] == list(range(1, 24))


@pytest.mark.slow
@pytest.mark.parametrize("hparams", [{}, {"batch": 4}, {"window": 15}, {"n_ei_candidates": 6},
                                     {"multivariate": False}])
def test_same_seed_same_run(problem, hparams):
    first, _ = _run(problem, 30, 11, **hparams)
    again, _ = _run(problem, 30, 11, **hparams)
    assert first.rows == again.rows
    assert first.best_solution == again.best_solution


@pytest.mark.slow
def test_variants_change_the_search(problem):
    base, _ = _run(problem, 30, 2)
    for hparams in ({"batch": 5}, {"window": 12}, {"n_ei_candidates": 4}):
        variant, _ = _run(problem, 30, 2, **hparams)
        assert variant.rows != base.rows, hparams


def test_solutions_are_valid(problem):
    ev, _ = _run(problem, 15, 0, batch=4)
    n = problem.size
    if problem.kind == "permutation":
        assert sorted(ev.best_solution) == list(range(n))
    else:
        assert set(ev.best_solution) <= {0, 1} and len(ev.best_solution) == n


def test_memoised_rows_are_optunas_arrays():
    """The memo's arrays equal ``TPESampler._get_internal_repr``'s, running trials included."""
    assert _memo_sampler_class() is not None, "the installed Optuna lacks the hooks"
    space = {str(k): optuna.distributions.IntDistribution(0, 9) for k in range(6)}
    sampler = _tpe_sampler(space, seed=0)
    study = optuna.create_study(sampler=sampler)
    for k in range(14):
        trial = study.ask(space)
        study.tell(trial, float(sum(trial.params.values()) + k % 3))
    running = [study.ask(space) for _ in range(2)]  # pending: read from their params
    trials = study._get_trials(deepcopy=False, use_cache=False)
    assert len(trials) == 16 and not running[0]._cached_frozen_trial.state.is_finished()
    for sub in (space, {"3": space["3"], "0": space["0"]}):
        for chosen in (trials, trials[::-3], []):
            mine = sampler._get_internal_repr(chosen, sub, study)
            theirs = optuna.samplers.TPESampler._get_internal_repr(sampler, chosen, sub, study)
            assert list(mine) == list(theirs)
            for name in theirs:
                assert mine[name].dtype == theirs[name].dtype
                assert mine[name].flags.c_contiguous
                np.testing.assert_array_equal(mine[name], theirs[name])
    # A search space the memo was not built for falls back to Optuna's own code.
    other = {"0": optuna.distributions.IntDistribution(0, 20)}
    assert sampler._columns(other) is None


def test_hyperparameters_reach_it_through_run_method():
    result = run_method("tpe", Problem.parse(*PROBLEMS["make-or-buy"]), 12, seed=4,
                        eval_episodes=0, batch=5, window=8)
    assert result.simulations == 12
    assert result.extra["hparams"] == {"batch": 5, "window": 8}
    assert result.extra["status"] == "done" and result.extra["trials"] == 12
