"""Tree policies: rendering, JSON round trip, standalone Python, simplification, coverage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scmgym.policies import DecisionTreePolicy, GPTreePolicy, TreePolicy, load_policy
from scmgym.policies import tree as T

SCHEMA = T.TreeSchema(
    features=(T.Feature("a", 0, 20), T.Feature("b", 0, 20), T.Feature("c", 0, 20)),
    actions=("make", "buy"),
)
TYPED = T.TreeSchema(
    features=(T.Feature("machine_type", 0, 3, ("lt7", "lt7_p", "lt8", "lt8_p")),
              T.Feature("due_day", 0, 9)),
    actions=("level 0", "level 1", "level 2"),
)

# if b > 12: buy else: if a < 6: make else: buy
EXAMPLE = T.Split(T.Var(1), ">", 12, T.Leaf(1),
                  T.Split(T.Var(0), "<", 6, T.Leaf(0), T.Leaf(1)))


def test_to_text():
    assert TreePolicy(EXAMPLE, SCHEMA).to_text() == (
        "if b > 12:\n    buy\nelse:\n    if a < 6:\n        make\n    else:\n        buy")


def test_categorical_text():
    node = T.Split(T.Var(0), "==", 2, T.Leaf(2), T.Leaf(0))
    assert TreePolicy(node, TYPED).to_text().splitlines()[0] == "if machine_type == lt8:"


def test_predict_shapes():
    pol = TreePolicy(EXAMPLE, SCHEMA)
    action, state = pol.predict(np.array([0, 13, 0]))
    assert action.shape == () and int(action) == 1 and state is None
    batch, _ = pol.predict(np.array([[0, 13, 0], [3, 0, 0], [9, 0, 0]]))
    assert batch.tolist() == [1, 0, 1]


def test_to_python_runs_standalone():
    src = TreePolicy(EXAMPLE, SCHEMA).to_python()
    assert "scmgym" not in src
    namespace: dict = {}
    exec(compile(src, "<policy>", "exec"), namespace)  # noqa: S102
    fn = namespace["policy"]
    assert namespace["ACTIONS"] == ("make", "buy")
    for obs in T.iter_domain(SCHEMA):
        assert fn(*obs) == TreePolicy(EXAMPLE, SCHEMA).action(obs)


def test_dot_and_png(tmp_path):
    pol = TreePolicy(EXAMPLE, SCHEMA)
    dot = pol.to_dot()
    assert dot.startswith("digraph") and dot.count("->") == 4 and 'label="b > 12"' in dot
    path = T.render_png(EXAMPLE, SCHEMA, tmp_path / "t.png", use_graphviz=False)
    assert path.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("cls, extra", [(TreePolicy, {}),
                                        (DecisionTreePolicy, {"genotype": [1, 2, 3]}),
                                        (GPTreePolicy, {"expression": "if_then_else(...)"})])
def test_json_round_trip(tmp_path, cls, extra):
    root = T.map_leaves(EXAMPLE, lambda leaf: T.Leaf(leaf.action, (0.25, -0.5)))
    pol = cls(root, SCHEMA, {"seed": 3}, **extra)
    path = pol.save(tmp_path / "policy.json")
    back = load_policy(path)
    assert type(back) is cls and back.meta == {"seed": 3}
    assert T.leaves(back.root)[0].q == (0.25, -0.5)
    assert back.to_json() == pol.to_json()
    for obs in T.iter_domain(SCHEMA):
        assert back.action(obs) == pol.action(obs)


def test_from_json_rejects_other_documents():
    with pytest.raises(ValueError, match="not an scmgym policy"):
        TreePolicy.from_json("{}")
    with pytest.raises(ValueError, match="unknown policy kind 'nn'"):
        TreePolicy.from_json('{"format": "scmgym-policy", "version": 1, "kind": "nn"}')


def test_simplify_removes_contradictions_and_merges_leaves():
    # if a < 5: (if a > 7: make else: buy) else: (if c == 3: buy else: buy)
    node = T.Split(T.Var(0), "<", 5,
                   T.Split(T.Var(0), ">", 7, T.Leaf(0), T.Leaf(1)),
                   T.Split(T.Var(2), "==", 3, T.Leaf(1), T.Leaf(1)))
    assert T.simplify(node, SCHEMA) == T.Leaf(1)
    # redundant test below a stronger one, and a constant comparison
    node = T.Split(T.Var(0), "<", 5, T.Split(T.Var(0), "<", 9, T.Leaf(0), T.Leaf(1)),
                   T.Split(3, "<", 4, T.Leaf(1), T.Leaf(0)))
    assert T.simplify(node, SCHEMA) == T.Split(T.Var(0), "<", 5, T.Leaf(0), T.Leaf(1))
    # conditions outside the domain
    assert T.simplify(T.Split(T.Var(1), ">", 20, T.Leaf(0), T.Leaf(1)), SCHEMA) == T.Leaf(1)
    # excluded categories
    node = T.Split(T.Var(0), "==", 1, T.Leaf(0),
                   T.Split(T.Var(0), "==", 1, T.Leaf(1), T.Leaf(2)))
    assert T.simplify(node, TYPED) == T.Split(T.Var(0), "==", 1, T.Leaf(0), T.Leaf(2))


def operands(schema):
    nvars = len(schema.features)
    return st.one_of(st.builds(T.Var, st.integers(0, nvars - 1)), st.integers(-2, 23))


def trees(schema, max_leaves=12):
    leaf = st.builds(T.Leaf, st.integers(0, len(schema.actions) - 1))
    return st.recursive(
        leaf,
        lambda children: st.builds(T.Split, operands(schema), st.sampled_from(T.OPS),
                                   operands(schema), children, children),
        max_leaves=max_leaves,
    )


@settings(max_examples=300, deadline=None)
@given(trees(SCHEMA), st.lists(st.tuples(*[st.integers(0, 20)] * 3), min_size=1, max_size=30))
def test_simplify_preserves_behaviour_on_the_domain(root, points):
    simple = T.simplify(root, SCHEMA)
    assert T.size(simple) <= T.size(root)
    for obs in points:
        assert T.find_leaf(simple, obs).action == T.find_leaf(root, obs).action


@settings(max_examples=100, deadline=None)
@given(trees(TYPED))
def test_simplify_exhaustively_on_small_domain(root):
    simple = T.simplify(root, TYPED)
    for obs in T.iter_domain(TYPED):
        assert T.find_leaf(simple, obs).action == T.find_leaf(root, obs).action
    # idempotent
    assert T.simplify(simple, TYPED) == simple


@settings(max_examples=100, deadline=None)
@given(trees(SCHEMA))
def test_json_round_trip_property(root):
    back = T.node_from_dict(T.node_to_dict(root))
    assert back == root


def test_leaf_coverage():
    pol = TreePolicy(EXAMPLE, SCHEMA)
    obs = [(0, 13, 0), (0, 14, 1), (3, 0, 0), (10, 0, 0)]
    cov = pol.leaf_coverage(obs)
    assert [(c["leaf"], c["action_name"], c["count"]) for c in cov] == [
        (0, "buy", 2), (1, "make", 1), (2, "buy", 1)]
