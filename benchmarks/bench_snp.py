"""SNP planning: every decomposition against the monolithic MIP, and the scaling of the build.

For each generated size: build and solve time, final cost, status, gap to the monolithic best
bound and share of demand delivered per priority class, for every decomposition (one solver
thread, the same time limit for each). Then the build alone at growing sizes, each in a fresh
process: seconds, microseconds per variable (flat when the build is linear in the model size)
and peak resident memory.

Opt-in (minutes per run): ``python benchmarks/run.py --only snp --repeats 1``, or directly
``python benchmarks/bench_snp.py [--sizes 10x6x8,50x12x13] [--time-limit 120]
[--build-sizes 200x20x26,2000x60x52] [--out DIR]``, which also writes ``snp.csv``,
``snp_build.csv`` and ``snp_scaling.png`` into DIR.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

OPT_IN = True
SIZES = ((10, 6, 8), (50, 12, 13), (200, 20, 26), (500, 30, 52))
BUILD_SIZES = ((50, 12, 13), (200, 20, 26), (500, 30, 52), (1000, 40, 52), (2000, 60, 52))
TIME_LIMIT = 120.0
DECOMPOSITIONS = ("none", "components", "product", "time", "priority")

_BUILD_CHILD = """
import json, sys, time
from scmgym.planning.snp import build_snp_model, generate_snp_instance, model_size

def status(key):  # kB from /proc/self/status (VmHWM is this process's own peak; getrusage's
    # ru_maxrss can carry the parent's peak across exec)
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
p, l, t = map(int, sys.argv[1:4])
inst = generate_snp_instance(p, l, t, seed=0)
base = status("VmRSS")
start = time.perf_counter()
model = build_snp_model(inst)
seconds = time.perf_counter() - start
size = model_size(model)
print(json.dumps({"seconds": seconds, "peak_rss_mb": status("VmHWM"),
                  "before_build_mb": base, **size}))
