"""Figures of a production-distribution plan: line utilisation per day, and inventory against
target and minimum per DC."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scmgym.planning.production_distribution.data import PDInstance
from scmgym.planning.production_distribution.model import PlanReport


def plot_plan(inst: PDInstance, report: PlanReport, path: str | Path,
              title: str | None = None) -> Path:
    """Write a PNG with the utilisation of each line per day (hours used over hours available,
    a heat map) and, per DC, the stock summed over its SKUs against the summed target and
    minimum, with the backlog below zero."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = inst.arrays
    T = a.horizon
    dcs = inst.dcs
    cols = 4
    rows = (len(dcs) + cols - 1) // cols
    fig = plt.figure(figsize=(13, 3.2 + 2.3 * rows))
    grid = fig.add_gridspec(rows + 1, cols, height_ratios=[1.4] + [1] * rows)
    ax = fig.add_subplot(grid[0, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(a.hours > 0, report.hours_used / np.where(a.hours > 0, a.hours, 1),
                        np.nan)
    image = ax.imshow(util, aspect="auto", cmap="viridis", vmin=0, vmax=1,
                      interpolation="nearest")
    ax.set_yticks(range(len(inst.lines)), [f"{ln} ({k})" for ln, k in zip(
        inst.lines, inst.frames["lines"]["type"], strict=True)], fontsize=8)
    ax.set_xticks(range(T))
    ax.set_xlabel("day")
    ax.set_title("line utilisation (hours used / hours available)")
    fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01)
    days = np.arange(T)
    for k, dc in enumerate(dcs):
        axd = fig.add_subplot(grid[1 + k // cols, k % cols])
        held = a.held[:, k]
        stock = report.dc_stock[held, k].sum(axis=0)
        backlog = report.backlog[held, k].sum(axis=0)
        target = a.target[held, k].sum()
        axd.fill_between(days, 0, stock, step="mid", alpha=0.35, color="tab:blue",
                         label="stock")
        axd.fill_between(days, 0, -backlog, step="mid", alpha=0.5, color="tab:red",
                         label="backlog")
        axd.axhline(target, color="tab:green", lw=1.2, ls="--", label="target")
        axd.axhline(a.min_share * target, color="tab:orange", lw=1, ls=":", label="minimum")
        axd.set_title(f"{dc} (plant {inst.plants[a.dc_plant[k]]})", fontsize=9)
        axd.tick_params(labelsize=7)
        if k == 0:
            axd.legend(fontsize=7, loc="lower left")
    fig.suptitle(title or f"{inst.name}: cost {report.cost:,.0f}", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
