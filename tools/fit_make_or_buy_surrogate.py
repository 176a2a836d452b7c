"""Fit the make-or-buy processing-time surrogate and write its residual report.

The *processing time* of a made order is ``completion - start`` in the simulator, where ``start``
is the completion of the previous made order. It depends on the truck's state when the order
starts and on the run's truck speed, so it is measured on made orders *in sequence*: each run
makes every sampled (a, b, c) combination once, in a shuffled order (a new permutation per run),
with deadlines far in the future, and records every order's processing time. Per combination this
gives one draw per run; the mean and the empirical quantiles per combination are then fitted by
least squares as linear functions of the features of
:func:`scmgym.baselines.milp.surrogate.features` (max, sum, number of nonzero types, ties at the
max). Finally the cumulative sums of the fitted times are compared with simulated completion times
of the bundled lists made in full (the MILP's assumption that completion = cumulative sum).

Usage::

    .venv/bin/python tools/fit_make_or_buy_surrogate.py [--seeds N] [--combos K] [--seed S]
                                                        [--quick] [--report PATH]

Deterministic given ``--seed`` (and the other settings). Writes ``docs/make_or_buy_surrogate.md``
unless ``--quick`` (a smoke run: 20 runs, 120 combinations, 10 check runs), which only prints
unless ``--report`` is given. Prints the coefficients in the form of
``scmgym.baselines.milp.surrogate.COEFFICIENTS``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from scmgym.baselines.milp import surrogate
from scmgym.simulators import make_or_buy as mob

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REPORT = ROOT / "docs" / "make_or_buy_surrogate.md"
QUANTILES = (0.5, 0.75, 0.9, 0.95)
FAR_DEADLINE = 10**6  # days: every order on time, deadlines play no role in the timing
CHECK_LISTS = ("list1", "list2", "list3")
CHECK_POSITIONS = (1, 2, 5, 10, 20, 35, 50, 100)


def sample_combos(k: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """``k`` distinct non-empty (a, b, c): structured ones first (one type 1..20 for each type,
    all three equal 1..20, two equal 1..20 with the pair rotating), then uniform draws from
    0..20 per type."""
    top = mob.MAX_COUNT
    structured: list[tuple[int, int, int]] = []
    for n in range(1, top + 1):
        structured += [(n, 0, 0), (0, n, 0), (0, 0, n), (n, n, n)]
        pair = [(n, n, 0), (n, 0, n), (0, n, n)][n % 3]
        structured.append(pair)
    combos = list(dict.fromkeys(structured))[:k]
    seen = set(combos)
    while len(combos) < k:
        x = tuple(int(v) for v in rng.integers(0, top + 1, size=3))
        if x != (0, 0, 0) and x not in seen:
            seen.add(x)
            combos.append(x)  # type: ignore[arg-type]
    return combos


def simulate_durations(combos: list[tuple[int, int, int]], runs: int,
                       seed: int) -> np.ndarray:
    """Processing times, shape (len(combos), runs): run r makes every combination once, in a
    permutation drawn from ``seed``, through the public simulator with its default options."""
    k = len(combos)
    out = np.empty((k, runs))
    for r in range(runs):
        perm = np.random.default_rng([seed, 1, r]).permutation(k)
        rows = [(i + 1, *combos[p], FAR_DEADLINE) for i, p in enumerate(perm)]
        inst = mob.make_instance(rows, name=f"surrogate-fit-{r}")
        res = mob.simulate(inst, [0] * k, seed=np.random.default_rng([seed, 2, r]))
        for i, p in enumerate(perm):
            rec = res.records[i]
            out[p, r] = rec.completion - rec.start
    return out


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares ``y ~ x @ beta``; returns (beta, residuals y - x @ beta)."""
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    return beta, y - x @ beta


