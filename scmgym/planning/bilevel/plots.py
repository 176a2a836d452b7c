"""Figures of a bi-level result: the plan per product (demand, production and starting
inventory per day, as in Figures 2 and 3 of Beykal et al., 2021), the per-run convergence
profiles, and the crews per week of the HFS case."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: str | Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_stn_plan(plan: dict, path: str | Path, title: str = "") -> Path:
    """One panel per product: demand and production as bars, starting inventory as a line."""
    import numpy as np

    plt = _pyplot()
    products = list(plan)
    fig, axes = plt.subplots(1, len(products), figsize=(5.5 * len(products), 3.8), squeeze=False)
    for ax, p in zip(axes[0], products, strict=True):
        rows = plan[p]
        days = np.arange(1, len(rows["demand"]) + 1)
        ax.bar(days - 0.2, rows["demand"], width=0.4, label="demand", color="#bbbbbb")
        ax.bar(days + 0.2, rows["production"], width=0.4, label="production", color="#1f77b4")
        ax.plot(days, rows["starting_inventory"], "o-", color="#d62728",
                label="starting inventory")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_title(p)
        ax.set_xlabel("day")
        ax.set_ylabel("units")
        ax.set_xticks(days)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(plt, fig, path)


def plot_profiles(runs: list[dict], path: str | Path, title: str = "",
                  reference: float | None = None, reference_label: str = "") -> Path:
    """The best feasible total after each evaluation, one line per run (the sampled phase
    shaded), with an optional reference (the integrated optimum, a constant crew)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    samples = 0
    for run in runs:
        hist = run["history"]
        samples = max(samples, sum(1 for h in hist if h["phase"] == "sample"))
        xs = [h["evaluation"] for h in hist if h["best"] is not None]
        ys = [h["best"] for h in hist if h["best"] is not None]
        ax.step(xs, ys, where="post", alpha=0.7, linewidth=1)
    if samples:
        ax.axvspan(0, samples, color="#eeeeee", zorder=0, label="sampling")
    if reference is not None:
        ax.axhline(reference, color="black", linestyle="--", linewidth=1, label=reference_label)
    ax.set_xlabel("evaluations (each solves every period's follower)")
    ax.set_ylabel("best feasible total cost")
    ax.set_title(title or "DOMINO runs")
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_crews(plan: dict, path: str | Path, title: str = "") -> Path:
    """Crew sizes per week (grouped bars), with each week's lateness when known."""
    import numpy as np

    plt = _pyplot()
    weeks = plan["weeks"]
    w = np.arange(1, len(weeks) + 1)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for k, (kind, colour) in enumerate(zip("MER", ("#1f77b4", "#ff7f0e", "#2ca02c"), strict=True)):
        ax.bar(w + (k - 1) * 0.27, [row["crew"][kind] for row in weeks], width=0.27, label=kind,
               color=colour)
    ax.set_xticks(w, [f"week {i}" for i in w])
    ax.set_ylabel("workers")
    ax.set_title(title or "crews per week")
    ax.legend(fontsize=8)
    return _save(plt, fig, path)
