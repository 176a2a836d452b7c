"""One figure of a plan at a stock point: stock against its safety target, what is made,
arrives, leaves and is delivered there, and the use of the resources that make it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scmgym.errors import ScmgymError
from scmgym.planning.snp.data import SNPInstance
from scmgym.planning.snp.plan import SNPPlan


def _per_bucket(frame, T: int, column: str = "quantity", bucket: str = "bucket") -> np.ndarray:
    out = np.zeros(T)
    if len(frame):
        for t, x in frame.groupby(bucket)[column].sum().items():
            if 0 <= int(t) < T:
                out[int(t)] += x
    return out


def stock_point_locations(inst: SNPInstance, product: str) -> list[str]:
    """Locations where ``product`` can be held, made, procured, moved to or delivered."""
    f = inst.frames
    where_: set[str] = set()
    for tab in ("stock", "processes", "demands", "procurement"):
        where_ |= set(f[tab].loc[f[tab]["product"] == product, "location"])
    lanes = f["lanes"][f["lanes"]["product"] == product]
    where_ |= set(lanes["origin"]) | set(lanes["destination"])
    return sorted(where_)


def check_stock_point(inst: SNPInstance, product: str, location: str) -> None:
    """Raise ScmgymError unless ``product`` has a stock point at ``location``."""
    places = stock_point_locations(inst, product)
    if location not in places:
        raise ScmgymError(f"product {product!r} is not held, made or delivered at "
                          f"{location!r} in instance {inst.name!r}; it is at: "
                          f"{', '.join(places) if places else 'no location'}")


def plot_stock_point(inst: SNPInstance, plan: SNPPlan, product: str, location: str,
                     path: str | Path | None = None):
    """Stock, production, arrivals, departures, deliveries and capacity use over time for
    ``product`` at ``location``; saved as an image if ``path`` is given.

    Raises:
        ScmgymError: the product is never held, made or delivered at that location.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = inst.frames
    T = inst.n_buckets
    start, days = inst.starts(), inst.days()
    sel = {name: plan[name] for name in ("stock", "production", "delivery", "safety")}
    tr = plan["transport"]
    stock = _per_bucket(sel["stock"][(sel["stock"]["location"] == location)
                                     & (sel["stock"]["product"] == product)], T)
    made = _per_bucket(sel["production"][(sel["production"]["location"] == location)
                                         & (sel["production"]["product"] == product)], T)
    delivered = _per_bucket(sel["delivery"][(sel["delivery"]["location"] == location)
                                            & (sel["delivery"]["product"] == product)], T)
    arrived = _per_bucket(tr[(tr["destination"] == location) & (tr["product"] == product)], T,
                          bucket="arrival")
    sent = _per_bucket(tr[(tr["origin"] == location) & (tr["product"] == product)], T)
    st = f["stock"]
    row = st[(st["location"] == location) & (st["product"] == product)]
    target = float(row["safety"].iloc[0]) if len(row) else 0.0
    check_stock_point(inst, product, location)
    procs = f["processes"][(f["processes"]["location"] == location)
                           & (f["processes"]["product"] == product)]
    resources = sorted({r for r in procs["resource"] if r})

    fig, axes = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True,
                             gridspec_kw={"height_ratios": [3, 2]})
    ax = axes[0]
    edges = np.append(start, start[-1] + days[-1])
    ax.step(edges, np.append(stock, stock[-1]), where="post", color="tab:blue", lw=2,
            label="stock (end of bucket)")
    if target > 0:
        ax.axhline(target, color="tab:blue", ls="--", lw=1, label="safety stock")
    width = days * 0.8
    flows = [(made, "made", "tab:green"), (arrived, "arrived", "tab:olive"),
             (-sent, "sent", "tab:orange"), (-delivered, "delivered", "tab:red")]
    for values, label, colour in flows:
        if np.any(values):
            ax.bar(start + days * 0.1, values, width=width, align="edge", alpha=0.5,
                   color=colour, label=label)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel("units")
    ax.set_title(f"{product} at {location}: {inst.name}")
    ax.legend(loc="upper right", fontsize=8, ncol=3)
    ax = axes[1]
    if resources:
        used = {r: np.zeros(T) for r in resources}
        prod = plan["production"]
        pr = f["processes"].set_index("process")
        for k, t, x in prod[["process", "bucket", "quantity"]].itertuples(index=False):
            r = pr.at[k, "resource"]
            if r in used:
                used[r][int(t)] += pr.at[k, "usage"] * x
        cap_day = f["resources"].set_index("resource")["capacity"]
        over = f["capacity"]
        for r in resources:
            cap = cap_day[r] * days
            for t, c in zip(over.loc[over["resource"] == r, "bucket"],
                            over.loc[over["resource"] == r, "capacity"], strict=True):
                cap[int(t)] = c
            share = np.divide(used[r], cap, out=np.zeros(T), where=cap > 0) * 100
            ax.step(edges, np.append(share, share[-1]), where="post", label=r)
        ax.axhline(100, color="black", ls=":", lw=1)
        ax.set_ylabel("capacity used (%)")
        ax.legend(loc="upper right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no resource makes this product here", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xlabel("day")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
