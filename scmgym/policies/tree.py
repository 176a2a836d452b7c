"""Decision trees a planner can read: one representation for every tree-shaped policy.

A tree is made of :class:`Split` nodes (an atomic comparison between a feature and a constant, or
between two features) and :class:`Leaf` nodes (an action, optionally with the Q-values it was
learned from). GE phenotypes and GP expressions are both converted into this form, so rendering
(text, standalone Python, JSON, Graphviz DOT, PNG), simplification and leaf coverage are written
once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from scmgym.core.schema import Feature, TreeSchema  # noqa: F401  (part of the tree API)

OPS = ("<", ">", "==")


@dataclass(frozen=True)
class Var:
    """A reference to feature ``index`` of the observation."""

    index: int


Operand = Union[Var, int]  # noqa: UP007  (a runtime alias; `|` needs 3.10 types)


@dataclass(frozen=True)
class Leaf:
    """A decision. ``q`` holds the leaf's learned action values, if it has any."""

    action: int
    q: tuple[float, ...] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Split:
    """``if lhs op rhs: then else: otherwise``; operands are features (:class:`Var`) or ints."""

    lhs: Operand
    op: str
    rhs: Operand
    then: Node
    otherwise: Node


Node = Union[Leaf, "Split"]  # noqa: UP007


def _value(operand: Operand, obs: Sequence[float]) -> float:
    return obs[operand.index] if isinstance(operand, Var) else operand


def compare(op: str, x: float, y: float) -> bool:
    if op == "<":
        return x < y
    if op == ">":
        return x > y
    if op == "==":
        return x == y
    raise ValueError(f"unknown operator {op!r}; allowed: {', '.join(OPS)}")


def find_leaf(node: Node, obs: Sequence[float]) -> Leaf:
    """The leaf an observation reaches."""
    while isinstance(node, Split):
        node = node.then if compare(node.op, _value(node.lhs, obs), _value(node.rhs, obs)) \
            else node.otherwise
    return node


def leaves(node: Node) -> list[Leaf]:
    """The leaves in pre-order (the ``then`` branch first): leaf k of the renderings."""
    out: list[Leaf] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, Leaf):
            out.append(cur)
        else:
            stack.append(cur.otherwise)
            stack.append(cur.then)
    return out


def leaf_index(node: Node, obs: Sequence[float]) -> int:
    """Pre-order index of the leaf an observation reaches."""
    k = 0
    while isinstance(node, Split):
        if compare(node.op, _value(node.lhs, obs), _value(node.rhs, obs)):
            node = node.then
        else:
            k += count_leaves(node.then)
            node = node.otherwise
    return k


def count_leaves(node: Node) -> int:
    return len(leaves(node))


def depth(node: Node) -> int:
    if isinstance(node, Leaf):
        return 0
    return 1 + max(depth(node.then), depth(node.otherwise))


def size(node: Node) -> int:
    """Number of nodes (splits and leaves)."""
    if isinstance(node, Leaf):
        return 1
    return 1 + size(node.then) + size(node.otherwise)


def map_leaves(node: Node, fn) -> Node:
    """A copy of the tree with every leaf replaced by ``fn(leaf)``."""
    if isinstance(node, Leaf):
        return fn(node)
    return Split(node.lhs, node.op, node.rhs, map_leaves(node.then, fn),
                 map_leaves(node.otherwise, fn))


# ------------------------------------------------------------------------------------------------
# Simplification
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Domain:
    """What is known about each integer feature on a path: an interval and excluded values."""

    low: tuple[int, ...]
    high: tuple[int, ...]
    excluded: tuple[frozenset, ...]

    def bounds(self, operand: Operand) -> tuple[float, float]:
        if isinstance(operand, Var):
            return self.low[operand.index], self.high[operand.index]
        return operand, operand

    def decide(self, lhs: Operand, op: str, rhs: Operand) -> bool | None:
        """True/False if the comparison has one outcome on the whole domain, else None."""
        if isinstance(lhs, Var) and isinstance(rhs, Var) and lhs.index == rhs.index:
            return op == "=="
        (a_lo, a_hi), (b_lo, b_hi) = self.bounds(lhs), self.bounds(rhs)
        if op == "<":
            return True if a_hi < b_lo else False if a_lo >= b_hi else None
        if op == ">":
            return True if a_lo > b_hi else False if a_hi <= b_lo else None
        if a_lo == a_hi == b_lo == b_hi:
            return True
        if a_hi < b_lo or b_hi < a_lo:
            return False
        for var, const in ((lhs, rhs), (rhs, lhs)):
            if isinstance(var, Var) and not isinstance(const, Var):
                if const in self.excluded[var.index]:
                    return False
        return None

    def assume(self, lhs: Operand, op: str, rhs: Operand, outcome: bool) -> _Domain:
        """The domain restricted by ``lhs op rhs == outcome`` (feature-vs-constant only)."""
        if isinstance(lhs, Var) == isinstance(rhs, Var):
            return self  # two features (or two constants): nothing simple to record
        if isinstance(rhs, Var):  # put the feature on the left
            lhs, rhs = rhs, lhs
            op = {"<": ">", ">": "<", "==": "=="}[op]
        i, c = lhs.index, int(rhs)
        low, high, excl = list(self.low), list(self.high), list(self.excluded)
        if op == "<":
            if outcome:
                high[i] = min(high[i], c - 1)
            else:
                low[i] = max(low[i], c)
        elif op == ">":
            if outcome:
                low[i] = max(low[i], c + 1)
            else:
                high[i] = min(high[i], c)
        elif outcome:
            low[i] = high[i] = c
        else:
            excl[i] = excl[i] | {c}
        # shrink the interval past excluded end points
        while low[i] <= high[i] and low[i] in excl[i]:
            low[i] += 1
        while high[i] >= low[i] and high[i] in excl[i]:
            high[i] -= 1
        return _Domain(tuple(low), tuple(high), tuple(excl))


