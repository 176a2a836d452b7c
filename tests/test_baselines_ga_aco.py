"""The GA and ACO baselines: runs on both plants, budgets, operators, quirks and fixes."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest
from deap import tools
from hypothesis import given, settings
from hypothesis import strategies as st

from scmgym.baselines import aco, ga
from scmgym.baselines.aco import ant_colony, construct_ant, update_pheromone
from scmgym.baselines.ga import (
    genetic_algorithm,
    one_gene_swap,
    ox_child,
    rank_selection,
    swap_mutation,
)
from scmgym.errors import BudgetExhausted
from scmgym.experiments import BudgetedEvaluator, Problem, run_with_budget

METHODS = {"ga": genetic_algorithm, "aco": ant_colony}


@pytest.fixture(scope="module")
def problems() -> dict[str, Problem]:
    return {name: Problem.parse(name) for name in ("hfs:d4", "hfs:d1", "make-or-buy:list1")}


class Recorder(BudgetedEvaluator):
    """A budgeted evaluator that also keeps every simulated solution."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.solutions: list[list[int]] = []

    def record(self, value, solution=None, **kwargs):
        super().record(value, solution, **kwargs)
        self.solutions.append(list(solution))


def run_recorded(fn, problem: Problem, budget: int, seed: int = 0, **hparams):
    """Run ``fn`` until it returns or the budget is spent; return (evaluator, returned dict)."""
    ev = Recorder(problem, budget, seed=seed)
    try:
        out = fn(ev, seed, **hparams)
    except BudgetExhausted:
        out = None
    return ev, out


# -- whole runs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("name, budget", [("hfs:d4", 60), ("make-or-buy:list1", 16)])
@pytest.mark.parametrize("faithful", [False, True])
def test_same_seed_same_history_and_exact_budget(problems, method, name, budget, faithful):
    runs = [run_with_budget(method, problems[name], budget, seed, METHODS[method],
                            faithful=faithful) for seed in (3, 3, 4)]
    assert runs[0].history == runs[1].history
    assert runs[0].history != runs[2].history
    assert [r.simulations for r in runs] == [budget] * 3


def test_global_random_is_seeded_and_restored(problems):
    random.seed(123)
    expected = random.random()
    random.seed(123)
    run_with_budget("ga", problems["hfs:d4"], 30, 0, genetic_algorithm)
    assert random.random() == expected


@pytest.mark.parametrize("method, hparams, expected", [
    ("ga", {"population_size": 4, "generations": 3}, 4 + 3 * 4),
    ("ga", {"population_size": 5, "generations": 2}, 5 + 2 * 5),
    ("aco", {"ants": 3, "generations": 4}, 3 * (4 + 1)),
])
def test_own_budget_when_the_evaluator_allows_more(problems, method, hparams, expected):
    r = run_with_budget(method, problems["hfs:d4"], 1000, 0, METHODS[method], **hparams)
    assert r.simulations == expected
    assert r.extra["generations"] == hparams["generations"]


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("faithful", [False, True])
def test_solutions_are_valid_permutations(problems, method, faithful):
    ev, _ = run_recorded(METHODS[method], problems["hfs:d1"], 50, faithful=faithful)
    assert len(ev.solutions) == 50
    for x in ev.solutions:
        assert sorted(x) == list(range(100))
    assert len({tuple(x) for x in ev.solutions}) > 10  # it searches, it does not repeat one


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("faithful", [False, True])
def test_solutions_are_valid_binary_vectors(problems, method, faithful):
    ev, _ = run_recorded(METHODS[method], problems["make-or-buy:list1"], 20, faithful=faithful)
    assert len(ev.solutions) == 20
    for x in ev.solutions:
        assert len(x) == 100 and set(x) <= {0, 1}
        assert all(type(v) is int for v in x)


@pytest.mark.parametrize("name, elites", [("hfs:d1", 1), ("make-or-buy:list1", 1),
                                          ("hfs:d1", 2)])
