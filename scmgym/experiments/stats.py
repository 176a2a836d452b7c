"""The statistics of a suite: per-problem summaries, tests against the best method, ranks.

Pure functions of the records (:mod:`scmgym.experiments.records`) and the suite's problem
descriptions; nothing here reads a run directory. Every result is a deterministic function of
the *set* of records: records are sorted by (problem, method, seed) first, methods follow the
suite's order, and no result depends on the order of a dict or a set.

The tests, per problem, of every method against the best one (best mean):

* two samples: the two-sided Mann–Whitney U test (:func:`scipy.stats.mannwhitneyu`);
* a deterministic method (it ran once and its value is exact for every seed) against a sample:
  the one-sample two-sided Wilcoxon signed-rank test of the sample minus the constant (zero
  differences dropped, scipy's ``zero_method="wilcox"``; all differences zero: p = 1);
* two deterministic methods: their values are exact, so p = 1 when they are equal and p = 0
  when they differ (the difference is certain, not estimated);

then Holm's step-down correction over the comparisons of the problem. Across problems, methods
are ranked per problem by mean (1 = best, ties averaged), compared with Friedman's test and
Nemenyi's critical difference (Demšar 2006).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: The significance level of the marks and of the critical difference.
ALPHA = 0.05


# -- records ---------------------------------------------------------------------------------


def sort_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records sorted by (problem, method, seed, key): the order every statistic uses."""
    return sorted(records, key=lambda r: (str(r["problem"]), str(r["method"]), int(r["seed"]),
                                          str(r.get("key", ""))))


def method_order(records: Iterable[dict[str, Any]],
                 methods: Sequence[str] | None = None) -> list[str]:
    """The suite's methods that have records, in the suite's order, then any other method
    of the records, sorted by name."""
    present = {str(r["method"]) for r in records}
    listed = [m for m in (methods or ()) if m in present]
    return listed + sorted(present - set(listed))


def values_of(records: Iterable[dict[str, Any]]) -> list[float]:
    """The headline values of the records (null values left out), in seed order."""
    return [float(r["value"]) for r in sort_records(records) if r.get("value") is not None]


def _is_exact(records: Sequence[dict[str, Any]], values: Sequence[float]) -> bool:
    """Whether a method's value is exact: it is deterministic and its values agree."""
    if not values or not all(r.get("deterministic") for r in records):
        return False
    if len(set(values)) > 1:
        log.warning("deterministic method %s has differing values %s: treated as a sample",
                    records[0]["method"], sorted(set(values)))
        return False
    return True


# -- tests -----------------------------------------------------------------------------------


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p values, in the order given.

    The i-th smallest p (1-based) is multiplied by ``m - i + 1``, capped at 1, and made
    non-decreasing along the sorted order; equal p values keep their given order.

    Args:
        pvalues: the raw p values of the m comparisons of one family.

    Returns:
        The adjusted p values, one per input, in the input order.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: (pvalues[i], i))
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(pvalues[i])))
        adjusted[i] = running
    return adjusted


def compare_to(sample: Sequence[float], exact: bool, best: Sequence[float],
               best_exact: bool) -> tuple[float, str]:
    """The two-sided p value of a method's values against the best method's.

    Args:
        sample: the method's values (one value when ``exact``).
        exact: the method is deterministic: its one value holds for every seed.
        best: the best method's values.
        best_exact: the best method is deterministic.

    Returns:
        ``(p, test)`` with test ``"mann-whitney"``, ``"wilcoxon"`` or ``"exact"``.
    """
    from scipy import stats

    if exact and best_exact:
        return (1.0 if sample[0] == best[0] else 0.0), "exact"
    if exact or best_exact:
        values, constant = (best, sample[0]) if exact else (sample, best[0])
        diffs = np.asarray(values, dtype=float) - constant
        if not np.any(diffs):
            return 1.0, "wilcoxon"
        return float(stats.wilcoxon(diffs, alternative="two-sided").pvalue), "wilcoxon"
    if len(set(sample) | set(best)) == 1:  # every value equal: no difference at all
        return 1.0, "mann-whitney"
    return float(stats.mannwhitneyu(sample, best, alternative="two-sided").pvalue), \
        "mann-whitney"


