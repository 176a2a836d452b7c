"""The statistics of a suite (scmgym.experiments.stats), on synthetic records."""

from __future__ import annotations

import math

import pytest

from scmgym.experiments import stats

HFS = {"id": "hfs:d1", "label": "hfs:d1 (2,5,2)", "plant": "hfs", "direction": "min",
       "objective": "makespan", "stochastic": False, "lower_bound": 400, "best_known": None}
MOB = {"id": "make-or-buy:list1", "label": "make-or-buy:list1", "plant": "make-or-buy",
       "direction": "max", "objective": "revenue", "stochastic": True, "lower_bound": None,
       "best_known": 8000.0, "best_known_source": "the study's table 3"}


def rec(info, method, seed, value, *, deterministic=False, bound=None, simulations=100,
        wall=1.0):
    """A record as the suite writes it (only the fields the statistics read)."""
    return {"key": f"{info['id']}/{method}/{seed}", "problem": info["id"],
            "label": info["label"], "plant": info["plant"], "direction": info["direction"],
            "stochastic": info["stochastic"], "method": method, "seed": seed,
            "deterministic": deterministic, "budget": 100, "hparams": {},
            "run_dir": f"{method}_s{seed}", "value": value, "best_value": value,
            "evaluation_mean": None, "best_episode_plan": None, "bound": bound,
            "simulations": simulations, "wall_seconds": wall, "cpu_seconds": wall}


def sample(info, method, values, **kw):
    return [rec(info, method, s, v, **kw) for s, v in enumerate(values)]


def by_method(rows):
    return {r["method"]: r for r in rows}


# -- Holm, CD, Friedman ----------------------------------------------------------------------


def test_holm_by_hand():
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> 0.06 (monotone)
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert stats.holm([]) == []


@pytest.mark.parametrize(("k", "q"), [(2, 1.960), (3, 2.343), (8, 3.031), (10, 3.164)])
def test_nemenyi_q_matches_demsar_table(k, q):
    n = 8
    cd = stats.nemenyi_cd(k, n)
    assert cd / math.sqrt(k * (k + 1) / (6 * n)) == pytest.approx(q, abs=1e-3)  # 3 decimals


def test_cd_for_8_methods_on_8_problems():
    assert stats.nemenyi_cd(8, 8) == pytest.approx(3.031 * math.sqrt(8 * 9 / 48), abs=1e-3)


def summaries_of(table, problems):
    """Summaries from {problem id: {method: values}}."""
    out = {}
    for p in problems:
        records = [r for m, vals in table[p["id"]].items() for r in sample(p, m, vals)]
        out[p["id"]] = stats.problem_summary(records, p, ["a", "b", "c", "d"])
    return out


def problems_of(n, direction="min"):
    return [{**HFS, "id": f"hfs:d{i}", "direction": direction} for i in range(1, n + 1)]


def test_friedman_strict_order_by_hand():
    # a < b < c on 4 problems: ranks 1, 2, 3; chi2 = 12N/(k(k+1)) (sum R^2 - k(k+1)^2/4) = 8,
    # p = exp(-8/2) (chi-square with 2 degrees of freedom)
    problems = problems_of(4)
    table = {p["id"]: {"a": [10.0, 11.0], "b": [20.0, 21.0], "c": [30.0, 31.0]}
             for p in problems}
    g = stats.rank_group("hfs", summaries_of(table, problems), problems, ["a", "b", "c"])
    assert g["methods"] == ["a", "b", "c"]
    assert g["average"] == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert g["friedman"]["statistic"] == pytest.approx(8.0)
    assert g["friedman"]["p"] == pytest.approx(math.exp(-4.0))
    assert g["friedman"]["cd"] == pytest.approx(stats.nemenyi_cd(3, 4))


def test_friedman_with_a_tie_by_hand():
    # problem 1: a=1, b=c=2.5; problem 2: a=1, b=2, c=3. Rank sums 2, 4.5, 5.5:
    # (12/(k n (k+1)) * 54.5 - 3 n (k+1)) / (1 - (2^3-2)/(n k (k^2-1))) = 3.25 / 0.875
    problems = problems_of(2)
    table = {"hfs:d1": {"a": [1.0], "b": [5.0], "c": [5.0]},
             "hfs:d2": {"a": [1.0], "b": [5.0], "c": [9.0]}}
    g = stats.rank_group("hfs", summaries_of(table, problems), problems)
    assert g["ranks"] == {"a": [1.0, 1.0], "b": [2.5, 2.0], "c": [2.5, 3.0]}
    assert g["friedman"]["statistic"] == pytest.approx(3.25 / 0.875)


