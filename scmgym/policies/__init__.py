"""Policies: readable decision trees (GE with Q-learned leaves, typed GP) and their evaluation."""

from scmgym.policies.base import (
    DecisionTreePolicy,
    Evaluation,
    GPTreePolicy,
    TreePolicy,
    evaluate_policy,
    load_policy,
)
from scmgym.policies.tree import Feature, Leaf, Split, TreeSchema, Var

__all__ = [
    "DecisionTreePolicy",
    "Evaluation",
    "Feature",
    "GPTreePolicy",
    "Leaf",
    "Split",
    "TreePolicy",
    "TreeSchema",
    "Var",
    "evaluate_policy",
    "load_policy",
]
