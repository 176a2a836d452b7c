"""MILP models (Pyomo) of both plants: bounds and plans beside the simulation-based methods."""
from scmgym.baselines.milp.common import SolveInfo, SolverOptions, solve, solver_names

__all__ = ["SolveInfo", "SolverOptions", "solve", "solver_names"]