def test_ga_weak_elitism_never_loses_the_best(problems, name, elites):
    problem = problems[name]
    ev, out = run_recorded(genetic_algorithm, problem, 1000, population_size=4, generations=6,
                           elites=elites)
    best = out["population_best"]
    first = [v for _, v, *_ in ev.rows[:4]]
    assert best[0] == (min(first) if problem.direction == "min" else max(first))
    for before, after in zip(best, best[1:], strict=False):
        assert not problem.better(before, after)
    assert not problem.better(best[0], ev.best_value)


def test_aco_best_ever_is_monotone(problems):
    problem = problems["hfs:d1"]
    ev, out = run_recorded(ant_colony, problem, 1000, ants=5, generations=7)
    best = out["best_by_generation"]
    assert best[0] == min(v for _, v, *_ in ev.rows[:5])
    assert best == sorted(best, reverse=True) and best[-1] == ev.best_value


# -- GA operators ------------------------------------------------------------------------------

def test_rank_selection_probabilities_are_proportional_to_rank():
    scores = [3.0, 1.0, 2.0, 0.5]  # ranks 4, 2, 3, 1 -> probabilities 0.4, 0.2, 0.3, 0.1
    draws = Counter(rank_selection(scores, 40_000, random.Random(0)))
    freq = [draws[i] / 40_000 for i in range(4)]
    assert freq == pytest.approx([0.4, 0.2, 0.3, 0.1], abs=0.01)


def test_ox_child_hand_example():
    # segment [1, 3) of p1 kept; p2 read from position 3 on: 1 (used), 0, 4, 3, 2 (used)
    assert ox_child([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], 1, 3) == [3, 1, 2, 0, 4]


@settings(max_examples=200, deadline=None)
@given(st.permutations(list(range(9))), st.permutations(list(range(9))),
       st.lists(st.integers(0, 8), min_size=2, max_size=2, unique=True))
def test_ox_child_is_a_permutation_keeping_the_segment(p1, p2, cuts):
    c1, c2 = sorted(cuts)
    child = ox_child(p1, p2, c1, c2)
    assert sorted(child) == list(range(9))
    assert child[c1:c2] == p1[c1:c2]
    # the other genes appear in p2's cyclic order from position c2, placed from position c2 on
    rest = [child[(c2 + k) % 9] for k in range(9 - (c2 - c1))]
    p2_order = [p2[(c2 + k) % 9] for k in range(9) if p2[(c2 + k) % 9] not in p1[c1:c2]]
    assert rest == p2_order


@settings(max_examples=100, deadline=None)
@given(st.permutations(list(range(8))), st.permutations(list(range(8))),
       st.lists(st.integers(0, 7), min_size=2, max_size=2, unique=True))
def test_ox_matches_deaps_cx_ordered_for_the_same_cuts(p1, p2, cuts):
    a, b = sorted(cuts)  # DEAP's inclusive segment [a, b] is the original's [a, b + 1)
    original_sample = random.sample
    random.sample = lambda population, k: [a, b]
    try:
        deap_child_a, deap_child_b = tools.cxOrdered(list(p1), list(p2))
    finally:
        random.sample = original_sample
    assert deap_child_b == ox_child(p1, p2, a, b + 1)
    assert deap_child_a == ox_child(p2, p1, a, b + 1)


def test_swap_mutation_changes_exactly_two_positions():
    rng = random.Random(1)
    for _ in range(200):
        x = list(range(20))
        y = swap_mutation(list(x), rng)
        changed = [i for i in range(20) if x[i] != y[i]]
        assert len(changed) == 2 and y[changed[0]] == x[changed[1]]
    counts = Counter(sum(a != b for a, b in zip(range(30), swap_mutation(list(range(30)), rng, 3),
                                                 strict=True)) for _ in range(300))
    assert set(counts) <= {0, 2, 3, 4, 5, 6} and max(counts) > 2  # 1..3 swaps, may overlap


def test_one_gene_swap_is_the_faithful_make_or_buy_crossover():
    rng = random.Random(2)
    cuts = set()
    for _ in range(300):
        c1, c2 = one_gene_swap([0] * 10, [1] * 10, rng)
        assert sum(c1) == 1 and sum(c2) == 9
        cut = c1.index(1)
        assert c2[cut] == 0
        cuts.add(cut)
    assert cuts == set(range(1, 10))  # the cut is drawn from 1..n-1


