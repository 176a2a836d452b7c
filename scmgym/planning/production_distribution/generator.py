"""Generated production-distribution instances for the capstone's three scenarios.

The network is the capstone's: plant A with lines 1A-6A serving DC1A-DC6A, plant B with lines
1B-4B serving DC1B-DC5B; lines 1A, 4A, 5A, 3B and 4B make product type 2, the others type 1;
14 daily periods. Demand is shaped like the capstone's: about ``daily_demand`` (100,000) units
a day in all, split over SKUs and DCs, each SKU with a day-to-day coefficient of variation
drawn from [0.13, 0.18].

The scenarios differ only in the lines' rates (the same seed gives the same demand, targets
and costs in every scenario), set against the capacity check of
:func:`~scmgym.planning.production_distribution.model.capacity_position`, per plant and type:

1. each plant can meet its demand and build its targets: capacity 1.2 x what the full target
   needs;
2. capacity meets demand but not the target inventory: capacity covers the demand and 40 % of
   the target build-up;
3. plant B cannot meet its demand even with no safety stock (0.85 x its demand), and plant A
   has capacity for its own full targets plus B's shortfall, with 15 % to spare: inventory
   must move between the plants.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scmgym.errors import DataError
from scmgym.planning.production_distribution.data import PDInstance
from scmgym.planning.production_distribution.model import capacity_position

SCENARIOS = {
    1: "each plant meets its demand and its target inventory",
    2: "capacity meets demand but not the target inventory",
    3: "plant B cannot meet its demand: inventory must move between the plants",
}
LINES = {"A": ["1A", "2A", "3A", "4A", "5A", "6A"], "B": ["1B", "2B", "3B", "4B"]}
TYPE_2_LINES = {"1A", "4A", "5A", "3B", "4B"}
DCS = {"A": [f"DC{i}A" for i in range(1, 7)], "B": [f"DC{i}B" for i in range(1, 6)]}
#: share of the network's demand at plant A's DCs
PLANT_A_SHARE = 0.55
#: unit costs: holding over target, below target, below minimum, backlog (per unit and day),
#: transfer between plants (per unit)
OVER_COST, UNDER_COST, MIN_COST, STOCKOUT_COST, TRANSFER_COST = 0.02, 0.2, 0.5, 2.0, 0.6
#: a production run lasts at least this many hours at the SKU's mean rate (the MOQ)
MOQ_HOURS = 4.0


def generate_production_distribution_instance(
        scenario: int = 1, n_skus: int = 10, seed: int = 0, *, horizon: int = 14,
        daily_demand: float = 100_000.0) -> PDInstance:
    """A generated instance of one of the capstone's :data:`SCENARIOS`.

    Args:
        scenario: 1, 2 or 3 (module docstring).
        n_skus: SKUs, split evenly between the two product types (at least 2).
        seed: the random seed (demand, targets, rates, outages, costs).
        horizon: days planned (the capstone's 14).
        daily_demand: mean demand of the whole network per day, in units.
    """
    if scenario not in SCENARIOS:
        raise DataError("unknown scenario", value=scenario,
                        allowed=", ".join(f"{k} ({v})" for k, v in SCENARIOS.items()))
    if n_skus < 2:
        raise DataError("too few SKUs", value=n_skus, allowed="at least 2 (one per type)")
    if horizon < 3:
        raise DataError("horizon too short", value=horizon, allowed="at least 3 days")
    rng = np.random.default_rng(seed)
    skus = [f"S{i + 1}" for i in range(n_skus)]
    types = ["type 1" if i < (n_skus + 1) // 2 else "type 2" for i in range(n_skus)]
    plants = ["A", "B"]
    lines = [(line, p, "type 2" if line in TYPE_2_LINES else "type 1")
             for p in plants for line in LINES[p]]
    dcs = [(dc, p, int(rng.integers(1, 3))) for p in plants for dc in DCS[p]]

    # demand: shares per type, SKU and DC, a CV per SKU
    sku_share = np.empty(n_skus)
    for kind in ("type 1", "type 2"):
        idx = [i for i, k in enumerate(types) if k == kind]
        sku_share[idx] = 0.5 * rng.dirichlet(np.full(len(idx), 2.0))
    dc_share = np.concatenate([PLANT_A_SHARE * rng.dirichlet(np.full(len(DCS["A"]), 5.0)),
                               (1 - PLANT_A_SHARE) * rng.dirichlet(np.full(len(DCS["B"]), 5.0))])
    mean = daily_demand * np.outer(sku_share, dc_share)            # (S, D)
    cv = rng.uniform(0.13, 0.18, n_skus)
    noise = rng.standard_normal((n_skus, len(dcs), horizon))
    demand = np.round(np.maximum(mean[:, :, None] * (1 + cv[:, None, None] * noise), 0.0))
    cover = rng.uniform(2.0, 4.0, n_skus)                          # days of demand
    target = np.round(cover[:, None] * mean)
    lead = np.array([d[2] for d in dcs])
    initial = np.round(mean * lead[None, :] + rng.uniform(0.6, 0.9, mean.shape) * target)
    transport = np.round(rng.uniform(0.05, 0.15, mean.shape) * (1 + lead[None, :]), 3)

    base_rate = rng.uniform(300.0, 600.0, n_skus)                  # units per hour
    efficiency = rng.uniform(0.8, 1.2, len(lines))
    hours = []
    for line, _, _ in lines:
        hours.append((line, int(rng.integers(0, horizon)), 16.0))  # planned maintenance
        for day in np.flatnonzero(rng.random(horizon) < 0.1):      # unexpected outages
            hours.append((line, int(day), float(np.round(24 - rng.uniform(2, 8), 1))))
    line_hours = pd.DataFrame(hours, columns=["line", "day", "hours"]) \
        .drop_duplicates(["line", "day"], keep="first")

    def frames(scale: dict[tuple[str, str], float]) -> dict[str, pd.DataFrame]:
        rates = [(line, s, float(np.round(base_rate[i] * efficiency[j]
                                          * scale.get((p, kind), 1.0), 1)))
                 for j, (line, p, kind) in enumerate(lines)
                 for i, s in enumerate(skus) if types[i] == kind]
        mean_rate = pd.DataFrame(rates, columns=["line", "sku", "rate"]) \
            .groupby("sku")["rate"].mean().reindex(skus).to_numpy()
        s_idx, d_idx = np.meshgrid(np.arange(n_skus), np.arange(len(dcs)), indexing="ij")
        return {
            "settings": pd.DataFrame({"horizon": [horizon]}),
            "plants": pd.DataFrame({"plant": plants}),
            "lines": pd.DataFrame(lines, columns=["line", "plant", "type"]).assign(hours=24.0),
            "line_hours": line_hours,
            "skus": pd.DataFrame({
                "sku": skus, "type": types, "moq": np.round(MOQ_HOURS * mean_rate, -1),
                "over_cost": OVER_COST, "under_cost": UNDER_COST, "min_cost": MIN_COST,
                "stockout_cost": STOCKOUT_COST, "transfer_cost": TRANSFER_COST}),
            "rates": pd.DataFrame(rates, columns=["line", "sku", "rate"]),
            "dcs": pd.DataFrame(dcs, columns=["dc", "plant", "lead_time"]),
            "targets": pd.DataFrame({
                "sku": np.asarray(skus)[s_idx.ravel()],
                "dc": np.asarray([d[0] for d in dcs])[d_idx.ravel()],
                "target": target.ravel(), "initial": initial.ravel(),
                "transport_cost": transport.ravel()}),
            "plant_stock": pd.DataFrame({
                "sku": np.repeat(skus, 2), "plant": plants * n_skus,
                "initial": np.round(0.5 * np.stack([mean[:, :6].sum(1), mean[:, 6:].sum(1)],
                                                   axis=1).ravel())}),
            "demands": pd.DataFrame({
                "sku": np.repeat(skus, len(dcs) * horizon),
                "dc": np.tile(np.repeat([d[0] for d in dcs], horizon), n_skus),
                "day": np.tile(np.arange(horizon), n_skus * len(dcs)),
                "quantity": demand.ravel()}),
        }

    name = f"pd-s{scenario}-{n_skus}sku-seed{seed}"
    unscaled = PDInstance.from_frames(name, frames({}))
    full = capacity_position(unscaled, 1.0)
    bare = capacity_position(unscaled, 0.0)
    scale = {}
    for key, pos in full.items():
        need1, need0, avail = pos["needed"], bare[key]["needed"], pos["available"]
        if scenario == 1:
            want = 1.2 * need1
        elif scenario == 2:
            want = need0 + 0.4 * (need1 - need0)
        elif key[0] == "B":
            want = 0.85 * need0
        else:
            short = bare[("B", key[1])]["needed"] * (1 - 0.85)
            want = 1.15 * (need1 + short)
        scale[key] = want / avail if avail > 0 else 1.0
    return PDInstance.from_frames(name, frames(scale),
                                  meta={"scenario": scenario, "seed": seed, "n_skus": n_skus})
