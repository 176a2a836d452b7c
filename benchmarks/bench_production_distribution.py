"""Production-distribution: the GA + PSO configurator against the integrated MILP, per scenario.

For each of the capstone's three scenarios and each seed, one generated instance (10 SKUs by
default) is planned by the MILP (HiGHS, one thread, a time limit) and by the configurator at its
defaults (50 generations, as in the capstone), side by side in one process. Each finished pair
is appended to ``runs.csv`` in the output folder at once, so a killed run resumes where it
stopped. The summary (``summary.md``, printed too) gives per scenario: mean and sd of each
method's cost, the configurator's gap to the MILP's plan and to its bound in %, the MILP's own
gap, wall seconds, the path taken, line utilisation per line (the capstone's Tables 14, 21
and 26), stockouts and the DC inventory position against target; ``gaps.png`` shows the gap
per scenario.

Opt-in (about two minutes per instance): ``python benchmarks/run.py --only production_distribution``
or ``python benchmarks/bench_production_distribution.py [--seeds 10] [--skus 10]
[--time-limit 120] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

OPT_IN = True
SCENARIOS = (1, 2, 3)
FIELDS = ("scenario", "seed", "skus", "milp_status", "milp_cost", "milp_bound", "milp_gap",
          "milp_seconds", "configurator_cost", "configurator_feasible", "configurator_seconds",
          "gap_pct", "bound_gap_pct", "path", "milp_stockout", "configurator_stockout",
          "milp_stock_vs_target", "configurator_stock_vs_target", "milp_below_min",
          "configurator_below_min", "milp_utilisation", "configurator_utilisation")


def one(scenario: int, seed: int, skus: int, time_limit: float) -> dict:
    from scmgym.baselines.milp.common import SolverOptions
    from scmgym.planning.production_distribution import (
        generate_production_distribution_instance,
        solve_milp,
    )
    from scmgym.planning.production_distribution.configurator import run_configurator

    inst = generate_production_distribution_instance(scenario, skus, seed)
    options = SolverOptions(time_limit=time_limit, threads=1)
    t0 = time.perf_counter()
    exact = solve_milp(inst, options)
    milp_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    meta = run_configurator(inst, seed=seed, options=options)
    meta_s = time.perf_counter() - t0
    gap = bound_gap = None
    if exact.cost and meta.cost is not None:
        gap = 100 * (meta.cost - exact.cost) / exact.cost
    if exact.bound and meta.cost is not None:
        bound_gap = 100 * (meta.cost - exact.bound) / exact.bound
    path = " > ".join(step["phase"].split(":")[0] for step in meta.path
                      if step["phase"].startswith("phase"))
    path = " > ".join(dict.fromkeys(path.split(" > ")))
    return {
        "scenario": scenario, "seed": seed, "skus": skus, "milp_status": exact.status,
        "milp_cost": exact.cost, "milp_bound": exact.bound, "milp_gap": exact.gap,
        "milp_seconds": round(milp_s, 2), "configurator_cost": meta.cost,
        "configurator_feasible": meta.feasible, "configurator_seconds": round(meta_s, 2),
        "gap_pct": gap, "bound_gap_pct": bound_gap, "path": path,
        "milp_stockout": exact.kpis["stockout_unit_days"],
        "configurator_stockout": meta.kpis["stockout_unit_days"],
        "milp_stock_vs_target": exact.kpis["stock_vs_target"],
        "configurator_stock_vs_target": meta.kpis["stock_vs_target"],
        "milp_below_min": exact.kpis["below_minimum_share"],
        "configurator_below_min": meta.kpis["below_minimum_share"],
        "milp_utilisation": json.dumps(exact.kpis["utilisation"]),
        "configurator_utilisation": json.dumps(meta.kpis["utilisation"]),
    }


def _done(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _f(row: dict, key: str) -> float | None:
    value = row.get(key)
    return None if value in (None, "", "None") else float(value)


def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):,.0f} ± {sd:,.0f}"


def summary(rows: list[dict]) -> str:
    out = ["| scenario | seeds | MILP cost | configurator cost | gap % (mean ± sd, max) | "
           "gap to the MILP bound % | MILP gap % | MILP s | configurator s | MILP at limit | "
           "path |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    util_rows = []
    kpi_rows = []
    for sc in SCENARIOS:
        rs = [r for r in rows if int(r["scenario"]) == sc]
        if not rs:
            continue
        gaps = [g for g in (_f(r, "gap_pct") for r in rs) if g is not None]
        paths = {}
        for r in rs:
            paths[r["path"]] = paths.get(r["path"], 0) + 1
        limit = sum(r["milp_status"] != "optimal" for r in rs)
        bound_gaps = [g for g in (_f(r, "bound_gap_pct") for r in rs) if g is not None]
        milp_gaps = [100 * g for g in (_f(r, "milp_gap") for r in rs) if g is not None]
        gap_text = "-" if not gaps else (f"{statistics.mean(gaps):.1f} ± "
                                         f"{statistics.stdev(gaps) if len(gaps) > 1 else 0:.1f}"
                                         f", {max(gaps):.1f}")
        out.append(
            f"| {sc} | {len(rs)} | {_ms([_f(r, 'milp_cost') for r in rs if _f(r, 'milp_cost')])}"
            f" | {_ms([_f(r, 'configurator_cost') for r in rs if _f(r, 'configurator_cost')])}"
            f" | {gap_text}"
            f" | {statistics.mean(bound_gaps) if bound_gaps else float('nan'):.1f}"
            f" | {statistics.mean(milp_gaps) if milp_gaps else float('nan'):.2f}"
            f" | {statistics.median(_f(r, 'milp_seconds') for r in rs):.1f}"
            f" | {statistics.median(_f(r, 'configurator_seconds') for r in rs):.1f}"
            f" | {limit} | " + "; ".join(f"{p} ({n})" for p, n in paths.items()) + " |")
        for method in ("milp", "configurator"):
            utils = [json.loads(r[f"{method}_utilisation"]) for r in rs]
            lines = list(utils[0])
            util_rows.append((sc, method, lines, [statistics.mean(u[ln] for u in utils)
                                                  for ln in lines]))
            kpi_rows.append(
                f"| {sc} | {method} | "
                f"{statistics.mean(_f(r, f'{method}_stockout') for r in rs):,.0f} | "
                f"{100 * statistics.mean(_f(r, f'{method}_stock_vs_target') for r in rs):.0f} % |"
                f" {100 * statistics.mean(_f(r, f'{method}_below_min') for r in rs):.0f} % |")
    if util_rows:
        lines = util_rows[0][2]
        out += ["", "Line utilisation over the horizon (mean over seeds, %):", "",
                "| scenario | method | " + " | ".join(lines) + " |",
                "|---|---|" + "---|" * len(lines)]
        out += [f"| {sc} | {m} | " + " | ".join(f"{100 * u:.0f}" for u in us) + " |"
                for sc, m, _, us in util_rows]
        out += ["", "Stockouts and DC inventory (mean over seeds):", "",
                "| scenario | method | stockout unit-days | stock / target | "
                "SKU-DC-days below minimum |", "|---|---|---|---|---|"] + kpi_rows
    return "\n".join(out)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = [[g for g in (_f(r, "gap_pct") for r in rows if int(r["scenario"]) == sc)
             if g is not None] for sc in SCENARIOS]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.boxplot(data, tick_labels=[f"scenario {sc}" for sc in SCENARIOS])
    for i, values in enumerate(data, 1):
        ax.scatter([i] * len(values), values, s=12, alpha=0.6)
    ax.set_ylabel("configurator cost over the MILP's (%)")
    ax.set_title("GA + PSO configurator against the MILP")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def compare(seeds: int, skus: int, time_limit: float, out: Path) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    runs = out / "runs.csv"
    rows = _done(runs)
    have = {(int(r["scenario"]), int(r["seed"])) for r in rows}
    for sc in SCENARIOS:
        for seed in range(seeds):
            if (sc, seed) in have:
                continue
            row = one(sc, seed, skus, time_limit)
            new = not runs.is_file()
            with runs.open("a", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=FIELDS)
                if new:
                    w.writeheader()
                w.writerow(row)
            rows.append({k: str(v) for k, v in row.items()})
            print(json.dumps(row), file=sys.stderr, flush=True)
    text = summary(rows)
    (out / "summary.md").write_text(text + "\n")
    plot(rows, out / "gaps.png")
    print(text)
    return rows


def run(repeats: int) -> list[dict]:
    rows = compare(min(repeats, 10), 10, 120.0, Path("runs/bench-production-distribution"))
    return [{"benchmark": f"pd scenario {r['scenario']} seed {r['seed']} configurator",
             "median_ms": 1000 * float(r["configurator_seconds"]), "runs": 1,
             "gap_pct": r["gap_pct"]} for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--skus", type=int, default=10)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--out", default="runs/bench-production-distribution")
    args = parser.parse_args(argv)
    compare(args.seeds, args.skus, args.time_limit, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