def sequence_check(coefs: dict, runs: int, seed: int) -> list[dict]:
    """Completion times of the bundled lists made in full vs the cumulative surrogate."""
    rows = []
    for name in CHECK_LISTS:
        inst = mob.load_instance(name)
        comp = np.array([mob.simulate(inst, [0] * inst.n, seed=np.random.default_rng(
            [seed, 3, j])).completion_times() for j in range(runs)])
        x = np.array([surrogate.features(*o.counts) for o in inst.orders])
        cum_mean = np.cumsum(x @ coefs[None])
        cum_q90 = np.cumsum(x @ coefs[0.9])
        for pos in CHECK_POSITIONS:
            if pos > inst.n:
                continue
            k = pos - 1
            sim = comp[:, k]
            rows.append({"list": name, "position": pos, "sim_mean": sim.mean(),
                         "sim_sd": sim.std(ddof=1) if runs > 1 else 0.0,
                         "surrogate_mean": cum_mean[k],
                         "rel_error": (cum_mean[k] - sim.mean()) / sim.mean(),
                         "surrogate_q90": cum_q90[k],
                         "p_within_q90": float(np.mean(sim <= cum_q90[k])),
                         "p_within_mean": float(np.mean(sim <= cum_mean[k]))})
    return rows


def grid_checks(coefs: dict) -> dict[float, tuple[float, float]]:
    """Over every non-empty (a, b, c) in 0..20: (min, max) of quantile fit - mean fit."""
    top = mob.MAX_COUNT
    grid = [(a, b, c) for a in range(top + 1) for b in range(top + 1) for c in range(top + 1)
            if (a, b, c) != (0, 0, 0)]
    x = np.array([surrogate.features(*g) for g in grid])
    mean = x @ coefs[None]
    return {q: (float((x @ coefs[q] - mean).min()), float((x @ coefs[q] - mean).max()))
            for q in QUANTILES}


def _label(q: float | None) -> str:
    return "mean" if q is None else f"q{q:g}"


