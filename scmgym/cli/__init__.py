"""The ``scmgym`` console script.

Each command lives in its own module and adds itself to the parser through ``add_parser``;
this module only builds the parser, dispatches, and turns scmgym errors into a one-line message
and a non-zero exit status (no traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from scmgym import __version__
from scmgym.core.io import terminate_as_interrupt
from scmgym.errors import ScmgymError

EXIT_ERROR = 1


def build_parser() -> argparse.ArgumentParser:
    from scmgym.cli import (
        compare,
        demo,
        evaluate,
        hfs,
        make_or_buy,
        milp,
        plan,
        report,
        reproduce,
        show_tree,
        train,
    )

    parser = argparse.ArgumentParser(
        prog="scmgym",
        description="Simulation-based optimisation of supply-chain decisions "
        "with interpretable policies.",
    )
    parser.add_argument("--version", action="version", version=f"scmgym {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-v info, -vv debug)")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show the full traceback instead of one line")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    simulate = commands.add_parser("simulate", help="simulate one plant under fixed decisions")
    plants = simulate.add_subparsers(dest="plant", metavar="PLANT", required=True)
    hfs.add_parser(plants)
    make_or_buy.add_parser(plants)

    train.add_parser(commands)
    compare.add_parser(commands)
    reproduce.add_parser(commands)
    report.add_parser(commands)
    evaluate.add_parser(commands)
    milp.add_parser(commands)
    plan.add_parser(commands)
    show_tree.add_parser(commands)
    demo.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scmgym`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        with terminate_as_interrupt():  # SIGTERM ends a command like Ctrl-C: cleanly, exit 130
            return int(args.handler(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM
        if args.debug:
            raise
        print("scmgym: interrupted; finished runs are kept, rerun the same command to resume",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, ScmgymError | ValueError | OSError):  # bad input: one line
            print(f"scmgym: error: {exc}", file=sys.stderr)
            return getattr(exc, "exit_code", EXIT_ERROR)  # 2: an optional extra is missing
        else:  # not an error scmgym expected: still one line, the traceback on request
            print(f"scmgym: internal error: {type(exc).__name__}: {exc} (rerun with --debug "
                  "for the traceback)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