def test_ranks_follow_the_direction_and_skip_methods_missing_somewhere():
    problems = problems_of(2, "max")
    table = {"hfs:d1": {"a": [1.0], "b": [5.0], "c": [9.0], "d": [3.0]},
             "hfs:d2": {"a": [2.0], "b": [6.0], "c": [7.0]}}
    g = stats.rank_group("x", summaries_of(table, problems), problems, ["a", "b", "c", "d"])
    assert g["methods"] == ["a", "b", "c"]  # d is not on hfs:d2
    assert g["left_out"] == {"d": ["hfs:d2"]}
    assert g["average"] == {"a": 3.0, "b": 2.0, "c": 1.0}  # higher is better


def test_no_friedman_below_3_methods_or_2_problems():
    one = problems_of(1)
    g = stats.rank_group("x", summaries_of({"hfs:d1": {"a": [1.0], "b": [2.0], "c": [3.0]}},
                                           one), one)
    assert g["friedman"] is None and "at least 3 methods on at least 2 problems" in g["reason"]
    two = problems_of(2)
    g = stats.rank_group("x", summaries_of({p["id"]: {"a": [1.0], "b": [2.0]} for p in two},
                                           two), two)
    assert g["friedman"] is None and "2 method(s) on 2 problem(s)" in g["reason"]


def test_rank_groups_are_each_plant_then_all():
    problems = [HFS, {**HFS, "id": "hfs:d2"}, MOB]
    records = []
    for p in problems:
        for m, base in (("a", 1.0), ("b", 2.0), ("c", 3.0)):
            v = base if p["direction"] == "min" else 10 - base
            records += sample(p, m, [v, v + 0.5])
    st = stats.suite_statistics(records, {"problems": problems, "methods": ["c", "b", "a"]})
    assert [g["group"] for g in st["groups"]] == ["hfs", "make-or-buy", "all"]
    assert st["groups"][2]["problems"] == ["hfs:d1", "hfs:d2", "make-or-buy:list1"]
    assert st["groups"][2]["methods"] == ["c", "b", "a"]  # the suite's order
    assert st["groups"][2]["average"] == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert st["groups"][1]["friedman"] is None  # one make-or-buy problem


# -- one problem -----------------------------------------------------------------------------


def test_summary_statistics_and_direction():
    records = sample(MOB, "a", [7000.0, 7600.0, 7300.0]) + sample(MOB, "b", [6000.0])
    rows = by_method(stats.problem_summary(records, MOB, ["a", "b"]))
    a = rows["a"]
    assert (a["runs"], a["mean"], a["median"], a["best"], a["worst"]) == \
        (3, 7300.0, 7300.0, 7600.0, 7000.0)  # max: best is the largest
    assert a["sd"] == pytest.approx(300.0)
    assert rows["b"]["sd"] == 0.0  # one run


def test_a_clearly_worse_sample_is_marked_and_a_close_one_is_not():
    records = (sample(HFS, "good", [float(v) for v in range(500, 510)])
               + sample(HFS, "bad", [float(v) for v in range(600, 610)])
               + sample(HFS, "close", [float(v) for v in range(501, 511)]))
    rows = by_method(stats.problem_summary(records, HFS, ["good", "close", "bad"]))
    assert rows["good"]["mark"] == "best" and math.isnan(rows["good"]["p"])
    assert rows["bad"]["test"] == "mann-whitney"
    assert rows["bad"]["p_holm"] < 0.05 and rows["bad"]["mark"] == "*"
    assert rows["close"]["p_holm"] > 0.05 and rows["close"]["mark"] == ""
    # Holm: the smaller p doubled (2 comparisons)
    assert rows["bad"]["p_holm"] == pytest.approx(2 * rows["bad"]["p"])
    # the order of the records does not matter (repr: nan equals nan)
    assert repr(stats.problem_summary(records[::-1], HFS, ["good", "close", "bad"])) == \
        repr(list(rows.values()))


def test_a_better_sample_is_never_marked_worse():
    # the mark is for significantly *worse* than the best: the best is never starred, and on
    # a maximisation problem the larger values win
    records = sample(MOB, "low", [100.0 + v for v in range(10)]) + \
        sample(MOB, "high", [900.0 + v for v in range(10)])
    rows = by_method(stats.problem_summary(records, MOB))
    assert rows["high"]["mark"] == "best" and rows["low"]["mark"] == "*"