def report(args: argparse.Namespace, combos: list[tuple[int, int, int]], dur: np.ndarray,
           coefs: dict, stats: dict, resid: dict, targets: dict, checks: list[dict],
           grid: dict) -> str:
    names = surrogate.FEATURES
    c = np.array(combos)
    lines = [
        "# Make-or-buy processing-time surrogate: fit and residuals",
        "",
        "Written by `tools/fit_make_or_buy_surrogate.py "
        f"--seeds {args.seeds} --combos {args.combos} --seed {args.seed}"
        f"{' --quick' if args.quick else ''}`; do not edit by hand. The coefficients are "
        "copied into `scmgym/baselines/milp/surrogate.py`, which the MILP "
        "(`scmgym/baselines/milp/make_or_buy.py`, [milp.md](milp.md)) uses.",
        "",
        "## What was simulated",
        "",
        "- **Processing time** of a made order = `completion - start` in the simulator, where "
        "`start` is the completion of the previous made order (bought orders take no time). "
        "Completion of a made order = sum of the processing times of the made orders up to it.",
        f"- {len(combos)} distinct non-empty (a, b, c) in 0..20: every single-type order, "
        "every all-equal order, one two-equal order per count, then uniform draws.",
        f"- {args.seeds} runs. Run r makes all {len(combos)} combinations once, in its own "
        "random order, with deadlines far away, through `scmgym.simulators.make_or_buy."
        "simulate` with its default options (truck speed latch on, shortcuts on). Each "
        "combination therefore gets one processing time per run, after varied predecessors, "
        "with the run's own truck speed.",
        "- Targets per combination: the mean and the empirical quantiles "
        f"{', '.join(f'{q:g}' for q in QUANTILES)} of its {args.seeds} processing times.",
        "",
        "## Features",
        "",
        "| feature | definition |",
        "|---|---|",
        "| intercept | 1 |",
        "| max | max(a, b, c): the longest line sets the pace |",
        "| sum | a + b + c: one truck trip per component |",
        "| nonzero | number of types with a count > 0 |",
        "| ties | number of other types whose count equals the max (0, 1, 2): the order waits "
        "for the slowest of the equally long lines |",
        "",
        "An empty order (a = b = c = 0) is not fitted: the simulator completes it at the next "
        "assembly tick, Exp(12/day), and the surrogate returns that distribution's mean or "
        "quantile exactly.",
        "",
        "## Coefficients (days)",
        "",
        "| target | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for q, beta in coefs.items():
        lines.append(f"| {_label(q)} | " + " | ".join(f"{v:.4f}" for v in beta) + " |")
    lines += [
        "",
        "## Fit quality (over the sampled combinations)",
        "",
        "R² is over the per-combination targets. `noise` is the typical sampling error of the "
        "target itself (standard error of the mean, or of the quantile by the asymptotic "
        "formula with a normal density), so residuals of that size are not lack of fit.",
        "",
        "| target | R² | max abs residual | mean abs residual | RMSE | noise (median) |",
        "|---|---|---|---|---|---|",
    ]
    for q in coefs:
        s = stats[q]
        lines.append(f"| {_label(q)} | {s['r2']:.5f} | {s['max_abs']:.2f} | {s['mean_abs']:.2f} "
                     f"| {s['rmse']:.2f} | {s['noise']:.2f} |")
    sd = dur.std(axis=1, ddof=1)
    lines += [
        "",
        f"Spread of the processing time itself: sd per combination {sd.min():.1f} to "
        f"{sd.max():.1f} days (median {np.median(sd):.1f}); q0.9 - mean per combination "
        f"{(targets[0.9] - targets[None]).min():.1f} to "
        f"{(targets[0.9] - targets[None]).max():.1f} days.",
        "",
        "Residuals by kind of combination (mean abs / max abs, days):",
        "",
        "| kind | count | mean fit | q0.9 fit |",
        "|---|---|---|---|",
    ]
    nz = (c > 0).sum(axis=1)
    kinds = {
        "one type": nz == 1,
        "all three equal": (c[:, 0] == c[:, 1]) & (c[:, 1] == c[:, 2]),
        "other": (nz > 1) & ~((c[:, 0] == c[:, 1]) & (c[:, 1] == c[:, 2])),
    }
    for kind, mask in kinds.items():
        if not mask.any():
            continue
        cells = [f"{np.abs(resid[q][mask]).mean():.2f} / {np.abs(resid[q][mask]).max():.2f}"
                 for q in (None, 0.9)]
        lines.append(f"| {kind} | {int(mask.sum())} | {cells[0]} | {cells[1]} |")
    order = np.argsort(-np.abs(resid[None]))[:15]
    lines += [
        "",
        "## Worst cases (largest absolute residual of the mean fit)",
        "",
        "Residual = simulated - fitted (positive: the surrogate is too optimistic).",
        "",
        "| (a, b, c) | simulated mean | fitted mean | residual | sd | simulated q0.9 | fitted "
        "q0.9 | residual q0.9 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i in order:
        fm = targets[None][i] - resid[None][i]
        f9 = targets[0.9][i] - resid[0.9][i]
        lines.append(f"| {tuple(int(v) for v in c[i])} | {targets[None][i]:.1f} | {fm:.1f} | "
                     f"{resid[None][i]:+.1f} | {sd[i]:.1f} | {targets[0.9][i]:.1f} | {f9:.1f} | "
                     f"{resid[0.9][i]:+.1f} |")
    lines += [
        "",
        "## Quantile fits vs the mean fit over the whole grid",
        "",
        "Over all 9260 non-empty (a, b, c) in 0..20: min and max of (quantile fit - mean fit), "
        "days. A positive minimum means the quantile surrogate is never shorter than the mean "
        "surrogate, so a plan on time under a quantile surrogate is on time under the mean one.",
        "",
        "| quantile | min | max |",
        "|---|---|---|",
    ]
    for q, (lo, hi) in grid.items():
        lines.append(f"| {q:g} | {lo:+.2f} | {hi:+.2f} |")
    lines += [
        "",
        "## Sequence check: cumulative surrogate vs simulated completion",
        "",
        f"Each bundled list made in full (all 100 orders), {args.check_seeds} runs. `position` k "
        "is the k-th order; `surrogate` is the sum of the fitted mean times of orders 1..k, "
        "`P(sim <= ...)` the share of runs whose simulated completion of order k is at most "
        "the cumulative mean or the cumulative q0.9 surrogate.",
        "",
        "| list | position | simulated mean (sd) | surrogate mean | rel. error | "
        "P(sim <= mean) | surrogate q0.9 | P(sim <= q0.9) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in checks:
        lines.append(f"| {r['list']} | {r['position']} | {r['sim_mean']:.1f} ({r['sim_sd']:.1f}) "
                     f"| {r['surrogate_mean']:.1f} | {r['rel_error']:+.2%} | "
                     f"{r['p_within_mean']:.2f} | {r['surrogate_q90']:.1f} | "
                     f"{r['p_within_q90']:.2f} |")
    z = (dur - dur.mean(axis=1, keepdims=True)) / np.maximum(dur.std(axis=1, keepdims=True),
                                                              1e-9)
    share = float(z.mean(axis=0).var() / z.var()) if args.seeds > 1 else float("nan")
    lines += [
        "",
        "## Notes",
        "",
        f"- **Run effect.** The standardised processing times of one run share a common "
        f"component (mostly the run's truck speed): {share:.1%} of their variance is between "
        "runs. The times of the orders of one plan are therefore slightly positively "
        "correlated, not independent.",
        "- **Sum of quantiles.** The robust MILP sums per-order quantiles. For sums of many "
        "orders this is far more conservative than the quantile of the sum (spreads add up "
        "linearly instead of as a square root); the sequence check shows how conservative.",
        "- The fit is over counts 0..20 only (the range of the lists and of the simulator).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=None,
                        help="simulation runs (processing times per combination); default 200, "
                        "20 with --quick")
    parser.add_argument("--combos", type=int, default=None,
                        help="distinct (a, b, c) combinations; default 400, 120 with --quick")
    parser.add_argument("--check-seeds", type=int, default=None,
                        help="runs per list in the sequence check; default 50, 10 with --quick")
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument("--quick", action="store_true",
                        help="small smoke run; does not write the report unless --report")
    parser.add_argument("--report", type=Path, default=None,
                        help=f"where to write the Markdown report (default {DEFAULT_REPORT})")
    args = parser.parse_args(argv)
    args.seeds = args.seeds or (20 if args.quick else 200)
    args.combos = args.combos or (120 if args.quick else 400)
    args.check_seeds = args.check_seeds or (10 if args.quick else 50)
    if args.seeds < 2 or not 10 <= args.combos <= 9260 or args.check_seeds < 1:
        parser.error("need --seeds >= 2, 10 <= --combos <= 9260, --check-seeds >= 1")

    t0 = time.perf_counter()
    combos = sample_combos(args.combos, np.random.default_rng([args.seed, 0]))
    dur = simulate_durations(combos, args.seeds, args.seed)
    x = np.array([surrogate.features(*k) for k in combos])
    targets: dict = {None: dur.mean(axis=1)}
    for q in QUANTILES:
        targets[q] = np.quantile(dur, q, axis=1)
    coefs, stats, resid = {}, {}, {}
    sd = dur.std(axis=1, ddof=1)
    for q, y in targets.items():
        beta, r = fit(x, y)
        coefs[q], resid[q] = beta, r
        if q is None:
            noise = sd / np.sqrt(args.seeds)
        else:  # asymptotic sd of a sample quantile under a normal density
            from statistics import NormalDist

            z = NormalDist().inv_cdf(q)
            dens = np.exp(-z * z / 2) / np.sqrt(2 * np.pi) / sd
            noise = np.sqrt(q * (1 - q) / args.seeds) / dens
        stats[q] = {"r2": 1 - r.var() / y.var(), "max_abs": np.abs(r).max(),
                    "mean_abs": np.abs(r).mean(), "rmse": np.sqrt((r * r).mean()),
                    "noise": float(np.median(noise))}
    checks = sequence_check(coefs, args.check_seeds, args.seed)
    grid = grid_checks(coefs)
    text = report(args, combos, dur, coefs, stats, resid, targets, checks, grid)
    out = args.report if args.report is not None else (None if args.quick else DEFAULT_REPORT)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")

    print(f"# {args.combos} combinations x {args.seeds} runs, seed {args.seed}, "
          f"{time.perf_counter() - t0:.1f} s")
    print(f"# features: {surrogate.FEATURES}")
    for q in coefs:
        s = stats[q]
        print(f"# {_label(q):5s} R2={s['r2']:.5f} max|res|={s['max_abs']:.2f} "
              f"mean|res|={s['mean_abs']:.2f} noise={s['noise']:.2f}")
    print("COEFFICIENTS: dict[float | None, tuple[float, ...]] = {")
    for q, beta in coefs.items():
        print(f"    {q!r}: ({', '.join(f'{v:.4f}' for v in beta)}),")
    print("}")
    print(f"# report: {out if out is not None else 'not written (--quick)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
