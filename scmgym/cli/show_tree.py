"""``scmgym show-tree``: print a saved tree policy for review, in the form asked for."""

from __future__ import annotations

import argparse
from pathlib import Path

from scmgym.errors import DataError
from scmgym.policies import TreePolicy, load_policy


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("show-tree", help="print a saved tree policy (policy.json)")
    p.add_argument("policy", type=Path,
                   help="a policy.json written by scmgym train, or its run directory")
    p.add_argument("--format", choices=("text", "python", "dot", "json"), default="text",
                   help="text (default), python (standalone function), dot (Graphviz), json")
    p.add_argument("--simplify", action="store_true",
                   help="remove unreachable branches and merge equal sibling leaves first")
    p.add_argument("--png", type=Path, default=None, help="also draw the tree to this PNG")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path = args.policy
    if path.is_dir():  # a run directory: its policy.json
        path = path / "policy.json"
        if not path.is_file():
            raise DataError("the run directory has no policy.json (an unfinished run, or one "
                            "that returned no policy)", source=str(args.policy))
    if not path.is_file():
        raise DataError("no such policy file", value=str(path),
                        allowed="a policy.json, or the run directory that holds it")
    try:
        policy = load_policy(path)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"not a readable policy ({exc})", source=str(path)) from None
    if not isinstance(policy, TreePolicy):
        raise DataError(f"a policy of kind {policy.kind!r} is not a tree", source=str(path),
                        allowed="the policy of ELDT or GP (this one reads: "
                        + policy.to_text()[:60] + " ...)")
    if args.simplify:
        policy = policy.simplify()
    text = {"text": policy.to_text, "python": policy.to_python, "dot": policy.to_dot,
            "json": policy.to_json}[args.format]()
    print(text.rstrip("\n"))
    if args.png is not None:
        policy.render_png(args.png)
    return 0
