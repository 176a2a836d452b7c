"""Optuna TPE baseline: the default path gives the old path's trials; options are checked; budgets
are exact; runs are reproducible; the memoised sampler returns Optuna's own arrays; the compiled
normal CDFs return Optuna's bits."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.samplers._tpe import _truncnorm as _TN

from scmgym.baselines import tpe_numerics
from scmgym.baselines.simple import (
    _memo_sampler_class,
    _tpe_sampler,
    optuna_tpe,
    optuna_tpe_reference,
)
from scmgym.baselines.tpe_numerics import log_ndtr, ndtr, optuna_numerics
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


# --- the compiled normal CDFs (scmgym.baselines.tpe_numerics) -----------------------------------

#: Ours and Optuna's name of the same function.
CDFS = {"log_ndtr": (log_ndtr, "_log_ndtr"), "ndtr": (ndtr, "_ndtr")}


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(
        np.all((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))))


def _optunas(name: str, a: np.ndarray) -> np.ndarray:
    return getattr(_TN, name)(a)


@pytest.mark.parametrize("cdf", list(CDFS))
def test_cdfs_have_optunas_bits_across_their_branches(cdf):
    ours, name = CDFS[cdf]
    rng = np.random.default_rng(0)
    # Scales that cover the right tail (> 6), the middle, and the asymptotic series (<= -20),
    # where the C library's pow(a, 2) and a * a differ in a few hundred of these draws. Blocks
    # of 1999 values: ndtr compiles only what Optuna's erf computes element by element.
    draws = [rng.normal(0, scale, 1999 * 30) for scale in (1, 4, 10, 40, 1e3)]
    edges = np.array([0.0, -0.0, 6.0, np.nextafter(6.0, 7), -20.0, np.nextafter(-20.0, -21),
                      2**0.5 / 2, -1.0, 1.0, 5e-324, -5e-324, 1e300, -1e150, 38.0, -38.0])
    for block in [edges, *np.concatenate(draws).reshape(-1, 1999)]:
        assert _same_bits(ours(block), _optunas(name, block))
    # Shapes are kept: a 2-D and an empty input are no special case.
    for block in (draws[1][:1998].reshape(18, 111), np.empty((0, 3)), np.array([-25.0])):
        assert _same_bits(ours(block), _optunas(name, block))


@given(st.floats(min_value=-1e150, max_value=1e300, allow_nan=False))
@settings(max_examples=400, deadline=None)
def test_cdfs_equal_optunas_on_any_value(x):
    a = np.array([x, -20.0 - min(abs(x), 1e150)])  # and one value in the series' range
    for ours, name in CDFS.values():
        assert _same_bits(ours(a), _optunas(name, a))


@pytest.mark.parametrize("cdf", list(CDFS))
def test_what_is_not_compiled_goes_to_optuna(cdf):
    ours, name = CDFS[cdf]
    for a in (np.array([np.nan, np.inf, -np.inf, 0.5]), np.arange(-3, 4),
              np.linspace(-30, 8, 2500)):  # non-finite, integers, and 2000 values or more
        assert _same_bits(ours(a), _optunas(name, a))
    with pytest.raises(OverflowError):  # Optuna's a**2 on a Python float
        log_ndtr(np.array([-1e200]))


def test_the_swap_is_undone_on_exit_and_on_error():
    original = (_TN._log_ndtr, _TN._ndtr)
    with optuna_numerics() as swapped:
        assert swapped and (_TN._log_ndtr, _TN._ndtr) == (log_ndtr, ndtr)
    assert (_TN._log_ndtr, _TN._ndtr) == original
    with pytest.raises(RuntimeError), optuna_numerics():
        raise RuntimeError("inside")
    assert (_TN._log_ndtr, _TN._ndtr) == original


def test_a_run_with_the_compiled_cdfs_is_optunas_run(problem, monkeypatch):
    fast, _ = _run(problem, 30, 5)
    monkeypatch.setattr(tpe_numerics, "_optuna_module", lambda: None)  # swaps nothing
    with optuna_numerics() as swapped:
        assert not swapped
    plain, _ = _run(problem, 30, 5)
    assert fast.rows == plain.rows