"""


def _sizes(text: str) -> tuple[tuple[int, int, int], ...]:
    return tuple(tuple(int(x) for x in part.split("x")) for part in text.split(",") if part)


def solve_rows(sizes, time_limit: float, repeats: int = 1,
               decompositions: tuple[str, ...] = DECOMPOSITIONS) -> list[dict]:
    from scmgym.baselines.milp.common import SolverOptions
    from scmgym.planning.snp import generate_snp_instance, solve_snp

    rows = []
    options = SolverOptions(time_limit=time_limit, threads=1)
    for p, n_loc, t in sizes:
        inst = generate_snp_instance(p, n_loc, t, seed=0)
        best_bound = None
        for dec in decompositions:
            runs = []
            for _ in range(max(1, repeats)):
                start = time.perf_counter()
                r = solve_snp(inst, dec, options=options)
                runs.append((time.perf_counter() - start, r))
            wall = statistics.median(w for w, _ in runs)
            r = runs[0][1]
            if dec == "none":
                best_bound = r.bound
            gap = None
            if r.objective is not None and best_bound is not None and r.objective > 0:
                gap = (r.objective - best_bound) / r.objective
            row = {"benchmark": f"snp {p}x{n_loc}x{t} {dec}", "median_ms": wall * 1000,
                   "runs": len(runs), "size": f"{p}x{n_loc}x{t}", "decomposition": dec,
                   "status": r.status, "objective": r.objective,
                   "monolithic_bound": best_bound, "gap_to_bound": gap,
                   "build_s": r.build_seconds, "solve_s": r.solve_seconds,
                   "check_s": r.check_seconds, "subproblems": len(r.steps),
                   "variables": r.size["variables"], "integers": r.size["integers"],
                   "time_limit_s": time_limit}
            for k, v in r.delivered.items():
                row[f"delivered_p{k}"] = v
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def build_rows(sizes) -> list[dict]:
    rows = []
    for p, n_loc, t in sizes:
        out = subprocess.run([sys.executable, "-c", _BUILD_CHILD, str(p), str(n_loc), str(t)],
                             capture_output=True, text=True, check=True)
        data = json.loads(out.stdout.strip().splitlines()[-1])
        data.update({"benchmark": f"snp build {p}x{n_loc}x{t}", "median_ms": data["seconds"] * 1000,
                     "runs": 1, "size": f"{p}x{n_loc}x{t}",
                     "us_per_variable": data["seconds"] / data["variables"] * 1e6})
        rows.append(data)
        print(json.dumps(data), file=sys.stderr, flush=True)
    return rows


def plot(rows: list[dict], builds: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    for dec in DECOMPOSITIONS:
        pts = sorted((r["variables"], r["median_ms"] / 1000) for r in rows
                     if r["decomposition"] == dec)
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label=dec)
    limit = rows[0]["time_limit_s"] if rows else None
    if limit:
        ax.axhline(limit, color="grey", ls=":", lw=1, label="time limit")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("variables of the largest subproblem")
    ax.set_ylabel("wall seconds (build + solve + check)")
    ax.set_title("solve time by decomposition")
    ax.legend(fontsize=8)
    ax = axes[1]
    if builds:
        xs = [b["variables"] for b in builds]
        ax.plot(xs, [b["seconds"] for b in builds], marker="o", label="build seconds")
        ax2 = ax.twinx()
        ax2.plot(xs, [b["peak_rss_mb"] for b in builds], marker="s", color="tab:red",
                 label="peak RSS (MB)")
        ax2.set_ylabel("peak RSS (MB)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax2.set_yscale("log")
        ax.set_xlabel("variables")
        ax.set_ylabel("build seconds")
        ax.set_title("monolithic build")
        ax.legend(loc="upper left", fontsize=8)
        ax2.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(rows: list[dict], builds: list[dict]) -> str:
    """The tables of docs/planning.md's Measured section."""
    def num(v, fmt):
        return "-" if v in (None, "") else format(float(v), fmt)

    out = ["| size | variables (integer) | decomposition | status | cost | gap to the "
           "monolithic bound | delivered p1 / p2 / p3 | build s | solve s | wall s |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        delivered = " / ".join(num(r.get(f"delivered_p{k}"), ".1%") for k in (1, 2, 3))
        out.append(f"| {r['size']} | {int(r['variables']):,} ({int(r['integers']):,}) | "
                   f"{r['decomposition']} | {r['status']} | {num(r['objective'], ',.0f')} | "
                   f"{num(r['gap_to_bound'], '.2%')} | {delivered} | {num(r['build_s'], '.1f')}"
                   f" | {num(r['solve_s'], '.1f')} | {float(r['median_ms']) / 1000:.1f} |")
    if builds:
        out += ["", "| size | variables | integer | constraints | build s | us per variable | "
                "peak RSS MB |", "|---|---|---|---|---|---|---|"]
        for b in builds:
            out.append(f"| {b['size']} | {int(b['variables']):,} | {int(b['integers']):,} | "
                       f"{int(b['constraints']):,} | {float(b['seconds']):.1f} | "
                       f"{float(b['us_per_variable']):.1f} | {float(b['peak_rss_mb']):,.0f} |")
    return "\n".join(out)


def _read(path: Path) -> list[dict]:
    """The rows of a CSV written by :func:`_write` (none when it is missing or empty)."""
    if not path.is_file():
        return []
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _write(rows: list[dict], path: Path) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def run(repeats: int) -> list[dict]:
    return solve_rows(SIZES, TIME_LIMIT, repeats=min(repeats, 3)) + build_rows(BUILD_SIZES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join("x".join(map(str, s)) for s in SIZES))
    parser.add_argument("--build-sizes",
                        default=",".join("x".join(map(str, s)) for s in BUILD_SIZES))
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--decompositions", default=",".join(DECOMPOSITIONS),
                        help="which to run (the monolithic one first gives the bound)")
    parser.add_argument("--out", default="runs/bench-snp")
    parser.add_argument("--report", nargs="+", metavar="DIR", default=None,
                        help="no run: merge the snp.csv and snp_build.csv of earlier runs in "
                        "these folders into --out (tables in snp.md, and the plot)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.report:
        rows, builds = [], []
        for folder in map(Path, args.report):
            rows += _read(folder / "snp.csv")
            builds += _read(folder / "snp_build.csv")
        out.mkdir(parents=True, exist_ok=True)
        for r in rows + builds:
            for k, v in r.items():
                try:
                    r[k] = float(v) if k not in ("size", "decomposition", "status",
                                                 "benchmark") and v != "" else v
                except ValueError:
                    pass
        plot(rows, builds, out / "snp_scaling.png")
        (out / "snp.md").write_text(markdown(rows, builds) + "\n")
        print(markdown(rows, builds))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    rows = solve_rows(_sizes(args.sizes), args.time_limit, args.repeats,
                      tuple(args.decompositions.split(",")))
    _write(rows, out / "snp.csv")
    builds = build_rows(_sizes(args.build_sizes)) if args.build_sizes else []
    _write(builds, out / "snp_build.csv")
    plot(rows, builds, out / "snp_scaling.png")
    (out / "snp.md").write_text(markdown(rows, builds) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