def simplify(node: Node, schema: TreeSchema) -> Node:
    """An equivalent, smaller tree on the schema's feature domain.

    Removes branches that no observation in the domain can reach (contradicting or redundant
    conditions on a path, constant comparisons) and merges sibling leaves that take the same
    action. The result takes the same action as ``node`` on every observation in the domain.
    Leaf Q-values are dropped where leaves merge.
    """
    dom = _Domain(tuple(f.low for f in schema.features), tuple(f.high for f in schema.features),
                  tuple(frozenset() for _ in schema.features))
    return _simplify(node, dom)


def _simplify(node: Node, dom: _Domain) -> Node:
    if isinstance(node, Leaf):
        return node
    decided = dom.decide(node.lhs, node.op, node.rhs)
    if decided is not None:
        return _simplify(node.then if decided else node.otherwise, dom)
    then = _simplify(node.then, dom.assume(node.lhs, node.op, node.rhs, True))
    other = _simplify(node.otherwise, dom.assume(node.lhs, node.op, node.rhs, False))
    if isinstance(then, Leaf) and isinstance(other, Leaf) and then.action == other.action:
        return Leaf(then.action)
    return Split(node.lhs, node.op, node.rhs, then, other)


# ------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------


def _operand_text(operand: Operand, schema: TreeSchema, other: Operand | None = None) -> str:
    if isinstance(operand, Var):
        return schema.features[operand.index].name
    if isinstance(other, Var):
        return schema.features[other.index].format_constant(int(operand))
    return str(operand)


def condition_text(node: Split, schema: TreeSchema) -> str:
    return (f"{_operand_text(node.lhs, schema, node.rhs)} {node.op} "
            f"{_operand_text(node.rhs, schema, node.lhs)}")


def to_text(node: Node, schema: TreeSchema, *, indent: str = "    ") -> str:
    """Nested if/else with feature names and action names, e.g. ``if b > 12:`` / ``    buy``."""
    lines: list[str] = []

    def walk(cur: Node, level: int) -> None:
        pad = indent * level
        if isinstance(cur, Leaf):
            lines.append(f"{pad}{schema.actions[cur.action]}")
            return
        lines.append(f"{pad}if {condition_text(cur, schema)}:")
        walk(cur.then, level + 1)
        lines.append(f"{pad}else:")
        walk(cur.otherwise, level + 1)

    walk(node, 0)
    return "\n".join(lines)


def identifier(name: str) -> str:
    ident = "".join(ch if ch.isalnum() else "_" for ch in name)
    return ident if ident and not ident[0].isdigit() else f"f_{ident}"


def to_python(node: Node, schema: TreeSchema, *, name: str = "policy") -> str:
    """The source of a standalone Python function ``name(<features>) -> int``.

    The function needs nothing but Python; it returns the action index (names in comments and in
    the module-level ``ACTIONS`` tuple).
    """
    args = [identifier(f.name) for f in schema.features]
    out = [f"ACTIONS = {tuple(schema.actions)!r}", "", "",
           f"def {name}({', '.join(args)}):",
           '    """Return the action index (see ACTIONS) for one observation."""']

    def operand(op: Operand) -> str:
        return args[op.index] if isinstance(op, Var) else repr(int(op))

    def walk(cur: Node, level: int) -> None:
        pad = "    " * level
        if isinstance(cur, Leaf):
            out.append(f"{pad}return {cur.action}  # {schema.actions[cur.action]}")
            return
        out.append(f"{pad}if {operand(cur.lhs)} {cur.op} {operand(cur.rhs)}:")
        walk(cur.then, level + 1)
        out.append(f"{pad}else:")
        walk(cur.otherwise, level + 1)

    walk(node, 1)
    return "\n".join(out) + "\n"


