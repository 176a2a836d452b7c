"""Plots with matplotlib (Agg backend: files only, no screen needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from scmgym.simulators import hfs  # noqa: E402


def hfs_gantt(result: hfs.HFSResult, path: str | Path, *, title: str | None = None) -> Path:
    """Draw stations over days, one bar per order, coloured by machine type.

    The solid part of a bar spans admission to finish; the hatched part is the wait on the
    station for the truck (finish to pickup). Returns the path written (PNG, SVG or PDF by suffix).
    """
    path = Path(path)
    stations = result.station_assignment()
    names = (hfs.STATION_NAMES if result.stations == len(hfs.STATION_NAMES)
             else tuple(f"S{k + 1}" for k in range(result.stations)))
    types = list(hfs.MACHINE_TYPES)
    cmap = plt.get_cmap("tab20", len(types))
    colour = {t: cmap(i) for i, t in enumerate(types)}
    fig, ax = plt.subplots(figsize=(12, 0.3 * result.stations + 1.8))
    for rec, k in zip(result.records, stations, strict=True):
        ax.barh(k, rec.finish_day - rec.admission_day, left=rec.admission_day, height=0.8,
                color=colour[rec.machine_type], edgecolor="black", linewidth=0.3)
        if rec.pickup_day > rec.finish_day:
            ax.barh(k, rec.pickup_day - rec.finish_day + 1, left=rec.finish_day, height=0.8,
                    color=colour[rec.machine_type], alpha=0.45, hatch="//", edgecolor="grey",
                    linewidth=0.3)
    ax.set_yticks(range(result.stations), names)
    ax.invert_yaxis()
    ax.set_xlabel("day")
    ax.set_ylabel("station")
    ax.set_xlim(0, result.makespan + 1)
    ax.axvline(result.makespan, color="red", linestyle="--", linewidth=1)
    present = [t for t in types if any(r.machine_type == t for r in result.records)]
    ax.legend(handles=[Patch(color=colour[t], label=t) for t in present], ncol=6,
              fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.4 / max(
                  result.stations, 1)), frameon=False)
    ax.set_title(title or f"makespan {result.makespan} days, workers {result.workers}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def convergence_plot(history, path: Path, title: str, objective: str) -> Path:
    """Objective of every simulation and the best so far, against simulations (one run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if history:
        sims = [r[0] for r in history]
        ax.scatter(sims, [r[1] for r in history], s=4, alpha=0.3, label="simulation")
        ax.plot(sims, [r[2] for r in history], color="C3", label="best so far")
        ax.legend()
    ax.set_xlabel("simulations")
    ax.set_ylabel(objective)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