def test_deap_one_point_crossover_swaps_tails():
    random.seed(0)
    c1, c2 = tools.cxOnePoint([0] * 10, [1] * 10)
    cut = c1.index(1)
    assert c1 == [0] * cut + [1] * (10 - cut) and c2 == [1] * cut + [0] * (10 - cut)


class Spy:
    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, *args, **kwargs):
        self.calls.append(kwargs)
        return self.fn(*args, **kwargs)


@pytest.mark.parametrize("faithful", [False, True])
def test_ga_operator_wiring_and_rates_make_or_buy(problems, monkeypatch, faithful):
    spies = {name: Spy(getattr(tools, name)) for name in ("cxOnePoint", "mutFlipBit")}
    for name, spy in spies.items():
        monkeypatch.setattr(ga.tools, name, spy)
    swap = Spy(ga.one_gene_swap)
    monkeypatch.setattr(ga, "one_gene_swap", swap)
    run_recorded(genetic_algorithm, problems["make-or-buy:list1"], 1000, population_size=4,
                 generations=2, crossover_rate=0.0, mutation_rate=1.0, flip_rate=0.3,
                 faithful=faithful)
    if faithful:  # rates ignored: always crossed (one-gene swap), flips at 0.1 per gene
        assert len(swap.calls) == 4 and not spies["cxOnePoint"].calls
        assert [c["indpb"] for c in spies["mutFlipBit"].calls] == [0.1] * 8
    else:  # crossover_rate 0 honoured, flip_rate passed on
        assert not swap.calls and not spies["cxOnePoint"].calls
        assert [c["indpb"] for c in spies["mutFlipBit"].calls] == [0.3] * 8


@pytest.mark.parametrize("faithful, rate, n_deap, n_original", [
    (False, 1.0, 4, 0), (False, 0.0, 0, 0), (True, 0.0, 0, 4)])
def test_ga_operator_wiring_and_rates_hfs(problems, monkeypatch, faithful, rate, n_deap,
                                          n_original):
    deap_ox, original_ox = Spy(tools.cxOrdered), Spy(ga.ox_original)
    monkeypatch.setattr(ga.tools, "cxOrdered", deap_ox)
    monkeypatch.setattr(ga, "ox_original", original_ox)
    run_recorded(genetic_algorithm, problems["hfs:d4"], 1000, population_size=4, generations=2,
                 crossover_rate=rate, faithful=faithful)
    assert (len(deap_ox.calls), len(original_ox.calls)) == (n_deap, n_original)


# -- ACO ---------------------------------------------------------------------------------------

def test_pheromone_update_matches_the_documented_rules():
    tau = np.array([1.0, 2.0, 3.0, 4.0])
    best = [2, 0, 3, 1]  # weights n - position: job 2 -> 4, job 0 -> 3, job 3 -> 2, job 1 -> 1
    f, w = 0.5, np.array([3.0, 1.0, 4.0, 2.0])
    evaporated = 0.9 * tau
    bounded = update_pheromone(tau, best, f, alpha=0.1, rho=0.1, permutation=True)
    assert bounded == pytest.approx(0.9 * evaporated + 0.1 * f * w)
    original = update_pheromone(tau, best, f, alpha=0.1, rho=0.1, permutation=True,
                                rule="original")
    assert original == pytest.approx((0.9 * evaporated + 0.1 * f) * w)
    # make-or-buy: x = [1, 0] -> components "buy order 0" (0) and "make order 1" (3)
    binary = update_pheromone(tau, [1, 0], 7000.0, alpha=0.1, rho=0.2, permutation=False)
    assert binary == pytest.approx([0.9 * 0.8 * 1 + 700, 0.8 * 2, 0.8 * 3, 0.9 * 0.8 * 4 + 700])


