"""MILP models (Pyomo) of both plants: bounds and plans beside the simulation-based methods.

Pyomo itself is imported only when a model is built or solved.
"""
from scmgym.baselines.milp.common import SolveInfo, SolverOptions, solve, solver_names
from scmgym.baselines.milp.hfs import HFSMILPResult, build_hfs_model, solve_hfs
from scmgym.baselines.milp.make_or_buy import (
    MakeOrBuyMILPResult,
    build_make_or_buy_model,
    solve_make_or_buy,
)

__all__ = [
    "HFSMILPResult",
    "MakeOrBuyMILPResult",
    "SolveInfo",
    "SolverOptions",
    "build_hfs_model",
    "build_make_or_buy_model",
    "solve",
    "solve_hfs",
    "solve_make_or_buy",
    "solver_names",
]
