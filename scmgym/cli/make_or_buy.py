"""``scmgym simulate make-or-buy`` (to be implemented)."""

from __future__ import annotations

import argparse


def add_parser(plants: argparse._SubParsersAction) -> None:
    p = plants.add_parser("make-or-buy", help="simulate the ABCD make-or-buy plant")
    p.set_defaults(handler=lambda args: 1)
