"""A tree evaluated on many observations at once: the open-loop path of tree policies.

When an env's observations do not depend on the actions taken (the study's features: HFS order
features and the remaining count, make-or-buy a, b, c), a whole episode's observations are known
at its reset (``env.open_loop_observations()``). A tree then picks its leaf for every step in
one compiled pass, and the env plays all the actions at once (``env.finish_open_loop``), instead
of one Python ``step`` per order. :func:`leaf_indices` returns what
:func:`~scmgym.policies.tree.leaf_index` returns for each row (tests check it on random trees).

>>> from scmgym.policies.tree import Leaf, Split, Var
>>> tree = Split(Var(0), "<", 3, Leaf(1), Split(Var(1), "==", Var(0), Leaf(0), Leaf(1)))
>>> leaf_indices(FlatTree.of(tree), np.array([[1, 5], [4, 4], [4, 2]])).tolist()
[0, 1, 2]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scmgym.policies import tree as T
from scmgym.simulators.compiled import jit

#: Operator codes of the flat form, by :data:`~scmgym.policies.tree.OPS`.
_OP_CODES = {op: k for k, op in enumerate(T.OPS)}


@dataclass(frozen=True)
class FlatTree:
    """A tree as arrays: split ``i`` compares ``lhs`` and ``rhs`` (feature index if the flag is
    set, else the constant) with operator ``op``; a child ``c >= 0`` is split ``c``, ``c < 0``
    is leaf ``-c - 1`` (pre-order leaf index). ``actions[k]`` is leaf ``k``'s action.

    A single leaf has no split; every row reaches leaf 0.
    """

    lhs_var: np.ndarray
    lhs: np.ndarray
    op: np.ndarray
    rhs_var: np.ndarray
    rhs: np.ndarray
    then: np.ndarray
    otherwise: np.ndarray
    actions: np.ndarray

    @classmethod
    def of(cls, root: T.Node) -> FlatTree:
        rows: list[list[Any]] = []
        actions: list[int] = []

        def operand(o: T.Operand) -> tuple[bool, float]:
            return (True, float(o.index)) if isinstance(o, T.Var) else (False, float(o))

        def walk(node: T.Node) -> int:
            if isinstance(node, T.Leaf):
                actions.append(int(node.action))
                return -len(actions)
            if node.op not in _OP_CODES:
                raise ValueError(f"unknown operator {node.op!r}; allowed: {', '.join(T.OPS)}")
            i = len(rows)
            rows.append([*operand(node.lhs), _OP_CODES[node.op], *operand(node.rhs), 0, 0])
            rows[i][5] = walk(node.then)
            rows[i][6] = walk(node.otherwise)
            return i

        walk(root)
        cols = list(zip(*rows, strict=True)) if rows else [()] * 7
        return cls(lhs_var=np.array(cols[0], dtype=np.bool_), lhs=np.array(cols[1], dtype=float),
                   op=np.array(cols[2], dtype=np.int64), rhs_var=np.array(cols[3], dtype=np.bool_),
                   rhs=np.array(cols[4], dtype=float), then=np.array(cols[5], dtype=np.int64),
                   otherwise=np.array(cols[6], dtype=np.int64),
                   actions=np.array(actions, dtype=np.int64))


@jit
def _leaves(lhs_var, lhs, op, rhs_var, rhs, then, otherwise, x):
    out = np.zeros(x.shape[0], dtype=np.int64)
    if lhs.shape[0] == 0:
        return out
    for r in range(x.shape[0]):
        node = 0
        while node >= 0:
            a = x[r, int(lhs[node])] if lhs_var[node] else lhs[node]
            b = x[r, int(rhs[node])] if rhs_var[node] else rhs[node]
            code = op[node]
            ok = a < b if code == 0 else (a > b if code == 1 else a == b)
            node = then[node] if ok else otherwise[node]
        out[r] = -node - 1
    return out


def leaf_indices(flat: FlatTree, observations: np.ndarray) -> np.ndarray:
    """The pre-order leaf index each row of ``observations`` (n, features) reaches."""
    x = np.ascontiguousarray(observations, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"observations of shape {x.shape}; allowed: (steps, features)")
    return _leaves(flat.lhs_var, flat.lhs, flat.op, flat.rhs_var, flat.rhs, flat.then,
                   flat.otherwise, x)


def leaf_actions(flat: FlatTree, observations: np.ndarray) -> np.ndarray:
    """The action of the leaf each row reaches (a deterministic tree's whole episode)."""
    return flat.actions[leaf_indices(flat, observations)]


#: Wrappers that leave an env's observations, rewards and episodes unchanged (gym.make adds
#: them); any other wrapper keeps the step-by-step path.
_NEUTRAL_WRAPPERS = ("OrderEnforcing", "PassiveEnvChecker", "TimeLimit")


def open_loop_env(env) -> Any | None:
    """The bare env if ``env`` can play whole episodes open-loop (it offers
    ``open_loop_observations`` / ``finish_open_loop`` and is wrapped only by wrappers that change
    nothing, with any time limit at least the episode length), else None."""
    base = getattr(env, "unwrapped", env)
    if not hasattr(base, "finish_open_loop"):
        return None
    cur = env
    while cur is not base:
        if type(cur).__name__ not in _NEUTRAL_WRAPPERS:
            return None
        limit = getattr(cur, "_max_episode_steps", None)
        if limit is not None and limit < base.instance.n:
            return None
        cur = cur.env
    return base
