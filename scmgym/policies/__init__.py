"""Policies: readable decision trees (GE with Q-learned leaves, typed GP), plans, and the one
evaluation path over fresh episodes."""

from scmgym.policies.base import (
    DecisionTreePolicy,
    Evaluation,
    GPTreePolicy,
    PlanPolicy,
    TreePolicy,
    evaluate_policy,
    load_policy,
    policy_from_dict,
)
from scmgym.policies.evaluation import evaluate, summary
from scmgym.policies.tree import Feature, Leaf, Split, TreeSchema, Var

__all__ = [
    "DecisionTreePolicy",
    "Evaluation",
    "Feature",
    "GPTreePolicy",
    "Leaf",
    "PlanPolicy",
    "Split",
    "TreePolicy",
    "TreeSchema",
    "Var",
    "evaluate",
    "evaluate_policy",
    "load_policy",
    "policy_from_dict",
    "summary",
]