def to_dot(node: Node, schema: TreeSchema) -> str:
    """Graphviz DOT source: boxes for conditions, ellipses for leaves, edges labelled yes/no."""
    lines = ["digraph tree {", '  node [fontname="Helvetica"];']
    counter = iter(range(10**9))

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace('"', '\\"')

    def walk(cur: Node) -> int:
        k = next(counter)
        if isinstance(cur, Leaf):
            lines.append(f'  n{k} [shape=ellipse, style=filled, fillcolor="#e8f4e8", '
                         f'label="{esc(schema.actions[cur.action])}"];')
            return k
        lines.append(f'  n{k} [shape=box, label="{esc(condition_text(cur, schema))}"];')
        t = walk(cur.then)
        o = walk(cur.otherwise)
        lines.append(f'  n{k} -> n{t} [label="yes"];')
        lines.append(f'  n{k} -> n{o} [label="no"];')
        return k

    walk(node)
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_png(node: Node, schema: TreeSchema, path: str | Path, *, title: str | None = None,
               use_graphviz: bool | None = None) -> Path:
    """Draw the tree to a PNG: with Graphviz's ``dot`` when installed, else with matplotlib."""
    import shutil
    import subprocess

    path = Path(path)
    dot = shutil.which("dot")
    if use_graphviz or (use_graphviz is None and dot):
        if not dot:
            raise RuntimeError("use_graphviz=True but Graphviz 'dot' is not installed")
        subprocess.run([dot, "-Tpng", "-o", str(path)], input=to_dot(node, schema).encode(),
                       check=True)
        return path
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    positions: dict[int, tuple[float, float]] = {}
    labels: dict[int, tuple[str, bool]] = {}
    edges: list[tuple[int, int, str]] = []
    next_x = [0.0]
    counter = iter(range(10**9))

    def layout(cur: Node, level: int) -> int:
        k = next(counter)
        if isinstance(cur, Leaf):
            positions[k] = (next_x[0], -level)
            next_x[0] += 1.0
            labels[k] = (schema.actions[cur.action], True)
            return k
        t = layout(cur.then, level + 1)
        o = layout(cur.otherwise, level + 1)
        positions[k] = ((positions[t][0] + positions[o][0]) / 2, -level)
        labels[k] = (condition_text(cur, schema), False)
        edges.extend([(k, t, "yes"), (k, o, "no")])
        return k

    layout(node, 0)
    width = max(next_x[0], 1.0)
    levels = depth(node) + 1
    fig, ax = plt.subplots(figsize=(min(2.2 * width + 1, 40), 1.3 * levels + 0.8))
    for a, b, text in edges:
        (x1, y1), (x2, y2) = positions[a], positions[b]
        ax.plot([x1, x2], [y1, y2], color="grey", linewidth=1, zorder=1)
        ax.text((x1 + x2) / 2, (y1 + y2) / 2, text, fontsize=7, color="dimgray", ha="center",
                va="center", backgroundcolor="white", zorder=2)
    for k, (x, y) in positions.items():
        text, is_leaf = labels[k]
        ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=3,
                bbox={"boxstyle": "round,pad=0.3" if is_leaf else "square,pad=0.3",
                      "facecolor": "#e8f4e8" if is_leaf else "#eef2fb", "edgecolor": "black"})
    ax.set_xlim(-0.8, width - 0.2)
    ax.set_ylim(-levels + 0.4, 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------------


def node_to_dict(node: Node) -> dict[str, Any]:
    if isinstance(node, Leaf):
        out: dict[str, Any] = {"action": node.action}
        if node.q is not None:
            out["q"] = [float(v) for v in node.q]
        return out

    def operand(op: Operand) -> Any:
        return {"feature": op.index} if isinstance(op, Var) else int(op)

    return {"lhs": operand(node.lhs), "op": node.op, "rhs": operand(node.rhs),
            "then": node_to_dict(node.then), "else": node_to_dict(node.otherwise)}


def node_from_dict(data: dict[str, Any]) -> Node:
    if "action" in data:
        q = data.get("q")
        return Leaf(int(data["action"]), tuple(float(v) for v in q) if q is not None else None)

    def operand(op: Any) -> Operand:
        return Var(int(op["feature"])) if isinstance(op, dict) else int(op)

    if data["op"] not in OPS:
        raise ValueError(f"unknown operator {data['op']!r} in tree JSON; allowed: {OPS}")
    return Split(operand(data["lhs"]), data["op"], operand(data["rhs"]),
                 node_from_dict(data["then"]), node_from_dict(data["else"]))


def iter_domain(schema: TreeSchema, limit: int = 200_000) -> Iterator[tuple[int, ...]]:
    """Every observation of a small integer domain (for exhaustive checks); refuses large ones."""
    sizes = [f.high - f.low + 1 for f in schema.features]
    if math.prod(sizes) > limit:
        raise ValueError(f"domain has {math.prod(sizes)} points (> {limit})")
    for flat in np.ndindex(*sizes):
        yield tuple(int(v + f.low) for v, f in zip(flat, schema.features, strict=True))

