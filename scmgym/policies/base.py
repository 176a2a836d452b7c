"""Policy types and the one evaluation loop every method shares.

Every policy implements the stable-baselines3 predictor shape
``predict(obs, state=None, episode_start=None, deterministic=True) -> (action, state)``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from scmgym.policies import tree as T

FORMAT_VERSION = 1


class TreePolicy:
    """A decision tree over an env's observation: readable, exportable, simplifiable.

    Args:
        root: the tree.
        schema: feature names and domains, action names.
        meta: free-form provenance (trainer, env id, dataset, seed, fitness...), kept in JSON.
    """

    kind: ClassVar[str] = "tree"

    def __init__(self, root: T.Node, schema: T.TreeSchema, meta: dict[str, Any] | None = None):
        self.root = root
        self.schema = schema
        self.meta = dict(meta or {})

    # -- acting ----------------------------------------------------------------------------------
    def action(self, obs: Sequence[float]) -> int:
        """The action for one observation."""
        return T.find_leaf(self.root, obs).action

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = True):
        """SB3-style predictor: one observation -> (action array of shape (), state);
        a batch (2-D) -> (actions of shape (batch,), state)."""
        arr = np.asarray(obs)
        if arr.ndim == 1:
            return np.asarray(self.action(arr.tolist()), dtype=np.int64), state
        return np.array([self.action(row) for row in arr.tolist()], dtype=np.int64), state

    def __call__(self, obs: Sequence[float]) -> int:
        return self.action(obs)

    # -- reviewing -------------------------------------------------------------------------------
    def to_text(self) -> str:
        """Indented if/else with feature and action names."""
        return T.to_text(self.root, self.schema)

    def to_python(self, name: str = "policy") -> str:
        """Source of a standalone function that runs without scmgym."""
        return T.to_python(self.root, self.schema, name=name)

    def to_dot(self) -> str:
        return T.to_dot(self.root, self.schema)

    def render_png(self, path: str | Path, title: str | None = None) -> Path:
        return T.render_png(self.root, self.schema, path, title=title)

    def simplify(self) -> TreePolicy:
        """An equivalent, smaller tree (same action on every observation of the domain)."""
        return type(self)._rebuild(self, T.simplify(self.root, self.schema))

    def leaf_coverage(self, observations: Iterable[Sequence[float]]) -> list[dict[str, Any]]:
        """For each leaf (pre-order), how many observations reach it and what it decides."""
        counts = Counter(T.leaf_index(self.root, list(obs)) for obs in observations)
        return [
            {"leaf": k, "action": leaf.action, "action_name": self.schema.actions[leaf.action],
             "count": counts.get(k, 0)}
            for k, leaf in enumerate(T.leaves(self.root))
        ]

    @property
    def n_leaves(self) -> int:
        return T.count_leaves(self.root)

    @property
    def depth(self) -> int:
        return T.depth(self.root)

    def __str__(self) -> str:
        return self.to_text()

    # -- saving ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": "scmgym-policy", "version": FORMAT_VERSION, "kind": self.kind,
                "schema": self.schema.to_dict(), "tree": T.node_to_dict(self.root),
                "meta": self.meta, **self._extra_dict()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json())
        return path

    @classmethod
    def from_json(cls, text: str) -> TreePolicy:
        """Rebuild any tree policy from :meth:`to_json` output (dispatches on ``kind``)."""
        data = json.loads(text)
        check_policy_data(data)
        if data["kind"] not in _KINDS:
            raise ValueError(f"a {data['kind']} policy is not a tree; allowed: "
                             f"{', '.join(_KINDS)}")
        return _KINDS[data["kind"]]._from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> TreePolicy:
        return cls.from_json(Path(path).read_text())

    # -- subclass hooks --------------------------------------------------------------------------
    #: Name of the one extra attribute a subclass keeps (saved in JSON beside the tree).
    extra: ClassVar[str | None] = None

    def _extra_dict(self) -> dict[str, Any]:
        return {self.extra: getattr(self, self.extra)} if self.extra else {}

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> TreePolicy:
        args = (T.node_from_dict(data["tree"]), T.TreeSchema.from_dict(data["schema"]),
                data.get("meta"))
        return cls(*args, data.get(cls.extra)) if cls.extra else cls(*args)

    @classmethod
    def _rebuild(cls, old: TreePolicy, root: T.Node) -> TreePolicy:
        args = (root, old.schema, {**old.meta, "simplified": True})
        return cls(*args, getattr(old, cls.extra)) if cls.extra else cls(*args)


class DecisionTreePolicy(TreePolicy):
    """An ELDT policy: a grammatical-evolution phenotype whose leaves hold Q-tables.

    Each leaf acts greedily on its Q-values (``Leaf.action`` is their argmax); the genotype it
    was decoded from is kept for provenance.
    """

    kind = "eldt"
    extra = "genotype"

    def __init__(self, root: T.Node, schema: T.TreeSchema, meta: dict[str, Any] | None = None,
                 genotype: Sequence[int] | None = None):
        super().__init__(root, schema, meta)
        self.genotype = None if genotype is None else [int(g) for g in genotype]


class GPTreePolicy(TreePolicy):
    """A strongly typed GP policy: a DEAP expression, kept as text beside its tree form."""

    kind = "gp"
    extra = "expression"

    def __init__(self, root: T.Node, schema: T.TreeSchema, meta: dict[str, Any] | None = None,
                 expression: str | None = None):
        super().__init__(root, schema, meta)
        self.expression = expression


_KINDS: dict[str, type[TreePolicy]] = {c.kind: c for c in (TreePolicy, DecisionTreePolicy,
                                                           GPTreePolicy)}


class PlanPolicy:
    """A whole solution to carry out as it is: what schedule-as-a-whole methods return.

    ``solution`` is the HFS priority order (order ids, highest priority first) or the
    make-or-buy decision vector (1 = buy, indexed by ``order_id - 1``). It is evaluated by
    simulating it (:func:`scmgym.policies.evaluate`), not by acting in an env.
    """

    kind: ClassVar[str] = "plan"

    def __init__(self, solution: Sequence[int], meta: dict[str, Any] | None = None):
        self.solution = [int(x) for x in solution]
        self.meta = dict(meta or {})

    def to_dict(self) -> dict[str, Any]:
        return {"format": "scmgym-policy", "version": FORMAT_VERSION, "kind": self.kind,
                "solution": self.solution, "meta": self.meta}

    to_json = TreePolicy.to_json
    save = TreePolicy.save

    def to_text(self) -> str:
        return "plan: " + " ".join(map(str, self.solution))


#: Nesting depth a saved tree may have (ELDT rejects phenotypes 100 conditions deep; the
#: renderings recurse, so a deeper file is refused with a clear error instead).
MAX_TREE_DEPTH = 200


def check_policy_data(data: Any) -> None:
    """Check a policy file's data against the format before anything is built from it.

    Raises:
        ValueError: naming what is wrong and what is allowed: not a JSON object, another
            format or version, an unknown kind, a schema without features or actions, a tree
            nested deeper than :data:`MAX_TREE_DEPTH`, a malformed node, a feature index or a
            leaf action outside the schema.
    """
    if not isinstance(data, dict):
        raise ValueError(f"a policy file holds a JSON object, not a {type(data).__name__}; "
                         "allowed: the policy.json of a run directory")
    if data.get("format") != "scmgym-policy":
        raise ValueError("not an scmgym policy JSON (missing format: scmgym-policy)")
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"policy format version {data.get('version')!r}; allowed: "
                         f"{FORMAT_VERSION} (this version of scmgym)")
    kinds = [*_KINDS, PlanPolicy.kind, "sb3-ppo", "oracle"]
    if data.get("kind") not in kinds:
        raise ValueError(f"unknown policy kind {data.get('kind')!r}; allowed: "
                         f"{', '.join(kinds)}")
    if data["kind"] == "sb3-ppo":
        if not isinstance(data.get("file"), str):
            raise ValueError("an sb3-ppo policy names its model file (file: model.zip)")
        return
    if data["kind"] == PlanPolicy.kind:
        sol = data.get("solution")
        if not (isinstance(sol, list) and all(isinstance(x, int) for x in sol)):
            raise ValueError("a plan's solution must be a list of integers")
        return
    if data["kind"] == "oracle":
        counts, deadlines = data.get("counts"), data.get("deadlines")
        durations = data.get("durations")
        if not (isinstance(counts, list) and isinstance(deadlines, list)
                and isinstance(durations, list)
                and len(counts) == len(deadlines) == len(durations)
                and all(isinstance(c, list) and len(c) == 3 for c in counts)
                and all(isinstance(d, list) and d for d in durations)):
            raise ValueError("an oracle policy holds counts (one [a, b, c] per order), "
                             "deadlines (one per order) and durations (a non-empty list of "
                             "samples per order)")
        return
    schema = data.get("schema")
    if not (isinstance(schema, dict) and isinstance(schema.get("features"), list)
            and isinstance(schema.get("actions"), list) and schema["actions"]):
        raise ValueError("a tree policy needs a schema with a list of features and of actions")
    n_features, n_actions = len(schema["features"]), len(schema["actions"])
    stack = [(data.get("tree"), 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise ValueError(f"the tree is nested more than {MAX_TREE_DEPTH} levels deep; "
                             f"allowed: at most {MAX_TREE_DEPTH}")
        if not isinstance(node, dict):
            raise ValueError(f"a tree node is a JSON object, not {node!r}")
        if "action" in node:
            action = node["action"]
            if not (isinstance(action, int) and 0 <= action < n_actions):
                raise ValueError(f"leaf action {action!r}; allowed: 0..{n_actions - 1} "
                                 f"({', '.join(map(str, schema['actions']))})")
            continue
        if not all(k in node for k in ("op", "lhs", "rhs", "then", "else")):
            raise ValueError("a split node needs op, lhs, rhs, then and else; got keys "
                             f"{', '.join(sorted(node))}")
        for operand in (node["lhs"], node["rhs"]):
            if isinstance(operand, dict):
                index = operand.get("feature")
                if not (isinstance(index, int) and 0 <= index < n_features):
                    raise ValueError(f"feature index {index!r}; allowed: 0..{n_features - 1} "
                                     "(the schema's features)")
        stack += [(node["then"], depth + 1), (node["else"], depth + 1)]


def policy_from_dict(data: dict[str, Any]) -> TreePolicy | PlanPolicy:
    """A policy from its JSON data (checked by :func:`check_policy_data`): a tree or a plan."""
    check_policy_data(data)
    if data["kind"] == "sb3-ppo":
        raise ValueError(f"an sb3-ppo policy is the model file {data['file']!r} beside it; "
                         "allowed here: a tree or a plan (load the model with "
                         "stable_baselines3.PPO.load)")
    if data["kind"] == PlanPolicy.kind:
        return PlanPolicy(data["solution"], data.get("meta"))
    if data["kind"] == "oracle":
        from scmgym.policies.oracle import OraclePolicy

        return OraclePolicy.from_dict(data)
    return _KINDS[data["kind"]]._from_dict(data)


def load_policy(path: str | Path) -> TreePolicy | PlanPolicy:
    """Load a policy saved with ``save()`` / ``to_json()`` (a tree or a plan)."""
    try:
        data = json.loads(Path(path).read_text())
    except RecursionError:  # JSON nested deeper than the parser goes
        raise ValueError(f"the tree is nested more than {MAX_TREE_DEPTH} levels deep; "
                         f"allowed: at most {MAX_TREE_DEPTH}") from None
    return policy_from_dict(data)


@dataclass
class Evaluation:
    """Returns and final infos of ``n`` episodes."""

    returns: list[float]
    infos: list[dict[str, Any]] = field(repr=False)

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        """Sample standard deviation of the returns (0 for one episode)."""
        return float(np.std(self.returns, ddof=1)) if len(self.returns) > 1 else 0.0


def run_episode(policy, env, seed: int | None, deterministic: bool = True) -> tuple[float, dict]:
    """One episode of ``policy`` in ``env`` from ``reset(seed=seed)``: (return, final info)."""
    obs, info = env.reset(seed=seed)
    state, start, total, done = None, True, 0.0, False
    while not done:
        action, state = policy.predict(obs, state=state, episode_start=start,
                                       deterministic=deterministic)
        start = False
        obs, reward, terminated, truncated, info = env.step(int(np.asarray(action)))
        total += float(reward)
        done = terminated or truncated
    return total, info


def evaluate_policy(policy, env, n_episodes: int = 10, *, seed: int | None = 0,
                    deterministic: bool = True) -> Evaluation:
    """Run ``policy`` (anything with the SB3 ``predict``) on ``env`` for ``n_episodes`` episodes.

    The first reset is seeded with ``seed``; later resets continue the env's RNG, so every episode
    is a fresh replication and the whole evaluation is reproducible. (To judge a run's policy on
    a problem, use :func:`scmgym.policies.evaluate`, which seeds every episode from a named
    stream.)
    """
    returns, infos = [], []
    for ep in range(n_episodes):
        total, info = run_episode(policy, env, seed if ep == 0 else None, deterministic)
        returns.append(total)
        infos.append(info)
    return Evaluation(returns, infos)
