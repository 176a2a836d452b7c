"""Run every benchmark in this folder and print a table of medians.

Usage: ``python benchmarks/run.py [--repeats N] [--only NAME]`` (``make bench`` runs it).
Each ``bench_*.py`` module defines ``run(repeats: int) -> list[dict]``; each dict has at least
``benchmark`` (a name), ``median_ms`` and ``runs``, plus any context (target, dataset, ...).
A module with ``OPT_IN = True`` (minutes per run, e.g. the MILP) runs only when named in --only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed runs per benchmark")
    parser.add_argument("--only", default=None, help="run only bench_<ONLY>.py")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    rows: list[dict] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if args.only and path.stem != f"bench_{args.only}":
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if getattr(module, "OPT_IN", False) and args.only is None:
            continue
        rows.extend(module.run(args.repeats))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'benchmark':<44} {'median ms':>10} {'target ms':>10} {'runs':>6}")
    for row in rows:
        target = row.get("target_ms")
        print(f"{row['benchmark']:<44} {row['median_ms']:>10.2f} "
              f"{'' if target is None else f'{target:>10.0f}':>10} {row['runs']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