# -- one problem -----------------------------------------------------------------------------


def best_bound(records: Iterable[dict[str, Any]],
               problem_info: dict[str, Any]) -> tuple[float | None, str]:
    """The best lower bound of a minimisation problem and where it comes from.

    Args:
        records: the problem's records (their ``bound``: a MILP relaxation's).
        problem_info: the suite's description of the problem (its ``lower_bound``).

    Returns:
        ``(bound, source)``: the larger of the analytic bound and every record's bound, or
        ``(None, "none")`` when there is neither.
    """
    found = [(float(problem_info["lower_bound"]), "analytic")] \
        if problem_info.get("lower_bound") is not None else []
    found += [(float(r["bound"]), f"{r['method']} seed {r['seed']}")
              for r in sort_records(records) if r.get("bound") is not None]
    if not found:
        return None, "none"
    bound = max(b for b, _ in found)
    return bound, next(s for b, s in found if b == bound)


def best_known(rows: Sequence[dict[str, Any]],
               problem_info: dict[str, Any]) -> tuple[float | None, str]:
    """The best-known value of a maximisation problem and where it comes from.

    Args:
        rows: the problem's per-method rows (their ``mean``).
        problem_info: the suite's description (``best_known``, ``best_known_source``).

    Returns:
        ``(value, source)``: the larger of the suite's best-known value and the best method
        mean of these records (the suite's wins a tie).
    """
    known = problem_info.get("best_known")
    means = [(r["mean"], r["method"]) for r in rows if not math.isnan(r["mean"])]
    top = max(means, key=lambda mm: mm[0], default=None)  # first of equal means
    if known is not None and (top is None or float(known) >= top[0]):
        return float(known), f"suite: {problem_info.get('best_known_source') or 'given'}"
    if top is None:
        return None, "none"
    return top[0], f"best mean in these records ({top[1]})"


def _method_row(method: str, records: Sequence[dict[str, Any]],
                direction: str) -> dict[str, Any]:
    """The descriptive statistics of one method on one problem."""
    values = np.array(values_of(records), dtype=float)
    nan = float("nan")
    best, worst = (np.min, np.max) if direction == "min" else (np.max, np.min)
    return {
        "method": method,
        "runs": len(records),
        "no_solution": len(records) - values.size,
        "mean": float(values.mean()) if values.size else nan,
        "sd": float(values.std(ddof=1)) if values.size > 1 else (0.0 if values.size else nan),
        "median": float(np.median(values)) if values.size else nan,
        "best": float(best(values)) if values.size else nan,
        "worst": float(worst(values)) if values.size else nan,
        "simulations": float(np.mean([float(r["simulations"]) for r in records])),
        "wall_seconds": float(np.mean([float(r.get("wall_seconds") or 0.0) for r in records])),
        "cpu_seconds": float(np.mean([float(r.get("cpu_seconds") or 0.0) for r in records])),
    }