def test_deterministic_against_a_sample_is_a_wilcoxon_test():
    records = sample(HFS, "random", [float(v) for v in range(500, 510)]) + \
        [rec(HFS, "edd", 0, 520.0, deterministic=True)]
    rows = by_method(stats.problem_summary(records, HFS, ["edd", "random"]))
    assert rows["random"]["mark"] == "best"
    assert rows["edd"]["test"] == "wilcoxon"
    # every one of the 10 differences has the same sign: exact p = 2 / 2^10
    assert rows["edd"]["p"] == pytest.approx(2 / 1024)
    assert rows["edd"]["mark"] == "*"
    # the deterministic method the best: the sample minus its constant
    records = sample(HFS, "random", [float(v) for v in range(500, 510)]) + \
        [rec(HFS, "edd", 0, 480.0, deterministic=True)]
    rows = by_method(stats.problem_summary(records, HFS))
    assert rows["edd"]["mark"] == "best" and rows["random"]["test"] == "wilcoxon"
    assert rows["random"]["mark"] == "*"


def test_deterministic_equal_to_every_run_of_a_sample_is_p_1():
    records = sample(HFS, "random", [472.0] * 5) + [rec(HFS, "edd", 0, 472.0,
                                                        deterministic=True)]
    rows = by_method(stats.problem_summary(records, HFS, ["edd", "random"]))
    assert rows["edd"]["mark"] == "best"  # the first of equal means
    assert rows["random"]["p"] == 1.0 and rows["random"]["mark"] == ""


def test_two_deterministic_methods_compare_exactly():
    p, test = stats.compare_to([5.0], True, [5.0], True)
    assert (p, test) == (1.0, "exact")
    assert stats.compare_to([6.0], True, [5.0], True) == (0.0, "exact")
    records = [rec(HFS, "edd", 0, 472.0, deterministic=True),
               rec(HFS, "milp", 0, 470.0, deterministic=True)]
    rows = by_method(stats.problem_summary(records, HFS))
    assert rows["milp"]["mark"] == "best" and rows["edd"]["mark"] == "*"


def test_runs_without_a_solution_are_counted_and_left_out():
    records = sample(HFS, "milp", [None, 450.0], ) + sample(HFS, "ga", [None, None]) + \
        sample(HFS, "random", [460.0, 470.0])
    rows = by_method(stats.problem_summary(records, HFS, ["random", "ga", "milp"]))
    assert (rows["milp"]["runs"], rows["milp"]["no_solution"], rows["milp"]["mean"]) == \
        (2, 1, 450.0)
    assert rows["ga"]["no_solution"] == 2 and math.isnan(rows["ga"]["mean"])
    assert rows["ga"]["mark"] == "" and math.isnan(rows["ga"]["p"])
    assert rows["milp"]["mark"] == "best"
    assert [r["method"] for r in stats.problem_summary(records, HFS, ["random", "ga",
                                                                      "milp"])] == \
        ["random", "ga", "milp"]


def test_gap_uses_the_best_bound():
    records = sample(HFS, "random", [500.0, 500.0]) + \
        [rec(HFS, "milp", 0, 450.0, deterministic=True, bound=420)]
    rows = by_method(stats.problem_summary(records, HFS))
    assert rows["random"]["bound"] == 420 and rows["random"]["bound_source"] == "milp seed 0"
    assert rows["random"]["gap"] == pytest.approx(100 * (500 - 420) / 500)
    rows = by_method(stats.problem_summary(sample(HFS, "random", [500.0]), HFS))
    assert rows["random"]["bound_source"] == "analytic"
    assert rows["random"]["gap"] == pytest.approx(20.0)


def test_pct_best_known_uses_the_larger_of_the_suite_and_the_records():
    rows = by_method(stats.problem_summary(sample(MOB, "gp", [7000.0, 7200.0]), MOB))
    assert rows["gp"]["best_known"] == 8000.0
    assert rows["gp"]["best_known_source"] == "suite: the study's table 3"
    assert rows["gp"]["pct_best_known"] == pytest.approx(100 * 7100 / 8000)
    rows = by_method(stats.problem_summary(sample(MOB, "gp", [8100.0, 8300.0]), MOB))
    assert rows["gp"]["best_known"] == 8200.0
    assert rows["gp"]["best_known_source"] == "best mean in these records (gp)"
    assert rows["gp"]["pct_best_known"] == pytest.approx(100.0)
    no_known = {**MOB, "best_known": None}
    rows = by_method(stats.problem_summary(sample(MOB, "a", [10.0]) + sample(MOB, "b", [5.0]),
                                           no_known))
    assert rows["b"]["pct_best_known"] == pytest.approx(50.0)
