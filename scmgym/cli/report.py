"""``scmgym report DIR``: rebuild a suite's report from its records, without running anything."""

from __future__ import annotations

import argparse
from pathlib import Path

from scmgym.errors import DataError


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add the ``report`` command to the ``scmgym`` parser."""
    p = commands.add_parser(
        "report", help="rebuild a suite's report from its records, without running anything",
        description="Rebuild DIR/report/ (results.csv, timing.csv, ranks.csv, report.md, "
        "report.html, figures/) from DIR/records.jsonl, DIR/suite.json and the run "
        "directories. Nothing is run.")
    p.add_argument("dir", type=Path, metavar="DIR",
                   help="a suite folder written by scmgym reproduce")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the report of ``args.dir`` and print the paths written; returns 0.

    Raises:
        DataError: DIR is not a suite folder (no records.jsonl or suite.json) or it holds no
            record.
    """
    from scmgym.experiments.report import read_suite, write_report

    if not args.dir.is_dir():
        raise DataError("no such suite folder", source=str(args.dir))
    records, suite = read_suite(args.dir)
    if not records:
        raise DataError("no run recorded yet: nothing to report",
                        source=str(args.dir / "records.jsonl"))
    files = write_report(args.dir, records=records, suite=suite)
    for path in sorted(set(files.values())):
        print(path)
    return 0
