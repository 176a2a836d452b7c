"""The figures of a comparison or a suite, drawn with matplotlib's Agg backend.

Each function takes plain data (labels, values, history rows), writes one PNG and returns its
path, or returns None without writing when there is nothing to draw; none reads a run
directory. :mod:`scmgym.experiments.report` uses them; the one-problem comparison can too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: The resolution of every figure.
DPI = 110


def _pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    """Save and close a figure; return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    _pyplot().close(fig)
    return path


def convergence_plot(path: Path, label: str, objective: Any,
                     histories: Mapping[str, Sequence[Sequence[Sequence[Any]]]]) -> Path | None:
    """Median and interquartile range across seeds of the best-so-far value vs simulations.

    Every curve runs to the longest history; a run that stopped early (EDD: one simulation)
    stays flat at its final best, and a method whose every history has one row is dashed.

    Args:
        path: the PNG to write.
        label: the problem's label (the title).
        objective: the objective's name (or an object whose ``str`` is it).
        histories: per method, in legend order, the history rows of each run
            (:data:`~scmgym.core.evaluator.HISTORY_COLUMNS`: row[2] is the best so far).

    Returns:
        The path, or None (nothing written) when no history has a row.
    """
    runs = {m: [h for h in hs if len(h)] for m, hs in histories.items()}
    length = max((len(h) for hs in runs.values() for h in hs), default=0)
    if length == 0:
        log.info("no history to plot for %s", label)
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    grid = np.arange(1, length + 1)
    for k, (method, hs) in enumerate(histories.items()):
        curves = [np.array([row[2] for row in h], dtype=float) for h in hs if len(h)]
        if not curves:
            continue
        curves_arr = np.array([np.concatenate([c, np.full(length - c.size, c[-1])])
                               for c in curves])
        lo, hi = np.percentile(curves_arr, [25, 75], axis=0)
        ax.plot(grid, np.median(curves_arr, axis=0), label=method, color=f"C{k}",
                linestyle="--" if max(c.size for c in curves) == 1 else "-")
        ax.fill_between(grid, lo, hi, color=f"C{k}", alpha=0.2)
    ax.set_xlabel("simulations")
    ax.set_ylabel(f"best {objective} so far")
    ax.set_xscale("log")
    ax.set_title(f"{label}: median and IQR across seeds")
    ax.legend(fontsize="small")
    return _save(fig, path)


def box_plot(path: Path, label: str, ylabel: str,
             values: Mapping[str, Sequence[float]]) -> Path | None:
    """A box per method of its runs' final values.

    Args:
        path: the PNG to write.
        label: the problem's label (the title).
        ylabel: the axis label (the objective).
        values: per method, in axis order, its runs' values (methods without one are left out).

    Returns:
        The path, or None (nothing written) when no method has a value.
    """
    data = {m: list(v) for m, v in values.items() if len(v)}
    if not data:
        log.info("no value to plot for %s", label)
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.boxplot(list(data.values()), tick_labels=list(data))
    ax.set_ylabel(ylabel)
    ax.set_title(f"{label}: final objective per run")
    return _save(fig, path)


def cd_cliques(average: Sequence[float], cd: float) -> list[tuple[int, int]]:
    """The maximal runs of methods, sorted by average rank, whose ranks differ by less than CD.

    Args:
        average: the average ranks, sorted ascending.
        cd: the critical difference.

    Returns:
        ``(first, last)`` index pairs (first < last) of each maximal run, in order.

    >>> cd_cliques([1.0, 1.5, 2.0, 3.5], 1.0)
    [(0, 1), (1, 2)]
    """
    cliques: list[tuple[int, int]] = []
    for i in range(len(average)):
        j = i
        while j + 1 < len(average) and average[j + 1] - average[i] < cd:
            j += 1
        if j > i and not (cliques and cliques[-1][1] >= j):
            cliques.append((i, j))
    return cliques


def cd_diagram(path: Path, title: str, average: Mapping[str, float], cd: float) -> Path | None:
    """A critical-difference diagram (Demšar 2006): the axis of average ranks (1 = best, on the
    left), one line per method to its name, and a thick bar joining each maximal group of
    methods whose average ranks differ by less than the critical difference.

    Args:
        path: the PNG to write.
        title: the figure's title.
        average: the average rank of each method.
        cd: Nemenyi's critical difference.

    Returns:
        The path, or None (nothing written) for fewer than two methods.
    """
    if len(average) < 2:
        return None
    items = sorted(average.items(), key=lambda mr: (mr[1], mr[0]))
    k, ranks = len(items), [r for _, r in items]
    half = (k + 1) // 2
    cliques = cd_cliques(ranks, cd)
    top = 0.35 + 0.15 * len(cliques)  # the names start below the bars
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.3 * half + 0.15 * len(cliques)))
    lo, hi = 1, max(k, int(np.ceil(max(ranks))))
    ax.plot([lo, hi], [0, 0], color="black", lw=1)
    for t in range(lo, hi + 1):
        ax.plot([t, t], [0, 0.1], color="black", lw=1)
        ax.text(t, 0.18, str(t), ha="center", va="bottom", fontsize=9)
    ax.plot([lo, lo + cd], [0.65, 0.65], color="black", lw=1.5)
    ax.text(lo + cd / 2, 0.72, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    for i, (method, rank) in enumerate(items):
        left = i < half
        depth = -(top + 0.35 * (i if left else k - 1 - i))
        edge = lo - 0.3 if left else hi + 0.3
        ax.plot([rank, rank, edge], [0, depth, depth], color="black", lw=0.8)
        ax.text(edge - 0.05 if left else edge + 0.05, depth, f"{method} ({rank:.2f})",
                ha="right" if left else "left", va="center", fontsize=9)
    for n, (i, j) in enumerate(cliques):
        y = -0.2 - 0.15 * n
        ax.plot([ranks[i] - 0.05, ranks[j] + 0.05], [y, y], color="black", lw=3)
    ax.set_xlim(lo - 2.2, hi + 2.2)
    ax.set_ylim(-(top + 0.35 * half), 1.0)
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def size_curve(path: Path, title: str, ylabel: str,
               series: Mapping[str, Mapping[int, Sequence[float]]]) -> Path | None:
    """A policy's result on test instances against their size: per series (a training
    problem and method), the mean and the range over its values at each instance size.

    Returns:
        The path, or None (nothing written) when no series has two sizes.
    """
    drawn = {k: {int(n): [float(v) for v in vs if v is not None] for n, vs in s.items()}
             for k, s in series.items()}
    drawn = {k: {n: vs for n, vs in s.items() if vs} for k, s in drawn.items()}
    if not any(len(s) >= 2 for s in drawn.values()):
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, s in drawn.items():
        sizes = sorted(s)
        mean = [float(np.mean(s[n])) for n in sizes]
        ax.plot(sizes, mean, marker="o", label=label)
        ax.fill_between(sizes, [min(s[n]) for n in sizes], [max(s[n]) for n in sizes],
                        alpha=0.15)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({n for s in drawn.values() for n in s}))
    ax.get_xaxis().set_major_formatter(_pyplot().matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("orders per test instance")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)