def test_bounded_pheromone_stays_finite_and_the_original_overflows():
    n, f = 100, 1 / 460
    best = list(range(n))
    bound = 0.1 * f * n / (1 - 0.9 * 0.9)
    tau = np.zeros(n)
    for _ in range(2000):
        tau = update_pheromone(tau, best, f, alpha=0.1, rho=0.1, permutation=True)
    assert np.isfinite(tau).all() and tau.max() <= bound and tau.max() == pytest.approx(bound)
    assert (np.diff(tau) < 0).all()  # earlier positions of the best schedule are preferred
    tau = np.zeros(n)
    first_inf = None
    for gen in range(300):
        tau = update_pheromone(tau, best, f, alpha=0.1, rho=0.1, permutation=True,
                               rule="original")
        if first_inf is None and not np.isfinite(tau).all():
            first_inf = gen
    assert first_inf is not None and 150 <= first_inf <= 170  # "about 160 generations"


def test_q0_one_with_best_rule_follows_desirability():
    d = np.array([0.2, 0.9, 0.5, 0.1, 0.7])
    ant = construct_ant(d, 5, permutation=True, q0=1.0, exploit="best", tie_break="random",
                        rng=np.random.default_rng(0))
    assert ant == [1, 4, 2, 0, 3]
    # make-or-buy: the more desirable of each order's pair (buy = i, make = n + i)
    d2 = np.array([5.0, 1.0, 3.0, 2.0, 4.0, 1.0])
    x = construct_ant(d2, 3, permutation=False, q0=1.0, exploit="best", tie_break="random",
                      rng=np.random.default_rng(0))
    assert x == [1, 0, 1]


def first_picks(d, n, draws=6000, **kwargs):
    rng = np.random.default_rng(5)
    counts = Counter(construct_ant(d, n, rng=rng, **kwargs)[0] for _ in range(draws))
    return [counts[i] / draws for i in range(len(d))]


def test_q0_zero_is_a_roulette_on_desirability():
    d = np.array([1.0, 2.0, 3.0, 4.0])
    freq = first_picks(d, 4, permutation=True, q0=0.0, exploit="best", tie_break="random")
    assert freq == pytest.approx([0.1, 0.2, 0.3, 0.4], abs=0.02)


def test_q0_half_mixes_best_and_roulette():
    d = np.array([1.0, 2.0, 3.0, 4.0])  # P(first = 3) = 0.5 + 0.5 * 0.4
    freq = first_picks(d, 4, permutation=True, q0=0.5, exploit="best", tie_break="random")
    assert freq == pytest.approx([0.05, 0.1, 0.15, 0.7], abs=0.02)


def test_uniform_exploit_is_the_make_or_buy_original():
    d = np.array([1.0, 2.0, 3.0, 4.0])
    freq = first_picks(d, 4, permutation=True, q0=1.0, exploit="uniform", tie_break="first")
    assert freq == pytest.approx([0.25] * 4, abs=0.02)


def test_ties_random_or_first_in_list_order():
    d = np.ones(4)
    first = first_picks(d, 4, draws=200, permutation=True, q0=1.0, exploit="best",
                        tie_break="first")
    assert first == [1.0, 0.0, 0.0, 0.0]
    rand = first_picks(d, 4, permutation=True, q0=1.0, exploit="best", tie_break="random")
    assert rand == pytest.approx([0.25] * 4, abs=0.02)


def test_overflowed_roulette_degenerates_to_the_least_desirable():
    d = np.array([math.inf, 0.3, math.inf, 0.1, 0.2])
    ant = construct_ant(d, 5, permutation=True, q0=0.0, exploit="best", tie_break="first",
                        rng=np.random.default_rng(0))
    # least desirable first; between the two infs the later one in the (re-sorted) list
    assert ant == [3, 4, 1, 2, 0]


def test_generation_zero_uses_eta_only_when_fixed(problems):
    problem = problems["hfs:d1"]
    due = problem.instance.column("date_delivery")
    ev, _ = run_recorded(ant_colony, problem, 1, q0=1.0)  # fixed: greedy on 1/due = EDD
    assert list(due[ev.solutions[0]]) == sorted(due)
    ev, _ = run_recorded(ant_colony, problem, 1, q0=1.0, faithful=True)  # desirabilities 0
    assert ev.solutions[0] == list(range(100))
    ev, _ = run_recorded(ant_colony, problem, 1, q0=1.0, faithful=True, eta_from_start=True)
    assert list(due[ev.solutions[0]]) == sorted(due)  # an explicit option overrides the preset


