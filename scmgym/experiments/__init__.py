"""Budgeted evaluation (the problem view and budget wrapper), the comparison runner, results."""

from scmgym.experiments.problem import BudgetedEvaluator, Problem, RunResult, run_with_budget

__all__ = ["BudgetedEvaluator", "Problem", "RunResult", "run_with_budget"]
