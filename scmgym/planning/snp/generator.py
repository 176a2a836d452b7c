"""Random SNP instances with the structure of industrial networks.

:func:`generate_snp_instance` draws a three-stage network: suppliers deliver raw components to
plants, plants make semi-finished and finished products on resources shared by a product family,
finished products travel to warehouses and from there to customers. What makes such instances
hard, and what the generator reproduces:

* product families share a machine and a labour resource at their plant, so families are
  coupled through capacity;
* a few raw components are common to many products (they appear in most bills of materials),
  which couples families through supply;
* demand per customer and product follows a trend and a yearly season, with noise, in buckets
  of any length (telescopic schemes such as ``"14x1,8x7,9x30"`` included);
* three priority classes, with non-delivery costs orders of magnitude above the other costs
  (pseudo-hard) and lateness allowed up to a maximum per class;
* coefficients spread over many orders of magnitude (unit costs from 0.01 to 100, fixed costs
  up to 10^4, non-delivery costs up to 10^6 per unit);
* minimum lot sizes with fixed costs on some processes, fixed lot sizes on others and on some
  lanes, and transport capacity on some lanes.

The same arguments and seed give the same instance, table for table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scmgym.planning.snp.data import SNPInstance, telescopic_buckets

#: Priority classes of generated demand: share of customer-product pairs, cost per unit never
#: delivered, lateness cost per unit and day, maximum lateness in days.
PRIORITY_CLASSES = (
    (1, 0.2, 1.0e6, 50.0, 7.0),
    (2, 0.5, 1.0e5, 10.0, 14.0),
    (3, 0.3, 1.0e4, 2.0, 28.0),
)


def _split_locations(n: int) -> tuple[int, int, int, int]:
    """Suppliers, plants, warehouses and customers out of ``n >= 4`` locations."""
    if n < 4:
        raise ValueError(f"n_locations must be >= 4 (a supplier, a plant, a warehouse and a "
                         f"customer), got {n}")
    s = max(1, round(0.1 * n))
    p = max(1, round(0.15 * n))
    w = max(1, round(0.25 * n))
    c = n - s - p - w
    while c < 1:
        if w > 1:
            w -= 1
        elif p > 1:
            p -= 1
        else:
            s -= 1
        c = n - s - p - w
    return s, p, w, c


def generate_snp_instance(n_products: int, n_locations: int, n_buckets: int | None = None,
                          seed: int = 0, *, buckets: str | None = None,
                          family_size: int = 8, common_components: int = 3,
                          utilisation: float = 0.8, demand_density: float = 0.3,
                          hard_share: float = 0.0, name: str | None = None) -> SNPInstance:
    """A random instance.

    Args:
        n_products: products in all (about 70 % finished, 10 % semi-finished, 20 % raw
            components, at least one of each kind when ``n_products >= 3``).
        n_locations: locations (about 10 % suppliers, 15 % plants, 25 % warehouses, the rest
            customers; at least one of each).
        n_buckets: weekly buckets (7 days each); or give ``buckets``.
        seed: the random seed.
        buckets: a telescopic scheme such as ``"14x1,8x7,9x30"`` instead of ``n_buckets``.
        family_size: finished products per family (a family shares its plant's resources).
        common_components: raw components that most bills of materials use.
        utilisation: planned load of the machines at mean demand (above 1: capacity is short
            and some demand cannot be met).
        demand_density: share of customer-finished-product pairs with demand.
        hard_share: share of demands made hard (a priority class 0 without a non-delivery
            option); an instance with hard demand can be infeasible.
        name: the instance's name (default ``snp-P-L-T-sS``).
    """
    if n_products < 3:
        raise ValueError(f"n_products must be >= 3 (a component, an intermediate and a "
                         f"finished product), got {n_products}")
    if (n_buckets is None) == (buckets is None):
        raise ValueError("give n_buckets or buckets (a scheme such as '14x1,8x7,9x30')")
    bt = telescopic_buckets(buckets if buckets is not None else f"{int(n_buckets)}x7")
    days = bt["days"].to_numpy()
    start = np.concatenate([[0.0], np.cumsum(days)[:-1]])
    T = len(bt)
    rng = np.random.default_rng(seed)

    n_s, n_p, n_w, n_c = _split_locations(n_locations)
    suppliers = [f"S{i + 1}" for i in range(n_s)]
    plants = [f"P{i + 1}" for i in range(n_p)]
    warehouses = [f"W{i + 1}" for i in range(n_w)]
    customers = [f"C{i + 1}" for i in range(n_c)]
    locations = pd.DataFrame({
        "location": suppliers + plants + warehouses + customers,
        "kind": ["supplier"] * n_s + ["plant"] * n_p + ["warehouse"] * n_w + ["customer"] * n_c})

    n_raw = max(1, round(0.2 * n_products))
    n_semi = max(1, round(0.1 * n_products))
    n_fin = n_products - n_raw - n_semi
    if n_fin < 1:
        n_raw, n_semi, n_fin = 1, 1, n_products - 2
    raw = [f"R{i + 1}" for i in range(n_raw)]
    semi = [f"M{i + 1}" for i in range(n_semi)]
    fin = [f"F{i + 1}" for i in range(n_fin)]
    n_fam = max(1, -(-n_fin // family_size))
    fam_of = {p: f"fam{i // family_size + 1}" for i, p in enumerate(fin)}
    products = pd.DataFrame({"product": raw + semi + fin,
                             "family": [""] * (n_raw + n_semi) + [fam_of[p] for p in fin]})
    common = raw[:min(common_components, n_raw)]
    own_raw = raw[len(common):] or raw

    # ---- demand per customer and finished product: trend x season x noise -----------------
    wh_of_customer = {c: warehouses[i % n_w] for i, c in enumerate(customers)}
    pairs = [(c, p) for c in customers for p in fin if rng.random() < demand_density]
    for p in fin:  # every finished product has a customer
        if not any(q == p for _, q in pairs):
            pairs.append((customers[int(rng.integers(n_c))], p))
    pairs.sort(key=lambda x: (int(x[1][1:]), int(x[0][1:])))
    mid = start + days / 2
    shares = np.array([c[1] for c in PRIORITY_CLASSES])
    dem_rows = []
    pair_class = rng.choice(len(PRIORITY_CLASSES), size=len(pairs), p=shares / shares.sum())
    for (c, p), cls in zip(pairs, pair_class, strict=True):
        rate = float(rng.lognormal(np.log(10.0), 1.0))  # units per day, wide spread
        trend = rng.uniform(-0.2, 0.4) / 365.0
        amp, phase = rng.uniform(0.0, 0.5), rng.uniform(0, 2 * np.pi)
        mean = rate * (1 + trend * mid) * (1 + amp * np.sin(2 * np.pi * mid / 365.0 + phase))
        qty = np.maximum(0.0, mean * days * rng.lognormal(0.0, 0.25, size=T))
        qty = np.round(qty, 0)
        prio = PRIORITY_CLASSES[int(cls)][0]
        for t in range(T):
            if qty[t] > 0:
                dem_rows.append((f"D{len(dem_rows) + 1}", c, p, t, float(qty[t]), prio))
    demands = pd.DataFrame(dem_rows, columns=["demand", "location", "product", "bucket",
                                              "quantity", "priority"])
    if hard_share > 0 and len(demands):
        hard = rng.random(len(demands)) < hard_share
        demands.loc[hard, "priority"] = 0
    per_day = demands.groupby("product")["quantity"].sum() / days.sum()

    # ---- production: a plant per family, machine + labour per family at that plant ---------
    resources, processes, bom = [], [], []
    plant_of_family = {f"fam{i + 1}": plants[i % n_p] for i in range(n_fam)}
    fam_load: dict[str, float] = {}
    for p in fin:
        fam_load[fam_of[p]] = fam_load.get(fam_of[p], 0.0) + float(per_day.get(p, 0.0))
    for fam, plant in plant_of_family.items():
        load = fam_load.get(fam, 0.0)
        resources.append((f"{fam}-machine", plant, "machine",
                          round(max(1.0, load / utilisation), 3)))
        resources.append((f"{fam}-labour", plant, "labour",
                          round(max(1.0, 0.5 * load / utilisation * 1.2), 3)))
    semi_of_family = {fam: semi[i % n_semi] for i, fam in enumerate(plant_of_family)}
    for p in fin:
        fam = fam_of[p]
        plant = plant_of_family[fam]
        kind = rng.random()
        processes.append((
            f"make-{p}", plant, p, round(float(rng.uniform(1.0, 100.0)), 2),
            f"{fam}-machine" if kind < 0.8 else f"{fam}-labour",
            1.0 if kind < 0.8 else 0.6,
            round(float(per_day.get(p, 1.0) * 3), 0) if rng.random() < 0.3 else 0.0,
            10.0 if 0.3 <= rng.random() < 0.45 else 0.0,
            round(float(rng.uniform(100, 10_000)), 0) if rng.random() < 0.3 else 0.0))
        bom.append((f"make-{p}", semi_of_family[fam], 1.0))
        bom.append((f"make-{p}", common[int(rng.integers(len(common)))],
                    float(rng.integers(1, 4))))
        if rng.random() < 0.6:
            bom.append((f"make-{p}", own_raw[int(rng.integers(len(own_raw)))],
                        round(float(rng.uniform(0.5, 3.0)), 2)))
    # semi-finished at every plant that needs them, from raw components, on a plant resource
    semi_plants: dict[str, set[str]] = {}
    for fam, plant in plant_of_family.items():
        semi_plants.setdefault(semi_of_family[fam], set()).add(plant)
    for m_, where_ in semi_plants.items():
        for plant in sorted(where_):
            res = f"{plant}-mixing"
            if not any(r[0] == res for r in resources):
                resources.append((res, plant, "machine", 0.0))
            processes.append((f"make-{m_}-{plant}", plant, m_,
                              round(float(rng.uniform(0.1, 10.0)), 2), res, 0.5, 0.0, 0.0, 0.0))
            bom.append((f"make-{m_}-{plant}", common[int(rng.integers(len(common)))], 1.0))
    res_df = pd.DataFrame(resources, columns=["resource", "location", "kind", "capacity"])
    proc_df = pd.DataFrame(processes, columns=["process", "location", "product", "cost",
                                               "resource", "usage", "min_lot", "lot_size",
                                               "fixed_cost"])
    bom_df = pd.DataFrame(bom, columns=["process", "component", "quantity"]).drop_duplicates(
        ["process", "component"])
    # mixing capacity: enough for the semi-finished load at the planned utilisation
    semi_need: dict[str, float] = {}
    loc_of = proc_df.set_index("process")["location"]
    semi_set = set(semi)
    for proc, comp, q in bom_df.itertuples(index=False):
        if comp in semi_set:
            where_ = loc_of[proc]
            semi_need[where_] = semi_need.get(where_, 0.0) + q * float(
                per_day.get(proc.removeprefix("make-"), 0.0))
    for i, row in res_df.iterrows():
        if row["resource"].endswith("-mixing"):
            res_df.at[i, "capacity"] = round(max(1.0, 0.5 * semi_need.get(row["location"], 1.0)
                                                 / utilisation), 3)

    # ---- procurement of raw components at suppliers ---------------------------------------
    proc_rows = []
    for i, r in enumerate(raw):
        for s in {suppliers[i % n_s], suppliers[(i + 1) % n_s]}:
            proc_rows.append((s, r, round(float(10 ** rng.uniform(-2, 1)), 4), ""))
    procurement = pd.DataFrame(proc_rows, columns=["location", "product", "cost", "capacity"])
    procurement["capacity"] = np.nan

    # ---- lanes: supplier -> plant (raw), plant -> warehouse -> customer (finished) ---------
    lanes = []
    needs_at: dict[tuple[str, str], bool] = {}
    raw_set = set(raw)
    pl = proc_df.set_index("process")["location"]
    for proc, comp, _ in bom_df.itertuples(index=False):
        if comp in raw_set:
            needs_at[(pl[proc], comp)] = True
    for (plant, r) in sorted(needs_at):
        for s in sorted(set(procurement.loc[procurement["product"] == r, "location"])):
            lanes.append((f"L{len(lanes) + 1}", s, plant, r, int(rng.integers(0, 2)),
                          round(float(10 ** rng.uniform(-2, 0)), 4), "", 0.0, 0.0, 0.0, 0.0))
    truck: dict[tuple[str, str], str] = {}
    wh_needs: dict[tuple[str, str], bool] = {}
    for c, p in pairs:
        wh_needs[(wh_of_customer[c], p)] = True
        lanes.append((f"L{len(lanes) + 1}", wh_of_customer[c], c, p, 0,
                      round(float(10 ** rng.uniform(-1, 1)), 4), "", 0.0, 0.0, 0.0, 0.0))
    transport = []
    for (w, p) in sorted(wh_needs, key=lambda x: (x[0], int(x[1][1:]))):
        plant = plant_of_family[fam_of[p]]
        key = (plant, w)
        if key not in truck and rng.random() < 0.5:
            truck[key] = f"truck-{plant}-{w}"
        res = truck.get(key, "")
        lanes.append((f"L{len(lanes) + 1}", plant, w, p, int(rng.integers(0, 3)),
                      round(float(10 ** rng.uniform(-1, 1)), 4), res, 1.0 if res else 0.0,
                      0.0, 50.0 if rng.random() < 0.1 else 0.0,
                      round(float(rng.uniform(100, 5000)), 0) if rng.random() < 0.1 else 0.0))
        if res:
            transport.append((res, float(per_day.get(p, 0.0))))
    lane_df = pd.DataFrame(lanes, columns=["lane", "origin", "destination", "product",
                                           "lead_time", "cost", "resource", "usage", "min_lot",
                                           "lot_size", "fixed_cost"])
    tload: dict[str, float] = {}
    for res, load in transport:
        tload[res] = tload.get(res, 0.0) + load
    trucks = pd.DataFrame([(res, res.split("-")[1], "transport",
                            round(max(1.0, 1.3 * tload[res] / utilisation), 3))
                           for res in sorted(tload)],
                          columns=["resource", "location", "kind", "capacity"])
    res_df = pd.concat([res_df, trucks], ignore_index=True)

    # ---- stock: holding costs, safety stock at warehouses, initial stock --------------------
    stock_rows = []
    # initial stock at a warehouse covers the pipeline: the days until the first production
    # can arrive (raw lead time + production bucket + plant-to-warehouse lead time)
    lead_in = {(d, p): lt for o, d, p, lt in zip(lane_df["origin"], lane_df["destination"],
                                                 lane_df["product"], lane_df["lead_time"],
                                                         strict=True)
               if o in set(plants)}
    end_day = np.concatenate([start + days, [start[-1] + days[-1]]])
    for (w, p) in sorted(wh_needs, key=lambda x: (x[0], int(x[1][1:]))):
        rate = float(per_day.get(p, 0.0))
        pipeline = end_day[min(T - 1, int(lead_in.get((w, p), 0)) + 1)]
        stock_rows.append((w, p, round(rate * pipeline * rng.uniform(0.8, 1.2), 0),
                           round(rate * 3, 0),
                           round(float(10 ** rng.uniform(-3, -1)), 5),
                           round(float(10 ** rng.uniform(0, 2)), 3), np.nan))
    for fam, plant in plant_of_family.items():
        for p in [q for q in fin if fam_of[q] == fam]:
            stock_rows.append((plant, p, 0.0, 0.0, round(float(10 ** rng.uniform(-3, -1)), 5),
                               0.0, np.nan))
    stock = pd.DataFrame(stock_rows, columns=["location", "product", "initial", "safety",
                                              "holding_cost", "safety_cost", "max_stock"])
    prio_rows = [(c[0], c[2], c[3], c[4]) for c in PRIORITY_CLASSES]
    if hard_share > 0:
        prio_rows.insert(0, (0, np.nan, 100.0, 0.0))
    priorities = pd.DataFrame(prio_rows, columns=["priority", "nondelivery_cost",
                                                  "lateness_cost", "max_lateness"])
    if hard_share > 0:
        priorities["priority"] = priorities["priority"] + 1
        demands["priority"] = demands["priority"] + 1
    frames = {"buckets": bt, "locations": locations, "products": products, "stock": stock,
              "procurement": procurement, "resources": res_df,
              "processes": proc_df, "bom": bom_df, "lanes": lane_df, "priorities": priorities,
              "demands": demands}
    scheme = buckets if buckets is not None else f"{n_buckets}x7"
    return SNPInstance.from_frames(
        name or f"snp-{n_products}-{n_locations}-{T}-s{seed}", frames,
        meta={"generator": {"n_products": n_products, "n_locations": n_locations,
                            "buckets": scheme, "seed": seed, "family_size": family_size,
                            "common_components": common_components,
                            "utilisation": utilisation, "demand_density": demand_density,
                            "hard_share": hard_share}})