def test_faithful_preset_resolves_per_plant(problems):
    hfs = run_with_budget("aco", problems["hfs:d4"], 100, 0, ant_colony, ants=2, generations=1,
                          faithful=True).extra
    assert (hfs["pheromone_update"], hfs["eta_from_start"], hfs["exploit"],
            hfs["tie_break"]) == ("original", False, "best", "first")
    mob = run_with_budget("aco", problems["make-or-buy:list1"], 100, 0, ant_colony, ants=2,
                          generations=1, faithful=True).extra
    assert mob["exploit"] == "uniform"
    fixed = run_with_budget("aco", problems["hfs:d4"], 100, 0, ant_colony, ants=2,
                            generations=1).extra
    assert (fixed["pheromone_update"], fixed["eta_from_start"], fixed["exploit"],
            fixed["tie_break"]) == ("bounded", True, "best", "random")


@pytest.mark.filterwarnings("error")
def test_faithful_hfs_colony_survives_the_overflow(problems):
    # ~160 generations overflow the original rule at n = 100; d4 has 100 orders
    ev, out = run_recorded(ant_colony, problems["hfs:d4"], 10_000, ants=1, generations=200,
                           faithful=True)
    assert out is not None and ev.used == 201
    assert all(sorted(x) == list(range(100)) for x in ev.solutions)


# -- validation --------------------------------------------------------------------------------

@pytest.mark.parametrize("method, hparams, message", [
    ("ga", {"population_size": 1}, r"population_size=1; allowed: an integer >= 2"),
    ("ga", {"generations": -1}, r"generations=-1; allowed: an integer >= 0"),
    ("ga", {"crossover_rate": 1.5}, r"crossover_rate=1.5; allowed: a number in \[0, 1\]"),
    ("ga", {"mutation_rate": -0.1}, r"mutation_rate=-0.1; allowed: a number in \[0, 1\]"),
    ("ga", {"flip_rate": 2}, r"flip_rate=2; allowed: a number in \[0, 1\]"),
    ("ga", {"max_swaps": 0}, r"max_swaps=0; allowed: an integer >= 1"),
    ("ga", {"elites": 11}, r"elites=11; allowed: an integer in 0..population_size \(10\)"),
    ("ga", {"faithful": "yes"}, r"faithful='yes'; allowed: True or False"),
    ("aco", {"ants": 0}, r"ants=0; allowed: an integer >= 1"),
    ("aco", {"generations": 2.5}, r"generations=2.5; allowed: an integer >= 0"),
    ("aco", {"q0": 1.2}, r"q0=1.2; allowed: a number in \[0, 1\]"),
    ("aco", {"alpha": -1}, r"alpha=-1; allowed: a number in \[0, 1\]"),
    ("aco", {"rho": 3.0}, r"rho=3.0; allowed: a number in \[0, 1\]"),
    ("aco", {"pheromone_update": "capped"},
     r"pheromone_update='capped'; allowed: 'bounded' or 'original'"),
    ("aco", {"exploit": "greedy"}, r"exploit='greedy'; allowed: 'best' or 'uniform'"),
    ("aco", {"tie_break": "last"}, r"tie_break='last'; allowed: 'random' or 'first'"),
    ("aco", {"eta_from_start": 1}, r"eta_from_start=1; allowed: True or False"),
])
def test_bad_hyperparameters_name_the_parameter_value_and_range(problems, method, hparams,
                                                                 message):
    ev = BudgetedEvaluator(problems["hfs:d4"], 5)
    with pytest.raises(ValueError, match=message):
        METHODS[method](ev, 0, **hparams)
    assert ev.used == 0


def test_aco_heuristic_is_inverse_due_date(problems):
    problem = problems["hfs:d1"]
    due = problem.instance.column("date_delivery")
    assert aco.heuristic(problem) == pytest.approx(1.0 / due)
    assert (aco.heuristic(problems["make-or-buy:list1"]) == 1.0).all()
