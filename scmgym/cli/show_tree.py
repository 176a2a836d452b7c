"""``scmgym show-tree``: print a saved tree policy for review, in the form asked for."""

from __future__ import annotations

import argparse
from pathlib import Path

from scmgym.errors import DataError
from scmgym.policies import load_policy


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("show-tree", help="print a saved tree policy (policy.json)")
    p.add_argument("policy", type=Path, help="a policy.json written by scmgym train")
    p.add_argument("--format", choices=("text", "python", "dot", "json"), default="text",
                   help="text (default), python (standalone function), dot (Graphviz), json")
    p.add_argument("--simplify", action="store_true",
                   help="remove unreachable branches and merge equal sibling leaves first")
    p.add_argument("--png", type=Path, default=None, help="also draw the tree to this PNG")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.policy.is_file():
        raise DataError("no such policy file", value=str(args.policy),
                        allowed="a policy.json written by scmgym train")
    try:
        policy = load_policy(args.policy)
    except (ValueError, KeyError) as exc:
        raise DataError(f"not a readable policy ({exc})", source=str(args.policy)) from None
    if args.simplify:
        policy = policy.simplify()
    text = {"text": policy.to_text, "python": policy.to_python, "dot": policy.to_dot,
            "json": policy.to_json}[args.format]()
    print(text.rstrip("\n"))
    if args.png is not None:
        policy.render_png(args.png)
    return 0