def _best_method(rows: Sequence[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    """The row of the best mean (the first in table order among equal means)."""
    found = [r for r in rows if not math.isnan(r["mean"])]
    if not found:
        return None
    sign = 1.0 if direction == "min" else -1.0
    return min(found, key=lambda r: sign * r["mean"])


def _add_tests(rows: list[dict[str, Any]], by_method: dict[str, list[dict[str, Any]]],
               direction: str, alpha: float) -> None:
    """Add ``test``, ``p``, ``p_holm`` and ``mark`` to every row (in place)."""
    top = _best_method(rows, direction)
    for r in rows:
        r.update(test="", p=float("nan"), p_holm=float("nan"), mark="")
    if top is None:
        return
    top["mark"] = "best"
    best_vals = values_of(by_method[top["method"]])
    best_exact = _is_exact(by_method[top["method"]], best_vals)
    compared = [r for r in rows if r is not top and not math.isnan(r["mean"])]
    for r in compared:
        vals = values_of(by_method[r["method"]])
        r["p"], r["test"] = compare_to(vals, _is_exact(by_method[r["method"]], vals),
                                       best_vals, best_exact)
    for r, adjusted in zip(compared, holm([r["p"] for r in compared]), strict=True):
        r["p_holm"] = adjusted
        worse = r["mean"] > top["mean"] if direction == "min" else r["mean"] < top["mean"]
        r["mark"] = "*" if adjusted < alpha and worse else ""


def problem_summary(records: Sequence[dict[str, Any]], problem_info: dict[str, Any],
                    methods: Sequence[str] | None = None,
                    alpha: float = ALPHA) -> list[dict[str, Any]]:
    """One row per method on one problem: statistics, test against the best, mark.

    Runs whose value is null (no solution) are left out of the statistics and counted in
    ``no_solution``; ``simulations`` and the times are means over every run.

    Args:
        records: the records of one problem (any order).
        problem_info: the suite's description of the problem (``id``, ``direction``,
            ``lower_bound``, ``best_known``...).
        methods: the suite's method order (methods without records are left out).
        alpha: the level of the ``*`` mark (Holm-adjusted p below it).

    Returns:
        Rows with ``problem``, ``method``, ``runs``, ``no_solution``, ``mean``, ``sd``,
        ``median``, ``best``, ``worst``, ``simulations``, ``wall_seconds``, ``cpu_seconds``,
        then (minimisation) ``bound``, ``bound_source``, ``gap`` in % or (maximisation)
        ``best_known``, ``best_known_source``, ``pct_best_known``, then ``test``, ``p``,
        ``p_holm`` and ``mark`` (``best``, ``*`` or blank). Missing numbers are nan.
    """
    records = sort_records(records)
    direction = problem_info.get("direction") or records[0]["direction"]
    by_method = {m: [r for r in records if r["method"] == m]
                 for m in method_order(records, methods)}
    rows = [{"problem": problem_info["id"], **_method_row(m, rs, direction)}
            for m, rs in by_method.items()]
    if direction == "min":
        bound, source = best_bound(records, problem_info)
        for r in rows:
            r.update(bound=float("nan") if bound is None else bound, bound_source=source,
                     gap=float("nan") if bound is None or math.isnan(r["mean"])
                     else 100.0 * (r["mean"] - bound) / r["mean"])
    else:
        known, source = best_known(rows, problem_info)
        for r in rows:
            r.update(best_known=float("nan") if known is None else known,
                     best_known_source=source,
                     pct_best_known=float("nan") if known is None or math.isnan(r["mean"])
                     else 100.0 * r["mean"] / known)
    _add_tests(rows, by_method, direction, alpha)
    return rows


# -- across problems -------------------------------------------------------------------------


def nemenyi_cd(k: int, n: int, alpha: float = ALPHA) -> float:
    """Nemenyi's critical difference of average ranks for k methods on n problems.

    ``CD = q_alpha * sqrt(k (k + 1) / (6 n))`` with ``q_alpha`` the studentized range
    quantile (infinite degrees of freedom) over sqrt(2), as tabulated by Demšar (2006).

    >>> round(nemenyi_cd(8, 8), 3)
    3.712
    """
    from scipy import stats

    q = float(stats.studentized_range.ppf(1.0 - alpha, k, np.inf)) / math.sqrt(2.0)
    return q * math.sqrt(k * (k + 1) / (6.0 * n))


def _friedman(ranks: np.ndarray, alpha: float) -> tuple[dict[str, float] | None, str]:
    """Friedman's test on a (problems x methods) rank matrix, or None and why not."""
    from scipy import stats

    n, k = ranks.shape
    if k < 3 or n < 2:
        return None, (f"Friedman's test needs at least 3 methods on at least 2 problems "
                      f"({k} method(s) on {n} problem(s) here)")
    if all(len(set(row)) == 1 for row in ranks.tolist()):
        return None, "every method ties on every problem"
    res = stats.friedmanchisquare(*ranks.T)
    return {"statistic": float(res.statistic), "p": float(res.pvalue),
            "cd": nemenyi_cd(k, n, alpha), "alpha": alpha}, ""


def rank_group(name: str, summaries: dict[str, list[dict[str, Any]]],
               problems: Sequence[dict[str, Any]], methods: Sequence[str] | None = None,
               alpha: float = ALPHA) -> dict[str, Any]:
    """Ranks of the methods present (with a mean) on every problem of a group.

    Args:
        name: the group's name (a plant, or ``"all"``).
        summaries: :func:`problem_summary` rows per problem id.
        problems: the group's problem descriptions, in order (their ``id``, ``direction``).
        methods: the suite's method order.
        alpha: the level of the critical difference.

    Returns:
        ``{"group", "problems" (ids), "methods", "ranks" ({method: [rank per problem]}),
        "average" ({method: average rank}), "friedman" (``statistic``, ``p``, ``cd``,
        ``alpha``, or None), "reason" (why there is no Friedman result, else ""),
        "left_out" ({method: [problem ids where it has no mean]} for every method with a mean
        somewhere in the group but not on all of it)}``.
    """
    from scipy import stats

    ids = [p["id"] for p in problems]
    means = {pid: {r["method"]: r["mean"] for r in summaries.get(pid, [])
                   if not math.isnan(r["mean"])} for pid in ids}
    candidates = method_order([{"method": m} for pid in ids for m in means[pid]], methods)
    present = [m for m in candidates if all(m in means[pid] for pid in ids)]
    left_out = {m: [pid for pid in ids if m not in means[pid]] for m in candidates
                if m not in present}
    rows = []
    for p in problems:
        sign = 1.0 if p.get("direction", "min") == "min" else -1.0
        rows.append(stats.rankdata([sign * means[p["id"]][m] for m in present]) if present
                    else np.empty(0))
    ranks = np.array(rows, dtype=float).reshape(len(ids), len(present))
    friedman, reason = _friedman(ranks, alpha)
    return {"group": name, "problems": ids, "methods": present,
            "ranks": {m: [float(x) for x in ranks[:, j]] for j, m in enumerate(present)},
            "average": {m: float(ranks[:, j].mean()) for j, m in enumerate(present)},
            "friedman": friedman, "reason": reason, "left_out": left_out}


def rank_groups(summaries: dict[str, list[dict[str, Any]]], problems: Sequence[dict[str, Any]],
                methods: Sequence[str] | None = None,
                alpha: float = ALPHA) -> list[dict[str, Any]]:
    """The rank groups of a suite: each plant (in order of first appearance), then ``all``."""
    plants = list(dict.fromkeys(p["plant"] for p in problems))
    groups = [rank_group(plant, summaries, [p for p in problems if p["plant"] == plant],
                         methods, alpha) for plant in plants]
    return groups + [rank_group("all", summaries, list(problems), methods, alpha)]


def suite_statistics(records: Sequence[dict[str, Any]], suite: dict[str, Any],
                     alpha: float = ALPHA) -> dict[str, Any]:
    """Every statistic of a suite.

    Args:
        records: every record of the suite (any order).
        suite: the suite description (``suite.json``); its ``methods`` (the table order) are
            a list of names or a dict keyed by name.
        alpha: the significance level.

    Returns:
        ``{"problems": [problem descriptions with records, in the suite's order, then any
        problem only the records name], "summaries": {problem id: rows},
        "groups": rank groups}``.
    """
    records = sort_records(records)
    problems = [p for p in suite.get("problems", [])
                if any(r["problem"] == p["id"] for r in records)]
    listed = {p["id"] for p in problems}
    for pid in sorted({r["problem"] for r in records} - listed):
        first = next(r for r in records if r["problem"] == pid)
        log.warning("problem %s has records but is not in the suite", pid)
        problems.append({"id": pid, "label": first.get("label", pid), "plant": first["plant"],
                         "direction": first["direction"],
                         "stochastic": first.get("stochastic", False)})
    methods = list(suite.get("methods") or [])  # a list, or {name: hyperparameters}
    summaries = {p["id"]: problem_summary([r for r in records if r["problem"] == p["id"]],
                                          p, methods, alpha) for p in problems}
    return {"problems": problems, "summaries": summaries,
            "groups": rank_groups(summaries, problems, methods, alpha)}
