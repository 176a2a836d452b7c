"""Experiments: the method registry and runner, the comparison of methods, results tables."""

from scmgym.core import BudgetedEvaluator, Problem, RunResult
from scmgym.experiments.methods import METHODS, MethodSpec, run_method, run_with_budget

__all__ = ["METHODS", "BudgetedEvaluator", "MethodSpec", "Problem", "RunResult", "run_method",
           "run_with_budget"]
